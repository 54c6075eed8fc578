// What `tca train` records about its model and what `tca eval` / `tca build-tree --checkpoint`
// rebuild from it: the task interface a model was built for (widths, classes, sequence or set,
// meta-learning token) as flat keys of config.json, and a trained model loaded back from a run
// directory (RUN_DIR/config.json + RUN_DIR/checkpoint.h5, parameters only).
#pragma once
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "data/task_info.hpp"
#include "models/model.hpp"
#include "models/retreever_model.hpp"
#include "train/checkpoint.hpp"

namespace tca::cli {

// The config.json keys that describe the task interface rather than options: "data_task" (copy,
// gp, image, timeseries), "loss", "dim_x", "dim_y", "num_classes", "is_sequential",
// "is_metalearning". A run's config.json passed back as --config skips them.
const std::vector<std::string>& task_interface_keys();

// Sets the task interface of `cfg` (loss, widths, classes, sequence, meta-learning) from `info`.
void fill_task_interface(ModelConfig& cfg, const data::TaskInfo& info);

// The task_interface_keys() of a model config built for `info`.
nlohmann::json task_interface_json(const ModelConfig& cfg, const data::TaskInfo& info);

// InputError naming `data_path` and the first attribute in which the data's task differs from
// the one the model was trained on ("model trained on task copy (dim_x 12) ...").
void check_task_matches(const nlohmann::json& run_config, const std::string& run_config_path,
                        const data::TaskInfo& info, const std::string& data_path);

struct LoadedRun {
  std::string dir;
  nlohmann::json config;  // RUN_DIR/config.json
  ModelConfig model_config;
  std::unique_ptr<Model> model;  // with the checkpoint's parameters
  CheckpointInfo checkpoint;
  std::string task;  // the data_task it was trained on
};

// Rebuilds the model of a run from its config.json and loads checkpoint.h5's parameters (not the
// optimiser state). InputError (exit 2) when the directory, its config or its checkpoint is
// missing or does not fit.
LoadedRun load_run(const std::string& run_dir);

// ReTreeverModel of a loaded TCA run, or UsageError "OPTION needs a TCA run (RUN_DIR is MODEL)".
ReTreeverModel& retreever_of(const LoadedRun& run, const std::string& option);

}  // namespace tca::cli
