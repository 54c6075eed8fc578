// `tca eval` and `tca report` end to end (conventions.md "JSON results", "Tokens attended"):
// eval.json's fields for each method, TCA's greedy and full inference, and the errors for data
// that does not fit the run.
#include <fstream>

#include "cli/cli_test_util.hpp"

using namespace tca::cli_test;
using tca::test::TempDir;

namespace {

void train(const TempDir& dir, const std::string& model, const std::string& out,
           const std::string& extra = "") {
  const Run r = run_tca(dir, "train --model " + model + " --out " + out + " --steps 3" +
                                 tiny_copy_task() + tiny_model() + extra);
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
}

}  // namespace

TEST_CASE("tca eval writes eval.json with metrics, tokens attended, latency and versions") {
  TempDir dir;
  make_copy_eval(dir, "eval.h5", 24);
  const Run made = run_tca(dir,
                           "make-dataset copy --seq-len 16 --split eval --batch-size 8 --progress "
                           "none --count 24 --out again.h5");
  const std::string hash = made.out.substr(made.out.rfind(' ') + 1, 16);
  train(dir, "tca", "tca");
  train(dir, "ca", "ca");
  train(dir, "perceiver", "perceiver");

  const Run r = run_tca(dir, "eval --run tca --data eval.h5");
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(count_lines(r.out) == 1);
  CHECK(contains(r.out, "tca (tca, greedy) on eval.h5: accuracy "));
  CHECK(contains(r.out, "tokens attended 4.00 (50.00% of N)"));
  const auto j = read_json(dir.file("tca/eval.json"));
  CHECK(j["model"] == "tca");
  CHECK(j["task"] == "copy");
  CHECK(j["inference"] == "greedy");
  CHECK(j["data"]["path"] == "eval.h5");
  CHECK(j["data"]["content_hash"] == hash);  // the same content as the file made again
  CHECK(j["checkpoint"]["step"] == 3);
  const double accuracy = j["metrics"]["accuracy"];
  CHECK(accuracy >= 0.0);
  CHECK(accuracy <= 1.0);
  CHECK(j["metrics"]["loss"].get<double>() > 0.0);
  CHECK_FALSE(j["metrics"].contains("mse"));  // a classification task
  // N = 8, b = 2: k = 2, P = 2, |S| = k(b-1) + P = 4 per query, b k = 4 nodes scored.
  CHECK(j["tokens_attended"]["mean"] == 4.0);
  CHECK(j["tokens_attended"]["min"] == 4.0);
  CHECK(j["tokens_attended"]["max"] == 4.0);
  CHECK(j["tokens_attended"]["percent_of_n"] == 50.0);
  CHECK(j["tokens_unmasked"]["mean"] == 4.0);
  CHECK(j["nodes_scored"] == 4.0);
  CHECK(j["n_context"] == 8.0);
  CHECK(j["queries"] == 24 * 8);
  CHECK(j["batches"] == 3);
  CHECK(j["latency_us_per_query"].get<double>() > 0.0);
  CHECK(j["queries_per_s"].get<double>() > 0.0);
  CHECK(j["peak_rss_mb"].get<double>() > 0.0);
  CHECK(j["threads"] == 1);
  CHECK_FALSE(j["isa"].get<std::string>().empty());
  CHECK(j["versions"].contains("tca"));
  CHECK(j["wall_s"].get<double>() > 0.0);

  // ReTreever-Full attends to every token.
  REQUIRE(run_tca(dir, "eval --run tca --data eval.h5 --full --out full.json").exit_code == 0);
  const auto full = read_json(dir.file("full.json"));
  CHECK(full["inference"] == "full");
  CHECK(full["tokens_attended"]["mean"] == 8.0);
  CHECK(full["tokens_attended"]["percent_of_n"] == 100.0);

  // CA attends to N, Perceiver IO to its L latents; neither scores nodes.
  REQUIRE(run_tca(dir, "eval --run ca --data eval.h5 --max-batches 2").exit_code == 0);
  const auto ca = read_json(dir.file("ca/eval.json"));
  CHECK(ca["tokens_attended"]["mean"] == 8.0);
  CHECK(ca["tokens_attended"]["percent_of_n"] == 100.0);
  CHECK(ca["batches"] == 2);
  CHECK_FALSE(ca.contains("nodes_scored"));
  REQUIRE(run_tca(dir, "eval --run perceiver --data eval.h5").exit_code == 0);
  const auto pio = read_json(dir.file("perceiver/eval.json"));
  CHECK(pio["tokens_attended"]["mean"] == 3.0);
  CHECK(pio["tokens_attended"]["percent_of_n"] == 37.5);

  const Run table = run_tca(dir, "report ca tca full.json perceiver");
  REQUIRE_MESSAGE(table.exit_code == 0, table.err);
  CHECK(contains(table.out, "task  method"));
  CHECK(contains(table.out, "copy  TCA (full)"));
  CHECK(contains(table.out, "Perceiver IO (L=3)"));
  CHECK(count_lines(table.out) == 2 + 4 + 1);
  CHECK(contains(table.out, "(a mean of ratios)"));
  // The Markdown table states it too (conventions.md: "stated as such in every table").
  const Run md = run_tca(dir, "report ca tca --format md");
  REQUIRE_MESSAGE(md.exit_code == 0, md.err);
  CHECK(contains(md.out, "| task "));
  CHECK(contains(md.out,
                 "\n_% of N: the mean over queries of tokens attended / N of the query's "
                 "task (a mean of ratios)_\n"));
  const Run get = run_tca(dir, "report --get tokens_attended.percent_of_n perceiver tca");
  CHECK(get.out == "37.5\n50.0\n");
  check_usage_error(run_tca(dir, "report --get tokens_attended.median tca"),
                    "missing result field (tca/eval.json:tokens_attended.median)");
}

TEST_CASE("tca eval reports mse and the target log-likelihood on a regression task") {
  TempDir dir;
  REQUIRE(
      run_tca(dir,
              "make-dataset gp --split eval --count 16 --batch-size 8 --progress none --out gp.h5")
          .exit_code == 0);
  const Run t = run_tca(
      dir,
      std::string("train --model ca --task gp --layers 1 --steps 2 --progress none --out run") +
          tiny_model());
  REQUIRE_MESSAGE(t.exit_code == 0, t.err);
  const Run r = run_tca(dir, "eval --run run --data gp.h5 --out gp.json");
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  const auto j = read_json(dir.file("gp.json"));
  CHECK(j["task"] == "gp");
  CHECK(j["metrics"].contains("tar_ll"));
  CHECK(j["metrics"]["mse"].get<double>() > 0.0);
  CHECK(j["tokens_attended"]["percent_of_n"] == 100.0);  // CA attends to all N of each task
  CHECK(j["tokens_attended"]["min"].get<double>() <
        j["tokens_attended"]["max"].get<double>());  // N varies by batch
  std::ifstream default_path(dir.file("run/eval.json"));
  CHECK_FALSE(default_path.good());  // --out replaces RUN_DIR/eval.json
}

TEST_CASE(
    "tca eval refuses data of another task, malformed files and options the run cannot use (exit "
    "2)") {
  TempDir dir;
  make_copy_eval(dir, "eval.h5", 8);
  REQUIRE(
      run_tca(dir,
              "make-dataset gp --split eval --count 8 --batch-size 8 --progress none --out gp.h5")
          .exit_code == 0);
  REQUIRE(run_tca(dir,
                  "make-dataset copy --seq-len 16 --num-chars 5 --split eval --count 8 "
                  "--batch-size 8 --progress none --out c5.h5")
              .exit_code == 0);
  train(dir, "ca", "ca");
  check_usage_error(run_tca(dir, "eval --run ca --data gp.h5"),
                    "data of another task than the model was trained on (gp.h5:task)");
  check_usage_error(run_tca(dir, "eval --run ca --data c5.h5"), "(c5.h5:dim_x): expected 12");
  std::ofstream(dir.file("bad.h5")) << "not an HDF5 file";
  check_usage_error(run_tca(dir, "eval --run ca --data bad.h5"), "bad.h5");
  check_usage_error(run_tca(dir, "eval --run missing --data eval.h5"),
                    "not a run directory (missing)");
  check_usage_error(run_tca(dir, "eval --run ca --data eval.h5 --full"),
                    "--full needs a TCA run (ca is ca)");
  check_usage_error(run_tca(dir, "eval --run ca"), "missing required option --data");
  check_usage_error(run_tca(dir, "eval --run ca --data eval.h5 --max-batches -1"), "--max-batches");
  std::ifstream none(dir.file("ca/eval.json"));
  CHECK_FALSE(none.good());
}
