// System description recorded in every result (conventions.md, platform.md "ISA control").
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
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
  const std::vector<std::string> at_least_avx2 = {"avx2", "avx2_vnni", "avx512_core", "avx512_core_vnni",
                                                  "avx512_core_bf16", "avx512_core_amx"};
  CHECK(std::find(at_least_avx2.begin(), at_least_avx2.end(), info.isa) != at_least_avx2.end());
  if (const char* env = std::getenv("OMP_NUM_THREADS")) CHECK(info.threads == std::atoi(env));
  CHECK(info.threads >= 1);
  CHECK(info.cpus_online >= 1);
  CHECK_FALSE(info.cpu_model.empty());
}

TEST_CASE("peak RSS grows by the memory a process touches") {
  const double before = tca::peak_rss_mb();
  CHECK(before > 0.0);
  const size_t bytes = size_t{96} << 20;
  char* block = static_cast<char*>(std::malloc(bytes));
  REQUIRE(block != nullptr);
  std::memset(block, 1, bytes);
  const double after = tca::peak_rss_mb();
  volatile char sink = block[bytes / 2];
  (void)sink;
  std::free(block);
  CHECK(after >= before + 64.0);
}
