// Attention of single queries over per-query sets of rows gathered from a shared table (the
// retrieval step of Tree Cross Attention, tca.md 4.3): instead of gathering [Q, n, D] copies,
// permuting them into heads and running Q tiny batched matmuls, these two ops read the rows in
// place. Q queries, H heads of width dh (D = H dh, head-major features), n rows per query.
#pragma once
#include "autograd/variable.hpp"

namespace tca::ops {

// logits[q, h, j] = scale * <query[q, h*dh:(h+1)*dh], table[rows[q, j], h*dh:(h+1)*dh]>
// query [Q, D], table [R, D], rows i32 [Q, n] -> [Q, H, n]. Backward: into query and (scatter-add)
// into table.
Var gathered_dot(const Var& query, const Var& table, const Tensor& rows, int64_t heads, float scale);

// out[q, h*dh + x] = sum_j weights[q, h, j] * table[rows[q, j], h*dh + x]
// weights [Q, H, n], table [R, D], rows i32 [Q, n] -> [Q, D]. Backward: into weights and
// (scatter-add) into table.
Var gathered_weighted_sum(const Var& weights, const Var& table, const Tensor& rows);

}  // namespace tca::ops
