// Gradient clipping by the global L2 norm, as torch.nn.utils.clip_grad_norm_ (tca.md 6: the copy
// and GP runs clip at 1.0). The norm is over every gradient together, as if all were one vector:
//   total = sqrt(sum over parameters and elements of g^2)
//   coef  = max_norm / (total + 1e-6);  if coef < 1, every gradient is multiplied by coef
// (torch clamps coef at 1, so gradients are scaled exactly when total + 1e-6 > max_norm).
// Parameters without a gradient are ignored.
#pragma once
#include "nn/module.hpp"

namespace tca {

// The global L2 norm of the defined gradients (0 when there are none), accumulated in double.
double grad_norm(const nn::NamedParameters& params);

// The factor clipping multiplies every gradient by: max_norm / (total + 1e-6) when that is below
// 1, else 1 (also for a non-finite total). A trainer passes it to Adam::step, which applies it in
// its update (the same float multiply as clipping in place, one pass over the gradients less).
// UsageError unless max_norm is finite and > 0.
float clip_coefficient(double total, double max_norm);

// Clips the gradients in place and returns their norm BEFORE clipping (trainers log it).
// A non-finite norm (a NaN or Inf gradient) is returned as is and the gradients are left
// untouched: scaling by NaN would destroy them, and whether to skip the step or fail the run
// (exit 1, conventions.md) is the caller's decision. UsageError unless max_norm is finite and > 0.
double clip_grad_norm(const nn::NamedParameters& params, double max_norm);

}  // namespace tca
