// Interleaved timing for bench/ executables (platform.md "Timing noise": a vCPU sometimes
// disappears for seconds, and then every 2-thread OpenMP region takes ~4.8 ms instead of ~1 us).
// The calls being compared run interleaved call by call, in windows of ~window_s seconds; each
// window starts outside a stall (an empty OpenMP parallel region under 300 us) and is taken again
// when a stall probe after it fires; a window whose median for any call exceeds that call's best
// window median by more than half (or by 2 ms) is dropped; a figure is the median per-call time
// over the kept windows.
#pragma once
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

namespace tca::bench_timing {

inline double seconds_of(const std::function<void()>& f) {
  const auto t0 = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

inline double median_of(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

struct Timed {
  std::vector<double> us;       // per function: median microseconds per call
  std::vector<double> best_us;  // per function: the best window's median
  int windows_kept = 0, windows = 0, windows_retried = 0;
};

// Shortest of five empty OpenMP parallel regions, in seconds: ~1-3 us normally, milliseconds
// while a vCPU is stalled (platform.md "Timing noise"; never with one thread).
inline double parallel_region_s() {
  double best = 1e30;
  for (int i = 0; i < 5; ++i) {
    const double t = seconds_of([] {
#pragma omp parallel
      { asm volatile("" ::: "memory"); }
    });
    best = std::min(best, t);
  }
  return best;
}

constexpr double kStallRegionS = 300e-6;  // an empty parallel region slower than this: a stall

// Waits (up to 60 s) until the machine is out of a stall episode.
inline void wait_until_no_stall() {
  for (int i = 0; i < 600 && parallel_region_s() > kStallRegionS; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
}

// Times fns interleaved call by call (see the file comment). Each window starts outside a stall
// and is taken again (up to 5 times) when a stall probe after it fires.
inline Timed time_interleaved(const std::vector<std::function<void()>>& fns, int windows,
                              double window_s) {
  const size_t F = fns.size();
  std::vector<double> est(F);
  wait_until_no_stall();
  for (size_t i = 0; i < F; ++i) {
    for (int w = 0; w < 3; ++w) fns[i]();  // warm-up: primitive creation, page faults
    std::vector<double> t;
    for (int w = 0; w < 5; ++w) t.push_back(seconds_of(fns[i]));
    est[i] = median_of(t);
  }
  double per_round = 0;
  for (double e : est) per_round += e;
  const int64_t calls =
      std::clamp<int64_t>(static_cast<int64_t>(window_s / std::max(per_round, 1e-9)), 3, 200000);
  Timed r;
  r.windows = windows;
  std::vector<std::vector<std::vector<double>>> s(static_cast<size_t>(windows),
                                                  std::vector<std::vector<double>>(F));
  for (auto& win : s)
    for (int attempt = 0; attempt < 6; ++attempt) {
      wait_until_no_stall();
      for (auto& v : win) {
        v.clear();
        v.reserve(static_cast<size_t>(calls));
      }
      for (int64_t c = 0; c < calls; ++c)
        for (size_t i = 0; i < F; ++i) win[i].push_back(seconds_of(fns[i]));
      if (parallel_region_s() <= kStallRegionS) break;
      ++r.windows_retried;
    }
  // Windows still hit by a stall (it began and ended inside the window): a median far above
  // the best window's.
  std::vector<std::vector<double>> med(s.size(), std::vector<double>(F));
  std::vector<double> best(F, 1e30);
  for (size_t w = 0; w < s.size(); ++w)
    for (size_t i = 0; i < F; ++i) best[i] = std::min(best[i], med[w][i] = median_of(s[w][i]));
  std::vector<std::vector<double>> kept(F);
  for (size_t w = 0; w < s.size(); ++w) {
    bool stalled = false;
    for (size_t i = 0; i < F; ++i) stalled |= med[w][i] - best[i] > std::min(0.5 * best[i], 2e-3);
    if (stalled) continue;
    ++r.windows_kept;
    for (size_t i = 0; i < F; ++i) kept[i].insert(kept[i].end(), s[w][i].begin(), s[w][i].end());
  }
  for (size_t i = 0; i < F; ++i) {
    r.us.push_back(1e6 * (kept[i].empty() ? best[i] : median_of(kept[i])));
    r.best_us.push_back(1e6 * best[i]);
  }
  return r;
}

}  // namespace tca::bench_timing
