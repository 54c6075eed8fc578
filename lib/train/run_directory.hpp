// A run directory (conventions.md "Run directories"): config.json, metrics.jsonl, checkpoint.h5,
// eval.json, status.json under --out. Opening one applies the reuse rules (a non-empty directory
// needs --resume or --overwrite); the files that replace older versions are written atomically.
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/system_info.hpp"

namespace tca {

// How a command starts on its --out directory: the --resume / --overwrite flags.
enum class RunStart { fresh, overwrite, resume };
// UsageError when both flags are given.
RunStart run_start_from_flags(bool resume, bool overwrite);

enum class RunState { running, done, failed, interrupted };
const char* run_state_name(RunState state);  // "running", "done", "failed", "interrupted"
// 0 -> Done, 75 / 130 -> Interrupted, anything else -> Failed.
RunState run_state_for_exit_code(int exit_code);

struct RunStatus {
  RunState state = RunState::running;
  std::optional<int> exit_code;  // unset while running
  std::string error;             // the one-line error of a failed run, else empty
};

class RunDirectory {
 public:
  static constexpr const char* kConfig = "config.json";
  static constexpr const char* kMetrics = "metrics.jsonl";
  static constexpr const char* kCheckpoint = "checkpoint.h5";
  static constexpr const char* kEval = "eval.json";
  static constexpr const char* kStatus = "status.json";
  static constexpr const char* kSweepRun = "sweep_run.json";  // `tca sweep run`'s record of the run
  // The files tca writes into a run directory (and `tca sweep run`'s eval-NAME.json); --overwrite
  // deletes only these (and their temp files) and refuses a directory holding anything else.
  static const std::vector<std::string>& known_files();

  // New: creates `path` (and parents) or accepts an empty directory; a non-empty one is a
  //   UsageError with the hint to pass --resume or --overwrite.
  // Overwrite: as New, after deleting our files from an existing directory.
  // Resume: the directory must hold checkpoint.h5 (UsageError otherwise); nothing is deleted.
  // Filesystem failures (permissions) are RuntimeFailure.
  static RunDirectory open(const std::string& path, RunStart start);

  const std::string& path() const { return path_; }
  bool resuming() const { return resuming_; }
  std::string file(const std::string& name) const;  // path/name
  std::string config_path() const { return file(kConfig); }
  std::string metrics_path() const { return file(kMetrics); }
  std::string checkpoint_path() const { return file(kCheckpoint); }
  std::string eval_path() const { return file(kEval); }
  std::string status_path() const { return file(kStatus); }

  // config.json = the resolved options (flat, underscored keys) + io::config_metadata_json(info).
  // A resolved key that collides with a metadata key is a logic error.
  void write_config(const nlohmann::json& resolved_options, const SystemInfo& info) const;
  nlohmann::json read_config() const;  // InputError if missing or invalid

  // status.json = {"state", "exit_code" (null while running), "error" (null unless failed)}.
  void write_status(const RunStatus& status) const;
  void write_status(RunState state, std::optional<int> exit_code = std::nullopt,
                    const std::string& error = "") const;

 private:
  RunDirectory(std::string path, bool resuming) : path_(std::move(path)), resuming_(resuming) {}
  std::string path_;
  bool resuming_;
};

// Reads RUN_DIR/status.json (for `tca sweep run`: skip finished runs, resume partial ones).
// InputError if missing or malformed.
RunStatus read_run_status(const std::string& run_dir);

// Keys whose values differ between a stored config.json and a newly resolved config, ignoring the
// metadata keys; a key present in only one of them counts as differing. Sorted.
std::vector<std::string> changed_config_keys(const nlohmann::json& stored,
                                             const nlohmann::json& resolved);

}  // namespace tca
