// What one query's retrieved set S covers, in the context's own token indices (tca.md 4.3): the
// picked leaf's real tokens and, for every level, the unpicked siblings with the real tokens
// under each. S is determined by the path alone (the picked child at each of the k levels), so
// this needs only the tree's shape, the path and the context order the tree was built on. Used to
// draw retrievals (issue 22) and to report which tokens a query looked at.
#pragma once
#include <cstdint>
#include <vector>

#include "core/tree_shape.hpp"

namespace tca {

struct RetrievedSet {
  struct Sibling {
    int64_t level = 0;       // 1..k (the root's children are level 1)
    int64_t node = 0;        // index among the level's b^level nodes
    int64_t memory_row = 0;  // its row in the retrieval memory (TreeShape::memory_offset)
    std::vector<int64_t>
        tokens;  // the real context tokens under it (original indices); empty = all padding
  };
  std::vector<int64_t> path;         // the child picked at each level, k entries
  std::vector<Sibling> siblings;     // k (b - 1), level by level, in child order
  int64_t leaf = 0;                  // the picked leaf's index among the b^k leaves
  std::vector<int64_t> leaf_tokens;  // its real tokens (original indices), at most P
};

// `path`: k picks in [0, b); `order`: for each position of the ordered sequence the original
// index of its token (identity when the context was not reordered: pass an empty vector).
// std::invalid_argument for a path of the wrong length or a pick out of range.
RetrievedSet describe_retrieved_set(const TreeShape& shape, const std::vector<int64_t>& path,
                                    const std::vector<int64_t>& order = {});

}  // namespace tca
