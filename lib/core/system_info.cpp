#include "core/system_info.hpp"

#include <fmt/format.h>
#include <omp.h>
#include <sys/resource.h>
#include <unistd.h>

#include <dnnl.hpp>
#include <fstream>
#include <string>

namespace tca {

std::string tca_version() { return TCA_VERSION; }
const char* git_sha_at_build();  // generated/git_sha.cpp (CMakeLists.txt)
std::string tca_git_sha() { return git_sha_at_build(); }

std::string onednn_version() {
  const dnnl_version_t* v = dnnl_version();
  return fmt::format("{}.{}.{}", v->major, v->minor, v->patch);
}

std::string cpu_isa_name(int isa) {
  // Names follow ONEDNN_MAX_CPU_ISA's spelling in lower case (platform.md "ISA control").
  switch (static_cast<dnnl_cpu_isa_t>(isa)) {
    case dnnl_cpu_isa_all:
      return "all";
    case dnnl_cpu_isa_sse41:
      return "sse41";
    case dnnl_cpu_isa_avx:
      return "avx";
    case dnnl_cpu_isa_avx2:
      return "avx2";
    case dnnl_cpu_isa_avx2_vnni:
      return "avx2_vnni";
    case dnnl_cpu_isa_avx512_mic:
      return "avx512_mic";
    case dnnl_cpu_isa_avx512_mic_4ops:
      return "avx512_mic_4ops";
    case dnnl_cpu_isa_avx512_core:
      return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni:
      return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16:
      return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx:
      return "avx512_core_amx";
  }
  return fmt::format("isa_{:#x}", isa);
}

std::string effective_isa() { return cpu_isa_name(static_cast<int>(dnnl_get_effective_cpu_isa())); }

int max_threads() { return omp_get_max_threads(); }

int cpus_online() {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 0;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) != 0) continue;
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    auto begin = line.find_first_not_of(" \t", colon + 1);
    return begin == std::string::npos ? "unknown" : line.substr(begin);
  }
  return "unknown";
}

double peak_rss_mb() {
  struct rusage usage {};
  if (getrusage(RUSAGE_SELF, &usage) != 0) return 0.0;
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // Linux reports KiB
}

SystemInfo system_info() {
  SystemInfo s;
  s.tca_version = tca_version();
  s.git_sha = tca_git_sha();
  s.onednn_version = onednn_version();
  s.isa = effective_isa();
  s.threads = max_threads();
  s.cpus_online = cpus_online();
  s.cpu_model = cpu_model();
  return s;
}

}  // namespace tca
