#include "models/embedder.hpp"

#include "nn/positional_encoding.hpp"

namespace tca {

Embedder::Embedder(int64_t in_dim, const ModelConfig& cfg, Rng& rng)
    : mlp(in_dim, cfg.d_model, cfg.d_model, cfg.emb_depth, nn::Activation::elu, rng),
      dim_(cfg.d_model),
      dropout_(cfg.dropout) {
  register_module("mlp", mlp);
  if (cfg.is_sequential) {
    seq_mlp.emplace(cfg.d_model, 2 * cfg.d_model, cfg.d_model, 3, nn::Activation::relu, rng);
    register_module("seq_mlp", *seq_mlp);
  }
}

Var Embedder::operator()(const Var& x, const nn::ForwardContext& ctx) const {
  Var h = mlp(x);
  if (!seq_mlp) return h;
  const int64_t T = x.dim(1);
  h = ops::add(h, Var(nn::positional_encoding(T, dim_)));
  h = ops::dropout(h, dropout_, ctx.rng(), ctx.is_training());
  return (*seq_mlp)(h);
}

}  // namespace tca
