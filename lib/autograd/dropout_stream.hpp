// The keep-mask stream of ops::dropout (dropout.cpp), shared with the fused attention
// (flash_attention.cpp) so that both drop exactly the same elements for the same seed.
//
// Elements are cut into fixed blocks of kBlock; block b runs kLanes independent xoshiro256**
// generators (seeded through splitmix64 from the call's seed and b), and every 64-bit output gives
// two 32-bit uniforms u; an element is kept iff u >= threshold = round(p * 2^32). Blocks are
// independent, so the mask does not depend on the thread count, and a reader can start anywhere
// (DropoutStream::seek): at the start of the block, skipping the rounds before the element.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>

namespace tca::ops {

constexpr int kDropoutLanes = 8;                         // two AVX2 vectors of 64-bit state
constexpr int64_t kDropoutPerRound = 2 * kDropoutLanes;  // 32-bit uniforms per generator round
constexpr int64_t kDropoutBlock =
    256 * kDropoutPerRound;  // elements per independently seeded block

// P(u >= threshold) = 1 - threshold / 2^32 = 1 - p up to 2^-32.
inline uint32_t dropout_threshold(float p) {
  return static_cast<uint32_t>(std::llround(static_cast<double>(p) * 4294967296.0));
}

inline uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// The keep test u >= threshold written as a signed comparison of both values biased by 2^31,
// which is the same order. AVX2 has no unsigned 32-bit compare: with the unsigned form GCC kept
// the mask loops scalar, with a branch per element that a random mask mispredicts (perf: ~70% of
// the dropout op's time in a copy-task step).
inline int32_t biased_uniform(uint32_t u) { return static_cast<int32_t>(u ^ 0x80000000u); }

// keep[j] = scale where u[j] is kept (u >= threshold, `keep_from` = biased_uniform(threshold)),
// else 0, for j < n: the multipliers of one generator round, the one place the keep test is
// written (ops::dropout and DropoutStream). Inlined with n = kDropoutPerRound it vectorises.
inline void keep_multipliers(const uint32_t* u, int32_t keep_from, float scale, float* keep,
                             int64_t n) {
#pragma omp simd
  for (int64_t j = 0; j < n; ++j) keep[j] = biased_uniform(u[j]) >= keep_from ? scale : 0.0f;
}

// kDropoutLanes xoshiro256** generators in structure-of-arrays form, so one round is a few vector
// ops. The multiplications by 5 and 9 are written as shifts and adds (AVX2 has no 64-bit
// multiply).
struct DropoutLaneGenerator {
  uint64_t s0[kDropoutLanes], s1[kDropoutLanes], s2[kDropoutLanes], s3[kDropoutLanes];

  DropoutLaneGenerator(uint64_t seed, uint64_t block) {
    uint64_t x = seed ^ (block * 0xD1B54A32D192ED03ull);
    for (int l = 0; l < kDropoutLanes; ++l) {
      s0[l] = splitmix64(x);
      s1[l] = splitmix64(x);
      s2[l] = splitmix64(x);
      s3[l] = splitmix64(x);
    }
  }

  // u[j] and u[j + kDropoutLanes] are the low and high halves of lane j's next output.
  void next(uint32_t* u) {
#pragma omp simd
    for (int l = 0; l < kDropoutLanes; ++l) {
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
      u[l + kDropoutLanes] = static_cast<uint32_t>(result >> 32);
    }
  }
};

// A sequential reader of the mask of one seed, from any element index on: fill() writes the next
// elements' multipliers (scale where kept, 0 where dropped). Reading from index i onwards gives
// exactly what ops::dropout applies to elements i, i + 1, ... of a tensor with that seed.
class DropoutStream {
 public:
  DropoutStream(uint64_t seed, uint32_t threshold, float scale)
      : seed_(seed), threshold_(threshold), scale_(scale), gen_(seed, 0) {}

  // The next fill() starts at element `index` (cheap when the stream is already there).
  void seek(int64_t index) {
    if (index == pos_) return;
    const int64_t block = index / kDropoutBlock, within = index % kDropoutBlock;
    gen_ = DropoutLaneGenerator(seed_, static_cast<uint64_t>(block));
    for (int64_t r = 0; r < within / kDropoutPerRound; ++r) gen_.next(u_);
    used_ = kDropoutPerRound;
    if (within % kDropoutPerRound != 0) {
      gen_.next(u_);
      used_ = within % kDropoutPerRound;
    }
    pos_ = index;
  }

  void fill(float* z, int64_t n) {
    while (n > 0) {
      if (used_ == kDropoutPerRound) {
        if (pos_ % kDropoutBlock == 0)
          gen_ = DropoutLaneGenerator(seed_, static_cast<uint64_t>(pos_ / kDropoutBlock));
        gen_.next(u_);
        used_ = 0;
      }
      const int64_t c = std::min(n, kDropoutPerRound - used_);
      const uint32_t* u = u_ + used_;
      if (c == kDropoutPerRound)  // a whole round: one fixed-length vector loop
        keep_multipliers(u, biased_uniform(threshold_), scale_, z, kDropoutPerRound);
      else
        keep_multipliers(u, biased_uniform(threshold_), scale_, z, c);
      z += c;
      n -= c;
      used_ += c;
      pos_ += c;
    }
  }

 private:
  uint64_t seed_;
  uint32_t threshold_;
  float scale_;
  DropoutLaneGenerator gen_;
  uint32_t u_[kDropoutPerRound] = {};
  int64_t used_ = kDropoutPerRound;  // uniforms of u_ already consumed
  int64_t pos_ = -1;                 // the element the next fill() starts at
};

}  // namespace tca::ops
