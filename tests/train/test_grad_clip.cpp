// Global-norm gradient clipping (torch.nn.utils.clip_grad_norm_ semantics).
#include <doctest/doctest.h>

#include <cmath>
#include <limits>

#include "core/error.hpp"
#include "io/test_files.hpp"
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
