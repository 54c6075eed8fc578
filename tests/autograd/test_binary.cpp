#include <doctest/doctest.h>

#include "autograd/elementwise_kernels.hpp"
#include "core/dnnl_context.hpp"
#include "gradcheck.hpp"

using namespace tca;
using tca::testing::broadcast_source;
using tca::testing::compare;
using tca::testing::gradcheck;
using tca::testing::random_away_from_zero;
using tca::testing::random_tensor;

namespace {

// Rows such that [rows, 64] is above the loop threshold of the current thread count: those
// shapes run on oneDNN's binary primitive, the small ones as loops. Both are checked.
int64_t large_rows() { return ops::elementwise_loop_max() / 64 + 3; }

struct Case {
  Shape a, b;
};

std::vector<Case> broadcast_cases() {
  const int64_t R = large_rows();
  return {
      {{3, 4}, {3, 4}},              // same shape
      {{3, 4}, {4}},                 // b broadcast along rows
      {{4}, {3, 4}},                 // a broadcast
      {{3, 1}, {1, 4}},              // both sides broadcast
      {{2, 3, 4}, {1}},              // scalar-like b
      {{}, {2, 5}},                  // rank-0 a
      {{2, 1, 4}, {2, 3, 4}},        // middle axis
      {{R, 64}, {R, 64}},            // large, same shape (primitive)
      {{R, 64}, {64}},               // large, b broadcast (primitive)
      {{64}, {R, 64}},               // large, a broadcast (operands swapped for add/mul/sub)
      {{R, 1}, {1, 64}},             // large, both broadcast (loop)
      {{2, R / 2, 64}, {2, 1, 64}},  // large, middle-axis broadcast
  };
}

double naive(char op, double x, double y) {
  switch (op) {
    case '+':
      return x + y;
    case '-':
      return x - y;
    case '*':
      return x * y;
    default:
      return x / y;
  }
}

Var apply(char op, const Var& a, const Var& b) {
  switch (op) {
    case '+':
      return ops::add(a, b);
    case '-':
      return ops::sub(a, b);
    case '*':
      return ops::mul(a, b);
    default:
      return ops::div(a, b);
  }
}

}  // namespace

TEST_CASE("add, sub, mul and div forward equal a naive double computation under broadcasting") {
  Rng rng(11);
  for (char op : {'+', '-', '*', '/'})
    for (const Case& c : broadcast_cases()) {
      CAPTURE(op);
      CAPTURE(to_string(c.a));
      CAPTURE(to_string(c.b));
      Tensor a = random_tensor(c.a, rng), b = random_away_from_zero(c.b, rng, 0.5f, 2.0f);
      Var y = apply(op, Var(a), Var(b));
      const Shape out = y.shape();
      std::vector<double> want(static_cast<size_t>(y.numel()));
      for (int64_t o = 0; o < y.numel(); ++o)
        want[static_cast<size_t>(o)] =
            naive(op, a[broadcast_source(out, c.a, o)], b[broadcast_source(out, c.b, o)]);
      CHECK(compare(y.value(), want, 1e-6, 1e-6) <= 1.0);
    }
}

TEST_CASE("add, sub, mul and div backward match finite differences under broadcasting") {
  Rng rng(12);
  for (char op : {'+', '-', '*', '/'})
    for (const Case& c : broadcast_cases()) {
      CAPTURE(op);
      CAPTURE(to_string(c.a));
      CAPTURE(to_string(c.b));
      auto f = [op](const std::vector<Var>& v) { return apply(op, v[0], v[1]); };
      CHECK(gradcheck(f, {random_tensor(c.a, rng), random_away_from_zero(c.b, rng, 0.5f, 2.0f)}) <=
            1.0);
    }
}

TEST_CASE("scalar ops and square equal a naive double computation and match finite differences") {
  Rng rng(13);
  for (const Shape& s : {Shape{5, 3}, Shape{large_rows(), 64}}) {
    CAPTURE(to_string(s));
    Tensor x = random_tensor(s, rng, -2.0f, 2.0f);
    struct Op {
      const char* name;
      std::function<Var(const Var&)> f;
      std::function<double(double)> ref;
    };
    std::vector<Op> ops_list = {
        {"add_scalar", [](const Var& v) { return ops::add_scalar(v, 0.75f); },
         [](double v) { return v + 0.75; }},
        {"mul_scalar", [](const Var& v) { return ops::mul_scalar(v, -1.5f); },
         [](double v) { return v * -1.5; }},
        {"neg", [](const Var& v) { return ops::neg(v); }, [](double v) { return -v; }},
        {"square", [](const Var& v) { return ops::square(v); }, [](double v) { return v * v; }},
    };
    for (auto& op : ops_list) {
      CAPTURE(op.name);
      Var y = op.f(Var(x));
      std::vector<double> want;
      for (int64_t i = 0; i < x.numel(); ++i) want.push_back(op.ref(x[i]));
      CHECK(compare(y.value(), want, 1e-6, 1e-6) <= 1.0);
      CHECK(gradcheck([&](const std::vector<Var>& v) { return op.f(v[0]); }, {x}) <= 1.0);
    }
  }
}

TEST_CASE(
    "elementwise ops above the loop threshold run on a oneDNN primitive, smaller ones as loops") {
  Rng rng(14);
  // Shapes no other test uses, so that the first call is the one that would create primitives.
  const int64_t small = ops::elementwise_loop_max() - 3, large = ops::elementwise_loop_max() + 5;
  Var a = Var(random_tensor({small}, rng)), b = Var(random_tensor({small}, rng));
  int64_t before = primitives_created();
  ops::add(a, b);
  ops::mul_scalar(a, 3.0f);
  CHECK(primitives_created() == before);
  Var c = Var(random_tensor({large}, rng)), d = Var(random_tensor({large}, rng));
  ops::add(c, d);
  CHECK(primitives_created() == before + 1);
  ops::mul_scalar(c, 3.0f);
  CHECK(primitives_created() == before + 2);
}
