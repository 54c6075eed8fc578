// A sweep directory (issue 18): what `tca sweep plan` writes and `sweep run` / `sweep collect`
// read.
//   DIR/sweep.json     the grid's sweep-level settings (name, curve_eval, group_by, threads, slurm)
//   DIR/grid.json      the grid file as given (for the record)
//   DIR/index.jsonl    one resolved run per line: index, run_id, config, setting, eval_sets, match
//   DIR/commands.txt   one complete command per line (GNU parallel: parallel -j2 < commands.txt)
//   DIR/sweep.sbatch   a Slurm job array over the index
//   DIR/runs/RUN_ID/   each run's directory (tca train's files + eval-NAME.json + sweep_run.json)
//   DIR/data/          generated eval sets; DIR/logs/, DIR/locks/: logs and per-run locks
// Re-planning keeps every existing run at its index, appends new ones, and refuses a grid that
// would drop or redefine a planned run.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "sweep/grid.hpp"

namespace tca::sweep {

struct SweepFiles {
  static constexpr const char* kSettings = "sweep.json";
  static constexpr const char* kGrid = "grid.json";
  static constexpr const char* kIndex = "index.jsonl";
  static constexpr const char* kCommands = "commands.txt";
  static constexpr const char* kSbatch = "sweep.sbatch";
  static constexpr const char* kRuns = "runs";
  static constexpr const char* kData = "data";
  static constexpr const char* kLogs = "logs";
  static constexpr const char* kLocks = "locks";
};

// The sweep-level settings of sweep.json.
struct SweepSettings {
  std::string name;
  std::string curve_eval;
  std::vector<std::string> group_by;
  int threads = 1;
  nlohmann::json slurm = nlohmann::json::object();
};

struct Sweep {
  std::string dir;
  SweepSettings settings;
  std::vector<PlannedRun> runs;                         // in index order
  std::string run_dir(const PlannedRun& r) const;       // DIR/runs/RUN_ID
  std::string log_dir(const PlannedRun& r) const;       // DIR/logs/RUN_ID
  std::string lock_path(const PlannedRun& r) const;     // DIR/locks/RUN_ID.lock (sweep run's flock)
  std::string path(const std::string& relative) const;  // DIR/relative
  const PlannedRun* find(const std::string& run_id) const;
};

struct PlanOutcome {
  size_t added = 0, kept = 0, dropped = 0;
  bool renumbered = false;  // a dropped run moved later indices down
};

struct PlanOptions {
  // Drop planned runs the changed grid no longer lists, provided none of them has started (no
  // run directory, log directory or lock file): e.g. a budget measured to be too short, replaced
  // before its other seeds ran. Later runs move down, so index-based jobs must be resubmitted.
  bool drop_unstarted = false;
};

// How commands.txt and sweep.sbatch call the binary: `tca_command` as it should appear in
// commands.txt (e.g. "build/tca"), `tca_absolute` for the Slurm script.
struct PlanCommands {
  std::string tca_command;
  std::string tca_absolute;
  std::string dir_absolute;
};

// Creates DIR/runs, data, logs and locks if missing. `sweep run` calls it too: a clone of a
// committed sweep has only the run files (results/.gitignore leaves out data, logs and locks).
void make_work_dirs(const std::string& dir);

// Writes (or extends) the sweep at `dir` from an expanded grid; `grid_text` is stored as grid.json.
// UsageError naming the runs when the grid would redefine planned ones, or drop them (unless
// options.drop_unstarted and none of them has started).
PlanOutcome write_plan(const std::string& dir, const Grid& grid, const std::string& grid_text,
                       const PlanCommands& cmds, const PlanOptions& options = {});

// Whether `sweep run` has ever touched the run: its run or log directory or its lock file exists
// (or cannot be told: an error reading the directory counts as started). A Perceiver IO run that
// only waited for its matched TCA run has a lock file, so it counts as started.
bool run_started(const Sweep& sweep, const PlannedRun& run);

// Reads a planned sweep; InputError naming the file and line when it is not one.
Sweep read_sweep(const std::string& dir);

nlohmann::json run_to_json(size_t index, const PlannedRun& run);
PlannedRun run_from_json(const nlohmann::json& j, const std::string& source);

}  // namespace tca::sweep
