#include "models/tree_ordering.hpp"

#include <algorithm>
#include <numeric>

#include "core/error.hpp"
#include "core/rng.hpp"

namespace tca {

std::vector<float> random_projection_vector(int64_t dim_x) {
  Rng rng(2147483647);  // fixed seed, as the reference's (its torch draw cannot be reproduced)
  std::vector<float> v(static_cast<size_t>(dim_x));
  for (auto& e : v) e = static_cast<float>(rng.normal());
  return v;
}

namespace {

void kd_order(const float* x, int64_t dx, std::vector<int32_t>::iterator first,
              std::vector<int32_t>::iterator last, int64_t depth) {
  if (last - first <= 1) return;
  const int64_t axis = depth % dx;
  std::stable_sort(first, last,
                   [&](int32_t a, int32_t c) { return x[a * dx + axis] < x[c * dx + axis]; });
  auto mid = first + (last - first + 1) / 2;  // median split; the left half takes the extra one
  kd_order(x, dx, first, mid, depth + 1);
  kd_order(x, dx, mid, last, depth + 1);
}

}  // namespace

Tensor context_order(const Tensor& xc, ContextOrdering heuristic) {
  const int64_t B = xc.dim(0), N = xc.dim(1), dx = xc.dim(2);
  Tensor perm = Tensor::empty({B, N}, DType::i32);
  std::vector<float> proj;
  if (heuristic == ContextOrdering::random_proj) proj = random_projection_vector(dx);
  const int64_t axis = heuristic == ContextOrdering::sort_x2 ? 1 : 0;
  if (heuristic == ContextOrdering::sort_x2 && dx < 2)
    throw UsageError("ordering heuristic sort_x2 needs inputs with >= 2 coordinates, found " +
                     std::to_string(dx));
  std::vector<int32_t> idx(static_cast<size_t>(N));
  std::vector<float> key(static_cast<size_t>(N));
  for (int64_t bi = 0; bi < B; ++bi) {
    const float* x = xc.data() + bi * N * dx;
    std::iota(idx.begin(), idx.end(), 0);
    switch (heuristic) {
      case ContextOrdering::none:
        break;
      case ContextOrdering::sort_x1:
      case ContextOrdering::sort_x2:
      case ContextOrdering::random_proj:
        for (int64_t i = 0; i < N; ++i) {
          float s = 0;
          if (heuristic == ContextOrdering::random_proj)
            for (int64_t d = 0; d < dx; ++d) s += x[i * dx + d] * proj[static_cast<size_t>(d)];
          else
            s = x[i * dx + axis];
          key[static_cast<size_t>(i)] = s;
        }
        std::stable_sort(idx.begin(), idx.end(), [&](int32_t a, int32_t c) {
          return key[static_cast<size_t>(a)] < key[static_cast<size_t>(c)];
        });
        break;
      case ContextOrdering::kd:
        kd_order(x, dx, idx.begin(), idx.end(), 0);
        break;
    }
    std::copy(idx.begin(), idx.end(), perm.data_i32() + bi * N);
  }
  return perm;
}

static Tensor permute_rows(const Tensor& t, const Tensor& perm) {
  if (!t.defined()) return t;
  const int64_t B = t.dim(0), N = t.dim(1), W = t.numel() / std::max<int64_t>(B * N, 1);
  Tensor out = Tensor::empty(t.shape(), t.dtype());
  const char* src = static_cast<const char*>(t.raw());
  char* dst = static_cast<char*>(out.raw());
  for (int64_t bi = 0; bi < B; ++bi)
    for (int64_t i = 0; i < N; ++i) {
      const int64_t j = perm.data_i32()[bi * N + i];
      std::copy(src + ((bi * N + j) * W) * 4, src + ((bi * N + j + 1) * W) * 4,
                dst + ((bi * N + i) * W) * 4);
    }
  return out;
}

Batch apply_context_order(const Batch& batch, const Tensor& perm) {
  Batch out = batch;
  out.xc = permute_rows(batch.xc, perm);
  out.yc = permute_rows(batch.yc, perm);
  return out;
}

}  // namespace tca
