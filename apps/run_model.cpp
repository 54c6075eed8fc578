#include "run_model.hpp"

#include <fmt/format.h>

#include <filesystem>

#include "core/error.hpp"
#include "io/json_io.hpp"
#include "models/retreever_model.hpp"
#include "train/memory_estimate.hpp"
#include "train/run_directory.hpp"

namespace tca::cli {

const std::vector<std::string>& task_interface_keys() {
  static const std::vector<std::string> keys = {
      "data_task", "loss", "dim_x", "dim_y", "num_classes", "is_sequential", "is_metalearning"};
  return keys;
}

void fill_task_interface(ModelConfig& cfg, const data::TaskInfo& info) {
  cfg.loss = info.is_classification() ? TaskLoss::classification : TaskLoss::gaussian_nll;
  cfg.dim_x = info.dim_x;
  cfg.dim_y = info.dim_y;
  cfg.num_classes = info.num_classes;
  cfg.is_sequential = info.is_sequential;
  cfg.is_metalearning = info.is_metalearning;
}

nlohmann::json task_interface_json(const ModelConfig& cfg, const data::TaskInfo& info) {
  return {{"data_task", info.task},
          {"loss", to_string(cfg.loss)},
          {"dim_x", cfg.dim_x},
          {"dim_y", cfg.dim_y},
          {"num_classes", cfg.num_classes},
          {"is_sequential", cfg.is_sequential},
          {"is_metalearning", cfg.is_metalearning}};
}

void check_task_matches(const nlohmann::json& run_config, const std::string& run_config_path,
                        const data::TaskInfo& info, const std::string& data_path) {
  const nlohmann::json have = {{"data_task", info.task},
                               {"dim_x", info.dim_x},
                               {"dim_y", info.dim_y},
                               {"num_classes", info.num_classes},
                               {"is_sequential", info.is_sequential},
                               {"is_metalearning", info.is_metalearning}};
  for (const auto& [key, value] : have.items()) {
    if (!run_config.contains(key)) {
      throw InputError(run_config_path, key, "run config lacks the task interface", "a value",
                       "none");
    }
    if (run_config[key] != value) {
      const std::string attr = key == "data_task" ? "task" : key;
      throw InputError(data_path, attr,
                       key == "data_task" ? "data of another task than the model was trained on"
                                          : "data that does not fit the model",
                       run_config[key].dump() + " (as in " + run_config_path + ")", value.dump());
    }
  }
}

LoadedRun load_run(const std::string& run_dir) {
  namespace fs = std::filesystem;
  if (!fs::is_directory(run_dir)) {
    throw InputError(run_dir, "", "not a run directory", "a directory written by tca train",
                     "none");
  }
  LoadedRun run;
  run.dir = run_dir;
  const std::string config_path = (fs::path(run_dir) / RunDirectory::kConfig).string();
  const std::string checkpoint_path = (fs::path(run_dir) / RunDirectory::kCheckpoint).string();
  if (!fs::exists(checkpoint_path)) {
    throw InputError(checkpoint_path, "", "run has no checkpoint",
                     "checkpoint.h5 (train at least one step)", "none");
  }
  run.config = io::read_json_file(config_path);
  if (!run.config.is_object())
    throw InputError(config_path, "", "invalid run config", "a JSON object",
                     run.config.type_name());
  // The ModelConfig keys are the flat option names (model_config.hpp); pick them out.
  nlohmann::json model_keys;
  to_json(model_keys, ModelConfig());
  nlohmann::json picked = nlohmann::json::object();
  for (const auto& [key, unused] : model_keys.items()) {
    if (!run.config.contains(key) || run.config[key].is_null()) {
      throw InputError(config_path, key, "run config lacks a model setting", "a value", "none");
    }
    picked[key] = run.config[key];
  }
  try {
    from_json(picked, run.model_config);
    run.model_config.validate();
  } catch (const UsageError& e) {
    throw InputError(config_path + ": " + e.what());
  }
  // A hostile config.json (d_model 60000) would otherwise end in "out of memory allocating ...".
  require_memory(model_parameter_bytes(run.model_config), "the model of " + config_path,
                 fmt::format("d_model {}, layers {}, dim_feedforward {}", run.model_config.d_model,
                             run.model_config.num_layers, run.model_config.dim_feedforward));
  run.task = run.config.value("data_task", std::string());
  Rng init(0);  // overwritten by the checkpoint
  run.model = make_model(run.model_config, init);
  run.checkpoint = load_checkpoint(checkpoint_path, run.model->named_parameters(), nullptr);
  return run;
}

ReTreeverModel& retreever_of(const LoadedRun& run, const std::string& option) {
  auto* m = dynamic_cast<ReTreeverModel*>(run.model.get());
  if (!m)
    throw UsageError(option + " needs a TCA run (" + run.dir + " is " +
                     to_string(run.model_config.model) + ")");
  return *m;
}

}  // namespace tca::cli
