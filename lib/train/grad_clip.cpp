#include "train/grad_clip.hpp"

#include <cmath>
#include <string>

#include "core/error.hpp"

namespace tca {

double grad_norm(const nn::NamedParameters& params) {
  double sum_of_squares = 0.0;
  for (const auto& [name, var] : params) {
    const Tensor& grad = var.grad();
    if (!grad.defined()) continue;
    const float* g = grad.data();
    for (int64_t i = 0; i < grad.numel(); ++i) {
      const double x = g[i];
      sum_of_squares += x * x;
    }
  }
  return std::sqrt(sum_of_squares);
}

double clip_grad_norm(const nn::NamedParameters& params, double max_norm) {
  if (!(max_norm > 0.0) || !std::isfinite(max_norm)) {
    throw UsageError("gradient clipping max norm must be finite and > 0, found " +
                     std::to_string(max_norm));
  }
  const double total = grad_norm(params);
  if (!std::isfinite(total)) return total;
  const double coef = max_norm / (total + 1e-6);
  if (coef >= 1.0) return total;
  const auto scale = static_cast<float>(coef);
  for (const auto& [name, var] : params) {
    if (!var.grad().defined()) continue;
    Var handle = var;  // shares the node: its gradient buffer is the one being clipped
    Tensor& grad = handle.grad_buffer();
    float* g = grad.data();
    for (int64_t i = 0; i < grad.numel(); ++i) g[i] *= scale;
  }
  return total;
}

}  // namespace tca
