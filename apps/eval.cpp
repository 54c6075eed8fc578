// `tca eval --run RUN_DIR --data FILE.h5 [--trees TREES.h5 [--tree-name NAME]] [--full]
// [--max-batches N] [--out FILE.json]` (conventions.md "JSON results", "Tokens attended"): the
// run's model (config.json + checkpoint.h5 parameters) scored on a fixed task file; eval.json
// written atomically (default RUN_DIR/eval.json) and a one-line summary on stdout.
// TCA answers greedily by default; --full attends to all leaves ("ReTreever-Full", tca.md 4.3);
// --trees answers from the node embeddings stored by `tca build-tree --checkpoint`; its latency
// covers projecting the stored memory to keys and values and the descent, not reading the file.
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>

#include "command.hpp"
#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/system_info.hpp"
#include "data/content_hash.hpp"
#include "data/task_file_reader.hpp"
#include "data/tree_file.hpp"
#include "eval/evaluate.hpp"
#include "io/json_io.hpp"
#include "io/system_json.hpp"
#include "options.hpp"
#include "run_model.hpp"
#include "train/run_directory.hpp"

namespace tca::cli {

using data::default_tree_name;
using data::TreeGroupInfo;
using data::TreeGroupReader;

namespace {

void declare_options(Options& o) {
  o.add<std::string>(Group::data, "run", "run directory written by tca train")
      .value_name("RUN_DIR")
      .required();
  o.add<std::string>(Group::data, "data", "fixed task file to evaluate on")
      .value_name("FILE.h5")
      .required();
  o.add<int64_t>(Group::data, "max-batches", int64_t{0},
                 "evaluate the first N batches of --data (0 = all)")
      .min(0);
  o.add<std::string>(
       Group::model, "trees",
       "[tca] answer from the node embeddings of `tca build-tree --checkpoint RUN_DIR` on --data")
      .value_name("TREES.h5");
  o.add<std::string>(Group::model, "tree-name",
                     "[tca] tree under /trees (default: the run's HEURISTIC_bB)")
      .value_name("NAME");
  o.add_flag(Group::model, "greedy", "[tca] greedy descent, one leaf per query (the default)");
  o.add_flag(Group::model, "full",
             "[tca] ReTreever-Full: attend to all leaves instead of the greedy descent");
  o.add<std::string>(Group::output, "out", "result file (default RUN_DIR/eval.json)")
      .value_name("FILE.json");
}

// The stored trees must come from this checkpoint and this data file, with this model's shape.
void check_trees(const TreeGroupReader& trees, const LoadedRun& run,
                 const data::TaskFileReader& reader) {
  const std::string where = trees.group();
  const TreeGroupInfo& t = trees.info();
  const ModelConfig& mc = run.model_config;
  if (!t.has_nodes) {
    throw InputError(trees.path(), where, "trees without node embeddings",
                     "trees built with --checkpoint " + run.dir,
                     "trees built without --checkpoint");
  }
  if (t.parameters_hash != run.checkpoint.parameters_hash) {
    throw InputError(trees.path(), where + ":parameters_hash",
                     "trees built from another checkpoint",
                     run.checkpoint.parameters_hash + " (" + run.checkpoint.path + ")",
                     t.parameters_hash + " (" + t.checkpoint + ")");
  }
  const std::string data_hash = data::hash_hex(reader.content_hash());
  if (t.data_content_hash != data_hash) {
    throw InputError(trees.path(), where + ":data_content_hash",
                     "trees built from another data file", data_hash + " (" + reader.path() + ")",
                     t.data_content_hash + " (" + t.data_file + ")");
  }
  if (t.branch_factor != mc.branch_factor || t.heuristic != mc.heuristic ||
      t.d_model != mc.d_model) {
    throw InputError(
        trees.path(), where, "trees of another tree configuration",
        fmt::format("b {}, {}, D {}", mc.branch_factor, to_string(mc.heuristic), mc.d_model),
        fmt::format("b {}, {}, D {}", t.branch_factor, to_string(t.heuristic), t.d_model));
  }
  if (trees.num_tasks() != reader.num_tasks()) {
    throw InputError(trees.path(), where, "trees for another number of tasks",
                     std::to_string(reader.num_tasks()), std::to_string(trees.num_tasks()));
  }
}

nlohmann::json eval_json(const LoadedRun& run, const data::TaskFileReader& reader,
                         const EvalSummary& s, const std::string& inference, double wall_s) {
  const SystemInfo sys = system_info();
  nlohmann::json metrics = {{"loss", s.loss}, {s.metric_name, s.metric}};
  if (s.mse >= 0 && s.metric_name != "mse") metrics["mse"] = s.mse;
  nlohmann::json j = {
      {"model", to_string(run.model_config.model)},
      {"task", reader.info().task},
      {"run", run.dir},
      {"checkpoint",
       {{"step", run.checkpoint.state.step}, {"parameters_hash", run.checkpoint.parameters_hash}}},
      {"inference", inference},
      {"data", {{"path", reader.path()}, {"content_hash", data::hash_hex(reader.content_hash())}}},
      {"metrics", metrics},
      {"tokens_attended",
       {{"mean", s.tokens_mean},
        {"min", s.tokens_min},
        {"max", s.tokens_max},
        {"percent_of_n", s.percent_of_n}}},
      {"tokens_unmasked", {{"mean", s.unmasked_mean}}},
      {"n_context", s.n_context_mean},
      {"batches", s.batches},
      {"queries", s.queries},
      {"latency_us_per_query", s.latency_us_per_query()},
      {"queries_per_s", s.queries_per_s()},
      {"peak_rss_mb", peak_rss_mb()},
      {"threads", sys.threads},
      {"isa", sys.isa},
      {"versions", io::versions_json(sys)},
      {"wall_s", wall_s}};
  if (run.model_config.model == ModelKind::tca) j["nodes_scored"] = s.nodes_scored;
  return j;
}

int run_eval(int argc, char** argv) {
  Options options(
      "eval",
      "Score a run's checkpoint on a fixed task file: task metrics, tokens attended per query, "
      "latency; writes eval.json (conventions.md \"JSON results\") and prints a one-line summary.");
  declare_options(options);
  if (!options.parse(argc, argv)) return 0;
  // Before any work: a directory, device or FIFO as --out used to fail (or be replaced) at the end.
  if (options.has("out")) check_output_file(options.get<std::string>("out"), "--out");
  const auto start = std::chrono::steady_clock::now();

  const bool full = options.get<bool>("full"), with_trees = options.has("trees");
  if (full && with_trees)
    throw UsageError("--full and --trees exclude each other (--trees answers greedily)");
  if (full && options.get<bool>("greedy"))
    throw UsageError("--full and --greedy exclude each other");
  if (options.has("tree-name") && !with_trees)
    throw UsageError("--tree-name needs --trees TREES.h5");
  const data::TaskFileReader reader(options.get<std::string>("data"));
  const LoadedRun run = load_run(options.get<std::string>("run"));
  check_task_matches(run.config, run.dir + "/" + RunDirectory::kConfig, reader.info(),
                     reader.path());
  const int64_t max_batches = options.get<int64_t>("max-batches");
  const std::string tree_name =
      options.maybe<std::string>("tree-name")
          .value_or(default_tree_name(run.model_config.heuristic, run.model_config.branch_factor));

  std::string inference = run.model_config.model == ModelKind::ca ? "cross_attention" : "latents";
  EvalSummary summary;
  if (run.model_config.model != ModelKind::tca) {
    if (full || with_trees) {
      throw UsageError(std::string(full ? "--full" : "--trees") + " needs a TCA run (" + run.dir +
                       " is " + to_string(run.model_config.model) + ")");
    }
    summary = evaluate_model(*run.model, reader, max_batches);
  } else if (!with_trees) {
    ReTreeverModel& m = retreever_of(run, "--full");
    inference = full ? "full" : "greedy";
    BatchInference bi;
    const TcaReadout readout = full ? TcaReadout::full : TcaReadout::greedy;
    bi.predict = [&](const Batch& batch) { return m.answer(m.index(batch), batch, readout); };
    summary = evaluate_inference(m.metric_name(), reader, max_batches, bi);
  } else {
    ReTreeverModel& m = retreever_of(run, "--trees");
    const TreeGroupReader trees(options.get<std::string>("trees"), tree_name);
    check_trees(trees, run, reader);
    inference = "stored_trees";
    int64_t first_task = 0;
    TreeShape shape;
    Tensor memory, mask;
    BatchInference bi;
    bi.prepare = [&](int64_t, const Batch& batch) {
      shape = TreeShape(batch.num_context(), run.model_config.branch_factor);
      for (int64_t t = first_task; t < first_task + batch.batch_size(); ++t) {
        if (trees.context_size(t) != batch.num_context()) {
          throw InputError(trees.path(), trees.group() + "/perm_offsets",
                           "trees of other context sets",
                           fmt::format("{} context rows for task {}", batch.num_context(), t),
                           std::to_string(trees.context_size(t)));
        }
      }
      trees.read_memory(first_task, batch.batch_size(), shape, memory, mask);
      first_task += batch.batch_size();
    };
    bi.predict = [&](const Batch& batch) {
      return m.answer(m.decoder.index_from_memory(shape, memory, mask), batch);
    };
    summary = evaluate_inference(m.metric_name(), reader, max_batches, bi);
  }
  const double wall_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  nlohmann::json result = eval_json(run, reader, summary, inference, wall_s);
  if (with_trees)
    result["trees"] = {{"path", options.get<std::string>("trees")}, {"name", tree_name}};
  const std::string out =
      options.maybe<std::string>("out").value_or(run.dir + "/" + RunDirectory::kEval);
  io::write_json_atomically(out, result);
  std::printf(
      "%s\n",
      fmt::format(
          "{} ({}, {}) on {}: {} {:.4f}, loss {:.4f}, tokens attended {:.2f} ({:.2f}% of N), "
          "{:.1f} us/query, {:.0f} queries/s -> {}",
          run.dir, to_string(run.model_config.model), inference, reader.path(), summary.metric_name,
          summary.metric, summary.loss, summary.tokens_mean, summary.percent_of_n,
          summary.latency_us_per_query(), summary.queries_per_s(), out)
          .c_str());
  return 0;
}

}  // namespace

TCA_COMMAND("eval", "score a run's checkpoint on a fixed task file and write eval.json", run_eval,
            40);

}  // namespace tca::cli
