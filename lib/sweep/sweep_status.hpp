// `tca sweep status`: where each planned run of a sweep stands (done, running, partial, failed,
// not started), and an estimate of the compute still to spend, so that a researcher can plan the
// lanes or the Slurm time of a long sweep (issue 19's "plan the compute"). Reads the same files as
// `sweep run` and `sweep collect` (run_record.hpp) and never writes or locks anything.
#pragma once
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "sweep/run_record.hpp"
#include "sweep/sweep_plan.hpp"

namespace tca::sweep {

struct RunStanding {
  size_t index = 0;
  std::string run_id;
  std::string state;                  // "done", "running", "partial", "failed", "not started"
  int64_t step = 0;                   // the last step metrics.jsonl records
  int64_t steps = 0;                  // the configured steps (0 when unknown)
  std::optional<double> trained_s;    // training wall time so far (all resumed segments)
  std::optional<double> remaining_s;  // estimated training time left; nullopt = no basis
  std::string basis;  // where remaining_s comes from: "its own rate", "other seeds", ...
  std::string note;   // a failed run's stage and error, "trained, not yet evaluated on rbf"
  std::optional<EvalPoint> last_eval;  // the latest periodic evaluation: is a long run on track?
  // Partial or failed without checkpoint.h5 (e.g. a clone: results/.gitignore leaves checkpoints
  // out): `sweep run` starts it over at step 0, so its time left counts every step.
  bool restarts = false;
};

struct SweepStanding {
  std::vector<RunStanding> runs;  // in index order
  size_t done = 0, running = 0, partial = 0, failed = 0, not_started = 0;
  double trained_s = 0;    // the training time spent so far, summed over the runs
  double remaining_s = 0;  // the sum of the runs' estimates
  size_t unestimated = 0;  // unfinished runs without an estimate (not in remaining_s)
};

// A run's remaining time is (configured steps - the steps behind it: steps_behind, the rule
// `sweep run`'s ETA uses) x seconds per step: the run's own average when it has trained at all,
// else the closest match among the runs that have (StepCosts: other seeds, another step budget,
// the same task and method).
SweepStanding sweep_standing(const Sweep& sweep);

std::string sweep_standing_text(const Sweep& sweep, const SweepStanding& s);
nlohmann::json sweep_standing_json(const Sweep& sweep, const SweepStanding& s);

}  // namespace tca::sweep
