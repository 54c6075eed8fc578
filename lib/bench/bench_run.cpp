// The driver of `tca bench`: runs the suites, wraps their rows with the machine and version blocks
// (conventions.md "Benchmark files") and the run's settings, writes the files atomically.
#include <fmt/format.h>

#include <ctime>
#include <filesystem>

#include "bench/bench.hpp"
#include "bench/bench_setup.hpp"
#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/system_info.hpp"
#include "io/json_io.hpp"
#include "io/system_json.hpp"

namespace tca::bench {

nlohmann::json bench_file(const nlohmann::json& rows, const nlohmann::json& settings) {
  const SystemInfo info = system_info();
  return {{"machine", io::machine_json(info)},
          {"versions", io::versions_json(info)},
          {"settings", settings},
          {"rows", rows}};
}

namespace {

std::string utc_now() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

nlohmann::json settings_json(const BenchOptions& o, const std::string& suite) {
  return {{"suite", suite},
          {"quick", o.quick},
          {"repeats", o.repeats},
          {"budget_s", o.budget_s},
          {"queries", o.queries},
          {"log2_n", {o.min_log2_n, o.max_log2_n}},
          {"train_tasks", o.train_tasks},
          {"methods", o.methods},
          {"data_parallel", o.data_parallel},
          {"matmuls", o.matmuls},
          {"seed", o.seed},
          {"started_utc", utc_now()},
          {"load_average_start", load_average()},
          {"others_cpu_busy_start", others_cpu_busy()},
          {"timing",
           "median over kept samples after warm-up; a sample is discarded when an empty parallel "
           "region "
           "before or after it takes > 0.5 ms (a stalled vCPU, platform.md)"}};
}

// An earlier file of the other suite, for the summary; null when absent or unreadable.
nlohmann::json earlier_file(const std::string& path, const BenchOptions& o) {
  if (!std::filesystem::exists(path)) return nullptr;
  try {
    return io::read_json_file(path);
  } catch (const Error& e) {
    o.say(fmt::format("note: {} left out of the summary: {}", path, e.what()));
    return nullptr;
  }
}

}  // namespace

std::vector<std::string> run_bench(const BenchOptions& o, const std::string& suite,
                                   const std::string& out_dir) {
  if (suite != "train" && suite != "infer" && suite != "all")
    throw UsageError("--suite " + suite + ": expected train, infer or all");
  train_cases(o.train_tasks,
              o.methods);  // UsageError for an unknown task or method, before any work
  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  if (ec || !std::filesystem::is_directory(out_dir))
    throw UsageError("--out " + out_dir + ": cannot create the output directory" +
                     (ec ? " (" + ec.message() + ")" : ""));
  const std::string train_path = (std::filesystem::path(out_dir) / "train.json").string();
  const std::string infer_path = (std::filesystem::path(out_dir) / "infer.json").string();
  const std::string summary_path = (std::filesystem::path(out_dir) / "summary.md").string();
  std::vector<std::string> written;
  nlohmann::json train, infer;
  if (suite == "train" || suite == "all") {
    nlohmann::json settings = settings_json(o, "train");
    const double t0 = now_s();
    nlohmann::json rows = bench_train(o);
    settings["wall_s"] = now_s() - t0;
    settings["load_average_end"] = load_average();
    train = bench_file(rows, settings);
    io::write_json_atomically(train_path, train);
    written.push_back(train_path);
  } else {
    train = earlier_file(train_path, o);
  }
  if (suite == "infer" || suite == "all") {
    nlohmann::json settings = settings_json(o, "infer");
    const double t0 = now_s();
    nlohmann::json rows = bench_infer(o);
    if (o.matmuls)
      for (auto& r : bench_matmul(o)) rows.push_back(r);
    settings["wall_s"] = now_s() - t0;
    settings["load_average_end"] = load_average();
    infer = bench_file(rows, settings);
    io::write_json_atomically(infer_path, infer);
    written.push_back(infer_path);
  } else {
    infer = earlier_file(infer_path, o);
  }
  write_text_atomically(summary_path, bench_summary_markdown(train, infer));
  written.push_back(summary_path);
  return written;
}

}  // namespace tca::bench
