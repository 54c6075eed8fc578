#include "sweep/run_record.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "core/error.hpp"
#include "core/progress.hpp"
#include "io/json_io.hpp"
#include "train/run_directory.hpp"

namespace tca::sweep {

namespace fs = std::filesystem;

std::string eval_file_name(const std::string& eval_set) { return "eval-" + eval_set + ".json"; }

const char* run_progress_name(RunProgress p) {
  switch (p) {
    case RunProgress::not_started:
      return "missing";
    case RunProgress::partial:
      return "partial";
    case RunProgress::failed:
      return "failed";
    case RunProgress::done:
      return "done";
  }
  return "missing";
}

RunRecord read_run_record(const Sweep& sweep, const PlannedRun& run) {
  RunRecord rec;
  const std::string dir = sweep.run_dir(run);
  if (!fs::exists(dir)) return rec;
  rec.progress = RunProgress::partial;
  rec.has_checkpoint = fs::exists(fs::path(dir) / RunDirectory::kCheckpoint);
  if (fs::exists(fs::path(dir) / RunDirectory::kStatus)) {
    const RunStatus st = read_run_status(dir);
    rec.train_done = st.state == RunState::done;
    if (st.state == RunState::failed) {
      rec.progress = RunProgress::failed;
      rec.stage = "train";
      rec.error = st.error;
    }
  }
  for (const auto& e : run.eval_sets) {
    const fs::path p = fs::path(dir) / eval_file_name(e.name);
    if (fs::exists(p)) rec.evals[e.name] = io::read_json_file(p.string());
  }
  const fs::path sr = fs::path(dir) / kSweepRunFile;
  if (fs::exists(sr)) {
    rec.sweep_run = io::read_json_file(sr.string());
    if (rec.sweep_run.value("state", std::string()) == "failed" &&
        rec.progress != RunProgress::failed) {
      rec.progress = RunProgress::failed;
      rec.stage = rec.sweep_run.value("stage", std::string());
      const auto& err = rec.sweep_run.value("error", nlohmann::json());
      rec.error = err.is_string() ? err.get<std::string>() : "";
    }
  }
  if (rec.progress != RunProgress::failed && rec.train_done &&
      rec.evals.size() == run.eval_sets.size()) {
    rec.progress = RunProgress::done;
  }
  return rec;
}

std::optional<double> training_seconds(const std::vector<nlohmann::json>& metrics) {
  double total = 0, segment = -1;
  for (const auto& r : metrics) {
    if (!r.contains("wall_s") || !r["wall_s"].is_number()) continue;
    const double w = r["wall_s"].get<double>();
    if (segment >= 0 && w < segment) total += segment;
    segment = w;
  }
  if (segment < 0) return std::nullopt;
  return total + segment;
}

int64_t largest_step(const std::vector<nlohmann::json>& metrics) {
  int64_t step = 0;
  for (const auto& r : metrics)
    if (r.is_object()) step = std::max(step, r.value("step", int64_t{0}));
  return step;
}

int64_t largest_step(const std::string& run_dir) {
  const fs::path metrics = fs::path(run_dir) / RunDirectory::kMetrics;
  return fs::exists(metrics) ? largest_step(io::read_jsonl_file(metrics.string(), true)) : 0;
}

std::string task_metric_in(const nlohmann::json& record) {
  for (const char* m : {"accuracy", "tar_ll", "mse"}) {
    if (record.contains(m)) return m;
  }
  return "";
}

std::optional<EvalPoint> eval_point(const nlohmann::json& record) {
  if (!record.is_object()) return std::nullopt;
  const auto split = record.find("split"), step = record.find("step");
  if (split == record.end() || *split != "eval") return std::nullopt;
  const std::string m = task_metric_in(record);
  if (step == record.end() || !step->is_number_integer() || m.empty() || !record[m].is_number())
    return std::nullopt;
  return EvalPoint{step->get<int64_t>(), m, record[m].get<double>()};
}

std::optional<EvalPoint> latest_eval(const std::vector<nlohmann::json>& metrics) {
  std::optional<EvalPoint> latest;
  for (const auto& r : metrics) {
    const auto p = eval_point(r);
    if (p && (!latest || p->step >= latest->step)) latest = p;
  }
  return latest;
}

int64_t configured_steps(const std::string& run_dir) {
  const fs::path p = fs::path(run_dir) / RunDirectory::kConfig;
  if (!fs::exists(p)) return 0;
  try {
    const auto j = io::read_json_file(p.string());
    return j.value("steps", int64_t{0});
  } catch (const Error&) {
    return 0;
  }
}

std::string live_progress(const Sweep& sweep, const PlannedRun& run) {
  const std::string dir = sweep.run_dir(run);
  const std::string metrics = (fs::path(dir) / RunDirectory::kMetrics).string();
  const int64_t total = configured_steps(dir);
  if (!fs::exists(metrics) || total <= 0) return "starting";
  try {
    const auto recs = io::read_jsonl_file(metrics, true);
    for (auto it = recs.rbegin(); it != recs.rend(); ++it) {
      if (it->value("split", std::string()) != "train") continue;
      const int64_t step = it->value("step", int64_t{0});
      const double rate = it->value("steps_per_s", 0.0);
      const double eta = rate > 0 ? static_cast<double>(total - step) / rate : NAN;
      return fmt::format("step {}/{}, ETA {}", step, total, format_duration(eta));
    }
  } catch (const Error&) {
  }
  return "starting";
}

std::optional<int64_t> matched_latents(const Sweep& sweep, const PlannedRun& run) {
  const PlannedRun* tca = sweep.find(run.match_run_id);
  if (!tca)
    throw InputError(sweep.path(SweepFiles::kIndex), run.run_id, "matched run not in the index",
                     run.match_run_id, "none");
  const fs::path p = fs::path(sweep.run_dir(*tca)) / eval_file_name(run.match_eval);
  if (!fs::exists(p)) return std::nullopt;
  const nlohmann::json e = io::read_json_file(p.string());
  if (!e.contains("tokens_attended") || !e["tokens_attended"].contains("mean") ||
      !e["tokens_attended"]["mean"].is_number()) {
    throw InputError(p.string(), "tokens_attended.mean", "invalid eval result", "a number", "none");
  }
  return std::max<int64_t>(1, std::llround(e["tokens_attended"]["mean"].get<double>()));
}

bool dependency_failed(const Sweep& sweep, const PlannedRun& run) {
  const PlannedRun* tca = sweep.find(run.match_run_id);
  return tca && read_run_record(sweep, *tca).progress == RunProgress::failed;
}

}  // namespace tca::sweep
