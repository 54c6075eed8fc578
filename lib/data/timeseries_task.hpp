// Time-series classification (tca.md section 6, the stand-in for the paper's Human Activity
// task): a sequence of L time points, context token = query = [t, features(t)] (t scaled to
// [-1, 1]) for every time point, target = the class at t.
// Synthetic stand-in: a run of segments of 5 to 20 time points, each of one class drawn uniformly;
// each class has a fixed signature (per channel a frequency in [0.5, 4] cycles per sequence, an
// amplitude in [0.5, 1.5] and an offset in [-1, 1]) drawn once from signature_seed; features =
// offset + amplitude sin(2 pi f i / L + phase) with a phase drawn per segment and channel, plus
// Gaussian noise of std 0.5, so one time point is ambiguous and the sequence decides.
#pragma once
#include <string>
#include <vector>

#include "data/task_sampler.hpp"

namespace tca::data {

struct ClassSignature {
  std::vector<double> frequency, amplitude, offset;  // per channel
};

class TimeseriesTaskSampler : public TaskSampler {
 public:
  TimeseriesTaskSampler(int64_t num_classes, int64_t length, int64_t channels,
                        int64_t signature_seed);
  // xc = xt = [B, L, 1 + C] rows [t, features]; labels [B, L].
  Batch sample(int64_t batch_size, Rng& rng) override;
  TaskInfo info() const override;
  const std::vector<ClassSignature>& signatures() const { return signatures_; }

 private:
  int64_t num_classes_, length_, channels_;
  std::vector<ClassSignature> signatures_;
};

TaskInfo timeseries_task_info(int64_t num_classes, int64_t channels);

// Imported sequences: per sequence its time points' features [L, C] and labels [L].
struct TimeseriesSequence {
  std::string id;
  std::vector<double> t;        // raw times, ascending
  std::vector<float> features;  // [L, C]
  std::vector<int32_t> labels;  // [L]
};
struct TimeseriesData {
  int64_t channels = 0, num_classes = 0;  // num_classes = max label + 1
  std::vector<TimeseriesSequence> sequences;
};

// Reads rows (sequence_id, t, feature_1..feature_C, label) from a CSV file (a header line
// "sequence_id,t,...,label", then one row per time point) or an HDF5 file (dataset /rows, float64
// [R, C + 3], same columns, integer-valued ids and labels). Rows of a sequence are contiguous; t
// strictly increasing within it; labels integers >= 0. InputError naming file and line otherwise.
TimeseriesData import_timeseries(const std::string& path);

// Batches of imported sequences: sequences grouped by length (batches never mix lengths), in
// order of first appearance, `batch_size` per batch; t scaled per sequence to [-1, 1].
std::vector<Batch> timeseries_batches(const TimeseriesData& data, int64_t batch_size);

}  // namespace tca::data
