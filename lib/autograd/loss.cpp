// Task losses (tca.md 1, "Predictor heads"): cross-entropy with integer labels, Gaussian
// log-likelihood summed over dim_y, MSE.
#include <cmath>

#include "autograd/ops.hpp"
#include "core/error.hpp"

namespace tca::ops {

Var cross_entropy_per_row(const Var& logits, const Tensor& labels) {
  check_dtype("cross_entropy labels", labels, DType::i32);
  if (logits.rank() != 2 || labels.numel() != logits.dim(0))
    throw ShapeError("cross_entropy: logits " + to_string(logits.shape()) + " vs labels " +
                     to_string(labels.shape()));
  const int64_t R = logits.dim(0), C = logits.dim(1);
  const int32_t* lab = labels.data_i32();
  for (int64_t r = 0; r < R; ++r)
    if (lab[r] < 0 || lab[r] >= C)
      throw ShapeError("cross_entropy: label " + std::to_string(lab[r]) + " out of range for " +
                       std::to_string(C) + " classes");
  // -log_softmax(logits)[label], through the differentiable log_softmax.
  Var ls = log_softmax(logits);
  Tensor y = Tensor::empty({R});
  const float* pl = ls.value().data();
  for (int64_t r = 0; r < R; ++r) y[r] = -pl[r * C + lab[r]];
  return record(std::move(y), {ls}, [labels = labels.clone(), R, C](Node& self) {
    float* g = self.inputs[0]->grad_buffer().data();
    const int32_t* lb = labels.data_i32();
    for (int64_t r = 0; r < R; ++r) g[r * C + lb[r]] -= self.grad[r];
  });
}

Var cross_entropy(const Var& logits, const Tensor& labels) {
  return mean_all(cross_entropy_per_row(logits, labels));
}

Var gaussian_log_likelihood_per_row(const Var& mean, const Var& std, const Tensor& y) {
  check_same_shape("gaussian_log_likelihood mean/std", mean.value(), std.value());
  check_same_shape("gaussian_log_likelihood mean/y", mean.value(), y);
  const int64_t dy = mean.shape().empty() ? 1 : mean.shape().back();
  const int64_t R = dy ? mean.numel() / dy : 0;
  Shape os(mean.shape().begin(), mean.shape().end() - 1);
  Tensor out = Tensor::empty(os);
  const float* pm = mean.value().data();
  const float* ps = std.value().data();
  const float* py = y.data();
  const float half_log_2pi = 0.91893853320467274f;
  for (int64_t r = 0; r < R; ++r) {
    float s = 0;
    for (int64_t d = 0; d < dy; ++d) {
      const int64_t i = r * dy + d;
      const float z = (py[i] - pm[i]) / ps[i];
      s += -0.5f * z * z - std::log(ps[i]) - half_log_2pi;
    }
    out[r] = s;
  }
  return record(std::move(out), {mean, std}, [y = y.clone(), R, dy](Node& self) {
    Node &nm = *self.inputs[0], &ns = *self.inputs[1];
    const float* pm2 = nm.value.data();
    const float* ps2 = ns.value.data();
    const float* py2 = y.data();
    float* gm = nm.requires_grad ? nm.grad_buffer().data() : nullptr;
    float* gs = ns.requires_grad ? ns.grad_buffer().data() : nullptr;
    for (int64_t r = 0; r < R; ++r)
      for (int64_t d = 0; d < dy; ++d) {
        const int64_t i = r * dy + d;
        const float diff = py2[i] - pm2[i], s2 = ps2[i] * ps2[i];
        if (gm) gm[i] += self.grad[r] * diff / s2;
        if (gs) gs[i] += self.grad[r] * (diff * diff / (s2 * ps2[i]) - 1.0f / ps2[i]);
      }
  });
}

Var gaussian_nll(const Var& mean, const Var& std, const Tensor& y) {
  return neg(mean_all(gaussian_log_likelihood_per_row(mean, std, y)));
}

Var mse(const Var& pred, const Tensor& y) {
  check_same_shape("mse", pred.value(), y);
  return mean_all(square(sub(pred, Var(y))));
}

}  // namespace tca::ops
