// Grid expansion (lib/sweep/grid.hpp): products, zips, seeds, blocks, stable ids, matched
// Perceiver IO runs, eval-set placeholders, and the errors naming the grid key.
#include <doctest/doctest.h>

#include <set>

#include "core/error.hpp"
#include "sweep/grid.hpp"

using namespace tca;
using namespace tca::sweep;
using json = nlohmann::json;

namespace {

const std::set<std::string> kTrainKeys = {
    "model",       "task",          "seed",      "steps",      "lr",     "seq_len",
    "num_latents", "branch_factor", "heuristic", "batch_size", "kernel", "rl_loss_weight"};
bool is_train_key(const std::string& k) { return kTrainKeys.count(k) > 0; }
Grid expand(const json& g) { return expand_grid(g, "grid.json", is_train_key); }

std::string error_of(const json& g) {
  try {
    expand(g);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("a grid expands lists as a Cartesian product, seeds outermost") {
  const Grid g = expand(json::parse(
      R"({"fixed": {"task": "copy"}, "model": ["ca", "tca"], "lr": [0.1, 0.2], "seeds": [0, 1]})"));
  REQUIRE(g.runs.size() == 8);
  // Seeds outermost: the first four runs are seed 0, every (model, lr) pair once.
  std::set<std::pair<std::string, double>> first;
  for (int i = 0; i < 4; ++i) {
    CHECK(g.runs[i].config["seed"] == 0);
    first.insert(
        {g.runs[i].config["model"].get<std::string>(), g.runs[i].config["lr"].get<double>()});
  }
  CHECK(first.size() == 4);
  CHECK(g.runs[4].config["seed"] == 1);
  // The setting names the keys that vary (lr), never model or seed.
  CHECK(g.runs[0].setting == json{{"lr", 0.1}});
}

TEST_CASE("zipped lists vary together and must have equal lengths") {
  const Grid g = expand(json::parse(
      R"({"task": "copy", "model": "ca", "zip": {"seq_len": [128, 256], "steps": [10, 20]}})"));
  REQUIRE(g.runs.size() == 2);
  CHECK(g.runs[0].config["seq_len"] == 128);
  CHECK(g.runs[0].config["steps"] == 10);
  CHECK(g.runs[1].config["seq_len"] == 256);
  CHECK(g.runs[1].config["steps"] == 20);
  const std::string e =
      error_of(json::parse(R"({"model": "ca", "zip": {"seq_len": [128, 256], "steps": [10]}})"));
  CHECK(e.find("zipped lists of unequal length") != std::string::npos);
  CHECK(e.find("grid.json:zip.steps") != std::string::npos);
}

TEST_CASE("run blocks are concatenated and a block's value overrides the fixed one") {
  const Grid g = expand(json::parse(R"({"fixed": {"task": "gp", "steps": 5},
      "runs": [{"model": ["ca", "tca"]}, {"model": "perceiver", "num_latents": [16, 32], "steps": 7}]})"));
  REQUIRE(g.runs.size() == 4);
  CHECK(g.runs[2].config["model"] == "perceiver");
  CHECK(g.runs[2].config["steps"] == 7);
  CHECK(g.runs[0].config["steps"] == 5);
  CHECK_FALSE(g.runs[0].config.contains("num_latents"));
}

TEST_CASE("run ids are readable, stable and change with the config") {
  const json grid = json::parse(R"({"task": "copy", "model": ["ca", "tca"], "seeds": [3]})");
  const Grid a = expand(grid), b = expand(grid);
  REQUIRE(a.runs.size() == 2);
  CHECK(a.runs[0].run_id == b.runs[0].run_id);
  CHECK(a.runs[0].run_id.rfind("copy-ca-s3-", 0) == 0);
  CHECK(a.runs[0].run_id.size() == std::string("copy-ca-s3-").size() + 8);
  CHECK(a.runs[0].run_id != a.runs[1].run_id);
  json other = grid;
  other["lr"] = 0.01;
  CHECK(expand(other).runs[0].run_id != a.runs[0].run_id);
  CHECK(config_hash(json{{"a", 1}}) == config_hash(json::parse(R"({"a": 1})")));
}

TEST_CASE("match-tca links each Perceiver IO run to the TCA run of its setting and seed") {
  const Grid g = expand(json::parse(R"({"task": "copy", "eval_sets": {"e": "e.h5"},
      "runs": [{"model": "perceiver", "num_latents": "match-tca"}, {"model": ["ca", "tca"]}],
      "zip": {"seq_len": [16, 32], "steps": [1, 2]}, "seeds": [0, 1]})"));
  REQUIRE(g.runs.size() == 12);
  std::set<std::string> seen;
  for (const auto& r : g.runs) {
    if (!r.match_run_id.empty()) {
      // The TCA run exists, has the same seq_len and seed, and comes earlier in the index.
      CHECK(seen.count(r.match_run_id) == 1);
      CHECK(r.match_eval == "e");
      for (const auto& t : g.runs) {
        if (t.run_id == r.match_run_id) {
          CHECK(t.config["model"] == "tca");
          CHECK(t.config["seq_len"] == r.config["seq_len"]);
          CHECK(t.config["seed"] == r.config["seed"]);
        }
      }
    }
    seen.insert(r.run_id);
  }
  CHECK(
      error_of(
          json::parse(
              R"({"eval_sets": {"e": "e.h5"}, "runs": [{"model": "perceiver", "num_latents": "match-tca"}]})"))
          .find("exactly one TCA run") != std::string::npos);
  CHECK(error_of(json::parse(
                     R"({"eval_sets": {"e": "e.h5"}, "model": "ca", "num_latents": "match-tca"})"))
            .find("Perceiver IO runs only") != std::string::npos);
}

TEST_CASE(
    "eval sets: generated per distinct resolved arguments, placeholders from the run's config") {
  const Grid g = expand(json::parse(R"({"task": "copy", "model": "ca", "seq_len": [16, 32],
      "eval_sets": {"copy": {"make-dataset": "copy", "seq-len": "{seq_len}", "count": 32}, "given": "/data/x.h5"}})"));
  REQUIRE(g.runs.size() == 2);
  REQUIRE(g.runs[0].eval_sets.size() == 2);
  const EvalSet& e = g.runs[0].eval_sets[0];
  CHECK(e.name == "copy");
  CHECK(e.path == "data/copy-seq_len16.h5");
  CHECK(e.make_dataset_args ==
        std::vector<std::string>{"copy", "--count", "32", "--seq-len", "16", "--split", "eval"});
  CHECK(g.runs[1].eval_sets[0].path == "data/copy-seq_len32.h5");
  CHECK(g.runs[0].eval_sets[1].path == "/data/x.h5");
  CHECK(g.runs[0].eval_sets[1].make_dataset_args.empty());
  CHECK(
      error_of(
          json::parse(
              R"({"model": "ca", "eval_sets": {"c": {"make-dataset": "copy", "seq_len": "{nope}"}}})"))
          .find("{nope}") != std::string::npos);
}

TEST_CASE(
    "grid errors name the key: unknown keys, runner keys, empty lists, duplicates, bad seeds") {
  CHECK(error_of(json::parse(R"({"model": "ca", "lr_rate": 1})")).find("grid.json:lr_rate") !=
        std::string::npos);
  CHECK(error_of(json::parse(R"({"model": "ca", "out": "x"})")).find("sets for every run") !=
        std::string::npos);
  CHECK(error_of(json::parse(R"({"model": "ca", "lr": []})")).find("empty list") !=
        std::string::npos);
  CHECK(error_of(json::parse(R"({"runs": [{"model": "ca"}, {"model": "ca"}]})"))
            .find("lists a run twice") != std::string::npos);
  CHECK(error_of(json::parse(R"({"model": "ca", "seeds": [0.5]})")).find("grid.json:seeds") !=
        std::string::npos);
  CHECK(error_of(json::parse(R"({"task": "copy"})")).find("without a method") != std::string::npos);
  CHECK(
      error_of(json::parse(R"({"model": "ca", "curve_eval": "x"})")).find("grid.json:curve_eval") !=
      std::string::npos);
  CHECK(error_of(json::parse(R"({"model": "ca", "lr": {"a": 1}})")).find("invalid grid value") !=
        std::string::npos);
}
