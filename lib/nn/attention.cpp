#include "nn/attention.hpp"

#include <cmath>

#include "autograd/ops.hpp"
#include "core/error.hpp"

namespace tca::nn {

MultiHeadAttention::MultiHeadAttention(int64_t dim, int64_t heads, float dropout, Rng& rng)
    : to_q(dim, dim, false, rng),
      to_k(dim, dim, false, rng),
      to_v(dim, dim, false, rng),
      to_out(dim, dim, true, rng),
      dim_(dim),
      heads_(heads),
      dropout_(dropout) {
  if (heads <= 0 || dim % heads != 0)
    throw UsageError("d_model (" + std::to_string(dim) + ") must be divisible by heads (" +
                     std::to_string(heads) + ")");
  register_module("to_q", to_q);
  register_module("to_k", to_k);
  register_module("to_v", to_v);
  register_module("to_out", to_out);
}

Var MultiHeadAttention::split_heads(const Var& x) const {
  const int64_t B = x.dim(0), T = x.dim(1);
  return ops::permute(ops::reshape(x, {B, T, heads_, dim_ / heads_}), {0, 2, 1, 3});
}

Var MultiHeadAttention::merge_heads(const Var& x) const {
  const int64_t B = x.dim(0), T = x.dim(2);
  return ops::reshape(ops::permute(x, {0, 2, 1, 3}), {B, T, dim_});
}

Var MultiHeadAttention::attention_weights(const Var& q_heads, const Var& k_heads,
                                          const Tensor& mask) const {
  Var logits = ops::matmul(q_heads, k_heads, false, true, logit_scale());
  return ops::softmax(logits, mask);
}

Var MultiHeadAttention::project_kv(const Var& x) const {
  return ops::linear(x, ops::concat({to_k.weight, to_v.weight}, 0), Var());
}

AttentionResult MultiHeadAttention::operator()(const Var& q_in, const Var& kv_in,
                                               const Tensor& mask, const ForwardContext& ctx,
                                               bool return_weights) const {
  // Few keys (the aggregator's groups, GP context sets): the fused short op; more keys (encoder
  // self-attention, CA and Perceiver IO cross-attention): the fused tiled op; both unless the
  // per-head weights are wanted (traces, reference checks), which only the general path below
  // materialises.
  if (!return_weights && q_in.rank() == 3 && kv_in.rank() == 3 && kv_in.dim(0) == q_in.dim(0)) {
    const int64_t B = q_in.dim(0), M = q_in.dim(1), N = kv_in.dim(1);
    if (ops::short_attention_applies(B, M, N, mask))
      return {to_out(ops::short_attention(to_q(q_in), project_kv(kv_in), mask, heads_,
                                          logit_scale(), dropout_, ctx.rng(), ctx.is_training())),
              Var()};
    if (ops::flash_attention_applies(B, heads_, M, N, head_dim(), mask))
      return {to_out(ops::flash_attention(to_q(q_in), project_kv(kv_in), mask, heads_,
                                          logit_scale(), dropout_, ctx.rng(), ctx.is_training())),
              Var()};
  }
  Var q = split_heads(to_q(q_in));
  Var k = split_heads(to_k(kv_in));
  Var v = split_heads(to_v(kv_in));
  Var w = attention_weights(q, k, mask);
  Var w_drop = ops::dropout(w, dropout_, ctx.rng(), ctx.is_training());
  Var out = to_out(merge_heads(ops::matmul(w_drop, v)));
  return {out, return_weights ? w : Var()};
}

}  // namespace tca::nn
