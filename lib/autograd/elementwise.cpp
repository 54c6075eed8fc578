// Elementwise arithmetic with NumPy broadcasting. Backward reduces the upstream gradient over the
// axes an operand was broadcast along.
#include <cmath>

#include "autograd/broadcast.hpp"
#include "autograd/ops.hpp"
#include "autograd/unary.hpp"

namespace tca::ops {
namespace {

enum class BinOp { add, sub, mul, div };

Var binary(const Var& a, const Var& b, BinOp op, const char* name) {
  Broadcast bc(a.shape(), b.shape(), name);
  Tensor out = Tensor::empty(bc.out);
  const float* pa = a.value().data();
  const float* pb = b.value().data();
  float* po = out.data();
  switch (op) {
    case BinOp::add: bc.for_each([&](int64_t o, int64_t i, int64_t j) { po[o] = pa[i] + pb[j]; }); break;
    case BinOp::sub: bc.for_each([&](int64_t o, int64_t i, int64_t j) { po[o] = pa[i] - pb[j]; }); break;
    case BinOp::mul: bc.for_each([&](int64_t o, int64_t i, int64_t j) { po[o] = pa[i] * pb[j]; }); break;
    case BinOp::div: bc.for_each([&](int64_t o, int64_t i, int64_t j) { po[o] = pa[i] / pb[j]; }); break;
  }
  return record(std::move(out), {a, b}, [bc, op](Node& self) {
    Node &na = *self.inputs[0], &nb = *self.inputs[1];
    const float* g = self.grad.data();
    const float* va = na.value.data();
    const float* vb = nb.value.data();
    if (na.requires_grad) {
      float* ga = na.grad_buffer().data();
      switch (op) {
        case BinOp::add:
        case BinOp::sub: bc.for_each([&](int64_t o, int64_t i, int64_t) { ga[i] += g[o]; }); break;
        case BinOp::mul: bc.for_each([&](int64_t o, int64_t i, int64_t j) { ga[i] += g[o] * vb[j]; }); break;
        case BinOp::div: bc.for_each([&](int64_t o, int64_t i, int64_t j) { ga[i] += g[o] / vb[j]; }); break;
      }
    }
    if (nb.requires_grad) {
      float* gb = nb.grad_buffer().data();
      switch (op) {
        case BinOp::add: bc.for_each([&](int64_t o, int64_t, int64_t j) { gb[j] += g[o]; }); break;
        case BinOp::sub: bc.for_each([&](int64_t o, int64_t, int64_t j) { gb[j] -= g[o]; }); break;
        case BinOp::mul: bc.for_each([&](int64_t o, int64_t i, int64_t j) { gb[j] += g[o] * va[i]; }); break;
        case BinOp::div:
          bc.for_each([&](int64_t o, int64_t i, int64_t j) { gb[j] -= g[o] * va[i] / (vb[j] * vb[j]); });
          break;
      }
    }
  });
}

}  // namespace

Var add(const Var& a, const Var& b) { return binary(a, b, BinOp::add, "add"); }
Var sub(const Var& a, const Var& b) { return binary(a, b, BinOp::sub, "sub"); }
Var mul(const Var& a, const Var& b) { return binary(a, b, BinOp::mul, "mul"); }
Var div(const Var& a, const Var& b) { return binary(a, b, BinOp::div, "div"); }

Var add_scalar(const Var& a, float s) {
  return unary(a, [s](float x) { return x + s; }, [](float, float) { return 1.0f; });
}
Var mul_scalar(const Var& a, float s) {
  return unary(a, [s](float x) { return x * s; }, [s](float, float) { return s; });
}
Var neg(const Var& a) { return mul_scalar(a, -1.0f); }
Var square(const Var& a) {
  return unary(a, [](float x) { return x * x; }, [](float x, float) { return 2.0f * x; });
}

}  // namespace tca::ops
