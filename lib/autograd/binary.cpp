// Elementwise binary ops with NumPy broadcasting (ops.hpp "binary.cpp"). Forward: oneDNN's binary
// primitive (src1 broadcast; elementwise_kernels.hpp). Backward: binary has no backward primitive,
// so the gradients are themselves binary ops (g * b, g / b, ...) and, for a broadcast operand, a
// sum over the broadcast axes. The ops with a scalar operand are the unary eltwise linear.
#include <dnnl.hpp>

#include "autograd/broadcast.hpp"
#include "autograd/elementwise_kernels.hpp"
#include "autograd/grad_sink.hpp"
#include "autograd/ops.hpp"

namespace tca::ops {
namespace {

// d(input) (+)= scale * g, g of the output's shape: summed over the input's broadcast axes, or
// passed on as it is (the buffer handed over when the tape allows it).
void deliver_upstream(Node& self, Node& in, float scale) {
  const Shape& out = self.value.shape();
  if (in.value.shape() == out && scale == 1.0f) return pass_grad(self, in);
  GradTarget t = grad_target(in);
  reduce_to_shape(self.grad.data(), out, t.data, in.value.shape(), t.accumulate, scale);
}

// d(input) (+)= full, a temporary of the output's shape owned by the backward.
void deliver_full(Node& in, const Tensor& full) {
  if (in.value.shape() == full.shape()) return accumulate_grad(in, full);
  GradTarget t = grad_target(in);
  reduce_to_shape(full.data(), full.shape(), t.data, in.value.shape(), t.accumulate);
}

// d(input) (+)= g op other: straight into the gradient when the input has the output's shape,
// else through a temporary that is then summed over the broadcast axes.
void deliver_product(Node& self, Node& in, BinaryAlg alg, const Node& other) {
  const Shape& out = self.value.shape();
  if (in.value.shape() == out) {
    GradTarget t = grad_target(in);
    binary_broadcast(alg, self.grad.data(), out, other.value.data(), other.value.shape(), t.data,
                     out, t.accumulate);
    return;
  }
  Tensor full = Tensor::empty(out);
  binary_broadcast(alg, self.grad.data(), out, other.value.data(), other.value.shape(), full.data(),
                   out, false);
  deliver_full(in, full);
}

Var binary(const Var& a, const Var& b, BinaryAlg alg, const char* name) {
  const Shape out_shape =
      a.shape() == b.shape() ? a.shape() : Broadcast(a.shape(), b.shape(), name).out;
  Tensor out = Tensor::empty(out_shape);
  binary_broadcast(alg, a.value().data(), a.shape(), b.value().data(), b.shape(), out.data(),
                   out_shape, false);
  return record(std::move(out), {a, b}, [alg](Node& self) {
    Node &na = *self.inputs[0], &nb = *self.inputs[1];
    switch (alg) {
      case BinaryAlg::add:
      case BinaryAlg::sub:
        // b first: a may then take the upstream buffer itself.
        if (nb.requires_grad) deliver_upstream(self, nb, alg == BinaryAlg::add ? 1.0f : -1.0f);
        if (na.requires_grad) deliver_upstream(self, na, 1.0f);
        break;
      case BinaryAlg::mul:  // da = g b, db = g a
        if (na.requires_grad) deliver_product(self, na, BinaryAlg::mul, nb);
        if (nb.requires_grad) deliver_product(self, nb, BinaryAlg::mul, na);
        break;
      case BinaryAlg::div: {  // da = g / b, db = -g a / b^2 = -(g y) / b
        if (na.requires_grad) deliver_product(self, na, BinaryAlg::div, nb);
        if (nb.requires_grad) {
          const Shape& s = self.value.shape();
          Tensor full = Tensor::empty(s);
          binary_broadcast(BinaryAlg::mul, self.grad.data(), s, self.value.data(), s, full.data(),
                           s, false);
          binary_broadcast(BinaryAlg::div, full.data(), s, nb.value.data(), nb.value.shape(),
                           full.data(), s, false, -1.0f);
          deliver_full(nb, full);
        }
        break;
      }
      case BinaryAlg::min:
        break;  // not exposed as an op
    }
  });
}

}  // namespace

Var add(const Var& a, const Var& b) { return binary(a, b, BinaryAlg::add, "add"); }
Var sub(const Var& a, const Var& b) { return binary(a, b, BinaryAlg::sub, "sub"); }
Var mul(const Var& a, const Var& b) { return binary(a, b, BinaryAlg::mul, "mul"); }
Var div(const Var& a, const Var& b) { return binary(a, b, BinaryAlg::div, "div"); }

Var add_scalar(const Var& a, float s) {
  return eltwise(a, dnnl::algorithm::eltwise_linear, 1.0f, s);
}
Var mul_scalar(const Var& a, float s) {
  return eltwise(a, dnnl::algorithm::eltwise_linear, s, 0.0f);
}
Var neg(const Var& a) { return mul_scalar(a, -1.0f); }

}  // namespace tca::ops
