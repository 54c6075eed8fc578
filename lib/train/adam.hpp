// Adam (Kingma & Ba 2015) exactly as torch.optim.Adam runs on the CPU (single-tensor path, float32,
// amsgrad off, maximize off), because the reference runs used it (tca.md 6: eps 1e-8, weight decay
// 0, betas per task). Per parameter p with gradient g, after step count t += 1:
//   g   = g + weight_decay * p                       (L2 penalty added to the gradient, not AdamW)
//   m   = lerp(m, g, 1 - beta1)                      (= beta1 m + (1 - beta1) g)
//   v   = beta2 v + (1 - beta2) g^2
//   p  -= (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
// The bias corrections use the parameter's own step count, as torch does, so a parameter that got
// no gradient in some step is corrected for the steps it actually took. The scalars are computed
// in double (Python floats in torch) and applied in float32 in torch's order of operations.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/tensor.hpp"
#include "nn/module.hpp"

namespace tca {

struct AdamOptions {
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;  // L2 coefficient (torch.optim.Adam's weight_decay)
};

// One parameter's optimiser state (torch's exp_avg, exp_avg_sq, step); saved in checkpoints.
struct AdamParamState {
  Tensor exp_avg;     // m, the parameter's shape, zeros before the first step
  Tensor exp_avg_sq;  // v, the parameter's shape, zeros before the first step
  int64_t step = 0;   // steps this parameter has taken
};

class Adam {
 public:
  // Keeps handles on `params` (the Vars share their nodes with the model, so updates reach it).
  // UsageError for betas outside [0, 1), negative eps or weight decay; RuntimeFailure for a
  // duplicate name or the same Var registered twice (it would be updated twice per step).
  explicit Adam(nn::NamedParameters params, const AdamOptions& options = {});

  // One update of every parameter whose gradient is defined (parameters that no gradient reached
  // are skipped and keep their step count). UsageError for a negative or non-finite lr;
  // ShapeError if a gradient's shape differs from its parameter's. Each gradient is used
  // multiplied by grad_scale (finite and >= 0, else UsageError) (train/grad_clip.hpp
  // clip_coefficient: clipping by the global norm folded into the update, bit-identical to clipping
  // the gradients in place first).
  void step(double lr, float grad_scale = 1.0f);
  // Clears every parameter's gradient (the next backward() starts from zero).
  void zero_grad();

  const nn::NamedParameters& parameters() const { return params_; }
  const AdamOptions& options() const { return options_; }
  // State of each parameter, in the order of parameters().
  const std::vector<AdamParamState>& states() const { return states_; }
  // State by parameter name; RuntimeFailure for an unknown name.
  const AdamParamState& state(const std::string& name) const;
  AdamParamState& state(const std::string& name);

 private:
  size_t index_of(const std::string& name) const;
  nn::NamedParameters params_;
  AdamOptions options_;
  std::vector<AdamParamState> states_;
};

}  // namespace tca
