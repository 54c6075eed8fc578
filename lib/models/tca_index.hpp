// What TCA keeps to answer queries about a batch of context sets (tca.md 4.5): the tree's node
// embeddings (levels 1..k) and leaf tokens, their masks, and query_attn's key/value projections
// of all of them, computed once per context set. Answering a query then touches only the b k
// scored children and the k(b-1) + P entries of its retrieved set.
#pragma once
#include <cstdint>

#include "core/tensor.hpp"
#include "core/tree_shape.hpp"

namespace tca {

struct TcaIndex {
  TreeShape shape;
  int64_t batch = 0, dim = 0;
  Tensor
      memory;  // f32 [B, memory_size, D]: levels 1..k (row-major nodes), then the P b^k leaf tokens
  Tensor memory_mask;   // f32 [B, memory_size]: node mask (any real child) / token mask
  Tensor keys, values;  // f32 [B * memory_size, D]: query_attn projections of `memory`
  Tensor root;  // f32 [B, D] the root embedding (stored by build-tree; never used by retrieval)

  // Bytes kept for answering queries (memory + masks + keys + values).
  int64_t bytes() const;
};

}  // namespace tca
