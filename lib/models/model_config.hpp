// Every hyperparameter of the three models (tca.md sections 1-6) in one struct that reads and
// writes flat JSON (keys = the CLI's long flag names with underscores, conventions.md).
#pragma once
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "core/context_ordering.hpp"
#include "core/named_values.hpp"

namespace tca {

// What a task asks the predictor head for (tca.md 1 "Predictor heads", 4.4 rewards).
enum class TaskLoss { classification, gaussian_nll, mse };
inline constexpr NamedValue<TaskLoss> kTaskLossNames[] = {
    {TaskLoss::classification, "classification"},
    {TaskLoss::gaussian_nll, "gaussian_nll"},
    {TaskLoss::mse, "mse"}};

// The three models (tca.md 1-4): Transformer + full Cross Attention, ReTreever (Tree Cross
// Attention), Perceiver IO.
enum class ModelKind { ca, tca, perceiver };
inline constexpr NamedValue<ModelKind> kModelKindNames[] = {
    {ModelKind::ca, "ca"}, {ModelKind::tca, "tca"}, {ModelKind::perceiver, "perceiver"}};

// The classification reward of the TCA policy (tca.md 4.4): accuracy or negative cross-entropy.
enum class ClassificationReward { acc, nce };
inline constexpr NamedValue<ClassificationReward> kClassificationRewardNames[] = {
    {ClassificationReward::acc, "acc"}, {ClassificationReward::nce, "nce"}};

struct ModelConfig {
  ModelKind model = ModelKind::tca;

  // Task interface (filled from the task: copy/gp/image/timeseries).
  TaskLoss loss = TaskLoss::gaussian_nll;
  int64_t dim_x = 1, dim_y = 1;
  int64_t num_classes = 0;      // classification only
  bool is_sequential = false;   // copy task: positional encoding + ReLU MLP after the embedders
  bool is_metalearning = true;  // context token = [x, y] (GP, images); else x only
  bool bound_std = false;       // std = 0.05 + 0.95 softplus(raw) instead of exp(raw)

  // Transformer (tca.md 6 common settings).
  int64_t d_model = 64, heads = 4, dim_feedforward = 128;
  int num_layers = 6;  // context encoder layers (0 = "constant", the copy task)
  int emb_depth = 4;
  float dropout = 0.0f;
  bool norm_first = true;

  // Tree Cross Attention (tca.md 4).
  int64_t branch_factor = 2;
  int aggregation_layers = 1;
  bool bptt = false;
  float ca_loss_weight = 1.0f, rl_loss_weight = 1.0f, entropy_bonus = 0.01f;
  ClassificationReward reward = ClassificationReward::acc;
  ContextOrdering heuristic = ContextOrdering::none;

  // Perceiver IO (tca.md 3).
  int64_t num_latents = 8;
  int num_latent_layers = 6;

  // Throws UsageError naming the first invalid field.
  void validate() const;
  int64_t predictor_out() const;  // classes, 2 dim_y (nll) or dim_y (mse)
  int64_t context_in() const { return is_metalearning ? dim_x + dim_y : dim_x; }
};

// Names <-> values, through the tables above; the parsers throw a UsageError listing the names.
inline std::string to_string(TaskLoss v) { return name_of(kTaskLossNames, v); }
inline std::string to_string(ModelKind v) { return name_of(kModelKindNames, v); }
inline std::string to_string(ClassificationReward v) {
  return name_of(kClassificationRewardNames, v);
}
TaskLoss task_loss_from_string(const std::string& s);  // also accepts "nll"
inline ModelKind model_kind_from_string(const std::string& s) {
  return value_named(kModelKindNames, s, "model");
}
inline ClassificationReward classification_reward_from_string(const std::string& s) {
  return value_named(kClassificationRewardNames, s, "reward");
}

void to_json(nlohmann::json& j, const ModelConfig& c);
// Reads the keys present (others keep their defaults); unknown keys are an error.
void from_json(const nlohmann::json& j, ModelConfig& c);

}  // namespace tca
