#include "models/retrieved_set.hpp"

#include <stdexcept>
#include <string>

namespace tca {

namespace {

// The real tokens (original indices) of leaves [first_leaf, first_leaf + leaves): positions
// leaf * P .. of the padded sequence below N (tca.md 4.1: padding only at the end).
std::vector<int64_t> tokens_of_leaves(const TreeShape& s, int64_t first_leaf, int64_t leaves,
                                      const std::vector<int64_t>& order) {
  std::vector<int64_t> tokens;
  const int64_t begin = first_leaf * s.leaf_size,
                end = std::min(s.n, (first_leaf + leaves) * s.leaf_size);
  for (int64_t p = begin; p < end; ++p)
    tokens.push_back(order.empty() ? p : order[static_cast<size_t>(p)]);
  return tokens;
}

}  // namespace

RetrievedSet describe_retrieved_set(const TreeShape& s, const std::vector<int64_t>& path,
                                    const std::vector<int64_t>& order) {
  if (static_cast<int64_t>(path.size()) != s.k) {
    throw std::invalid_argument("a path of " + std::to_string(path.size()) +
                                " picks for a tree of depth " + std::to_string(s.k));
  }
  if (!order.empty() && static_cast<int64_t>(order.size()) != s.n) {
    throw std::invalid_argument("a context order of " + std::to_string(order.size()) +
                                " tokens for a tree over " + std::to_string(s.n));
  }
  RetrievedSet r;
  r.path = path;
  int64_t node = 0;  // the current node's index at its level (the root at level 0)
  for (int64_t l = 1; l <= s.k; ++l) {
    const int64_t pick = path[static_cast<size_t>(l - 1)];
    if (pick < 0 || pick >= s.b)
      throw std::invalid_argument("pick " + std::to_string(pick) + " out of [0, b) at level " +
                                  std::to_string(l));
    const int64_t leaves_per_node = s.nodes_at(s.k - l);
    for (int64_t c = 0; c < s.b; ++c) {
      if (c == pick) continue;
      RetrievedSet::Sibling sib;
      sib.level = l;
      sib.node = node * s.b + c;
      sib.memory_row = s.memory_offset(l) + sib.node;
      sib.tokens = tokens_of_leaves(s, sib.node * leaves_per_node, leaves_per_node, order);
      r.siblings.push_back(std::move(sib));
    }
    node = node * s.b + pick;
  }
  r.leaf = node;
  r.leaf_tokens = tokens_of_leaves(s, node, 1, order);
  if (s.k == 0)
    r.leaf_tokens = tokens_of_leaves(s, 0, 1, order);  // k = 0: every token (tca.md 4.1)
  return r;
}

}  // namespace tca
