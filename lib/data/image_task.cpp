#include "data/image_task.hpp"

#include "core/error.hpp"

namespace tca::data {

TaskInfo image_task_info(const std::string& source, int64_t channels) {
  TaskInfo info;
  info.task = "image";
  info.dim_x = 2;
  info.dim_y = channels;
  info.is_metalearning = true;
  // tca.md 6: CelebA exp std and sort_x1; EMNIST (and Fashion-MNIST, its stand-in) bounded std
  // and sort_x2.
  const bool celeba = source == "celeba";
  info.std_form = celeba ? StdForm::exp : StdForm::bounded;
  info.ordering = celeba ? ContextOrdering::sort_x1 : ContextOrdering::sort_x2;
  return info;
}

ImageTaskSampler::ImageTaskSampler(std::shared_ptr<const ImageSet> images, int64_t max_points,
                                   TaskInfo info)
    : images_(std::move(images)), max_points_(max_points), info_(std::move(info)) {
  if (!images_ || images_->size() == 0) throw UsageError("image tasks need at least one image");
  if (max_points_ < 7) {
    throw UsageError("--max-points " + std::to_string(max_points_) +
                     ": expected at least 7 (Nc >= 3, Nt >= 3)");
  }
  if (max_points_ - 1 > images_->height * images_->width) {
    throw UsageError("--max-points " + std::to_string(max_points_) + ": expected at most " +
                     std::to_string(images_->height * images_->width + 1) + " for " +
                     std::to_string(images_->height) + "x" + std::to_string(images_->width) +
                     " images (Nc + Nt distinct pixels)");
  }
}

Batch ImageTaskSampler::sample(int64_t batch_size, Rng& rng) {
  std::vector<int64_t> indices(static_cast<size_t>(batch_size));
  for (auto& i : indices) i = rng.uniform_int(0, images_->size() - 1);
  return tasks_for_images(indices, rng);
}

Batch ImageTaskSampler::tasks_for_images(const std::vector<int64_t>& image_indices,
                                         Rng& rng) const {
  const ImageSet& set = *images_;
  const auto batch_size = static_cast<int64_t>(image_indices.size());
  const int64_t nc = rng.uniform_int(3, max_points_ - 4);
  const int64_t nt = rng.uniform_int(3, max_points_ - 1 - nc);
  const int64_t h = set.height, w = set.width, c = set.channels, pixels = h * w;
  Batch batch;
  batch.xc = Tensor::empty({batch_size, nc, 2});
  batch.yc = Tensor::empty({batch_size, nc, c});
  batch.xt = Tensor::empty({batch_size, nt, 2});
  batch.yt = Tensor::empty({batch_size, nt, c});
  std::vector<int64_t> order(static_cast<size_t>(pixels));
  // x of a pixel index; a 1-pixel-high or -wide image maps its single row/column to 0.
  auto coordinate = [](int64_t i, int64_t extent) {
    return extent > 1 ? static_cast<float>(
                            2.0 * static_cast<double>(i) / static_cast<double>(extent - 1) - 1.0)
                      : 0.f;
  };
  for (int64_t b = 0; b < batch_size; ++b) {
    const int64_t index = image_indices[static_cast<size_t>(b)];
    if (index < 0 || index >= set.size())
      throw ShapeError("image index " + std::to_string(index) + " out of range");
    const uint8_t* image = set.image(index);
    // Partial Fisher-Yates: the first nc + nt entries are distinct pixels, uniformly chosen.
    for (int64_t i = 0; i < pixels; ++i) order[static_cast<size_t>(i)] = i;
    for (int64_t i = 0; i < nc + nt; ++i) {
      const int64_t j = rng.uniform_int(i, pixels - 1);
      std::swap(order[static_cast<size_t>(i)], order[static_cast<size_t>(j)]);
    }
    for (int64_t i = 0; i < nc + nt; ++i) {
      const int64_t p = order[static_cast<size_t>(i)], r = p / w, col = p % w;
      const bool context = i < nc;
      const int64_t row = context ? b * nc + i : b * nt + (i - nc);
      float* x = (context ? batch.xc : batch.xt).data() + row * 2;
      float* y = (context ? batch.yc : batch.yt).data() + row * c;
      x[0] = coordinate(r, h);
      x[1] = coordinate(col, w);
      for (int64_t ch = 0; ch < c; ++ch)
        y[ch] = static_cast<float>(image[p * c + ch]) / 255.f - 0.5f;
    }
  }
  return batch;
}

}  // namespace tca::data
