// Elementwise unary ops y = f(x) (ops.hpp "unary.cpp"): every one is a oneDNN eltwise algorithm,
// forward and backward (the backward from src; platform.md verified every algorithm used here
// against finite differences). The cheap algorithms (relu, linear, square) run as loops on small
// tensors (elementwise_kernels.hpp: kLoopMaxElements*).
// Accuracy of oneDNN 2.6's kernels against double precision (measured on 200k points in
// [-30, 30], avx512_core): relu exact; elu, gelu_erf and exp within 4e-7 absolute (exp: 2.3e-7
// relative); log within 3.6e-6 absolute near 1; soft_relu within 2e-6 absolute, so for x < -15
// it may return a tiny negative number instead of e^x.
#include <dnnl.hpp>
#include <optional>

#include "autograd/bound_primitive.hpp"
#include "autograd/elementwise_kernels.hpp"
#include "autograd/grad_sink.hpp"
#include "autograd/ops.hpp"
#include "autograd/write_or_accumulate.hpp"

namespace tca::ops {
namespace {

using dnnl::algorithm;

// Forward and backward primitives of one algorithm on a flat [n] tensor (every shape with n
// elements shares them). The backward is created on the first backward: inference never needs it.
struct EltwiseEntry {
  dnnl::eltwise_forward::primitive_desc fwd_pd;
  BoundPrimitive fwd, bwd;
};

std::string describe(algorithm alg, int64_t n) {
  return "eltwise " + std::to_string(static_cast<int>(alg)) + " on " + std::to_string(n) +
         " floats";
}

EltwiseEntry& entry(algorithm alg, int64_t n, float alpha, float beta) {
  thread_local PrimitiveCache<EltwiseEntry> cache;
  return cache.get(
      PrimitiveKey{{static_cast<int64_t>(alg), n, float_key(alpha), float_key(beta)}}, [&] {
        return create_primitive(describe(alg, n), [&] {
          const auto md = plain_md({n});
          dnnl::eltwise_forward::primitive_desc pd(
              dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_training, alg, md, alpha, beta),
              dnnl_engine());
          return EltwiseEntry{
              pd,
              BoundPrimitive(dnnl::eltwise_forward(pd), {{DNNL_ARG_SRC, md}, {DNNL_ARG_DST, md}}),
              {}};
        });
      });
}

const BoundPrimitive& backward_primitive(EltwiseEntry& e, algorithm alg, int64_t n, float alpha,
                                         float beta) {
  if (!e.bwd.defined())
    e.bwd = create_primitive(describe(alg, n) + " (backward)", [&] {
      const auto md = plain_md({n});
      dnnl::eltwise_backward::primitive_desc pd(
          dnnl::eltwise_backward::desc(alg, md, md, alpha, beta), dnnl_engine(), e.fwd_pd);
      return BoundPrimitive(dnnl::eltwise_backward(pd),
                            {{DNNL_ARG_SRC, md}, {DNNL_ARG_DIFF_DST, md}, {DNNL_ARG_DIFF_SRC, md}});
    });
  return e.bwd;
}

// The loop form of the cheap algorithms: f(x) and f'(x), identical in value to oneDNN's
// definitions (relu: alpha * x below zero, derivative alpha at x <= 0).
bool has_loop(algorithm alg) {
  return alg == algorithm::eltwise_relu || alg == algorithm::eltwise_linear ||
         alg == algorithm::eltwise_square;
}

void loop_forward(algorithm alg, const float* x, float* y, int64_t n, float alpha, float beta) {
  if (alg == algorithm::eltwise_relu) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] > 0.0f ? x[i] : alpha * x[i];
  } else if (alg == algorithm::eltwise_linear) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) y[i] = alpha * x[i] + beta;
  } else {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] * x[i];
  }
}

// dx (+)= g * f'(x), f'(x) given by d(i).
template <class D>
void apply_derivative(const float* g, float* dx, int64_t n, bool acc, D d) {
  with_accumulate(acc, [&](auto accumulate) {
#pragma omp simd
    for (int64_t i = 0; i < n; ++i) store(accumulate, dx[i], g[i] * d(i));
  });
}

void loop_backward(algorithm alg, const float* x, const float* g, float* dx, int64_t n, float alpha,
                   bool acc) {
  if (alg == algorithm::eltwise_relu)
    apply_derivative(g, dx, n, acc, [&](int64_t i) { return x[i] > 0.0f ? 1.0f : alpha; });
  else if (alg == algorithm::eltwise_linear)
    apply_derivative(g, dx, n, acc, [&](int64_t) { return alpha; });
  else
    apply_derivative(g, dx, n, acc, [&](int64_t i) { return 2.0f * x[i]; });
}

}  // namespace

Var eltwise(const Var& x, algorithm alg, float alpha, float beta) {
  const int64_t n = x.numel();
  Tensor y = Tensor::empty(x.shape());
  const bool use_loop = has_loop(alg) && n <= elementwise_loop_max();
  if (n > 0) {
    if (use_loop)
      loop_forward(alg, x.value().data(), y.data(), n, alpha, beta);
    else
      entry(alg, n, alpha, beta)
          .fwd.run({{DNNL_ARG_SRC, x.value().data()}, {DNNL_ARG_DST, y.data()}});
  }
  return record(std::move(y), {x}, [alg, alpha, beta, n, use_loop](Node& self) {
    Node& nx = *self.inputs[0];
    if (n == 0) {
      grad_target(nx);  // an empty gradient
      return;
    }
    const float* xs = nx.value.data();
    GradTarget t = grad_target(nx);
    if (use_loop) return loop_backward(alg, xs, self.grad.data(), t.data, n, alpha, t.accumulate);
    // eltwise_backward takes no sum post-op in 2.6: a fresh gradient is written in place, an
    // existing one receives the result through a temporary.
    const BoundPrimitive& bwd = backward_primitive(entry(alg, n, alpha, beta), alg, n, alpha, beta);
    Tensor tmp = t.accumulate ? Tensor::empty({n}) : Tensor();
    float* out = t.accumulate ? tmp.data() : t.data;
    bwd.run({{DNNL_ARG_SRC, xs}, {DNNL_ARG_DIFF_DST, self.grad.data()}, {DNNL_ARG_DIFF_SRC, out}});
    if (t.accumulate) add_into(t.data, out, n);
  });
}

// ---- the named ops

Var relu(const Var& x) { return eltwise(x, algorithm::eltwise_relu, 0.0f); }

Var elu(const Var& x, float alpha) { return eltwise(x, algorithm::eltwise_elu, alpha); }

// Exact GELU: x * Phi(x), Phi the standard normal CDF (tca.md 1: GEGLU uses the erf form).
Var gelu(const Var& x) { return eltwise(x, algorithm::eltwise_gelu_erf); }

Var exp(const Var& x) { return eltwise(x, algorithm::eltwise_exp); }

Var log(const Var& x) { return eltwise(x, algorithm::eltwise_log); }

// log(1 + e^x). oneDNN 2.6 ignores alpha for soft_relu; 1 keeps the same meaning in v3, where
// alpha scales x.
Var softplus(const Var& x) { return eltwise(x, algorithm::eltwise_soft_relu, 1.0f); }

Var square(const Var& x) { return eltwise(x, algorithm::eltwise_square); }

}  // namespace tca::ops
