#include "data/file_task_sampler.hpp"

#include "core/error.hpp"
#include "data/image_source_file.hpp"
#include "data/image_task.hpp"
#include "data/task_file_format.hpp"

namespace tca::data {

TaskFileSampler::TaskFileSampler(const std::string& path, uint64_t shuffle_seed)
    : reader_(path), shuffle_seed_(shuffle_seed) {}

void TaskFileSampler::set_position(int64_t position) {
  if (position < 0) throw UsageError("task file sampler position must be >= 0");
  position_ = position;
}

Batch TaskFileSampler::sample(int64_t batch_size, Rng& /*rng*/) {
  const int64_t nominal = reader_.batch_size(0);
  if (batch_size != 0 && batch_size != nominal) {
    throw UsageError("--batch-size " + std::to_string(batch_size) + " does not fit " +
                     reader_.path() + ", whose batches hold " + std::to_string(nominal) +
                     " tasks (stored batches are never split or merged): use --batch-size " +
                     std::to_string(nominal));
  }
  const int64_t nb = reader_.num_batches();
  const int64_t epoch = position_ / nb;
  if (epoch != epoch_) {
    Rng rng = Rng(shuffle_seed_).fork(static_cast<uint64_t>(epoch));
    order_ = reader_.shuffled_batch_order(rng);
    epoch_ = epoch;
  }
  const int64_t batch = order_[static_cast<size_t>(position_ % nb)];
  ++position_;
  return reader_.read_batch(batch);
}

std::unique_ptr<TaskSampler> make_file_task_sampler(const std::string& path,
                                                    uint64_t shuffle_seed) {
  std::string layout;
  {
    io::H5File file = io::H5File::open_read(path);
    layout = read_layout(file);
  }
  if (layout == kLayoutTasks) return std::make_unique<TaskFileSampler>(path, shuffle_seed);
  ImageSourceFile source = read_image_source(path);
  auto images = std::make_shared<const ImageSet>(std::move(source.images));
  return std::make_unique<ImageTaskSampler>(images, source.max_points, source.info);
}

}  // namespace tca::data
