// `tca sweep status` (lib/sweep/sweep_status.hpp) on hand-made run files: each run's state, a lock
// held by another process read as "running", and the estimate of the time left from the run's
// own rate, the other seeds', another budget's, or nothing; a partial or failed run without its
// checkpoint counted as starting over.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "io/json_io.hpp"
#include "io/test_files.hpp"
#include "sweep/file_lock.hpp"
#include "sweep/run_record.hpp"
#include "sweep/sweep_status.hpp"
#include "sweep_test_util.hpp"

using namespace tca;
using namespace tca::sweep;
using json = nlohmann::json;

namespace {

// Seed-major: 0 ca s0, 1 tca s0, 2 perceiver s0 (20 steps), 3 ca s1, 4 tca s1, 5 perceiver s1.
const char* kGrid =
    R"({"name": "t", "task": "copy", "steps": 10, "seeds": [0, 1], "eval_sets": {"e": "e.h5"},
        "runs": [{"model": ["ca", "tca"]}, {"model": "perceiver", "num_latents": 4, "steps": 20}]})";

Sweep make_sweep(const test::TempDir& tmp) { return test_util::plan_sweep(tmp, kGrid); }

// Training records up to `step` at `seconds_per_step`, and a checkpoint when not `done`; `done`
// adds the status and the eval file.
void write_run(const Sweep& s, size_t index, int64_t step, double seconds_per_step, bool done) {
  const std::string dir = s.run_dir(s.runs[index]);
  std::filesystem::create_directories(dir);
  std::string metrics;
  for (int64_t k = 1; k <= step; ++k)
    metrics +=
        json({{"step", k}, {"split", "train"}, {"wall_s", seconds_per_step * k}}).dump() + "\n";
  test::write_bytes(dir + "/metrics.jsonl", metrics);
  io::write_json_atomically(dir + "/status.json", {{"state", done ? "done" : "running"},
                                                   {"exit_code", done ? json(0) : json()},
                                                   {"error", nullptr}});
  if (!done) test::write_bytes(dir + "/checkpoint.h5", "");  // status reads only that it exists
  if (done) {
    io::write_json_atomically(dir + "/" + eval_file_name("e"), {{"metrics", {{"accuracy", 1}}}});
    io::write_json_atomically(dir + "/sweep_run.json", {{"state", "done"}});
  }
}

const RunStanding& at(const SweepStanding& s, size_t i) { return s.runs.at(i); }

}  // namespace

TEST_CASE("sweep status: states, and the time left from the best basis at hand") {
  test::TempDir tmp;
  const Sweep s = make_sweep(tmp);
  REQUIRE(s.runs.size() == 6);
  write_run(s, 0, 10, 2.0, true);   // ca s0 done at 2 s per step
  write_run(s, 1, 4, 3.0, false);   // tca s0 stopped at step 4 of 10, 3 s per step
  write_run(s, 2, 20, 0.5, false);  // perceiver s0 trained, not evaluated
  io::write_json_atomically(s.run_dir(s.runs[2]) + "/status.json",
                            {{"state", "done"}, {"exit_code", 0}, {"error", nullptr}});
  std::filesystem::create_directories(s.run_dir(s.runs[5]));
  io::write_json_atomically(s.run_dir(s.runs[5]) + "/sweep_run.json",
                            {{"state", "failed"}, {"stage", "train"}, {"error", "boom"}});

  const SweepStanding st = sweep_standing(s);
  CHECK(st.done == 1);
  CHECK(st.partial == 2);
  CHECK(st.failed == 1);
  CHECK(st.not_started == 2);
  CHECK(st.running == 0);

  CHECK(at(st, 0).state == "done");
  CHECK_FALSE(at(st, 0).remaining_s.has_value());
  CHECK(*at(st, 0).trained_s == doctest::Approx(20.0));

  CHECK(at(st, 1).state == "partial");
  // Just written, with no lock here: perhaps running on another machine.
  CHECK(at(st, 1).note.find("metrics written") == 0);
  CHECK(at(st, 1).step == 4);
  CHECK(at(st, 1).steps == 10);
  CHECK(at(st, 1).basis == "its own rate");
  CHECK(*at(st, 1).remaining_s == doctest::Approx(6 * 3.0));

  CHECK(at(st, 2).note == "trained, not yet evaluated on e");
  CHECK(*at(st, 2).remaining_s == 0);

  CHECK(at(st, 3).state == "not started");  // ca s1: the rate of ca s0
  CHECK(at(st, 3).basis == "other seeds");
  CHECK(*at(st, 3).remaining_s == doctest::Approx(10 * 2.0));
  CHECK(*at(st, 4).remaining_s == doctest::Approx(10 * 3.0));  // tca s1: tca s0's partial rate

  CHECK(at(st, 5).state == "failed");  // perceiver s1: the rate of perceiver s0
  CHECK(at(st, 5).note == "failed at train: boom");
  CHECK(*at(st, 5).remaining_s == doctest::Approx(20 * 0.5));

  CHECK(st.remaining_s == doctest::Approx(18.0 + 20.0 + 30.0 + 10.0));
  CHECK(st.unestimated == 0);
  CHECK(st.trained_s == doctest::Approx(20.0 + 12.0 + 10.0));  // 10 x 2, 4 x 3, 20 x 0.5
  const json j = sweep_standing_json(s, st);
  CHECK(j["counts"]["failed"] == 1);
  CHECK(j["runs"][1]["remaining_s"].get<double>() == doctest::Approx(18.0));
  CHECK(sweep_standing_text(s, st).find("1 done, 0 running, 2 partial, 1 failed, 2 not started") !=
        std::string::npos);
}

TEST_CASE(
    "sweep status: a partial run without its checkpoint starts over, and its time left says so") {
  test::TempDir tmp;
  const Sweep s = make_sweep(tmp);
  write_run(s, 1, 4, 3.0, false);  // tca s0 stopped at step 4 of 10, 3 s per step
  CHECK_FALSE(at(sweep_standing(s), 1).restarts);
  CHECK(*at(sweep_standing(s), 1).remaining_s == doctest::Approx(6 * 3.0));
  // As in a clone: results/.gitignore leaves checkpoints out, so sweep run trains from step 0.
  std::filesystem::remove(s.run_dir(s.runs[1]) + "/checkpoint.h5");
  const SweepStanding st = sweep_standing(s);
  CHECK(at(st, 1).state == "partial");
  CHECK(at(st, 1).step == 4);
  CHECK(at(st, 1).restarts);
  CHECK(at(st, 1).note.find("no checkpoint: sweep run starts it over at step 0") !=
        std::string::npos);
  CHECK(*at(st, 1).remaining_s == doctest::Approx(10 * 3.0));
  CHECK(sweep_standing_json(s, st)["runs"][1]["restarts"] == true);
}

TEST_CASE("sweep status: a failed run is retried from its checkpoint, else from step 0") {
  test::TempDir tmp;
  const Sweep s = make_sweep(tmp);
  write_run(s, 1, 4, 3.0, false);  // tca s0 failed at step 4 of 10, 3 s per step
  io::write_json_atomically(s.run_dir(s.runs[1]) + "/sweep_run.json",
                            {{"state", "failed"}, {"stage", "train"}, {"error", "boom"}});
  std::filesystem::last_write_time(
      s.run_dir(s.runs[1]) + "/metrics.jsonl",
      std::filesystem::file_time_type::clock::now() - std::chrono::hours(1));
  SweepStanding st = sweep_standing(s);
  CHECK(at(st, 1).state == "failed");
  CHECK_FALSE(at(st, 1).restarts);
  CHECK(at(st, 1).note == "failed at train: boom");
  CHECK(*at(st, 1).remaining_s == doctest::Approx(6 * 3.0));  // resumes at step 4
  // Without its checkpoint, sweep run's retry trains it from step 0, as `sweep run` estimates.
  std::filesystem::remove(s.run_dir(s.runs[1]) + "/checkpoint.h5");
  st = sweep_standing(s);
  CHECK(at(st, 1).restarts);
  CHECK(at(st, 1).note ==
        "failed at train: boom; no checkpoint: sweep run starts it over at step 0");
  CHECK(*at(st, 1).remaining_s == doctest::Approx(10 * 3.0));
}

TEST_CASE("sweep status: another budget of the same config, the same method, or no basis") {
  test::TempDir tmp;
  const Sweep s = test_util::plan_sweep(
      tmp, R"({"name": "t", "task": "copy", "model": "ca", "seeds": [0], "eval_sets": {"e": "e.h5"},
               "runs": [{"steps": 10}, {"steps": 40}, {"model": "tca", "steps": 10},
                        {"steps": 10, "lr": 0.1}]})");
  write_run(s, 0, 10, 2.0, true);
  const SweepStanding st = sweep_standing(s);
  CHECK(at(st, 1).basis == "another step budget");
  CHECK(*at(st, 1).remaining_s == doctest::Approx(40 * 2.0));
  CHECK_FALSE(at(st, 2).remaining_s.has_value());        // tca: nothing of its method has run
  CHECK(at(st, 3).basis == "the same task and method");  // another lr: only the method matches
  CHECK(*at(st, 3).remaining_s == doctest::Approx(10 * 2.0));
  CHECK(st.unestimated == 1);
  CHECK(sweep_standing_text(s, st).find("1 unfinished run(s) have no basis") != std::string::npos);
}

TEST_CASE("sweep status: a run whose lock another process holds is running") {
  test::TempDir tmp;
  const Sweep s = make_sweep(tmp);
  write_run(s, 1, 4, 3.0, false);
  const std::string lock = s.path("locks/" + s.runs[1].run_id + ".lock");
  CHECK_FALSE(flock_held(lock));  // no file yet
  const int fd = ::open(lock.c_str(), O_RDWR | O_CREAT, 0644);
  REQUIRE(fd >= 0);
  ::close(fd);
  CHECK_FALSE(flock_held(lock));  // the file alone is not a lock
  // Held by a child process on its own descriptor, as `sweep run` would hold it.
  int ready[2];
  REQUIRE(::pipe(ready) == 0);
  const pid_t child = ::fork();
  if (child == 0) {
    ::flock(::open(lock.c_str(), O_RDWR), LOCK_EX);
    char c = 1;
    (void)!::write(ready[1], &c, 1);
    ::pause();
    ::_exit(0);
  }
  char c = 0;
  REQUIRE(::read(ready[0], &c, 1) == 1);
  CHECK(flock_held(lock));
  CHECK(sweep_standing(s).runs[1].state == "running");
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  CHECK_FALSE(flock_held(lock));
  CHECK(sweep_standing(s).runs[1].state == "partial");
  // Written long ago: no such hint.
  std::filesystem::last_write_time(
      s.run_dir(s.runs[1]) + "/metrics.jsonl",
      std::filesystem::file_time_type::clock::now() - std::chrono::hours(1));
  CHECK(sweep_standing(s).runs[1].note.empty());
  ::close(ready[0]);
  ::close(ready[1]);
}

TEST_CASE(
    "sweep status: the last periodic evaluation, latest step first, malformed records skipped") {
  test::TempDir tmp;
  const Sweep s = make_sweep(tmp);
  write_run(s, 1, 4, 3.0, false);
  const std::string metrics = s.run_dir(s.runs[1]) + "/metrics.jsonl";
  // Eval records at steps 2 and 4, then (a resumed run) step 2 again: step 4 is the latest. Records
  // without a step, a metric, or a numeric metric, and a train record with a metric, are skipped.
  std::string lines = test::read_bytes(metrics);
  for (const json& r : {json{{"split", "eval"}, {"step", 2}, {"accuracy", 0.11}},
                        json{{"split", "eval"}, {"step", 4}, {"accuracy", 0.126}, {"loss", 2.3}},
                        json{{"split", "eval"}, {"step", 2}, {"accuracy", 0.5}},
                        json{{"split", "eval"}, {"step", 9}, {"accuracy", "high"}},
                        json{{"split", "eval"}, {"accuracy", 0.9}},
                        json{{"split", "eval"}, {"step", 9}, {"loss", 0.1}},
                        json{{"split", 3}, {"step", 9}, {"accuracy", 0.9}},
                        json{{"split", "train"}, {"step", 4}, {"accuracy", 0.99}}})
    lines += r.dump() + "\n";
  test::write_bytes(metrics, lines);
  const SweepStanding st = sweep_standing(s);
  REQUIRE(at(st, 1).last_eval.has_value());
  CHECK(at(st, 1).last_eval->step == 4);
  CHECK(at(st, 1).last_eval->metric == "accuracy");
  CHECK(at(st, 1).last_eval->value == doctest::Approx(0.126));
  CHECK_FALSE(at(st, 0).last_eval.has_value());  // no metrics at all
  const std::string text = sweep_standing_text(s, st);
  CHECK(text.find("last eval") != std::string::npos);
  CHECK(text.find("12.6% @4") != std::string::npos);
  const json j = sweep_standing_json(s, st);
  CHECK(j["runs"][1]["last_eval"] == json{{"step", 4}, {"metric", "accuracy"}, {"value", 0.126}});
  CHECK(j["runs"][0]["last_eval"].is_null());

  // A regression task's log-likelihood: printed with its name, unscaled.
  CHECK(latest_eval({json{{"split", "eval"}, {"step", 5000}, {"tar_ll", 1.3333}}})->metric ==
        "tar_ll");
  write_run(s, 4, 3, 1.0, false);
  test::write_bytes(s.run_dir(s.runs[4]) + "/metrics.jsonl",
                    json{{"split", "eval"}, {"step", 3}, {"tar_ll", -0.25}}.dump() + "\n");
  CHECK(sweep_standing_text(s, sweep_standing(s)).find("tar_ll -0.250 @3") != std::string::npos);
}
