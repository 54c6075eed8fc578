// `tca train` end to end (conventions.md "Run directories", "Options, configs and defaults",
// "Exit codes and errors"): the run directory it writes, option precedence, refusing a used
// directory, failures and usage errors.
#include <fstream>

#include "cli/cli_test_util.hpp"

using namespace tca::cli_test;
using tca::test::TempDir;

TEST_CASE("tca train writes a self-describing run directory and prints its path") {
  TempDir dir;
  make_copy_eval(dir, "eval.h5");
  const Run r = run_tca(
      dir,
      std::string(
          "train --model tca --out run --steps 4 --log-every 2 --eval eval.h5 --eval-every 2") +
          tiny_copy_task() + tiny_model());
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(r.out == "run\n");
  const auto status = read_json(dir.file("run/status.json"));
  CHECK(status["state"] == "done");
  CHECK(status["exit_code"] == 0);
  CHECK(status["error"].is_null());

  const auto config = read_json(dir.file("run/config.json"));
  CHECK(config["model"] == "tca");
  CHECK(config["task"] == "copy");
  CHECK(config["seq_len"] == 16);
  CHECK(config["kernel"].is_null());  // an option of another task is not part of this run
  CHECK(config["d_model"] == 16);
  CHECK(config["layers"] == 0);  // copy task default (tca.md 6)
  CHECK(config["beta1"] == 0.1);
  CHECK(config["dim_x"] == 12);
  CHECK(config["num_classes"] == 12);
  CHECK(config["data_task"] == "copy");
  CHECK(config.contains("git_sha"));
  CHECK(config.contains("onednn_isa"));
  CHECK(config["omp_threads"] == 1);
  CHECK(config["data_parallel"] == 1);
  CHECK_FALSE(config.contains("resume"));  // run control is not configuration

  const auto metrics = read_jsonl(dir.file("run/metrics.jsonl"));
  std::vector<int> train_steps, eval_steps;
  for (const auto& m : metrics) {
    (m["split"] == "train" ? train_steps : eval_steps).push_back(m["step"].get<int>());
    CHECK(m.contains("wall_s"));
  }
  CHECK(train_steps == std::vector<int>{2, 4});
  CHECK(eval_steps == std::vector<int>{2, 4});
  const auto& train = metrics.front();
  for (const char* key :
       {"loss", "tca_loss", "ca_loss", "rl_loss", "accuracy", "lr", "grad_norm", "steps_per_s"}) {
    CHECK_MESSAGE(train.contains(key), key);
  }
  CHECK(metrics.back()["tokens_attended"] == 4.0);  // k(b-1) + P = 2 + 2 for N = 8, b = 2
  std::ifstream checkpoint(dir.file("run/checkpoint.h5"));
  CHECK(checkpoint.good());
}

TEST_CASE("train option precedence: built-in < task defaults < config file < command line") {
  TempDir dir;
  std::ofstream(dir.file("cfg.json"))
      << R"({"lr": 0.002, "batch_size": 6, "dropout": 0.25, "heads": 4})";
  const Run r = run_tca(
      dir, std::string(
               "train --model ca --task copy --seq-len 16 --steps 1 --progress none --out run "
               "--config cfg.json --batch-size 5 --d-model 16 --emb-depth 2 --dim-feedforward 16"));
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const auto c = read_json(dir.file("run/config.json"));
  CHECK(c["lr"] == 0.002);      // config file over the built-in default
  CHECK(c["batch_size"] == 5);  // command line over the config file (and the task default 128)
  CHECK(c["dropout"] == 0.25);  // config file over the copy task's 0.1
  CHECK(c["layers"] == 0);      // copy task default over the built-in 6
  CHECK(c["heads"] == 4);
  CHECK(c["eps"] == 1e-8);  // built-in
  CHECK(c["clip"] == 1.0);

  // The run's config.json is itself a valid --config: the same options resolve to the same values.
  const Run again = run_tca(dir, "train --config run/config.json --out run2 --steps 1");
  REQUIRE_MESSAGE(again.exit_code == 0, again.err);
  auto c2 = read_json(dir.file("run2/config.json"));
  c2["out"] = c["out"];
  CHECK(c2 == c);
}

TEST_CASE(
    "train defaults follow the task: gp uses 6 encoder layers, batch 16 and betas (0.9, 0.999)") {
  TempDir dir;
  const Run help = run_tca(dir, "train --help");
  REQUIRE(help.exit_code == 0);
  CHECK(contains(help.out, "copy: --batch-size 128 --beta1 0.1"));
  CHECK(contains(help.out, "image: --batch-size 100"));
  CHECK(contains(help.out, "--heuristic sort_x2"));
  const Run r = run_tca(
      dir, std::string(
               "train --model perceiver --task gp --steps 1 --out run --progress none --layers 1") +
               tiny_model());
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const auto c = read_json(dir.file("run/config.json"));
  CHECK(c["batch_size"] == 16);
  CHECK(c["beta1"] == 0.9);
  CHECK(c["dropout"] == 0.0);
  CHECK(c["bound_std"] == false);
  CHECK(c["max_points"] == 50);  // the resolved generator parameter
  CHECK(c["seq_len"].is_null());
  CHECK(c["loss"] == "gaussian_nll");
}

TEST_CASE("train refuses an existing run directory (exit 2) unless --overwrite") {
  TempDir dir;
  const std::string args =
      std::string("train --model ca --out run --steps 1") + tiny_copy_task() + tiny_model();
  REQUIRE(run_tca(dir, args).exit_code == 0);
  check_usage_error(run_tca(dir, args),
                    "already exists and is not empty (pass --resume to continue it or --overwrite");
  const Run over = run_tca(dir, args + " --overwrite");
  CHECK_MESSAGE(over.exit_code == 0, over.err);
  check_usage_error(run_tca(dir, args + " --overwrite --resume"),
                    "--resume and --overwrite exclude each other");
}

TEST_CASE("a numerical failure mid-run sets status failed and exits 1") {
  TempDir dir;
  const Run r =
      run_tca(dir, std::string("train --model ca --out run --steps 50 --lr 1e30 --clip 0") +
                       tiny_copy_task() + tiny_model());
  CHECK(r.exit_code == 1);
  CHECK(count_lines(r.err) == 1);
  // Which check fires first (a non-finite loss, or a finite loss whose gradient overflowed)
  // depends on how the kernels round at 1e30; either is the numerical failure.
  auto numerical = [](const std::string& m) {
    return contains(m, "the training loss is") || contains(m, "the gradient norm is");
  };
  CHECK(contains(r.err, "tca train: error: the "));
  CHECK(numerical(r.err));
  const auto status = read_json(dir.file("run/status.json"));
  CHECK(status["state"] == "failed");
  CHECK(status["exit_code"] == 1);
  CHECK(numerical(status["error"].get<std::string>()));
}

TEST_CASE("every train usage error exits 2 with a one-line message") {
  TempDir dir;
  make_copy_eval(dir, "copy.h5");
  REQUIRE(
      run_tca(dir,
              "make-dataset gp --split eval --count 8 --batch-size 8 --progress none --out gp.h5")
          .exit_code == 0);
  const std::string base =
      std::string("train --model ca --steps 1") + tiny_copy_task() + tiny_model();
  check_usage_error(run_tca(dir, base + " --out r --d-modle 8"), "did you mean '--d-model'");
  check_usage_error(run_tca(dir, base + " --out r --steps abc"), "invalid value 'abc' for --steps");
  check_usage_error(run_tca(dir, base + " --out r --dropout 1.5"), "--dropout");
  check_usage_error(run_tca(dir, base + " --out r --heuristic sorted"), "did you mean 'sort_x1'");
  check_usage_error(run_tca(dir, base), "missing required option --out");
  check_usage_error(run_tca(dir, "train --task copy --out r"), "missing required option --model");
  check_usage_error(run_tca(dir, "train --model ca --out r"), "missing training data");
  check_usage_error(run_tca(dir, base + " --out r --kernel rbf"),
                    "--kernel applies to task gp, not copy");
  check_usage_error(run_tca(dir, base + " --out r --train copy.h5"),
                    "--task and --train exclude each other");
  check_usage_error(run_tca(dir, "train --model ca --task copy --out r --d-model 16 --heads 3"),
                    "d_model divisible by heads");
  std::ofstream(dir.file("typo.json")) << R"({"batch_sise": 4})";
  check_usage_error(
      run_tca(dir, base + " --out r --config typo.json"),
      "unknown key 'batch_sise' in config file typo.json (did you mean 'batch_size'?)");
  // An eval file of another task, and a malformed one, are input errors (exit 2) found before
  // training.
  check_usage_error(run_tca(dir, base + " --out r --eval gp.h5"),
                    "eval file of another task than the training data (gp.h5:task)");
  std::ofstream(dir.file("bad.h5")) << "not an HDF5 file";
  check_usage_error(run_tca(dir, base + " --out r --eval bad.h5"), "bad.h5");
  std::ifstream never(dir.file("r/config.json"));
  CHECK_FALSE(never.good());  // nothing was started
}

TEST_CASE("train --train FILE.h5 reads its batches from a task file, as stored") {
  TempDir dir;
  make_copy_eval(dir, "pool.h5", 24);
  const Run r = run_tca(
      dir, std::string("train --model tca --train pool.h5 --out run --steps 4 --progress none") +
               tiny_model());
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const auto c = read_json(dir.file("run/config.json"));
  CHECK(c["train"] == "pool.h5");
  CHECK(c["task"].is_null());
  CHECK(c["batch_size"] == 8);  // the file's batches
  CHECK(c["layers"] == 0);      // task defaults of the file's task (copy)
  CHECK(c["seq_len"].is_null());
  check_usage_error(
      run_tca(dir, std::string("train --model tca --train pool.h5 --out r2 --batch-size 4") +
                       tiny_model()),
      "--batch-size 4: the batches of pool.h5 hold 8 tasks");
  check_usage_error(
      run_tca(dir, std::string("train --model tca --train pool.h5 --out r2 --seq-len 16") +
                       tiny_model()),
      "--seq-len applies to --task, not to --train FILE.h5");
}

TEST_CASE("a boolean hyperparameter takes a value on the command line, as --bptt true|false") {
  TempDir dir;
  for (const char* value : {"true", "false"}) {
    const std::string run = std::string("run-") + value;
    const Run r = run_tca(dir, "train --model tca --out " + run + " --steps 1 --eval-every 0 " +
                                   "--bptt " + value + tiny_copy_task() + tiny_model());
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    CHECK(read_json(dir.file(run + "/config.json"))["bptt"] == (std::string(value) == "true"));
  }
  check_usage_error(run_tca(dir, std::string("train --model tca --out r --bptt maybe") +
                                     tiny_copy_task() + tiny_model()),
                    "--bptt");
}

TEST_CASE("image tasks from CelebA take the CelebA defaults, not EMNIST's (tca.md 6)") {
  TempDir dir;
  // A two-image CelebA copy: list_eval_partition.txt and binary PPMs (what the importer reads).
  {
    std::ofstream(dir.file("list_eval_partition.txt")) << "000001.jpg 0\n000002.jpg 0\n";
    for (const char* name : {"000001.ppm", "000002.ppm"}) {
      std::ofstream ppm(dir.file(name), std::ios::binary);
      ppm << "P6\n8 8\n255\n";
      for (int i = 0; i < 8 * 8 * 3; ++i) ppm.put(static_cast<char>(i * 7));
    }
  }
  const Run r = run_tca(dir,
                        "train --model ca --task image --source celeba --path . "
                        "--max-points 10 --steps 1 --eval-every 0 --progress none --out run" +
                            std::string(tiny_model()));
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const auto config = read_json(dir.file("run/config.json"));
  CHECK(config["batch_size"] == 16);
  CHECK(config["heuristic"] == "sort_x1");
  CHECK(config["bound_std"] == false);
  CHECK(config["clip"] == 0.0);
  CHECK(config["beta1"] == 0.9);
}
