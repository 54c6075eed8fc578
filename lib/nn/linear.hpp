// Linear layer in PyTorch layout (weight [out, in], y = x W^T + b) with PyTorch's default
// initialisation (tca.md 1: Kaiming-uniform a = sqrt(5), i.e. U(+-1/sqrt(in)), bias likewise).
#pragma once
#include <cmath>

#include "autograd/ops.hpp"
#include "nn/module.hpp"

namespace tca::nn {

inline Tensor uniform_tensor(const Shape& s, float bound, Rng& rng) {
  Tensor t = Tensor::empty(s);
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = static_cast<float>(rng.uniform(-bound, bound));
  return t;
}

class Linear : public Module {
 public:
  Linear(int64_t in, int64_t out, bool with_bias, Rng& rng) : in_(in), out_(out) {
    const float bound = in > 0 ? 1.0f / std::sqrt(static_cast<float>(in)) : 0.0f;
    weight = register_parameter("weight", uniform_tensor({out, in}, bound, rng));
    if (with_bias) bias = register_parameter("bias", uniform_tensor({out}, bound, rng));
  }
  Var operator()(const Var& x) const { return ops::linear(x, weight, bias); }
  int64_t in_features() const { return in_; }
  int64_t out_features() const { return out_; }

  Var weight, bias;  // bias undefined when constructed without

 private:
  int64_t in_, out_;
};

class LayerNorm : public Module {
 public:
  explicit LayerNorm(int64_t dim, float eps = 1e-5f) : eps_(eps) {
    weight = register_parameter("weight", Tensor::full({dim}, 1.0f));
    bias = register_parameter("bias", Tensor::zeros({dim}));
  }
  Var operator()(const Var& x) const { return ops::layer_norm(x, weight, bias, eps_); }
  Var weight, bias;

 private:
  float eps_;
};

}  // namespace tca::nn
