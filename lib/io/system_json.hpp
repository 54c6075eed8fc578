// The JSON blocks that make every result self-describing (conventions.md "JSON results",
// "Benchmark files", "Run directories"): "versions", "machine", and the flat metadata keys that
// config.json carries next to the resolved options.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/system_info.hpp"

namespace tca::io {

// {"tca", "git_sha", "onednn", "hdf5", "nlohmann_json", "fmt", "compiler"}: versions of the tool
// and of the libraries that can change a result's numbers or files.
nlohmann::json versions_json(const SystemInfo& info);

// {"threads", "isa", "cpu", "cpus_online"}: the "machine" block of benchmark files.
nlohmann::json machine_json(const SystemInfo& info);

// Flat keys written into config.json beside the resolved options:
// tca_version, git_sha, onednn_version, onednn_isa, omp_threads, cpu_model.
nlohmann::json config_metadata_json(const SystemInfo& info);

// The names above. A config file may contain them (so a run's config.json can be passed back as
// --config); the option parser ignores them, and no option may be named like one.
const std::vector<std::string>& config_metadata_keys();

std::string hdf5_version();

}  // namespace tca::io
