// `tca build-tree --data FILE.h5 --out TREES.h5 [--name NAME] [--branch-factor b] [--heuristic H]
// [--checkpoint RUN_DIR]` (conventions.md "Command synopsis", "HDF5 datasets"): the TCA tree of
// every context set of a task file (ordering, depth, leaf size, padding masks) under /trees/NAME;
// with --checkpoint also the trained model's node embeddings and encoded leaf tokens, so that
// `tca eval --trees` answers queries without rebuilding. Prints the trees' statistics on stdout.
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>

#include "command.hpp"
#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/progress.hpp"
#include "data/content_hash.hpp"
#include "data/task_file_reader.hpp"
#include "data/tree_file.hpp"
#include "models/tree_ordering.hpp"
#include "options.hpp"
#include "run_model.hpp"
#include "train/run_directory.hpp"

namespace tca::cli {

using data::default_tree_name;
using data::require_trees_file;
using data::TaskTree;
using data::TreeFileWriter;
using data::TreeGroupInfo;

namespace {

void declare_options(Options& o) {
  o.add<std::string>(Group::data, "data", "task file whose context sets get trees")
      .value_name("FILE.h5")
      .required();
  o.add<int64_t>(Group::model, "branch-factor",
                 "branching factor b (default 2; with --checkpoint: the run's)")
      .min(2);
  o.add<std::string>(
       Group::model, "heuristic",
       "context ordering (default: the data's default ordering; with --checkpoint: the run's)")
      .choices(names_of(kContextOrderingNames));
  o.add<std::string>(Group::model, "checkpoint",
                     "a TCA run directory: also store its node embeddings and encoded leaf tokens")
      .value_name("RUN_DIR");
  o.add<std::string>(Group::output, "out",
                     "trees file; an existing one keeps its other trees (rewritten, then renamed)")
      .value_name("TREES.h5")
      .required();
  o.add<std::string>(Group::output, "name",
                     "tree name under /trees (default HEURISTIC_bB, e.g. sort_x1_b2)")
      .value_name("NAME")
      .check([](const std::string& n) {
        const bool ok = !n.empty() && n.find('/') == std::string::npos && n != "." && n != "..";
        return ok ? std::string() : std::string("expected a non-empty name without '/'");
      });
  o.add<std::string>(Group::output, "progress", std::string("auto"), "progress display on stderr")
      .choices({"auto", "bar", "lines", "none"})
      .transient();
}

// Statistics printed at the end (tokens per query as conventions.md "Tokens attended").
struct TreeStats {
  int64_t tasks = 0, min_depth = std::numeric_limits<int64_t>::max(), max_depth = 0;
  int64_t min_leaf = std::numeric_limits<int64_t>::max(), max_leaf = 0;
  double depth_sum = 0, leaf_sum = 0, tokens_sum = 0, ratio_sum = 0, queries = 0;
  int64_t real = 0, padded = 0, embedding_bytes = 0;

  void add(const TreeShape& s, int64_t queries_of_task) {
    ++tasks;
    min_depth = std::min(min_depth, s.k);
    max_depth = std::max(max_depth, s.k);
    min_leaf = std::min(min_leaf, s.leaf_size);
    max_leaf = std::max(max_leaf, s.leaf_size);
    depth_sum += static_cast<double>(s.k);
    leaf_sum += static_cast<double>(s.leaf_size);
    const double q = static_cast<double>(queries_of_task),
                 t = static_cast<double>(s.tokens_attended());
    tokens_sum += q * t;
    ratio_sum += q * t / static_cast<double>(s.n);
    queries += q;
    real += s.n;
    padded += s.padded;
  }
};

void print_stats(const TreeStats& s, const std::string& out, const std::string& group,
                 bool with_nodes) {
  const double T = static_cast<double>(s.tasks);
  std::printf("%s:%s: %lld trees\n", out.c_str(), group.c_str(), static_cast<long long>(s.tasks));
  std::printf("  depth k          %lld..%lld (mean %.2f)\n", static_cast<long long>(s.min_depth),
              static_cast<long long>(s.max_depth), s.depth_sum / T);
  std::printf("  leaf size P      %lld..%lld (mean %.2f)\n", static_cast<long long>(s.min_leaf),
              static_cast<long long>(s.max_leaf), s.leaf_sum / T);
  std::printf("  padding          %.2f%% of %lld leaf slots\n",
              s.padded
                  ? 100.0 * static_cast<double>(s.padded - s.real) / static_cast<double>(s.padded)
                  : 0.0,
              static_cast<long long>(s.padded));
  std::printf(
      "  tokens per query %.2f mean, %.2f%% of N (mean over queries of k(b-1)+P, or N when k = 0, "
      "/ N)\n",
      s.queries ? s.tokens_sum / s.queries : 0.0,
      s.queries ? 100.0 * s.ratio_sum / s.queries : 0.0);
  if (with_nodes) {
    std::printf("  node embeddings  %lld bytes (%.2f MiB: nodes, leaf tokens and masks)\n",
                static_cast<long long>(s.embedding_bytes),
                static_cast<double>(s.embedding_bytes) / (1 << 20));
  }
}

int run_build_tree(int argc, char** argv) {
  Options options(
      "build-tree",
      "Build the TCA tree of every context set of a task file (ordering, depth, leaf size, padding "
      "masks) into TREES.h5 under /trees/NAME; with --checkpoint also the trained node "
      "embeddings, for `tca eval --trees`.");
  declare_options(options);
  if (!options.parse(argc, argv)) return 0;
  // Before any work: a directory, device or FIFO as --out used to fail (or be replaced) at the end.
  check_output_file(options.get<std::string>("out"), "--out");

  const data::TaskFileReader reader(options.get<std::string>("data"));
  std::optional<LoadedRun> run;
  ReTreeverModel* model = nullptr;
  int64_t b = options.maybe<int64_t>("branch-factor").value_or(2);
  ContextOrdering heuristic =
      options.has("heuristic") ? context_ordering_from_string(options.get<std::string>("heuristic"))
                               : reader.info().ordering;
  if (options.has("checkpoint")) {
    run.emplace(load_run(options.get<std::string>("checkpoint")));
    model = &retreever_of(*run, "--checkpoint");
    check_task_matches(run->config, run->dir + "/" + RunDirectory::kConfig, reader.info(),
                       reader.path());
    const ModelConfig& mc = run->model_config;
    if (options.has("branch-factor") && b != mc.branch_factor) {
      throw UsageError(fmt::format(
          "--branch-factor {} contradicts the run's branch_factor {} (omit it with --checkpoint)",
          b, mc.branch_factor));
    }
    if (options.has("heuristic") && heuristic != mc.heuristic) {
      throw UsageError("--heuristic " + to_string(heuristic) + " contradicts the run's heuristic " +
                       to_string(mc.heuristic) + " (omit it with --checkpoint)");
    }
    b = mc.branch_factor;
    heuristic = mc.heuristic;
  }
  if (heuristic == ContextOrdering::sort_x2 && reader.info().dim_x < 2) {
    throw UsageError("--heuristic sort_x2 needs inputs with >= 2 coordinates; " + reader.path() +
                     " has dim_x " + std::to_string(reader.info().dim_x));
  }
  const std::string name =
      options.maybe<std::string>("name").value_or(default_tree_name(heuristic, b));
  const std::string out = options.get<std::string>("out");
  std::optional<io::H5File> existing;
  if (std::filesystem::exists(out)) {
    existing.emplace(io::H5File::open_read(out));
    require_trees_file(*existing);
  }

  TreeGroupInfo info;
  info.branch_factor = b;
  info.heuristic = heuristic;
  info.data_file = reader.path();
  info.data_content_hash = data::hash_hex(reader.content_hash());
  if (run) {
    info.has_nodes = true;
    info.parameters_hash = run->checkpoint.parameters_hash;
    info.checkpoint = run->dir;
    info.checkpoint_step = run->checkpoint.state.step;
    info.d_model = run->model_config.d_model;
  }

  ProgressOptions popt;
  popt.mode = parse_progress_mode(options.get<std::string>("progress"));
  popt.label = "build-tree";
  popt.unit = "task";
  popt.total = reader.num_tasks();
  popt.line_every_s = 5.0;
  Progress progress(popt);
  TreeStats stats;
  write_atomically(out, [&](const std::string& tmp) {
    TreeFileWriter writer(tmp, existing ? &*existing : nullptr, name, info);
    for (int64_t bi = 0; bi < reader.num_batches(); ++bi) {
      const Batch batch = reader.read_batch(bi);
      const int64_t B = batch.batch_size(), N = batch.num_context(), D = info.d_model;
      const TreeShape shape(N, b);
      const Tensor perm = context_order(batch.xc, heuristic);
      std::optional<TcaIndex> index;
      if (model) index = model->index(batch, true);
      for (int64_t t = 0; t < B; ++t) {
        TaskTree tree;
        tree.shape = shape;
        tree.perm.assign(perm.data_i32() + t * N, perm.data_i32() + (t + 1) * N);
        if (index) {
          const int64_t Ntot = shape.memory_size(), levels = shape.memory_offset(shape.k + 1);
          const float* mem = index->memory.data() + t * Ntot * D;
          const float* mem_mask = index->memory_mask.data() + t * Ntot;
          if (shape.k > 0) {
            tree.nodes.assign(index->root.data() + t * D, index->root.data() + (t + 1) * D);
            tree.node_mask.push_back(1);  // the root covers the task's real tokens
            tree.nodes.insert(tree.nodes.end(), mem, mem + levels * D);
            for (int64_t i = 0; i < levels; ++i) tree.node_mask.push_back(mem_mask[i] > 0 ? 1 : 0);
          }
          tree.tokens.assign(mem + levels * D, mem + Ntot * D);
          stats.embedding_bytes +=
              static_cast<int64_t>(tree.nodes.size() + tree.tokens.size()) * 4 +
              static_cast<int64_t>(tree.node_mask.size()) + shape.padded;
        }
        writer.append(tree);
        stats.add(shape, batch.num_targets());
      }
      progress.update(stats.tasks);
    }
    writer.finish();
  });
  progress.finish();
  print_stats(stats, out, "/trees/" + name, info.has_nodes);
  return 0;
}

}  // namespace

TCA_COMMAND("build-tree", "build the TCA trees (and node embeddings) of a task file's context sets",
            run_build_tree, 20);

}  // namespace tca::cli
