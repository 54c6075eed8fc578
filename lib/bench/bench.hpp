// `tca bench` (issue 12): what it measures and where the figures go. The suites:
//   train  ms per training step (forward + backward + clipping + Adam) of CA, TCA and Perceiver IO
//          on the GP config and the copy task at T = 128 and 256 (bench_train.cpp);
//   infer  per-query latency of answering 256 queries about one encoded context set of N tokens,
//          N = 2^8, 2^10, ..., 2^20, for CA, TCA (greedy) and Perceiver IO, with tokens attended,
//          the build time and memory of what each keeps per context set, and peak RSS
//          (bench_infer.cpp); plus the achieved GFLOP/s of the largest matmuls of these workloads
//          against the raw oneDNN matmul peak measured in the same run (bench_matmul.cpp).
// Files (conventions.md "Benchmark files"): train.json and infer.json, each
// {"machine", "versions", "settings", "rows"}; summary.md (bench_summary.cpp) puts every figure
// next to the reference figures and targets.
#pragma once
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "bench/timing.hpp"

namespace tca::bench {

struct BenchOptions {
  bool quick = false;   // a fast subset: fewer samples, N up to 2^12, no copy T=256
  int repeats = 0;      // kept samples per figure (min = max); 0 = the suite's defaults
  double budget_s = 0;  // time budget per figure in seconds; 0 = the suite's defaults
  int min_log2_n = 8;   // inference N = 2^min_log2_n ... 2^max_log2_n in steps of 2^2
  int max_log2_n = 20;
  int64_t queries = 256;  // queries answered per call (one context set)
  std::vector<std::string> train_tasks = {"gp", "copy128", "copy256"};
  std::vector<std::string> methods = {"ca", "tca",
                                      "perceiver"};  // run only these (train and infer)
  int data_parallel = 1;  // train: replicas of the data-parallel step (train/data_parallel.hpp)
  bool matmuls = true;    // the infer suite also measures matmul efficiency
  uint64_t seed = 0;      // weights and data
  std::function<void(const std::string&)> log;  // one line per figure (stderr); may be empty

  void say(const std::string& line) const {
    if (log) log(line);
  }
};

// Timing options of one figure whose single call is expected to take about `call_s` seconds:
// warm-up and sample counts from `repeats` / `quick`, budget from `budget_s`.
TimingOptions figure_timing(const BenchOptions& options, double call_s);
// One figure: calls `fn` once (its duration sizes the timing; it is also the first warm-up call),
// then time_calls with figure_timing.
TimingResult measure_figure(const BenchOptions& options, const std::function<void()>& fn);

// Rows of train.json ({"kind": "train", "method", "task", "seq_len", "batch_size", "ms_per_step",
// "steps_per_s", ...}).
nlohmann::json bench_train(const BenchOptions& options);
// Rows of infer.json ({"kind": "infer", "method", "n", "queries", "us_per_query", ...}).
nlohmann::json bench_infer(const BenchOptions& options);
// Matmul rows of infer.json ({"kind": "matmul", "name", "m", "k", "n", "gflops", "peak_gflops",
// ...}).
nlohmann::json bench_matmul(const BenchOptions& options);

// The raw oneDNN f32 matmul rate of this machine now (one 2048^3 primitive executed directly;
// 1024^3 with --quick), GFLOP/s: the yardstick for the matmul FLOPs of a training step.
double raw_matmul_peak_gflops(const BenchOptions& options);

// {"machine", "versions", "settings", "rows"}: a benchmark file around `rows`.
nlohmann::json bench_file(const nlohmann::json& rows, const nlohmann::json& settings);

// Runs the suite ("train", "infer" or "all") and writes its files into `out_dir` (created if
// missing): train.json and/or infer.json, then summary.md from those files (a file of the other
// suite left there by an earlier run is included, so `--suite infer` after `--suite train` still
// gives the full summary). Returns the paths written.
std::vector<std::string> run_bench(const BenchOptions& options, const std::string& suite,
                                   const std::string& out_dir);

// The Markdown summary from the benchmark files found (either may be null when its suite was
// not run and no earlier file exists).
std::string bench_summary_markdown(const nlohmann::json& train, const nlohmann::json& infer);

}  // namespace tca::bench
