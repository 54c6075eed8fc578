// NumPy broadcasting for the elementwise ops: the output shape of two operands and, for each,
// its strides in the output's index space (0 along broadcast axes).
#pragma once
#include <vector>

#include "core/shape.hpp"

namespace tca::ops {

struct Broadcast {
  Shape out;
  std::vector<int64_t> stride_a, stride_b;  // per output axis
  bool same = false;                        // a and b have the output's shape

  Broadcast(const Shape& a, const Shape& b, const char* op);

  // Calls f(i_out, i_a, i_b) for every output element (row-major).
  template <class F>
  void for_each(F&& f) const {
    const int64_t n = numel(out);
    if (same) {
      for (int64_t i = 0; i < n; ++i) f(i, i, i);
      return;
    }
    const int r = static_cast<int>(out.size());
    if (r == 0) {
      if (n) f(0, 0, 0);
      return;
    }
    std::vector<int64_t> idx(static_cast<size_t>(r), 0);
    const int64_t inner = out.back(), sa = stride_a.back(), sb = stride_b.back();
    int64_t ia = 0, ib = 0;
    for (int64_t o = 0; o < n; o += inner) {
      for (int64_t j = 0; j < inner; ++j) f(o + j, ia + j * sa, ib + j * sb);
      // advance the outer multi-index (all axes but the last)
      for (int ax = r - 2; ax >= 0; --ax) {
        const size_t u = static_cast<size_t>(ax);
        ia += stride_a[u];
        ib += stride_b[u];
        if (++idx[u] < out[u]) break;
        ia -= stride_a[u] * out[u];
        ib -= stride_b[u] * out[u];
        idx[u] = 0;
      }
    }
  }
};

}  // namespace tca::ops
