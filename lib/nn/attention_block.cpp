#include "nn/attention_block.hpp"

namespace tca::nn {

AttentionBlock::AttentionBlock(int64_t dim, int64_t heads, float attn_dropout, bool norm_first,
                               Rng& rng)
    : norm(dim), attn(dim, heads, attn_dropout, rng), norm_first_(norm_first) {
  register_module("norm", norm);
  register_module("attn", attn);
}

Var AttentionBlock::operator()(const Var& x, const Var& context, const Tensor& mask,
                               const ForwardContext& ctx) const {
  Var q_in = query_input(x);
  // Self-attention passes the raw x as keys/values (official encoder layer), not LN(x).
  Var out = attn(q_in, context, mask, ctx).out;
  return residual(x, q_in, out);
}

FeedForwardBlock::FeedForwardBlock(int64_t dim, int64_t hidden, float dropout, bool norm_first,
                                   Rng& rng)
    : norm(dim),
      linear1(dim, 2 * hidden, true, rng),
      linear2(hidden, dim, true, rng),
      dropout_(dropout),
      norm_first_(norm_first) {
  register_module("norm", norm);
  register_module("linear1", linear1);
  register_module("linear2", linear2);
}

Var FeedForwardBlock::feed_forward(const Var& x, const ForwardContext& ctx) const {
  // linear1's output [..., 2 * hidden] holds a | b; GEGLU is a * gelu(b).
  return ops::dropout(linear2(ops::geglu(linear1(x))), dropout_, ctx.rng(), ctx.is_training());
}

Var FeedForwardBlock::operator()(const Var& x, const ForwardContext& ctx) const {
  if (norm_first_) {
    Var n = norm(x);
    return ops::add(feed_forward(n, ctx), n);
  }
  return norm(ops::add(x, feed_forward(x, ctx)));
}

}  // namespace tca::nn
