// What a sweep run's directory says about it (DIR/runs/RUN_ID/), read by `sweep run` (skip,
// resume, retry) and `sweep collect` (tables): tca train's status.json and metrics.jsonl, one
// eval-NAME.json per eval set (tca eval --out), and sweep_run.json, the runner's own record
// ({"state": "done|failed|interrupted", "stage": "data|train|eval|match", "exit_code", "error",
// "num_latents"}).
#pragma once
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "sweep/sweep_plan.hpp"
#include "train/run_directory.hpp"

namespace tca::sweep {

inline constexpr const char* kSweepRunFile = RunDirectory::kSweepRun;
std::string eval_file_name(const std::string& eval_set);  // "eval-rbf.json"

enum class RunProgress { not_started, partial, failed, done };
const char* run_progress_name(RunProgress p);  // "missing", "partial", "failed", "done"

struct RunRecord {
  RunProgress progress = RunProgress::not_started;
  bool train_done = false;
  bool has_checkpoint = false;
  std::map<std::string, nlohmann::json> evals;  // eval set name -> its eval JSON
  std::string stage, error;                     // of a failed run
  nlohmann::json sweep_run;                     // sweep_run.json, or null
};

// Reads the run's files; a malformed file is an InputError naming it.
RunRecord read_run_record(const Sweep& sweep, const PlannedRun& run);

// Training wall time from metrics.jsonl: the sum over the log's segments (a resumed run restarts
// its clock; a segment ends where wall_s drops) of each segment's last wall_s. Includes the
// periodic evaluation. nullopt without records.
std::optional<double> training_seconds(const std::vector<nlohmann::json>& metrics);

// The largest step metrics.jsonl records (0 without records; lines that are not objects skipped).
int64_t largest_step(const std::vector<nlohmann::json>& metrics);
// The same, read from the run directory's metrics.jsonl (0 when it has none).
int64_t largest_step(const std::string& run_dir);

// The task metric an object (an eval JSON's "metrics", a metrics.jsonl eval record) reports:
// accuracy, tar_ll or mse, whichever it holds first; "" when none.
std::string task_metric_in(const nlohmann::json& record);

// A periodic evaluation metrics.jsonl records (split "eval", on the first batches of the curve
// eval set, tca train --eval-every): its step and task metric.
struct EvalPoint {
  int64_t step = 0;
  std::string metric;  // accuracy | tar_ll | mse
  double value = 0;
};
// The record's evaluation; nullopt for any other record, or one without an integer step or a
// numeric task metric. The one reading of an eval record: the training curves and `sweep status`.
std::optional<EvalPoint> eval_point(const nlohmann::json& record);
// The latest of a run's evaluations (the largest step; a step logged again after a resume: its
// later record); nullopt before the first.
std::optional<EvalPoint> latest_eval(const std::vector<nlohmann::json>& metrics);

// The configured step count of a run (its config.json's "steps"), or 0 when unknown.
int64_t configured_steps(const std::string& run_dir);

// "step 1200/100000, ETA 41m" from a running run's metrics.jsonl ("starting" before its first
// training record).
std::string live_progress(const Sweep& sweep, const PlannedRun& run);

// L for a "match-tca" run: the TCA run's rounded mean tokens attended on the match eval set;
// nullopt while that result does not exist. InputError when the TCA run is not planned or its
// result has no number there.
std::optional<int64_t> matched_latents(const Sweep& sweep, const PlannedRun& run);

// Whether the TCA run a matched run depends on has failed (so the matched run never can start).
bool dependency_failed(const Sweep& sweep, const PlannedRun& run);

}  // namespace tca::sweep
