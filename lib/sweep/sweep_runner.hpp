// `tca sweep run` (issue 18): trains and evaluates the planned runs of a sweep directory, one
// index (a Slurm array task, a Kubernetes indexed job) or all of them with a local worker pool.
// Each run: its eval sets generated once (shared by every run, under a lock), `tca train` into
// DIR/runs/RUN_ID (resumed from its checkpoint when one exists), then `tca eval` on every eval
// set (eval-NAME.json). A finished run is skipped; a failed one is recorded in sweep_run.json and
// the others go on; a lock file per run keeps two workers off the same run. A run that a re-plan
// dropped after the runner read the sweep is not started (PlanWatch). One run: run_execution.hpp.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "sweep/sweep_plan.hpp"

namespace tca::sweep {

struct RunnerOptions {
  std::string tca_binary;      // the executable to call for train / eval / make-dataset
  int jobs = 1;                // --all: runs at a time
  double status_every_s = 60;  // --all: an overall status line this often (0 = only at starts/ends)
  double wait_poll_s = 30;     // --index: how often to look for a matched run's TCA result
  double wait_timeout_s = 7 * 24 * 3600.0;
};

// Runs index `index`; waits for the TCA run a matched Perceiver IO run depends on. Returns the
// exit code: 0 done (or already done, or taken by another worker), 1 failed, 75 / 130 interrupted.
int run_index(const Sweep& sweep, size_t index, const RunnerOptions& options);

// Runs every unfinished run with `options.jobs` workers. 0 when all are done, 3 when any failed,
// 75 / 130 when interrupted.
int run_all(const Sweep& sweep, const RunnerOptions& options);
// The same over several sweeps sharing one pool of workers: their runs in the order given (the
// first sweep's first), so that no worker idles at the tail of one sweep while another has runs.
int run_all(const std::vector<Sweep>& sweeps, const RunnerOptions& options);

}  // namespace tca::sweep
