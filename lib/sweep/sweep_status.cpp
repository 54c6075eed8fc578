#include "sweep/sweep_status.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "core/error.hpp"
#include "core/progress.hpp"
#include "io/json_io.hpp"
#include "sweep/collect.hpp"
#include "sweep/file_lock.hpp"
#include "sweep/run_record.hpp"
#include "sweep/step_costs.hpp"
#include "train/run_directory.hpp"

namespace tca::sweep {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

constexpr double kRecentWriteS = 600;

// Seconds since the file was last modified; -1 when it does not exist.
double seconds_since_write(const fs::path& p) {
  std::error_code ec;
  const auto t = fs::last_write_time(p, ec);
  if (ec) return -1;
  return std::chrono::duration<double>(fs::file_time_type::clock::now() - t).count();
}

// "12.6% @2500", "tar_ll 1.333 @100000"; "-" before the first periodic evaluation.
std::string eval_text(const std::optional<EvalPoint>& e) {
  if (!e) return "-";
  const double v = e->value * metric_display_scale(e->metric);
  if (e->metric == "accuracy") return fmt::format("{:.1f}% @{}", v, e->step);
  return fmt::format("{} {:.3f} @{}", e->metric, v, e->step);
}

}  // namespace

SweepStanding sweep_standing(const Sweep& sweep) {
  SweepStanding out;
  StepCosts costs;  // what `sweep run` estimates its ETA from, filled as the runs are read
  std::vector<std::optional<double>> own_rates;
  std::vector<bool> checkpoints;
  for (size_t i = 0; i < sweep.runs.size(); ++i) {
    const PlannedRun& run = sweep.runs[i];
    RunStanding r;
    r.index = i;
    r.run_id = run.run_id;
    const std::string dir = sweep.run_dir(run);
    // The run's own config.json (what it trains for), else the planned config.
    r.steps = configured_steps(dir);
    if (r.steps <= 0) r.steps = run.config.value("steps", int64_t{0});
    RunRecord rec;
    std::optional<double> own_rate;
    try {
      // The metrics first: a run whose other files are unreadable still has a cost per step.
      const fs::path metrics = fs::path(dir) / RunDirectory::kMetrics;
      if (fs::exists(metrics)) {
        const auto records = io::read_jsonl_file(metrics.string(), true);
        r.step = largest_step(records);
        r.trained_s = training_seconds(records);
        own_rate = seconds_per_step(records);
        r.last_eval = latest_eval(records);
        if (own_rate) costs.add(run, *own_rate);
      }
      rec = read_run_record(sweep, run);
    } catch (const Error& e) {
      rec.progress = RunProgress::failed;
      rec.stage = "reading its files";
      rec.error = e.what();
    }
    const bool locked = flock_held(sweep.lock_path(run));
    if (rec.progress == RunProgress::done) {
      r.state = "done";
    } else if (locked) {
      r.state = "running";
    } else if (rec.progress == RunProgress::failed) {
      r.state = "failed";
      r.note = "failed at " + rec.stage + (rec.error.empty() ? "" : ": " + rec.error);
    } else if (rec.progress == RunProgress::partial) {
      r.state = "partial";
      // A lock held on another machine of a shared filesystem is not in this kernel's
      // /proc/locks: a recent write says the run is probably going on there.
      const double age = seconds_since_write(fs::path(dir) / RunDirectory::kMetrics);
      if (age >= 0 && age < kRecentWriteS)
        r.note = fmt::format("metrics written {} ago: running on another machine?",
                             format_duration(age));
    } else {
      r.state = "not started";
    }
    // sweep run goes on with a partial run and retries a failed one: from its checkpoint, else
    // from step 0 (a clone: results/.gitignore leaves checkpoints out).
    if ((r.state == "partial" || r.state == "failed") && !rec.has_checkpoint && !rec.train_done) {
      r.restarts = true;
      if (r.state == "partial" || r.step > 0)
        r.note += std::string(r.note.empty() ? "" : "; ") +
                  "no checkpoint: sweep run starts it over at step 0";
    }
    if (r.state != "done" && rec.train_done) {
      std::string missing;
      for (const auto& e : run.eval_sets)
        if (!rec.evals.count(e.name)) missing += (missing.empty() ? "" : ", ") + e.name;
      if (!missing.empty()) r.note = "trained, not yet evaluated on " + missing;
    }
    out.runs.push_back(r);
    own_rates.push_back(own_rate);
    checkpoints.push_back(rec.has_checkpoint);
  }

  for (size_t i = 0; i < out.runs.size(); ++i) {
    RunStanding& r = out.runs[i];
    const PlannedRun& run = sweep.runs[i];
    out.done += r.state == "done";
    out.running += r.state == "running";
    out.partial += r.state == "partial";
    out.failed += r.state == "failed";
    out.not_started += r.state == "not started";
    out.trained_s += r.trained_s.value_or(0.0);
    if (r.state == "done") continue;
    if (r.step >= r.steps && r.steps > 0) {  // trained: evaluation left, seconds
      r.remaining_s = 0;
      r.basis = "trained";
      continue;
    }
    std::optional<double> per_step;
    if (own_rates[i]) {
      per_step = own_rates[i];
      r.basis = "its own rate";
    } else if (const auto e = costs.per_step(run)) {
      per_step = e->seconds_per_step;
      r.basis = e->basis;
    }
    if (!per_step || r.steps <= 0) {
      r.basis.clear();
      ++out.unestimated;
      continue;
    }
    const int64_t behind = steps_behind(r.step, r.state == "running", checkpoints[i]);
    r.remaining_s = *per_step * static_cast<double>(std::max<int64_t>(r.steps - behind, 0));
    out.remaining_s += *r.remaining_s;
  }
  return out;
}

std::string sweep_standing_text(const Sweep& sweep, const SweepStanding& s) {
  std::string t =
      fmt::format("{}: {} runs: {} done, {} running, {} partial, {} failed, {} not started\n",
                  sweep.dir, s.runs.size(), s.done, s.running, s.partial, s.failed, s.not_started);
  t += fmt::format("{:>4}  {:<11}  {:>13}  {:>9}  {:>9}  {:<26}  {:<20}  {}\n", "#", "state",
                   "step", "trained", "left", "estimated from", "last eval", "run");
  for (const auto& r : s.runs) {
    t +=
        fmt::format("{:>4}  {:<11}  {:>13}  {:>9}  {:>9}  {:<26}  {:<20}  {}{}\n", r.index, r.state,
                    fmt::format("{}/{}", r.step, r.steps > 0 ? std::to_string(r.steps) : "?"),
                    r.trained_s ? format_duration(*r.trained_s) : "-",
                    r.remaining_s ? format_duration(*r.remaining_s) : "-", r.basis,
                    eval_text(r.last_eval), r.run_id, r.note.empty() ? "" : "  (" + r.note + ")");
  }
  t += fmt::format("Training time spent: {} of run time. ", format_duration(s.trained_s));
  t += fmt::format(
      "Training time left: {} of run time at {} thread(s) per run (divide by the runs side by "
      "side); times include whatever shared the machine, so this is a plan, not a benchmark.",
      format_duration(s.remaining_s), sweep.settings.threads);
  if (s.unestimated > 0)
    t += fmt::format(" {} unfinished run(s) have no basis for an estimate and are not counted.",
                     s.unestimated);
  return t + "\n";
}

json sweep_standing_json(const Sweep& sweep, const SweepStanding& s) {
  json runs = json::array();
  for (const auto& r : s.runs) {
    runs.push_back({{"index", r.index},
                    {"run_id", r.run_id},
                    {"state", r.state},
                    {"step", r.step},
                    {"steps", r.steps},
                    {"trained_s", r.trained_s ? json(*r.trained_s) : json()},
                    {"remaining_s", r.remaining_s ? json(*r.remaining_s) : json()},
                    {"estimated_from", r.basis},
                    {"last_eval", r.last_eval ? json{{"step", r.last_eval->step},
                                                     {"metric", r.last_eval->metric},
                                                     {"value", r.last_eval->value}}
                                              : json()},
                    {"restarts", r.restarts},
                    {"note", r.note}});
  }
  return {{"dir", sweep.dir},
          {"counts",
           {{"done", s.done},
            {"running", s.running},
            {"partial", s.partial},
            {"failed", s.failed},
            {"not_started", s.not_started}}},
          {"trained_s", s.trained_s},
          {"remaining_s", s.remaining_s},
          {"unestimated", s.unestimated},
          {"threads_per_run", sweep.settings.threads},
          {"runs", runs}};
}

}  // namespace tca::sweep
