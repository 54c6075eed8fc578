// The reference the fused attention ops are tested against (short_attention, flash_attention):
// the general path of nn::MultiHeadAttention composed from general ops, and the helpers both
// tests share.
#pragma once
#include <doctest/doctest.h>

#include <cmath>

#include "autograd/ops.hpp"
#include "core/rng.hpp"

namespace tca::testing {

// The general path of nn::MultiHeadAttention (permutes, batched matmul with the logit scale,
// masked softmax, dropout, matmul) from q [B, M, D] and kv [B, N, 2D].
inline Var composed_attention(const Var& q, const Var& kv, const Tensor& mask, int64_t H,
                              float scale, float p, Rng& rng, bool training) {
  const int64_t B = q.dim(0), M = q.dim(1), D = q.dim(2), N = kv.dim(1);
  auto heads = [&](const Var& x, int64_t T) {
    return ops::permute(ops::reshape(x, {B, T, H, D / H}), {0, 2, 1, 3});
  };
  Var k = heads(ops::slice(kv, 2, 0, D), N), v = heads(ops::slice(kv, 2, D, 2 * D), N);
  Var w = ops::softmax(ops::matmul(heads(q, M), k, false, true, scale), mask);
  Var o = ops::matmul(ops::dropout(w, p, rng, training), v);
  return ops::reshape(ops::permute(o, {0, 2, 1, 3}), {B, M, D});
}

// [B, 1, M, N] with batch 0, query 1 fully masked (uniform weights, no logit gradient).
inline Tensor pair_mask(int64_t B, int64_t M, int64_t N, Rng& rng) {
  Tensor m = Tensor::empty({B, 1, M, N});
  for (int64_t i = 0; i < m.numel(); ++i) m[i] = rng.uniform() < 0.7 ? 1.0f : 0.0f;
  for (int64_t j = 0; j < N; ++j) m[1 * N + j] = 0.0f;
  return m;
}

// The largest absolute difference; a NaN anywhere makes it NaN (and so fails any `<` check).
inline double max_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.numel() == b.numel());
  double m = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    const double d = std::abs(static_cast<double>(a[i]) - b[i]);
    if (!(d <= m)) m = d;
  }
  return m;
}

}  // namespace tca::testing
