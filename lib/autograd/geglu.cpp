// GEGLU (tca.md 1: the feed-forward is GEGLU with the exact erf GELU) as one fused op:
//   h = [a, b] split in halves along the last axis,  y = a * gelu(b),  gelu(b) = b Phi(b)
//   dA = g gelu(b),  dB = g a gelu'(b),  gelu'(b) = Phi(b) + b phi(b)
// Done as split + gelu + mul, the copy task's [16384, 256] hidden layer took two strided copies
// (oneDNN's slow "simple:any" reorder), a gelu and a binary mul forward and as many passes
// backward, each over 8 MB; here it is one pass each way. oneDNN has no fused primitive for it.
//
// Phi(b) = (1 + erf(b / sqrt 2)) / 2 with the erf of Abramowitz & Stegun 7.1.26 (|error| <=
// 1.5e-7), the approximation oneDNN's gelu_erf kernel uses, and exp from a Cody-Waite reduction
// and a degree-6 polynomial; both are written so that the loops vectorise (this file is built
// without trapping math, CMakeLists.txt, so that the selects become blends). For b < 0, Phi is
// taken directly as poly * e^(-u^2) / 2, without the cancellation in 1 + erf.
#include <cmath>
#include <cstdint>
#include <cstring>

#include "autograd/elementwise_kernels.hpp"
#include "autograd/grad_sink.hpp"
#include "autograd/ops.hpp"
#include "autograd/write_or_accumulate.hpp"
#include "core/error.hpp"

namespace tca::ops {
namespace {

// e^x for x <= 0 (x >= -87.3 keeps 2^k normal; below, the result is flushed towards 0, far below
// what Phi and phi can resolve). Relative error ~2e-7. A NaN x (a diverged run's activations) is
// clamped too: the comparison is written so that NaN fails it, since a NaN k would be converted to
// int32 (undefined; INT_MIN on x86, then a left shift of a negative value, which UBSan reported
// under make test-sanitize). The NaN still reaches the output through b itself.
inline float exp_nonpositive(float x) {
  x = x >= -87.0f ? x : -87.0f;
  // k = round(x / ln 2): adding 1.5 * 2^23 rounds to an integer (|x / ln 2| < 2^22), subtracting
  // it back is exact. (std::nearbyint is a library call that keeps the loop scalar.)
  const float k = (x * 1.44269504f + 12582912.0f) - 12582912.0f;
  const float r = (x - k * 0.693145752f) - k * 1.42860677e-6f;  // ln 2 split in two parts
  float p = 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(k) + 127) << 23;  // 2^k
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

struct GeluParts {
  float cdf;  // Phi(b)
  float pdf;  // phi(b)
};

inline GeluParts gelu_parts(float b) {
  const float u = std::fabs(b) * 0.707106781f;  // |b| / sqrt 2
  const float t = 1.0f / (1.0f + 0.3275911f * u);
  float poly = 1.061405429f;
  poly = poly * t - 1.453152027f;
  poly = poly * t + 1.421413741f;
  poly = poly * t - 0.284496736f;
  poly = poly * t + 0.254829592f;
  poly *= t;
  const float e = exp_nonpositive(-u * u);  // e^(-b^2/2)
  const float tail = 0.5f * poly * e;       // Phi(-|b|) = (1 - erf(u)) / 2
  return {b < 0.0f ? tail : 1.0f - tail, 0.398942280f * e};
}

}  // namespace

Var geglu(const Var& h) {
  const Shape& sh = h.shape();
  if (sh.empty() || sh.back() % 2 != 0)
    throw ShapeError("geglu: the last axis must have an even extent, found " + to_string(sh));
  const int64_t F = sh.back() / 2, R = F ? h.numel() / (2 * F) : 0;
  Shape out_shape = sh;
  out_shape.back() = F;
  Tensor y = Tensor::empty(out_shape);
  const float* ph = h.value().data();
  float* py = y.data();
#pragma omp parallel for schedule(static) if (R * F > elementwise_loop_max())
  for (int64_t r = 0; r < R; ++r) {
    const float* a = ph + r * 2 * F;
    const float* b = a + F;
    float* yr = py + r * F;
#pragma omp simd
    for (int64_t j = 0; j < F; ++j) yr[j] = a[j] * (b[j] * gelu_parts(b[j]).cdf);
  }
  return record(std::move(y), {h}, [R, F](Node& self) {
    Node& nh = *self.inputs[0];
    const float* hv = nh.value.data();
    const float* pg = self.grad.data();
    GradTarget t = grad_target(nh);
#pragma omp parallel for schedule(static) if (R * F > elementwise_loop_max())
    for (int64_t r = 0; r < R; ++r) {
      const float* a = hv + r * 2 * F;
      const float* b = a + F;
      const float* g = pg + r * F;
      float* da = t.data + r * 2 * F;
      float* db = da + F;
      with_accumulate(t.accumulate, [&](auto acc) {
#pragma omp simd
        for (int64_t j = 0; j < F; ++j) {
          const GeluParts p = gelu_parts(b[j]);
          store(acc, da[j], g[j] * (b[j] * p.cdf));
          store(acc, db[j], g[j] * a[j] * (p.cdf + b[j] * p.pdf));
        }
      });
    }
  });
}

}  // namespace tca::ops
