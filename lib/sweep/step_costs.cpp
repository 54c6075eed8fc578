#include "sweep/step_costs.hpp"

#include <fmt/format.h>

#include <cmath>
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

std::string duration_text(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const auto t = static_cast<int64_t>(std::llround(s));
  if (t < 60) return fmt::format("{}s", t);
  if (t < 3600) return fmt::format("{}m{:02d}s", t / 60, t % 60);
  return fmt::format("{}h{:02d}m", t / 3600, (t % 3600) / 60);
}

void StepCosts::add(const PlannedRun& run, double seconds_per_step) {
  if (!(seconds_per_step > 0)) return;
  std::lock_guard<std::mutex> lock(mutex_);
  for (int level = 0; level < 3; ++level)
    by_key_[level][key(run, level)].push_back(seconds_per_step);
}

std::optional<StepCosts::Estimate> StepCosts::per_step(const PlannedRun& run) const {
  std::lock_guard<std::mutex> lock(mutex_);
  for (int level = 0; level < 3; ++level) {
    const auto it = by_key_[level].find(key(run, level));
    if (it == by_key_[level].end() || it->second.empty()) continue;
    double sum = 0;
    for (double v : it->second) sum += v;
    return Estimate{sum / static_cast<double>(it->second.size()), kBasis[level]};
  }
  return std::nullopt;
}

std::optional<double> StepCosts::seconds(const PlannedRun& run) const {
  const int64_t steps = run.config.value("steps", int64_t{0});
  const auto e = per_step(run);
  if (steps <= 0 || !e) return std::nullopt;
  return e->seconds_per_step * static_cast<double>(steps);
}

void add_trained_runs(const Sweep& sweep, StepCosts& costs) {
  for (const auto& r : sweep.runs) {
    const std::string dir = sweep.run_dir(r);
    const std::string metrics = (fs::path(dir) / RunDirectory::kMetrics).string();
    if (!fs::exists(metrics)) continue;
    try {
      if (!read_run_record(sweep, r).train_done) continue;
      const int64_t steps = configured_steps(dir);
      const auto s = training_seconds(io::read_jsonl_file(metrics, true));
      if (s && steps > 0) costs.add(r, *s / static_cast<double>(steps));
    } catch (const Error&) {
    }
  }
}

}  // namespace tca::sweep
