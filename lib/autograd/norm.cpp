// Layer normalisation over the last axis (eps inside the sqrt, biased variance; tca.md 1).
#include <cmath>

#include "autograd/ops.hpp"
#include "core/error.hpp"

namespace tca::ops {

Var layer_norm(const Var& x, const Var& gamma, const Var& beta, float eps) {
  const int64_t C = x.shape().empty() ? 0 : x.shape().back();
  if (gamma.rank() != 1 || gamma.dim(0) != C || beta.rank() != 1 || beta.dim(0) != C)
    throw ShapeError("layer_norm: input " + to_string(x.shape()) + " vs scale " +
                     to_string(gamma.shape()) + " and shift " + to_string(beta.shape()));
  const int64_t R = C ? x.numel() / C : 0;
  Tensor y = Tensor::empty(x.shape());
  Tensor xhat = Tensor::empty(x.shape());
  Tensor rstd = Tensor::empty({R});
  const float* px = x.value().data();
  const float* pg = gamma.value().data();
  const float* pb = beta.value().data();
  for (int64_t r = 0; r < R; ++r) {
    const float* xr = px + r * C;
    float mean = 0;
    for (int64_t c = 0; c < C; ++c) mean += xr[c];
    mean /= static_cast<float>(C);
    float var = 0;
    for (int64_t c = 0; c < C; ++c) var += (xr[c] - mean) * (xr[c] - mean);
    var /= static_cast<float>(C);
    const float rs = 1.0f / std::sqrt(var + eps);
    rstd[r] = rs;
    for (int64_t c = 0; c < C; ++c) {
      const float h = (xr[c] - mean) * rs;
      xhat[r * C + c] = h;
      y[r * C + c] = h * pg[c] + pb[c];
    }
  }
  return record(std::move(y), {x, gamma, beta}, [xhat, rstd, R, C](Node& self) {
    Node &nx = *self.inputs[0], &ng = *self.inputs[1], &nb = *self.inputs[2];
    const float* g = self.grad.data();
    const float* h = xhat.data();
    const float* gamma_v = ng.value.data();
    if (ng.requires_grad || nb.requires_grad) {
      float* dg = ng.requires_grad ? ng.grad_buffer().data() : nullptr;
      float* db = nb.requires_grad ? nb.grad_buffer().data() : nullptr;
      for (int64_t r = 0; r < R; ++r)
        for (int64_t c = 0; c < C; ++c) {
          if (dg) dg[c] += g[r * C + c] * h[r * C + c];
          if (db) db[c] += g[r * C + c];
        }
    }
    if (nx.requires_grad) {
      float* dx = nx.grad_buffer().data();
      for (int64_t r = 0; r < R; ++r) {
        // dx = rstd * (dh - mean(dh) - h * mean(dh * h)), dh = g * gamma
        float m1 = 0, m2 = 0;
        for (int64_t c = 0; c < C; ++c) {
          const float dh = g[r * C + c] * gamma_v[c];
          m1 += dh;
          m2 += dh * h[r * C + c];
        }
        m1 /= static_cast<float>(C);
        m2 /= static_cast<float>(C);
        for (int64_t c = 0; c < C; ++c) {
          const float dh = g[r * C + c] * gamma_v[c];
          dx[r * C + c] += rstd[r] * (dh - m1 - h[r * C + c] * m2);
        }
      }
    }
  });
}

}  // namespace tca::ops
