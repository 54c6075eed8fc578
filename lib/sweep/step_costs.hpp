// What a sweep's runs cost per training step, learnt from the runs that have trained: the ETA that
// `sweep run` prints and the time left that `sweep status` estimates. Training times include
// whatever else shared the machine, so these are plans, not benchmarks.
#pragma once
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "sweep/sweep_plan.hpp"

namespace tca::sweep {

class StepCosts {
 public:
  struct Estimate {
    double seconds_per_step;
    const char* basis;  // "other seeds", "another step budget", "the same task and method"
  };
  // Records a run's average seconds per step (ignored unless positive); a later figure for the
  // same run replaces its earlier one (a resumed run's partial rate, then its final one).
  // Thread-safe.
  void add(const PlannedRun& run, double seconds_per_step);
  // The closest match to `run` among the recorded runs: the same config but the seed, else the
  // same config but the seed and step count, else the same task and method; nullopt when none.
  std::optional<Estimate> per_step(const PlannedRun& run) const;
  // per_step x the run's configured steps less `done_steps` (what a resumed run has behind it);
  // nullopt when either is unknown.
  std::optional<double> seconds(const PlannedRun& run, int64_t done_steps = 0) const;
  // The training time `run` has left: seconds() less the steps the metrics.jsonl in `run_dir`
  // records, which are behind the run when it trains now (`running`) or will resume from its
  // checkpoint (a killed run's last periodic checkpoint is a little before its last logged step:
  // an estimate); a run with neither starts over.
  std::optional<double> seconds_left(const PlannedRun& run, const std::string& run_dir,
                                     bool running) const;

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::map<std::string, double>> by_key_[3];  // key -> run id -> rate
};

// The steps `sweep run` will not train again of a run whose metrics.jsonl logs up to
// `logged_step`: all of them when the run trains now (`running`) or resumes from its checkpoint,
// none when it starts over (tca train --overwrite). The one rule for `sweep run`'s ETA and
// `sweep status`'s time left.
int64_t steps_behind(int64_t logged_step, bool running, bool has_checkpoint);

// Adds every run of the sweep that has trained at all (finished or not): seconds_per_step.
void add_measured_runs(const Sweep& sweep, StepCosts& costs);

// A run's training time per step from its metrics.jsonl records (all resumed segments, over the
// largest step logged): what StepCosts records for every caller. nullopt without records.
std::optional<double> seconds_per_step(const std::vector<nlohmann::json>& metrics);
// The same, read from the run directory's metrics.jsonl.
std::optional<double> seconds_per_step(const std::string& run_dir);

}  // namespace tca::sweep
