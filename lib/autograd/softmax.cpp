// Softmax / log-softmax over the last axis; the optional mask replaces logits by -FLT_MAX, as the
// reference does (masked_fill with the most negative finite float): a fully masked row becomes
// uniform, and masked logits receive no gradient.
#include <cfloat>
#include <cmath>

#include "autograd/broadcast.hpp"
#include "autograd/ops.hpp"
#include "core/error.hpp"

namespace tca::ops {

Var softmax(const Var& x, const Tensor& mask) {
  const int64_t C = x.shape().empty() ? 1 : x.shape().back();
  const int64_t R = C ? x.numel() / C : 0;
  Tensor logits = x.value();
  Tensor keep;  // f32 0/1 of x's shape, only when masked
  if (mask.defined()) {
    Broadcast bc(x.shape(), mask.shape(), "softmax mask");
    if (bc.out != x.shape())
      throw ShapeError("softmax: mask " + to_string(mask.shape()) + " does not broadcast to " +
                       to_string(x.shape()));
    logits = Tensor::empty(x.shape());
    keep = Tensor::empty(x.shape());
    const float* px = x.value().data();
    const float* pm = mask.data();
    float* pl = logits.data();
    float* pk = keep.data();
    bc.for_each([&](int64_t o, int64_t i, int64_t j) {
      pk[o] = pm[j] != 0.0f ? 1.0f : 0.0f;
      pl[o] = pm[j] != 0.0f ? px[i] : -FLT_MAX;
    });
  }
  Tensor y = Tensor::empty(x.shape());
  const float* pl = logits.data();
  float* py = y.data();
  for (int64_t r = 0; r < R; ++r) {
    const float* l = pl + r * C;
    float m = l[0];
    for (int64_t c = 1; c < C; ++c) m = std::max(m, l[c]);
    float s = 0;
    for (int64_t c = 0; c < C; ++c) s += (py[r * C + c] = std::exp(l[c] - m));
    const float inv = 1.0f / s;
    for (int64_t c = 0; c < C; ++c) py[r * C + c] *= inv;
  }
  return record(std::move(y), {x}, [keep, R, C](Node& self) {
    Node& nx = *self.inputs[0];
    const float* g = self.grad.data();
    const float* ys = self.value.data();
    float* dx = nx.grad_buffer().data();
    const float* pk = keep.defined() ? keep.data() : nullptr;
    for (int64_t r = 0; r < R; ++r) {
      float dot = 0;
      for (int64_t c = 0; c < C; ++c) dot += g[r * C + c] * ys[r * C + c];
      for (int64_t c = 0; c < C; ++c) {
        const int64_t i = r * C + c;
        if (!pk || pk[i] != 0.0f) dx[i] += ys[i] * (g[i] - dot);
      }
    }
  });
}

Var log_softmax(const Var& x) {
  const int64_t C = x.shape().empty() ? 1 : x.shape().back();
  const int64_t R = C ? x.numel() / C : 0;
  Tensor y = Tensor::empty(x.shape());
  const float* px = x.value().data();
  float* py = y.data();
  for (int64_t r = 0; r < R; ++r) {
    const float* l = px + r * C;
    float m = l[0];
    for (int64_t c = 1; c < C; ++c) m = std::max(m, l[c]);
    float s = 0;
    for (int64_t c = 0; c < C; ++c) s += std::exp(l[c] - m);
    const float lse = m + std::log(s);
    for (int64_t c = 0; c < C; ++c) py[r * C + c] = l[c] - lse;
  }
  return record(std::move(y), {x}, [R, C](Node& self) {
    Node& nx = *self.inputs[0];
    const float* g = self.grad.data();
    const float* ys = self.value.data();
    float* dx = nx.grad_buffer().data();
    for (int64_t r = 0; r < R; ++r) {
      float gs = 0;
      for (int64_t c = 0; c < C; ++c) gs += g[r * C + c];
      for (int64_t c = 0; c < C; ++c) dx[r * C + c] += g[r * C + c] - std::exp(ys[r * C + c]) * gs;
    }
  });
}

}  // namespace tca::ops
