#include "data/gp_task.hpp"

#include <algorithm>

#include "core/error.hpp"

namespace tca::data {

GpTaskSampler::GpTaskSampler(GpKernel kernel, int64_t max_points)
    : kernel_(kernel), max_points_(max_points) {
  if (max_points < 7) {
    throw UsageError("--max-points " + std::to_string(max_points) +
                     ": expected at least 7 (Nc >= 3, Nt >= 3)");
  }
}

TaskInfo GpTaskSampler::info() const {
  TaskInfo info;
  info.task = "gp";
  info.dim_x = 1;
  info.dim_y = 1;
  info.is_metalearning = true;
  info.std_form = StdForm::exp;
  info.ordering = ContextOrdering::none;  // the sampler returns the context sorted by x
  return info;
}

void GpTaskSampler::sample_task(int64_t num_context, int64_t num_targets, const GpHyper& hyper,
                                Rng& rng, std::vector<double>& x, std::vector<double>& y) const {
  x.resize(static_cast<size_t>(num_context + num_targets));
  for (auto& v : x) v = rng.uniform(-2.0, 2.0);
  std::sort(x.begin(), x.begin() + num_context);
  std::sort(x.begin() + num_context, x.end());
  y = sample_gp(kernel_, hyper, x, rng);
}

Batch GpTaskSampler::sample_sized(int64_t batch_size, int64_t num_context, int64_t num_targets,
                                  Rng& rng) const {
  Batch batch;
  batch.xc = Tensor::empty({batch_size, num_context, 1});
  batch.yc = Tensor::empty({batch_size, num_context, 1});
  batch.xt = Tensor::empty({batch_size, num_targets, 1});
  batch.yt = Tensor::empty({batch_size, num_targets, 1});
  std::vector<double> x, y;
  for (int64_t b = 0; b < batch_size; ++b) {
    const GpHyper hyper = draw_gp_hyper(kernel_, rng);
    sample_task(num_context, num_targets, hyper, rng, x, y);
    for (int64_t i = 0; i < num_context; ++i) {
      batch.xc[b * num_context + i] = static_cast<float>(x[static_cast<size_t>(i)]);
      batch.yc[b * num_context + i] = static_cast<float>(y[static_cast<size_t>(i)]);
    }
    for (int64_t i = 0; i < num_targets; ++i) {
      batch.xt[b * num_targets + i] = static_cast<float>(x[static_cast<size_t>(num_context + i)]);
      batch.yt[b * num_targets + i] = static_cast<float>(y[static_cast<size_t>(num_context + i)]);
    }
  }
  return batch;
}

Batch GpTaskSampler::sample(int64_t batch_size, Rng& rng) {
  const int64_t num_context = rng.uniform_int(3, max_points_ - 4);
  const int64_t num_targets = rng.uniform_int(3, max_points_ - 1 - num_context);
  return sample_sized(batch_size, num_context, num_targets, rng);
}

}  // namespace tca::data
