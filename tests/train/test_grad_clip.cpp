// Global-norm gradient clipping (torch.nn.utils.clip_grad_norm_ semantics).
#include <doctest/doctest.h>
#include <omp.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/rng.hpp"
#include "io/test_files.hpp"
#include "train/adam.hpp"
#include "train/grad_clip.hpp"

using namespace tca;

namespace {

struct TwoParams {
  Var a = parameter(Tensor::zeros({2}));
  Var b = parameter(Tensor::zeros({1, 2}));
  Var no_grad = parameter(Tensor::zeros({3}));
  nn::NamedParameters named() const { return {{"a", a}, {"b", b}, {"no_grad", no_grad}}; }
  // Gradients (3, 0) and (0, 4) * s: global norm 5 s.
  void set(float s) {
    a.grad_buffer().copy_from(Tensor::from({3 * s, 0}, {2}));
    b.grad_buffer().copy_from(Tensor::from({0, -4 * s}, {1, 2}));
  }
};

}  // namespace

TEST_CASE("grad_norm is the L2 norm over all gradients together") {
  TwoParams p;
  CHECK(grad_norm(p.named()) == 0.0);
  p.set(1.0f);
  CHECK(grad_norm(p.named()) == doctest::Approx(5.0).epsilon(1e-12));
}

TEST_CASE("clip_grad_norm below the threshold returns the norm and leaves gradients unchanged") {
  TwoParams p;
  p.set(0.1f);  // norm 0.5
  const double norm = clip_grad_norm(p.named(), 1.0);
  CHECK(norm == doctest::Approx(0.5).epsilon(1e-7));
  CHECK(p.a.grad()[0] == 0.3f);
  CHECK(p.b.grad()[1] == -0.4f);
  CHECK_FALSE(p.no_grad.grad().defined());
}

TEST_CASE("clip_grad_norm above the threshold scales to max_norm and returns the pre-clip norm") {
  TwoParams p;
  p.set(2.0f);  // (6, 0), (0, -8): norm 10
  const double norm = clip_grad_norm(p.named(), 1.0);
  CHECK(norm == doctest::Approx(10.0).epsilon(1e-12));
  const double coef = 1.0 / (10.0 + 1e-6);
  CHECK(p.a.grad()[0] == doctest::Approx(6.0 * coef).epsilon(1e-7));
  CHECK(p.b.grad()[1] == doctest::Approx(-8.0 * coef).epsilon(1e-7));
  CHECK(grad_norm(p.named()) == doctest::Approx(1.0).epsilon(1e-6));
  CHECK(grad_norm(p.named()) < 1.0);        // the 1e-6 of torch keeps it just below max_norm
  CHECK_FALSE(p.no_grad.grad().defined());  // a parameter without gradient stays without
}

TEST_CASE("clip_grad_norm returns a non-finite norm and leaves the gradients untouched") {
  TwoParams p;
  p.set(1.0f);
  p.a.grad_buffer()[1] = std::numeric_limits<float>::quiet_NaN();
  CHECK(std::isnan(clip_grad_norm(p.named(), 1.0)));
  CHECK(p.a.grad()[0] == 3.0f);
  CHECK(p.b.grad()[1] == -4.0f);
  p.a.grad_buffer()[1] = std::numeric_limits<float>::infinity();
  CHECK(std::isinf(clip_grad_norm(p.named(), 1.0)));
  CHECK(p.b.grad()[1] == -4.0f);
}

TEST_CASE("clip_grad_norm rejects a max norm that is not positive") {
  TwoParams p;
  p.set(1.0f);
  CHECK_ERROR(clip_grad_norm(p.named(), 0.0), UsageError, "max norm");
  CHECK_ERROR(clip_grad_norm(p.named(), -1.0), UsageError, "max norm");
}

TEST_CASE(
    "clip_coefficient: 1 below the threshold or for a non-finite norm, else max / (norm + 1e-6)") {
  CHECK(clip_coefficient(0.5, 1.0) == 1.0f);
  CHECK(clip_coefficient(std::numeric_limits<double>::quiet_NaN(), 1.0) == 1.0f);
  CHECK(clip_coefficient(5.0, 1.0) == static_cast<float>(1.0 / (5.0 + 1e-6)));
  CHECK_ERROR(clip_coefficient(5.0, 0.0), UsageError, "max norm");
}

TEST_CASE(
    "clipping folded into Adam's update equals clipping in place, then Adam, bit for bit (with "
    "and without weight decay)") {
  // What the trainer does now (grad_norm, then Adam::step with clip_coefficient) against what it
  // did (clip_grad_norm, then Adam::step): several parameters, large enough for the parallel
  // loops, gradients far above the threshold so that every step clips. Without weight decay the
  // scale is folded into the update's expression; with it Adam scales the gradient in place first
  // (a missing scale would show here as a different update).
  for (double decay : {0.0, 0.01}) {
    CAPTURE(decay);
    Rng rng(41);
    std::vector<Tensor> init, grads;
    for (int64_t n : {70000, 300, 5, 40000}) {
      init.push_back(Tensor::empty({n}));
      grads.push_back(Tensor::empty({n}));
      for (int64_t i = 0; i < n; ++i) {
        init.back()[i] = rng.normal();
        grads.back()[i] = 3.0f * rng.normal();
      }
    }
    auto make = [&]() {
      nn::NamedParameters ps;
      for (size_t k = 0; k < init.size(); ++k)
        ps.push_back({"p" + std::to_string(k), parameter(init[k].clone())});
      return ps;
    };
    AdamOptions o;
    o.weight_decay = decay;
    nn::NamedParameters before = make(), folded = make();
    Adam adam_before(before, o), adam_folded(folded, o);
    for (int step = 0; step < 3; ++step) {
      for (size_t k = 0; k < init.size(); ++k) {
        before[k].second.grad_buffer().copy_from(grads[k]);
        folded[k].second.grad_buffer().copy_from(grads[k]);
      }
      const double n1 = clip_grad_norm(before, 1.0);
      adam_before.step(1e-3);
      const double n2 = grad_norm(folded);
      CHECK(n1 > 1.0);  // every step clips
      adam_folded.step(1e-3, clip_coefficient(n2, 1.0));
      adam_before.zero_grad();
      adam_folded.zero_grad();
    }
    for (size_t k = 0; k < init.size(); ++k) {
      const Tensor &a = before[k].second.value(), &b = folded[k].second.value();
      int64_t differ = 0;
      for (int64_t i = 0; i < a.numel(); ++i) differ += a[i] != b[i];
      CHECK(differ == 0);
    }
  }
}

TEST_CASE("Adam rejects a gradient scale that is negative or not finite, 0 zeroes the gradient") {
  Var p = parameter(Tensor::zeros({2}));
  Adam adam({{"p", p}});
  p.grad_buffer().copy_from(Tensor::from({1, 2}, {2}));
  CHECK_ERROR(adam.step(1e-3, -1.0f), UsageError, "gradient scale");
  CHECK_ERROR(adam.step(1e-3, std::numeric_limits<float>::quiet_NaN()), UsageError,
              "gradient scale");
  CHECK(p.value()[0] == 0.0f);  // nothing updated
  adam.step(1e-3, 0.0f);        // what clipping in place by a coefficient that underflowed did
  CHECK(p.value()[0] == 0.0f);
  CHECK(p.value()[1] == 0.0f);
}

TEST_CASE("grad_norm over many tensors of mixed sizes: the same at 1 and 2 threads, and the norm") {
  Rng rng(43);
  nn::NamedParameters ps;
  double expected = 0;
  for (int k = 0; k < 60; ++k) {
    const int64_t n = k % 7 == 0 ? 20000 + 977 * k : 1 + 13 * k;
    Var v = parameter(Tensor::zeros({n}));
    Tensor& g = v.grad_buffer();
    for (int64_t i = 0; i < n; ++i) {
      g[i] = rng.normal();
      expected += static_cast<double>(g[i]) * g[i];
    }
    ps.push_back({"p" + std::to_string(k), v});
  }
  const int threads = omp_get_max_threads();
  omp_set_num_threads(1);
  const double one = grad_norm(ps);
  omp_set_num_threads(2);
  const double two = grad_norm(ps);
  omp_set_num_threads(threads);
  CHECK(one == two);
  CHECK(one == doctest::Approx(std::sqrt(expected)).epsilon(1e-12));
}
