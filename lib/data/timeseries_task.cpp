#include "data/timeseries_task.hpp"

#include <cmath>

#include "core/error.hpp"

namespace tca::data {

namespace {
constexpr int64_t kMinSegment = 5, kMaxSegment = 20;
constexpr double kNoiseStd = 0.5;
}  // namespace

TaskInfo timeseries_task_info(int64_t num_classes, int64_t channels) {
  TaskInfo info;
  info.task = "timeseries";
  info.dim_x = 1 + channels;
  info.dim_y = 1;
  info.num_classes = num_classes;
  info.is_metalearning = false;              // the context token is [t, features] without the label
  info.ordering = ContextOrdering::sort_x1;  // time
  return info;
}

TimeseriesTaskSampler::TimeseriesTaskSampler(int64_t num_classes, int64_t length, int64_t channels,
                                             int64_t signature_seed)
    : num_classes_(num_classes), length_(length), channels_(channels) {
  if (num_classes < 2 || length < 2 || channels < 1) {
    throw UsageError("timeseries needs --classes >= 2, --length >= 2 and --channels >= 1");
  }
  Rng rng(static_cast<uint64_t>(signature_seed));
  signatures_.resize(static_cast<size_t>(num_classes));
  for (auto& s : signatures_) {
    for (int64_t ch = 0; ch < channels; ++ch) {
      s.frequency.push_back(rng.uniform(0.5, 4.0));
      s.amplitude.push_back(rng.uniform(0.5, 1.5));
      s.offset.push_back(rng.uniform(-1.0, 1.0));
    }
  }
}

TaskInfo TimeseriesTaskSampler::info() const {
  return timeseries_task_info(num_classes_, channels_);
}

Batch TimeseriesTaskSampler::sample(int64_t batch_size, Rng& rng) {
  const int64_t width = 1 + channels_;
  Batch batch;
  batch.xc = Tensor::empty({batch_size, length_, width});
  batch.labels = Tensor::empty({batch_size, length_}, DType::i32);
  float* x = batch.xc.data();
  int32_t* labels = batch.labels.data_i32();
  std::vector<double> phase(static_cast<size_t>(channels_));
  for (int64_t b = 0; b < batch_size; ++b) {
    int64_t t = 0;
    while (t < length_) {
      const int64_t segment = rng.uniform_int(kMinSegment, kMaxSegment);
      const auto label = static_cast<int32_t>(rng.uniform_int(0, num_classes_ - 1));
      const ClassSignature& sig = signatures_[static_cast<size_t>(label)];
      for (auto& p : phase) p = rng.uniform(0.0, 2 * M_PI);
      for (int64_t end = std::min(length_, t + segment); t < end; ++t) {
        float* row = x + (b * length_ + t) * width;
        row[0] = static_cast<float>(
            2.0 * static_cast<double>(t) / static_cast<double>(length_ - 1) - 1.0);
        for (int64_t ch = 0; ch < channels_; ++ch) {
          const auto c = static_cast<size_t>(ch);
          const double clean =
              sig.offset[c] +
              sig.amplitude[c] * std::sin(2 * M_PI * sig.frequency[c] * static_cast<double>(t) /
                                              static_cast<double>(length_) +
                                          phase[c]);
          row[1 + ch] = static_cast<float>(clean + kNoiseStd * rng.normal());
        }
        labels[b * length_ + t] = label;
      }
    }
  }
  batch.xt = batch.xc.clone();
  return batch;
}

std::vector<Batch> timeseries_batches(const TimeseriesData& data, int64_t batch_size) {
  if (batch_size < 1)
    throw UsageError("--batch-size " + std::to_string(batch_size) + ": expected >= 1");
  // Group by length in order of first appearance.
  std::vector<int64_t> lengths;
  std::vector<std::vector<size_t>> groups;
  for (size_t s = 0; s < data.sequences.size(); ++s) {
    const auto len = static_cast<int64_t>(data.sequences[s].labels.size());
    size_t g = 0;
    while (g < lengths.size() && lengths[g] != len) ++g;
    if (g == lengths.size()) {
      lengths.push_back(len);
      groups.emplace_back();
    }
    groups[g].push_back(s);
  }
  const int64_t c = data.channels, width = 1 + c;
  std::vector<Batch> batches;
  for (size_t g = 0; g < groups.size(); ++g) {
    const int64_t len = lengths[g];
    for (size_t first = 0; first < groups[g].size(); first += static_cast<size_t>(batch_size)) {
      const size_t count = std::min(groups[g].size() - first, static_cast<size_t>(batch_size));
      const auto b_count = static_cast<int64_t>(count);
      Batch batch;
      batch.xc = Tensor::empty({b_count, len, width});
      batch.labels = Tensor::empty({b_count, len}, DType::i32);
      for (size_t b = 0; b < count; ++b) {
        const TimeseriesSequence& seq = data.sequences[groups[g][first + b]];
        const double t0 = seq.t.front(), t1 = seq.t.back();
        for (int64_t i = 0; i < len; ++i) {
          float* row = batch.xc.data() + (static_cast<int64_t>(b) * len + i) * width;
          const double ti = seq.t[static_cast<size_t>(i)];
          row[0] = len > 1 ? static_cast<float>(2.0 * (ti - t0) / (t1 - t0) - 1.0) : 0.f;
          for (int64_t ch = 0; ch < c; ++ch)
            row[1 + ch] = seq.features[static_cast<size_t>(i * c + ch)];
          batch.labels.data_i32()[static_cast<int64_t>(b) * len + i] =
              seq.labels[static_cast<size_t>(i)];
        }
      }
      batch.xt = batch.xc.clone();
      batches.push_back(std::move(batch));
    }
  }
  return batches;
}

}  // namespace tca::data
