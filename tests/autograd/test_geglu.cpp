#include <doctest/doctest.h>

#include <cmath>

#include "autograd/elementwise_kernels.hpp"
#include "gradcheck.hpp"

using namespace tca;
using tca::testing::compare;
using tca::testing::gradcheck;
using tca::testing::random_tensor;

namespace {

// A small shape, one whose row count alone exceeds the threaded-loop threshold, and a rank-3 one.
std::vector<Shape> shapes() {
  return {{1, 2}, {3, 10}, {ops::elementwise_loop_max() / 16 + 3, 32}, {2, 3, 8}};
}

double gelu_ref(double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }

}  // namespace

TEST_CASE("geglu equals a * gelu(b) on the halves of the last axis in double precision") {
  Rng rng(31);
  for (const Shape& s : shapes()) {
    CAPTURE(to_string(s));
    Tensor h = random_tensor(s, rng, -6.0f, 6.0f);
    Var y = ops::geglu(Var(h));
    const int64_t F = s.back() / 2, R = h.numel() / s.back();
    Shape want_shape = s;
    want_shape.back() = F;
    REQUIRE(y.shape() == want_shape);
    std::vector<double> want;
    for (int64_t r = 0; r < R; ++r)
      for (int64_t j = 0; j < F; ++j)
        want.push_back(h[r * 2 * F + j] * gelu_ref(h[r * 2 * F + F + j]));
    // The A&S erf is within 1.5e-7, so |error| <= |a| |b| / 2 * 1.5e-7 <= 2.7e-6 for |a|, |b| <= 6
    // (oneDNN's gelu_erf uses the same approximation).
    CHECK(compare(y.value(), want, 3e-6, 1e-6) <= 1.0);
  }
}

TEST_CASE("geglu's far tails: gelu tends to 0 below and to the identity above, without overflow") {
  Var y = ops::geglu(Var(Tensor::from({1, 1, 1, 1, -30, -9, 9, 30}, {1, 8})));
  CHECK(std::abs(y.value()[0]) < 1e-30);  // true value -1e-196; e^-x^2 is clamped at e^-87
  CHECK(std::abs(y.value()[1]) < 1e-17);  // true value -1.0e-18
  CHECK(y.value()[2] == doctest::Approx(9.0).epsilon(1e-7));
  CHECK(y.value()[3] == 30.0f);
}

// Issue 20 (make test-sanitize): a NaN gate input (a diverged run, tca train --lr 1e30) was
// converted to int32 inside the exponential (undefined behaviour, reported by UBSan); the output
// must stay NaN (the trainer's numerical-failure check relies on it).
TEST_CASE("geglu of a NaN gate is NaN, without undefined behaviour") {
  const float nan = std::nanf("");
  Var h = parameter(Tensor::from({1, 1, 1, nan, nan, 0.5f, INFINITY, 1}, {1, 8}));
  Var y = ops::geglu(h);
  CHECK(std::isnan(y.value()[0]));  // a * gelu(nan)
  CHECK(y.value()[1] == doctest::Approx(gelu_ref(0.5)).epsilon(1e-6));
  CHECK(y.value()[2] == INFINITY);  // gelu(inf) = inf
  CHECK(std::isnan(y.value()[3]));  // nan * gelu(1)
  y.backward(Tensor::from({1, 1, 1, 1}, {1, 4}));
  CHECK(std::isnan(h.grad()[4]));  // d/db at b = nan
}

TEST_CASE("geglu backward matches finite differences, fresh and accumulating") {
  Rng rng(32);
  for (const Shape& s : shapes()) {
    CAPTURE(to_string(s));
    auto f = [](const std::vector<Var>& v) { return ops::geglu(v[0]); };
    CHECK(gradcheck(f, {random_tensor(s, rng, -3.0f, 3.0f)}) <= 1.0);
  }
  // h used twice: the second backward adds into the gradient the first one wrote.
  auto twice = [](const std::vector<Var>& v) {
    return ops::add(ops::geglu(v[0]), ops::geglu(v[0]));
  };
  CHECK(gradcheck(twice, {random_tensor({4, 6}, rng, -3.0f, 3.0f)}) <= 1.0);
}

TEST_CASE("geglu matches split, gelu and mul, and rejects an odd last axis") {
  Rng rng(33);
  Tensor h = random_tensor({5, 12}, rng, -4.0f, 4.0f);
  auto halves = ops::split(Var(h), -1, {6, 6});
  Var unfused = ops::mul(halves[0], ops::gelu(halves[1]));
  Var fused = ops::geglu(Var(h));
  for (int64_t i = 0; i < fused.numel(); ++i)
    CHECK(std::abs(fused.value()[i] - unfused.value()[i]) < 2e-6);  // both within 1.2e-6 of exact
  CHECK_THROWS_AS(ops::geglu(Var(Tensor::zeros({2, 3}))), ShapeError);
}
