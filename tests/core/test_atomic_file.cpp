// core/atomic_file.hpp: writes on several threads at once (the sweep runner's workers each record
// their runs) each get their own temp file and cleanup slot: every file ends up whole, and no
// temp file is left. (Before, a shared slot counter could go negative and write out of bounds.)
#include <doctest/doctest.h>

#include <filesystem>
#include <thread>
#include <vector>

#include "core/atomic_file.hpp"
#include "io/test_files.hpp"

using namespace tca;

TEST_CASE("atomic writes from several threads at once each land whole, with no temp file left") {
  test::TempDir tmp;
  constexpr int kThreads = 4, kWrites = 300;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kWrites; ++i) {
        write_text_atomically(tmp.file("f" + std::to_string(t) + "-" + std::to_string(i % 7)),
                              std::string(100 + i, char('a' + t)));
      }
    });
  }
  for (auto& th : threads) th.join();
  int files = 0;
  for (const auto& e : std::filesystem::directory_iterator(tmp.path())) {
    ++files;
    const std::string name = e.path().filename().string();
    CHECK_MESSAGE(name.find(".tmp") == std::string::npos, name);
  }
  CHECK(files == kThreads * 7);
  // The last write to f<t>-<r> was i = the largest i < kWrites with i % 7 == r.
  for (int t = 0; t < kThreads; ++t) {
    for (int r = 0; r < 7; ++r) {
      int last = kWrites - 1;
      while (last % 7 != r) --last;
      CHECK(test::read_bytes(tmp.file("f" + std::to_string(t) + "-" + std::to_string(r))) ==
            std::string(100 + last, char('a' + t)));
    }
  }
}
