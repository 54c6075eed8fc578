// Inverted dropout whose keep-mask comes from the explicitly passed generator (seeded, so a run is
// reproducible and resumable).
//
// Each call takes exactly one 64-bit draw from `rng` as the mask's seed; the mask itself is
// produced by a block generator and never stored: the backward regenerates it from the seed.
// Drawing one xoshiro uniform per element in sequence (the former form) was ~15% of a copy-task
// training step, on 8M-element attention weights; the block form below vectorises and runs on
// every thread, and keeping no mask saves a 4-byte-per-element tensor and its memory traffic.
//
// The mask: elements are cut into fixed blocks of kBlock; block b runs kLanes independent
// xoshiro256** generators (seeded through splitmix64 from the call's seed and b), and every 64-bit
// output gives two 32-bit uniforms u; an element is kept iff u >= round(p * 2^32). Blocks are
// independent, so the mask does not depend on the thread count.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "autograd/elementwise_kernels.hpp"
#include "autograd/grad_sink.hpp"
#include "autograd/ops.hpp"
#include "autograd/write_or_accumulate.hpp"
#include "core/error.hpp"

namespace tca::ops {
namespace {

constexpr int kLanes = 8;                    // two AVX2 vectors of 64-bit state per word
constexpr int64_t kPerRound = 2 * kLanes;    // 32-bit uniforms per generator round
constexpr int64_t kBlock = 256 * kPerRound;  // elements per independently seeded block

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// kLanes xoshiro256** generators in structure-of-arrays form, so one round is a few vector ops.
// The multiplications by 5 and 9 are written as shifts and adds (AVX2 has no 64-bit multiply).
struct LaneGenerator {
  uint64_t s0[kLanes], s1[kLanes], s2[kLanes], s3[kLanes];

  LaneGenerator(uint64_t seed, uint64_t block) {
    uint64_t x = seed ^ (block * 0xD1B54A32D192ED03ull);
    for (int l = 0; l < kLanes; ++l) {
      s0[l] = splitmix64(x);
      s1[l] = splitmix64(x);
      s2[l] = splitmix64(x);
      s3[l] = splitmix64(x);
    }
  }

  // u[j] and u[j + kLanes] are the low and high halves of lane j's next output.
  void next(uint32_t* u) {
#pragma omp simd
    for (int l = 0; l < kLanes; ++l) {
      const uint64_t a = (s1[l] << 2) + s1[l];  // s1 * 5
      const uint64_t r = (a << 7) | (a >> 57);  // rotl(., 7)
      const uint64_t result = (r << 3) + r;     // * 9
      const uint64_t t = s1[l] << 17;
      s2[l] ^= s0[l];
      s3[l] ^= s1[l];
      s1[l] ^= s2[l];
      s0[l] ^= s3[l];
      s2[l] ^= t;
      s3[l] = (s3[l] << 45) | (s3[l] >> 19);
      u[l] = static_cast<uint32_t>(result);
      u[l + kLanes] = static_cast<uint32_t>(result >> 32);
    }
  }
};

// out[i] (+)= in[i] * (kept(i) ? scale : 0) for i < n, the mask being the one of `seed`.
void apply_mask(uint64_t seed, uint32_t threshold, float scale, const float* in, float* out,
                int64_t n, bool accumulate) {
  const int64_t blocks = (n + kBlock - 1) / kBlock;
#pragma omp parallel for schedule(static) if (n > elementwise_loop_max())
  for (int64_t b = 0; b < blocks; ++b) {
    LaneGenerator gen(seed, static_cast<uint64_t>(b));
    const int64_t end = std::min(n, (b + 1) * kBlock);
    for (int64_t i0 = b * kBlock; i0 < end; i0 += kPerRound) {
      uint32_t u[kPerRound];
      gen.next(u);
      const int64_t m = std::min(kPerRound, end - i0);
      const float* x = in + i0;
      float* y = out + i0;
      with_accumulate(accumulate, [&](auto acc) {
#pragma omp simd
        for (int64_t j = 0; j < m; ++j) store(acc, y[j], x[j] * (u[j] >= threshold ? scale : 0.0f));
      });
    }
  }
}

}  // namespace

Var dropout(const Var& x, float p, Rng& rng, bool training) {
  if (!training || p <= 0.0f) return x;
  if (p >= 1.0f) throw ShapeError("dropout: p must be < 1, found " + std::to_string(p));
  const float scale = 1.0f / (1.0f - p);
  // P(u >= threshold) = 1 - threshold / 2^32 = 1 - p up to 2^-32.
  const auto threshold = static_cast<uint32_t>(std::llround(static_cast<double>(p) * 4294967296.0));
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
