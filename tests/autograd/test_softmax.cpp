#include <doctest/doctest.h>

#include <cfloat>

#include "gradcheck.hpp"

using namespace tca;
using tca::testing::broadcast_source;
using tca::testing::compare;
using tca::testing::gradcheck;
using tca::testing::random_tensor;

namespace {

// Softmax (or log-softmax) over the last axis in double, logits replaced by -FLT_MAX where the
// (broadcast) mask is 0.
std::vector<double> naive_softmax(const Tensor& x, const Tensor& mask, bool log) {
  const int64_t C = x.shape().back(), R = x.numel() / C;
  std::vector<double> l(static_cast<size_t>(x.numel())), y(l.size());
  for (int64_t o = 0; o < x.numel(); ++o)
    l[static_cast<size_t>(o)] =
        mask.defined() && mask[broadcast_source(x.shape(), mask.shape(), o)] == 0.0f
            ? -static_cast<double>(FLT_MAX)
            : x[o];
  for (int64_t r = 0; r < R; ++r) {
    double m = -INFINITY, s = 0;
    for (int64_t c = 0; c < C; ++c) m = std::max(m, l[static_cast<size_t>(r * C + c)]);
    for (int64_t c = 0; c < C; ++c) s += std::exp(l[static_cast<size_t>(r * C + c)] - m);
    for (int64_t c = 0; c < C; ++c) {
      const double z = l[static_cast<size_t>(r * C + c)] - m;
      y[static_cast<size_t>(r * C + c)] = log ? z - std::log(s) : std::exp(z) / s;
    }
  }
  return y;
}

// A 0/1 mask of shape s with about a third zeros; row `full_row` (of the last axis) all zero.
Tensor random_mask(const Shape& s, Rng& rng, int64_t full_row = -1) {
  Tensor m = Tensor::empty(s);
  for (int64_t i = 0; i < m.numel(); ++i) m[i] = rng.uniform() < 0.33 ? 0.0f : 1.0f;
  const int64_t C = s.back();
  if (full_row >= 0)
    for (int64_t c = 0; c < C; ++c) m[full_row * C + c] = 0.0f;
  return m;
}

struct MaskCase {
  Shape x, mask;
};

std::vector<MaskCase> mask_cases() {
  return {{{4, 6}, {4, 6}},                   // full-shape mask
          {{2, 3, 4, 5}, {2, 1, 1, 5}},       // attention padding mask [B, 1, 1, S]
          {{2, 3, 4, 5}, {5}},                // one mask for every row
          {{64, 4, 8, 32}, {64, 1, 1, 32}}};  // large (a binary primitive applies the mask)
}

}  // namespace

TEST_CASE("softmax and log_softmax forward equal a naive double computation") {
  Rng rng(41);
  for (const Shape& s : {Shape{3, 5}, Shape{2, 3, 4}, Shape{1, 1}, Shape{7}, Shape{500, 32}})
    for (bool log : {false, true}) {
      CAPTURE(to_string(s));
      CAPTURE(log);
      Tensor x = random_tensor(s, rng, -4.0f, 4.0f);
      Var y = log ? ops::log_softmax(Var(x)) : ops::softmax(Var(x));
      // oneDNN's log-softmax kernel is within 4.3e-6 absolute (its log approximation; measured
      // on 2000 random rows, the same for logsoftmax_forward and softmax_v2 softmax_log).
      CHECK(compare(y.value(), naive_softmax(x, Tensor(), log), log ? 5e-6 : 1e-6, 1e-5) <= 1.0);
    }
}

TEST_CASE(
    "masked softmax forward equals a naive computation with masked logits replaced by -FLT_MAX") {
  Rng rng(42);
  for (const MaskCase& c : mask_cases()) {
    CAPTURE(to_string(c.x));
    CAPTURE(to_string(c.mask));
    Tensor x = random_tensor(c.x, rng, -4.0f, 4.0f), m = random_mask(c.mask, rng, 0);
    Var y = ops::softmax(Var(x), m);
    CHECK(compare(y.value(), naive_softmax(x, m, false), 1e-6, 1e-5) <= 1.0);
  }
}

TEST_CASE("softmax of a fully masked row is uniform and masked entries are exactly zero") {
  Tensor x = Tensor::from({1, 2, 3, 4, 5, 6, 7, 8}, {2, 4});
  Tensor m = Tensor::from({0, 0, 0, 0, 1, 0, 1, 0}, {2, 4});
  Var y = ops::softmax(Var(x), m);
  for (int64_t c = 0; c < 4; ++c) CHECK(y.value()[c] == 0.25f);
  CHECK(y.value()[5] == 0.0f);
  CHECK(y.value()[7] == 0.0f);
  CHECK(y.value()[4] == doctest::Approx(1.0 / (1.0 + std::exp(2.0))));
}

TEST_CASE("a nonzero mask value keeps the logit, zero masks it") {
  Tensor x = Tensor::from({0.5f, -1.0f, 2.0f}, {3});
  Var a = ops::softmax(Var(x), Tensor::from({2.0f, -1.0f, 0.0f}, {3}));
  Var b = ops::softmax(Var(x), Tensor::from({1.0f, 1.0f, 0.0f}, {3}));
  for (int64_t i = 0; i < 3; ++i) CHECK(a.value()[i] == b.value()[i]);
}

TEST_CASE("softmax and log_softmax backward match finite differences") {
  Rng rng(43);
  for (const Shape& s : {Shape{3, 5}, Shape{2, 3, 4}, Shape{7}, Shape{500, 32}})
    for (bool log : {false, true}) {
      CAPTURE(to_string(s));
      CAPTURE(log);
      auto f = [log](const std::vector<Var>& v) {
        return log ? ops::log_softmax(v[0]) : ops::softmax(v[0]);
      };
      CHECK(gradcheck(f, {random_tensor(s, rng, -3.0f, 3.0f)}) <= 1.0);
    }
}

TEST_CASE(
    "masked softmax backward matches finite differences with a fully masked row and broadcast "
    "masks") {
  Rng rng(44);
  for (const MaskCase& c : mask_cases()) {
    CAPTURE(to_string(c.x));
    CAPTURE(to_string(c.mask));
    Tensor m = random_mask(c.mask, rng, 0);
    auto f = [&m](const std::vector<Var>& v) { return ops::softmax(v[0], m); };
    CHECK(gradcheck(f, {random_tensor(c.x, rng, -3.0f, 3.0f)}) <= 1.0);
  }
}

TEST_CASE("masked logits receive exactly zero gradient, also in a fully masked row") {
  Rng rng(45);
  for (bool accumulate : {false, true}) {
    CAPTURE(accumulate);
    Var x = parameter(random_tensor({3, 4}, rng));
    Tensor m = Tensor::from({0, 0, 0, 0, 1, 0, 1, 1, 1, 1, 1, 0}, {3, 4});
    if (accumulate) x.grad_buffer().zero();  // an existing gradient: the masked product is added
    Var y = ops::softmax(x, m);
    y.backward(random_tensor({3, 4}, rng));
    for (int64_t i = 0; i < 12; ++i)
      if (m[i] == 0.0f) CHECK(x.grad()[i] == 0.0f);
    CHECK(x.grad()[4] != 0.0f);
  }
}

TEST_CASE("softmax rejects a mask that does not broadcast to the input") {
  Var x(Tensor::zeros({2, 4}));
  CHECK_THROWS_WITH_AS(ops::softmax(x, Tensor::zeros({3})), doctest::Contains("[3]"), ShapeError);
  CHECK_THROWS_AS(ops::softmax(x, Tensor::zeros({2, 1, 4})), ShapeError);
}
