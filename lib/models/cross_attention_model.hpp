// Transformer + Cross Attention, the CA baseline (tca.md 2, 5): embedder -> encoder -> CA decoder
// u = LN1(q) + Attn(LN1(q), E, E); out = LN2(u) + FF(LN2(u)) -> predictor. Every query attends to
// all N context tokens. Training loss = the task loss only.
#pragma once
#include <vector>

#include "models/model.hpp"
#include "nn/encoder_layer.hpp"

namespace tca {

// Intermediate activations of a CA forward (the reference checks compare them).
struct CrossAttentionTrace {
  Var context_embeddings, query_embeddings, encoder_output, query_normed, attn_out, encoding;
  std::vector<Var> encoder_layers;
  Var attn_weights_per_head;  // [B, H, M, N]
};

class CrossAttentionModel : public Model {
 public:
  CrossAttentionModel(const ModelConfig& cfg, Rng& init_rng);
  LossOutput loss(const Batch& batch, Rng& rng) override;
  Predictions predict(const Batch& batch) override;

  // The forward pass shared by loss (training context) and predict (inference); fills `trace`
  // when given.
  TaskOutput forward(const Batch& batch, const nn::ForwardContext& ctx,
                     CrossAttentionTrace* trace = nullptr);

  nn::Encoder encoder;
  nn::AttentionBlock cross_attn;
  nn::FeedForwardBlock cross_ff;
};

}  // namespace tca
