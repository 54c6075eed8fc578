#include "train/grad_clip.hpp"

#include <cmath>
#include <string>
#include <vector>

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
  // Each tensor's sum on whichever thread, then the sums added in parameter order: the same
  // result at any thread count.
  std::vector<const Tensor*> grads;
  int64_t elements = 0;
  for (const auto& [name, var] : params)
    if (var.grad().defined()) {
      grads.push_back(&var.grad());
      elements += var.grad().numel();
    }
  std::vector<double> sums(grads.size());
  const auto count = static_cast<int64_t>(grads.size());
#pragma omp parallel for schedule(dynamic, 1) if (elements > 65536)
  for (int64_t i = 0; i < count; ++i) {
    const Tensor& g = *grads[static_cast<size_t>(i)];
    sums[static_cast<size_t>(i)] = sum_of_squares(g.data(), g.numel());
  }
  double total = 0.0;
  for (double s : sums) total += s;
  return std::sqrt(total);
}

float clip_coefficient(double total, double max_norm) {
  if (!(max_norm > 0.0) || !std::isfinite(max_norm)) {
    throw UsageError("gradient clipping max norm must be finite and > 0, found " +
                     std::to_string(max_norm));
  }
  if (!std::isfinite(total)) return 1.0f;
  const double coef = max_norm / (total + 1e-6);
  return coef >= 1.0 ? 1.0f : static_cast<float>(coef);
}

double clip_grad_norm(const nn::NamedParameters& params, double max_norm) {
  clip_coefficient(0.0, max_norm);  // validates max_norm before any work
  const double total = grad_norm(params);
  const float scale = clip_coefficient(total, max_norm);
  if (scale == 1.0f) return total;
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
