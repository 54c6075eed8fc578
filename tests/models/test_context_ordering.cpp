// Context orderings before the tree is built (tca.md 4.1): sort_x1, sort_x2, random_proj and the
// k-d ordering put the context in their order (stable, ascending, x and y together), so TCA's
// predictions do not depend on the order the context arrives in; with `none` they do.
#include <doctest/doctest.h>

#include <algorithm>
#include <functional>
#include <numeric>

#include "models/model_test_util.hpp"
#include "models/retreever_model.hpp"
#include "models/tree_ordering.hpp"

using namespace tca;
using namespace tca::testing;

namespace {

// B tasks of N 2-D points on a coarse grid (ties in each coordinate), y = a function of x.
Batch grid_batch(int64_t B, int64_t N, int64_t M, Rng& rng) {
  Batch b;
  b.xc = Tensor::empty({B, N, 2});
  b.yc = Tensor::empty({B, N, 1});
  b.xt = Tensor::empty({B, M, 2});
  b.yt = Tensor::empty({B, M, 1});
  for (int64_t i = 0; i < B * N; ++i) {
    b.xc[2 * i] = static_cast<float>(rng.uniform_int(0, 5)) / 5.0f;
    b.xc[2 * i + 1] = static_cast<float>(rng.uniform_int(0, 5)) / 5.0f;
    b.yc[i] = b.xc[2 * i] - 2.0f * b.xc[2 * i + 1];
  }
  for (int64_t i = 0; i < B * M; ++i) {
    b.xt[2 * i] = static_cast<float>(rng.uniform(0, 1));
    b.xt[2 * i + 1] = static_cast<float>(rng.uniform(0, 1));
    b.yt[i] = b.xt[2 * i] - 2.0f * b.xt[2 * i + 1];
  }
  return b;
}

// The same batch with each task's context rows in a random order.
Batch shuffled(const Batch& batch, Rng& rng) {
  const int64_t B = batch.batch_size(), N = batch.num_context();
  Tensor perm = Tensor::empty({B, N}, DType::i32);
  for (int64_t b = 0; b < B; ++b) {
    int32_t* p = perm.data_i32() + b * N;
    std::iota(p, p + N, 0);
    rng.shuffle(p, N);
  }
  return apply_context_order(batch, perm);
}

// Whether [first, last) of task rows (indices into x [N, 2]) is k-d ordered from `depth`: sorted
// halves along axis depth % 2, the left half taking the extra row, each half k-d ordered.
bool kd_ordered(const float* x, const int32_t* first, const int32_t* last, int depth) {
  if (last - first <= 1) return true;
  const int axis = depth % 2;
  const int32_t* mid = first + (last - first + 1) / 2;
  float left_max = -1e30f, right_min = 1e30f;
  for (const int32_t* i = first; i < mid; ++i) left_max = std::max(left_max, x[*i * 2 + axis]);
  for (const int32_t* i = mid; i < last; ++i) right_min = std::min(right_min, x[*i * 2 + axis]);
  return left_max <= right_min && kd_ordered(x, first, mid, depth + 1) &&
         kd_ordered(x, mid, last, depth + 1);
}

}  // namespace

TEST_CASE(
    "context orders: sort_x1 and sort_x2 and random_proj are stable ascending sorts and kd splits "
    "at medians") {
  Rng rng(801);
  const int64_t B = 2, N = 23;
  Batch batch = grid_batch(B, N, 1, rng);
  const std::vector<float> v = random_projection_vector(2);
  CHECK(v == random_projection_vector(2));  // fixed, not drawn per call
  for (const std::string h : {"sort_x1", "sort_x2", "random_proj", "kd", "none"}) {
    CAPTURE(h);
    Tensor perm = context_order(batch.xc, context_ordering_from_string(h));
    for (int64_t b = 0; b < B; ++b) {
      const int32_t* p = perm.data_i32() + b * N;
      const float* x = batch.xc.data() + b * N * 2;
      std::vector<int32_t> sorted(p, p + N);
      std::sort(sorted.begin(), sorted.end());
      std::vector<int32_t> ids(static_cast<size_t>(N));
      std::iota(ids.begin(), ids.end(), 0);
      REQUIRE(sorted == ids);  // a permutation
      auto key = [&](int32_t i) -> double {
        if (h == "sort_x1") return x[i * 2];
        if (h == "sort_x2") return x[i * 2 + 1];
        return static_cast<double>(x[i * 2] * v[0] + x[i * 2 + 1] * v[1]);
      };
      if (h == "kd") {
        CHECK(kd_ordered(x, p, p + N, 0));
      } else if (h == "none") {
        CHECK(std::equal(p, p + N, ids.begin()));
      } else {
        for (int64_t i = 1; i < N; ++i) {
          CHECK(key(p[i - 1]) <= key(p[i]));
          if (key(p[i - 1]) == key(p[i])) CHECK(p[i - 1] < p[i]);  // stable: ties keep their order
        }
      }
    }
    // x and y move together.
    Batch ordered = apply_context_order(batch, perm);
    for (int64_t i = 0; i < B * N; ++i)
      CHECK(ordered.yc[i] == ordered.xc[2 * i] - 2.0f * ordered.xc[2 * i + 1]);
  }
}

TEST_CASE("TCA predictions do not depend on the order of the context under sort and kd orderings") {
  Rng data(802);
  const int64_t B = 2, N = 13, M = 4;
  Batch grid = grid_batch(B, N, M, data);
  // Distinct coordinates, so that every ordering is a total order (no ties left to the input
  // order).
  for (int64_t i = 0; i < grid.xc.numel(); ++i)
    grid.xc[i] += static_cast<float>(data.uniform(0, 0.01));
  Batch other = shuffled(grid, data);
  for (const std::string h : {"sort_x1", "sort_x2", "random_proj", "kd", "none"}) {
    CAPTURE(h);
    ModelConfig cfg = tiny_gp_config("tca");
    cfg.dim_x = 2;
    cfg.heuristic = context_ordering_from_string(h);
    Rng init(803);
    ReTreeverModel model(cfg, init);
    Predictions a = model.predict(grid), b = model.predict(other);
    bool same = true;
    for (int64_t i = 0; i < a.mean.numel(); ++i)
      same &= a.mean[i] == b.mean[i] && a.std[i] == b.std[i];
    if (h == "none")
      CHECK_FALSE(same);  // the tree follows the given order
    else
      CHECK(same);
  }
}
