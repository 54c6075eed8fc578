// Tree shape (tca.md 4.1): k = the largest integer with b^k <= N - 1 (integer arithmetic),
// P = ceil(N / b^k) in [2, b], fewer than b^k padding tokens, nominal |S| = k(b - 1) + P; padding
// never receives attention; k = 0 answers with the L_CA branch; every b >= 2 and N >= 1 works.
#include <doctest/doctest.h>

#include <cmath>

#include "core/tree_shape.hpp"
#include "models/model_test_util.hpp"
#include "models/retreever_model.hpp"
#include "models/tca_test_util.hpp"

using namespace tca;
using namespace tca::testing;

namespace {

// b^e, or -1 past 2^62 (exact: no floating point).
int64_t power_or_overflow(int64_t b, int64_t e) {
  int64_t r = 1;
  for (int64_t i = 0; i < e; ++i) {
    if (r > (int64_t{1} << 62) / b) return -1;
    r *= b;
  }
  return r;
}

// The depth by definition: count the exponents whose power is <= N - 1.
int64_t depth_by_definition(int64_t N, int64_t b) {
  int64_t k = 0;
  while (true) {
    const int64_t p = power_or_overflow(b, k + 1);
    if (p < 0 || p > N - 1) return k;
    ++k;
  }
}

void check_shape(int64_t N, int64_t b) {
  CAPTURE(N);
  CAPTURE(b);
  const TreeShape s(N, b);
  const int64_t k = depth_by_definition(N, b);
  REQUIRE(s.k == k);
  const int64_t bk = power_or_overflow(b, k);
  CHECK(s.leaf_size == (N + bk - 1) / bk);
  CHECK(s.padded == s.leaf_size * bk);
  CHECK(s.padded >= N);
  CHECK(s.padded - N < bk + (k == 0 ? 1 : 0));  // fewer than b^k padding tokens
  CHECK(s.num_leaves() == bk);
  CHECK(s.set_slots() == k * b + s.leaf_size);
  CHECK(s.nodes_scored() == b * k);
  if (k >= 1) {
    CHECK(s.leaf_size >= 2);
    CHECK(s.leaf_size <= b);
    CHECK(s.tokens_attended() == k * (b - 1) + s.leaf_size);
  } else {
    CHECK(s.leaf_size == N);  // the root over all N tokens
    CHECK(s.tokens_attended() == N);
  }
}

struct TinyTca {
  ModelConfig cfg;
  Rng init;
  ReTreeverModel model;
  explicit TinyTca(int64_t b, uint64_t seed = 201)
      : cfg([&] {
          ModelConfig c = tiny_gp_config("tca");
          c.branch_factor = b;
          return c;
        }()),
        init(seed),
        model(cfg, init) {}
};

}  // namespace

TEST_CASE(
    "tree depth and leaf size and padding and nominal |S| follow the definitions for many N and "
    "b") {
  for (int64_t b = 2; b <= 7; ++b)
    for (int64_t N = 1; N <= 400; ++N) check_shape(N, b);
  // Around exact powers, where the reference's float logarithms go wrong (reference README 9.8).
  for (int64_t b : {2, 3, 4, 10, 15})
    for (int64_t e = 1; e <= 14; ++e) {
      const int64_t p = power_or_overflow(b, e);
      if (p < 0 || p > (int64_t{1} << 40)) break;
      for (int64_t N : {p - 1, p, p + 1, p + 2}) check_shape(N, b);
    }
}

TEST_CASE(
    "tree depth is exact at powers where float logarithms fail: N - 1 = 8192 with b = 2 gives k = "
    "13") {
  CHECK(TreeShape(8193, 2).k == 13);
  CHECK(TreeShape(8192, 2).k == 12);
  CHECK(TreeShape(32769, 2).k == 15);
  CHECK(TreeShape(244, 3).k == 5);     // 3^5 = 243
  CHECK(TreeShape(59050, 3).k == 10);  // 3^10 = 59049
  CHECK(TreeShape(1001, 10).k == 3);
  CHECK(TreeShape(3376, 15).k == 3);  // 15^3 = 3375
  CHECK(TreeShape(1, 2).k == 0);
  CHECK(TreeShape(2, 2).k == 0);
  CHECK(TreeShape(3, 2).k == 1);
  CHECK(TreeShape(3, 2).leaf_size == 2);
  CHECK(TreeShape(3, 2).padded == 4);
  CHECK_THROWS(TreeShape(5, 1));
  CHECK_THROWS(TreeShape(0, 2));
}

TEST_CASE(
    "padding tokens never receive attention in S or in the L_CA branch or in the aggregator") {
  for (int64_t b : {2, 3}) {
    CAPTURE(b);
    TinyTca t(b);
    Rng data(202), path_rng(203);
    const int64_t B = 2, M = 3, N = b == 2 ? 11 : 10;  // padded to 16 (b = 2) and 18 (b = 3)
    Batch batch = gp_batch(B, N, M, data);
    const TreeShape s(N, b);
    REQUIRE(s.padded > N);
    // Sampled paths (dropped into padding too when the policy allows) and forced paths.
    for (int trial = 0; trial < 2; ++trial) {
      Rng rng(204 + trial);
      RetreeverTrace tr;
      t.model.forward(batch, nn::ForwardContext::training(rng),
                      TcaPath::given(trial ? random_real_path(B, M, s, path_rng) : Tensor()), &tr);
      const int64_t Q = B * M, H = t.cfg.heads, L = s.set_slots(), Np = s.padded;
      const int64_t Ntot = s.memory_size(), leaf_off = s.memory_offset(s.k + 1);
      const Tensor& w = tr.decoder.set_weights.value();  // [Q, H, 1, L]
      for (int64_t q = 0; q < Q; ++q)
        for (int64_t j = s.k * b; j < L; ++j) {
          const int64_t token =
              tr.decoder.descent.set_rows.data_i32()[q * L + j] - (q / M) * Ntot - leaf_off;
          REQUIRE(token >= 0);
          REQUIRE(token < Np);
          CHECK(tr.decoder.descent.set_mask[q * L + j] == (token < N ? 1.0f : 0.0f));
          if (token >= N)
            for (int64_t h = 0; h < H; ++h) CHECK(w[(q * H + h) * L + j] == 0.0f);
        }
      const Tensor& lw = tr.decoder.leaf_weights.value();  // [B, H, M, Np]
      for (int64_t i = 0; i < B * H * M; ++i)
        for (int64_t j = N; j < Np; ++j) CHECK(lw[i * Np + j] == 0.0f);
      // The policy gives padding children probability 0, so sampling never picks one.
      for (int64_t i = 0; i < s.k; ++i) {
        const Tensor& pi = tr.decoder.descent.policy[static_cast<size_t>(i)].value();
        for (int64_t q = 0; q < Q; ++q)
          for (int64_t j = 0; j < b; ++j) {
            const int64_t row =
                tr.decoder.descent.set_rows.data_i32()[q * L + i * b + j] - (q / M) * Ntot;
            const bool padding = tr.decoder.tree.memory_mask[(q / M) * Ntot + row] == 0.0f;
            if (padding) CHECK(pi[q * b + j] == 0.0f);
            if (padding && trial == 0)
              CHECK(tr.decoder.descent.actions.data_i32()[q * s.k + i] != j);
          }
      }
      // Nodes over padding only are the zero vector with mask 0; the others have mask 1.
      for (int64_t l = 1; l <= s.k; ++l) {
        const int64_t nodes = s.nodes_at(l), span = Np / nodes;
        for (int64_t bi = 0; bi < B; ++bi)
          for (int64_t n = 0; n < nodes; ++n) {
            const bool real = n * span < N;
            CHECK(tr.decoder.tree.level_masks[static_cast<size_t>(l)][bi * nodes + n] ==
                  (real ? 1.0f : 0.0f));
            if (!real)
              for (int64_t d = 0; d < t.cfg.d_model; ++d)
                CHECK(tr.decoder.tree.levels[static_cast<size_t>(l)]
                          .value()[(bi * nodes + n) * t.cfg.d_model + d] == 0.0f);
          }
      }
    }
  }
}

TEST_CASE("a node with padding children equals the aggregation of its real children alone") {
  // N = 11, b = 2: k = 3, P = 2, padded to 16. Leaf node 5 holds token 10 and one padding token;
  // level-2 node 3 covers only padding; level-1 node 1 has children level-2 nodes 2 (real) and 3.
  TinyTca t(2);
  Rng data(205), rng(0);
  Batch batch = gp_batch(1, 11, 2, data);
  RetreeverTrace tr;
  t.model.forward(batch, nn::ForwardContext::training(rng), TcaPath::sampled(), &tr);
  const int64_t D = t.cfg.d_model;
  auto node = [&](int64_t level, int64_t n) {
    return ops::slice(tr.decoder.tree.levels[static_cast<size_t>(level)], 1, n,
                      n + 1);  // [1, 1, D]
  };
  auto alone = [&](const Var& x) {  // the aggregator over one child: its layers, mean of one
    NoGradGuard no_grad;
    return t.model.decoder.aggregator(x, Tensor(), nn::ForwardContext::inference());
  };
  auto max_diff = [&](const Var& a, const Var& b) {
    double m = 0;
    for (int64_t d = 0; d < D; ++d)
      m = std::max(m, std::abs(static_cast<double>(a.value()[d]) - b.value()[d]));
    return m;
  };
  Var token10 = ops::slice(tr.encoder_output, 1, 10, 11);
  CHECK(max_diff(node(3, 5), alone(token10)) < 1e-5);
  CHECK(max_diff(node(1, 1), alone(node(2, 2))) < 1e-5);
  // And a node with two real children is not the aggregation of either alone (the check above
  // can tell the difference).
  CHECK(max_diff(node(1, 0), alone(node(2, 0))) > 1e-3);
}

TEST_CASE(
    "with k = 0 (N <= b) TCA predicts with the CA branch: query model over all tokens then + q and "
    "query FF") {
  for (int64_t b : {2, 3, 4})
    for (int64_t N = 1; N <= b; ++N) {
      CAPTURE(b);
      CAPTURE(N);
      TinyTca t(b, 206 + static_cast<uint64_t>(b * 10 + N));
      Rng data(207);
      Batch batch = gp_batch(2, N, 3, data);
      REQUIRE(TreeShape(N, b).k == 0);
      Predictions p = t.model.predict(batch);
      // An independent composition of the same modules: the query model as a plain attention
      // block over all N encoded tokens, the explicit + q, query_ff, predictor.
      Var E, q;
      {
        NoGradGuard no_grad;
        const auto inference = nn::ForwardContext::inference();
        Var ctx =
            t.model.context_embedder(ops::concat({Var(batch.xc), Var(batch.yc)}, -1), inference);
        E = t.model.encoder(ctx, Tensor(), inference);
        q = t.model.query_embedder(Var(batch.xt), inference);
        Var u = ops::add(t.model.decoder.query_attn(q, E, Tensor(), inference), q);
        TaskOutput ref = t.model.predictor.task(t.model.decoder.query_ff(u, inference), batch);
        for (int64_t i = 0; i < p.mean.numel(); ++i) {
          CHECK(p.mean[i] == doctest::Approx(ref.mean[i]).epsilon(1e-5).scale(1.0));
          CHECK(p.std[i] == doctest::Approx(ref.std[i]).epsilon(1e-5));
        }
        CHECK(p.loss == doctest::Approx(ref.loss.item()).epsilon(1e-5));
      }
      for (int64_t i = 0; i < p.tokens_attended.numel(); ++i) {
        CHECK(p.tokens_attended[i] == static_cast<float>(N));
        CHECK(p.tokens_unmasked[i] == static_cast<float>(N));
      }
      CHECK(p.nodes_scored == 0.0);
      // Training: L_TCA = L_CA = that branch's loss, no RL terms.
      Rng rng(208);
      LossOutput out = t.model.loss(batch, rng);
      CHECK(out.terms.at("tca_loss") == doctest::Approx(p.loss).epsilon(1e-5));
      CHECK(out.terms.at("ca_loss") == doctest::Approx(p.loss).epsilon(1e-5));
      CHECK(out.terms.at("rl_loss") == 0.0);
      CHECK(out.terms.at("entropy") == 0.0);
      CHECK(out.total.item() ==
            doctest::Approx((1.0 + t.cfg.ca_loss_weight) * p.loss).epsilon(1e-5));
    }
}

TEST_CASE(
    "trees for b in 2 3 4 and N in 1 2 b^k b^k+1 build and train and predict with the nominal "
    "|S|") {
  for (int64_t b : {2, 3, 4}) {
    TinyTca t(b, 209);
    std::vector<int64_t> sizes = {1, 2};
    for (int64_t p = b; p <= 64; p *= b) {
      sizes.push_back(p);
      sizes.push_back(p + 1);
    }
    for (int64_t N : sizes) {
      CAPTURE(b);
      CAPTURE(N);
      const TreeShape s(N, b);
      Rng data(210), rng(211);
      Batch batch = gp_batch(2, N, 3, data);
      LossOutput out = t.model.loss(batch, rng);
      CHECK(std::isfinite(out.total.item()));
      for (auto& [name, v] : out.terms) {
        CAPTURE(name);
        CHECK(std::isfinite(v));
      }
      t.model.zero_grad();
      out.total.backward();
      Predictions p = t.model.predict(batch);
      REQUIRE(p.mean.shape() == Shape{2, 3, 1});
      for (int64_t i = 0; i < p.mean.numel(); ++i) {
        CHECK(std::isfinite(p.mean[i]));
        CHECK(p.std[i] > 0.0f);
      }
      for (int64_t i = 0; i < p.tokens_attended.numel(); ++i) {
        CHECK(p.tokens_attended[i] == static_cast<float>(s.tokens_attended()));
        CHECK(p.tokens_unmasked[i] <= p.tokens_attended[i]);
        CHECK(p.tokens_unmasked[i] >= 1.0f);
      }
      CHECK(p.nodes_scored == static_cast<double>(b * s.k));
    }
  }
}
