// The shape of a TCA tree over N tokens with branching factor b (tca.md 4.1):
// depth k = the largest integer with b^k <= N - 1 (integer arithmetic: the reference's float logs
// are off at some exact powers), leaf size P = ceil(N / b^k) in [2, b], padded length P b^k.
// k = 0 when N <= b: the tree is only the root over the N tokens (our definition, tca.md 4.1).
// Level l (root = 0) has b^l nodes; in the "memory" that retrieval gathers from, levels 1..k are
// stored one after the other, then the P b^k leaf tokens.
#pragma once
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace tca {

struct TreeShape {
  int64_t n = 0, b = 2, k = 0, leaf_size = 0, padded = 0;

  TreeShape() = default;
  TreeShape(int64_t num_tokens, int64_t branch_factor) : n(num_tokens), b(branch_factor) {
    if (b < 2)
      throw std::invalid_argument("branch factor must be >= 2, found " + std::to_string(b));
    if (n < 1) throw std::invalid_argument("a tree needs at least one token");
    int64_t power = 1;              // b^k
    while (power <= (n - 1) / b) {  // b^(k+1) <= n - 1 without overflow
      power *= b;
      ++k;
    }
    leaf_size = (n + power - 1) / power;
    padded = leaf_size * power;
  }

  int64_t nodes_at(int64_t level) const {
    int64_t m = 1;
    for (int64_t i = 0; i < level; ++i) m *= b;
    return m;
  }
  int64_t num_leaves() const { return nodes_at(k); }
  // Offset of level l (1..k) in the retrieval memory; level k+1 means the leaf tokens.
  int64_t memory_offset(int64_t level) const {
    int64_t off = 0;
    for (int64_t l = 1; l < level; ++l) off += nodes_at(l);
    return off;
  }
  int64_t memory_size() const { return memory_offset(k + 1) + padded; }
  // Memory row (within one context set) of child j of node `parent` of level l, scored at decision
  // l of the descent (l = 0..k-1 picks among level l + 1's nodes), and of token t of leaf `leaf`.
  int64_t child_row(int64_t level, int64_t parent, int64_t j) const {
    return memory_offset(level + 1) + parent * b + j;
  }
  int64_t token_row(int64_t leaf, int64_t t) const {
    return memory_offset(k + 1) + leaf * leaf_size + t;
  }

  // Slots of the retrieved set as the reference lays them out (tca.md 4.3): decision i's b
  // children at slots i b .. i b + b - 1 (the picked one masked), then the picked leaf's P tokens.
  int64_t set_slots() const { return k * b + leaf_size; }
  int64_t node_slot(int64_t decision, int64_t j) const { return decision * b + j; }
  int64_t token_slot(int64_t t) const { return k * b + t; }
  // Tokens attended per query (conventions.md): the nominal |S| = k(b-1) + P, or N when k = 0.
  int64_t tokens_attended() const { return k == 0 ? n : k * (b - 1) + leaf_size; }
  int64_t nodes_scored() const { return b * k; }
};

}  // namespace tca
