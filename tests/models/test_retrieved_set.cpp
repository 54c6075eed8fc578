// describe_retrieved_set (lib/models/retrieved_set.hpp): the leaf and the unpicked siblings
// partition the context tokens, and their memory rows are the node slots of the retrieved set the
// model's descent returns.
#include <doctest/doctest.h>

#include <algorithm>
#include <set>

#include "model_test_util.hpp"
#include "models/retreever_model.hpp"
#include "models/retrieved_set.hpp"

using namespace tca;
using namespace tca::testing;

TEST_CASE("the picked leaf and the unpicked siblings cover every context token exactly once") {
  for (int64_t b : {2, 3, 4}) {
    for (int64_t n : {3, 5, 8, 9, 17, 30, 64}) {
      CAPTURE(b);
      CAPTURE(n);
      const TreeShape s(n, b);
      std::vector<int64_t> order(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i)
        order[static_cast<size_t>(i)] = (i * 7 + 3) % n == i ? i : (n - 1 - i);  // any permutation
      for (int64_t trial = 0; trial < 5; ++trial) {
        std::vector<int64_t> path;
        for (int64_t l = 0; l < s.k; ++l) path.push_back((trial + l * 2) % b);
        const RetrievedSet r = describe_retrieved_set(s, path, order);
        CHECK(static_cast<int64_t>(r.siblings.size()) == s.k * (s.b - 1));
        CHECK(static_cast<int64_t>(r.leaf_tokens.size()) <= s.leaf_size);
        std::multiset<int64_t> seen(r.leaf_tokens.begin(), r.leaf_tokens.end());
        for (const auto& sib : r.siblings) seen.insert(sib.tokens.begin(), sib.tokens.end());
        CHECK(static_cast<int64_t>(seen.size()) == n);
        CHECK(std::set<int64_t>(seen.begin(), seen.end()).size() == static_cast<size_t>(n));
      }
    }
  }
  CHECK_THROWS_AS(describe_retrieved_set(TreeShape(9, 2), {0, 1}), std::invalid_argument);
  CHECK_THROWS_AS(describe_retrieved_set(TreeShape(9, 2), {0, 2, 0}), std::invalid_argument);
}

TEST_CASE(
    "the siblings' memory rows are the unmasked node slots of the retrieved set on the inference "
    "path") {
  for (int64_t b : {2, 3}) {
    ModelConfig c = tiny_gp_config("tca");
    c.branch_factor = b;
    Rng init(5), data(6);
    ReTreeverModel model(c, init);
    const int64_t B = 2, N = 13, M = 4;
    const Batch batch = gp_batch(B, N, M, data);
    RetreeverAnswerTrace trace;
    model.answer(model.index(batch), batch, TcaReadout::greedy, &trace);
    const TreeShape s(N, b);
    const Tensor& actions = trace.retrieval.actions;
    const Tensor& rows = trace.retrieval.set_rows;
    const Tensor& mask = trace.retrieval.set_mask;
    for (int64_t q = 0; q < B * M; ++q) {
      std::vector<int64_t> path;
      for (int64_t l = 0; l < s.k; ++l) path.push_back(actions.data_i32()[q * s.k + l]);
      const RetrievedSet r = describe_retrieved_set(s, path);
      // Node slots in reference order: level by level, b children each, the picked one masked.
      std::vector<int64_t> unmasked_node_rows;
      for (int64_t slot = 0; slot < s.k * s.b; ++slot) {
        if (mask.data()[q * s.set_slots() + slot] != 0)
          unmasked_node_rows.push_back(rows.data_i32()[q * s.set_slots() + slot]);
      }
      // The descent's rows index the batch's memory, one memory_size block per context set.
      const int64_t base = (q / M) * s.memory_size();
      std::vector<int64_t> ours;
      for (const auto& sib : r.siblings) ours.push_back(base + sib.memory_row);
      CHECK(ours == unmasked_node_rows);
      // Token slots: the picked leaf's P rows.
      CHECK(rows.data_i32()[q * s.set_slots() + s.k * s.b] ==
            base + s.memory_offset(s.k + 1) + r.leaf * s.leaf_size);
    }
  }
}
