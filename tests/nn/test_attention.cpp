// Multi-head attention against a naive double computation (tca.md 1; reference README 4):
// projections without bias, per-head scaled dot products, masks (a fully masked row is uniform),
// head-major concatenation, output projection with bias; returned per-head weights.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "autograd/ops.hpp"
#include "nn/attention.hpp"
#include "nn/naive_reference.hpp"

using namespace tca;
namespace nv = tca::naive;

namespace {

struct AttentionCase {
  int64_t B = 2, M = 3, N = 5, D = 8, H = 2;
};

nv::AttentionOut naive_of(const nn::MultiHeadAttention& a, const Tensor& q, const Tensor& kv,
                          int64_t b, const AttentionCase& c, const nv::Mat* mask) {
  return nv::attention(nv::to_mat(q, c.M, c.D, b * c.M), nv::to_mat(kv, c.N, c.D, b * c.N),
                       nv::weight_of(a.to_q.weight), nv::weight_of(a.to_k.weight),
                       nv::weight_of(a.to_v.weight), nv::weight_of(a.to_out.weight),
                       nv::to_vec(a.to_out.bias), c.H, mask);
}

// Per-head weights [B, H, M, N] of batch element b, head h, against the naive [M, N].
double weights_error(const Var& w, const nv::Mat& ref, int64_t b, int64_t h,
                     const AttentionCase& c) {
  return nv::relative_error(ref, w.value(), ((b * c.H + h) * c.M) * c.N);
}

}  // namespace

TEST_CASE(
    "multi-head attention without a mask equals the naive computation including the weights per "
    "head") {
  AttentionCase c;
  Rng rng(21);
  nn::MultiHeadAttention attn(c.D, c.H, 0.0f, rng);
  nv::randomize_parameters(attn, rng);
  Tensor q = nv::random_tensor({c.B, c.M, c.D}, rng, -2, 2);
  Tensor kv = nv::random_tensor({c.B, c.N, c.D}, rng, -2, 2);
  nn::AttentionResult r = attn(Var(q), Var(kv), Tensor(), nn::ForwardContext::inference(), true);
  REQUIRE(r.out.shape() == Shape{c.B, c.M, c.D});
  REQUIRE(r.weights_per_head.shape() == Shape{c.B, c.H, c.M, c.N});
  for (int64_t b = 0; b < c.B; ++b) {
    nv::AttentionOut ref = naive_of(attn, q, kv, b, c, nullptr);
    CHECK(nv::relative_error(ref.out, r.out.value(), b * c.M * c.D) < 1e-5);
    for (int64_t h = 0; h < c.H; ++h)
      CHECK(weights_error(r.weights_per_head, ref.weights[h], b, h, c) < 1e-5);
  }
  CHECK(attn.head_dim() == 4);
}

TEST_CASE("multi-head attention masks keys per query and a fully masked row attends uniformly") {
  AttentionCase c;
  Rng rng(22);
  nn::MultiHeadAttention attn(c.D, c.H, 0.0f, rng);
  nv::randomize_parameters(attn, rng);
  Tensor q = nv::random_tensor({c.B, c.M, c.D}, rng, -2, 2);
  Tensor kv = nv::random_tensor({c.B, c.N, c.D}, rng, -2, 2);
  // mask [B, 1, M, N]: batch 0 row 1 fully masked; other rows keep a random non-empty subset.
  Tensor mask = Tensor::empty({c.B, 1, c.M, c.N});
  for (int64_t i = 0; i < mask.numel(); ++i) mask[i] = rng.uniform() < 0.6 ? 1.0f : 0.0f;
  for (int64_t b = 0; b < c.B; ++b)
    for (int64_t m = 0; m < c.M; ++m) mask[(b * c.M + m) * c.N + m] = 1.0f;
  for (int64_t j = 0; j < c.N; ++j) mask[1 * c.N + j] = 0.0f;
  nn::AttentionResult r = attn(Var(q), Var(kv), mask, nn::ForwardContext::inference(), true);
  for (int64_t b = 0; b < c.B; ++b) {
    nv::Mat m = nv::to_mat(mask, c.M, c.N, b * c.M);
    nv::AttentionOut ref = naive_of(attn, q, kv, b, c, &m);
    CHECK(nv::relative_error(ref.out, r.out.value(), b * c.M * c.D) < 1e-5);
    for (int64_t h = 0; h < c.H; ++h) {
      CHECK(weights_error(r.weights_per_head, ref.weights[h], b, h, c) < 1e-5);
      for (int64_t i = 0; i < c.M; ++i)
        for (int64_t j = 0; j < c.N; ++j) {
          const float w = r.weights_per_head.value()[((b * c.H + h) * c.M + i) * c.N + j];
          if (b == 0 && i == 1)
            CHECK(w == doctest::Approx(1.0 / c.N).epsilon(1e-6));  // fully masked: uniform
          else if (mask[(b * c.M + i) * c.N + j] == 0.0f)
            CHECK(w == 0.0f);  // masked keys get exactly nothing
        }
    }
  }
}

TEST_CASE(
    "multi-head attention broadcasts a key mask of shape B x 1 x 1 x N over heads and queries") {
  AttentionCase c;
  Rng rng(23);
  nn::MultiHeadAttention attn(c.D, c.H, 0.0f, rng);
  nv::randomize_parameters(attn, rng);
  Tensor q = nv::random_tensor({c.B, c.M, c.D}, rng, -2, 2);
  Tensor kv = nv::random_tensor({c.B, c.N, c.D}, rng, -2, 2);
  Tensor key_mask = Tensor::from({1, 1, 0, 1, 0, 0, 1, 1, 1, 1}, {c.B, 1, 1, c.N});
  nn::AttentionResult r = attn(Var(q), Var(kv), key_mask, nn::ForwardContext::inference(), true);
  for (int64_t b = 0; b < c.B; ++b) {
    nv::Mat m(c.M, c.N);
    for (int64_t i = 0; i < c.M; ++i)
      for (int64_t j = 0; j < c.N; ++j) m(i, j) = key_mask[b * c.N + j];
    nv::AttentionOut ref = naive_of(attn, q, kv, b, c, &m);
    CHECK(nv::relative_error(ref.out, r.out.value(), b * c.M * c.D) < 1e-5);
  }
}

TEST_CASE("attention dropout is inactive at inference and active in training") {
  AttentionCase c;
  Rng rng(24);
  nn::MultiHeadAttention attn(c.D, c.H, 0.5f, rng);
  nv::randomize_parameters(attn, rng);
  Tensor q = nv::random_tensor({c.B, c.M, c.D}, rng, -2, 2);
  Tensor kv = nv::random_tensor({c.B, c.N, c.D}, rng, -2, 2);
  Var eval_out = attn(Var(q), Var(kv), Tensor(), nn::ForwardContext::inference()).out;
  nv::AttentionOut ref = naive_of(attn, q, kv, 0, c, nullptr);
  CHECK(nv::relative_error(ref.out, eval_out.value()) < 1e-5);
  Var train_out = attn(Var(q), Var(kv), Tensor(), nn::ForwardContext::training(rng)).out;
  CHECK(nv::relative_error(ref.out, train_out.value()) > 1e-3);
}

TEST_CASE(
    "with gradients off, attention over few keys (the fused kernel) equals the naive computation, "
    "masks included") {
  // The aggregator's case (tca.md 4.2): few keys, a [B, 1, M, N] pair mask with fully masked rows.
  for (int64_t N : {1, 2, 5, 8, 9, 40}) {  // 9 and 40 keys: past the short kernel, the tiled one
    CAPTURE(N);
    AttentionCase c;
    c.N = N;
    c.M = 4;
    Rng rng(static_cast<uint64_t>(40 + N));
    nn::MultiHeadAttention attn(c.D, c.H, 0.1f, rng);  // dropout inactive: not training
    nv::randomize_parameters(attn, rng);
    Tensor q = nv::random_tensor({c.B, c.M, c.D}, rng, -2, 2);
    Tensor kv = nv::random_tensor({c.B, c.N, c.D}, rng, -2, 2);
    Tensor mask = Tensor::empty({c.B, 1, c.M, c.N});
    for (int64_t i = 0; i < mask.numel(); ++i) mask[i] = rng.uniform() < 0.6 ? 1.0f : 0.0f;
    for (int64_t j = 0; j < c.N; ++j) mask[2 * c.N + j] = 0.0f;  // batch 0, query 2: fully masked
    for (const Tensor& m : {mask, Tensor()}) {
      NoGradGuard no_grad;
      const Var out = attn(Var(q), Var(kv), m, nn::ForwardContext::inference()).out;
      for (int64_t b = 0; b < c.B; ++b) {
        nv::Mat mm = m.defined() ? nv::to_mat(m, c.M, c.N, b * c.M) : nv::Mat();
        nv::AttentionOut ref = naive_of(attn, q, kv, b, c, m.defined() ? &mm : nullptr);
        CHECK(nv::relative_error(ref.out, out.value(), b * c.M * c.D) < 1e-5);
      }
    }
  }
}

TEST_CASE(
    "in training, attention over many keys (the tiled fused kernel) equals the general path with "
    "the same dropped weights, forward and parameter gradients") {
  // return_weights forces the general path (permutes, matmuls, softmax, dropout op); without it
  // the same call takes ops::flash_attention. One seed: the same dropout draw.
  AttentionCase c;
  c.M = 33, c.N = 40, c.D = 32, c.H = 2;
  Rng rng(48);
  nn::MultiHeadAttention attn(c.D, c.H, 0.3f, rng);
  nv::randomize_parameters(attn, rng);
  Tensor q = nv::random_tensor({c.B, c.M, c.D}, rng, -2, 2);
  Tensor kv = nv::random_tensor({c.B, c.N, c.D}, rng, -2, 2);
  Tensor mask = Tensor::full({c.B, 1, 1, c.N}, 1.0f);
  for (int64_t j = 30; j < c.N; ++j) mask[c.N + j] = 0.0f;
  std::vector<Tensor> grads[2];
  Tensor outs[2];
  for (int general = 0; general < 2; ++general) {
    attn.zero_grad();
    Rng drop(77);
    const Var out =
        attn(Var(q), Var(kv), mask, nn::ForwardContext::training(drop), general == 1).out;
    ops::sum_all(ops::mul(out, out)).backward();
    outs[general] = out.value();
    for (const Var& p : attn.parameters()) grads[general].push_back(p.grad().clone());
  }
  auto rel = [](const Tensor& ref, const Tensor& x) {  // max |x - ref| / max |ref|
    double diff = 0, scale = 0;
    for (int64_t i = 0; i < ref.numel(); ++i) {
      diff = std::max(diff, std::abs(static_cast<double>(x[i]) - ref[i]));
      scale = std::max(scale, std::abs(static_cast<double>(ref[i])));
    }
    return diff / scale;
  };
  CHECK(rel(outs[1], outs[0]) < 1e-5);
  REQUIRE(grads[0].size() == grads[1].size());
  for (size_t k = 0; k < grads[0].size(); ++k) CHECK(rel(grads[1][k], grads[0][k]) < 1e-4);
}

TEST_CASE("project_kv stacks the key and value projections of each row") {
  Rng rng(47);
  nn::MultiHeadAttention attn(8, 2, 0.0f, rng);
  Tensor x = nv::random_tensor({3, 5, 8}, rng, -2, 2);
  const Tensor kv = attn.project_kv(Var(x)).value();
  REQUIRE(kv.shape() == Shape{3, 5, 16});
  const Tensor k = attn.project_k(Var(x)).value(), v = attn.project_v(Var(x)).value();
  for (int64_t r = 0; r < 15; ++r)
    for (int64_t d = 0; d < 8; ++d) {
      CHECK(kv[r * 16 + d] == doctest::Approx(k[r * 8 + d]).epsilon(1e-6));
      CHECK(kv[r * 16 + 8 + d] == doctest::Approx(v[r * 8 + d]).epsilon(1e-6));
    }
}
