#include <doctest/doctest.h>
#include <omp.h>

#include <algorithm>
#include <cmath>

#include "autograd/ops.hpp"
#include "gradcheck.hpp"

using namespace tca;
using tca::testing::gradcheck;
using tca::testing::random_tensor;

namespace {
Tensor random_rows(int64_t Q, int64_t n, int64_t R, Rng& rng) {
  Tensor rows = Tensor::empty({Q, n}, DType::i32);
  for (int64_t i = 0; i < rows.numel(); ++i)
    rows.data_i32()[i] = static_cast<int32_t>(rng.uniform_int(0, R - 1));
  return rows;
}
}  // namespace

TEST_CASE("gathered_dot equals gathering, splitting heads and a naive dot product") {
  Rng rng(11);
  const int64_t Q = 5, R = 7, H = 2, dh = 3, D = H * dh, n = 4;
  Tensor q = random_tensor({Q, D}, rng), t = random_tensor({R, D}, rng),
         rows = random_rows(Q, n, R, rng);
  Var out = ops::gathered_dot(Var(q), Var(t), rows, H, 0.5f);
  REQUIRE(out.shape() == Shape{Q, H, n});
  for (int64_t i = 0; i < Q; ++i)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t j = 0; j < n; ++j) {
        double s = 0;
        for (int64_t x = 0; x < dh; ++x)
          s += double(q[i * D + h * dh + x]) * t[rows.data_i32()[i * n + j] * D + h * dh + x];
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
  Tensor w = random_tensor({Q, H, n}, rng), t = random_tensor({R, D}, rng),
         rows = random_rows(Q, n, R, rng);
  Var out = ops::gathered_weighted_sum(Var(w), Var(t), rows);
  for (int64_t i = 0; i < Q; ++i)
    for (int64_t h = 0; h < H; ++h)
      for (int64_t x = 0; x < dh; ++x) {
        double s = 0;
        for (int64_t j = 0; j < n; ++j)
          s += double(w[(i * H + h) * n + j]) * t[rows.data_i32()[i * n + j] * D + h * dh + x];
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
  CHECK_THROWS_WITH(ops::gathered_dot(Var(random_tensor({1, 4}, rng)),
                                      Var(random_tensor({3, 4}, rng)), rows, 2, 1.0f),
                    doctest::Contains("out of range for a table of 3"));
}

TEST_CASE(
    "gathered ops' table gradients are the same bits at 1, 2 and 3 threads, repeated rows and "
    "all") {
  // The table gradient is split across threads by row range (each row's sum in the serial order);
  // big enough to take the parallel path, with every row visited by many queries.
  Rng rng(14);
  const int64_t Q = 600, R = 50, H = 4, D = 64, n = 9;
  const Tensor rows = random_rows(Q, n, R, rng), q = random_tensor({Q, D}, rng),
               t = random_tensor({R, D}, rng);
  const Tensor w = random_tensor({Q, H, n}, rng), gd = random_tensor({Q, H, n}, rng),
               gw = random_tensor({Q, D}, rng);
  auto grads = [&] {
    Var vq = parameter(q), vt = parameter(t), vw = parameter(w), vt2 = parameter(t);
    ops::gathered_dot(vq, vt, rows, H, 0.25f).backward(gd);
    ops::gathered_weighted_sum(vw, vt2, rows).backward(gw);
    return std::vector<Tensor>{vt.grad().clone(), vt2.grad().clone(), vq.grad().clone(),
                               vw.grad().clone()};
  };
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  const std::vector<Tensor> serial = grads();
  for (int th : {2, 3}) {
    CAPTURE(th);
    omp_set_num_threads(th);
    const std::vector<Tensor> par = grads();
    for (size_t i = 0; i < serial.size(); ++i) {
      CAPTURE(i);
      bool same = true;
      for (int64_t e = 0; e < serial[i].numel(); ++e) same = same && serial[i][e] == par[i][e];
      CHECK(same);
    }
  }
  omp_set_num_threads(threads);
  // And they are the gathers' gradients: the table gradient of gathered_dot summed by hand.
  Tensor want = Tensor::zeros({R, D});
  for (int64_t i = 0; i < Q; ++i)
    for (int64_t j = 0; j < n; ++j)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t x = 0; x < D / H; ++x)
          want[rows.data_i32()[i * n + j] * D + h * (D / H) + x] +=
              0.25f * gd[(i * H + h) * n + j] * q[i * D + h * (D / H) + x];
  double worst = 0;
  for (int64_t e = 0; e < want.numel(); ++e)
    worst = std::max(worst, double(std::abs(want[e] - serial[0][e])));
  CHECK(worst < 1e-4);
}
