#include "autograd/elementwise_kernels.hpp"

#include <omp.h>

#include <algorithm>

#include "autograd/bound_primitive.hpp"
#include "autograd/broadcast.hpp"
#include "autograd/write_or_accumulate.hpp"
#include "core/error.hpp"

namespace tca::ops {
namespace {

using dnnl::algorithm;

int64_t loop_max_for(int threads) {
  return threads > 1 ? kLoopMaxElementsManyThreads : kLoopMaxElementsOneThread;
}

// Operands padded to the output's rank, with neighbouring axes merged when both operands are
// broadcast the same way along them: [B, T, D] + [D] becomes [B*T, D] + [1, D]. Fewer distinct
// primitives (one per collapsed shape) and longer inner loops.
struct Collapsed {
  Shape a, b, out;
};

Collapsed collapse(const Shape& a, const Shape& b, const Shape& out) {
  const size_t r = out.size();
  auto padded = [&](const Shape& s, size_t i) {
    const size_t lead = r - s.size();
    return i < lead ? int64_t{1} : s[i - lead];
  };
  Collapsed c;
  int last_pattern = -1;
  for (size_t i = 0; i < r; ++i) {
    if (out[i] == 1) continue;  // a unit axis is the same in all three
    const int64_t da = padded(a, i), db = padded(b, i);
    const int pattern = (da == 1 ? 1 : 0) | (db == 1 ? 2 : 0);
    if (pattern == last_pattern) {
      c.out.back() *= out[i];
      c.a.back() *= da;
      c.b.back() *= db;
    } else {
      c.out.push_back(out[i]);
      c.a.push_back(da);
      c.b.push_back(db);
      last_pattern = pattern;
    }
  }
  if (c.out.empty()) c.a = c.b = c.out = Shape{1};
  return c;
}

algorithm dnnl_alg(BinaryAlg alg) {
  switch (alg) {
    case BinaryAlg::add:
      return algorithm::binary_add;
    case BinaryAlg::sub:
      return algorithm::binary_sub;
    case BinaryAlg::mul:
      return algorithm::binary_mul;
    case BinaryAlg::div:
      return algorithm::binary_div;
    case BinaryAlg::min:
      return algorithm::binary_min;
  }
  return algorithm::binary_add;
}

const char* alg_name(BinaryAlg alg) {
  switch (alg) {
    case BinaryAlg::add:
      return "add";
    case BinaryAlg::sub:
      return "sub";
    case BinaryAlg::mul:
      return "mul";
    case BinaryAlg::div:
      return "div";
    case BinaryAlg::min:
      return "min";
  }
  return "?";
}

// The loop: one pass over each innermost row, with the operands' inner strides (0 or 1) fixed at
// compile time so that the row vectorises.
template <int SA, int SB, class Op>
void row(Op op, const float* a, const float* b, float* d, int64_t n, bool acc, float scale) {
  with_accumulate(acc, [&](auto accumulate) {
#pragma omp simd
    for (int64_t j = 0; j < n; ++j) store(accumulate, d[j], op(scale * a[j * SA], b[j * SB]));
  });
}

template <class Op>
void loop(Op op, const float* a, const Shape& sa, const float* b, const Shape& sb, float* d,
          const Shape& so, bool acc, float scale) {
  Broadcast bc(sa, sb, "binary");
  const int r = static_cast<int>(so.size());
  const int64_t inner = so.back(), n = numel(so);
  const int64_t ia_step = bc.stride_a.back(), ib_step = bc.stride_b.back();
  std::vector<int64_t> idx(static_cast<size_t>(r), 0);
  int64_t ia = 0, ib = 0;
  for (int64_t o = 0; o < n; o += inner) {
    if (ia_step && ib_step)
      row<1, 1>(op, a + ia, b + ib, d + o, inner, acc, scale);
    else if (ia_step)
      row<1, 0>(op, a + ia, b + ib, d + o, inner, acc, scale);
    else if (ib_step)
      row<0, 1>(op, a + ia, b + ib, d + o, inner, acc, scale);
    else
      row<0, 0>(op, a + ia, b + ib, d + o, inner, acc, scale);
    for (int ax = r - 2; ax >= 0; --ax) {  // advance the outer multi-index
      const size_t u = static_cast<size_t>(ax);
      ia += bc.stride_a[u];
      ib += bc.stride_b[u];
      if (++idx[u] < so[u]) break;
      ia -= bc.stride_a[u] * so[u];
      ib -= bc.stride_b[u] * so[u];
      idx[u] = 0;
    }
  }
}

void binary_loop(BinaryAlg alg, const float* a, const Shape& sa, const float* b, const Shape& sb,
                 float* d, const Shape& so, bool acc, float scale) {
  switch (alg) {
    case BinaryAlg::add:
      return loop([](float x, float y) { return x + y; }, a, sa, b, sb, d, so, acc, scale);
    case BinaryAlg::sub:
      return loop([](float x, float y) { return x - y; }, a, sa, b, sb, d, so, acc, scale);
    case BinaryAlg::mul:
      return loop([](float x, float y) { return x * y; }, a, sa, b, sb, d, so, acc, scale);
    case BinaryAlg::div:
      return loop([](float x, float y) { return x / y; }, a, sa, b, sb, d, so, acc, scale);
    case BinaryAlg::min:
      return loop([](float x, float y) { return std::min(x, y); }, a, sa, b, sb, d, so, acc, scale);
  }
}

const BoundPrimitive& binary_primitive(BinaryAlg alg, const Collapsed& c, bool acc, float scale) {
  thread_local PrimitiveCache<BoundPrimitive> cache;
  PrimitiveKey key{
      {static_cast<int64_t>(alg), acc, float_key(scale), static_cast<int64_t>(c.out.size())}};
  for (const Shape* s : {&c.a, &c.b, &c.out}) key.v.insert(key.v.end(), s->begin(), s->end());
  return cache.get(key, [&] {
    return create_primitive(
        std::string("binary ") + alg_name(alg) + " " + to_string(c.a) + ", " + to_string(c.b) +
            " -> " + to_string(c.out),
        [&] {
          dnnl::primitive_attr attr;
          if (scale != 1.0f) attr.set_scales(DNNL_ARG_SRC_0, 0, {scale});
          if (acc) {
            dnnl::post_ops po;
            po.append_sum(1.0f);
            attr.set_post_ops(po);
          }
          const auto a_md = plain_md(c.a), b_md = plain_md(c.b), d_md = plain_md(c.out);
          dnnl::binary::primitive_desc pd(dnnl::binary::desc(dnnl_alg(alg), a_md, b_md, d_md), attr,
                                          dnnl_engine());
          return BoundPrimitive(
              dnnl::binary(pd),
              {{DNNL_ARG_SRC_0, a_md}, {DNNL_ARG_SRC_1, b_md}, {DNNL_ARG_DST, d_md}});
        });
  });
}

bool is_commutative(BinaryAlg alg) {
  return alg == BinaryAlg::add || alg == BinaryAlg::mul || alg == BinaryAlg::min;
}

}  // namespace

int64_t elementwise_loop_max() { return loop_max_for(omp_get_max_threads()); }

void binary_same_shape(BinaryAlg alg, const float* a, const float* b, float* dst, int64_t n,
                       bool accumulate, float scale_a) {
  if (n == 0) return;
  if (n <= elementwise_loop_max()) {  // no shape bookkeeping at all: the cheapest small path
    switch (alg) {
      case BinaryAlg::add:
        return row<1, 1>([](float x, float y) { return x + y; }, a, b, dst, n, accumulate, scale_a);
      case BinaryAlg::sub:
        return row<1, 1>([](float x, float y) { return x - y; }, a, b, dst, n, accumulate, scale_a);
      case BinaryAlg::mul:
        return row<1, 1>([](float x, float y) { return x * y; }, a, b, dst, n, accumulate, scale_a);
      case BinaryAlg::div:
        return row<1, 1>([](float x, float y) { return x / y; }, a, b, dst, n, accumulate, scale_a);
      case BinaryAlg::min:
        return row<1, 1>([](float x, float y) { return std::min(x, y); }, a, b, dst, n, accumulate,
                         scale_a);
    }
  }
  const Shape flat{n};
  binary_primitive(alg, Collapsed{flat, flat, flat}, accumulate, scale_a)
      .run({{DNNL_ARG_SRC_0, a}, {DNNL_ARG_SRC_1, b}, {DNNL_ARG_DST, dst}});
}

void binary_broadcast(BinaryAlg alg, const float* a, const Shape& a_shape, const float* b,
                      const Shape& b_shape, float* dst, const Shape& dst_shape, bool accumulate,
                      float scale_a) {
  const int64_t n = numel(dst_shape);
  if (n == 0) return;
  if (a_shape == dst_shape && b_shape == dst_shape)
    return binary_same_shape(alg, a, b, dst, n, accumulate, scale_a);
  Collapsed c = collapse(a_shape, b_shape, dst_shape);
  // oneDNN's binary broadcasts src1 with its jit kernels, but a broadcast src0 falls to the slow
  // reference implementation ("ref:any", 2.6): put the broadcast operand second where the algebra
  // allows (a + b = b + a; a - b = (-1 * b) + a).
  if (c.a != c.out && c.b == c.out && scale_a == 1.0f) {
    if (is_commutative(alg)) {
      std::swap(a, b);
      std::swap(c.a, c.b);
    } else if (alg == BinaryAlg::sub) {
      std::swap(a, b);
      std::swap(c.a, c.b);
      alg = BinaryAlg::add;
      scale_a = -1.0f;
    }
  }
  const bool src0_broadcast = c.a != c.out;
  if (n <= elementwise_loop_max() || src0_broadcast) {
    // Also the remaining broadcast-src0 cases (div with a broadcast numerator, both operands
    // broadcast): rare, and a loop beats the reference implementation.
    binary_loop(alg, a, c.a, b, c.b, dst, c.out, accumulate, scale_a);
    return;
  }
  binary_primitive(alg, c, accumulate, scale_a)
      .run({{DNNL_ARG_SRC_0, a}, {DNNL_ARG_SRC_1, b}, {DNNL_ARG_DST, dst}});
}

namespace {

// Sum of each row of g [K, R] into out [K] on oneDNN's reduction (a jit kernel only when the
// reduced axes are innermost; other layouts get "ref:any", ~100x slower than a loop, measured).
const BoundPrimitive& row_sum_primitive(int64_t K, int64_t R) {
  thread_local PrimitiveCache<BoundPrimitive> cache;
  return cache.get(PrimitiveKey{{K, R}}, [&] {
    return create_primitive(
        "reduction sum [" + std::to_string(K) + ", " + std::to_string(R) + "]", [&] {
          const auto src = plain_md({K, R}), dst = plain_md({K, 1});
          dnnl::reduction::primitive_desc pd(
              dnnl::reduction::desc(algorithm::reduction_sum, src, dst, 0.0f, 0.0f), dnnl_engine());
          return BoundPrimitive(dnnl::reduction(pd), {{DNNL_ARG_SRC, src}, {DNNL_ARG_DST, dst}});
        });
  });
}

}  // namespace

void reduce_to_shape(const float* g, const Shape& g_shape, float* dst, const Shape& target_shape,
                     bool accumulate, float scale) {
  const int64_t m = numel(target_shape), n = numel(g_shape);
  if (m == 0) return;
  Collapsed c = collapse(target_shape, g_shape, g_shape);  // c.a: target, c.out: g
  if (n == 0) {
    if (!accumulate) std::fill(dst, dst + m, 0.0f);
    return;
  }
  if (c.a == c.out) {  // nothing to reduce
    if (accumulate)
      binary_same_shape(BinaryAlg::add, g, dst, dst, m, false, scale);
    else if (scale == 1.0f)
      std::copy(g, g + m, dst);
    else
      binary_broadcast(BinaryAlg::mul, g, {m}, &scale, {1}, dst, {m}, false);
    return;
  }
  // Reduced axes innermost ([K, R] -> [K] or [R] -> [1]): jit reduction primitive.
  const bool trailing =
      c.a.back() == 1 && (c.a.size() == 1 || (c.a.size() == 2 && c.a[0] == c.out[0]));
  if (trailing && n > elementwise_loop_max()) {
    const int64_t K = m, R = n / m;
    float* out = dst;
    std::vector<float> tmp;
    if (accumulate || scale != 1.0f) {
      tmp.resize(static_cast<size_t>(K));
      out = tmp.data();
    }
    row_sum_primitive(K, R).run({{DNNL_ARG_SRC, g}, {DNNL_ARG_DST, out}});
    if (out != dst)
      for (int64_t k = 0; k < K; ++k) dst[k] = (accumulate ? dst[k] : 0.0f) + scale * out[k];
    return;
  }
  // Otherwise a loop over g, adding each element into its target (vectorised along a kept
  // innermost axis, e.g. the [R, D] -> [D] gradient of a broadcast bias).
  if (!accumulate) std::fill(dst, dst + m, 0.0f);
  Broadcast bc(c.out, c.a, "reduce_to_shape");
  const int r = static_cast<int>(c.out.size());
  const int64_t inner = c.out.back(), t_step = bc.stride_b.back();
  std::vector<int64_t> idx(static_cast<size_t>(r), 0);
  int64_t it = 0;
  for (int64_t o = 0; o < n; o += inner) {
    const float* go = g + o;
    float* t = dst + it;
    if (t_step) {
#pragma omp simd
      for (int64_t j = 0; j < inner; ++j) t[j] += scale * go[j];
    } else {
      float s = 0;
#pragma omp simd reduction(+ : s)
      for (int64_t j = 0; j < inner; ++j) s += go[j];
      t[0] += scale * s;
    }
    for (int ax = r - 2; ax >= 0; --ax) {
      const size_t u = static_cast<size_t>(ax);
      it += bc.stride_b[u];
      if (++idx[u] < c.out[u]) break;
      it -= bc.stride_b[u] * c.out[u];
      idx[u] = 0;
    }
  }
}

}  // namespace tca::ops
