// Every option of `tca train` (conventions.md "Command synopsis", "Options, configs and
// defaults"): data, model (every ModelConfig hyperparameter), optimisation (Adam, clipping,
// schedule) and output options, the per-task defaults of tca.md section 6, and their conversion
// into the ModelConfig and TrainerOptions the libraries take.
#pragma once
#include <string>

#include "data/task_info.hpp"
#include "models/model_config.hpp"
#include "options.hpp"
#include "train/trainer.hpp"

namespace tca::cli {

// Declares the options and the task-dependent defaults (selected by --task, or by the task
// attribute of the --train file).
void declare_train_options(Options& options);

// The model's hyperparameters from the options, its task interface from `info`.
ModelConfig model_config_from(const Options& options, const data::TaskInfo& info);

// Steps, batch size, learning rate and schedule, Adam, clipping, seed, logging and progress.
TrainerOptions trainer_options_from(const Options& options);

// Options that change what a run computes (every recorded option except these may not change
// on --resume): logging, evaluation and checkpoint cadence, the eval file, the run directory.
bool affects_results(const std::string& config_key);

}  // namespace tca::cli
