#include "models/predictor_head.hpp"

#include <cmath>

#include "core/error.hpp"

namespace tca {

PredictorHead::PredictorHead(const ModelConfig& cfg, Rng& rng)
    : nn::Mlp(cfg.d_model, 2 * cfg.d_model, cfg.predictor_out(), 2, nn::Activation::relu, rng),
      cfg_(cfg) {}

const char* PredictorHead::metric_name() const {
  switch (cfg_.loss) {
    case TaskLoss::classification:
      return "accuracy";
    case TaskLoss::gaussian_nll:
      return "tar_ll";
    case TaskLoss::mse:
      return "mse";
  }
  return "?";
}

TaskOutput PredictorHead::task(const Var& encoding, const Batch& batch) const {
  const int64_t B = encoding.dim(0), M = encoding.dim(1), R = B * M;
  Var out = (*this)(encoding);
  TaskOutput t;
  t.output = out.value();
  t.reward = Tensor::empty({R});
  t.per_target = Tensor::empty({R});
  if (cfg_.loss == TaskLoss::classification) {
    if (!batch.labels.defined())
      throw InputError("classification model given a batch without labels");
    const int64_t C = cfg_.num_classes;
    Var logits = ops::reshape(out, {R, C});
    Tensor labels = batch.labels.reshape({R});
    Var ce = ops::cross_entropy_per_row(logits, labels);
    t.loss = ops::mean_all(ce);
    int64_t correct = 0;
    const float* pl = logits.value().data();
    for (int64_t r = 0; r < R; ++r) {
      int64_t best = 0;  // argmax, lowest index on ties
      for (int64_t c = 1; c < C; ++c)
        if (pl[r * C + c] > pl[r * C + best]) best = c;
      const bool ok = best == labels.data_i32()[r];
      correct += ok;
      t.reward[r] = cfg_.reward == ClassificationReward::acc ? (ok ? 1.0f : 0.0f) : -ce.value()[r];
      t.per_target[r] = ce.value()[r];
    }
    t.baseline = cfg_.reward == ClassificationReward::acc ? 0.0f : -std::log(static_cast<float>(C));
    t.metric = R ? static_cast<double>(correct) / static_cast<double>(R) : 0.0;
    t.logits = out.value();
    return t;
  }
  if (!batch.yt.defined()) throw InputError("regression model given a batch without targets yt");
  const int64_t dy = cfg_.dim_y;
  Tensor y = batch.yt.reshape({R, dy});
  if (cfg_.loss == TaskLoss::mse) {
    Var pred = ops::reshape(out, {R, dy});
    t.loss = ops::mse(pred, y);
    for (int64_t r = 0; r < R; ++r) {
      float se = 0;
      for (int64_t d = 0; d < dy; ++d) {
        const float e = pred.value()[r * dy + d] - y[r * dy + d];
        se += e * e;
      }
      t.reward[r] = -se / static_cast<float>(dy);
      t.per_target[r] = se / static_cast<float>(dy);
    }
    t.metric = t.loss.item();
    t.mean = out.value();
    return t;
  }
  auto halves = ops::split(ops::reshape(out, {R, 2 * dy}), -1, {dy, dy});
  Var std = cfg_.bound_std
                ? ops::add_scalar(ops::mul_scalar(ops::softplus(halves[1]), 0.95f), 0.05f)
                : ops::exp(halves[1]);
  Var ll = ops::gaussian_log_likelihood_per_row(halves[0], std, y);
  t.loss = ops::neg(ops::mean_all(ll));
  t.reward.copy_from(ll.value());
  for (int64_t r = 0; r < R; ++r) t.per_target[r] = -ll.value()[r];
  t.metric = -static_cast<double>(t.loss.item());
  t.mean = halves[0].value().reshape({B, M, dy});
  t.std = std.value().reshape({B, M, dy});
  return t;
}

}  // namespace tca
