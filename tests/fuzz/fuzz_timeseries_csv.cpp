// The time-series CSV importer (lib/data/timeseries_task.hpp) on arbitrary bytes, then the
// batches it would write.
#include "data/timeseries_task.hpp"
#include "fuzz/fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = tca::fuzz::write_input(data, size, ".csv");
  tca::fuzz::expect_clean([&] {
    const tca::data::TimeseriesData imported = tca::data::import_timeseries(path);
    tca::data::timeseries_batches(imported, 16);
  });
  return 0;
}
