#include "nn/mlp.hpp"

#include "core/error.hpp"

namespace tca::nn {

Mlp::Mlp(int64_t in, int64_t hidden, int64_t out, int depth, Activation act, Rng& rng) : act_(act) {
  if (depth < 1) throw UsageError("mlp depth must be >= 1, found " + std::to_string(depth));
  for (int i = 0; i < depth; ++i) {
    const int64_t fan_in = i == 0 ? in : hidden;
    const int64_t fan_out = i == depth - 1 ? out : hidden;
    layers_.push_back(std::make_unique<Linear>(fan_in, fan_out, true, rng));
    register_module("layer" + std::to_string(i), layers_.back());
  }
}

Var Mlp::operator()(const Var& x) const {
  // Every layer but the last is followed by the activation, fused into its matmul.
  const auto act =
      act_ == Activation::relu ? ops::LinearActivation::relu : ops::LinearActivation::elu;
  Var h = x;
  for (size_t i = 0; i + 1 < layers_.size(); ++i)
    h = ops::linear_act(h, layers_[i]->weight, layers_[i]->bias, act);
  return (*layers_.back())(h);
}

}  // namespace tca::nn
