// The trees-file reader (lib/data/tree_file.hpp) on arbitrary bytes: every group, every task's
// memory.
#include "data/tree_file.hpp"
#include "fuzz/fuzz_util.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = tca::fuzz::write_input(data, size, ".h5");
  tca::fuzz::expect_clean([&] {
    const tca::io::H5File file = tca::io::H5File::open_read(path);
    tca::data::require_trees_file(file);
    for (const std::string& name : tca::data::tree_names(file)) {
      tca::data::TreeGroupReader reader(path, name);
      for (int64_t t = 0; t < reader.num_tasks() && t < 64; ++t) reader.context_size(t);
    }
  });
  return 0;
}
