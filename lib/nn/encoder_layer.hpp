// Transformer encoder layer (tca.md 1): self-attention sub-block then feed-forward sub-block,
// optional key mask; and a stack of independent layers (the "quadratic" context encoder and the
// TCA aggregator). An empty stack is the identity ("constant" encoder of the copy task).
#pragma once
#include <memory>
#include <vector>

#include "nn/attention_block.hpp"

namespace tca::nn {

struct TransformerConfig {
  int64_t dim = 64, heads = 4, dim_feedforward = 128;
  float dropout = 0.0f;
  bool norm_first = true;
};

class EncoderLayer : public Module {
 public:
  EncoderLayer(const TransformerConfig& cfg, Rng& rng);
  Var operator()(const Var& x, const Tensor& mask, const ForwardContext& ctx) const;

  AttentionBlock self_attn;
  FeedForwardBlock ff;
};

class Encoder : public Module {
 public:
  Encoder(const TransformerConfig& cfg, int num_layers, Rng& rng);
  Var operator()(const Var& x, const Tensor& mask, const ForwardContext& ctx) const;
  // Output of every layer (for the reference checks); out[i] = layer i's output.
  std::vector<Var> forward_all(const Var& x, const Tensor& mask, const ForwardContext& ctx) const;
  size_t num_layers() const { return layers_.size(); }
  const EncoderLayer& layer(size_t i) const { return *layers_[i]; }

 private:
  std::vector<std::unique_ptr<EncoderLayer>> layers_;
};

}  // namespace tca::nn
