// System description recorded in every result (conventions.md, platform.md "ISA control").
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "core/system_info.hpp"

TEST_CASE("cpu_isa_name spells the ISAs oneDNN reports as ONEDNN_MAX_CPU_ISA does, in lower case") {
  CHECK(tca::cpu_isa_name(0x7) == "avx2");
  CHECK(tca::cpu_isa_name(0x27) == "avx512_core");
  CHECK(tca::cpu_isa_name(0xe7) == "avx512_core_bf16");
  CHECK(tca::cpu_isa_name(0x3e7) == "avx512_core_amx");
  CHECK(tca::cpu_isa_name(0x12345) == "isa_0x12345");
}

TEST_CASE("system_info reports a known ISA, OpenMP's thread count and dotted versions") {
  const tca::SystemInfo info = tca::system_info();
  CHECK(std::regex_match(info.onednn_version, std::regex(R"(\d+\.\d+\.\d+)")));
  CHECK(info.tca_version == TCA_VERSION);
  CHECK_FALSE(info.git_sha.empty());
  CHECK(info.isa.rfind("isa_", 0) != 0);  // a name, not an unknown code
  CHECK(info.isa != "all");
  // The x86-64-v3 build floor means oneDNN finds at least AVX2 here.
  const std::vector<std::string> at_least_avx2 = {
      "avx2",           "avx2_vnni", "avx512_core", "avx512_core_vnni", "avx512_core_bf16",
      "avx512_core_amx"};
  CHECK(std::find(at_least_avx2.begin(), at_least_avx2.end(), info.isa) != at_least_avx2.end());
  if (const char* env = std::getenv("OMP_NUM_THREADS")) CHECK(info.threads == std::atoi(env));
  CHECK(info.threads >= 1);
  CHECK(info.cpus_online >= 1);
  CHECK_FALSE(info.cpu_model.empty());
}

// Current resident set in MiB (/proc/self/statm, second field, in pages).
static double current_rss_mb() {
  std::ifstream statm("/proc/self/statm");
  double size = 0, resident = 0;
  statm >> size >> resident;
  return resident * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

TEST_CASE("peak RSS grows by the memory a process touches beyond its earlier peak") {
  const double before = tca::peak_rss_mb();
  CHECK(before > 0.0);
  // Earlier tests may have peaked higher than the current RSS: touch enough to pass that peak.
  const double headroom_mb = std::max(0.0, before - current_rss_mb());
  const size_t bytes = static_cast<size_t>(headroom_mb + 96.0) << 20;
  char* block = static_cast<char*>(std::malloc(bytes));
  REQUIRE(block != nullptr);
  std::memset(block, 1, bytes);
  const double after = tca::peak_rss_mb();
  volatile char sink = block[bytes / 2];
  (void)sink;
  std::free(block);
  CHECK(after >= before + 64.0);
}
