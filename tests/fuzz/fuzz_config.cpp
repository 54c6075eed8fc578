// The config / JSON layer: `tca train --config FILE.json` (apps/options.hpp, the training options
// with their bounds and task defaults), and a run's config.json as tca eval reads it (ModelConfig
// from_json + validate).
#include "fuzz/fuzz_util.hpp"
#include "io/json_io.hpp"
#include "models/model_config.hpp"
#include "options.hpp"
#include "train_options.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = tca::fuzz::write_input(data, size, ".json");
  tca::fuzz::expect_clean([&] {
    tca::cli::Options options("train", "fuzz");
    tca::cli::declare_train_options(options);
    options.parse(
        std::vector<std::string>{"--config", path, "--model", "ca", "--out", "/nonexistent/run"});
    options.resolved_json();
  });
  tca::fuzz::expect_clean([&] {
    const nlohmann::json j = tca::io::read_json_file(path);
    tca::ModelConfig c;
    from_json(j, c);
    c.validate();
  });
  return 0;
}
