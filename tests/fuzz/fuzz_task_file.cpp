// The task-file reader (lib/data/task_file_reader.hpp) on arbitrary bytes: open, validate, read
// every batch.
#include "data/task_file_reader.hpp"
#include "fuzz/fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = tca::fuzz::write_input(data, size, ".h5");
  tca::fuzz::expect_clean([&] {
    tca::data::TaskFileReader reader(path);
    for (int64_t b = 0; b < reader.num_batches(); ++b) reader.read_batch(b);
  });
  return 0;
}
