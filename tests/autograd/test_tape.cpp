// The tape itself: accumulation over repeated uses, no-grad mode, detach, primitive reuse,
// gradient-buffer hand-over, and an end-to-end fit.
#include <doctest/doctest.h>

#include "core/dnnl_context.hpp"
#include "gradcheck.hpp"

using namespace tca;
using tca::testing::gradcheck;
using tca::testing::random_tensor;

TEST_CASE("a gradient accumulates when a Var is used twice") {
  Rng rng(101);
  Tensor x0 = random_tensor({3, 4}, rng);
  Var x = parameter(x0);
  ops::sum_all(ops::mul(x, x)).backward();  // d/dx sum x^2 = 2x
  for (int64_t i = 0; i < 12; ++i) CHECK(x.grad()[i] == doctest::Approx(2 * x0[i]));
  Var y = parameter(x0);
  ops::sum_all(ops::add(y, y)).backward();
  for (int64_t i = 0; i < 12; ++i) CHECK(y.grad()[i] == 2.0f);
  CHECK(gradcheck([](const std::vector<Var>& v) { return ops::mul(v[0], v[0]); }, {x0}) <= 1.0);
  CHECK(gradcheck([](const std::vector<Var>& v) { return ops::add(ops::exp(v[0]), v[0]); }, {x0}) <=
        1.0);
}

TEST_CASE("linear weight and bias used twice receive the sum of both gradients") {
  Rng rng(102);
  // Above and below the loop threshold; the second use accumulates through a matmul with the
  // sum post-op (weight, input) and a row-sum (bias).
  for (int64_t R : {3, 300}) {
    CAPTURE(R);
    auto f = [](const std::vector<Var>& v) {
      return ops::add(ops::linear(v[0], v[2], v[3]), ops::gelu(ops::linear(v[1], v[2], v[3])));
    };
    CHECK(gradcheck(f, {random_tensor({R, 4}, rng), random_tensor({R, 4}, rng),
                        random_tensor({5, 4}, rng), random_tensor({5}, rng)}) <= 1.0);
    // The same input through two linears: its gradient accumulates too.
    auto g = [](const std::vector<Var>& v) {
      return ops::mul(ops::linear(v[0], v[1]), ops::linear(v[0], v[2], v[3]));
    };
    CHECK(gradcheck(g, {random_tensor({R, 4}, rng), random_tensor({5, 4}, rng),
                        random_tensor({5, 4}, rng), random_tensor({5}, rng)}) <= 1.0);
  }
}

TEST_CASE("backward twice adds into the leaves' gradients") {
  Rng rng(103);
  Tensor x0 = random_tensor({4}, rng);
  Var x = parameter(x0);
  for (int k = 0; k < 2; ++k) ops::sum_all(ops::mul_scalar(x, 3.0f)).backward();
  for (int64_t i = 0; i < 4; ++i) CHECK(x.grad()[i] == doctest::Approx(6.0f));
  x.zero_grad();
  CHECK_FALSE(x.grad().defined());
}

TEST_CASE("the no-grad mode records no tape and its results have no inputs") {
  Rng rng(104);
  Var x = parameter(random_tensor({4, 8}, rng));
  Var w = parameter(random_tensor({8, 8}, rng)), gamma = parameter(Tensor::full({8}, 1.0f)),
      beta = parameter(Tensor::zeros({8}));
  Tensor mask = Tensor::from({1, 1, 0, 1, 1, 1, 1, 0}, {8});
  const int64_t before = recorded_nodes();
  NoGradGuard guard;
  CHECK_FALSE(grad_enabled());
  Rng drop(1);
  std::vector<Var> results = {
      ops::linear(x, w),
      ops::matmul(x, w),
      ops::add(x, gamma),
      ops::sub(x, gamma),
      ops::mul(x, gamma),
      ops::div(x, gamma),
      ops::layer_norm(x, gamma, beta),
      ops::softmax(x, mask),
      ops::log_softmax(x),
      ops::gelu(x),
      ops::relu(x),
      ops::elu(x),
      ops::exp(x),
      ops::softplus(x),
      ops::square(x),
      ops::add_scalar(x, 1.0f),
      ops::reshape(x, {8, 4}),
      ops::permute(x, {1, 0}),
      ops::concat({x, x}, 1),
      ops::slice(x, 1, 2, 5),
      ops::sum(x, 0),
      ops::mean_all(x),
      ops::masked_mean(ops::reshape(x, {4, 2, 4}), Tensor::full({4, 2}, 1.0f)),
      ops::gather_rows(x, Tensor::from_i32({0, 0, 3}, {3})),
      ops::dropout(ops::relu(x), 0.5f, drop, true),
      ops::cross_entropy(x, Tensor::from_i32({0, 1, 2, 3}, {4})),
      ops::mse(x, Tensor::zeros({4, 8}))};
  CHECK(recorded_nodes() == before);
  for (const Var& r : results) {
    CHECK_FALSE(r.requires_grad());
    CHECK(r.node()->inputs.empty());
    CHECK_FALSE(static_cast<bool>(r.node()->backward));
  }
}

TEST_CASE("with gradients enabled the same ops record one node each") {
  Rng rng(105);
  Var x = parameter(random_tensor({4, 8}, rng));
  const int64_t before = recorded_nodes();
  Var y = ops::gelu(ops::add_scalar(x, 1.0f));
  CHECK(recorded_nodes() == before + 2);
  CHECK(y.node()->inputs.size() == 1);
  Var c = ops::add(Var(Tensor::zeros({8})), Var(Tensor::zeros({8})));  // no input needs a gradient
  CHECK(recorded_nodes() == before + 2);
  CHECK_FALSE(c.requires_grad());
}

TEST_CASE("detach stops gradients") {
  Rng rng(106);
  Tensor x0 = random_tensor({5}, rng);
  Var x = parameter(x0);
  ops::sum_all(ops::mul(x, x.detach())).backward();  // only the first factor is differentiated
  for (int64_t i = 0; i < 5; ++i) CHECK(x.grad()[i] == doctest::Approx(x0[i]));
  CHECK_FALSE(x.detach().requires_grad());
  CHECK(x.detach().value().same_buffer(x.value()));
}

TEST_CASE("a repeated forward/backward creates no new primitives") {
  Rng rng(107);
  // Large enough for every op to take its oneDNN path.
  const int64_t B = 8, T = 64, D = 32, H = 4;
  Var x = parameter(random_tensor({B, T, D}, rng)), w = parameter(random_tensor({D, D}, rng)),
      b = parameter(random_tensor({D}, rng)), gamma = parameter(Tensor::full({D}, 1.0f)),
      beta = parameter(Tensor::zeros({D}));
  Tensor mask = Tensor::full({B, 1, 1, T}, 1.0f);
  mask[3] = 0.0f;
  auto step = [&] {
    for (Var* p : {&x, &w, &b, &gamma, &beta}) p->zero_grad();  // as a training step does
    Var h = ops::layer_norm(ops::add(x, b), gamma, beta);
    Var q = ops::permute(ops::reshape(ops::linear(h, w, b), {B, T, H, D / H}), {0, 2, 1, 3});
    Var att = ops::softmax(ops::mul_scalar(ops::matmul(q, q, false, true), 0.5f), mask);
    Var o = ops::reshape(ops::permute(ops::matmul(att, q), {0, 2, 1, 3}), {B, T, D});
    Var out = ops::concat({ops::gelu(o), ops::slice(h, 2, 0, 8)}, 2);
    ops::mean_all(ops::square(out)).backward();
  };
  step();
  const int64_t after_first = primitives_created();
  step();
  CHECK(primitives_created() == after_first);
}

TEST_CASE(
    "a handed-over gradient buffer never aliases another input's, a retained or the root's "
    "gradient") {
  Rng rng(108);
  Var a = parameter(random_tensor({3, 4}, rng)), b = parameter(random_tensor({3, 4}, rng));
  Var y = ops::add(a, b);
  Var loss = ops::sum_all(ops::mul_scalar(y, 2.0f));
  loss.backward();
  REQUIRE(a.grad().defined());
  CHECK_FALSE(a.grad().same_buffer(b.grad()));  // at most one input takes the upstream buffer
  a.grad_buffer().fill(0.0f);
  for (int64_t i = 0; i < 12; ++i) CHECK(b.grad()[i] == 2.0f);

  Var x = parameter(random_tensor({2, 6}, rng));
  Var r = ops::reshape(x, {3, 4});
  r.retain_grad();
  Var root = ops::add(r, r);
  Tensor seed = random_tensor({3, 4}, rng);
  root.backward(seed);
  CHECK_FALSE(x.grad().same_buffer(r.grad()));
  for (int64_t i = 0; i < 12; ++i) {
    CHECK(root.grad()[i] == seed[i]);  // the root keeps the seed
    CHECK(r.grad()[i] == doctest::Approx(2 * seed[i]));
    CHECK(x.grad()[i] == doctest::Approx(2 * seed[i]));
  }
}

TEST_CASE("a small MLP learns a 1-D regression with plain SGD") {
  Rng rng(109);
  const int64_t N = 64, Hd = 32;
  Tensor xs = Tensor::empty({N, 1}), ys = Tensor::empty({N, 1});
  for (int64_t i = 0; i < N; ++i) {
    xs[i] = -1.0f + 2.0f * static_cast<float>(i) / static_cast<float>(N - 1);
    ys[i] = std::sin(3.0f * xs[i]);
  }
  std::vector<Var> params = {parameter(random_tensor({Hd, 1}, rng)),
                             parameter(random_tensor({Hd}, rng)),
                             parameter(random_tensor({Hd, Hd}, rng, -0.2f, 0.2f)),
                             parameter(Tensor::zeros({Hd})),
                             parameter(random_tensor({1, Hd}, rng, -0.2f, 0.2f)),
                             parameter(Tensor::zeros({1}))};
  auto loss_of = [&] {
    Var h = ops::gelu(ops::linear(Var(xs), params[0], params[1]));
    h = ops::gelu(ops::linear(h, params[2], params[3]));
    return ops::mse(ops::linear(h, params[4], params[5]), ys);
  };
  const float initial = loss_of().item();
  float last = initial;
  for (int step = 0; step < 400; ++step) {
    for (Var& p : params) p.zero_grad();
    Var loss = loss_of();
    loss.backward();
    last = loss.item();
    for (Var& p : params) {
      float* v = p.mutable_value().data();
      for (int64_t i = 0; i < p.numel(); ++i) v[i] -= 0.1f * p.grad()[i];
    }
  }
  MESSAGE("mse " << initial << " -> " << last);
  CHECK(last < 0.05f * initial);
  CHECK(last < 0.01f);
}
