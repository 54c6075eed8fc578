#include "bench/timing.hpp"

#include <omp.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <thread>

namespace tca::bench {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

double process_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

double quantile(std::vector<double> values, double q) {
  if (values.empty()) throw std::invalid_argument("quantile of an empty sample");
  std::sort(values.begin(), values.end());
  const double pos = q * static_cast<double>(values.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos)), hi = static_cast<size_t>(std::ceil(pos));
  return values[lo] + (values[hi] - values[lo]) * (pos - static_cast<double>(lo));
}

double median(std::vector<double> values) { return quantile(std::move(values), 0.5); }

double parallel_region_s(int regions) {
  double best = 1e30;
  for (int r = 0; r < regions; ++r) {
    const double t0 = now_s();
    // An empty region still forks, joins and passes a barrier on every thread: it takes as long as
    // the slowest vCPU takes to show up, which is what a stall delays.
#pragma omp parallel
    {
      volatile int sink = omp_get_thread_num();
      (void)sink;
    }
    best = std::min(best, now_s() - t0);
  }
  return best;
}

bool cpu_stalled(double threshold_s) {
  if (omp_get_max_threads() < 2) return false;
  return parallel_region_s() > threshold_s;
}

namespace {
std::map<int, double>& fastest_probes() {
  static std::map<int, double> fastest;  // by thread count
  return fastest;
}
}  // namespace

double speed_probe_s() {
  const double t0 = now_s();
  double sink = 0;
#pragma omp parallel reduction(+ : sink)
  {
    // 8 independent chains of 16384 dependent multiply-adds: latency-bound, so the probe measures
    // how fast this vCPU runs, not memory or vector width.
    double y[8] = {1, 1, 1, 1, 1, 1, 1, 1};
    for (int i = 0; i < 16384; ++i)
      for (int k = 0; k < 8; ++k) y[k] = y[k] * 0.9999999 + 1e-7 * k;
    sink += y[0] + y[7];
  }
  const double s = now_s() - t0;
  if (sink == 0.5) return s + 1e-12;  // never true; keeps the loop from being optimised away
  double& fastest = fastest_probes()[omp_get_max_threads()];
  if (fastest == 0 || s < fastest) fastest = s;
  return s;
}

double fastest_speed_probe_s() {
  const auto it = fastest_probes().find(omp_get_max_threads());
  return it == fastest_probes().end() ? 0 : it->second;
}

nlohmann::json TimingResult::to_json() const {
  return {{"median_s", median_s},
          {"min_s", min_s},
          {"p25_s", p25_s},
          {"p75_s", p75_s},
          {"samples", samples},
          {"discarded", discarded},
          {"slow_discarded", slow_discarded},
          {"speed_probe_ratio", speed_probe_ratio},
          {"calls_per_sample", calls_per_sample},
          {"noisy", noisy},
          {"cpu_per_wall", cpu_per_wall},
          {"others_cpu", others_cpu}};
}

namespace {

// Waits (probing every 50 ms) until no stall is seen or `max_wait_s` has passed.
void wait_for_no_stall(double max_wait_s) {
  const double until = now_s() + max_wait_s;
  while (cpu_stalled() && now_s() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

}  // namespace

TimingResult time_calls(const std::function<void()>& fn, const TimingOptions& opt) {
  TimingResult r;
  const double start = now_s();
  double last_call_s = 0;
  for (int w = 0; w < opt.warmup; ++w) {
    const double t0 = now_s();
    fn();
    last_call_s = now_s() - t0;
  }
  if (opt.warmup == 0 && opt.call_s_hint > 0) last_call_s = opt.call_s_hint;
  if (opt.warmup == 0 && opt.call_s_hint <= 0) {  // calibrate with one call kept out of the result
    const double t0 = now_s();
    fn();
    last_call_s = now_s() - t0;
  }
  // Short calls are repeated within a sample so that the clock's resolution and the probe's own
  // cost (a few us) are negligible.
  if (last_call_s > 0 && last_call_s < opt.min_sample_s)
    r.calls_per_sample =
        std::min<int64_t>(1000000, static_cast<int64_t>(std::ceil(opt.min_sample_s / last_call_s)));
  const int min_samples = std::max(1, opt.min_samples);
  const int max_samples = std::max(min_samples, opt.max_samples);
  std::vector<double> cpu_ratios;
  double busy0 = 0, total0 = 0;
  const bool machine_known = machine_cpu_s(busy0, total0);
  const double own0 = process_cpu_s();
  std::vector<double> probe_ratios;
  const bool check_speed = opt.slow_phase_factor > 0;
  double slow_wait_left = opt.max_stall_wait_s;
  while (static_cast<int>(r.kept_s.size()) < max_samples) {
    if (static_cast<int>(r.kept_s.size()) >= min_samples && now_s() - start >= opt.budget_s) break;
    wait_for_no_stall(opt.max_stall_wait_s);
    const double probe_before = check_speed ? speed_probe_s() : 0;
    const double c0 = process_cpu_s(), t0 = now_s();
    for (int64_t c = 0; c < r.calls_per_sample; ++c) fn();
    const double wall = now_s() - t0, cpu = process_cpu_s() - c0;
    const double per_call = wall / static_cast<double>(r.calls_per_sample);
    const double probe_ratio =
        check_speed ? std::max(probe_before, speed_probe_s()) / fastest_speed_probe_s() : 1.0;
    const bool stalled = cpu_stalled(), slow = check_speed && probe_ratio > opt.slow_phase_factor;
    if (stalled || slow) {
      // A slow sample is dropped only while this figure's slow-phase waiting stays within
      // max_stall_wait_s in total: on a machine that is slow throughout (other processes, a
      // loaded CI runner) the figure is taken anyway and flagged, not held up for minutes.
      if (r.discarded < opt.max_discards && (stalled || slow_wait_left > 0)) {
        ++r.discarded;
        if (!stalled) {
          ++r.slow_discarded;
          // Let the slow phase pass (they last seconds) before the next sample.
          const double w0 = now_s();
          while (speed_probe_s() > opt.slow_phase_factor * fastest_speed_probe_s() &&
                 now_s() - w0 < slow_wait_left)
            std::this_thread::sleep_for(std::chrono::milliseconds(100));
          slow_wait_left -= now_s() - w0;
        }
        continue;
      }
      r.noisy = true;  // stalls or slow phases do not stop: keep the sample, but say so
    }
    r.kept_s.push_back(per_call);
    cpu_ratios.push_back(wall > 0 ? cpu / wall : 0.0);
    probe_ratios.push_back(probe_ratio);
  }
  r.speed_probe_ratio = median(probe_ratios);
  r.samples = static_cast<int>(r.kept_s.size());
  r.median_s = median(r.kept_s);
  r.p25_s = quantile(r.kept_s, 0.25);
  r.p75_s = quantile(r.kept_s, 0.75);
  r.min_s = *std::min_element(r.kept_s.begin(), r.kept_s.end());
  r.cpu_per_wall = median(cpu_ratios);
  double busy1 = 0, total1 = 0;
  if (machine_known && machine_cpu_s(busy1, total1) && total1 > total0)
    r.others_cpu =
        std::clamp((busy1 - busy0 - (process_cpu_s() - own0)) / (total1 - total0), 0.0, 1.0);
  r.total_s = now_s() - start;
  return r;
}

bool machine_cpu_s(double& busy_s, double& total_s) {
  std::ifstream in("/proc/stat");
  std::string cpu;
  double user, nice, system, idle, iowait, irq, softirq, steal;
  if (!(in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal) ||
      cpu != "cpu")
    return false;
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  busy_s = (user + nice + system + irq + softirq + steal) / tick;
  total_s = busy_s + (idle + iowait) / tick;
  return true;
}

double others_cpu_busy(double seconds) {
  double b0, t0, b1, t1;
  if (!machine_cpu_s(b0, t0)) return -1;
  const double own0 = process_cpu_s();
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  if (!machine_cpu_s(b1, t1) || t1 <= t0) return -1;
  return std::max(0.0, (b1 - b0 - (process_cpu_s() - own0)) / (t1 - t0));
}

std::vector<double> load_average() {
  std::ifstream in("/proc/loadavg");
  std::vector<double> v(3, 0.0);
  if (!(in >> v[0] >> v[1] >> v[2])) return {0.0, 0.0, 0.0};
  return v;
}

}  // namespace tca::bench
