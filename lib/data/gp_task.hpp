// GP regression tasks (tca.md section 6): one (Nc, Nt) per batch with Nc ~ U{3..P-4} and
// Nt ~ U{3..P-1-Nc} (P = max_points, 50 officially: Nc in 3..46, Nt in 3..49-Nc); per task
// hyperparameters (gp_kernels.hpp), x ~ U[-2, 2] for all points, context and target x each sorted
// ascending, y drawn jointly over context and targets.
#pragma once
#include "data/gp_kernels.hpp"
#include "data/task_sampler.hpp"

namespace tca::data {

class GpTaskSampler : public TaskSampler {
 public:
  GpTaskSampler(GpKernel kernel, int64_t max_points);
  Batch sample(int64_t batch_size, Rng& rng) override;
  TaskInfo info() const override;

  // One batch with given sizes, hyperparameters drawn per task (used by sample).
  Batch sample_sized(int64_t batch_size, int64_t num_context, int64_t num_targets, Rng& rng) const;
  // One task's (x, y) with given sizes and fixed hyperparameters: context x sorted then target
  // x sorted, y jointly; returns x and y of Nc + Nt points (context first). For tests of the
  // distribution (empirical covariance against the kernel).
  void sample_task(int64_t num_context, int64_t num_targets, const GpHyper& hyper, Rng& rng,
                   std::vector<double>& x, std::vector<double>& y) const;

 private:
  GpKernel kernel_;
  int64_t max_points_;
};

}  // namespace tca::data
