#include <doctest/doctest.h>

#include <cfloat>

#include "gradcheck.hpp"

using namespace tca;
using tca::testing::gradcheck;
using tca::testing::random_tensor;

namespace {

// A 0/1 mask [Q, 1, n] with about a third zeros; query `full_row` all zero (a fully masked row).
Tensor random_mask(int64_t Q, int64_t n, Rng& rng, int64_t full_row = -1) {
  Tensor m = Tensor::empty({Q, 1, n});
  for (int64_t i = 0; i < m.numel(); ++i) m[i] = rng.uniform() < 0.33 ? 0.0f : 1.0f;
  if (full_row >= 0)
    for (int64_t j = 0; j < n; ++j) m[full_row * n + j] = 0.0f;
  return m;
}

// Largest |a - b| / (atol + rtol |b|) (<= 1 passes).
double worst_ratio(const Tensor& a, const Tensor& b, double atol, double rtol) {
  REQUIRE(a.numel() == b.numel());
  double worst = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    const double d = std::abs(static_cast<double>(a[i]) - b[i]);
    worst = std::max(worst, d / (atol + rtol * std::abs(static_cast<double>(b[i]))));
  }
  return worst;
}

struct Case {
  int64_t Q, H, n;
};

// Policy-shaped (b children), set-shaped (k b + P slots), one key, and a large case that takes
// the parallel loops where threads are available.
const Case kCases[] = {{5, 4, 2}, {7, 4, 12}, {3, 2, 1}, {6, 3, 5}, {4096, 4, 4}};

}  // namespace

TEST_CASE("masked_softmax and its head mean equal softmax(x, mask) and mean over heads") {
  Rng rng(71);
  for (const Case& c : kCases) {
    CAPTURE(c.Q);
    CAPTURE(c.n);
    const Tensor x = random_tensor({c.Q, c.H, c.n}, rng, -4.0f, 4.0f);
    const Tensor m = random_mask(c.Q, c.n, rng, 0);
    const Var old_w = ops::softmax(Var(x), m);
    const Var old_pi = ops::mean(old_w, 1);
    const Var w = ops::masked_softmax(Var(x), m);
    const ops::HeadPolicy p = ops::masked_softmax_head_mean(Var(x), m.reshape({c.Q, c.n}));
    // oneDNN's exp approximation against libm's: float rounding only.
    CHECK(worst_ratio(w.value(), old_w.value(), 1e-7, 1e-6) <= 1.0);
    CHECK(worst_ratio(p.weights.value(), old_w.value(), 1e-7, 1e-6) <= 1.0);
    CHECK(worst_ratio(p.policy.value(), old_pi.value(), 1e-7, 1e-6) <= 1.0);
    CHECK(p.policy.shape() == Shape{c.Q, c.n});
    // The weights of both ops are the same computation, bit for bit.
    for (int64_t i = 0; i < w.numel(); ++i) CHECK(w.value()[i] == p.weights.value()[i]);
  }
}

TEST_CASE("masked_softmax: a fully masked row is uniform, masked entries are exactly zero") {
  const Tensor x = Tensor::from({1, 2, 3, 4, 5, 6, 7, 8}, {2, 1, 4});
  const Tensor m = Tensor::from({0, 0, 0, 0, 1, 0, 1, 0}, {2, 1, 4});
  const Var y = ops::masked_softmax(Var(x), m);
  for (int64_t c = 0; c < 4; ++c) CHECK(y.value()[c] == 0.25f);
  CHECK(y.value()[5] == 0.0f);
  CHECK(y.value()[7] == 0.0f);
  CHECK(y.value()[4] == doctest::Approx(1.0 / (1.0 + std::exp(2.0))));
  // No mask: a plain softmax.
  const Var u = ops::masked_softmax(Var(x), Tensor());
  CHECK(u.value()[3] ==
        doctest::Approx(1.0 / (1.0 + std::exp(-1.0) + std::exp(-2.0) + std::exp(-3.0))));
}

TEST_CASE("masked_softmax and its head mean backward equal the softmax, mean composition's") {
  Rng rng(72);
  for (const Case& c : kCases)
    for (bool accumulate : {false, true}) {
      CAPTURE(c.Q);
      CAPTURE(c.n);
      CAPTURE(accumulate);
      const Tensor x = random_tensor({c.Q, c.H, c.n}, rng, -3.0f, 3.0f);
      const Tensor m = random_mask(c.Q, c.n, rng, 1);
      const Tensor gw = random_tensor({c.Q, c.H, c.n}, rng);
      const Tensor gp = random_tensor({c.Q, c.n}, rng);
      // loss = <w, gw> + <pi, gp>; with `accumulate` x has a gradient already (x used twice).
      auto grad_of = [&](bool fused) {
        Var xv = parameter(x.clone());
        Var w, pi;
        if (fused) {
          const ops::HeadPolicy p = ops::masked_softmax_head_mean(xv, m);
          w = p.weights;
          pi = p.policy;
        } else {
          w = ops::softmax(xv, m);
          pi = ops::mean(w, 1);
        }
        Var loss =
            ops::add(ops::sum_all(ops::mul(w, Var(gw))), ops::sum_all(ops::mul(pi, Var(gp))));
        if (accumulate) loss = ops::add(loss, ops::sum_all(ops::mul(xv, Var(gw))));
        loss.backward();
        return xv.grad();
      };
      CHECK(worst_ratio(grad_of(true), grad_of(false), 1e-6, 1e-5) <= 1.0);
    }
}

TEST_CASE("masked_softmax and its head mean backward match finite differences") {
  Rng rng(73);
  for (const Case& c : {Case{3, 4, 2}, Case{4, 2, 7}, Case{2, 3, 1}}) {
    CAPTURE(c.n);
    const Tensor m = random_mask(c.Q, c.n, rng, 0);
    auto f = [&m](const std::vector<Var>& v) { return ops::masked_softmax(v[0], m); };
    CHECK(gradcheck(f, {random_tensor({c.Q, c.H, c.n}, rng, -3.0f, 3.0f)}) <= 1.0);
    // Both outputs of the head-mean op at once.
    auto g = [&m, c](const std::vector<Var>& v) {
      const ops::HeadPolicy p = ops::masked_softmax_head_mean(v[0], m);
      return ops::concat(
          {ops::reshape(p.weights, {c.Q * c.H * c.n}), ops::reshape(p.policy, {c.Q * c.n})}, 0);
    };
    CHECK(gradcheck(g, {random_tensor({c.Q, c.H, c.n}, rng, -3.0f, 3.0f)}) <= 1.0);
  }
}

TEST_CASE(
    "masked_softmax: masked logits receive exactly zero gradient, also in a fully masked row") {
  Rng rng(74);
  for (bool accumulate : {false, true}) {
    CAPTURE(accumulate);
    Var x = parameter(random_tensor({3, 2, 4}, rng));
    const Tensor m = Tensor::from({0, 0, 0, 0, 1, 0, 1, 1, 1, 1, 1, 0}, {3, 1, 4});
    if (accumulate) x.grad_buffer().zero();
    const ops::HeadPolicy p = ops::masked_softmax_head_mean(x, m);
    ops::add(ops::sum_all(ops::mul(p.weights, Var(random_tensor({3, 2, 4}, rng)))),
             ops::sum_all(ops::mul(p.policy, Var(random_tensor({3, 4}, rng)))))
        .backward();
    for (int64_t q = 0; q < 3; ++q)
      for (int64_t h = 0; h < 2; ++h)
        for (int64_t j = 0; j < 4; ++j)
          if (m[q * 4 + j] == 0.0f) CHECK(x.grad()[(q * 2 + h) * 4 + j] == 0.0f);
    CHECK(x.grad()[8] != 0.0f);
  }
}

TEST_CASE("masked_softmax rejects logits that are not [Q, H, n] and masks that do not fit") {
  Var x(Tensor::zeros({2, 3, 4}));
  CHECK_THROWS_AS(ops::masked_softmax(Var(Tensor::zeros({2, 4})), Tensor()), ShapeError);
  CHECK_THROWS_WITH_AS(ops::masked_softmax(x, Tensor::zeros({2, 3, 4})),
                       doctest::Contains("[2, 3, 4]"), ShapeError);
  CHECK_THROWS_AS(ops::masked_softmax_head_mean(x, Tensor::zeros({4})), ShapeError);
  CHECK_THROWS_AS(ops::masked_softmax(x, Tensor::zeros({2, 1, 4}, DType::i32)), Error);
}
