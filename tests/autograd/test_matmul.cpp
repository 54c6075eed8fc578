#include <doctest/doctest.h>

#include <cmath>

#include "autograd/elementwise_kernels.hpp"
#include "autograd/flop_counter.hpp"
#include "gradcheck.hpp"

using namespace tca;
using tca::testing::gradcheck;
using tca::testing::random_tensor;

TEST_CASE(
    "matmul forward equals a naive double-precision product for every transpose flag and alpha") {
  Rng rng(1);
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb)
      for (const float alpha : {1.0f, 0.37f}) {
        const int64_t B = 3, M = 4, K = 5, N = 6;
        Tensor a = random_tensor(ta ? Shape{B, K, M} : Shape{B, M, K}, rng);
        Tensor b = random_tensor(tb ? Shape{B, N, K} : Shape{B, K, N}, rng);
        Var c = ops::matmul(Var(a), Var(b), ta, tb, alpha);
        REQUIRE(c.shape() == Shape{B, M, N});
        for (int64_t z = 0; z < B; ++z)
          for (int64_t i = 0; i < M; ++i)
            for (int64_t j = 0; j < N; ++j) {
              double s = 0;
              for (int64_t k = 0; k < K; ++k) {
                double av = ta ? a[(z * K + k) * M + i] : a[(z * M + i) * K + k];
                double bv = tb ? b[(z * N + j) * K + k] : b[(z * K + k) * N + j];
                s += av * bv;
              }
              s *= alpha;
              CHECK(c.value()[(z * M + i) * N + j] == doctest::Approx(s).epsilon(1e-5));
            }
      }
}

TEST_CASE(
    "matmul backward matches finite differences for every transpose flag, broadcast and alpha") {
  Rng rng(2);
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb)
      for (int bcast = 0; bcast < 3; ++bcast)  // 0 none, 1 b broadcast, 2 a broadcast
        for (const float alpha : {1.0f, -0.6f}) {
          const int64_t B = 2, M = 3, K = 4, N = 5;
          Shape sa = ta ? Shape{K, M} : Shape{M, K};
          Shape sb = tb ? Shape{N, K} : Shape{K, N};
          if (bcast != 2) sa.insert(sa.begin(), B);
          if (bcast != 1) sb.insert(sb.begin(), B);
          auto f = [&](const std::vector<Var>& v) {
            return ops::matmul(v[0], v[1], ta, tb, alpha);
          };
          CAPTURE(ta);
          CAPTURE(tb);
          CAPTURE(bcast);
          CAPTURE(alpha);
          CHECK(gradcheck(f, {random_tensor(sa, rng), random_tensor(sb, rng)}) <= 1.0);
        }
}

TEST_CASE("matmul with alpha adds alpha times its gradient into one that already holds a value") {
  Rng rng(4);
  // Both products use a and b, so the second backward accumulates (the sum post-op with a scale).
  auto f = [](const std::vector<Var>& v) {
    return ops::add(ops::matmul(v[0], v[1], false, true, 0.5f),
                    ops::matmul(v[0], v[1], false, true, -2.0f));
  };
  CHECK(gradcheck(f, {random_tensor({2, 3, 4}, rng), random_tensor({2, 5, 4}, rng)}) <= 1.0);
}

TEST_CASE("linear backward matches finite differences with and without bias") {
  Rng rng(3);
  for (int bias = 0; bias < 2; ++bias) {
    auto f = [&](const std::vector<Var>& v) {
      return ops::linear(v[0], v[1], bias ? v[2] : Var());
    };
    CHECK(gradcheck(f, {random_tensor({2, 3, 4}, rng), random_tensor({5, 4}, rng),
                        random_tensor({5}, rng)}) <= 1.0);
  }
}

TEST_CASE("linear forward equals a naive double computation with and without bias") {
  Rng rng(4);
  for (const Shape& xs : {Shape{3, 4}, Shape{2, 3, 4}, Shape{300, 4}, Shape{4}})
    for (int bias = 0; bias < 2; ++bias) {
      CAPTURE(to_string(xs));
      CAPTURE(bias);
      const int64_t in = 4, out = 5, R = numel(xs) / in;
      Tensor x = random_tensor(xs, rng), w = random_tensor({out, in}, rng),
             b = random_tensor({out}, rng);
      Var y = ops::linear(Var(x), Var(w), bias ? Var(b) : Var());
      Shape want_shape = xs;
      want_shape.back() = out;
      REQUIRE(y.shape() == want_shape);
      std::vector<double> want;
      for (int64_t r = 0; r < R; ++r)
        for (int64_t o = 0; o < out; ++o) {
          double s = bias ? b[o] : 0.0;
          for (int64_t i = 0; i < in; ++i) s += static_cast<double>(x[r * in + i]) * w[o * in + i];
          want.push_back(s);
        }
      CHECK(tca::testing::compare(y.value(), want, 1e-5, 1e-5) <= 1.0);
    }
}

TEST_CASE("linear with an empty input dimension gives the bias and its gradient") {
  Var x = parameter(Tensor::zeros({3, 0})), w = parameter(Tensor::zeros({2, 0})),
      b = parameter(Tensor::from({1.5f, -2.0f}, {2}));
  Var y = ops::linear(x, w, b);
  REQUIRE(y.shape() == Shape{3, 2});
  for (int64_t r = 0; r < 3; ++r) CHECK(y.value()[r * 2] == 1.5f);
  ops::sum_all(y).backward();
  CHECK(b.grad()[0] == 3.0f);  // one per row
  CHECK(b.grad()[1] == 3.0f);
}

TEST_CASE("the FLOP counter counts 2 per multiply-add of linear and matmul, forward and backward") {
  Rng rng(5);
  const int64_t R = 6, in = 5, out = 4;
  Var x(random_tensor({R, in}, rng), true), w(random_tensor({out, in}, rng), true),
      b(random_tensor({out}, rng), true);
  int64_t before = ops::matmul_flops_executed();
  Var y = ops::linear(x, w, b);
  CHECK(ops::matmul_flops_executed() - before == 2 * R * in * out);
  before = ops::matmul_flops_executed();
  ops::sum_all(y).backward();  // dX and dW (+ db): two more products of the same size
  CHECK(ops::matmul_flops_executed() - before == 2 * 2 * R * in * out);

  const int64_t B = 3, M = 2, K = 7, N = 5;
  Var a(random_tensor({B, M, K}, rng), true), c(random_tensor({B, K, N}, rng), true);
  before = ops::matmul_flops_executed();
  Var p = ops::matmul(a, c);
  CHECK(ops::matmul_flops_executed() - before == 2 * B * M * K * N);
  before = ops::matmul_flops_executed();
  ops::sum_all(p).backward();
  CHECK(ops::matmul_flops_executed() - before == 2 * 2 * B * M * K * N);
  {
    NoGradGuard no_grad;  // counted with gradients off too (inference)
    before = ops::matmul_flops_executed();
    ops::matmul(Var(a.value()), Var(c.value()));
    CHECK(ops::matmul_flops_executed() - before == 2 * B * M * K * N);
  }
}

TEST_CASE(
    "linear_act equals the activation of linear, forward and backward, with and without bias") {
  Rng rng(5);
  for (const auto act : {ops::LinearActivation::relu, ops::LinearActivation::elu})
    for (int bias = 0; bias < 2; ++bias)
      for (const Shape& sx : {Shape{2, 3, 4}, Shape{ops::elementwise_loop_max() / 8 + 3, 4}}) {
        CAPTURE(static_cast<int>(act));
        CAPTURE(bias);
        CAPTURE(to_string(sx));
        Tensor x = random_tensor(sx, rng), w = random_tensor({8, 4}, rng),
               b = random_tensor({8}, rng);
        Shape sy = sx;
        sy.back() = 8;
        Tensor g = random_tensor(sy, rng);
        Var x1 = parameter(x), w1 = parameter(w), b1 = parameter(b);
        Var x2 = parameter(x), w2 = parameter(w), b2 = parameter(b);
        Var fused = ops::linear_act(x1, w1, bias ? b1 : Var(), act);
        Var z = ops::linear(x2, w2, bias ? b2 : Var());
        Var unfused = act == ops::LinearActivation::relu ? ops::relu(z) : ops::elu(z);
        fused.backward(g);
        unfused.backward(g);
        auto close = [](const Tensor& a, const Tensor& want) {
          for (int64_t i = 0; i < a.numel(); ++i)
            if (std::abs(a[i] - want[i]) > 1e-5f * (1.0f + std::abs(want[i]))) return false;
          return true;
        };
        CHECK(close(fused.value(), unfused.value()));
        CHECK(close(x1.grad(), x2.grad()));
        CHECK(close(w1.grad(), w2.grad()));
        if (bias) CHECK(close(b1.grad(), b2.grad()));
      }
}

TEST_CASE(
    "linear_act backward matches finite differences (elu), also when the input is used twice") {
  Rng rng(6);
  auto f = [](const std::vector<Var>& v) {
    return ops::linear_act(v[0], v[1], v[2], ops::LinearActivation::elu);
  };
  CHECK(gradcheck(f, {random_tensor({2, 3, 4}, rng), random_tensor({5, 4}, rng),
                      random_tensor({5}, rng)}) <= 1.0);
  auto twice = [](const std::vector<Var>& v) {
    return ops::add(ops::linear_act(v[0], v[1], v[2], ops::LinearActivation::elu),
                    ops::linear_act(v[0], v[1], v[2], ops::LinearActivation::elu));
  };
  CHECK(gradcheck(twice, {random_tensor({3, 4}, rng), random_tensor({5, 4}, rng),
                          random_tensor({5}, rng)}) <= 1.0);
}

TEST_CASE("linear_act with no rows or no inputs falls back to the unfused form") {
  Var y = ops::linear_act(Var(Tensor::zeros({2, 0})), Var(Tensor::zeros({3, 0})),
                          Var(Tensor::from({-1.0f, 0.5f, 2.0f}, {3})), ops::LinearActivation::relu);
  REQUIRE(y.shape() == Shape{2, 3});
  CHECK(y.value()[0] == 0.0f);
  CHECK(y.value()[1] == 0.5f);
  CHECK(y.value()[5] == 2.0f);
}
