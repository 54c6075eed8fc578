#include "train/grad_clip.hpp"

#include <cmath>
#include <string>

#include "core/error.hpp"

namespace tca {

// sum of x[i]^2 in double. One running sum is a chain of dependent adds (latency-bound, ~4 cycles
// per element); kPartial independent partial sums vectorise and overlap.
static double sum_of_squares(const float* x, int64_t n) {
  constexpr int kPartial = 16;
  double partial[kPartial] = {};
  int64_t i = 0;
  for (; i + kPartial <= n; i += kPartial) {
#pragma omp simd
    for (int j = 0; j < kPartial; ++j) partial[j] += static_cast<double>(x[i + j]) * x[i + j];
  }
  for (; i < n; ++i) partial[0] += static_cast<double>(x[i]) * x[i];
  double total = 0.0;
  for (double s : partial) total += s;
  return total;
}

double grad_norm(const nn::NamedParameters& params) {
  double total = 0.0;
  for (const auto& [name, var] : params) {
    const Tensor& grad = var.grad();
    if (grad.defined()) total += sum_of_squares(grad.data(), grad.numel());
  }
  return std::sqrt(total);
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
    const int64_t n = grad.numel();
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) g[i] *= scale;
  }
  return total;
}

}  // namespace tca
