// `tca train --resume` (conventions.md "Run directories"): a run stopped by a signal after a
// checkpoint and resumed equals an uninterrupted run in every deterministic field of
// metrics.jsonl and in the final parameters; a resume that would change the results is refused.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "cli/cli_test_util.hpp"
#include "io/hdf5_file.hpp"

using namespace tca::cli_test;
using tca::test::TempDir;

namespace {

// Every deterministic field: all but the timing fields.
nlohmann::json deterministic(nlohmann::json record) {
  record.erase("wall_s");
  record.erase("steps_per_s");
  record.erase("latency_us_per_query");
  return record;
}

std::map<std::string, std::vector<float>> parameters(const std::string& checkpoint) {
  const auto f = tca::io::H5File::open_read(checkpoint);
  std::map<std::string, std::vector<float>> values;
  for (const auto& name : f.list("/parameters", true)) {
    if (f.is_dataset("/parameters/" + name)) values[name] = f.read<float>("/parameters/" + name);
  }
  return values;
}

// Starts `tca ARGS` in `dir` and sends SIGUSR1 as soon as its first checkpoint exists; returns
// the exit code.
int run_and_interrupt(const TempDir& dir, const std::string& args, const std::string& checkpoint) {
  BackgroundCommand train("cd '" + dir.path() + "' && exec '" + tca_binary() + "' " + args +
                          " >/dev/null 2>" + dir.file(".interrupted_stderr"));
  // Polled every millisecond: the run must still be training when the signal comes.
  while (!train.try_reap()) {
    if (std::ifstream(checkpoint).good()) {
      train.signal(SIGUSR1);
      REQUIRE(train.wait_for(std::chrono::minutes(2)));
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return train.exit_code();
}

// Trains `tca train ARGS` into full/ and, interrupted and resumed, into part/; the two must agree.
void check_resume_equals_uninterrupted(const std::string& extra_args) {
  TempDir dir;
  make_copy_eval(dir, "eval.h5", 16);
  // Enough steps that the run is still going when its first checkpoint (step 2) appears; dropout
  // and TCA's sampled paths make every step depend on the restored generator states.
  const std::string args =
      std::string(
          "train --model tca --steps 150 --log-every 1 --checkpoint-every 2 --eval eval.h5 "
          "--eval-every 25") +
      tiny_copy_task() + tiny_model() + extra_args;
  const Run full = run_tca(dir, args + " --out full");
  REQUIRE_MESSAGE(full.exit_code == 0, full.err);

  const int code = run_and_interrupt(dir, args + " --out part", dir.file("part/checkpoint.h5"));
  REQUIRE_MESSAGE(code == 75, slurp(dir.file(".interrupted_stderr")));  // SIGUSR1: "requeue me"
  const auto status = read_json(dir.file("part/status.json"));
  CHECK(status["state"] == "interrupted");
  CHECK(status["exit_code"] == 75);
  CHECK(contains(slurp(dir.file(".interrupted_stderr")), "--resume"));
  const auto partial = read_jsonl(dir.file("part/metrics.jsonl"));
  const auto reference = read_jsonl(dir.file("full/metrics.jsonl"));
  REQUIRE(partial.size() < reference.size());

  // --resume alone: the options come from the run's config.json.
  const Run resumed = run_tca(dir, "train --out part --resume --progress none");
  REQUIRE_MESSAGE(resumed.exit_code == 0, resumed.err);
  CHECK(resumed.out == "part\n");
  CHECK(read_json(dir.file("part/status.json"))["state"] == "done");
  const auto metrics = read_jsonl(dir.file("part/metrics.jsonl"));
  REQUIRE(metrics.size() == reference.size());
  for (size_t i = 0; i < metrics.size(); ++i) {
    CHECK_MESSAGE(deterministic(metrics[i]) == deterministic(reference[i]), "line " << i + 1);
  }
  CHECK(parameters(dir.file("part/checkpoint.h5")) == parameters(dir.file("full/checkpoint.h5")));
}

}  // namespace

TEST_CASE("a run interrupted by a signal and resumed equals the uninterrupted run") {
  check_resume_equals_uninterrupted("");
}

TEST_CASE("a data-parallel run interrupted by a signal and resumed equals the uninterrupted run") {
  // The replicas' generators are forked from the model generator every step, so the checkpoint
  // (which stores only that generator) resumes them exactly.
  check_resume_equals_uninterrupted(" --data-parallel 2");
}

TEST_CASE("--resume refuses a config that changes the results, naming the keys") {
  TempDir dir;
  const std::string args =
      std::string("train --model ca --steps 2 --out run") + tiny_copy_task() + tiny_model();
  REQUIRE(run_tca(dir, args).exit_code == 0);
  check_usage_error(run_tca(dir, args + " --resume --lr 0.01 --seed 3"),
                    "cannot --resume run: the config differs from its config.json in lr (stored "
                    "0.0005, now 0.01), "
                    "seed (stored 0, now 3)");
  // Logging and checkpoint cadence do not change what is computed.
  const Run ok = run_tca(dir, args + " --resume --log-every 7 --checkpoint-every 9");
  CHECK_MESSAGE(ok.exit_code == 0, ok.err);
  // The number of data-parallel replicas does.
  check_usage_error(run_tca(dir, args + " --resume --data-parallel 2"),
                    "cannot --resume run: the config differs from its config.json in "
                    "data_parallel (stored 1, now 2)");
  check_usage_error(run_tca(dir, "train --out nowhere --resume"),
                    "cannot --resume nowhere: it has no checkpoint.h5");
}

TEST_CASE("--resume continues a run recorded before --data-parallel existed as one replica") {
  TempDir dir;
  const std::string args =
      std::string("train --model ca --steps 2 --out run") + tiny_copy_task() + tiny_model();
  REQUIRE(run_tca(dir, args).exit_code == 0);
  auto config = read_json(dir.file("run/config.json"));
  config.erase("data_parallel");
  std::ofstream(dir.file("run/config.json")) << config.dump(2);
  const Run ok = run_tca(dir, "train --out run --resume --steps 2 --progress none");
  CHECK_MESSAGE(ok.exit_code == 0, ok.err);
  check_usage_error(run_tca(dir, "train --out run --resume --steps 2 --data-parallel 2"),
                    "data_parallel (stored 1, now 2)");
}
