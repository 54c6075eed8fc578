// `tca build-tree` end to end (conventions.md "HDF5 datasets": /trees/NAME; datasets/README.md
// "Trees"): the layout and values of the stored trees, node embeddings from a checkpoint that
// `tca eval --trees` answers from with the same results as rebuilding, and the refusals.
#include <algorithm>
#include <numeric>

#include "cli/cli_test_util.hpp"
#include "data/task_file_reader.hpp"
#include "io/hdf5_file.hpp"

using namespace tca::cli_test;
using tca::test::TempDir;

TEST_CASE("build-tree stores the ordering, shape and padding masks of every context set") {
  TempDir dir;
  REQUIRE(run_tca(dir,
                  "make-dataset gp --split eval --count 24 --batch-size 8 --seed 4 --progress none "
                  "--out gp.h5")
              .exit_code == 0);
  const Run r = run_tca(dir,
                        "build-tree --data gp.h5 --out trees.h5 --heuristic sort_x1 "
                        "--branch-factor 3 --progress none");
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(contains(r.out, "trees.h5:/trees/sort_x1_b3: 24 trees"));
  CHECK(contains(r.out, "depth k"));
  CHECK(contains(r.out, "leaf size P"));
  CHECK(contains(r.out, "padding"));
  CHECK(contains(r.out, "tokens per query"));
  CHECK_FALSE(contains(r.out, "node embeddings"));

  const tca::data::TaskFileReader data(dir.file("gp.h5"));
  const auto f = tca::io::H5File::open_read(dir.file("trees.h5"));
  CHECK(f.attr_string("format") == "tca-trees");
  const std::string g = "/trees/sort_x1_b3";
  CHECK(f.attr_int("branch_factor", g) == 3);
  CHECK(f.attr_string("heuristic", g) == "sort_x1");
  CHECK(f.attr_int("num_tasks", g) == 24);
  CHECK_FALSE(f.exists(g + "/nodes"));
  const auto depth = f.read<int32_t>(g + "/depth");
  const auto leaf = f.read<int32_t>(g + "/leaf_size");
  const auto perm = f.read<int32_t>(g + "/perm");
  const auto perm_offsets = f.read<int64_t>(g + "/perm_offsets");
  const auto padded_offsets = f.read<int64_t>(g + "/padded_offsets");
  const auto mask = f.read<uint8_t>(g + "/mask");
  REQUIRE(depth.size() == 24);
  int64_t task = 0;
  for (int64_t b = 0; b < data.num_batches(); ++b) {
    const tca::Batch batch = data.read_batch(b);
    const int64_t N = batch.num_context();
    for (int64_t i = 0; i < batch.batch_size(); ++i, ++task) {
      const size_t t = static_cast<size_t>(task);
      // tca.md 4.1: k = the largest integer with 3^k <= N - 1, P = ceil(N / 3^k).
      int64_t k = 0, power = 1;
      while (power * 3 <= N - 1) power *= 3, ++k;
      CHECK(depth[t] == k);
      CHECK(leaf[t] == (N + power - 1) / power);
      CHECK(perm_offsets[t + 1] - perm_offsets[t] == N);
      CHECK(padded_offsets[t + 1] - padded_offsets[t] == leaf[t] * power);
      // The mask marks the N real tokens first, then padding.
      for (int64_t j = padded_offsets[t]; j < padded_offsets[t + 1]; ++j) {
        CHECK(mask[static_cast<size_t>(j)] == (j - padded_offsets[t] < N ? 1 : 0));
      }
      // perm is a permutation that sorts the context by x1.
      std::vector<int32_t> p(perm.begin() + perm_offsets[t], perm.begin() + perm_offsets[t + 1]);
      std::vector<int32_t> sorted = p;
      std::sort(sorted.begin(), sorted.end());
      std::vector<int32_t> identity(static_cast<size_t>(N));
      std::iota(identity.begin(), identity.end(), 0);
      CHECK(sorted == identity);
      for (int64_t j = 1; j < N; ++j) {
        CHECK(batch.xc[i * N + p[static_cast<size_t>(j - 1)]] <=
              batch.xc[i * N + p[static_cast<size_t>(j)]]);
      }
    }
  }

  // A second tree goes next to the first; rebuilding a name replaces only that tree.
  REQUIRE(run_tca(dir, "build-tree --data gp.h5 --out trees.h5 --progress none").exit_code == 0);
  REQUIRE(run_tca(dir,
                  "build-tree --data gp.h5 --out trees.h5 --heuristic kd --branch-factor 3 --name "
                  "sort_x1_b3 --progress none")
              .exit_code == 0);
  const auto f2 = tca::io::H5File::open_read(dir.file("trees.h5"));
  CHECK(f2.list("/trees") == std::vector<std::string>{"none_b2", "sort_x1_b3"});
  CHECK(f2.attr_string("heuristic", g) == "kd");
  CHECK(f2.attr_string("heuristic", "/trees/none_b2") == "none");
  CHECK(f2.read<int64_t>("/trees/none_b2/perm_offsets").size() == 25);
}

TEST_CASE(
    "eval --trees answers from the stored node embeddings exactly as eval rebuilding the trees") {
  TempDir dir;
  make_copy_eval(dir, "eval.h5", 24);
  const Run t = run_tca(
      dir, std::string("train --model tca --out run --steps 3") + tiny_copy_task() + tiny_model());
  REQUIRE_MESSAGE(t.exit_code == 0, t.err);
  const Run b =
      run_tca(dir, "build-tree --data eval.h5 --checkpoint run --out trees.h5 --progress none");
  REQUIRE_MESSAGE(b.exit_code == 0, b.err);
  CHECK(contains(b.out, "trees.h5:/trees/none_b2: 24 trees"));
  CHECK(contains(b.out, "tokens per query 4.00 mean, 50.00% of N"));
  CHECK(contains(b.out, "node embeddings"));

  const auto f = tca::io::H5File::open_read(dir.file("trees.h5"));
  const std::string g = "/trees/none_b2";
  const auto ck = tca::io::H5File::open_read(dir.file("run/checkpoint.h5"));
  CHECK(f.attr_string("parameters_hash", g) == ck.attr_string("parameters_hash"));
  CHECK(f.attr_int("d_model", g) == 16);
  // N = 8, b = 2: per task the root, 2 and 4 nodes (k = 2) and 8 leaf tokens (P b^k = 8).
  const auto node_offsets = f.read<int64_t>(g + "/node_offsets");
  CHECK(node_offsets.back() == 24 * 7);
  tca::Shape nodes_shape, tokens_shape;
  f.read<float>(g + "/nodes", &nodes_shape);
  f.read<float>(g + "/tokens", &tokens_shape);
  CHECK(nodes_shape == tca::Shape{24 * 7, 16});
  CHECK(tokens_shape == tca::Shape{24 * 8, 16});
  const auto node_mask = f.read<uint8_t>(g + "/node_mask");
  CHECK(std::all_of(node_mask.begin(), node_mask.end(),
                    [](uint8_t m) { return m == 1; }));  // no padding at N = 8

  REQUIRE(run_tca(dir, "eval --run run --data eval.h5 --out rebuilt.json").exit_code == 0);
  const Run e = run_tca(dir, "eval --run run --data eval.h5 --trees trees.h5 --out stored.json");
  REQUIRE_MESSAGE(e.exit_code == 0, e.err);
  const auto rebuilt = read_json(dir.file("rebuilt.json")),
             stored = read_json(dir.file("stored.json"));
  CHECK(stored["inference"] == "stored_trees");
  CHECK(stored["trees"]["name"] == "none_b2");
  CHECK(stored["metrics"] == rebuilt["metrics"]);
  CHECK(stored["tokens_attended"] == rebuilt["tokens_attended"]);
  CHECK(stored["tokens_unmasked"] == rebuilt["tokens_unmasked"]);
  CHECK(stored["nodes_scored"] == rebuilt["nodes_scored"]);
}

TEST_CASE(
    "eval --trees refuses trees of another checkpoint, another data file or without embeddings "
    "(exit 2)") {
  TempDir dir;
  make_copy_eval(dir, "eval.h5", 16);
  make_copy_eval(dir, "other.h5", 16, 1);
  const std::string train =
      std::string("train --model tca --steps 2") + tiny_copy_task() + tiny_model();
  REQUIRE(run_tca(dir, train + " --out run").exit_code == 0);
  REQUIRE(run_tca(dir, train + " --out run2 --seed 1").exit_code == 0);
  REQUIRE(run_tca(dir, std::string("train --model ca --steps 1 --out ca") + tiny_copy_task() +
                           tiny_model())
              .exit_code == 0);
  REQUIRE(
      run_tca(dir, "build-tree --data eval.h5 --checkpoint run2 --out other_ck.h5 --progress none")
          .exit_code == 0);
  REQUIRE(run_tca(dir,
                  "build-tree --data other.h5 --checkpoint run --out other_data.h5 --progress none")
              .exit_code == 0);
  REQUIRE(run_tca(dir, "build-tree --data eval.h5 --out plain.h5 --progress none").exit_code == 0);
  check_usage_error(run_tca(dir, "eval --run run --data eval.h5 --trees other_ck.h5"),
                    "trees built from another checkpoint");
  check_usage_error(run_tca(dir, "eval --run run --data eval.h5 --trees other_data.h5"),
                    "trees built from another data file");
  check_usage_error(run_tca(dir, "eval --run run --data eval.h5 --trees plain.h5"),
                    "trees without node embeddings");
  check_usage_error(
      run_tca(dir, "eval --run run --data eval.h5 --trees plain.h5 --tree-name kd_b2"),
      "no such tree (plain.h5:/trees/kd_b2): expected one of: none_b2");
  check_usage_error(run_tca(dir, "eval --run run --data eval.h5 --trees eval.h5"),
                    "not a trees file");
  check_usage_error(run_tca(dir, "eval --run ca --data eval.h5 --trees plain.h5"),
                    "--trees needs a TCA run");
  // build-tree takes b and the ordering from the checkpoint; contradicting flags are an error.
  check_usage_error(
      run_tca(dir, "build-tree --data eval.h5 --checkpoint run --out t.h5 --branch-factor 3"),
      "--branch-factor 3 contradicts the run's branch_factor 2");
  check_usage_error(run_tca(dir, "build-tree --data eval.h5 --checkpoint ca --out t.h5"),
                    "--checkpoint needs a TCA run");
  check_usage_error(run_tca(dir, "build-tree --data eval.h5 --out eval.h5"), "not a trees file");
  REQUIRE(
      run_tca(dir,
              "make-dataset gp --split eval --count 8 --batch-size 8 --progress none --out gp.h5")
          .exit_code == 0);
  check_usage_error(run_tca(dir, "build-tree --data gp.h5 --out t.h5 --heuristic sort_x2"),
                    "--heuristic sort_x2 needs inputs with >= 2 coordinates");
  check_usage_error(run_tca(dir, "build-tree --data eval.h5 --out t.h5 --name a/b"), "--name");
}
