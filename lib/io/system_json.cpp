#include "io/system_json.hpp"

#include <H5public.h>
#include <fmt/core.h>

namespace tca::io {

std::string hdf5_version() {
  unsigned major = 0, minor = 0, release = 0;
  if (H5get_libversion(&major, &minor, &release) < 0) return "unknown";
  return fmt::format("{}.{}.{}", major, minor, release);
}

static std::string compiler_version() {
#if defined(__clang__)
  return fmt::format("clang {}.{}.{}", __clang_major__, __clang_minor__, __clang_patchlevel__);
#elif defined(__GNUC__)
  return fmt::format("gcc {}.{}.{}", __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__);
#else
  return "unknown";
#endif
}

nlohmann::json versions_json(const SystemInfo& info) {
  return {
      {"tca", info.tca_version},
      {"git_sha", info.git_sha},
      {"onednn", info.onednn_version},
      {"hdf5", hdf5_version()},
      {"nlohmann_json", fmt::format("{}.{}.{}", NLOHMANN_JSON_VERSION_MAJOR,
                                    NLOHMANN_JSON_VERSION_MINOR, NLOHMANN_JSON_VERSION_PATCH)},
      {"fmt",
       fmt::format("{}.{}.{}", FMT_VERSION / 10000, FMT_VERSION / 100 % 100, FMT_VERSION % 100)},
      {"compiler", compiler_version()},
  };
}

nlohmann::json machine_json(const SystemInfo& info) {
  return {{"threads", info.threads},
          {"isa", info.isa},
          {"cpu", info.cpu_model},
          {"cpus_online", info.cpus_online}};
}

nlohmann::json config_metadata_json(const SystemInfo& info) {
  return {{"tca_version", info.tca_version},       {"git_sha", info.git_sha},
          {"onednn_version", info.onednn_version}, {"onednn_isa", info.isa},
          {"omp_threads", info.threads},           {"cpu_model", info.cpu_model}};
}

const std::vector<std::string>& config_metadata_keys() {
  static const std::vector<std::string> keys = {"tca_version", "git_sha",     "onednn_version",
                                                "onednn_isa",  "omp_threads", "cpu_model"};
  return keys;
}

}  // namespace tca::io
