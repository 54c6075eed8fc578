#include <doctest/doctest.h>

#include "gradcheck.hpp"

using namespace tca;
using tca::testing::compare;
using tca::testing::gradcheck;
using tca::testing::random_tensor;

namespace {

double naive_ce(const Tensor& logits, int64_t r, int32_t label) {
  const int64_t C = logits.dim(1);
  double m = -INFINITY, s = 0;
  for (int64_t c = 0; c < C; ++c) m = std::max(m, static_cast<double>(logits[r * C + c]));
  for (int64_t c = 0; c < C; ++c) s += std::exp(logits[r * C + c] - m);
  return m + std::log(s) - logits[r * C + label];
}

}  // namespace

TEST_CASE("cross-entropy equals a naive logsumexp minus the label's logit, per row and averaged") {
  Rng rng(81);
  Tensor logits = random_tensor({5, 4}, rng, -3.0f, 3.0f);
  Tensor labels = Tensor::from_i32({0, 3, 1, 1, 2}, {5});
  Var per_row = ops::cross_entropy_per_row(Var(logits), labels);
  std::vector<double> want;
  double mean = 0;
  for (int64_t r = 0; r < 5; ++r) {
    want.push_back(naive_ce(logits, r, labels.data_i32()[r]));
    mean += want.back() / 5;
  }
  CHECK(compare(per_row.value(), want, 1e-5, 1e-5) <= 1.0);
  CHECK(ops::cross_entropy(Var(logits), labels).item() == doctest::Approx(mean).epsilon(1e-5));
}

TEST_CASE("cross-entropy backward matches finite differences") {
  Rng rng(82);
  Tensor labels = Tensor::from_i32({2, 0, 1, 2}, {4});
  auto per_row = [&](const std::vector<Var>& v) {
    return ops::cross_entropy_per_row(v[0], labels);
  };
  auto mean = [&](const std::vector<Var>& v) { return ops::cross_entropy(v[0], labels); };
  CHECK(gradcheck(per_row, {random_tensor({4, 3}, rng, -2.0f, 2.0f)}) <= 1.0);
  CHECK(gradcheck(mean, {random_tensor({4, 3}, rng, -2.0f, 2.0f)}) <= 1.0);
}

TEST_CASE("cross-entropy rejects labels out of range or of the wrong type") {
  Var logits(Tensor::zeros({2, 3}));
  CHECK_THROWS_WITH_AS(ops::cross_entropy(logits, Tensor::from_i32({0, 3}, {2})),
                       doctest::Contains("out of range"), ShapeError);
  CHECK_THROWS_AS(ops::cross_entropy(logits, Tensor::zeros({2})), ShapeError);
  CHECK_THROWS_AS(ops::cross_entropy(logits, Tensor::from_i32({0}, {1})), ShapeError);
}

TEST_CASE(
    "gaussian log-likelihood equals the naive density summed over dims and matches finite "
    "differences") {
  Rng rng(83);
  const int64_t R = 4, dy = 3;
  Tensor mean = random_tensor({R, dy}, rng), std = random_tensor({R, dy}, rng, 0.5f, 2.0f);
  Tensor y = random_tensor({R, dy}, rng, -2.0f, 2.0f);
  Var ll = ops::gaussian_log_likelihood_per_row(Var(mean), Var(std), y);
  REQUIRE(ll.shape() == Shape{R});
  std::vector<double> want;
  double nll = 0;
  for (int64_t r = 0; r < R; ++r) {
    double s = 0;
    for (int64_t d = 0; d < dy; ++d) {
      const double m = mean[r * dy + d], sd = std[r * dy + d], v = y[r * dy + d];
      s += -(v - m) * (v - m) / (2 * sd * sd) - std::log(sd) - 0.5 * std::log(2 * M_PI);
    }
    want.push_back(s);
    nll -= s / R;
  }
  CHECK(compare(ll.value(), want, 1e-5, 1e-5) <= 1.0);
  CHECK(ops::gaussian_nll(Var(mean), Var(std), y).item() == doctest::Approx(nll).epsilon(1e-5));
  auto f = [&y](const std::vector<Var>& v) {
    return ops::gaussian_log_likelihood_per_row(v[0], v[1], y);
  };
  CHECK(gradcheck(f, {mean, std}) <= 1.0);
  auto g = [&y](const std::vector<Var>& v) { return ops::gaussian_nll(v[0], v[1], y); };
  CHECK(gradcheck(g, {mean, std}) <= 1.0);
}

TEST_CASE("mse equals the naive mean of squared errors and matches finite differences") {
  Rng rng(84);
  for (const Shape& s : {Shape{3, 4}, Shape{100, 64}}) {
    Tensor pred = random_tensor(s, rng), y = random_tensor(s, rng);
    double want = 0;
    for (int64_t i = 0; i < y.numel(); ++i)
      want += (pred[i] - y[i]) * (pred[i] - y[i]) / static_cast<double>(y.numel());
    CHECK(ops::mse(Var(pred), y).item() == doctest::Approx(want).epsilon(1e-5));
    CHECK(gradcheck([&y](const std::vector<Var>& v) { return ops::mse(v[0], y); }, {pred}) <= 1.0);
  }
  CHECK_THROWS_AS(ops::mse(Var(Tensor::zeros({2})), Tensor::zeros({3})), ShapeError);
}
