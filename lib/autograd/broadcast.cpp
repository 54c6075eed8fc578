#include "autograd/broadcast.hpp"

#include <string>

#include "core/error.hpp"

namespace tca::ops {

Broadcast::Broadcast(const Shape& a, const Shape& b, const char* op) {
  same = a == b;
  const size_t r = std::max(a.size(), b.size());
  out.assign(r, 1);
  stride_a.assign(r, 0);
  stride_b.assign(r, 0);
  int64_t sa = 1, sb = 1;
  for (size_t k = 0; k < r; ++k) {
    const size_t ax = r - 1 - k;
    const int64_t da = k < a.size() ? a[a.size() - 1 - k] : 1;
    const int64_t db = k < b.size() ? b[b.size() - 1 - k] : 1;
    if (da != db && da != 1 && db != 1)
      throw ShapeError(std::string(op) + ": shapes do not broadcast: " + to_string(a) + " vs " +
                       to_string(b));
    out[ax] = da == 1 ? db : da;
    stride_a[ax] = da == 1 ? 0 : sa;
    stride_b[ax] = db == 1 ? 0 : sb;
    sa *= da;
    sb *= db;
  }
}

}  // namespace tca::ops
