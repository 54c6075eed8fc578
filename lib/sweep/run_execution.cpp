#include "sweep/run_execution.hpp"

#include <fmt/format.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <map>
#include <vector>

#include "core/error.hpp"
#include "core/progress.hpp"
#include "io/json_io.hpp"
#include "sweep/child_process.hpp"
#include "sweep/file_lock.hpp"
#include "sweep/run_record.hpp"
#include "train/run_directory.hpp"

namespace tca::sweep {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

void Reporter::line(const std::string& text) {
  std::lock_guard<std::mutex> lock(mutex_);
  const double s = std::chrono::duration<double>(Clock::now() - start_).count();
  std::fprintf(stderr, "[sweep %s] %s\n", format_duration(s).c_str(), text.c_str());
  std::fflush(stderr);
}

void write_sweep_record(const std::string& run_dir, const json& record) {
  std::error_code ec;
  fs::create_directories(run_dir, ec);
  io::write_json_atomically((fs::path(run_dir) / kSweepRunFile).string(), record);
}

namespace {

std::string eval_set_path(const Sweep& sweep, const EvalSet& e) {
  return e.make_dataset_args.empty() ? e.path : sweep.path(e.path);
}

// A child stopped by a forwarded signal (its checkpoint written): the run is resumed later.
struct Interruption {
  int exit_code;
};

// A stage of a run failed: recorded in sweep_run.json by the caller.
struct StageFailure {
  std::string stage;
  int exit_code;
  std::string error;
};

void check_child(const ChildResult& r, const std::string& stage, const std::string& log) {
  if (r.exit_code == 0) return;
  if (r.interrupted || r.exit_code == kExitRequeue || r.exit_code == kExitInterrupted)
    throw Interruption{r.exit_code};
  throw StageFailure{stage, r.exit_code, last_error_line(log) + " (log: " + log + ")"};
}

std::map<std::string, std::string> child_env(const Sweep& sweep) {
  return {{"OMP_NUM_THREADS", std::to_string(sweep.settings.threads)}};
}

void make_eval_data(const Sweep& sweep, const PlannedRun& run, const RunnerOptions& opt,
                    const std::string& logs, Reporter& report) {
  for (const auto& e : run.eval_sets) {
    const std::string path = eval_set_path(sweep, e);
    if (e.make_dataset_args.empty()) {
      if (!fs::exists(path))
        throw StageFailure{"data", kExitUsage,
                           "eval set " + e.name + ": file " + path + " not found"};
      continue;
    }
    if (fs::exists(path)) continue;
    FileLock lock(sweep.path(std::string(SweepFiles::kLocks) + "/" +
                             fs::path(path).filename().string() + ".lock"),
                  true);
    if (fs::exists(path)) continue;  // made by another worker while we waited
    std::vector<std::string> argv = {opt.tca_binary, "make-dataset"};
    argv.insert(argv.end(), e.make_dataset_args.begin(), e.make_dataset_args.end());
    argv.insert(argv.end(), {"--out", path, "--progress", "none"});
    const std::string log = logs + "/make-dataset-" + e.name + ".log";
    report.line(fmt::format("making eval set {} -> {}", e.name, path));
    check_child(run_child(argv, child_env(sweep), log), "data", log);
  }
}

// One run, its lock held. Throws StageFailure or Interruption.
Outcome execute(const Sweep& sweep, const PlannedRun& run, const RunnerOptions& opt,
                Reporter& report) {
  const std::string rdir = sweep.run_dir(run);
  const std::string logs = sweep.log_dir(run);
  std::error_code ec;
  fs::create_directories(logs, ec);
  if (ec) throw RuntimeFailure("cannot create " + logs + ": " + ec.message());

  json train_config = run.config;
  json record = {{"state", "done"}, {"run_id", run.run_id}};
  if (!run.match_run_id.empty()) {
    const auto latents = matched_latents(sweep, run);
    if (!latents) return Outcome::waiting;
    train_config["num_latents"] = *latents;
    record["num_latents"] = *latents;
    record["matched_to"] = run.match_run_id;
  }
  make_eval_data(sweep, run, opt, logs, report);

  RunRecord rec = read_run_record(sweep, run);
  if (!rec.train_done) {
    const std::string config_path = logs + "/train_config.json";
    io::write_json_atomically(config_path, train_config);
    std::vector<std::string> argv = {opt.tca_binary, "train", "--config",   config_path,
                                     "--out",        rdir,    "--progress", "lines"};
    if (!sweep.settings.curve_eval.empty()) {
      for (const auto& e : run.eval_sets) {
        if (e.name == sweep.settings.curve_eval)
          argv.insert(argv.end(), {"--eval", eval_set_path(sweep, e)});
      }
    }
    if (rec.has_checkpoint) {
      argv.push_back("--resume");
    } else if (fs::exists(rdir)) {
      argv.push_back("--overwrite");  // started but killed before its first checkpoint
    }
    if (fs::exists(fs::path(rdir) / kSweepRunFile)) fs::remove(fs::path(rdir) / kSweepRunFile, ec);
    check_child(run_child(argv, child_env(sweep), logs + "/train.log"), "train",
                logs + "/train.log");
  }
  for (const auto& e : run.eval_sets) {
    const fs::path out = fs::path(rdir) / eval_file_name(e.name);
    if (fs::exists(out)) continue;
    const std::string log = logs + "/eval-" + e.name + ".log";
    check_child(run_child({opt.tca_binary, "eval", "--run", rdir, "--data", eval_set_path(sweep, e),
                           "--out", out.string()},
                          child_env(sweep), log),
                "eval", log);
  }
  write_sweep_record(rdir, record);
  return Outcome::done;
}

}  // namespace

std::string dropped_text(const Sweep& sweep, const PlannedRun& run) {
  return fmt::format("not run: {} was dropped from {} by a re-plan since this runner read it",
                     run.run_id, sweep.dir);
}

int exit_code_for_stop() {
  const int sig = RunnerSignals::last_signal();
  return sig == SIGINT ? kExitInterrupted : kExitRequeue;
}

Outcome run_locked(const Sweep& sweep, size_t index, const RunnerOptions& opt, Reporter& report,
                   StepCosts& costs, PlanWatch& plan, const std::string& position) {
  const PlannedRun& run = sweep.runs[index];
  if (read_run_record(sweep, run).progress == RunProgress::done) return Outcome::already_done;
  // Asked before the lock file is created, so that a dropped run leaves no trace. Not a guarantee:
  // plan and runner share no lock, so a re-plan between its own check that the run never started
  // and its write of index.jsonl can still miss that the run starts now (a few milliseconds
  // locally; longer on a filesystem that caches file attributes, such as NFS).
  if (!plan.still_planned(run.run_id)) return Outcome::dropped;
  FileLock lock(sweep.lock_path(run), false);
  if (!lock.held()) return Outcome::busy;
  const RunRecord rec = read_run_record(sweep, run);
  if (rec.progress == RunProgress::done) return Outcome::already_done;
  if (!run.match_run_id.empty() && !matched_latents(sweep, run)) return Outcome::waiting;
  // A run that resumes has only the steps after its checkpoint left to train.
  const bool resumes = rec.has_checkpoint && !rec.train_done;
  const auto estimate =
      rec.train_done ? std::nullopt : costs.seconds_left(run, sweep.run_dir(run), false);
  std::string how = rec.train_done ? ", trained: evaluation left"
                    : resumes      ? ", resumes from its checkpoint"
                                   : "";
  if (estimate)
    how += fmt::format(", est. {}{}", format_duration(*estimate), resumes ? " left" : "");
  report.line(fmt::format("start {} {} (index {}{})", position, run.run_id, index, how));
  const auto t0 = Clock::now();
  try {
    const Outcome o = execute(sweep, run, opt, report);
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    if (o == Outcome::done) {
      if (const auto per_step = seconds_per_step(sweep.run_dir(run))) costs.add(run, *per_step);
      report.line(fmt::format("done  {} {} in {}", position, run.run_id, format_duration(s)));
    }
    return o;
  } catch (const StageFailure& f) {
    write_sweep_record(sweep.run_dir(run), {{"state", "failed"},
                                            {"run_id", run.run_id},
                                            {"stage", f.stage},
                                            {"exit_code", f.exit_code},
                                            {"error", f.error}});
    report.line(fmt::format("FAILED {} {} at {} (exit {}): {}", position, run.run_id, f.stage,
                            f.exit_code, f.error));
    return Outcome::failed;
  } catch (const Interruption& r) {
    write_sweep_record(
        sweep.run_dir(run),
        {{"state", "interrupted"}, {"run_id", run.run_id}, {"exit_code", r.exit_code}});
    report.line(fmt::format("interrupted {} {} (exit {}; checkpoint kept, a re-run resumes it)",
                            position, run.run_id, r.exit_code));
    return Outcome::interrupted;
  }
}

}  // namespace tca::sweep
