// Wall-clock measurement that stays trustworthy on this machine (platform.md "Timing noise"):
// a vCPU sometimes disappears for seconds, and while it is gone every 2-thread OpenMP region takes
// ~4.8 ms instead of ~1 us. So every sample is bracketed by a stall probe (a few empty 2-thread
// parallel regions); a sample whose probe before or after shows a stall is discarded and taken
// again once the stall is over. Figures are medians over the kept samples after warm-up calls;
// the quartiles and the number of discarded samples are reported beside them so a reader can see
// how noisy a figure was. Used by `tca bench` (bench_train, bench_infer, bench_matmul) and meant
// for bench/ executables too.
#pragma once
#include <cstdint>
#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace tca::bench {

// Monotonic seconds.
double now_s();
// CPU seconds used by this process so far (all threads).
double process_cpu_s();

// Median / quantile (linear interpolation) of a non-empty sample; throws std::invalid_argument
// on an empty one.
double median(std::vector<double> values);
double quantile(std::vector<double> values, double q);

// The shortest of `regions` empty OpenMP parallel regions with the current thread count, in
// seconds: ~1-2 us normally, milliseconds while a vCPU is stalled or the machine is overloaded.
double parallel_region_s(int regions = 5);
// True when parallel_region_s() exceeds the stall threshold (always false with one thread, where
// platform.md saw no stall).
bool cpu_stalled(double threshold_s = 500e-6);

// Wall seconds of a fixed compute load (~0.3 ms of dependent multiply-adds) on every thread at
// once. Besides multi-second stalls, this VM has phases of seconds in which the same code runs up
// to ~3x slower (host contention: a probe of this kind took 2.2 ms, then 6.2 ms a second later,
// with nothing in /proc/stat); a sample taken in one is discarded like a stalled one. Phases that
// slow only memory-bound work get past it (README, Performance).
double speed_probe_s();
// The fastest speed_probe_s() seen so far in this process at the current thread count (the
// machine's normal speed); 0 before the first probe.
double fastest_speed_probe_s();

struct TimingOptions {
  int warmup = 2;              // untimed calls first (primitive creation, page faults, caches)
  int min_samples = 5;         // kept samples wanted at least (unless the budget runs out first)
  int max_samples = 15;        // never more than this many kept samples
  double budget_s = 10.0;      // stop adding samples past this (after at least min_samples or 1)
  double min_sample_s = 0.02;  // a sample repeats the call until it lasts this long (short calls)
  int max_discards = 20;       // give up discarding after this many (the figure is then flagged)
  // A sample is also discarded when the speed probe right before or after it is slower than this
  // factor times the fastest probe seen (a slow phase of the machine), as long as the figure has
  // waited less than max_stall_wait_s in all for slow phases to pass; <= 0 turns that off.
  double slow_phase_factor = 1.4;
  double max_stall_wait_s = 20.0;  // longest wait for a stall to pass before the next sample
  // Duration of one call measured by the caller (e.g. its own first call). With warmup = 0 it
  // sizes the samples instead of an extra calibration call (which costs seconds for slow calls).
  double call_s_hint = 0;
};

struct TimingResult {
  double median_s = 0, min_s = 0, p25_s = 0, p75_s = 0;  // per call
  int samples = 0;                                       // kept samples
  int discarded = 0;       // samples dropped because a stall probe fired or the machine was slow
  int slow_discarded = 0;  // of which: dropped because the speed probe showed a slow phase
  // Median over kept samples of (slower speed probe around the sample) / (fastest probe seen):
  // ~1 on a machine at its normal speed.
  double speed_probe_ratio = 0;
  int64_t calls_per_sample = 1;
  double total_s = 0;  // wall time of the whole measurement, warm-up included
  bool noisy = false;  // too many discards: the last samples were kept despite stalls
  // Median over kept samples of process CPU time / wall time: ~1 for single-threaded work and up
  // to the thread count for parallel work (OpenMP threads spin while waiting); clearly below the
  // expected value when other processes took the CPUs away.
  double cpu_per_wall = 0;
  // Share of all CPUs' time used by other processes while the samples were taken (/proc/stat
  // busy time minus this process's CPU time, 10 ms resolution); -1 when unknown. Above ~0.1 the
  // figure was taken on a busy machine and is slower than on an idle one.
  double others_cpu = -1;
  std::vector<double> kept_s;  // per-call time of each kept sample, in order

  // {"median_s", "min_s", "p25_s", "p75_s", "samples", "discarded", "slow_discarded",
  //  "speed_probe_ratio", "calls_per_sample", "noisy", "cpu_per_wall", "others_cpu"}
  nlohmann::json to_json() const;
};

// Times `fn` (one call = one unit: a training step, a batch of queries) as described above.
TimingResult time_calls(const std::function<void()>& fn, const TimingOptions& options);

// Busy and total CPU seconds of the whole machine so far (all CPUs, /proc/stat); false when
// unreadable.
bool machine_cpu_s(double& busy_s, double& total_s);

// Fraction of all CPUs' time that was busy (user, nice, system, irq, softirq, steal) during the
// next `seconds`, from /proc/stat; this process sleeps meanwhile, so it measures the others.
// -1 when /proc/stat is unreadable.
double others_cpu_busy(double seconds = 1.0);

// Load averages from /proc/loadavg (1, 5, 15 min); zeros when unreadable. Recorded in the
// benchmark files: other processes on the 2 vCPUs slow every figure.
std::vector<double> load_average();

}  // namespace tca::bench
