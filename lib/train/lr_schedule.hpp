// Learning-rate schedule of the reference runs (tca.md 6): cosine annealing to 0 over all
// training steps, stepped after every optimiser step, i.e. torch's CosineAnnealingLR with
// T_max = total steps and eta_min = 0. The lr used by optimiser step t (0-based) is
//   lr(t) = lr0 * (1 + cos(pi * t / T)) / 2                      (T = total_steps)
// torch's closed form (its chained update reaches the same values up to rounding).
// With an optional linear warm-up of W steps (W = 0: none, the reference setting):
//   lr(t) = lr0 * (t + 1) / W                                     for t < W
//   lr(t) = lr0 * (1 + cos(pi * (t - W) / (T - W))) / 2           for W <= t <= T
// so the first step already moves the weights, step W - 1 uses lr0, and the cosine part is the
// schedule above compressed into the remaining T - W steps. Past T the lr stays 0 (torch's would
// rise again; a run never gets there).
#pragma once
#include <cstdint>

namespace tca {

class CosineSchedule {
 public:
  // UsageError unless base_lr is finite and >= 0, total_steps > 0 and 0 <= warmup < total_steps.
  CosineSchedule(double base_lr, int64_t total_steps, int64_t warmup_steps = 0);

  // The lr for optimiser step `step` (0-based); RuntimeFailure for a negative step.
  double lr(int64_t step) const;

  double base_lr() const { return base_lr_; }
  int64_t total_steps() const { return total_steps_; }
  int64_t warmup_steps() const { return warmup_steps_; }

 private:
  double base_lr_;
  int64_t total_steps_;
  int64_t warmup_steps_;
};

}  // namespace tca
