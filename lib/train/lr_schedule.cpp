#include "train/lr_schedule.hpp"

#include <cmath>
#include <string>

#include "core/error.hpp"

namespace tca {

CosineSchedule::CosineSchedule(double base_lr, int64_t total_steps, int64_t warmup_steps)
    : base_lr_(base_lr), total_steps_(total_steps), warmup_steps_(warmup_steps) {
  if (!(base_lr >= 0.0) || !std::isfinite(base_lr)) {
    throw UsageError("learning rate must be finite and >= 0, found " + std::to_string(base_lr));
  }
  if (total_steps <= 0) {
    throw UsageError("learning-rate schedule needs total steps > 0, found " +
                     std::to_string(total_steps));
  }
  if (warmup_steps < 0 || warmup_steps >= total_steps) {
    throw UsageError("warm-up steps must be in [0, total steps = " + std::to_string(total_steps) +
                     "), found " + std::to_string(warmup_steps));
  }
}

double CosineSchedule::lr(int64_t step) const {
  if (step < 0)
    throw RuntimeFailure("learning-rate schedule: negative step " + std::to_string(step));
  constexpr double kPi = 3.14159265358979323846;
  if (step < warmup_steps_) {
    return base_lr_ * static_cast<double>(step + 1) / static_cast<double>(warmup_steps_);
  }
  if (step >= total_steps_) return 0.0;
  const double progress =
      static_cast<double>(step - warmup_steps_) / static_cast<double>(total_steps_ - warmup_steps_);
  return base_lr_ * (1.0 + std::cos(kPi * progress)) / 2.0;
}

}  // namespace tca
