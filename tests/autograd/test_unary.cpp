#include <doctest/doctest.h>

#include "autograd/elementwise_kernels.hpp"
#include "gradcheck.hpp"

using namespace tca;
using tca::testing::compare;
using tca::testing::gradcheck;
using tca::testing::random_away_from_zero;
using tca::testing::random_tensor;

namespace {

struct Activation {
  const char* name;
  std::function<Var(const Var&)> f;
  std::function<double(double)> ref;
  float lo, hi;         // input range
  bool away_from_zero;  // a kink at 0 (relu, elu with alpha != 1): keep inputs off it
  double atol;          // forward tolerance: oneDNN's kernels approximate exp/erf/log
};

std::vector<Activation> activations() {
  return {
      {"relu", [](const Var& x) { return ops::relu(x); }, [](double x) { return x > 0 ? x : 0.0; },
       0.05f, 3.0f, true, 1e-7},
      {"elu(alpha=1)", [](const Var& x) { return ops::elu(x); },
       [](double x) { return x > 0 ? x : std::expm1(x); }, -3.0f, 3.0f, false, 1e-6},
      {"elu(alpha=0.5)", [](const Var& x) { return ops::elu(x, 0.5f); },
       [](double x) { return x > 0 ? x : 0.5 * std::expm1(x); }, 0.05f, 3.0f, true, 1e-6},
      {"gelu", [](const Var& x) { return ops::gelu(x); },
       [](double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }, -4.0f, 4.0f, false,
       1e-6},
      {"exp", [](const Var& x) { return ops::exp(x); }, [](double x) { return std::exp(x); }, -3.0f,
       3.0f, false, 1e-5},
      {"log", [](const Var& x) { return ops::log(x); }, [](double x) { return std::log(x); }, 0.2f,
       4.0f, false, 1e-5},
      {"softplus", [](const Var& x) { return ops::softplus(x); },
       [](double x) { return std::log1p(std::exp(x)); }, -6.0f, 6.0f, false, 1e-5},
  };
}

Tensor inputs_for(const Activation& a, const Shape& s, Rng& rng) {
  return a.away_from_zero ? random_away_from_zero(s, rng, a.lo, a.hi)
                          : random_tensor(s, rng, a.lo, a.hi);
}

// A small shape, and one above the loop threshold (relu runs as a loop on small tensors).
std::vector<Shape> shapes() {
  return {{7}, {3, 5}, {2, 3, 4}, {ops::elementwise_loop_max() / 32 + 5, 32}};
}

}  // namespace

TEST_CASE("activations forward equal a naive double computation") {
  Rng rng(21);
  for (auto& a : activations())
    for (const Shape& s : shapes()) {
      CAPTURE(a.name);
      CAPTURE(to_string(s));
      Tensor x = inputs_for(a, s, rng);
      Var y = a.f(Var(x));
      REQUIRE(y.shape() == s);
      std::vector<double> want;
      for (int64_t i = 0; i < x.numel(); ++i) want.push_back(a.ref(x[i]));
      CHECK(compare(y.value(), want, a.atol, 1e-5) <= 1.0);
    }
}

TEST_CASE("activations backward match finite differences") {
  Rng rng(22);
  for (auto& a : activations())
    for (const Shape& s : shapes()) {
      CAPTURE(a.name);
      CAPTURE(to_string(s));
      auto f = [&](const std::vector<Var>& v) { return a.f(v[0]); };
      CHECK(gradcheck(f, {inputs_for(a, s, rng)}) <= 1.0);
    }
}

TEST_CASE("softplus stays accurate for large inputs and tends to zero for very negative ones") {
  Var y = ops::softplus(Var(Tensor::from({-40.0f, -20.0f, 0.0f, 20.0f, 50.0f, 90.0f}, {6})));
  CHECK(std::abs(y.value()[0]) < 3e-6);  // true value 4e-18; oneDNN's kernel is within 2e-6
  CHECK(std::abs(y.value()[1]) < 3e-6);
  CHECK(y.value()[2] == doctest::Approx(std::log(2.0)).epsilon(1e-6));
  CHECK(y.value()[3] == doctest::Approx(20.0).epsilon(1e-6));
  CHECK(y.value()[4] == doctest::Approx(50.0).epsilon(1e-6));
  CHECK(y.value()[5] == doctest::Approx(90.0).epsilon(1e-6));  // no overflow of e^x
}
