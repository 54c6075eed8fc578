// Token embedders (tca.md 1): mlp(in, D, D, emb_depth) with ELU; for sequential data (copy task)
// followed by + PE[0:T] (positions restart at 0 for context and queries), dropout, and
// mlp(D, 2D, D, depth 3) with ReLU.
#pragma once
#include <optional>

#include "models/model_config.hpp"
#include "nn/forward_context.hpp"
#include "nn/mlp.hpp"

namespace tca {

class Embedder : public nn::Module {
 public:
  Embedder(int64_t in_dim, const ModelConfig& cfg, Rng& rng);
  // x [B, T, in] -> [B, T, D]
  Var operator()(const Var& x, const nn::ForwardContext& ctx) const;

  nn::Mlp mlp;
  std::optional<nn::Mlp> seq_mlp;  // sequential data only

 private:
  int64_t dim_;
  float dropout_;
};

}  // namespace tca
