// The training loop of `tca train` (conventions.md "Run directories", "Progress and logs"):
// a fresh batch per step from the task's seeded sampler, forward + backward, global-norm clipping,
// Adam with cosine decay (tca.md 6), metrics.jsonl every log step, a fixed-file evaluation every
// eval step, an atomic checkpoint every checkpoint step, and on SIGINT/SIGTERM/SIGUSR1 a checkpoint
// before exiting 130/75. Resuming restores parameters, optimiser, step, generator states and the
// file sampler's position, so a resumed run reproduces an uninterrupted one exactly (same
// threads and ISA; with data_parallel > 1 the replicas' generators are forked from the model
// generator every step, so nothing else needs saving).
#pragma once
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "core/progress.hpp"
#include "data/task_sampler.hpp"
#include "models/model.hpp"
#include "train/adam.hpp"
#include "train/data_parallel.hpp"
#include "train/run_directory.hpp"

namespace tca {

struct TrainerOptions {
  int64_t steps = 1000;
  int64_t batch_size = 16;
  double lr = 5e-4;
  int64_t warmup_steps = 0;
  AdamOptions adam;
  double clip = 1.0;  // global gradient-norm clipping; 0 = none
  uint64_t seed = 0;
  int64_t log_every = 100;
  int64_t eval_every = 5000;  // 0 = never (also skipped without an eval callback)
  int64_t checkpoint_every = 1000;
  // Replicas of data-parallel training (train/data_parallel.hpp): each step's batch is split
  // between this many threads. 1 = the single-model step.
  int data_parallel = 1;
  ProgressMode progress = ProgressMode::automatic;
};

// An evaluation on the fixed eval file: a flat record of metrics ({"loss", "accuracy"|"tar_ll",
// "tokens_attended", ...}) to log with split "eval".
using EvalCallback = std::function<nlohmann::json(Model&)>;

struct TrainResult {
  int exit_code = 0;  // 0, or 130 / 75 when stopped by a signal after checkpointing
  int64_t final_step = 0;
  nlohmann::json last_train_record, last_eval_record;
};

class Trainer {
 public:
  // `sampler` may be a data::TaskFileSampler (its position is checkpointed).
  Trainer(Model& model, data::TaskSampler& sampler, const RunDirectory& run, TrainerOptions options,
          std::string config_json, EvalCallback evaluate = nullptr);
  // Trains to options.steps (from the checkpoint when the run directory is resuming). Throws
  // RuntimeFailure on a non-finite loss or gradient norm (after writing status failed is the
  // caller's job).
  TrainResult run();

 private:
  void save(int64_t step);
  Model& model_;
  data::TaskSampler& sampler_;
  const RunDirectory& run_;
  TrainerOptions opt_;
  std::string config_json_;
  EvalCallback evaluate_;
  Adam adam_;
  DataParallel data_parallel_;
  Rng data_rng_, model_rng_;
};

}  // namespace tca
