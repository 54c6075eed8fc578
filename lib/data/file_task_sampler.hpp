// Training from a file (`tca train --train FILE.h5`, conventions.md "Training data and evaluation
// data"): a task file is a finite pool whose whole batches are visited in a seeded order that is
// reshuffled every epoch; an image-source file yields image-completion tasks drawn on the fly.
#pragma once
#include <memory>
#include <string>

#include "data/task_file_reader.hpp"
#include "data/task_sampler.hpp"

namespace tca::data {

class TaskFileSampler : public TaskSampler {
 public:
  TaskFileSampler(const std::string& path, uint64_t shuffle_seed);
  // The next stored batch, as stored. batch_size must be 0 (as stored) or the file's tasks per
  // batch (its first batch's size; a last, smaller batch is returned as is); UsageError
  // otherwise. `rng` is not used: the order comes from shuffle_seed and position().
  Batch sample(int64_t batch_size, Rng& rng) override;
  TaskInfo info() const override { return reader_.info(); }

  // Batches drawn so far: epoch = position / num_batches, and epoch e visits the batches in the
  // order shuffled by Rng(shuffle_seed).fork(e). Save it in checkpoints; set it on resume.
  int64_t position() const { return position_; }
  void set_position(int64_t position);
  const TaskFileReader& reader() const { return reader_; }

 private:
  TaskFileReader reader_;
  uint64_t shuffle_seed_;
  int64_t position_ = 0;
  int64_t epoch_ = -1;  // the epoch whose order is in order_
  std::vector<int64_t> order_;
};

// A task file -> TaskFileSampler; an image-source file -> ImageTaskSampler over its images with
// its max_points. InputError for anything else.
std::unique_ptr<TaskSampler> make_file_task_sampler(const std::string& path, uint64_t shuffle_seed);

}  // namespace tca::data
