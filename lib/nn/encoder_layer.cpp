#include "nn/encoder_layer.hpp"

namespace tca::nn {

EncoderLayer::EncoderLayer(const TransformerConfig& cfg, Rng& rng)
    : self_attn(cfg.dim, cfg.heads, cfg.dropout, cfg.norm_first, rng),
      ff(cfg.dim, cfg.dim_feedforward, cfg.dropout, cfg.norm_first, rng) {
  register_module("self_attn", self_attn);
  register_module("ff", ff);
}

Var EncoderLayer::operator()(const Var& x, const Tensor& mask, const ForwardContext& ctx) const {
  return ff(self_attn(x, x, mask, ctx), ctx);
}

Encoder::Encoder(const TransformerConfig& cfg, int num_layers, Rng& rng) {
  for (int i = 0; i < num_layers; ++i) {
    layers_.push_back(std::make_unique<EncoderLayer>(cfg, rng));
    register_module("layer" + std::to_string(i), layers_.back());
  }
}

Var Encoder::operator()(const Var& x, const Tensor& mask, const ForwardContext& ctx) const {
  Var h = x;
  for (auto& layer : layers_) h = (*layer)(h, mask, ctx);
  return h;
}

std::vector<Var> Encoder::forward_all(const Var& x, const Tensor& mask,
                                      const ForwardContext& ctx) const {
  std::vector<Var> outs;
  Var h = x;
  for (auto& layer : layers_) outs.push_back(h = (*layer)(h, mask, ctx));
  return outs;
}

}  // namespace tca::nn
