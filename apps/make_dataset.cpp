// `tca make-dataset TASK --split train|eval --count N --seed S --out FILE.h5 [task options]`
// (conventions.md "Command synopsis"): writes a fixed task file (or, for image training sets, an
// image-source file) atomically; prints the path, sizes and content hash on stdout.
#include <cstdio>
#include <map>
#include <memory>

#include <fmt/format.h>

#include "command.hpp"
#include "core/error.hpp"
#include "core/progress.hpp"
#include "data/content_hash.hpp"
#include "data/dataset_generation.hpp"
#include "options.hpp"

namespace tca::cli {

namespace {

// The options of each task (the tasks that an option applies to); every other option is generic.
const std::map<std::string, std::vector<std::string>>& task_options() {
  static const std::map<std::string, std::vector<std::string>> table = {
      {"seq-len", {"copy"}},         {"num-chars", {"copy"}},
      {"kernel", {"gp"}},            {"max-points", {"gp", "image"}},
      {"source", {"image"}},         {"path", {"image", "timeseries"}},
      {"classes", {"image", "timeseries"}},
      {"length", {"timeseries"}},    {"channels", {"timeseries"}},
      {"signature-seed", {"timeseries"}}};
  return table;
}

// Every option of the command, in one place (the shared option layer may be given more later).
void declare_options(Options& o) {
  o.add<std::string>(Group::Generic, "task", "the task: copy | gp | image | timeseries")
      .choices({"copy", "gp", "image", "timeseries"})
      .value_name("TASK")
      .positional()
      .required();
  o.add<std::string>(Group::Data, "split", "train or eval (image train sets are image-source files)")
      .choices({"train", "eval"})
      .required();
  o.add<int64_t>(Group::Data, "count",
                 "tasks to write (image --split train: images); default for image and imported timeseries: "
                 "all available; required otherwise. Official eval sets: gp 48000 (3000 batches of 16), "
                 "copy 3200 (200 batches of 16)")
      .min(1);
  o.add<int64_t>(Group::Data, "seed", int64_t{0}, "seed of the generator (official eval sets: 0)");
  o.add<int64_t>(Group::Data, "batch-size", int64_t{16},
                 "tasks per stored batch; tasks of a batch share Nc and Nt")
      .min(1);
  o.add<int64_t>(Group::Data, "seq-len", int64_t{128}, "[copy] sequence length T, a power of two >= 4")
      .unit("tokens")
      .check([](const int64_t& t) {
        return t >= 4 && (t & (t - 1)) == 0 ? std::string() : std::string("expected a power of two >= 4");
      });
  o.add<int64_t>(Group::Data, "num-chars", int64_t{10}, "[copy] number of symbols (one-hot width num_chars + 2)")
      .range(1, 1000);
  o.add<std::string>(Group::Data, "kernel", std::string("rbf"), "[gp] covariance kernel")
      .choices({"rbf", "matern52", "periodic"});
  o.add<int64_t>(Group::Data, "max-points",
                 "[gp, image] P: Nc ~ U{3..P-4}, Nt ~ U{3..P-1-Nc}; default gp 50, image 200")
      .min(7);
  o.add<std::string>(Group::Data, "source", std::string("fashion-mnist"), "[image] image collection")
      .choices({"fashion-mnist", "emnist", "celeba"});
  o.add<std::string>(Group::Data, "path",
                     "[image] your copy of emnist / celeba (a directory; fashion-mnist defaults to "
                     "/usr/share/datasets/fashion-mnist); [timeseries] a CSV or HDF5 file to import")
      .value_name("PATH");
  o.add<std::string>(Group::Data, "classes",
                     "[image] class filter: 0-4, 5-9, 0,2,7-9 or all (default fashion-mnist 0-4, emnist 0-9, "
                     "celeba all); [timeseries] number of classes K (default 7)")
      .value_name("SPEC");
  o.add<int64_t>(Group::Data, "length", int64_t{50}, "[timeseries] time points per sequence L").unit("points").range(2, 100000);
  o.add<int64_t>(Group::Data, "channels", int64_t{12}, "[timeseries] feature channels C").range(1, 1000);
  o.add<int64_t>(Group::Data, "signature-seed", int64_t{0},
                 "[timeseries] seed of the fixed class signatures (keep it equal for train and eval)");
  o.add<std::string>(Group::Output, "out", "output file (written to a temp file, then renamed)")
      .value_name("FILE.h5")
      .required();
  o.add<std::string>(Group::Output, "progress", std::string("auto"), "progress display on stderr")
      .choices({"auto", "bar", "lines", "none"})
      .transient();
}

data::GenerationRequest request_from(const Options& o) {
  data::GenerationRequest r;
  data::TaskParams& p = r.params;
  p.task = o.get<std::string>("task");
  for (const auto& [name, tasks] : task_options()) {
    if (o.given(name) && std::find(tasks.begin(), tasks.end(), p.task) == tasks.end()) {
      std::string list;
      for (const auto& t : tasks) list += (list.empty() ? "" : ", ") + t;
      throw UsageError("--" + name + " applies to task " + list + ", not " + p.task);
    }
  }
  p.seq_len = o.get<int64_t>("seq-len");
  p.num_chars = o.get<int64_t>("num-chars");
  p.kernel = o.get<std::string>("kernel");
  p.max_points = o.maybe<int64_t>("max-points").value_or(0);
  p.source = o.get<std::string>("source");
  p.path = o.maybe<std::string>("path").value_or("");
  p.classes = o.maybe<std::string>("classes").value_or("");
  p.length = o.get<int64_t>("length");
  p.channels = o.get<int64_t>("channels");
  p.signature_seed = o.get<int64_t>("signature-seed");
  r.split = data::parse_split(o.get<std::string>("split"));
  r.count = o.maybe<int64_t>("count").value_or(-1);
  r.seed = o.get<int64_t>("seed");
  r.batch_size = o.get<int64_t>("batch-size");
  r.out = o.get<std::string>("out");
  return r;
}

int run_make_dataset(int argc, char** argv) {
  Options options("make-dataset",
                  "Write a fixed task file (tca.md section 6 generators) or, for image training sets, an "
                  "image-source file. Same task, options and seed => same content hash.");
  declare_options(options);
  if (!options.parse(argc, argv)) return 0;
  const data::GenerationRequest request = request_from(options);

  std::unique_ptr<Progress> progress;
  const data::GenerationResult result = data::generate_dataset(request, [&](int64_t done, int64_t total) {
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
  std::printf("%s\n", fmt::format("{}: {} {}{}, content hash {}", request.out, result.tasks, unit,
                                  result.layout == "images" ? " (image source)"
                                                            : fmt::format(" in {} batch{}", result.batches, result.batches == 1 ? "" : "es"),
                                  data::hash_hex(result.content_hash))
                          .c_str());
  return 0;
}

}  // namespace

TCA_COMMAND("make-dataset", "generate a fixed task file (copy, gp, image, timeseries)", run_make_dataset, 10);

}  // namespace tca::cli
