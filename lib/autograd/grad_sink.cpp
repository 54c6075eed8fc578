#include "autograd/grad_sink.hpp"

#include "autograd/elementwise_kernels.hpp"

namespace tca::ops {

GradTarget grad_target(Node& n) {
  if (n.grad.defined()) return {n.grad.data(), true};
  n.grad = Tensor::empty(n.value.shape());
  return {n.grad.data(), false};
}

void accumulate_grad(Node& n, const Tensor& g) {
  if (!n.grad.defined()) {
    n.grad = g.reshape(n.value.shape());
    return;
  }
  add_into(n.grad.data(), g.data(), n.grad.numel());
}

void pass_grad(Node& self, Node& in) {
  if (!in.grad.defined()) {
    if (self.grad_donatable) {
      in.grad = self.grad.reshape(in.value.shape());
      self.grad_donatable = false;  // one owner only: a second input must not alias it too
    } else {
      in.grad = self.grad.clone().reshape(in.value.shape());
    }
    return;
  }
  add_into(in.grad.data(), self.grad.data(), in.grad.numel());
}

void add_into(float* dst, const float* src, int64_t n) {
  binary_same_shape(BinaryAlg::add, dst, src, dst, n, false);
}

}  // namespace tca::ops
