// `tca make-dataset`: a task file (or, for image training sets, an image-source file) from a task,
// its parameters and a seed, written atomically. The same (task, parameters, seed, count,
// batch_size) always gives the same content hash (fixed evaluation sets, conventions.md).
#pragma once
#include <cstdint>
#include <functional>
#include <string>

#include "data/task_params.hpp"

namespace tca::data {

struct GenerationRequest {
  TaskParams params;
  Split split = Split::eval;
  // Tasks to write (image --split train: images). -1 = every available one (image sources and
  // timeseries imports); required for the generated tasks (copy, gp, synthetic timeseries).
  int64_t count = -1;
  int64_t seed = 0;
  int64_t batch_size = 16;  // tasks per batch (the official eval sets: 16)
  std::string out;
};

struct GenerationResult {
  std::string layout;  // "tasks" or "images"
  int64_t tasks = 0;   // tasks written (images for an image source)
  int64_t batches = 0;
  uint64_t content_hash = 0;
};

// progress(done, total) is called after every batch (tasks or images done so far).
using ProgressFn = std::function<void(int64_t done, int64_t total)>;

// Generation order (part of the format's determinism): Rng(seed); batch j takes
// min(batch_size, count - j * batch_size) tasks from the sampler in turn (image eval sets: one
// task per selected test image, in the source's order). UsageError for bad parameters,
// InputError for bad source data, RuntimeFailure for write errors.
GenerationResult generate_dataset(const GenerationRequest& request,
                                  const ProgressFn& progress = {});

}  // namespace tca::data
