// The inference descent of TCA over a TcaIndex (tca.md 4.3 with argmax, 4.5), written as plain
// loops over the precomputed keys and values: per query, b k dot products per head to pick the
// path, then one attention over the k (b - 1) + P slots of S that can be unmasked. Each thread
// takes a block of queries and descends them level by level together (independent memory
// accesses overlap). Nothing is computed for the tokens a query does not visit. Numerically the
// same as TreeCrossAttention::forward's greedy descent and attention over S (before the output
// projection); the same bits for any thread count. Callers go through TreeCrossAttention::retrieve,
// which passes query_attn's heads and logit scale.
#pragma once
#include "models/tca_index.hpp"

namespace tca {

struct Retrieval {
  Tensor attended;  // f32 [Q, D]: the attention output over S, heads concatenated (before to_out)
  Tensor actions;   // i32 [Q, k]
  Tensor set_rows;  // i32 [Q, k b + P] rows of the index memory in S (reference slot order)
  Tensor set_mask;  // f32 [Q, k b + P]
  Tensor policy;    // f32 [Q, k, b] pi(child | q) at each decision (head-averaged), when traced
};

// q_proj: f32 [Q, D] query_attn's projected queries, scored with `heads` heads and logits scaled by
// `logit_scale` (MultiHeadAttention::logit_scale); query q belongs to context set q / per_task.
// `with_policy` also records the policy of every decision.
Retrieval greedy_retrieve(const TcaIndex& index, const Tensor& q_proj, int64_t heads,
                          float logit_scale, int64_t per_task, bool with_policy = false);

}  // namespace tca
