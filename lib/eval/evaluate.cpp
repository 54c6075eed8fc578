#include "eval/evaluate.hpp"

#include <algorithm>
#include <chrono>
#include <limits>

namespace tca {

nlohmann::json EvalSummary::flat_record() const {
  nlohmann::json j = {{"loss", loss},
                      {metric_name, metric},
                      {"tokens_attended", tokens_mean},
                      {"percent_of_n", percent_of_n},
                      {"latency_us_per_query", latency_us_per_query()}};
  if (mse >= 0 && metric_name != "mse") j["mse"] = mse;
  return j;
}

EvalSummary evaluate_model(Model& model, const data::TaskFileReader& reader, int64_t max_batches) {
  BatchInference inference;
  inference.predict = [&model](const Batch& batch) { return model.predict(batch); };
  return evaluate_inference(model.metric_name(), reader, max_batches, inference);
}

EvalSummary evaluate_inference(const std::string& metric_name, const data::TaskFileReader& reader,
                               int64_t max_batches, const BatchInference& inference) {
  EvalSummary s;
  s.metric_name = metric_name;
  const int64_t n =
      max_batches > 0 ? std::min(max_batches, reader.num_batches()) : reader.num_batches();
  double tokens_sum = 0, ratio_sum = 0, unmasked_sum = 0, n_sum = 0, mse_sum = 0;
  s.tokens_min = std::numeric_limits<double>::infinity();
  s.tokens_max = 0;
  int64_t tasks = 0;
  for (int64_t bi = 0; bi < n; ++bi) {
    Batch batch = reader.read_batch(bi);
    if (inference.prepare) inference.prepare(bi, batch);
    const auto t0 = std::chrono::steady_clock::now();
    Predictions p = inference.predict(batch);
    s.predict_seconds +=
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    s.loss += p.loss;
    s.metric += p.metric;
    const double N = static_cast<double>(batch.num_context());
    for (int64_t q = 0; q < p.tokens_attended.numel(); ++q) {
      const double t = p.tokens_attended[q];
      tokens_sum += t;
      ratio_sum += t / N;
      unmasked_sum += p.tokens_unmasked[q];
      s.tokens_min = std::min(s.tokens_min, t);
      s.tokens_max = std::max(s.tokens_max, t);
    }
    s.queries += p.tokens_attended.numel();
    s.nodes_scored += p.nodes_scored * static_cast<double>(p.tokens_attended.numel());
    n_sum += N * static_cast<double>(batch.batch_size());
    tasks += batch.batch_size();
    if (p.mean.defined() && batch.yt.defined()) {
      double se = 0;
      for (int64_t i = 0; i < p.mean.numel(); ++i)
        se += (p.mean[i] - batch.yt[i]) * (p.mean[i] - batch.yt[i]);
      mse_sum += se / static_cast<double>(p.mean.numel());
    }
  }
  s.batches = n;
  if (n) {
    s.loss /= static_cast<double>(n);
    s.metric /= static_cast<double>(n);
    if (mse_sum > 0 || s.metric_name == "tar_ll") s.mse = mse_sum / static_cast<double>(n);
  }
  if (s.queries) {
    const double q = static_cast<double>(s.queries);
    s.tokens_mean = tokens_sum / q;
    s.percent_of_n = 100.0 * ratio_sum / q;
    s.unmasked_mean = unmasked_sum / q;
    s.nodes_scored /= q;
  } else {
    s.tokens_min = 0;
  }
  if (tasks) s.n_context_mean = n_sum / static_cast<double>(tasks);
  return s;
}

}  // namespace tca
