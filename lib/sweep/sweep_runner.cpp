#include "sweep/sweep_runner.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

#include "core/error.hpp"
#include "core/progress.hpp"
#include "sweep/child_process.hpp"
#include "sweep/plan_watch.hpp"
#include "sweep/run_execution.hpp"
#include "sweep/run_record.hpp"
#include "sweep/step_costs.hpp"

namespace tca::sweep {

using Clock = std::chrono::steady_clock;

int run_index(const Sweep& sweep, size_t index, const RunnerOptions& opt) {
  if (index >= sweep.runs.size()) {
    throw UsageError(
        fmt::format("--index {}: {} plans runs 0..{}", index, sweep.dir, sweep.runs.size() - 1));
  }
  make_work_dirs(sweep.dir);
  RunnerSignals signals;
  Reporter report;
  StepCosts est;
  add_measured_runs(sweep, est);
  PlanWatch plan(sweep);
  const PlannedRun& run = sweep.runs[index];
  const auto t0 = Clock::now();
  bool said_waiting = false;
  for (;;) {
    const Outcome o = run_locked(sweep, index, opt, report, est, plan,
                                 fmt::format("{}/{}", index + 1, sweep.runs.size()));
    switch (o) {
      case Outcome::done:
        return kExitOk;
      case Outcome::already_done:
        report.line("already done: " + run.run_id);
        return kExitOk;
      case Outcome::busy:
        report.line("taken by another worker (locked): " + run.run_id);
        return kExitOk;
      case Outcome::failed:  // as --all: exit 3 = a run of the sweep failed (conventions.md)
        return kExitSweepFailed;
      case Outcome::interrupted:
        return exit_code_for_stop();
      case Outcome::dropped:
        report.line(dropped_text(sweep, run));
        return kExitOk;
      case Outcome::waiting:
        break;
    }
    if (dependency_failed(sweep, run)) {
      write_sweep_record(sweep.run_dir(run),
                         {{"state", "failed"},
                          {"run_id", run.run_id},
                          {"stage", "match"},
                          {"exit_code", kExitFailure},
                          {"error", "the TCA run it is matched to failed: " + run.match_run_id}});
      report.line("FAILED " + run.run_id + ": the TCA run it is matched to failed (" +
                  run.match_run_id + ")");
      return kExitSweepFailed;
    }
    if (!said_waiting)
      report.line("waiting for " + run.match_run_id +
                  " (Perceiver IO's L is matched to its tokens attended)");
    said_waiting = true;
    if (std::chrono::duration<double>(Clock::now() - t0).count() > opt.wait_timeout_s) {
      throw RuntimeFailure("gave up waiting for " + run.match_run_id + " after " +
                           format_duration(opt.wait_timeout_s));
    }
    for (double waited = 0; waited < opt.wait_poll_s; waited += 0.2) {
      if (RunnerSignals::count() > 0) return exit_code_for_stop();
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
}

int run_all(const Sweep& sweep, const RunnerOptions& opt) {
  return run_all(std::vector<Sweep>{sweep}, opt);
}

int run_all(const std::vector<Sweep>& sweeps, const RunnerOptions& opt) {
  RunnerSignals signals;
  Reporter report;
  // One pool over the runs of every sweep, in the order given: work item i is run index_of[i] of
  // sweeps[sweep_of[i]]. Each sweep has its own costs per step (run ids are unique per sweep).
  std::vector<size_t> sweep_of, index_of;
  std::vector<StepCosts> costs(sweeps.size());
  std::vector<std::unique_ptr<PlanWatch>> plans;
  for (size_t k = 0; k < sweeps.size(); ++k) {
    make_work_dirs(sweeps[k].dir);
    add_measured_runs(sweeps[k], costs[k]);
    plans.push_back(std::make_unique<PlanWatch>(sweeps[k]));
    for (size_t i = 0; i < sweeps[k].runs.size(); ++i) {
      sweep_of.push_back(k);
      index_of.push_back(i);
    }
  }
  auto run_of = [&](size_t i) -> const PlannedRun& {
    return sweeps[sweep_of[i]].runs[index_of[i]];
  };
  enum class State { pending, running, finished };
  const size_t n = sweep_of.size();
  std::vector<State> state(n, State::pending);
  std::vector<Outcome> outcome(n, Outcome::waiting);
  std::vector<size_t> already(sweeps.size(), 0);
  for (size_t i = 0; i < n; ++i) {
    if (read_run_record(sweeps[sweep_of[i]], run_of(i)).progress == RunProgress::done) {
      state[i] = State::finished;
      outcome[i] = Outcome::already_done;
      ++already[sweep_of[i]];
    }
  }
  for (size_t k = 0; k < sweeps.size(); ++k) {
    const size_t runs = sweeps[k].runs.size();
    report.line(fmt::format(
        "{}: {} runs, {} already done, {} to run with {} worker(s) x {} thread(s)", sweeps[k].dir,
        runs, already[k], runs - already[k], opt.jobs, sweeps[k].settings.threads));
  }
  std::mutex mutex;
  std::condition_variable changed;
  size_t finished = 0;
  for (size_t a : already) finished += a;

  auto summary = [&]() {  // under the mutex
    size_t done = 0, failed = 0, running = 0, dropped = 0;
    double remaining = 0;
    bool unknown = false;
    for (size_t i = 0; i < n; ++i) {
      if (state[i] == State::running) ++running;
      if (state[i] == State::finished) {
        done += outcome[i] == Outcome::done || outcome[i] == Outcome::already_done;
        failed += outcome[i] == Outcome::failed;
        dropped += outcome[i] == Outcome::dropped;
      } else if (auto s = costs[sweep_of[i]].seconds_left(run_of(i),
                                                          sweeps[sweep_of[i]].run_dir(run_of(i)),
                                                          state[i] == State::running)) {
        remaining += *s;
      } else {
        unknown = true;
      }
    }
    const std::string eta =
        unknown && remaining == 0
            ? "ETA unknown"
            : fmt::format("ETA ~{}{}", format_duration(remaining / std::max(1, opt.jobs)),
                          unknown ? "+" : "");
    return fmt::format("{}/{} runs done, {} failed, {} running, {}", done, n - dropped, failed,
                       running, eta);
  };

  // The next runnable index, or n when none is runnable now. Marks dependents of failed runs.
  auto next = [&]() -> size_t {
    for (size_t i = 0; i < n; ++i) {
      if (state[i] != State::pending) continue;
      const PlannedRun& r = run_of(i);
      const Sweep& sweep = sweeps[sweep_of[i]];
      if (!plans[sweep_of[i]]->still_planned(r.run_id)) {  // e.g. a Perceiver IO run waiting
        report.line(dropped_text(sweep, r));               // for a TCA run dropped with it
        state[i] = State::finished;
        outcome[i] = Outcome::dropped;
        ++finished;
        changed.notify_all();
        continue;
      }
      std::string cause;
      try {
        if (r.match_run_id.empty() || matched_latents(sweep, r)) return i;
        if (dependency_failed(sweep, r))
          cause = "the TCA run it is matched to failed: " + r.match_run_id;
      } catch (const Error& e) {  // a malformed result of the TCA run: this run cannot start
        cause = e.what();
      }
      if (!cause.empty()) {
        write_sweep_record(sweep.run_dir(r), {{"state", "failed"},
                                              {"run_id", r.run_id},
                                              {"stage", "match"},
                                              {"exit_code", kExitFailure},
                                              {"error", cause}});
        report.line("FAILED " + r.run_id + ": " + cause);
        state[i] = State::finished;
        outcome[i] = Outcome::failed;
        ++finished;
      }
    }
    return n;
  };

  auto worker = [&]() {
    std::unique_lock<std::mutex> lock(mutex);
    for (;;) {
      if (RunnerSignals::count() > 0) return;
      const size_t i = next();
      if (i == n) {
        bool pending = false, running = false;
        for (size_t j = 0; j < n; ++j) {
          pending |= state[j] == State::pending;
          running |= state[j] == State::running;
        }
        if (!pending) return;
        // Pending runs wait on a TCA run: ours (running) or another worker's (poll the disk).
        changed.wait_for(lock, std::chrono::seconds(running ? 5 : 30));
        continue;
      }
      state[i] = State::running;
      const std::string position = fmt::format("{}/{}", i + 1, n);
      lock.unlock();
      Outcome o;
      try {
        o = run_locked(sweeps[sweep_of[i]], index_of[i], opt, report, costs[sweep_of[i]],
                       *plans[sweep_of[i]], position);
      } catch (const Error& e) {
        report.line(fmt::format("FAILED {} {}: {}", position, run_of(i).run_id, e.what()));
        o = Outcome::failed;
      }
      lock.lock();
      if (o == Outcome::waiting) {
        state[i] = State::pending;
      } else {
        state[i] = State::finished;
        outcome[i] = o;
        ++finished;
        if (o == Outcome::busy)
          report.line("taken by another worker (locked): " + run_of(i).run_id);
        if (o == Outcome::dropped) report.line(dropped_text(sweeps[sweep_of[i]], run_of(i)));
        if (o == Outcome::done || o == Outcome::failed) report.line(summary());
      }
      changed.notify_all();
    }
  };

  std::vector<std::thread> workers;
  for (int j = 0; j < opt.jobs; ++j) workers.emplace_back(worker);
  // Status: every status_every_s, the running runs' steps and ETAs and the overall line.
  {
    std::unique_lock<std::mutex> lock(mutex);
    auto last = Clock::now();
    while (finished < n && RunnerSignals::count() == 0) {
      bool any_running = false;
      for (size_t i = 0; i < n; ++i) any_running |= state[i] == State::running;
      changed.wait_for(lock, std::chrono::milliseconds(500));
      if (opt.status_every_s > 0 &&
          std::chrono::duration<double>(Clock::now() - last).count() >= opt.status_every_s &&
          any_running) {
        last = Clock::now();
        std::string live;
        for (size_t i = 0; i < n; ++i) {
          if (state[i] == State::running)
            live += fmt::format("; {} {}", run_of(i).run_id,
                                live_progress(sweeps[sweep_of[i]], run_of(i)));
        }
        report.line(summary() + live);
      }
    }
  }
  for (auto& w : workers) w.join();

  size_t done = 0, failed = 0, busy = 0, interrupted = 0, waiting = 0, dropped = 0;
  for (size_t i = 0; i < n; ++i) {
    if (state[i] == State::pending) ++waiting;
    if (state[i] != State::finished) continue;
    done += outcome[i] == Outcome::done || outcome[i] == Outcome::already_done;
    failed += outcome[i] == Outcome::failed;
    busy += outcome[i] == Outcome::busy;
    interrupted += outcome[i] == Outcome::interrupted;
    dropped += outcome[i] == Outcome::dropped;
  }
  report.line(
      fmt::format("finished: {}/{} done, {} failed, {} taken by other workers, {} interrupted, {} "
                  "not started{}",
                  done, n - dropped, failed, busy, interrupted, waiting,
                  dropped > 0 ? fmt::format(", {} dropped by a re-plan", dropped) : ""));
  // What this runner did not run of the plan on disk now: runs a re-plan added, and runs it
  // dropped that a later re-plan put back.
  for (size_t k = 0; k < sweeps.size(); ++k) {
    std::vector<std::string> missed = plans[k]->added();
    for (size_t i = 0; i < n; ++i) {
      if (sweep_of[i] == k && outcome[i] == Outcome::dropped &&
          plans[k]->still_planned(run_of(i).run_id))
        missed.push_back(run_of(i).run_id);
    }
    if (missed.empty()) continue;
    std::string ids;
    for (size_t j = 0; j < std::min<size_t>(missed.size(), 5); ++j)
      ids += (j ? ", " : "") + missed[j];
    if (missed.size() > 5) ids += ", ...";
    report.line(fmt::format(
        "{} was re-planned while this runner worked: {} planned run(s) it did not run ({}); run "
        "`tca sweep run {} --all` again for them",
        sweeps[k].dir, missed.size(), ids, sweeps[k].dir));
  }
  if (RunnerSignals::count() > 0) return exit_code_for_stop();
  return failed > 0 ? kExitSweepFailed : kExitOk;
}

}  // namespace tca::sweep
