#include "sweep/step_costs.hpp"

#include <algorithm>
#include <filesystem>

#include "core/error.hpp"
#include "io/json_io.hpp"
#include "sweep/run_record.hpp"
#include "train/run_directory.hpp"

namespace tca::sweep {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr const char* kBasis[3] = {"other seeds", "another step budget",
                                   "the same task and method"};

// Level 0: the config without its seed; 1: also without its step count (the cost per step does
// not depend on the budget); 2: the task and method only.
std::string key(const PlannedRun& run, int level) {
  if (level == 2)
    return run.config.value("task", std::string("file")) + "/" +
           run.config.value("model", std::string());
  json c = run.config;
  c.erase("seed");
  if (level == 1) c.erase("steps");
  return c.dump();
}

}  // namespace

void StepCosts::add(const PlannedRun& run, double seconds_per_step) {
  if (!(seconds_per_step > 0)) return;
  std::lock_guard<std::mutex> lock(mutex_);
  for (int level = 0; level < 3; ++level)
    by_key_[level][key(run, level)][run.run_id] = seconds_per_step;
}

std::optional<StepCosts::Estimate> StepCosts::per_step(const PlannedRun& run) const {
  std::lock_guard<std::mutex> lock(mutex_);
  for (int level = 0; level < 3; ++level) {
    const auto it = by_key_[level].find(key(run, level));
    if (it == by_key_[level].end() || it->second.empty()) continue;
    double sum = 0;
    for (const auto& [id, v] : it->second) sum += v;
    return Estimate{sum / static_cast<double>(it->second.size()), kBasis[level]};
  }
  return std::nullopt;
}

std::optional<double> StepCosts::seconds(const PlannedRun& run, int64_t done_steps) const {
  const int64_t steps = run.config.value("steps", int64_t{0});
  const auto e = per_step(run);
  if (steps <= 0 || !e) return std::nullopt;
  return e->seconds_per_step * static_cast<double>(std::max<int64_t>(steps - done_steps, 0));
}

std::optional<double> StepCosts::seconds_left(const PlannedRun& run, const std::string& run_dir,
                                              bool running) const {
  const bool has_checkpoint = fs::exists(fs::path(run_dir) / RunDirectory::kCheckpoint);
  int64_t logged = 0;
  if (running || has_checkpoint) {  // else the log is not needed (read every minute by sweep run)
    try {
      logged = largest_step(run_dir);
    } catch (const Error&) {  // an unreadable log: count the whole budget
    }
  }
  return seconds(run, steps_behind(logged, running, has_checkpoint));
}

int64_t steps_behind(int64_t logged_step, bool running, bool has_checkpoint) {
  return running || has_checkpoint ? logged_step : 0;
}

std::optional<double> seconds_per_step(const std::vector<json>& metrics) {
  const int64_t step = largest_step(metrics);
  const auto s = training_seconds(metrics);
  if (!s || step <= 0) return std::nullopt;
  return *s / static_cast<double>(step);
}

std::optional<double> seconds_per_step(const std::string& run_dir) {
  const std::string metrics = (fs::path(run_dir) / RunDirectory::kMetrics).string();
  if (!fs::exists(metrics)) return std::nullopt;
  return seconds_per_step(io::read_jsonl_file(metrics, true));
}

void add_measured_runs(const Sweep& sweep, StepCosts& costs) {
  for (const auto& r : sweep.runs) {
    try {
      if (const auto s = seconds_per_step(sweep.run_dir(r))) costs.add(r, *s);
    } catch (const Error&) {  // a malformed log gives no estimate; sweep run reports it elsewhere
    }
  }
}

}  // namespace tca::sweep
