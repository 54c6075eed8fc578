#include <doctest/doctest.h>

#include "autograd/gathered_attention.hpp"
#include "gradcheck.hpp"

using namespace tca;
using tca::testing::gradcheck;
using tca::testing::random_tensor;

namespace {
Tensor random_rows(int64_t Q, int64_t n, int64_t R, Rng& rng) {
  Tensor rows = Tensor::empty({Q, n}, DType::i32);
  for (int64_t i = 0; i < rows.numel(); ++i) rows.data_i32()[i] = static_cast<int32_t>(rng.uniform_int(0, R - 1));
  return rows;
}
}  // namespace

TEST_CASE("gathered_dot equals gathering, splitting heads and a naive dot product") {
  Rng rng(11);
  const int64_t Q = 5, R = 7, H = 2, dh = 3, D = H * dh, n = 4;
  Tensor q = random_tensor({Q, D}, rng), t = random_tensor({R, D}, rng), rows = random_rows(Q, n, R, rng);
  Var out = ops::gathered_dot(Var(q), Var(t), rows, H, 0.5f);
  REQUIRE(out.shape() == Shape{Q, H, n});
  for (int64_t i = 0; i < Q; ++i)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t j = 0; j < n; ++j) {
        double s = 0;
        for (int64_t x = 0; x < dh; ++x) s += double(q[i * D + h * dh + x]) * t[rows.data_i32()[i * n + j] * D + h * dh + x];
        CHECK(out.value()[(i * H + h) * n + j] == doctest::Approx(0.5 * s).epsilon(1e-6));
      }
}

TEST_CASE("gathered_dot backward matches finite differences, repeated rows included") {
  Rng rng(12);
  const int64_t Q = 4, R = 3, H = 2, D = 4, n = 5;  // 20 gathers from 3 rows: many repeats
  Tensor rows = random_rows(Q, n, R, rng);
  auto f = [&](const std::vector<Var>& v) { return ops::gathered_dot(v[0], v[1], rows, H, 0.7f); };
  CHECK(gradcheck(f, {random_tensor({Q, D}, rng), random_tensor({R, D}, rng)}) <= 1.0);
}

TEST_CASE("gathered_weighted_sum equals a naive weighted sum per head") {
  Rng rng(13);
  const int64_t Q = 3, R = 6, H = 2, dh = 2, D = H * dh, n = 5;
  Tensor w = random_tensor({Q, H, n}, rng), t = random_tensor({R, D}, rng), rows = random_rows(Q, n, R, rng);
  Var out = ops::gathered_weighted_sum(Var(w), Var(t), rows);
  for (int64_t i = 0; i < Q; ++i)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t x = 0; x < dh; ++x) {
        double s = 0;
        for (int64_t j = 0; j < n; ++j) s += double(w[(i * H + h) * n + j]) * t[rows.data_i32()[i * n + j] * D + h * dh + x];
        CHECK(out.value()[i * D + h * dh + x] == doctest::Approx(s).epsilon(1e-6));
      }
}

TEST_CASE("gathered_weighted_sum backward matches finite differences, repeated rows included") {
  Rng rng(14);
  const int64_t Q = 4, R = 3, H = 2, D = 6, n = 4;
  Tensor rows = random_rows(Q, n, R, rng);
  auto f = [&](const std::vector<Var>& v) { return ops::gathered_weighted_sum(v[0], v[1], rows); };
  CHECK(gradcheck(f, {random_tensor({Q, H, n}, rng), random_tensor({R, D}, rng)}) <= 1.0);
}

TEST_CASE("gathered ops reject out-of-range rows naming the table size") {
  Rng rng(15);
  Tensor rows = Tensor::from_i32({0, 9}, {1, 2});
  CHECK_THROWS_WITH(ops::gathered_dot(Var(random_tensor({1, 4}, rng)), Var(random_tensor({3, 4}, rng)), rows, 2, 1.0f),
                    doctest::Contains("out of range for a table of 3"));
}
