// Sums and means over one axis or all elements, and the masked mean of the TCA aggregator.
#include "autograd/ops.hpp"
#include "core/error.hpp"

namespace tca::ops {
namespace {

struct AxisSplit {
  int64_t outer = 1, n = 1, inner = 1;
  Shape out;
};

AxisSplit split_axis(const Shape& s, int axis, bool keepdim, const char* op) {
  const int r = static_cast<int>(s.size());
  const int a = axis < 0 ? axis + r : axis;
  if (a < 0 || a >= r)
    throw ShapeError(std::string(op) + ": axis " + std::to_string(axis) + " out of range for " + to_string(s));
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
  AxisSplit sp = split_axis(x.shape(), axis, keepdim, op);
  Tensor y = Tensor::zeros(sp.out);
  const float* px = x.value().data();
  float* py = y.data();
  for (int64_t o = 0; o < sp.outer; ++o)
    for (int64_t i = 0; i < sp.n; ++i)
      for (int64_t j = 0; j < sp.inner; ++j) py[o * sp.inner + j] += px[(o * sp.n + i) * sp.inner + j];
  for (int64_t i = 0, m = y.numel(); i < m; ++i) py[i] *= scale;
  return record(std::move(y), {x}, [sp, scale](Node& self) {
    float* g = self.inputs[0]->grad_buffer().data();
    const float* go = self.grad.data();
    for (int64_t o = 0; o < sp.outer; ++o)
      for (int64_t i = 0; i < sp.n; ++i)
        for (int64_t j = 0; j < sp.inner; ++j) g[(o * sp.n + i) * sp.inner + j] += scale * go[o * sp.inner + j];
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

Var sum_all(const Var& x) { return reduce_axis(reshape(x, {x.numel()}), 0, false, 1.0f, "sum_all"); }

Var mean_all(const Var& x) {
  const int64_t n = x.numel();
  return reduce_axis(reshape(x, {n}), 0, false, n ? 1.0f / static_cast<float>(n) : 0.0f, "mean_all");
}

Var masked_mean(const Var& x, const Tensor& mask, float eps) {
  if (x.rank() < 2 || mask.rank() != x.rank() - 1)
    throw ShapeError("masked_mean: input " + to_string(x.shape()) + " vs mask " + to_string(mask.shape()));
  Shape expect(x.shape().begin(), x.shape().end() - 1);
  if (expect != mask.shape())
    throw ShapeError("masked_mean: mask " + to_string(mask.shape()) + " does not match input " + to_string(x.shape()));
  const int64_t D = x.shape().back(), n = x.dim(-2), outer = n ? mask.numel() / n : 0;
  Shape os(x.shape().begin(), x.shape().end() - 2);
  os.push_back(D);
  Tensor y = Tensor::zeros(os);
  Tensor weight = Tensor::empty(mask.shape());  // m_i / (sum m + eps)
  const float* pm = mask.data();
  const float* px = x.value().data();
  for (int64_t o = 0; o < outer; ++o) {
    float count = 0;
    for (int64_t i = 0; i < n; ++i) count += pm[o * n + i];
    const float inv = 1.0f / (count + eps);
    for (int64_t i = 0; i < n; ++i) {
      const float w = pm[o * n + i] * inv;
      weight[o * n + i] = w;
      if (w != 0.0f)
        for (int64_t d = 0; d < D; ++d) y[o * D + d] += w * px[(o * n + i) * D + d];
    }
  }
  return record(std::move(y), {x}, [weight, outer, n, D](Node& self) {
    float* g = self.inputs[0]->grad_buffer().data();
    const float* go = self.grad.data();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < n; ++i) {
        const float w = weight[o * n + i];
        for (int64_t d = 0; d < D; ++d) g[(o * n + i) * D + d] += w * go[o * D + d];
      }
  });
}

}  // namespace tca::ops
