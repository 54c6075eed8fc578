// Reshape (a view), transpose/permute (copies into the new row-major order), concat, slice, split.
#include <numeric>

#include "autograd/ops.hpp"
#include "core/error.hpp"

namespace tca::ops {
namespace {

int norm_axis(int axis, int rank, const char* op) {
  const int a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank)
    throw ShapeError(std::string(op) + ": axis " + std::to_string(axis) + " out of range for rank " +
                     std::to_string(rank));
  return a;
}

// out[perm-ordered index] = in[index]: copies `in` of shape `s` into the layout permuted by `perm`
// (out axis i = in axis perm[i]). With `add`, accumulates the inverse (used by backward).
void permute_copy(const float* in, const Shape& s, const std::vector<int>& perm, float* out) {
  const int r = static_cast<int>(s.size());
  Shape os(static_cast<size_t>(r));
  std::vector<int64_t> in_strides(static_cast<size_t>(r)), step(static_cast<size_t>(r));
  int64_t st = 1;
  for (int i = r - 1; i >= 0; --i) in_strides[static_cast<size_t>(i)] = st, st *= s[static_cast<size_t>(i)];
  for (int i = 0; i < r; ++i) {
    os[static_cast<size_t>(i)] = s[static_cast<size_t>(perm[static_cast<size_t>(i)])];
    step[static_cast<size_t>(i)] = in_strides[static_cast<size_t>(perm[static_cast<size_t>(i)])];
  }
  const int64_t n = numel(s);
  if (n == 0) return;
  if (r == 0) {
    out[0] = in[0];
    return;
  }
  std::vector<int64_t> idx(static_cast<size_t>(r), 0);
  int64_t src = 0;
  const int64_t inner = os.back(), inner_step = step.back();
  for (int64_t o = 0; o < n; o += inner) {
    for (int64_t j = 0; j < inner; ++j) out[o + j] = in[src + j * inner_step];
    for (int ax = r - 2; ax >= 0; --ax) {
      const size_t u = static_cast<size_t>(ax);
      src += step[u];
      if (++idx[u] < os[u]) break;
      src -= step[u] * os[u];
      idx[u] = 0;
    }
  }
}

}  // namespace

Var reshape(const Var& x, const Shape& shape) {
  Tensor y = x.value().reshape(shape);
  return record(std::move(y), {x}, [](Node& self) {
    Node& nx = *self.inputs[0];
    nx.grad_buffer().add_(self.grad);
  });
}

Var permute(const Var& x, const std::vector<int>& perm) {
  const int r = x.rank();
  if (static_cast<int>(perm.size()) != r)
    throw ShapeError("permute: " + std::to_string(perm.size()) + " axes for shape " + to_string(x.shape()));
  std::vector<int> p(perm.size());
  std::vector<bool> used(perm.size(), false);
  for (size_t i = 0; i < perm.size(); ++i) {
    p[i] = norm_axis(perm[i], r, "permute");
    if (used[static_cast<size_t>(p[i])]) throw ShapeError("permute: repeated axis");
    used[static_cast<size_t>(p[i])] = true;
  }
  Shape os(perm.size());
  for (size_t i = 0; i < p.size(); ++i) os[i] = x.shape()[static_cast<size_t>(p[i])];
  Tensor y = Tensor::empty(os);
  permute_copy(x.value().data(), x.shape(), p, y.data());
  return record(std::move(y), {x}, [p, os](Node& self) {
    Node& nx = *self.inputs[0];
    std::vector<int> inv(p.size());
    for (size_t i = 0; i < p.size(); ++i) inv[static_cast<size_t>(p[i])] = static_cast<int>(i);
    Tensor back = Tensor::empty(nx.value.shape());
    permute_copy(self.grad.data(), os, inv, back.data());
    nx.grad_buffer().add_(back);
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
    if (static_cast<int>(s.size()) != r) throw ShapeError("concat: ranks differ: " + to_string(xs[0].shape()) + " vs " + to_string(s));
    os[static_cast<size_t>(a)] += s[static_cast<size_t>(a)];
    s[static_cast<size_t>(a)] = xs[0].shape()[static_cast<size_t>(a)];
    if (s != xs[0].shape()) throw ShapeError("concat: shapes differ off the concat axis: " + to_string(xs[0].shape()) + " vs " + to_string(x.shape()));
  }
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < a; ++i) outer *= os[static_cast<size_t>(i)];
  for (int i = a + 1; i < r; ++i) inner *= os[static_cast<size_t>(i)];
  Tensor y = Tensor::empty(os);
  const int64_t out_row = os[static_cast<size_t>(a)] * inner;
  std::vector<int64_t> widths;
  int64_t off = 0;
  for (auto& x : xs) {
    const int64_t w = x.shape()[static_cast<size_t>(a)] * inner;
    widths.push_back(w);
    const float* px = x.value().data();
    for (int64_t o = 0; o < outer; ++o)
      std::copy(px + o * w, px + (o + 1) * w, y.data() + o * out_row + off);
    off += w;
  }
  return record(std::move(y), xs, [widths, outer, out_row](Node& self) {
    int64_t off2 = 0;
    for (size_t k = 0; k < self.inputs.size(); ++k) {
      Node& n = *self.inputs[k];
      const int64_t w = widths[k];
      if (n.requires_grad) {
        float* g = n.grad_buffer().data();
        const float* go = self.grad.data();
        for (int64_t o = 0; o < outer; ++o)
          for (int64_t j = 0; j < w; ++j) g[o * w + j] += go[o * out_row + off2 + j];
      }
      off2 += w;
    }
  });
}

Var slice(const Var& x, int axis, int64_t start, int64_t end) {
  const int r = x.rank();
  const int a = norm_axis(axis, r, "slice");
  const Shape& s = x.shape();
  if (start < 0 || end < start || end > s[static_cast<size_t>(a)])
    throw ShapeError("slice: [" + std::to_string(start) + ", " + std::to_string(end) + ") out of range on axis " +
                     std::to_string(axis) + " of " + to_string(s));
  int64_t outer = 1, inner = 1;
  for (int i = 0; i < a; ++i) outer *= s[static_cast<size_t>(i)];
  for (int i = a + 1; i < r; ++i) inner *= s[static_cast<size_t>(i)];
  Shape os = s;
  os[static_cast<size_t>(a)] = end - start;
  const int64_t in_row = s[static_cast<size_t>(a)] * inner, w = (end - start) * inner, off = start * inner;
  Tensor y = Tensor::empty(os);
  const float* px = x.value().data();
  for (int64_t o = 0; o < outer; ++o) std::copy(px + o * in_row + off, px + o * in_row + off + w, y.data() + o * w);
  return record(std::move(y), {x}, [outer, in_row, w, off](Node& self) {
    float* g = self.inputs[0]->grad_buffer().data();
    const float* go = self.grad.data();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t j = 0; j < w; ++j) g[o * in_row + off + j] += go[o * w + j];
  });
}

std::vector<Var> split(const Var& x, int axis, const std::vector<int64_t>& sizes) {
  std::vector<Var> out;
  int64_t start = 0;
  for (auto s : sizes) {
    out.push_back(slice(x, axis, start, start + s));
    start += s;
  }
  const int a = norm_axis(axis, x.rank(), "split");
  if (start != x.shape()[static_cast<size_t>(a)])
    throw ShapeError("split: sizes sum to " + std::to_string(start) + ", axis has " +
                     std::to_string(x.shape()[static_cast<size_t>(a)]));
  return out;
}

}  // namespace tca::ops
