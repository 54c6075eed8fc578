// Inverted dropout whose keep-mask comes from the explicitly passed generator (seeded, so a run is
// reproducible and resumable).
//
// Each call takes exactly one 64-bit draw from `rng` as the mask's seed; the mask itself is
// produced by a block generator and never stored: the backward regenerates it from the seed.
// Drawing one xoshiro uniform per element in sequence (the former form) was ~15% of a copy-task
// training step, on 8M-element attention weights; the block form below vectorises and runs on
// every thread, and keeping no mask saves a 4-byte-per-element tensor and its memory traffic.
//
// The mask (dropout_stream.hpp, shared with the fused attention of flash_attention.cpp): fixed
// blocks of kDropoutBlock elements, each running its own seeded lane generators, so the mask does
// not depend on the thread count.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "autograd/dropout_stream.hpp"
#include "autograd/elementwise_kernels.hpp"
#include "autograd/grad_sink.hpp"
#include "autograd/ops.hpp"
#include "core/error.hpp"

namespace tca::ops {
namespace {

// out[i] (+)= in[i] * (kept(i) ? scale : 0) for i < n, the mask being the one of `seed`.
void apply_mask(uint64_t seed, uint32_t threshold, float scale, const float* in, float* out,
                int64_t n, bool accumulate) {
  const int64_t blocks = (n + kDropoutBlock - 1) / kDropoutBlock;
#pragma omp parallel for schedule(static) if (n > elementwise_loop_max())
  for (int64_t b = 0; b < blocks; ++b) {
    // Thread-local copies: the region's shared variables are read through pointers that `out`
    // might alias, which keeps the loops below scalar.
    const int32_t keep_from = biased_uniform(threshold);
    const float s = scale;
    DropoutLaneGenerator gen(seed, static_cast<uint64_t>(b));
    const int64_t end = std::min(n, (b + 1) * kDropoutBlock);
    for (int64_t i0 = b * kDropoutBlock; i0 < end; i0 += kDropoutPerRound) {
      uint32_t u[kDropoutPerRound];
      gen.next(u);
      // The round's multipliers first, then the element loop: both vectorise (the multipliers
      // are a local array that `out` cannot alias, and everything else is a local copy).
      float keep[kDropoutPerRound];
      keep_multipliers(u, keep_from, s, keep, kDropoutPerRound);
      const int64_t m = std::min(kDropoutPerRound, end - i0);
      const float* x = in + i0;
      float* y = out + i0;
      if (accumulate) {
#pragma omp simd
        for (int64_t j = 0; j < m; ++j) y[j] += x[j] * keep[j];
      } else {
#pragma omp simd
        for (int64_t j = 0; j < m; ++j) y[j] = x[j] * keep[j];
      }
    }
  }
}

}  // namespace

Var dropout(const Var& x, float p, Rng& rng, bool training) {
  if (!training || p <= 0.0f) return x;
  if (p >= 1.0f) throw ShapeError("dropout: p must be < 1, found " + std::to_string(p));
  const float scale = 1.0f / (1.0f - p);
  const uint32_t threshold = dropout_threshold(p);
  const uint64_t seed = rng.next_u64();
  const int64_t n = x.numel();
  Tensor y = Tensor::empty(x.shape());
  apply_mask(seed, threshold, scale, x.value().data(), y.data(), n, false);
  return record(std::move(y), {x}, [seed, threshold, scale, n](Node& self) {
    GradTarget t = grad_target(*self.inputs[0]);  // dx (+)= g * mask, the forward's mask
    apply_mask(seed, threshold, scale, self.grad.data(), t.data, n, t.accumulate);
  });
}

}  // namespace tca::ops
