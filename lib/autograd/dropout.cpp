// Inverted dropout drawing its keep-mask from the explicitly passed generator (seeded, so a run
// is reproducible and resumable).
#include "autograd/ops.hpp"
#include "core/error.hpp"

namespace tca::ops {

Var dropout(const Var& x, float p, Rng& rng, bool training) {
  if (!training || p <= 0.0f) return x;
  if (p >= 1.0f) throw ShapeError("dropout: p must be < 1, found " + std::to_string(p));
  const float scale = 1.0f / (1.0f - p);
  Tensor keep = Tensor::empty(x.shape());
  Tensor y = Tensor::empty(x.shape());
  const float* px = x.value().data();
  for (int64_t i = 0, n = x.numel(); i < n; ++i) {
    keep[i] = rng.uniform() >= p ? scale : 0.0f;
    y[i] = px[i] * keep[i];
  }
  return record(std::move(y), {x}, [keep](Node& self) {
    float* g = self.inputs[0]->grad_buffer().data();
    for (int64_t i = 0, n = keep.numel(); i < n; ++i) g[i] += self.grad[i] * keep[i];
  });
}

}  // namespace tca::ops
