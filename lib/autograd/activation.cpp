// Activations and exp/log/softplus.
#include <cmath>

#include "autograd/ops.hpp"
#include "autograd/unary.hpp"

namespace tca::ops {

Var relu(const Var& x) {
  return unary(x, [](float v) { return v > 0 ? v : 0.0f; }, [](float v, float) { return v > 0 ? 1.0f : 0.0f; });
}

Var elu(const Var& x, float alpha) {
  return unary(
      x, [alpha](float v) { return v > 0 ? v : alpha * std::expm1(v); },
      [alpha](float v, float y) { return v > 0 ? 1.0f : y + alpha; });
}

// Exact GELU: x * Phi(x), Phi the standard normal CDF (tca.md 1: GEGLU uses the erf form).
Var gelu(const Var& x) {
  return unary(
      x, [](float v) { return 0.5f * v * (1.0f + std::erf(v * 0.70710678118654752f)); },
      [](float v, float) {
        const float cdf = 0.5f * (1.0f + std::erf(v * 0.70710678118654752f));
        const float pdf = 0.39894228040143268f * std::exp(-0.5f * v * v);
        return cdf + v * pdf;
      });
}

Var exp(const Var& x) {
  return unary(x, [](float v) { return std::exp(v); }, [](float, float y) { return y; });
}

Var log(const Var& x) {
  return unary(x, [](float v) { return std::log(v); }, [](float v, float) { return 1.0f / v; });
}

Var softplus(const Var& x) {
  return unary(
      x, [](float v) { return v > 20.0f ? v : std::log1p(std::exp(v)); },
      [](float v, float) { return 1.0f / (1.0f + std::exp(-v)); });
}

}  // namespace tca::ops
