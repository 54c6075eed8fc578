#include "data/copy_task.hpp"

#include "core/error.hpp"

namespace tca::data {

CopyTaskSampler::CopyTaskSampler(int64_t seq_len, int64_t num_chars)
    : seq_len_(seq_len), num_chars_(num_chars) {
  if (seq_len < 4 || (seq_len & (seq_len - 1)) != 0) {
    throw UsageError("--seq-len " + std::to_string(seq_len) + ": expected a power of two >= 4");
  }
  if (num_chars < 1)
    throw UsageError("--num-chars " + std::to_string(num_chars) + ": expected >= 1");
}

TaskInfo CopyTaskSampler::info() const {
  TaskInfo info;
  info.task = "copy";
  info.dim_x = num_chars_ + 2;
  info.dim_y = 1;
  info.num_classes = num_chars_ + 2;
  info.is_sequential = true;
  info.is_metalearning = false;
  info.std_form = StdForm::none;
  info.ordering = ContextOrdering::none;  // the sequence order is the data's order
  return info;
}

Batch CopyTaskSampler::sample(int64_t batch_size, Rng& rng) {
  const int64_t n = seq_len_ / 2, width = num_chars_ + 2;
  Batch batch;
  batch.xc = Tensor::zeros({batch_size, n, width});
  batch.xt = Tensor::zeros({batch_size, n, width});
  batch.labels = Tensor::zeros({batch_size, n}, DType::i32);
  float* xc = batch.xc.data();
  int32_t* labels = batch.labels.data_i32();
  std::vector<int32_t> tokens(static_cast<size_t>(n));
  for (int64_t b = 0; b < batch_size; ++b) {
    tokens[0] = kCopySos;
    for (int64_t i = 1; i < n; ++i) {
      tokens[static_cast<size_t>(i)] =
          static_cast<int32_t>(rng.uniform_int(kCopyFirstSymbol, num_chars_ + 1));
    }
    for (int64_t i = 0; i < n; ++i) xc[(b * n + i) * width + tokens[static_cast<size_t>(i)]] = 1.f;
    // Query t asks for context token n - 1 - t; the last query asks for EOS.
    for (int64_t t = 0; t + 1 < n; ++t) labels[b * n + t] = tokens[static_cast<size_t>(n - 1 - t)];
    labels[b * n + n - 1] = kCopyEos;
  }
  return batch;
}

}  // namespace tca::data
