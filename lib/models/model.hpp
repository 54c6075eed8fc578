// The one interface of the three methods (CA, Perceiver IO, TCA/ReTreever): a training loss with
// named terms, batched prediction, and the tokens each query attended to (conventions.md "Tokens
// attended": CA = N, Perceiver IO = L, TCA = the nominal |S| = k(b-1) + P, or N when k = 0).
#pragma once
#include <map>
#include <memory>
#include <string>

#include "core/batch.hpp"
#include "models/embedder.hpp"
#include "models/model_config.hpp"
#include "models/predictor_head.hpp"

namespace tca {

struct LossOutput {
  Var total;                            // the differentiable training loss
  std::map<std::string, double> terms;  // "loss", task terms, metric; TCA adds its own terms
};

struct Predictions {
  Tensor logits;            // classification [B, M, C]
  Tensor mean, std;         // regression [B, M, dy] (std: gaussian only)
  Tensor tokens_attended;   // f32 [B, M]
  Tensor tokens_unmasked;   // f32 [B, M] entries of the attended set with mask 1
  double nodes_scored = 0;  // TCA: b k per query (mean); 0 otherwise
  double loss = 0;          // task loss on this batch (mean over targets)
  double metric = 0;        // accuracy | tar_ll | mse
};

class Model : public nn::Module {
 public:
  Model(const ModelConfig& cfg, Rng& init_rng);
  const ModelConfig& config() const { return cfg_; }
  const char* metric_name() const { return predictor.metric_name(); }

  // Training-mode forward (dropout on, TCA samples its path) and the loss with named terms.
  virtual LossOutput loss(const Batch& batch, Rng& rng) = 0;
  // Inference (no graph recorded; TCA descends greedily).
  virtual Predictions predict(const Batch& batch) = 0;

  // The context embedder's input: [xc, yc] for meta-learning tasks, else xc.
  Var context_tokens(const Batch& batch) const;

  Embedder context_embedder, query_embedder;
  PredictorHead predictor;

 protected:
  // Fills predictions and loss/metric from a task output.
  static void fill_task(Predictions& p, const TaskOutput& t);
  ModelConfig cfg_;
};

// Builds the model the config names (cfg.validate() first).
std::unique_ptr<Model> make_model(const ModelConfig& cfg, Rng& init_rng);

}  // namespace tca
