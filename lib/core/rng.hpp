// The one random generator of the toolkit: xoshiro256** seeded through splitmix64. It is passed
// explicitly (no global generator), its whole state is four integers (saved in checkpoints), and
// its distributions are our own code, so the same seed gives the same numbers on every platform
// and standard library (std:: distributions are implementation-defined).
#pragma once
#include <array>
#include <cmath>
#include <cstdint>

namespace tca {

class Rng {
 public:
  using State = std::array<uint64_t, 4>;

  explicit Rng(uint64_t seed = 0) { seed_with(seed); }

  void seed_with(uint64_t seed) {
    uint64_t x = seed;
    for (auto& s : s_) s = splitmix64(x);
  }

  // A generator for an independent stream derived from this seed and a stream id (e.g. one per
  // eval batch or per worker), without advancing this one.
  Rng fork(uint64_t stream) const {
    Rng r(0);
    uint64_t x = s_[0] ^ (stream * 0x9E3779B97F4A7C15ull) ^ s_[3];
    for (auto& s : r.s_) s = splitmix64(x);
    return r;
  }

  uint64_t next_u64() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

  // Uniform in [0, 1) with 53 random bits.
  double uniform() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }

  // Uniform integer in [lo, hi] (inclusive), unbiased (rejection).
  int64_t uniform_int(int64_t lo, int64_t hi) {
    const uint64_t range = static_cast<uint64_t>(hi - lo) + 1;
    if (range == 0) return static_cast<int64_t>(next_u64());  // full 64-bit range
    const uint64_t limit = UINT64_MAX - UINT64_MAX % range;
    uint64_t v;
    do v = next_u64();
    while (v >= limit);
    return lo + static_cast<int64_t>(v % range);
  }

  // Standard normal (Box-Muller; no cached second value, so the state is just s_).
  double normal() {
    double u1 = uniform();
    while (u1 <= 0.0) u1 = uniform();
    const double u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  double normal(double mean, double std) { return mean + std * normal(); }

  // Index drawn from unnormalised non-negative weights w[0..n).
  template <class T>
  int64_t categorical(const T* w, int64_t n) {
    double total = 0;
    for (int64_t i = 0; i < n; ++i) total += static_cast<double>(w[i]);
    double u = uniform() * total;
    for (int64_t i = 0; i < n; ++i) {
      u -= static_cast<double>(w[i]);
      if (u < 0) return i;
    }
    for (int64_t i = n - 1; i >= 0; --i)  // rounding: the last index with positive weight
      if (w[i] > 0) return i;
    return n - 1;
  }

  // Fisher-Yates shuffle of v[0..n).
  template <class T>
  void shuffle(T* v, int64_t n) {
    for (int64_t i = n - 1; i > 0; --i) {
      int64_t j = uniform_int(0, i);
      T tmp = v[i];
      v[i] = v[j];
      v[j] = tmp;
    }
  }

  State state() const { return s_; }
  void set_state(const State& s) { s_ = s; }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static uint64_t splitmix64(uint64_t& x) {
    uint64_t z = (x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  State s_{};
};

}  // namespace tca
