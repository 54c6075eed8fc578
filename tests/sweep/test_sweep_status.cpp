// `tca sweep status` (lib/sweep/sweep_status.hpp) on hand-made run files: each run's state, a lock
// held by another process read as "running", and the estimate of the time left from the run's
// own rate, the other seeds', another budget's, or nothing.
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

// Training records up to `step` at `seconds_per_step`; `done` adds the status and the eval file.
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
