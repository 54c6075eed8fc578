// `tca version`: what a result was produced with (conventions.md: version, git sha, oneDNN version,
// detected ISA, threads), as text or, with --json, as the "versions" and "machine" blocks that
// result files carry.
#include <fmt/format.h>

#include <cstdio>

#include "command.hpp"
#include "core/system_info.hpp"
#include "io/json_io.hpp"
#include "io/system_json.hpp"
#include "options.hpp"

namespace tca::cli {

static int run_version(int argc, char** argv) {
  Options options("version",
                  "Print the tool version, git sha, oneDNN version, ISA, threads and CPU.");
  options.add_flag(Group::output, "json", "print {\"versions\": ..., \"machine\": ...} as JSON");
  if (!options.parse(argc, argv)) return 0;

  const SystemInfo info = system_info();
  if (options.get<bool>("json")) {
    const nlohmann::json out = {{"versions", io::versions_json(info)},
                                {"machine", io::machine_json(info)}};
    std::fputs(io::format_json(out).c_str(), stdout);
    return 0;
  }
  std::string text;
  auto line = [&](const char* key, const std::string& value) {
    text += fmt::format("{:<9}{}\n", key, value);
  };
  line("tca", info.tca_version + " (git " + info.git_sha + ")");
  line("oneDNN", info.onednn_version);
  line("ISA", info.isa);
  line("threads", fmt::format("{} (OpenMP; {} CPUs online)", info.threads, info.cpus_online));
  line("CPU", info.cpu_model);
  line("HDF5", io::hdf5_version());
  std::fputs(text.c_str(), stdout);
  return 0;
}

TCA_COMMAND("version", "print versions, the detected ISA, threads and CPU", run_version, 90);

}  // namespace tca::cli
