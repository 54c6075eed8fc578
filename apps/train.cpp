// `tca train --model ca|tca|perceiver (--task TASK [task options] | --train FILE.h5) [--eval
// FILE.h5]
// --out RUN_DIR [...]` (conventions.md "Command synopsis", "Run directories"): resolves the
// options (built-in < task defaults < --config < flags), writes RUN_DIR/config.json and
// status.json, trains with lib/train's Trainer (metrics.jsonl, periodic evaluation on the fixed
// --eval file, checkpoints, signals) and prints the run directory on stdout.
#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>

#include "command.hpp"
#include "core/error.hpp"
#include "core/signals.hpp"
#include "core/system_info.hpp"
#include "data/file_task_sampler.hpp"
#include "data/task_file_reader.hpp"
#include "data/task_sampler.hpp"
#include "eval/evaluate.hpp"
#include "io/json_io.hpp"
#include "io/system_json.hpp"
#include "run_model.hpp"
#include "task_options.hpp"
#include "train/checkpoint.hpp"
#include "train/memory_estimate.hpp"
#include "train/run_directory.hpp"
#include "train/trainer.hpp"
#include "train_options.hpp"

namespace tca::cli {

namespace {

// Streams of Rng(seed) (the Trainer uses 1 for data and 2 for dropout / path sampling).
constexpr uint64_t kInitStream = 0, kFileShuffleStream = 3;

// `--resume` without `--config` reads the run's own config.json as the config file, so that
// `tca train --out RUN --resume` continues a run without repeating its options.
std::vector<std::string> arguments_with_resumed_config(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  bool resume = false, config = false;
  std::string out;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    resume |= a == "--resume";
    config |= a == "--config" || a.rfind("--config=", 0) == 0;
    if (a == "--out" && i + 1 < args.size()) out = args[i + 1];
    if (a.rfind("--out=", 0) == 0) out = a.substr(6);
  }
  const bool help = std::find(args.begin(), args.end(), "--help") != args.end() ||
                    std::find(args.begin(), args.end(), "-h") != args.end();
  if (!resume || out.empty() || help) return args;
  // Before the options are checked: without its config the run's --model is not known yet.
  RunDirectory::open(out, RunStart::resume);  // UsageError when there is no run to resume
  const std::string stored = (std::filesystem::path(out) / RunDirectory::kConfig).string();
  if (!config && std::filesystem::exists(stored)) {
    args.push_back("--config");
    args.push_back(stored);
  }
  return args;
}

struct TrainData {
  std::unique_ptr<data::TaskSampler> sampler;
  data::TaskInfo info;
  int64_t points_per_task = 0;  // the most rows (context + targets) one task can have
  std::string points_source;    // the option or file that sets it, for the memory estimate
};

// The most rows of any task in a task file.
int64_t largest_task(const data::TaskFileReader& reader) {
  int64_t most = 0;
  for (int64_t b = 0; b < reader.num_batches(); ++b)
    most = std::max(most, reader.num_context(b) + reader.num_targets(b));
  return most;
}

// The training batches: the task's generator or the --train file. Records the resolved task
// parameters in `resolved` and nulls the task options that do not apply.
TrainData open_training_data(const Options& o, nlohmann::json& resolved) {
  const bool has_task = o.has("task"), has_file = o.has("train");
  if (has_task == has_file) {
    throw UsageError(
        has_task
            ? "--task and --train exclude each other (generate batches or read them from a file)"
            : "missing training data: give --task copy|gp|image|timeseries or --train FILE.h5");
  }
  TrainData d;
  std::string task;
  if (has_task) {
    task = o.get<std::string>("task");
    const data::TaskParams p = data::resolve_params(task_params_from(o, task));
    // Before the sampler exists: the GP sampler's covariance is P x P doubles.
    if (task == "gp") {
      require_memory(gp_generator_bytes(p.max_points), "the GP generator",
                     fmt::format("--max-points {}", p.max_points));
    }
    d.sampler = data::make_task_sampler(p, data::Split::train);
    const bool copy = task == "copy", series = task == "timeseries";
    d.points_per_task = copy ? p.seq_len : series ? p.length : p.max_points;
    d.points_source = fmt::format("--{} {}",
                                  copy     ? "seq-len"
                                  : series ? "length"
                                           : "max-points",
                                  d.points_per_task);
    if (task_option_applies("max-points", task)) resolved["max_points"] = p.max_points;
    if (task_option_applies("classes", task)) resolved["classes"] = p.classes;
  } else {
    refuse_task_options(o, "not to --train FILE.h5 (the file carries its own task parameters)");
    const uint64_t shuffle_seed =
        Rng(static_cast<uint64_t>(o.get<int64_t>("seed"))).fork(kFileShuffleStream).next_u64();
    d.sampler = data::make_file_task_sampler(o.get<std::string>("train"), shuffle_seed);
    if (auto* file = dynamic_cast<data::TaskFileSampler*>(d.sampler.get())) {
      d.points_per_task = largest_task(file->reader());
      d.points_source = "the largest task of " + file->reader().path();
    }
  }
  for (const auto& key : task_option_keys()) {
    if (task.empty() || !task_option_applies(key, task)) resolved[key] = nullptr;
  }
  d.info = d.sampler->info();
  return d;
}

void check_same_task(const data::TaskInfo& train, const data::TaskInfo& eval,
                     const std::string& eval_path) {
  auto differ = [&](const char* attr, const std::string& want, const std::string& found) {
    throw InputError(eval_path, attr, "eval file of another task than the training data", want,
                     found);
  };
  if (eval.task != train.task) differ("task", train.task, eval.task);
  if (eval.dim_x != train.dim_x)
    differ("dim_x", std::to_string(train.dim_x), std::to_string(eval.dim_x));
  if (eval.dim_y != train.dim_y)
    differ("dim_y", std::to_string(train.dim_y), std::to_string(eval.dim_y));
  if (eval.num_classes != train.num_classes)
    differ("num_classes", std::to_string(train.num_classes), std::to_string(eval.num_classes));
  if (eval.is_sequential != train.is_sequential)
    differ("is_sequential", std::to_string(train.is_sequential),
           std::to_string(eval.is_sequential));
  if (eval.is_metalearning != train.is_metalearning)
    differ("is_metalearning", std::to_string(train.is_metalearning),
           std::to_string(eval.is_metalearning));
}

// Options added to tca train after runs were recorded, with the value those runs used.
const nlohmann::json kAddedOptionDefaults = {{"data_parallel", 1}};

// --resume: refuse a config that would change the results; warn when the exactness conditions
// (threads, ISA) differ.
void check_resume(const RunDirectory& run, const nlohmann::json& resolved, const SystemInfo& sys) {
  nlohmann::json stored = run.read_config();
  // Options added after runs were recorded: a config.json without one ran with this value.
  for (const auto& [key, value] : kAddedOptionDefaults.items())
    if (!stored.contains(key)) stored[key] = value;
  std::string list;
  for (const auto& key : changed_config_keys(stored, resolved)) {
    if (!affects_results(key)) continue;
    const auto show = [](const nlohmann::json& j, const std::string& k) {
      return j.contains(k) ? j[k].dump() : "absent";
    };
    list += fmt::format("{}{} (stored {}, now {})", list.empty() ? "" : ", ", key,
                        show(stored, key), show(resolved, key));
  }
  if (!list.empty()) {
    throw UsageError("cannot --resume " + run.path() + ": the config differs from its " +
                     RunDirectory::kConfig + " in " + list +
                     " (start a new run, or --overwrite this one)");
  }
  const nlohmann::json now = io::config_metadata_json(sys);
  for (const char* key : {"omp_threads", "onednn_isa"}) {
    if (stored.contains(key) && stored[key] != now[key]) {
      std::fprintf(stderr,
                   "tca train: warning: %s was %s and is now %s; the resumed run will not match an "
                   "uninterrupted one bit for bit\n",
                   key, stored[key].dump().c_str(), now[key].dump().c_str());
    }
  }
}

// status.json "failed" with the cause. On a full disk that write fails too; its error used to
// replace the cause in the message, so the cause stays first and the failed write is appended.
void record_failure(const RunDirectory& run, int exit_code, const std::string& cause) {
  try {
    run.write_status(RunState::failed, exit_code, cause);
  } catch (const std::exception& e) {
    throw Error(cause + " (and " + run.status_path() + " could not be updated: " + e.what() + ")",
                exit_code);
  }
}

int run_train(int argc, char** argv) {
  Options options(
      "train",
      "Train CA, TCA (ReTreever) or Perceiver IO on a task's generator (--task) or a task file "
      "(--train) into a run directory (config.json, metrics.jsonl, checkpoint.h5, status.json).\n"
      "Task defaults are tca.md section 6 (image = the EMNIST settings; timeseries, which has no "
      "reference setting, = the copy task's classification settings with 6 encoder layers and "
      "sort_x1); the table is at the end.");
  declare_train_options(options);
  options.ignore_config_keys(task_interface_keys());
  if (!options.parse(arguments_with_resumed_config(argc, argv))) return 0;

  nlohmann::json resolved = options.resolved_json();
  TrainData data = open_training_data(options, resolved);
  const ModelConfig model_config = model_config_from(options, data.info);
  TrainerOptions trainer_options = trainer_options_from(options);
  if (auto* file = dynamic_cast<data::TaskFileSampler*>(data.sampler.get())) {
    const int64_t stored = file->reader().batch_size(0);
    if (!options.given("batch-size")) trainer_options.batch_size = stored;
    if (trainer_options.batch_size != stored) {
      throw UsageError(fmt::format(
          "--batch-size {}: the batches of {} hold {} tasks (omit --batch-size to use them)",
          trainer_options.batch_size, file->reader().path(), stored));
    }
    resolved["batch_size"] = stored;
  }
  std::optional<data::TaskFileReader> eval_reader;
  if (options.has("eval")) {
    eval_reader.emplace(options.get<std::string>("eval"));
    check_same_task(data.info, eval_reader->info(), eval_reader->path());
  }
  resolved.update(task_interface_json(model_config, data.info));

  // Refused before the run directory is created (issue 20): a model or step that cannot fit.
  int64_t points = data.points_per_task, tasks = trainer_options.batch_size;
  std::string points_source = data.points_source;
  if (eval_reader && largest_task(*eval_reader) * eval_reader->batch_size(0) > points * tasks) {
    points = largest_task(*eval_reader);
    tasks = eval_reader->batch_size(0);
    points_source = "the largest task of " + eval_reader->path();
  }
  require_memory(
      training_step_bytes(model_config, tasks, points), "this training configuration",
      fmt::format("--model {}, --d-model {}, --heads {}, --layers {}, --dim-feedforward "
                  "{}{}, --batch-size {}, "
                  "{} points per task from {}",
                  to_string(model_config.model), model_config.d_model, model_config.heads,
                  model_config.num_layers, model_config.dim_feedforward,
                  model_config.model == ModelKind::perceiver
                      ? fmt::format(", --num-latents {}", model_config.num_latents)
                      : "",
                  tasks, points, points_source));

  const RunDirectory run = RunDirectory::open(
      options.get<std::string>("out"),
      run_start_from_flags(options.get<bool>("resume"), options.get<bool>("overwrite")));
  const SystemInfo sys = system_info();
  Rng init = Rng(trainer_options.seed).fork(kInitStream);
  std::unique_ptr<Model> model = make_model(model_config, init);
  if (run.resuming()) {
    check_resume(run, resolved, sys);
    // The whole checkpoint (names, shapes, values, optimiser state, step) is checked before
    // status.json says "running": a corrupt checkpoint leaves the run as it was (interrupted),
    // not "failed" by a resume that never started. The Trainer loads it again, into the same
    // values.
    Adam scratch(model->named_parameters(), trainer_options.adam);
    const CheckpointInfo ck =
        load_checkpoint(run.checkpoint_path(), model->named_parameters(), &scratch);
    if (ck.state.step > trainer_options.steps) {
      throw InputError(run.checkpoint_path(), "step", "checkpoint past the end of the run",
                       fmt::format("at most {} (--steps)", trainer_options.steps),
                       std::to_string(ck.state.step));
    }
  }
  run.write_config(resolved, sys);
  run.write_status(RunState::running);
  EvalCallback evaluate;
  const int64_t eval_batches = options.get<int64_t>("eval-batches");
  if (eval_reader) {
    evaluate = [&](Model& m) {
      return evaluate_model(m, *eval_reader, eval_batches).flat_record();
    };
  }
  // Spans the Trainer's own handlers and the status write after a stop checkpoint: a second
  // SIGTERM there is recorded, not fatal (it would leave status.json "running").
  ScopedStopSignals stop_signals;
  Trainer trainer(*model, *data.sampler, run, trainer_options, run.read_config().dump(), evaluate);
  TrainResult result;
  try {
    result = trainer.run();
  } catch (const Error& e) {
    record_failure(run, e.exit_code(), e.what());
    throw;
  } catch (const std::exception& e) {
    record_failure(run, kExitFailure, e.what());
    throw;
  }
  run.write_status(run_state_for_exit_code(result.exit_code), result.exit_code);
  if (result.exit_code != 0) {
    stop_signals.ignore_signals_after_scope();
    std::fprintf(stderr,
                 "tca train: interrupted at step %lld (checkpoint written); continue with: tca "
                 "train --out %s --resume\n",
                 static_cast<long long>(result.final_step), run.path().c_str());
    return result.exit_code;
  }
  std::printf("%s\n", run.path().c_str());
  return 0;
}

}  // namespace

TCA_COMMAND("train", "train CA, TCA or Perceiver IO into a run directory", run_train, 30);

}  // namespace tca::cli
