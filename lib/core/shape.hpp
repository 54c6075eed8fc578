// Tensor shapes: a list of extents, row-major. Shape letters used across the code base:
// B batch, N context tokens, M queries/targets, D model width, H heads, b branching factor.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace tca {

using Shape = std::vector<int64_t>;

inline int64_t numel(const Shape& s) {
  int64_t n = 1;
  for (auto d : s) n *= d;
  return n;
}

inline std::string to_string(const Shape& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

}  // namespace tca
