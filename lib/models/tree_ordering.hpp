// Context orderings that make neighbouring tokens similar before the tree is built (tca.md 4.1):
// none, sort_x1, sort_x2, random_proj (sort by x . v, v a fixed Gaussian vector from a fixed
// seed), and kd (a real k-d split: recursive median split cycling through the input axes).
// Stable sorts, ascending; x and y are permuted together; queries are untouched.
#pragma once
#include <string>
#include <vector>

#include "core/batch.hpp"
#include "core/context_ordering.hpp"

namespace tca {

// The order of the Nc context rows of each task: perm [B, Nc] i32 (indices within the task).
Tensor context_order(const Tensor& xc, ContextOrdering heuristic);

// The batch with its context rows (xc, yc) permuted by `perm`.
Batch apply_context_order(const Batch& batch, const Tensor& perm);

// The fixed projection vector of random_proj for inputs of width dim_x.
std::vector<float> random_projection_vector(int64_t dim_x);

}  // namespace tca
