// `tca bench [--suite train|infer|all] [--out DIR] [--quick] [--repeats N] [--threads T]
// [--data-parallel R]`
// (issue 12; conventions.md "Benchmark files"): training ms per step, inference latency per
// query against N, build time and memory, peak RSS and matmul efficiency, written as
// DIR/train.json, DIR/infer.json and DIR/summary.md. The measuring code is in lib/bench/.
#include "bench/bench.hpp"

#include <fmt/format.h>
#include <omp.h>

#include <cstdio>

#include "command.hpp"
#include "core/error.hpp"
#include "core/system_info.hpp"
#include "options.hpp"

namespace tca::cli {

namespace {

int run_bench_command(int argc, char** argv) {
  Options options(
      "bench",
      "Measure training steps, inference latency against N, build time, memory and matmul "
      "efficiency (issue 12); write DIR/train.json, DIR/infer.json and DIR/summary.md.");
  options.add<std::string>(Group::generic, "suite", std::string("all"), "what to measure")
      .choices({"train", "infer", "all"});
  options.add_flag(
      Group::generic, "quick",
      "a fast subset: fewer samples, a 1.5 s budget per figure, N up to 2^12, no copy T=256");
  options
      .add<int64_t>(Group::generic, "repeats", int64_t{0},
                    "kept samples per figure (0 = 5 to 15 within the time budget; --quick: 3 to 5)")
      .min(0)
      .max(1000);
  options
      .add<int64_t>(Group::generic, "threads", int64_t{0},
                    "OpenMP threads (0 = OMP_NUM_THREADS, else every CPU)")
      .min(0)
      .max(1024);
  options
      .add<double>(Group::generic, "budget", 0.0,
                   "time budget per figure after its minimum samples (0 = 6 s; --quick: 1.5 s)")
      .unit("s")
      .min(0.0);
  options
      .add<int64_t>(Group::data, "max-log2-n",
                    "largest inference N as a power of two (default 20; --quick: 12)")
      .range(8, 24);
  options
      .add<int64_t>(Group::data, "min-log2-n", int64_t{8}, "smallest inference N as a power of two")
      .range(2, 24);
  options
      .add<std::vector<std::string>>(
          Group::data, "tasks",
          "training configurations to run: gp copy128 copy256 copy512 copy1024 (default gp "
          "copy128 copy256; --quick: gp copy128)")
      .value_name("TASK...");
  options
      .add<std::vector<std::string>>(Group::data, "methods",
                                     std::vector<std::string>{"ca", "tca", "perceiver"},
                                     "methods to run (train and infer)")
      .value_name("METHOD...");
  options
      .add<int64_t>(Group::generic, "data-parallel", int64_t{1},
                    "train: split each step's batch between N threads with a model copy each "
                    "(tca train --data-parallel)")
      .range(1, 256);
  options.add_flag(Group::generic, "skip-matmuls",
                   "leave out the matmul efficiency figures of the infer suite");
  options.add<int64_t>(Group::data, "queries", int64_t{256}, "queries answered per inference call")
      .range(1, 65536);
  options.add<int64_t>(Group::data, "seed", int64_t{0}, "seed of the random weights and data")
      .min(0);
  options
      .add<std::string>(
          Group::output, "out", std::string("results/bench"),
          "output directory (created if missing; a partial run replaces its suite's file, so "
          "give partial runs a directory of their own)")
      .value_name("DIR");
  if (!options.parse(argc, argv)) return 0;

  if (const int64_t threads = options.get<int64_t>("threads"); threads > 0)
    omp_set_num_threads(static_cast<int>(threads));
  bench::BenchOptions o;
  o.quick = options.get<bool>("quick");
  o.repeats = static_cast<int>(options.get<int64_t>("repeats"));
  o.budget_s = options.get<double>("budget");
  o.max_log2_n = static_cast<int>(options.maybe<int64_t>("max-log2-n").value_or(o.quick ? 12 : 20));
  o.min_log2_n = static_cast<int>(options.get<int64_t>("min-log2-n"));
  if (o.min_log2_n > o.max_log2_n)
    throw UsageError(
        fmt::format("--min-log2-n {} is above --max-log2-n {}", o.min_log2_n, o.max_log2_n));
  o.methods = options.get<std::vector<std::string>>("methods");
  o.matmuls = !options.get<bool>("skip-matmuls");
  o.data_parallel = static_cast<int>(options.get<int64_t>("data-parallel"));
  o.queries = options.get<int64_t>("queries");
  o.seed = static_cast<uint64_t>(options.get<int64_t>("seed"));
  if (o.quick) o.train_tasks = {"gp", "copy128"};
  if (auto tasks = options.maybe<std::vector<std::string>>("tasks")) o.train_tasks = *tasks;
  o.log = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
  const SystemInfo info = system_info();
  o.say(fmt::format("tca bench: {} threads, ISA {}, oneDNN {}, CPU {}", info.threads, info.isa,
                    info.onednn_version, info.cpu_model));
  // Other processes on the same vCPUs slow every figure: say so before spending minutes.
  if (const double busy = bench::others_cpu_busy(0.5); busy > 0.2)
    o.say(
        fmt::format("warning: other processes keep {:.0f}% of the CPUs busy: figures will be "
                    "slower and noisier "
                    "than on an idle machine",
                    100 * busy));
  for (const std::string& path :
       bench::run_bench(o, options.get<std::string>("suite"), options.get<std::string>("out")))
    std::printf("%s\n", path.c_str());
  return 0;
}

}  // namespace

TCA_COMMAND("bench", "measure training and inference speed, memory and matmul efficiency",
            run_bench_command, 70);

}  // namespace tca::cli
