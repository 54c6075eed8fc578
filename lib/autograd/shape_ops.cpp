// Reshape (a view), transpose/permute (a copy into the new row-major order), concat, slice, split.
// The copies, forward and backward, are reorders between strided views (strided_copy.hpp).
#include <cstring>
#include <numeric>

#include "autograd/grad_sink.hpp"
#include "autograd/ops.hpp"
#include "autograd/strided_copy.hpp"
#include "core/error.hpp"

namespace tca::ops {
namespace {

int norm_axis(int axis, int rank, const char* op) {
  const int a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank)
    throw ShapeError(std::string(op) + ": axis " + std::to_string(axis) +
                     " out of range for rank " + std::to_string(rank));
  return a;
}

// A tensor of shape s seen as [outer, s[axis], inner].
struct AxisView {
  int64_t outer = 1, n = 1, inner = 1;
};

AxisView axis_view(const Shape& s, int a) {
  AxisView v;
  for (int i = 0; i < a; ++i) v.outer *= s[static_cast<size_t>(i)];
  v.n = s[static_cast<size_t>(a)];
  for (size_t i = static_cast<size_t>(a) + 1; i < s.size(); ++i) v.inner *= s[i];
  return v;
}

}  // namespace

Var reshape(const Var& x, const Shape& shape) {
  Tensor y = x.value().reshape(shape);
  return record(std::move(y), {x}, [](Node& self) { pass_grad(self, *self.inputs[0]); });
}

Var permute(const Var& x, const std::vector<int>& perm) {
  const int r = x.rank();
  if (static_cast<int>(perm.size()) != r)
    throw ShapeError("permute: " + std::to_string(perm.size()) + " axes for shape " +
                     to_string(x.shape()));
  std::vector<int> p(perm.size());
  std::vector<bool> used(perm.size(), false);
  for (size_t i = 0; i < perm.size(); ++i) {
    p[i] = norm_axis(perm[i], r, "permute");
    if (used[static_cast<size_t>(p[i])]) throw ShapeError("permute: repeated axis");
    used[static_cast<size_t>(p[i])] = true;
  }
  // Output axis i is input axis p[i]: the input read in output order has strides in_strides[p[i]].
  const Shape in_strides = contiguous_strides(x.shape());
  Shape os(perm.size()), src_strides(perm.size());
  for (size_t i = 0; i < p.size(); ++i) {
    os[i] = x.shape()[static_cast<size_t>(p[i])];
    src_strides[i] = in_strides[static_cast<size_t>(p[i])];
  }
  Tensor y = Tensor::empty(os);
  const Shape out_strides = contiguous_strides(os);
  strided_copy(x.value().data(), os, src_strides, y.data(), out_strides, false);
  return record(std::move(y), {x}, [os, src_strides, out_strides](Node& self) {
    GradTarget t = grad_target(*self.inputs[0]);  // a permutation covers every element
    strided_copy(self.grad.data(), os, out_strides, t.data, src_strides, t.accumulate);
  });
}

Var transpose(const Var& x, int axis0, int axis1) {
  std::vector<int> perm(static_cast<size_t>(x.rank()));
  std::iota(perm.begin(), perm.end(), 0);
  std::swap(perm[static_cast<size_t>(norm_axis(axis0, x.rank(), "transpose"))],
            perm[static_cast<size_t>(norm_axis(axis1, x.rank(), "transpose"))]);
  return permute(x, perm);
}

Var concat(const std::vector<Var>& xs, int axis) {
  if (xs.empty()) throw ShapeError("concat: no inputs");
  const int r = xs[0].rank();
  const int a = norm_axis(axis, r, "concat");
  Shape os = xs[0].shape();
  os[static_cast<size_t>(a)] = 0;
  for (auto& x : xs) {
    Shape s = x.shape();
    if (static_cast<int>(s.size()) != r)
      throw ShapeError("concat: ranks differ: " + to_string(xs[0].shape()) + " vs " + to_string(s));
    os[static_cast<size_t>(a)] += s[static_cast<size_t>(a)];
    s[static_cast<size_t>(a)] = xs[0].shape()[static_cast<size_t>(a)];
    if (s != xs[0].shape())
      throw ShapeError("concat: shapes differ off the concat axis: " + to_string(xs[0].shape()) +
                       " vs " + to_string(x.shape()));
  }
  const AxisView out = axis_view(os, a);
  const Shape out_strides{out.n * out.inner, out.inner, 1};  // [outer, n_k, inner] inside y
  Tensor y = Tensor::empty(os);
  std::vector<int64_t> starts;
  int64_t start = 0;
  for (auto& x : xs) {
    const int64_t n = x.shape()[static_cast<size_t>(a)];
    const Shape dims{out.outer, n, out.inner};
    strided_copy(x.value().data(), dims, contiguous_strides(dims), y.data() + start * out.inner,
                 out_strides, false);
    starts.push_back(start);
    start += n;
  }
  return record(std::move(y), xs, [starts, out, out_strides](Node& self) {
    for (size_t k = 0; k < self.inputs.size(); ++k) {
      Node& in = *self.inputs[k];
      if (!in.requires_grad) continue;
      const Shape dims{out.outer, in.value.numel() / std::max<int64_t>(out.outer * out.inner, 1),
                       out.inner};
      GradTarget t = grad_target(in);
      strided_copy(self.grad.data() + starts[k] * out.inner, dims, out_strides, t.data,
                   contiguous_strides(dims), t.accumulate);
    }
  });
}

Var slice(const Var& x, int axis, int64_t start, int64_t end) {
  const int r = x.rank();
  const int a = norm_axis(axis, r, "slice");
  const Shape& s = x.shape();
  if (start < 0 || end < start || end > s[static_cast<size_t>(a)])
    throw ShapeError("slice: [" + std::to_string(start) + ", " + std::to_string(end) +
                     ") out of range on axis " + std::to_string(axis) + " of " + to_string(s));
  const AxisView in = axis_view(s, a);
  const Shape dims{in.outer, end - start, in.inner};
  const Shape in_strides{in.n * in.inner, in.inner, 1}, out_strides = contiguous_strides(dims);
  const int64_t offset = start * in.inner;
  Shape os = s;
  os[static_cast<size_t>(a)] = end - start;
  Tensor y = Tensor::empty(os);
  strided_copy(x.value().data() + offset, dims, in_strides, y.data(), out_strides, false);
  return record(std::move(y), {x}, [dims, in_strides, out_strides, offset](Node& self) {
    Node& nx = *self.inputs[0];
    GradTarget t = grad_target(nx);
    if (!t.accumulate && nx.value.numel())  // outside the slice the gradient is zero
      std::memset(t.data, 0, static_cast<size_t>(nx.value.numel()) * sizeof(float));
    strided_copy(self.grad.data(), dims, out_strides, t.data + offset, in_strides, t.accumulate);
  });
}

std::vector<Var> split(const Var& x, int axis, const std::vector<int64_t>& sizes) {
  const int a = norm_axis(axis, x.rank(), "split");
  int64_t total = 0;
  for (auto s : sizes) {
    if (s < 0) throw ShapeError("split: negative size " + std::to_string(s));
    total += s;
  }
  if (total != x.shape()[static_cast<size_t>(a)])
    throw ShapeError("split: sizes sum to " + std::to_string(total) + ", axis " +
                     std::to_string(axis) + " of " + to_string(x.shape()) + " has " +
                     std::to_string(x.shape()[static_cast<size_t>(a)]));
  std::vector<Var> out;
  int64_t start = 0;
  for (auto s : sizes) {
    out.push_back(slice(x, axis, start, start + s));
    start += s;
  }
  return out;
}

}  // namespace tca::ops
