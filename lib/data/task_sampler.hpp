// Training draws a fresh batch every step from the task's seeded generator (conventions.md
// "Training data and evaluation data"); fixed evaluation sets are written from the same samplers.
// A sampler's randomness comes only from the Rng passed in, so the generator's stream is part of
// the RNG state a checkpoint saves.
#pragma once
#include <cstdint>
#include <memory>

#include "core/batch.hpp"
#include "core/rng.hpp"
#include "data/task_info.hpp"
#include "data/task_params.hpp"

namespace tca::data {

class TaskSampler {
 public:
  virtual ~TaskSampler() = default;
  // One batch of `batch_size` tasks sharing Nc and Nt (tca.md 6: one (Nc, Nt) per batch).
  // Regression: xc, yc, xt, yt (f32 [B, N, dim]); classification: xc, xt and labels (i32 [B, Nt]).
  virtual Batch sample(int64_t batch_size, Rng& rng) = 0;
  virtual TaskInfo info() const = 0;
};

// The sampler of a task from its parameters (resolved with resolve_params inside). Images read
// their source's `split` images once (train: the training images; eval: the test images), filtered
// by class. A timeseries `path` (an import) has no sampler: UsageError; write it to a task file
// with generate_dataset and train with --train FILE.h5.
std::unique_ptr<TaskSampler> make_task_sampler(const TaskParams& params,
                                               Split split = Split::train);

}  // namespace tca::data
