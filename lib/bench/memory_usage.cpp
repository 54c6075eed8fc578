#include "bench/memory_usage.hpp"

#include <malloc.h>

#include <fstream>
#include <string>

#include "core/buffer_pool.hpp"
#include "core/system_info.hpp"

namespace tca::bench {

namespace {

// The value of a "Key:   1234 kB" line of /proc/self/status in MiB, or -1.
double status_field_mb(const std::string& key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(key + ":", 0) != 0) continue;
    try {
      return std::stod(line.substr(key.size() + 1)) / 1024.0;  // the kernel reports kB
    } catch (const std::exception&) {
      return -1;
    }
  }
  return -1;
}

}  // namespace

void release_free_heap() {
  // Every thread's pool of large buffers first (data-parallel replicas keep theirs between steps,
  // core/buffer_pool.hpp): the OpenMP team reuses the same worker threads.
#pragma omp parallel
  release_pooled_buffers();
  malloc_trim(0);
}

bool reset_peak_rss() {
  std::ofstream out("/proc/self/clear_refs");
  if (!out) return false;
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

double peak_rss_mb() {
  const double hwm = status_field_mb("VmHWM");
  return hwm >= 0 ? hwm : tca::peak_rss_mb();
}

double current_rss_mb() {
  const double rss = status_field_mb("VmRSS");
  return rss >= 0 ? rss : 0.0;
}

}  // namespace tca::bench
