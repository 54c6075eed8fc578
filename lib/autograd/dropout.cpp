// Inverted dropout drawing its keep-mask from the explicitly passed generator (seeded, so a run
// is reproducible and resumable).
#include "autograd/elementwise_kernels.hpp"
#include "autograd/grad_sink.hpp"
#include "autograd/ops.hpp"
#include "core/error.hpp"

namespace tca::ops {

Var dropout(const Var& x, float p, Rng& rng, bool training) {
  if (!training || p <= 0.0f) return x;
  if (p >= 1.0f) throw ShapeError("dropout: p must be < 1, found " + std::to_string(p));
  const float scale = 1.0f / (1.0f - p);
  const int64_t n = x.numel();
  Tensor keep = Tensor::empty(x.shape());  // 0 or 1/(1-p)
  Tensor y = Tensor::empty(x.shape());
  const float* px = x.value().data();
  for (int64_t i = 0; i < n; ++i) {  // one draw per element, in order: the stream is the seed's
    keep[i] = rng.uniform() >= p ? scale : 0.0f;
    y[i] = px[i] * keep[i];
  }
  return record(std::move(y), {x}, [keep, n](Node& self) {
    GradTarget t = grad_target(*self.inputs[0]);  // dx (+)= g * keep
    binary_same_shape(BinaryAlg::mul, self.grad.data(), keep.data(), t.data, n, t.accumulate);
  });
}

}  // namespace tca::ops
