// Multi-head attention (tca.md 1; reference README section 4 "Multi-head attention"):
// q = Qin Wq^T, k = Kin Wk^T, v = Vin Wv^T (no biases), per head softmax(q_h k_h^T / sqrt(dh))
// with masked logits set to -FLT_MAX, dropout on the weights, heads concatenated head-major,
// output projection with bias. The projection and attend steps are exposed separately so that
// Tree Cross Attention can project node keys/values once and gather them per query.
#pragma once
#include <cmath>

#include "nn/forward_context.hpp"
#include "nn/linear.hpp"

namespace tca::nn {

struct AttentionResult {
  Var out;               // [B, M, D]
  Var weights_per_head;  // [B, H, M, N] (only when requested)
};

class MultiHeadAttention : public Module {
 public:
  MultiHeadAttention(int64_t dim, int64_t heads, float dropout, Rng& rng);

  // Qin [B, M, D], Kin = Vin [B, N, D]; mask f32 0/1 broadcastable to [B, H, M, N] (e.g.
  // [B, 1, M, N] or [B, 1, 1, N]) or undefined. Dropout applies in a training context.
  AttentionResult operator()(const Var& q_in, const Var& kv_in, const Tensor& mask,
                             const ForwardContext& ctx, bool return_weights = false) const;

  // Steps: [.., T, D] -> [.., T, D] projections; heads(x [B, T, D]) -> [B, H, T, dh].
  Var project_q(const Var& x) const { return to_q(x); }
  Var project_k(const Var& x) const { return to_k(x); }
  Var project_v(const Var& x) const { return to_v(x); }
  // Both at once, [.., T, 2D] = [k | v] per row: one product with the stacked weights [W_k; W_v]
  // (stacked per call; gradients reach both weights through the concat).
  Var project_kv(const Var& x) const;
  Var split_heads(const Var& x) const;  // [B, T, D] -> [B, H, T, dh]
  Var merge_heads(const Var& x) const;  // [B, H, T, dh] -> [B, T, D]
  // Attention weights softmax(q k^T / sqrt(dh)) for head-split q [B,H,M,dh], k [B,H,N,dh].
  Var attention_weights(const Var& q_heads, const Var& k_heads, const Tensor& mask) const;
  Var output(const Var& merged) const { return to_out(merged); }

  int64_t heads() const { return heads_; }
  int64_t head_dim() const { return dim_ / heads_; }
  float logit_scale() const {
    return 1.0f / std::sqrt(static_cast<float>(head_dim()));
  }  // 1 / sqrt(dh)
  float dropout() const { return dropout_; }

  Linear to_q, to_k, to_v, to_out;

 private:
  int64_t dim_, heads_;
  float dropout_;
};

}  // namespace tca::nn
