// The tree search (tca.md 4.3): the policy is the head-averaged attention of the normalised query
// over the b children; greedy inference picks the argmax child at every level; the retrieved set S
// is the siblings along the path (the picked child's slot masked) plus the picked leaf's tokens;
// the final attention over S, + q, query FF.
#include <doctest/doctest.h>

#include "models/model_test_util.hpp"
#include "models/retreever_model.hpp"
#include "models/tca_test_util.hpp"
#include "nn/naive_reference.hpp"

using namespace tca;
using namespace tca::testing;
namespace nv = tca::naive;

namespace {

ModelConfig tiny_tca(int64_t b) {
  ModelConfig c = tiny_gp_config("tca");
  c.branch_factor = b;
  return c;
}

// Embedding of memory row `row` of task `task` (levels 1..k, then the leaf tokens) from the
// trace's node and token embeddings (not from the memory the descent gathers from).
nv::Vec embedding_of(const RetreeverTrace& tr, int64_t task, int64_t row) {
  const TreeShape& s = tr.decoder.tree.shape;
  const int64_t D = tr.decoder.tree.leaves.dim(2);
  for (int64_t l = 1; l <= s.k + 1; ++l) {
    const int64_t count = l <= s.k ? s.nodes_at(l) : s.padded;
    if (row < s.memory_offset(l) + count) {
      const Var& src =
          l <= s.k ? tr.decoder.tree.levels[static_cast<size_t>(l)] : tr.decoder.tree.leaves;
      const int64_t i = row - s.memory_offset(l);
      nv::Vec e(static_cast<size_t>(D));
      for (int64_t d = 0; d < D; ++d)
        e[static_cast<size_t>(d)] = src.value()[(task * count + i) * D + d];
      return e;
    }
  }
  FAIL("memory row out of range");
  return {};
}

nv::Mat stack(const std::vector<nv::Vec>& rows) {
  nv::Mat m(static_cast<int64_t>(rows.size()), static_cast<int64_t>(rows[0].size()));
  for (size_t r = 0; r < rows.size(); ++r)
    for (size_t c = 0; c < rows[0].size(); ++c)
      m(static_cast<int64_t>(r), static_cast<int64_t>(c)) = rows[r][c];
  return m;
}

nv::AttentionOut naive_query_attention(const ReTreeverModel& model, const nv::Mat& qn,
                                       const nv::Mat& kv, const nv::Mat* mask) {
  const auto& a = model.decoder.query_attn.attn;
  return nv::attention(qn, kv, nv::weight_of(a.to_q.weight), nv::weight_of(a.to_k.weight),
                       nv::weight_of(a.to_v.weight), nv::weight_of(a.to_out.weight),
                       nv::to_vec(a.to_out.bias), a.heads(), mask);
}

// Checks the whole descent of every query against a naive recomputation: at each level the b
// children of the current node (by index), their policy from the naive attention, the pick
// (argmax when `greedy`, else the forced pick), and the final S rows and masks.
void check_descent(const ReTreeverModel& model, const RetreeverTrace& tr, int64_t M, bool greedy,
                   const Tensor& forced) {
  const TreeShape& s = tr.decoder.tree.shape;
  const int64_t b = s.b, k = s.k, P = s.leaf_size, L = s.set_slots(), Ntot = s.memory_size();
  const int64_t D = model.config().d_model, Q = tr.decoder.descent.actions.dim(0),
                H = model.config().heads;
  double worst_policy = 0;
  for (int64_t q = 0; q < Q; ++q) {
    const int64_t task = q / M;
    const nv::Mat qn = nv::to_mat(tr.decoder.query_normed, 1, D, q);
    int64_t parent = 0;
    for (int64_t i = 0; i < k; ++i) {
      std::vector<nv::Vec> children;
      nv::Mat mask(1, b);
      for (int64_t j = 0; j < b; ++j) {
        const int64_t row = s.memory_offset(i + 1) + parent * b + j;
        CHECK(tr.decoder.descent.set_rows.data_i32()[q * L + i * b + j] == task * Ntot + row);
        children.push_back(embedding_of(tr, task, row));
        mask(0, j) =
            tr.decoder.tree
                .level_masks[static_cast<size_t>(i + 1)][task * s.nodes_at(i + 1) + parent * b + j];
      }
      const nv::AttentionOut ref = naive_query_attention(model, qn, stack(children), &mask);
      const Tensor& pi = tr.decoder.descent.policy[static_cast<size_t>(i)].value();
      int64_t best = 0;
      for (int64_t j = 0; j < b; ++j) {
        double avg = 0;
        for (int64_t h = 0; h < H; ++h)
          avg += ref.weights[static_cast<size_t>(h)](0, j) / static_cast<double>(H);
        worst_policy = std::max(worst_policy, std::abs(avg - pi[q * b + j]));
        if (pi[q * b + j] > pi[q * b + best]) best = j;
      }
      const int64_t a = tr.decoder.descent.actions.data_i32()[q * k + i];
      if (greedy)
        CHECK(a == best);
      else
        CHECK(a == forced.data_i32()[q * k + i]);
      for (int64_t j = 0; j < b; ++j)
        CHECK(tr.decoder.descent.set_mask[q * L + i * b + j] == (j == a ? 0.0f : 1.0f));
      parent = parent * b + a;
    }
    for (int64_t t = 0; t < P; ++t) {
      const int64_t token = parent * P + t;
      CHECK(tr.decoder.descent.set_rows.data_i32()[q * L + k * b + t] ==
            task * Ntot + s.memory_offset(k + 1) + token);
      CHECK(tr.decoder.descent.set_mask[q * L + k * b + t] == (token < s.n ? 1.0f : 0.0f));
    }
  }
  CHECK(worst_policy < 1e-5);
}

}  // namespace

TEST_CASE("greedy inference picks the argmax child of the naive policy at every level") {
  for (int64_t b : {2, 3}) {
    CAPTURE(b);
    Rng init(301), data(302);
    ReTreeverModel model(tiny_tca(b), init);
    // Larger query-model weights than at init: sharper policies that differ between queries.
    nv::randomize_parameters(model.decoder.query_attn, init, -1.0, 1.0);
    const int64_t B = 2, M = 6, N = b == 2 ? 11 : 10;
    Batch batch = gp_batch(B, N, M, data);
    RetreeverTrace tr;
    greedy_forward(model, batch, tr);
    REQUIRE(tr.decoder.descent.actions.shape() == Shape{B * M, TreeShape(N, b).k});
    check_descent(model, tr, M, true, Tensor());
    // The greedy paths are not all the same (the test sees different decisions).
    bool differ = false;
    for (int64_t q = 1; q < B * M; ++q)
      for (int64_t i = 0; i < tr.decoder.tree.shape.k; ++i)
        differ |= tr.decoder.descent.actions.data_i32()[q * tr.decoder.tree.shape.k + i] !=
                  tr.decoder.descent.actions.data_i32()[i];
    CHECK(differ);
  }
}

TEST_CASE(
    "with a forced path S is exactly the siblings along it plus the tokens of its leaf (by hand)") {
  // N = 8, b = 2: k = 2, P = 2, no padding. Memory rows: level 1 nodes 0-1, level 2 nodes 2-5,
  // tokens 6-13. Path (1, 0): decision 0 scores level-1 nodes {0, 1}, picks 1 (slot masked);
  // decision 1 scores level-2 nodes {2, 3} (children of node 1, memory rows 4, 5), picks 2;
  // the leaf is level-2 node 2 = tokens 4, 5 (memory rows 10, 11).
  Rng init(303), data(304);
  ReTreeverModel model(tiny_tca(2), init);
  Batch batch = gp_batch(2, 8, 1, data);
  Tensor forced = Tensor::from_i32({1, 0, 0, 1}, {2, 1, 2});  // task 1: path (0, 1)
  Rng rng(0);
  RetreeverTrace tr;
  model.forward(batch, nn::ForwardContext::training(rng), TcaPath::given(forced), &tr);
  const std::vector<int32_t> rows0 = {0, 1, 4, 5, 10, 11};
  const std::vector<float> mask0 = {1, 0, 0, 1, 1, 1};
  // Task 1 (memory offset 14): path (0, 1): level-1 {0, 1} picks 0; level-2 children of node 0
  // are nodes {0, 1} (rows 2, 3), picks 1; leaf 1 = tokens 2, 3 (rows 8, 9).
  const std::vector<int32_t> rows1 = {14 + 0, 14 + 1, 14 + 2, 14 + 3, 14 + 8, 14 + 9};
  const std::vector<float> mask1 = {0, 1, 1, 0, 1, 1};
  REQUIRE(tr.decoder.descent.set_rows.shape() == Shape{2, 6});
  for (int64_t j = 0; j < 6; ++j) {
    CHECK(tr.decoder.descent.set_rows.data_i32()[j] == rows0[static_cast<size_t>(j)]);
    CHECK(tr.decoder.descent.set_mask[j] == mask0[static_cast<size_t>(j)]);
    CHECK(tr.decoder.descent.set_rows.data_i32()[6 + j] == rows1[static_cast<size_t>(j)]);
    CHECK(tr.decoder.descent.set_mask[6 + j] == mask1[static_cast<size_t>(j)]);
  }
  check_descent(model, tr, 1, false, forced);
}

TEST_CASE("with a forced path next to padding S keeps the unpicked all-padding siblings unmasked") {
  // N = 10, b = 3: k = 2, P = 2, padded to 18: tokens 10-17 are padding, so leaves (level-2
  // nodes) 5-8 and level-1 node 2 (leaves 6, 7, 8) are all padding. Path (1, 1): level 1 scores
  // nodes 0-2 and picks 1; level 2 scores leaves 3, 4, 5 and picks leaf 4 = tokens 8, 9. Its
  // all-padding siblings (level-1 node 2, leaf 5) stay unmasked in S (reference quirk, tca.md 4.3).
  Rng init(305), data(306);
  ReTreeverModel model(tiny_tca(3), init);
  Batch batch = gp_batch(1, 10, 1, data);
  Tensor forced = Tensor::from_i32({1, 1}, {1, 1, 2});
  Rng rng(0);
  RetreeverTrace tr;
  model.forward(batch, nn::ForwardContext::training(rng), TcaPath::given(forced), &tr);
  // Memory: level 1 rows 0-2, level 2 rows 3-11, tokens 12-29.
  const std::vector<int32_t> rows = {0, 1, 2, 3 + 3, 3 + 4, 3 + 5, 12 + 8, 12 + 9};
  const std::vector<float> mask = {1, 0, 1, 1, 0, 1, 1, 1};
  for (int64_t j = 0; j < 8; ++j) {
    CHECK(tr.decoder.descent.set_rows.data_i32()[j] == rows[static_cast<size_t>(j)]);
    CHECK(tr.decoder.descent.set_mask[j] == mask[static_cast<size_t>(j)]);
  }
  // The unmasked all-padding siblings (level-1 node 2, leaf 5) are zero vectors with a weight.
  CHECK(tr.decoder.tree.level_masks[1][2] == 0.0f);
  CHECK(tr.decoder.tree.level_masks[2][5] == 0.0f);
  CHECK(tr.decoder.set_weights.value()[2] > 0.0f);
  CHECK(tr.decoder.set_weights.value()[5] > 0.0f);
  check_descent(model, tr, 1, false, forced);
}

TEST_CASE(
    "the TCA output attends over the embeddings of S with its mask then adds q and applies the "
    "query FF") {
  Rng init(307), data(308), path_rng(309);
  ReTreeverModel model(tiny_tca(2), init);
  const int64_t B = 2, M = 3, N = 11, D = 8;
  Batch batch = gp_batch(B, N, M, data);
  const TreeShape s(N, 2);
  Tensor forced = random_real_path(B, M, s, path_rng);
  Rng rng(0);
  RetreeverTrace tr;
  model.forward(batch, nn::ForwardContext::training(rng), TcaPath::given(forced), &tr);
  check_descent(model, tr, M, false, forced);
  const int64_t L = s.set_slots(), Ntot = s.memory_size();
  double worst = 0;
  for (int64_t q = 0; q < B * M; ++q) {
    std::vector<nv::Vec> set;
    nv::Mat mask(1, L);
    for (int64_t j = 0; j < L; ++j) {
      set.push_back(embedding_of(
          tr, q / M, tr.decoder.descent.set_rows.data_i32()[q * L + j] - (q / M) * Ntot));
      mask(0, j) = tr.decoder.descent.set_mask[q * L + j];
    }
    const nv::Mat qn = nv::to_mat(tr.decoder.query_normed, 1, D, q);
    // pred_emb = MHA(qn, S, S; mask) + qn (reference README 4.4 step 3).
    const nv::Mat pred = nv::add(naive_query_attention(model, qn, stack(set), &mask).out, qn);
    worst = std::max(worst, nv::relative_error(pred, tr.decoder.pred_emb.value(), q * D));
  }
  CHECK(worst < 1e-5);
  // encoding = query_ff(pred_emb + q) (step 4).
  {
    NoGradGuard no_grad;
    Var ref = model.decoder.query_ff(ops::add(tr.decoder.pred_emb, tr.query_embeddings),
                                     nn::ForwardContext::inference());
    double diff = 0;
    for (int64_t i = 0; i < ref.numel(); ++i)
      diff = std::max(
          diff, std::abs(static_cast<double>(ref.value()[i]) - tr.decoder.encoding.value()[i]));
    CHECK(diff < 1e-5);
  }
}

TEST_CASE("greedy inference reports the nominal and the unmasked |S| per query") {
  Rng init(310), data(311);
  ReTreeverModel model(tiny_tca(2), init);
  Batch batch = gp_batch(2, 11, 5, data);
  const TcaIndex index = model.index(batch);
  RetreeverAnswerTrace tr;
  Predictions p = model.answer(index, batch, TcaReadout::greedy, &tr);
  const TreeShape s(11, 2);
  const int64_t L = s.set_slots();
  for (int64_t q = 0; q < 10; ++q) {
    float unmasked = 0;
    for (int64_t j = 0; j < L; ++j) unmasked += tr.retrieval.set_mask[q * L + j];
    CHECK(p.tokens_unmasked[q] == unmasked);
    CHECK(p.tokens_attended[q] == static_cast<float>(s.k * (s.b - 1) + s.leaf_size));
  }
  // Full mode answers from all leaves: 100% of the tokens.
  Predictions full = model.answer(index, batch, TcaReadout::full);
  for (int64_t q = 0; q < 10; ++q) CHECK(full.tokens_attended[q] == 11.0f);
}

TEST_CASE(
    "post-norm TCA scores and attends with the raw query: u = LN_a(q + Attn(q S)) and out = LN_f(u "
    "+ FF(u))") {
  ModelConfig cfg = tiny_tca(2);
  cfg.norm_first = false;
  Rng init(312), data(313), path_rng(314);
  ReTreeverModel model(cfg, init);
  nv::randomize_parameters(model.decoder, init, -0.7, 0.7);
  const int64_t B = 2, M = 3, N = 11, D = 8;
  Batch batch = gp_batch(B, N, M, data);
  const TreeShape s(N, 2);
  Tensor forced = random_real_path(B, M, s, path_rng);
  Rng rng(0);
  RetreeverTrace tr;
  model.forward(batch, nn::ForwardContext::training(rng), TcaPath::given(forced), &tr);
  // The query enters the policy and the attention un-normalised.
  double qdiff = 0;
  for (int64_t i = 0; i < tr.query_embeddings.numel(); ++i)
    qdiff = std::max(qdiff, std::abs(static_cast<double>(tr.decoder.query_normed.value()[i]) -
                                     tr.query_embeddings.value()[i]));
  CHECK(qdiff == 0.0);
  check_descent(model, tr, M, false, forced);
  const auto& qa = model.decoder.query_attn;
  const auto& ff = model.decoder.query_ff;
  const int64_t L = s.set_slots(), Ntot = s.memory_size();
  double worst_u = 0, worst_out = 0;
  for (int64_t q = 0; q < B * M; ++q) {
    std::vector<nv::Vec> set;
    nv::Mat mask(1, L);
    for (int64_t j = 0; j < L; ++j) {
      set.push_back(embedding_of(
          tr, q / M, tr.decoder.descent.set_rows.data_i32()[q * L + j] - (q / M) * Ntot));
      mask(0, j) = tr.decoder.descent.set_mask[q * L + j];
    }
    const nv::Mat qv = nv::to_mat(tr.query_embeddings, 1, D, q);
    const nv::Mat u =
        nv::layer_norm(nv::add(qv, naive_query_attention(model, qv, stack(set), &mask).out),
                       nv::to_vec(qa.norm.weight), nv::to_vec(qa.norm.bias));
    const nv::Mat f =
        nv::feed_forward(u, nv::weight_of(ff.linear1.weight), nv::to_vec(ff.linear1.bias),
                         nv::weight_of(ff.linear2.weight), nv::to_vec(ff.linear2.bias));
    const nv::Mat out =
        nv::layer_norm(nv::add(u, f), nv::to_vec(ff.norm.weight), nv::to_vec(ff.norm.bias));
    worst_u = std::max(worst_u, nv::relative_error(u, tr.decoder.pred_emb.value(), q * D));
    worst_out = std::max(worst_out, nv::relative_error(out, tr.decoder.encoding.value(), q * D));
  }
  CHECK(worst_u < 1e-5);
  CHECK(worst_out < 1e-5);
}

TEST_CASE(
    "the inference index path agrees with the autograd descent for branching factors above 64") {
  // tca.md 4.1: any b >= 2. b = 100, N = 300: k = 1, P = 3; b = 70, N = 4901: k = 2, P = 2.
  for (auto [b, N] : {std::pair<int64_t, int64_t>{100, 300}, {70, 4901}}) {
    CAPTURE(b);
    CAPTURE(N);
    Rng init(315), data(316);
    ReTreeverModel model(tiny_tca(b), init);
    nv::randomize_parameters(model.decoder.query_attn, init, -1.0, 1.0);
    // Sorted x with a smooth y (a GP draw would need an N x N Cholesky factor).
    Batch batch;
    batch.xc = Tensor::empty({2, N, 1});
    batch.yc = Tensor::empty({2, N, 1});
    batch.xt = Tensor::empty({2, 5, 1});
    batch.yt = Tensor::empty({2, 5, 1});
    for (int64_t i = 0; i < 2 * N; ++i) {
      batch.xc[i] = -2.0f + 4.0f * static_cast<float>(i % N) / static_cast<float>(N);
      batch.yc[i] = std::sin(3.0f * batch.xc[i]) + static_cast<float>(0.1 * data.normal());
    }
    for (int64_t i = 0; i < 10; ++i) {
      batch.xt[i] = static_cast<float>(data.uniform(-2, 2));
      batch.yt[i] = std::sin(3.0f * batch.xt[i]);
    }
    RetreeverTrace tr;
    Predictions slow = greedy_forward(model, batch, tr);
    Predictions fast = model.predict(batch);
    check_descent(model, tr, 5, true, Tensor());
    for (int64_t i = 0; i < slow.mean.numel(); ++i) {
      CHECK(fast.mean[i] == doctest::Approx(slow.mean[i]).epsilon(1e-5).scale(1.0));
      CHECK(fast.std[i] == doctest::Approx(slow.std[i]).epsilon(1e-5));
      CHECK(fast.tokens_unmasked[i] == slow.tokens_unmasked[i]);
    }
  }
}
