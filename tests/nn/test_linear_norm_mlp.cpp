// Linear, LayerNorm, MLP and the positional encoding against naive double computations
// (tca.md 1), to 1e-5 relative.
#include <doctest/doctest.h>

#include "nn/mlp.hpp"
#include "nn/naive_reference.hpp"
#include "nn/positional_encoding.hpp"

using namespace tca;
namespace nv = tca::naive;

TEST_CASE("Linear computes x W^T + b in PyTorch layout with and without bias") {
  Rng rng(11);
  for (bool with_bias : {true, false}) {
    nn::Linear lin(5, 7, with_bias, rng);
    nv::randomize_parameters(lin, rng);
    Tensor x = nv::random_tensor({2, 3, 5}, rng, -2, 2);
    Var y = lin(Var(x));
    CHECK(y.shape() == Shape{2, 3, 7});
    const nv::Mat ref = nv::linear(nv::to_mat(x, 6, 5), nv::weight_of(lin.weight),
                                   with_bias ? nv::to_vec(lin.bias) : nv::Vec{});
    CHECK(nv::relative_error(ref, y.value()) < 1e-5);
    CHECK(lin.bias.defined() == with_bias);
  }
}

TEST_CASE("Linear initialises weights and bias uniformly within 1/sqrt(fan_in)") {
  Rng rng(3);
  nn::Linear lin(16, 200, true, rng);
  const double bound = 0.25;
  double lo = 1, hi = -1;
  for (const Var& p : {lin.weight, lin.bias})
    for (int64_t i = 0; i < p.numel(); ++i) {
      lo = std::min(lo, static_cast<double>(p.value()[i]));
      hi = std::max(hi, static_cast<double>(p.value()[i]));
    }
  CHECK(lo >= -bound);
  CHECK(hi <= bound);
  CHECK(lo < -0.9 * bound);  // the whole interval is used, not a narrower one
  CHECK(hi > 0.9 * bound);
}

TEST_CASE(
    "LayerNorm normalises the last axis with biased variance and eps 1e-5 then applies gain and "
    "shift") {
  Rng rng(5);
  nn::LayerNorm ln(6);
  CHECK(ln.weight.value()[0] == 1.0f);  // PyTorch default init: gain 1, shift 0
  CHECK(ln.bias.value()[0] == 0.0f);
  nv::randomize_parameters(ln, rng);
  Tensor x = nv::random_tensor({4, 6}, rng, -3, 3);
  // One row nearly constant: eps matters there.
  for (int64_t c = 0; c < 6; ++c) x[c] = 0.5f + 1e-3f * static_cast<float>(c);
  Var y = ln(Var(x));
  const nv::Mat ref =
      nv::layer_norm(nv::to_mat(x, 4, 6), nv::to_vec(ln.weight), nv::to_vec(ln.bias));
  CHECK(nv::relative_error(ref, y.value()) < 1e-5);
}

TEST_CASE("Mlp with ELU and with ReLU equals Linear/activation chains of depth Linear layers") {
  Rng rng(7);
  for (auto act : {nn::Activation::elu, nn::Activation::relu})
    for (int depth : {1, 2, 4}) {
      nn::Mlp mlp(3, 8, 5, depth, act, rng);
      REQUIRE(mlp.depth() == static_cast<size_t>(depth));
      nv::randomize_parameters(mlp, rng);
      Tensor x = nv::random_tensor({2, 4, 3}, rng, -2, 2);
      Var y = mlp(Var(x));
      CHECK(y.shape() == Shape{2, 4, 5});
      nv::Mat h = nv::to_mat(x, 8, 3);
      for (int i = 0; i < depth; ++i) {
        if (i > 0) h = nv::map(h, act == nn::Activation::elu ? nv::elu : nv::relu);
        h = nv::linear(h, nv::weight_of(mlp.layer(i).weight), nv::to_vec(mlp.layer(i).bias));
      }
      CHECK(nv::relative_error(h, y.value()) < 1e-5);
      // Shapes of the layers: in -> hidden -> ... -> out.
      CHECK(mlp.layer(0).in_features() == 3);
      CHECK(mlp.layer(static_cast<size_t>(depth - 1)).out_features() == 5);
    }
}

TEST_CASE("positional encoding is sin at even and cos at odd features of t / 10000^(2i/D)") {
  for (int64_t D : {4, 16, 7}) {
    const int64_t T = 70;
    Tensor pe = nn::positional_encoding(T, D);
    REQUIRE(pe.shape() == Shape{T, D});
    double worst = 0;
    for (int64_t t = 0; t < T; ++t)
      for (int64_t f = 0; f < D; ++f) {
        const int64_t i2 = f - f % 2;  // 2i
        const double angle = static_cast<double>(t) /
                             std::pow(10000.0, static_cast<double>(i2) / static_cast<double>(D));
        const double ref = f % 2 == 0 ? std::sin(angle) : std::cos(angle);
        worst = std::max(worst, std::abs(pe[t * D + f] - ref));
      }
    CHECK(worst < 1e-6);
  }
  // Beyond the reference's 5000-position table (tca.md 8): positions 65535 and 65536 still follow
  // the formula.
  Tensor pe = nn::positional_encoding(65537, 8);
  for (int64_t t : {int64_t{65535}, int64_t{65536}})
    for (int64_t f = 0; f < 8; ++f) {
      const double angle =
          static_cast<double>(t) / std::pow(10000.0, static_cast<double>(f - f % 2) / 8.0);
      const double ref = f % 2 == 0 ? std::sin(angle) : std::cos(angle);
      CHECK(std::abs(pe[t * 8 + f] - ref) < 1e-5);
    }
}
