// Sums and means over one axis or all elements, and the masked mean of the TCA aggregator.
// A sum over an innermost axis runs on oneDNN's reduction (jit); over any other axis oneDNN 2.6
// only has its reference reduction, ~100x slower than a loop (measured: [16384, 64] -> [1, 64]
// 32 ms against 0.3 ms), so those are loops (elementwise_kernels.hpp: reduce_to_shape).
#include "autograd/elementwise_kernels.hpp"
#include "autograd/grad_sink.hpp"
#include "autograd/ops.hpp"
#include "core/error.hpp"

namespace tca::ops {
namespace {

// x [outer, n, inner] reduced along the middle axis.
struct AxisSplit {
  int64_t outer = 1, n = 1, inner = 1;
  Shape out;
};

AxisSplit split_axis(const Shape& s, int axis, bool keepdim, const char* op) {
  const int r = static_cast<int>(s.size());
  const int a = axis < 0 ? axis + r : axis;
  if (a < 0 || a >= r)
    throw ShapeError(std::string(op) + ": axis " + std::to_string(axis) + " out of range for " +
                     to_string(s));
  AxisSplit sp;
  for (int i = 0; i < r; ++i) {
    const int64_t d = s[static_cast<size_t>(i)];
    if (i < a) sp.outer *= d;
    if (i > a) sp.inner *= d;
    if (i == a) {
      sp.n = d;
      if (keepdim) sp.out.push_back(1);
    } else {
      sp.out.push_back(d);
    }
  }
  return sp;
}

Var reduce_axis(const Var& x, int axis, bool keepdim, float scale, const char* op) {
  const AxisSplit sp = split_axis(x.shape(), axis, keepdim, op);
  const Shape full{sp.outer, sp.n, sp.inner}, reduced{sp.outer, 1, sp.inner};
  Tensor y = Tensor::empty(sp.out);
  reduce_to_shape(x.value().data(), full, y.data(), reduced, false, scale);
  return record(std::move(y), {x}, [full, reduced, scale](Node& self) {
    // dx[o, i, j] (+)= scale * g[o, j]: the upstream gradient broadcast along the reduced axis.
    GradTarget t = grad_target(*self.inputs[0]);
    binary_broadcast(BinaryAlg::mul, self.grad.data(), reduced, &scale, {1}, t.data, full,
                     t.accumulate);
  });
}

}  // namespace

Var sum(const Var& x, int axis, bool keepdim) { return reduce_axis(x, axis, keepdim, 1.0f, "sum"); }

Var mean(const Var& x, int axis, bool keepdim) {
  const int r = x.rank();
  const int a = axis < 0 ? axis + r : axis;
  const int64_t n = (a >= 0 && a < r) ? x.dim(a) : 1;
  return reduce_axis(x, axis, keepdim, n ? 1.0f / static_cast<float>(n) : 0.0f, "mean");
}

Var sum_all(const Var& x) {
  return reduce_axis(reshape(x, {x.numel()}), 0, false, 1.0f, "sum_all");
}

Var mean_all(const Var& x) {
  const int64_t n = x.numel();
  return reduce_axis(reshape(x, {n}), 0, false, n ? 1.0f / static_cast<float>(n) : 0.0f,
                     "mean_all");
}

// sum_i m_i x_i / (sum_i m_i + eps) is a batched matmul of the weights w [outer, 1, n] with
// x [outer, n, D]; its gradient dx = w^T g is the matmul's backward.
Var masked_mean(const Var& x, const Tensor& mask, float eps) {
  if (x.rank() < 2 || mask.rank() != x.rank() - 1)
    throw ShapeError("masked_mean: input " + to_string(x.shape()) + " vs mask " +
                     to_string(mask.shape()));
  check_dtype("masked_mean mask", mask, DType::f32);
  Shape expect(x.shape().begin(), x.shape().end() - 1);
  if (expect != mask.shape())
    throw ShapeError("masked_mean: mask " + to_string(mask.shape()) + " does not match input " +
                     to_string(x.shape()));
  const int64_t D = x.shape().back(), n = x.dim(-2), outer = n ? mask.numel() / n : 0;
  Shape os(x.shape().begin(), x.shape().end() - 2);
  os.push_back(D);
  if (outer == 0 || n == 0) {  // no groups, or empty groups (all-padding: the zero vector)
    Tensor y = Tensor::zeros(os);
    return record(std::move(y), {x}, [](Node& self) {
      GradTarget t = grad_target(*self.inputs[0]);
      if (!t.accumulate) std::fill(t.data, t.data + self.inputs[0]->value.numel(), 0.0f);
    });
  }
  Tensor weight = Tensor::empty({outer, 1, n});
  const float* pm = mask.data();
  for (int64_t o = 0; o < outer; ++o) {
    float count = 0;
    for (int64_t i = 0; i < n; ++i) count += pm[o * n + i];
    const float inv = 1.0f / (count + eps);
    for (int64_t i = 0; i < n; ++i) weight[o * n + i] = pm[o * n + i] * inv;
  }
  return reshape(matmul(Var(weight), reshape(x, {outer, n, D})), os);
}

}  // namespace tca::ops
