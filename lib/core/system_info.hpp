// What a result was produced with: tool version, oneDNN version and ISA, threads and CPU
// (conventions.md: "Record the ISA and the thread count in every result"; config.json, eval.json
// and the benchmark files carry these). Plain strings and numbers: core has no JSON dependency;
// io/system_json.hpp turns this into the JSON blocks.
#pragma once
#include <string>

namespace tca {

struct SystemInfo {
  std::string tca_version;  // TCA_VERSION, e.g. "0.1.0"
  std::string
      git_sha;  // HEAD at the last configure (re-run on every commit), "unknown" outside git
  std::string onednn_version;  // "2.6.3"
  std::string isa;             // the ISA oneDNN dispatches to, e.g. "avx2", "avx512_core_amx"
  int threads = 0;             // OpenMP threads a parallel region will use
  int cpus_online = 0;         // logical CPUs of the machine
  std::string cpu_model;       // /proc/cpuinfo "model name", "unknown" if unreadable
};

// Collects everything above. Note: asking oneDNN for its effective ISA fixes the ISA for the rest
// of the process (oneDNN latches it on first read), so a command that caps the ISA with
// dnnl::set_max_cpu_isa must do so before calling this.
SystemInfo system_info();

std::string tca_version();
std::string tca_git_sha();
std::string onednn_version();
// Readable name of a dnnl_cpu_isa_t value ("avx512_core_amx"); "isa_0x..." for values this
// build does not know.
std::string cpu_isa_name(int dnnl_cpu_isa);
std::string effective_isa();
int max_threads();
int cpus_online();
std::string cpu_model();

// Peak resident set size of this process so far, in MiB (getrusage ru_maxrss).
double peak_rss_mb();

}  // namespace tca
