#include <doctest/doctest.h>

#include "gradcheck.hpp"

using namespace tca;
using tca::testing::compare;
using tca::testing::gradcheck;
using tca::testing::random_tensor;

namespace {

// (x - mean) / sqrt(biased var + eps) * gamma + beta over the last axis, in double.
std::vector<double> naive_layer_norm(const Tensor& x, const Tensor& g, const Tensor& b,
                                     double eps) {
  const int64_t C = x.shape().back(), R = x.numel() / C;
  std::vector<double> y(static_cast<size_t>(x.numel()));
  for (int64_t r = 0; r < R; ++r) {
    double mean = 0, var = 0;
    for (int64_t c = 0; c < C; ++c) mean += x[r * C + c];
    mean /= static_cast<double>(C);
    for (int64_t c = 0; c < C; ++c) var += (x[r * C + c] - mean) * (x[r * C + c] - mean);
    var /= static_cast<double>(C);
    for (int64_t c = 0; c < C; ++c)
      y[static_cast<size_t>(r * C + c)] =
          (x[r * C + c] - mean) / std::sqrt(var + eps) * g[c] + b[c];
  }
  return y;
}

}  // namespace

TEST_CASE("layer_norm forward equals a naive double computation with eps inside the sqrt") {
  Rng rng(31);
  for (const Shape& s : {Shape{3, 8}, Shape{2, 3, 5}, Shape{1, 1}, Shape{300, 64}})
    for (float eps : {1e-5f, 0.5f}) {  // eps = 0.5 tells "inside the sqrt" from "added to the std"
      CAPTURE(to_string(s));
      CAPTURE(eps);
      const int64_t C = s.back();
      Tensor x = random_tensor(s, rng, -2.0f, 2.0f), g = random_tensor({C}, rng),
             b = random_tensor({C}, rng);
      Var y = ops::layer_norm(Var(x), Var(g), Var(b), eps);
      CHECK(compare(y.value(), naive_layer_norm(x, g, b, eps), 2e-5, 2e-5) <= 1.0);
    }
}

TEST_CASE("layer_norm of a constant row is the shift, without NaN") {
  Tensor x = Tensor::full({2, 4}, 3.0f);
  Tensor g = Tensor::from({1, 2, 3, 4}, {4}), b = Tensor::from({0.5f, -1, 2, 0}, {4});
  Var y = ops::layer_norm(Var(x), Var(g), Var(b));
  for (int64_t r = 0; r < 2; ++r)
    for (int64_t c = 0; c < 4; ++c) CHECK(y.value()[r * 4 + c] == doctest::Approx(b[c]));
}

TEST_CASE("layer_norm backward matches finite differences for input, scale and shift") {
  Rng rng(32);
  for (const Shape& s : {Shape{3, 8}, Shape{2, 3, 5}, Shape{300, 64}}) {
    CAPTURE(to_string(s));
    const int64_t C = s.back();
    auto f = [](const std::vector<Var>& v) { return ops::layer_norm(v[0], v[1], v[2]); };
    CHECK(gradcheck(f, {random_tensor(s, rng, -2.0f, 2.0f), random_tensor({C}, rng, 0.5f, 1.5f),
                        random_tensor({C}, rng)}) <= 1.0);
  }
}

TEST_CASE("layer_norm gradients accumulate when its input and parameters are used twice") {
  Rng rng(33);
  // y = LN(x) + LN(2x) with shared gamma/beta: every gradient receives two contributions.
  auto f = [](const std::vector<Var>& v) {
    return ops::add(ops::layer_norm(v[0], v[1], v[2]),
                    ops::layer_norm(ops::mul_scalar(v[0], 2.0f), v[1], v[2]));
  };
  CHECK(gradcheck(f, {random_tensor({4, 6}, rng), random_tensor({6}, rng, 0.5f, 1.5f),
                      random_tensor({6}, rng)}) <= 1.0);
}
