// One run of a sweep, as `sweep run` executes it under the run's lock (sweep_runner.cpp schedules
// them: one --index, or a worker pool for --all): its eval sets generated once (under a lock
// shared by every run), `tca train` into DIR/runs/RUN_ID (resumed from its checkpoint when one
// exists), `tca eval` per eval set, and the runner's record, sweep_run.json (done, failed at a
// stage, or interrupted with its checkpoint kept).
#pragma once
#include <chrono>
#include <cstddef>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "sweep/plan_watch.hpp"
#include "sweep/step_costs.hpp"
#include "sweep/sweep_plan.hpp"
#include "sweep/sweep_runner.hpp"

namespace tca::sweep {

// dropped: a re-plan since the runner read the sweep no longer lists the run (PlanWatch).
enum class Outcome { done, already_done, busy, failed, interrupted, waiting, dropped };

// One line per event on stderr, prefixed with the time since the runner started.
class Reporter {
 public:
  void line(const std::string& text);  // thread-safe

 private:
  std::mutex mutex_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

// The runner's record of a run (sweep_run.json), written atomically.
void write_sweep_record(const std::string& run_dir, const nlohmann::json& record);

// "not run: ID was dropped from DIR by a re-plan since this runner read it".
std::string dropped_text(const Sweep& sweep, const PlannedRun& run);

// The exit code for a runner stopped by a signal: 130 for SIGINT, else 75 (requeue).
int exit_code_for_stop();

// Runs index `index` of `sweep` with its lock held, and reports its start and end on `report`
// ("position" is "3/38"): already_done, busy (another worker holds the lock), dropped, waiting
// (a matched run whose TCA result does not exist yet), done, failed (recorded in sweep_run.json),
// or interrupted. Records a finished run's cost per step in `costs`.
Outcome run_locked(const Sweep& sweep, size_t index, const RunnerOptions& opt, Reporter& report,
                   StepCosts& costs, PlanWatch& plan, const std::string& position);

}  // namespace tca::sweep
