// Masked softmax over a few keys per row, for many rows, as plain loops: TCA's policy over the b
// children of a node and its attention over the retrieved set (tca.md 4.3). Through ops::softmax
// each call is a oneDNN softmax_v2 whose per-row cost dominates at 2..30 keys, plus the broadcast
// binaries that apply the mask forward (min against a cap) and backward (mul by the keep mask),
// then ops::mean for the policy; here one pass forward writes the weights (and the head mean) and
// one pass backward writes the logit gradient.
#include <algorithm>
#include <cfloat>
#include <cmath>

#include "autograd/grad_sink.hpp"
#include "autograd/ops.hpp"
#include "autograd/write_or_accumulate.hpp"
#include "core/error.hpp"

namespace tca::ops {
namespace {

// Two threads only when a pass has enough work to pay the fork/join (short_attention's bound).
bool worth_threads(int64_t elements) { return elements >= (int64_t{1} << 16); }

void check_shapes(const char* op, const Var& x, const Tensor& mask) {
  if (x.rank() != 3)
    throw ShapeError(std::string(op) + ": logits must be [Q, H, n], found " + to_string(x.shape()));
  const int64_t Q = x.dim(0), n = x.dim(2);
  if (!mask.defined()) return;
  check_dtype(op, mask, DType::f32);
  if (mask.shape() != Shape{Q, 1, n} && mask.shape() != Shape{Q, n})
    throw ShapeError(std::string(op) + ": mask " + to_string(mask.shape()) + " for logits " +
                     to_string(x.shape()) + " (expected [Q, 1, n] or [Q, n])");
}

// y[q, h, :] = softmax(x[q, h, :] with logits where mask[q, :] == 0 replaced by -FLT_MAX), as
// ops::softmax: a fully masked row is uniform, a masked entry of any other row exactly 0. With
// `pi`, also pi[q, :] = mean over h of y[q, h, :], summed in ops::mean's order.
void forward(const float* px, const float* pm, int64_t Q, int64_t H, int64_t n, float* py,
             float* pi) {
  const float inv_heads = 1.0f / static_cast<float>(H);
#pragma omp parallel for schedule(static) if (worth_threads(Q * H * n))
  for (int64_t q = 0; q < Q; ++q) {
    const float* mr = pm ? pm + q * n : nullptr;
    if (pi) std::fill(pi + q * n, pi + (q + 1) * n, 0.0f);
    for (int64_t h = 0; h < H; ++h) {
      const float* xr = px + (q * H + h) * n;
      float* yr = py + (q * H + h) * n;
      float top = -FLT_MAX;
      for (int64_t j = 0; j < n; ++j) {
        yr[j] = mr && mr[j] == 0.0f ? -FLT_MAX : xr[j];
        top = std::max(top, yr[j]);
      }
      float sum = 0;
      for (int64_t j = 0; j < n; ++j) sum += (yr[j] = std::exp(yr[j] - top));
      const float inv = 1.0f / sum;
      for (int64_t j = 0; j < n; ++j) yr[j] *= inv;
      if (pi)
        for (int64_t j = 0; j < n; ++j) pi[q * n + j] += inv_heads * yr[j];
    }
  }
}

// dx (+)= y (g - <y, g>) per row, 0 where masked (also in a fully masked row: masked logits get
// no gradient, as ops::softmax).
void backward(const float* py, const float* pg, const float* pm, int64_t Q, int64_t H, int64_t n,
              GradTarget t) {
  with_accumulate(t.accumulate, [&](auto acc) {
#pragma omp parallel for schedule(static) if (worth_threads(Q * H * n))
    for (int64_t q = 0; q < Q; ++q) {
      const float* mr = pm ? pm + q * n : nullptr;
      for (int64_t h = 0; h < H; ++h) {
        const int64_t r = (q * H + h) * n;
        float dot = 0;
        for (int64_t j = 0; j < n; ++j) dot += py[r + j] * pg[r + j];
        for (int64_t j = 0; j < n; ++j)
          store(acc, t.data[r + j], mr && mr[j] == 0.0f ? 0.0f : py[r + j] * (pg[r + j] - dot));
      }
    }
  });
}

Var masked_softmax_impl(const Var& x, const Tensor& mask, float* pi) {
  const int64_t Q = x.dim(0), H = x.dim(1), n = x.dim(2);
  Tensor y = Tensor::empty(x.shape());
  const float* pm = mask.defined() ? mask.data() : nullptr;
  forward(x.value().data(), pm, Q, H, n, y.data(), pi);
  return record(
      std::move(y), {x},
      [mask = mask.defined() && grad_enabled() ? mask.clone() : Tensor(), Q, H, n](Node& self) {
        backward(self.value.data(), self.grad.data(), mask.defined() ? mask.data() : nullptr, Q, H,
                 n, grad_target(*self.inputs[0]));
      });
}

}  // namespace

Var masked_softmax(const Var& x, const Tensor& mask) {
  check_shapes("masked_softmax", x, mask);
  return masked_softmax_impl(x, mask, nullptr);
}

HeadPolicy masked_softmax_head_mean(const Var& x, const Tensor& mask) {
  check_shapes("masked_softmax_head_mean", x, mask);
  const int64_t Q = x.dim(0), H = x.dim(1), n = x.dim(2);
  Tensor pi = Tensor::empty({Q, n});
  HeadPolicy out;
  out.weights = masked_softmax_impl(x, mask, pi.data());
  // The mean's backward: dw[q, h, :] (+)= g[q, :] / H for every head.
  out.policy = record(std::move(pi), {out.weights}, [Q, H, n](Node& self) {
    const float inv_heads = 1.0f / static_cast<float>(H);
    const float* g = self.grad.data();
    GradTarget t = grad_target(*self.inputs[0]);
    with_accumulate(t.accumulate, [&](auto acc) {
      for (int64_t q = 0; q < Q; ++q)
        for (int64_t h = 0; h < H; ++h)
          for (int64_t j = 0; j < n; ++j)
            store(acc, t.data[(q * H + h) * n + j], inv_heads * g[q * n + j]);
    });
  });
  return out;
}

}  // namespace tca::ops
