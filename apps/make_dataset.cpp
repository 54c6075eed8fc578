// `tca make-dataset TASK --split train|eval --count N --seed S --out FILE.h5 [task options]`
// (conventions.md "Command synopsis"): writes a fixed task file (or, for image training sets, an
// image-source file) atomically; prints the path, sizes and content hash on stdout.
#include <fmt/format.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <cstdio>
#include <memory>

#include "command.hpp"
#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/progress.hpp"
#include "data/content_hash.hpp"
#include "data/dataset_generation.hpp"
#include "options.hpp"
#include "task_options.hpp"
#include "train/memory_estimate.hpp"

namespace tca::cli {

namespace {

// Bounds (issue 20): --count 10^15 ran until the disk filled; the official eval sets hold 48000
// tasks. A batch is generated in memory before it is written, hence its bound.
constexpr int64_t kMaxCount = 100000000, kMaxBatch = 65536;

// Every option of the command, in one place (the shared option layer may be given more later).
void declare_options(Options& o) {
  o.add<std::string>(Group::generic, "task", "the task: copy | gp | image | timeseries")
      .choices({"copy", "gp", "image", "timeseries"})
      .value_name("TASK")
      .positional()
      .required();
  o.add<std::string>(Group::data, "split",
                     "train or eval (image train sets are image-source files)")
      .choices({"train", "eval"})
      .required();
  o.add<int64_t>(
       Group::data, "count",
       "tasks to write (image --split train: images); default for image and imported timeseries: "
       "all available; required otherwise. Official eval sets: gp 48000 (3000 batches of 16), "
       "copy 3200 (200 batches of 16)")
      .range(1, kMaxCount);
  o.add<int64_t>(Group::data, "seed", int64_t{0}, "seed of the generator (official eval sets: 0)")
      .min(0);
  o.add<int64_t>(Group::data, "batch-size", int64_t{16},
                 "tasks per stored batch; tasks of a batch share Nc and Nt")
      .range(1, kMaxBatch);
  declare_task_options(o);
  o.add<std::string>(Group::output, "out", "output file (written to a temp file, then renamed)")
      .value_name("FILE.h5")
      .required();
  o.add<std::string>(Group::output, "progress", std::string("auto"), "progress display on stderr")
      .choices({"auto", "bar", "lines", "none"})
      .transient();
}

data::GenerationRequest request_from(const Options& o) {
  data::GenerationRequest r;
  r.params = task_params_from(o, o.get<std::string>("task"));
  r.split = data::parse_split(o.get<std::string>("split"));
  r.count = o.maybe<int64_t>("count").value_or(-1);
  r.seed = o.get<int64_t>("seed");
  r.batch_size = o.get<int64_t>("batch-size");
  r.out = o.get<std::string>("out");
  return r;
}

// Refuses, before any work, a request whose generator cannot fit in memory or whose file cannot
// fit on the disk of --out (one byte per row: gzip does no better on these values).
void check_resources(const data::GenerationRequest& request) {
  const data::TaskParams p = data::resolve_params(request.params);
  if (p.task == "gp") {
    require_memory(gp_generator_bytes(p.max_points), "the GP generator",
                   fmt::format("--max-points {}", p.max_points));
  }
  if (request.count < 1 || p.task == "image") return;  // image: bounded by the images available
  const int64_t points = p.task == "copy"         ? p.seq_len
                         : p.task == "timeseries" ? p.length
                                                  : p.max_points;
  const int64_t width = p.task == "copy"         ? p.num_chars + 3
                        : p.task == "timeseries" ? p.channels + 2
                                                 : 2;  // x and y columns
  require_memory(4.0 * static_cast<double>(request.batch_size) * static_cast<double>(points) *
                     static_cast<double>(width),
                 "one batch of the generator",
                 fmt::format("--batch-size {}, {} points per task", request.batch_size, points));
  const size_t slash = request.out.rfind('/');
  const std::string dir =
      slash == std::string::npos ? "." : request.out.substr(0, std::max<size_t>(slash, 1));
  struct statvfs fs {};
  if (::statvfs(dir.c_str(), &fs) != 0) return;
  const double free_bytes = static_cast<double>(fs.f_bavail) * static_cast<double>(fs.f_frsize);
  const double need = static_cast<double>(request.count) * static_cast<double>(points);
  if (need > free_bytes) {
    throw UsageError(fmt::format(
        "--count {}: the file needs an estimated {} at least ({} points per task), more than the "
        "{} free in {}: expected a smaller --count",
        request.count, bytes_text(need), points, bytes_text(free_bytes), dir));
  }
}

int run_make_dataset(int argc, char** argv) {
  Options options(
      "make-dataset",
      "Write a fixed task file (tca.md section 6 generators) or, for image training sets, an "
      "image-source file. Same task, options and seed => same content hash.");
  declare_options(options);
  if (!options.parse(argc, argv)) return 0;
  const data::GenerationRequest request = request_from(options);
  check_output_file(request.out, "--out");
  check_resources(request);

  std::unique_ptr<Progress> progress;
  const data::GenerationResult result =
      data::generate_dataset(request, [&](int64_t done, int64_t total) {
        if (!progress) {
          ProgressOptions po;
          po.mode = parse_progress_mode(options.get<std::string>("progress"));
          po.label = "make-dataset";
          po.unit = "task";
          po.total = total;
          po.line_every_s = 5.0;
          progress = std::make_unique<Progress>(po);
        }
        progress->update(done);
      });
  if (progress) progress->finish();
  const char* unit = result.layout == "images" ? "images" : "tasks";
  std::printf("%s\n",
              fmt::format("{}: {} {}{}, content hash {}", request.out, result.tasks, unit,
                          result.layout == "images" ? " (image source)"
                                                    : fmt::format(" in {} batch{}", result.batches,
                                                                  result.batches == 1 ? "" : "es"),
                          data::hash_hex(result.content_hash))
                  .c_str());
  return 0;
}

}  // namespace

TCA_COMMAND("make-dataset", "generate a fixed task file (copy, gp, image, timeseries)",
            run_make_dataset, 10);

}  // namespace tca::cli
