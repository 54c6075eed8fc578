// The "versions", "machine" and config.json metadata blocks (conventions.md "Benchmark files").
#include <doctest/doctest.h>

#include <set>
#include <string>

#include "io/system_json.hpp"

TEST_CASE("versions and machine blocks carry the fields results need") {
  tca::SystemInfo info;
  info.tca_version = "1.2.3";
  info.git_sha = "abcdef";
  info.onednn_version = "2.6.3";
  info.isa = "avx2";
  info.threads = 3;
  info.cpus_online = 4;
  info.cpu_model = "Test CPU";
  const auto v = tca::io::versions_json(info);
  CHECK(v["tca"] == "1.2.3");
  CHECK(v["git_sha"] == "abcdef");
  CHECK(v["onednn"] == "2.6.3");
  CHECK(v["hdf5"].get<std::string>().rfind("1.", 0) == 0);
  CHECK(v.contains("nlohmann_json"));
  CHECK(v.contains("compiler"));
  const auto m = tca::io::machine_json(info);
  CHECK(m ==
        nlohmann::json({{"threads", 3}, {"isa", "avx2"}, {"cpu", "Test CPU"}, {"cpus_online", 4}}));
}

TEST_CASE("config.json metadata uses exactly the reserved metadata keys") {
  const auto meta = tca::io::config_metadata_json(tca::system_info());
  std::set<std::string> keys;
  for (const auto& [k, v] : meta.items()) keys.insert(k);
  const auto& reserved = tca::io::config_metadata_keys();
  CHECK(keys == std::set<std::string>(reserved.begin(), reserved.end()));
  CHECK(meta["omp_threads"].get<int>() >= 1);
}
