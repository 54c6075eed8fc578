#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "autograd/dropout_stream.hpp"
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

TEST_CASE(
    "dropout and the fused attention's stream keep exactly the elements whose uniform is >= the "
    "threshold (p = 0.1, 0.5, 0.9, the comparison is done biased by 2^31 in the kernels)") {
  const int64_t n = 3 * ops::kDropoutBlock + 17;
  const Tensor ones = Tensor::full({n}, 1.0f);
  for (float p : {0.1f, 0.5f, 0.9f}) {
    CAPTURE(p);
    const uint32_t threshold = ops::dropout_threshold(p);
    const float scale = 1.0f / (1.0f - p);
    Rng rng(123);
    const uint64_t seed = Rng(123).next_u64();  // the one draw ops::dropout takes
    const Tensor y = ops::dropout(Var(ones), p, rng, true).value();
    std::vector<float> streamed(static_cast<size_t>(n));
    ops::DropoutStream stream(seed, threshold, scale);
    stream.seek(0);
    stream.fill(streamed.data(), n);
    int64_t mismatches = 0, kept = 0;
    for (int64_t b = 0; b * ops::kDropoutBlock < n; ++b) {
      ops::DropoutLaneGenerator gen(seed, static_cast<uint64_t>(b));
      for (int64_t i0 = b * ops::kDropoutBlock; i0 < std::min(n, (b + 1) * ops::kDropoutBlock);
           i0 += ops::kDropoutPerRound) {
        uint32_t u[ops::kDropoutPerRound];
        gen.next(u);
        for (int64_t j = 0; j < ops::kDropoutPerRound && i0 + j < n; ++j) {
          const float want = u[j] >= threshold ? scale : 0.0f;  // the definition, unsigned
          mismatches += y[i0 + j] != want || streamed[static_cast<size_t>(i0 + j)] != want;
          kept += want != 0.0f;
        }
      }
    }
    CHECK(mismatches == 0);
    CHECK(std::abs(static_cast<double>(kept) / n - (1.0 - p)) < 0.02);
  }
}
