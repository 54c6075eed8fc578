// Norm wrappers around attention (tca.md 1; reference README section 4):
//   pre-norm  (norm_first): n = LN(x); out = MHA(n, ctx, ctx) + n  -- the residual is the
//             NORMALISED query, and keys/values are the raw context (in self-attention the raw x);
//   post-norm:              out = LN(x + MHA(x, ctx, ctx)).
#pragma once
#include "nn/attention.hpp"

namespace tca::nn {

class AttentionBlock : public Module {
 public:
  AttentionBlock(int64_t dim, int64_t heads, float attn_dropout, bool norm_first, Rng& rng);

  // Cross-attention from x [B, M, D] to context [B, N, D]; self-attention when context is x.
  Var operator()(const Var& x, const Var& context, const Tensor& mask,
                 const ForwardContext& ctx) const;

  // The two halves, for callers that attend in their own way (Tree Cross Attention):
  // the attention's query input (LN(x) in pre-norm, x in post-norm), and the block output given
  // the attention output.
  Var query_input(const Var& x) const { return norm_first_ ? norm(x) : x; }
  Var residual(const Var& x, const Var& query_in, const Var& attn_out) const {
    return norm_first_ ? ops::add(attn_out, query_in) : norm(ops::add(x, attn_out));
  }
  bool norm_first() const { return norm_first_; }

  LayerNorm norm;
  MultiHeadAttention attn;

 private:
  bool norm_first_;
};

// Feed-forward sub-block: Linear(D, 2F), GEGLU (a * gelu(g), a the first half), Linear(F, D),
// dropout; wrapped pre-norm (FF(LN(x)) + LN(x)) or post-norm (LN(x + FF(x))).
class FeedForwardBlock : public Module {
 public:
  FeedForwardBlock(int64_t dim, int64_t hidden, float dropout, bool norm_first, Rng& rng);
  Var operator()(const Var& x, const ForwardContext& ctx) const;

  LayerNorm norm;
  Linear linear1, linear2;

 private:
  Var feed_forward(const Var& x, const ForwardContext& ctx) const;
  float dropout_;
  bool norm_first_;
};

}  // namespace tca::nn
