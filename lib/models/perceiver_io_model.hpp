// Perceiver IO, the latent baseline (tca.md 3; our design from the same blocks, not in the
// reference code): L learned latents [L, D] (init N(0, 0.02^2)) cross-attend once to the context
// embeddings (pre-norm attention + FF sub-blocks), then num_latent_layers self-attention layers
// over the latents; each query cross-attends to the L latents (attention + FF, as the CA decoder),
// then the predictor. Tokens attended per query = L.
#pragma once
#include "models/model.hpp"
#include "nn/encoder_layer.hpp"

namespace tca {

class PerceiverIoModel : public Model {
 public:
  PerceiverIoModel(const ModelConfig& cfg, Rng& init_rng);
  LossOutput loss(const Batch& batch, Rng& rng) override;
  Predictions predict(const Batch& batch) override;

  // The latents after encoding a batch's context: [B, L, D] (built once per context set).
  Var encode(const Batch& batch, const nn::ForwardContext& ctx) const;
  // The latents [B, L, D] after attending to the context embeddings E [B, N, D] (encode after the
  // context embedder).
  Var encode_embedded(const Var& embedded, const nn::ForwardContext& ctx) const;
  // Queries [B, M, D] read the encoded latents.
  TaskOutput decode(const Var& latents, const Batch& batch, const nn::ForwardContext& ctx) const;

  Var latents;
  nn::AttentionBlock encode_attn;
  nn::FeedForwardBlock encode_ff;
  nn::Encoder latent_encoder;
  nn::AttentionBlock decode_attn;
  nn::FeedForwardBlock decode_ff;
};

}  // namespace tca
