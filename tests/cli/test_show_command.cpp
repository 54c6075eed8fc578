// `tca show` (issue 22): valid PNG / SVG pictures, and the retrieved sets it draws (--json) are the
// ones the model's descent returns, checked on data: each query's leaf tokens and sibling regions
// rebuilt from the descent's memory rows (trace.retrieval.set_rows) of the same run and task, and
// each query's policy per level, the greedy path its argmax.
#include <filesystem>
#include <set>

#include "cli_test_util.hpp"
#include "data/task_file_reader.hpp"
#include "models/retreever_model.hpp"
#include "run_model.hpp"

using namespace tca::cli_test;
namespace test = tca::test;
using json = nlohmann::json;

namespace {

// The context tokens behind a memory row of a tree (levels 1..k, then the padded leaf tokens).
std::set<int64_t> tokens_of_row(const tca::TreeShape& s, int64_t row) {
  std::set<int64_t> tokens;
  const int64_t leaf_base = s.memory_offset(s.k + 1);
  int64_t first = 0, count = 0;
  if (row >= leaf_base) {
    first = row - leaf_base;
    count = 1;
  } else {
    int64_t l = 1;
    while (row >= s.memory_offset(l + 1)) ++l;
    const int64_t node = row - s.memory_offset(l), leaves = s.nodes_at(s.k - l);
    first = node * leaves * s.leaf_size;
    count = leaves * s.leaf_size;
  }
  for (int64_t p = first; p < first + count && p < s.n; ++p) tokens.insert(p);
  return tokens;
}

}  // namespace

TEST_CASE(
    "tca show draws the copy task's retrieved sets, the tree and the GP curves, the sets are the "
    "model's") {
  test::TempDir dir;
  make_copy_eval(dir, "copy.h5", 8);
  for (const char* m : {"tca", "ca"}) {
    const Run r = run_tca(dir, std::string("train --model ") + m + " --out " + m +
                                   " --steps 20 --eval-every 0" + tiny_copy_task() + tiny_model());
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  }
  const Run show = run_tca(dir,
                           "show --run tca --data copy.h5 --task-index 3 --out copy.png --tree-out "
                           "tree.svg --json sets.json");
  REQUIRE_MESSAGE(show.exit_code == 0, show.err);
  CHECK(slurp(dir.file("copy.png")).substr(1, 3) == "PNG");
  CHECK(contains(slurp(dir.file("tree.svg")), "<svg"));

  const json sets = read_json(dir.file("sets.json"));
  // The same task through the library: its descent's rows, turned into context tokens.
  const tca::data::TaskFileReader reader(dir.file("copy.h5"));
  tca::Batch b = reader.read_batch(0);  // batches of 8: task 3 is row 3 of batch 0
  auto row = [](const tca::Tensor& x, int64_t t) {
    tca::Shape s = x.shape();
    const int64_t per = x.numel() / s[0];
    s[0] = 1;
    tca::Tensor out = tca::Tensor::empty(s, x.dtype());
    std::copy_n(reinterpret_cast<const char*>(x.raw()) + t * per * 4, per * 4,
                reinterpret_cast<char*>(out.raw()));
    return out;
  };
  tca::Batch one{row(b.xc, 3), tca::Tensor(), row(b.xt, 3), tca::Tensor(), row(b.labels, 3)};
  tca::cli::LoadedRun run = tca::cli::load_run(dir.file("tca"));
  auto& model = dynamic_cast<tca::ReTreeverModel&>(*run.model);
  tca::RetreeverAnswerTrace trace;
  model.answer(model.index(one), one, tca::TcaReadout::greedy, &trace);
  const tca::TreeShape s(one.num_context(), 2);
  REQUIRE(sets["queries"].size() == static_cast<size_t>(one.num_targets()));
  for (int64_t q = 0; q < one.num_targets(); ++q) {
    std::set<int64_t> leaf, siblings;
    for (int64_t slot = 0; slot < s.set_slots(); ++slot) {
      const int64_t r = trace.retrieval.set_rows.data_i32()[q * s.set_slots() + slot];
      const bool unmasked = trace.retrieval.set_mask.data()[q * s.set_slots() + slot] != 0;
      const auto tokens = tokens_of_row(s, r);
      if (slot >= s.k * s.b) {
        leaf.insert(tokens.begin(), tokens.end());
      } else if (unmasked) {
        siblings.insert(tokens.begin(), tokens.end());
      }
    }
    const json& drawn = sets["queries"][static_cast<size_t>(q)];
    CHECK(drawn["leaf_tokens"].get<std::set<int64_t>>() == leaf);
    std::set<int64_t> drawn_siblings;
    for (const auto& sib : drawn["siblings"]) {
      const auto t = sib["tokens"].get<std::vector<int64_t>>();
      drawn_siblings.insert(t.begin(), t.end());
    }
    CHECK(drawn_siblings == siblings);
    // The policy at each level: the trace's row of [Q, k, b], and the greedy path its argmax.
    REQUIRE(drawn["policy"].size() == static_cast<size_t>(s.k));
    const auto path = drawn["path"].get<std::vector<int64_t>>();
    for (int64_t l = 0; l < s.k; ++l) {
      const auto p = drawn["policy"][static_cast<size_t>(l)].get<std::vector<double>>();
      REQUIRE(p.size() == static_cast<size_t>(s.b));
      double sum = 0;
      for (int64_t c = 0; c < s.b; ++c) {
        CHECK(p[c] == doctest::Approx(trace.retrieval.policy[(q * s.k + l) * s.b + c]));
        CHECK(p[c] <= p[path[l]]);
        sum += p[c];
      }
      CHECK(sum == doctest::Approx(1.0));
    }
  }

  // GP: the curves of TCA and a compared CA run, the retrieved points of a query x.
  REQUIRE(
      run_tca(dir, "make-dataset gp --split eval --count 8 --seed 0 --progress none --out gp.h5")
          .exit_code == 0);
  for (const char* m : {"tca", "ca"}) {
    const Run r =
        run_tca(dir, std::string("train --model ") + m + " --task gp --out gp-" + m +
                         " --steps 5 --eval-every 0 --layers 1 --progress none" + tiny_model());
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  }
  const Run gp =
      run_tca(dir, "show --run gp-tca --compare gp-ca --data gp.h5 --queries 0.25 --out gp.svg");
  REQUIRE_MESSAGE(gp.exit_code == 0, gp.err);
  CHECK(contains(slurp(dir.file("gp.svg")), "<svg"));
  // Errors: a CA run as --run, a task index past the file, an unknown picture type.
  check_usage_error(run_tca(dir, "show --run ca --data copy.h5 --out x.png"), "needs a TCA run");
  check_usage_error(run_tca(dir, "show --run tca --data copy.h5 --task-index 99 --out x.png"),
                    "--task-index 99");
  check_usage_error(run_tca(dir, "show --run tca --data copy.h5 --out x.jpg"), "x.jpg");
}
