// Image-completion tasks (tca.md section 6): one (Nc, Nt) per batch with Nc ~ U{3..P-4} and
// Nt ~ U{3..P-1-Nc} (P = max_points, 200 officially: Nc in 3..196, Nt in 3..199-Nc); per image
// Nc + Nt distinct pixels chosen uniformly, the first Nc the context; x = (2r/(H-1) - 1,
// 2c/(W-1) - 1) for row r, column c; y = intensity/255 - 0.5 per channel.
#pragma once
#include <memory>

#include "data/image_set.hpp"
#include "data/task_sampler.hpp"

namespace tca::data {

class ImageTaskSampler : public TaskSampler {
 public:
  // `std_form` and `ordering` per source (tca.md 6: EMNIST / Fashion-MNIST bounded + sort_x2,
  // CelebA exp + sort_x1); see image_task_info.
  ImageTaskSampler(std::shared_ptr<const ImageSet> images, int64_t max_points, TaskInfo info);
  // batch_size images drawn uniformly with replacement (the stream stays in `rng`; the official
  // loader's epoch permutation would need state outside it).
  Batch sample(int64_t batch_size, Rng& rng) override;
  TaskInfo info() const override { return info_; }

  // One task per listed image (eval sets: one task per test image), sizes drawn once.
  Batch tasks_for_images(const std::vector<int64_t>& image_indices, Rng& rng) const;
  const ImageSet& images() const { return *images_; }

 private:
  std::shared_ptr<const ImageSet> images_;
  int64_t max_points_;
  TaskInfo info_;
};

// TaskInfo of image tasks from a source name and the image extents.
TaskInfo image_task_info(const std::string& source, int64_t channels);

}  // namespace tca::data
