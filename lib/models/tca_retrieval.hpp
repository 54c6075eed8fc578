// The inference descent of TCA over a TcaIndex (tca.md 4.3 with argmax, 4.5), written as plain
// loops over the precomputed keys and values: per query, b k dot products per head to pick the
// path, then one attention over the k (b - 1) + P slots of S that can be unmasked. Each thread
// takes a block of queries and descends them level by level together (independent memory
// accesses overlap). Nothing is computed for the tokens a query does not visit. Numerically the
// same as TreeCrossAttention::descend in DescentMode::greedy followed by attend_set (before the
// output projection); the same bits for any thread count.
#pragma once
#include "models/tca_index.hpp"

namespace tca {

struct Retrieval {
  Tensor attended;  // f32 [Q, D]: the attention output over S, heads concatenated (before to_out)
  Tensor actions;   // i32 [Q, k]
  Tensor set_rows;  // i32 [Q, k b + P] rows of the index memory in S (reference slot order)
  Tensor set_mask;  // f32 [Q, k b + P]
};

// q_proj: f32 [Q, D] query_attn's projected queries; query q belongs to context set q / per_task.
Retrieval greedy_retrieve(const TcaIndex& index, const Tensor& q_proj, int64_t heads, int64_t per_task);

}  // namespace tca
