// Every hyperparameter of the three models (tca.md sections 1-6) in one struct that reads and
// writes flat JSON (keys = the CLI's long flag names with underscores, conventions.md).
#pragma once
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>

namespace tca {

// What a task asks the predictor head for (tca.md 1 "Predictor heads", 4.4 rewards).
enum class TaskLoss { classification, gaussian_nll, mse };

struct ModelConfig {
  std::string model = "tca";  // ca | tca | perceiver

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
  std::string reward = "acc";      // classification reward: acc | nce
  std::string heuristic = "none";  // none | sort_x1 | sort_x2 | random_proj | kd

  // Perceiver IO (tca.md 3).
  int64_t num_latents = 8;
  int num_latent_layers = 6;

  // Throws UsageError naming the first invalid field.
  void validate() const;
  int64_t predictor_out() const;  // classes, 2 dim_y (nll) or dim_y (mse)
  int64_t context_in() const { return is_metalearning ? dim_x + dim_y : dim_x; }
};

std::string to_string(TaskLoss loss);
TaskLoss task_loss_from_string(const std::string& s);

void to_json(nlohmann::json& j, const ModelConfig& c);
// Reads the keys present (others keep their defaults); unknown keys are an error.
void from_json(const nlohmann::json& j, ModelConfig& c);

}  // namespace tca
