#include <doctest/doctest.h>

#include "gradcheck.hpp"

using namespace tca;
using tca::testing::compare;
using tca::testing::gradcheck;
using tca::testing::random_tensor;

TEST_CASE("gather_rows picks the indexed rows, repeats included") {
  Rng rng(71);
  Tensor x = random_tensor({5, 2, 3}, rng);
  Tensor idx = Tensor::from_i32({4, 0, 4, 2, 4}, {5});
  Var y = ops::gather_rows(Var(x), idx);
  REQUIRE(y.shape() == Shape{5, 2, 3});
  std::vector<double> want;
  for (int64_t k = 0; k < 5; ++k)
    for (int64_t j = 0; j < 6; ++j) want.push_back(x[idx.data_i32()[k] * 6 + j]);
  CHECK(compare(y.value(), want, 0, 0) <= 1.0);
}

TEST_CASE("gather_rows backward scatter-adds, accumulating over repeated indices") {
  Rng rng(72);
  Tensor idx = Tensor::from_i32({1, 3, 1, 1, 0}, {5});  // row 2 never picked: zero gradient
  auto f = [&idx](const std::vector<Var>& v) { return ops::gather_rows(v[0], idx); };
  CHECK(gradcheck(f, {random_tensor({4, 3}, rng)}) <= 1.0);
  Var x = parameter(random_tensor({4, 3}, rng));
  ops::sum_all(ops::gather_rows(x, idx)).backward();
  CHECK(x.grad()[1 * 3] == 3.0f);
  CHECK(x.grad()[2 * 3] == 0.0f);
}

TEST_CASE("gather_rows rejects out-of-range and non-integer indices") {
  Var x(Tensor::zeros({3, 2}));
  CHECK_THROWS_WITH_AS(ops::gather_rows(x, Tensor::from_i32({0, 3}, {2})),
                       doctest::Contains("out of range"), ShapeError);
  CHECK_THROWS_AS(ops::gather_rows(x, Tensor::from_i32({-1}, {1})), ShapeError);
  CHECK_THROWS_AS(ops::gather_rows(x, Tensor::zeros({2})), ShapeError);
}
