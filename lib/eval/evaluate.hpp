// Scoring a model on a fixed task file (conventions.md "JSON results", "Tokens attended"): task
// metrics as the mean over eval batches of the per-batch means (tca.md 1), tokens attended per
// query (mean, min, max; percent_of_n = 100 x the mean over queries of tokens / N of that query's
// task: a mean of ratios), unmasked entries, and the latency of the inference path.
#pragma once
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "data/task_file_reader.hpp"
#include "models/model.hpp"

namespace tca {

struct EvalSummary {
  std::string metric_name;  // accuracy | tar_ll | mse
  double loss = 0, metric = 0;
  double mse = -1;  // regression tasks: squared error of the predicted mean (-1 otherwise)
  double tokens_mean = 0, tokens_min = 0, tokens_max = 0, percent_of_n = 0, unmasked_mean = 0;
  double n_context_mean = 0, nodes_scored = 0;
  int64_t batches = 0, queries = 0;
  double predict_seconds = 0;
  double latency_us_per_query() const {
    return queries ? 1e6 * predict_seconds / static_cast<double>(queries) : 0;
  }
  double queries_per_s() const {
    return predict_seconds > 0 ? static_cast<double>(queries) / predict_seconds : 0;
  }
  // {"loss", metric_name, ["mse"], "tokens_attended", "percent_of_n", ...}: a flat record for
  // metrics.jsonl.
  nlohmann::json flat_record() const;
};

// Evaluates on the first `max_batches` batches of the file (0 = all), in file order.
EvalSummary evaluate_model(Model& model, const data::TaskFileReader& reader,
                           int64_t max_batches = 0);

// Another inference path for the same accounting (`tca eval --full`, `--trees`): per batch,
// prepare(batch_index, batch) runs untimed (e.g. reading stored trees), then predict(batch) is
// timed as the latency.
struct BatchInference {
  std::function<void(int64_t batch_index, const Batch& batch)> prepare;  // optional
  std::function<Predictions(const Batch& batch)> predict;
};
EvalSummary evaluate_inference(const std::string& metric_name, const data::TaskFileReader& reader,
                               int64_t max_batches, const BatchInference& inference);

}  // namespace tca
