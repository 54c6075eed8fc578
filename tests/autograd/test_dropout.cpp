#include <doctest/doctest.h>

#include "gradcheck.hpp"

using namespace tca;
using tca::testing::random_tensor;

TEST_CASE(
    "dropout with a fixed seed zeroes about p of the entries and scales the rest by 1/(1-p)") {
  Rng data(91);
  for (const Shape& s : {Shape{10, 10}, Shape{200, 64}}) {
    Tensor x = random_tensor(s, data, 0.5f, 1.5f);
    Rng rng(5);
    Var y = ops::dropout(Var(x), 0.25f, rng, true);
    int64_t zeros = 0;
    for (int64_t i = 0; i < x.numel(); ++i) {
      if (y.value()[i] == 0.0f)
        ++zeros;
      else
        CHECK(y.value()[i] == doctest::Approx(x[i] / 0.75f));
    }
    const double frac = static_cast<double>(zeros) / static_cast<double>(x.numel());
    CHECK(frac > 0.15);
    CHECK(frac < 0.35);
    Rng again(5);  // the same seed gives the same mask
    Var y2 = ops::dropout(Var(x), 0.25f, again, true);
    for (int64_t i = 0; i < x.numel(); ++i) CHECK(y2.value()[i] == y.value()[i]);
  }
}

TEST_CASE("dropout gradient equals its mask times 1/(1-p)") {
  Rng data(92);
  for (const Shape& s : {Shape{10, 10}, Shape{200, 64}}) {
    Tensor x = random_tensor(s, data, 0.5f, 1.5f), g = random_tensor(s, data);
    Var v = parameter(x);
    Rng rng(6);
    Var y = ops::dropout(v, 0.4f, rng, true);
    y.backward(g);
    for (int64_t i = 0; i < x.numel(); ++i) {
      const float keep = y.value()[i] != 0.0f ? 1.0f / 0.6f : 0.0f;  // x > 0, so y == 0 iff dropped
      CHECK(v.grad()[i] == doctest::Approx(g[i] * keep));
    }
  }
}

TEST_CASE("dropout backward matches finite differences with a fixed seed") {
  Rng data(93);
  for (const Shape& s : {Shape{6, 5}, Shape{200, 64}}) {
    auto f = [](const std::vector<Var>& v) {
      Rng rng(8);  // the same mask on every evaluation
      return ops::dropout(v[0], 0.3f, rng, true);
    };
    CHECK(tca::testing::gradcheck(f, {random_tensor(s, data)}) <= 1.0);
  }
}

TEST_CASE("dropout is the identity when not training or when p is zero, and rejects p >= 1") {
  Rng rng(7);
  Var x(Tensor::from({1, 2, 3}, {3}));
  CHECK(ops::dropout(x, 0.5f, rng, false).node().get() == x.node().get());
  CHECK(ops::dropout(x, 0.0f, rng, true).node().get() == x.node().get());
  CHECK_THROWS_AS(ops::dropout(x, 1.0f, rng, true), ShapeError);
}
