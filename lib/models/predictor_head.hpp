// Predictor head and task losses (tca.md 1 "Predictor heads", 4.4 rewards): mlp(D, 2D, out,
// depth 2, ReLU) on the decoder output, then
//   classification: logits, cross-entropy, accuracy; reward acc (0/1) or nce (-ce, baseline -log
//   C); Gaussian: mean = out[:dy], std = exp(raw) or 0.05 + 0.95 softplus(raw); loss = -tar_ll
//             (log N(y; mean, std) summed over dy, mean over targets); reward = that per-target
//             log-likelihood;
//   MSE: prediction = out; loss = mean squared error; reward = -squared error averaged over dy.
#pragma once
#include "core/batch.hpp"
#include "models/model_config.hpp"
#include "nn/mlp.hpp"

namespace tca {

struct TaskOutput {
  Var loss;           // scalar task loss (mean over the B*M targets)
  double metric = 0;  // accuracy, tar_ll or mse (mean over targets)
  Tensor reward;      // [B*M] detached per-target reward (tca.md 4.4)
  float baseline = 0;
  Tensor mean, std;   // regression predictions [B, M, dy] (std only for gaussian)
  Tensor logits;      // classification [B, M, C]
  Tensor output;      // raw predictor output [B, M, out]
  Tensor per_target;  // [B*M] task loss per target (cross-entropy, or minus the log-likelihood,
                      // or the squared error averaged over dy)
};

class PredictorHead : public nn::Mlp {
 public:
  PredictorHead(const ModelConfig& cfg, Rng& rng);
  // encoding [B, M, D] -> the task's loss, metric, reward and predictions.
  TaskOutput task(const Var& encoding, const Batch& batch) const;
  // The name of the metric task() reports: accuracy | tar_ll | mse.
  const char* metric_name() const;

 private:
  ModelConfig cfg_;
};

}  // namespace tca
