// One batch of tasks as every model consumes it. Lives in core because both lib/data (which
// produces it) and lib/models (which consumes it) need it and neither may include the other.
// All tasks of a batch share Nc and Nt (the official samplers draw one (Nc, Nt) per batch).
#pragma once
#include <cstdint>

#include "core/tensor.hpp"

namespace tca {

struct Batch {
  Tensor xc;      // f32 [B, Nc, dim_x] context inputs (copy task: one-hot tokens)
  Tensor yc;      // f32 [B, Nc, dim_y] context outputs; undefined for classification tasks
  Tensor xt;      // f32 [B, Nt, dim_x] target inputs (queries; copy task: all zero)
  Tensor yt;      // f32 [B, Nt, dim_y] regression targets; undefined for classification tasks
  Tensor labels;  // i32 [B, Nt] class of each target for classification tasks; else undefined

  int64_t batch_size() const { return xc.dim(0); }
  int64_t num_context() const { return xc.dim(1); }
  int64_t num_targets() const { return xt.dim(1); }
  bool is_classification() const { return labels.defined(); }

  // Tasks [start, start + count) of this batch, as views of its tensors (data-parallel training
  // gives each replica a slice, train/data_parallel.hpp).
  Batch narrow(int64_t start, int64_t count) const {
    auto rows = [&](const Tensor& t) { return t.defined() ? t.narrow0(start, count) : Tensor(); };
    return {rows(xc), rows(yc), rows(xt), rows(yt), rows(labels)};
  }
};

}  // namespace tca
