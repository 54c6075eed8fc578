#include <doctest/doctest.h>

#include "gradcheck.hpp"

using namespace tca;
using tca::testing::compare;
using tca::testing::gradcheck;
using tca::testing::random_tensor;

namespace {

// x [outer, n, inner] summed (or averaged) along the middle axis, in double.
std::vector<double> naive_reduce(const Tensor& x, int axis, bool mean) {
  const Shape& s = x.shape();
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < axis; ++i) outer *= s[static_cast<size_t>(i)];
  for (size_t i = static_cast<size_t>(axis) + 1; i < s.size(); ++i) inner *= s[i];
  const int64_t n = s[static_cast<size_t>(axis)];
  std::vector<double> y(static_cast<size_t>(outer * inner), 0.0);
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < inner; ++j)
        y[static_cast<size_t>(o * inner + j)] += x[(o * n + i) * inner + j];
  if (mean)
    for (auto& v : y) v /= static_cast<double>(n);
  return y;
}

}  // namespace

TEST_CASE("sum and mean over each axis equal a naive double computation") {
  Rng rng(61);
  // [3, 4, 5] uses loops; [400, 64] is above the loop threshold (its last-axis sum is a oneDNN
  // reduction).
  for (const Shape& s : {Shape{3, 4, 5}, Shape{400, 64}})
    for (int axis = 0; axis < static_cast<int>(s.size()); ++axis)
      for (bool mean : {false, true})
        for (bool keepdim : {false, true}) {
          CAPTURE(to_string(s));
          CAPTURE(axis);
          CAPTURE(mean);
          Tensor x = random_tensor(s, rng);
          Var y = mean ? ops::mean(Var(x), axis, keepdim) : ops::sum(Var(x), axis, keepdim);
          Shape want_shape = s;
          if (keepdim)
            want_shape[static_cast<size_t>(axis)] = 1;
          else
            want_shape.erase(want_shape.begin() + axis);
          CHECK(y.shape() == want_shape);
          CHECK(compare(y.value(), naive_reduce(x, axis, mean), 1e-5, 1e-5) <= 1.0);
        }
}

TEST_CASE("sum and mean backward match finite differences on every axis") {
  Rng rng(62);
  for (const Shape& s : {Shape{3, 4, 5}, Shape{400, 64}})
    for (int axis : {0, -1})
      for (bool mean : {false, true}) {
        CAPTURE(to_string(s));
        CAPTURE(axis);
        CAPTURE(mean);
        auto f = [axis, mean](const std::vector<Var>& v) {
          return mean ? ops::mean(v[0], axis) : ops::sum(v[0], axis);
        };
        CHECK(gradcheck(f, {random_tensor(s, rng)}) <= 1.0);
      }
  CHECK(gradcheck([](const std::vector<Var>& v) { return ops::sum(v[0], 1, true); },
                  {random_tensor({3, 4, 5}, rng)}) <= 1.0);
}

TEST_CASE("sum_all and mean_all equal naive totals and match finite differences") {
  Rng rng(63);
  for (const Shape& s : {Shape{7}, Shape{3, 4}, Shape{50, 64}}) {
    Tensor x = random_tensor(s, rng);
    double total = 0;
    for (int64_t i = 0; i < x.numel(); ++i) total += x[i];
    CHECK(ops::sum_all(Var(x)).item() == doctest::Approx(total).epsilon(1e-5));
    CHECK(ops::mean_all(Var(x)).item() ==
          doctest::Approx(total / static_cast<double>(x.numel())).epsilon(1e-5));
    CHECK(gradcheck([](const std::vector<Var>& v) { return ops::sum_all(v[0]); }, {x}) <= 1.0);
    CHECK(gradcheck([](const std::vector<Var>& v) { return ops::mean_all(v[0]); }, {x}) <= 1.0);
  }
}

TEST_CASE(
    "masked_mean averages unmasked rows, gives zero for all-padding groups, and matches finite "
    "differences") {
  Rng rng(64);
  const int64_t B = 3, n = 4, D = 5;
  Tensor x = random_tensor({B, n, D}, rng);
  Tensor m = Tensor::from({1, 0, 1, 1,   // three real rows
                           0, 0, 0, 0,   // all padding
                           0, 1, 0, 0},  // one real row
                          {B, n});
  Var y = ops::masked_mean(Var(x), m);
  REQUIRE(y.shape() == Shape{B, D});
  std::vector<double> want;
  for (int64_t b = 0; b < B; ++b)
    for (int64_t d = 0; d < D; ++d) {
      double s = 0, count = 0;
      for (int64_t i = 0; i < n; ++i) {
        s += m[b * n + i] * x[(b * n + i) * D + d];
        count += m[b * n + i];
      }
      want.push_back(s / (count + 1e-9));
    }
  CHECK(compare(y.value(), want, 1e-6, 1e-5) <= 1.0);
  for (int64_t d = 0; d < D; ++d) CHECK(y.value()[D + d] == 0.0f);
  auto f = [&m](const std::vector<Var>& v) { return ops::masked_mean(v[0], m); };
  CHECK(gradcheck(f, {x}) <= 1.0);
  // rank 4: [B, Q, n, D] with mask [B, Q, n]
  Tensor m4 = Tensor::from({1, 1, 0, 0, 0, 0, 1, 0, 1, 1, 1, 1}, {2, 2, 3});
  auto f4 = [&m4](const std::vector<Var>& v) { return ops::masked_mean(v[0], m4); };
  CHECK(gradcheck(f4, {random_tensor({2, 2, 3, 4}, rng)}) <= 1.0);
}

TEST_CASE("masked_mean rejects a mask that does not match the input") {
  Var x(Tensor::zeros({2, 3, 4}));
  CHECK_THROWS_AS(ops::masked_mean(x, Tensor::zeros({2, 4})), ShapeError);
  CHECK_THROWS_AS(ops::masked_mean(x, Tensor::zeros({2, 3, 4})), ShapeError);
}
