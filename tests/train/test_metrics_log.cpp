// metrics.jsonl on resume (conventions.md "Run directories": a resumed run's deterministic fields
// equal an uninterrupted run's).
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "core/error.hpp"
#include "train/metrics_log.hpp"

namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    char dir[] = "/tmp/tca_metrics_XXXXXX";
    REQUIRE(mkdtemp(dir) != nullptr);
    path = dir;
  }
  ~TempDir() { fs::remove_all(path); }
};

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The records a run logs at `step`: a train record every 10 steps and an eval record every 50.
void log_step(tca::MetricsLog& log, int64_t step) {
  if (step % 10 == 0)
    log.append({{"step", step}, {"split", "train"}, {"loss", 1.0 / (1.0 + step)}});
  if (step % 50 == 0) log.append({{"step", step}, {"split", "eval"}, {"loss", 2.0 / (1.0 + step)}});
}

}  // namespace

TEST_CASE(
    "a resumed metrics log drops records after the checkpoint and equals an uninterrupted log") {
  TempDir tmp;
  const fs::path straight = tmp.path / "straight.jsonl", resumed = tmp.path / "resumed.jsonl";
  {
    auto log = tca::MetricsLog::create(straight.string());
    for (int64_t step = 1; step <= 200; ++step) log_step(log, step);
  }
  {
    // Interrupted run: checkpoint at step 100, killed at step 137 in the middle of a write.
    auto log = tca::MetricsLog::create(resumed.string());
    for (int64_t step = 1; step <= 137; ++step) log_step(log, step);
  }
  std::ofstream(resumed, std::ios::app) << R"({"loss":0.0072,"spl)";
  {
    auto log = tca::MetricsLog::resume(resumed.string(), 100);
    CHECK(log.last_step() == 100);
    CHECK(log.records_kept() == 10 + 2);
    for (int64_t step = 101; step <= 200; ++step) log_step(log, step);
  }
  CHECK(slurp(resumed) == slurp(straight));
  CHECK_FALSE(slurp(straight).empty());
}

TEST_CASE("resuming without a metrics log starts an empty one") {
  TempDir tmp;
  const fs::path path = tmp.path / "metrics.jsonl";
  auto log = tca::MetricsLog::resume(path.string(), 500);
  CHECK(log.last_step() == -1);
  log.append({{"step", 501}, {"loss", 0.5}});
  CHECK(slurp(path) == "{\"loss\":0.5,\"step\":501}\n");
}

TEST_CASE("creating a metrics log replaces an old one") {
  TempDir tmp;
  const fs::path path = tmp.path / "metrics.jsonl";
  std::ofstream(path) << "{\"step\":9}\n";
  auto log = tca::MetricsLog::create(path.string());
  CHECK(slurp(path).empty());
}

TEST_CASE("a metrics record without an integer step is rejected") {
  TempDir tmp;
  const fs::path path = tmp.path / "metrics.jsonl";
  std::ofstream(path) << "{\"step\":1}\n{\"loss\":2}\n";
  CHECK_THROWS_AS(tca::MetricsLog::resume(path.string(), 5), tca::InputError);
  std::ofstream(path) << "{\"step\":1.5}\n";
  CHECK_THROWS_AS(tca::MetricsLog::resume(path.string(), 5), tca::InputError);
  auto log = tca::MetricsLog::create(path.string());
  CHECK_THROWS_AS(log.append({{"loss", 1.0}}), tca::InputError);
}

TEST_CASE("metrics steps may repeat but never decrease") {
  TempDir tmp;
  auto log = tca::MetricsLog::create((tmp.path / "metrics.jsonl").string());
  log.append({{"step", 10}, {"split", "train"}});
  log.append({{"step", 10}, {"split", "eval"}});
  CHECK_THROWS_AS(log.append({{"step", 9}}), std::logic_error);
}
