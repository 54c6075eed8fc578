#include "models/model_config.hpp"

#include <cmath>
#include <nlohmann/json.hpp>
#include <utility>

#include "core/error.hpp"

namespace tca {

TaskLoss task_loss_from_string(const std::string& s) {
  if (s == "nll") return TaskLoss::gaussian_nll;  // the official code's name
  return value_named(kTaskLossNames, s, "loss");
}

int64_t ModelConfig::predictor_out() const {
  switch (loss) {
    case TaskLoss::classification:
      return num_classes;
    case TaskLoss::gaussian_nll:
      return 2 * dim_y;
    case TaskLoss::mse:
      return dim_y;
  }
  return 0;
}

void ModelConfig::validate() const {
  auto bad = [](const std::string& key, const std::string& expected, const std::string& found) {
    throw UsageError("invalid model option " + key + ": expected " + expected + ", found " + found);
  };
  if (d_model <= 0 || heads <= 0 || d_model % heads)
    bad("d_model/heads", "d_model divisible by heads",
        std::to_string(d_model) + "/" + std::to_string(heads));
  if (dim_feedforward <= 0) bad("dim_feedforward", "> 0", std::to_string(dim_feedforward));
  if (num_layers < 0) bad("layers", ">= 0", std::to_string(num_layers));
  if (emb_depth < 1) bad("emb_depth", ">= 1", std::to_string(emb_depth));
  if (!(dropout >= 0.0f && dropout < 1.0f)) bad("dropout", "in [0, 1)", std::to_string(dropout));
  if (branch_factor < 2) bad("branch_factor", ">= 2", std::to_string(branch_factor));
  if (aggregation_layers < 1) bad("aggregation_layers", ">= 1", std::to_string(aggregation_layers));
  if (heuristic == ContextOrdering::sort_x2 && dim_x < 2)
    bad("heuristic", "sort_x2 only with dim_x >= 2", std::to_string(dim_x));
  if (num_latents < 1) bad("num_latents", ">= 1", std::to_string(num_latents));
  if (num_latent_layers < 0) bad("num_latent_layers", ">= 0", std::to_string(num_latent_layers));
  if (loss == TaskLoss::classification && num_classes < 2)
    bad("num_classes", ">= 2", std::to_string(num_classes));
  if (dim_x < 1 || dim_y < 1)
    bad("dim_x/dim_y", ">= 1", std::to_string(dim_x) + "/" + std::to_string(dim_y));
  // Upper bounds (issue 20): configs also come from files (a run's config.json, a reference
  // file's config_json), where no option layer bounded them. The same limits as the flags.
  auto at_most = [&](const char* key, int64_t value, int64_t limit) {
    if (value > limit) bad(key, "at most " + std::to_string(limit), std::to_string(value));
  };
  at_most("d_model", d_model, 65536);
  at_most("heads", heads, 65536);
  at_most("dim_feedforward", dim_feedforward, int64_t{1} << 20);
  at_most("layers", num_layers, 1024);
  at_most("emb_depth", emb_depth, 1024);
  at_most("branch_factor", branch_factor, 4096);
  at_most("aggregation_layers", aggregation_layers, 1024);
  at_most("num_latents", num_latents, int64_t{1} << 24);
  at_most("num_latent_layers", num_latent_layers, 1024);
  at_most("num_classes", num_classes, 65536);
  at_most("dim_x", dim_x, 65536);
  at_most("dim_y", dim_y, 65536);
  const std::pair<const char*, float> weights[] = {{"ca_loss_weight", ca_loss_weight},
                                                   {"rl_loss_weight", rl_loss_weight},
                                                   {"entropy_bonus", entropy_bonus}};
  for (const auto& [key, w] : weights) {
    if (!std::isfinite(w) || std::abs(w) > 1e6f)
      bad(key, "a finite value within +-1e6", std::to_string(w));
  }
}

void to_json(nlohmann::json& j, const ModelConfig& c) {
  j = nlohmann::json{{"model", to_string(c.model)},
                     {"loss", to_string(c.loss)},
                     {"dim_x", c.dim_x},
                     {"dim_y", c.dim_y},
                     {"num_classes", c.num_classes},
                     {"is_sequential", c.is_sequential},
                     {"is_metalearning", c.is_metalearning},
                     {"bound_std", c.bound_std},
                     {"d_model", c.d_model},
                     {"heads", c.heads},
                     {"dim_feedforward", c.dim_feedforward},
                     {"layers", c.num_layers},
                     {"emb_depth", c.emb_depth},
                     {"dropout", c.dropout},
                     {"norm_first", c.norm_first},
                     {"branch_factor", c.branch_factor},
                     {"aggregation_layers", c.aggregation_layers},
                     {"bptt", c.bptt},
                     {"ca_loss_weight", c.ca_loss_weight},
                     {"rl_loss_weight", c.rl_loss_weight},
                     {"entropy_bonus", c.entropy_bonus},
                     {"reward", to_string(c.reward)},
                     {"heuristic", to_string(c.heuristic)},
                     {"num_latents", c.num_latents},
                     {"num_latent_layers", c.num_latent_layers}};
}

void from_json(const nlohmann::json& j, ModelConfig& c) {
  if (!j.is_object()) throw UsageError("model config: expected a JSON object");
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& k = it.key();
    const auto& v = it.value();
    try {
      if (k == "model")
        c.model = model_kind_from_string(v.get<std::string>());
      else if (k == "loss")
        c.loss = task_loss_from_string(v.get<std::string>());
      else if (k == "dim_x")
        c.dim_x = v.get<int64_t>();
      else if (k == "dim_y")
        c.dim_y = v.get<int64_t>();
      else if (k == "num_classes")
        c.num_classes = v.get<int64_t>();
      else if (k == "is_sequential")
        c.is_sequential = v.get<bool>();
      else if (k == "is_metalearning")
        c.is_metalearning = v.get<bool>();
      else if (k == "bound_std")
        c.bound_std = v.get<bool>();
      else if (k == "d_model")
        c.d_model = v.get<int64_t>();
      else if (k == "heads")
        c.heads = v.get<int64_t>();
      else if (k == "dim_feedforward")
        c.dim_feedforward = v.get<int64_t>();
      else if (k == "layers")
        c.num_layers = v.get<int>();
      else if (k == "emb_depth")
        c.emb_depth = v.get<int>();
      else if (k == "dropout")
        c.dropout = v.get<float>();
      else if (k == "norm_first")
        c.norm_first = v.get<bool>();
      else if (k == "branch_factor")
        c.branch_factor = v.get<int64_t>();
      else if (k == "aggregation_layers")
        c.aggregation_layers = v.get<int>();
      else if (k == "bptt")
        c.bptt = v.get<bool>();
      else if (k == "ca_loss_weight")
        c.ca_loss_weight = v.get<float>();
      else if (k == "rl_loss_weight")
        c.rl_loss_weight = v.get<float>();
      else if (k == "entropy_bonus")
        c.entropy_bonus = v.get<float>();
      else if (k == "reward")
        c.reward = classification_reward_from_string(v.get<std::string>());
      else if (k == "heuristic")
        c.heuristic = context_ordering_from_string(v.get<std::string>());
      else if (k == "num_latents")
        c.num_latents = v.get<int64_t>();
      else if (k == "num_latent_layers")
        c.num_latent_layers = v.get<int>();
      else
        throw UsageError("model config: unknown key '" + k + "'");
    } catch (const nlohmann::json::exception& e) {
      throw UsageError("model config: key '" + k + "' has the wrong type (" + v.dump() + ")");
    }
  }
}

}  // namespace tca
