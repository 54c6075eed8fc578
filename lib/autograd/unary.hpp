// Helper for elementwise unary ops written as loops: y = f(x), dy/dx = df(x, y).
#pragma once
#include "autograd/variable.hpp"

namespace tca::ops {

template <class F, class DF>
Var unary(const Var& x, F f, DF df) {
  Tensor y = Tensor::empty(x.shape());
  const float* px = x.value().data();
  float* py = y.data();
  for (int64_t i = 0, n = x.numel(); i < n; ++i) py[i] = f(px[i]);
  return record(std::move(y), {x}, [df](Node& self) {
    Node& nx = *self.inputs[0];
    const float* g = self.grad.data();
    const float* xs = nx.value.data();
    const float* ys = self.value.data();
    float* gx = nx.grad_buffer().data();
    for (int64_t i = 0, n = nx.value.numel(); i < n; ++i) gx[i] += g[i] * df(xs[i], ys[i]);
  });
}

}  // namespace tca::ops
