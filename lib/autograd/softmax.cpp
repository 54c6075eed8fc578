// Softmax / log-softmax over the last axis on oneDNN's softmax_v2 primitives (softmax_accurate /
// softmax_log; both backwards work from dst, platform.md).
// The optional mask replaces logits by -FLT_MAX, as the reference does (masked_fill with the most
// negative finite float): a fully masked row becomes uniform (never NaN), and masked logits
// receive no gradient. The replacement is one binary min against a cap of +FLT_MAX (kept) or
// -FLT_MAX (masked) broadcast from the mask's shape: min(x, FLT_MAX) = x and
// min(x, -FLT_MAX) = -FLT_MAX for every finite x, so it is exactly masked_fill.
#include <cfloat>

#include "autograd/bound_primitive.hpp"
#include "autograd/broadcast.hpp"
#include "autograd/elementwise_kernels.hpp"
#include "autograd/grad_sink.hpp"
#include "autograd/ops.hpp"

namespace tca::ops {
namespace {

using dnnl::algorithm;

// x viewed as [R, C], softmax along axis 1. The backward is created on the first backward.
struct SoftmaxEntry {
  dnnl::softmax_v2_forward::primitive_desc fwd_pd;
  BoundPrimitive fwd, bwd;
};

std::string describe(algorithm alg, int64_t R, int64_t C) {
  return std::string(alg == algorithm::softmax_log ? "log_softmax" : "softmax") + " [" +
         std::to_string(R) + ", " + std::to_string(C) + "]";
}

SoftmaxEntry& entry(algorithm alg, int64_t R, int64_t C) {
  thread_local PrimitiveCache<SoftmaxEntry> cache;
  return cache.get(PrimitiveKey{{static_cast<int64_t>(alg), R, C}}, [&] {
    return create_primitive(describe(alg, R, C), [&] {
      const auto md = plain_md({R, C});
      dnnl::softmax_v2_forward::primitive_desc pd(
          dnnl::softmax_v2_forward::desc(dnnl::prop_kind::forward_training, alg, md, md, 1),
          dnnl_engine());
      return SoftmaxEntry{
          pd,
          BoundPrimitive(dnnl::softmax_v2_forward(pd), {{DNNL_ARG_SRC, md}, {DNNL_ARG_DST, md}}),
          {}};
    });
  });
}

const BoundPrimitive& backward_primitive(SoftmaxEntry& e, algorithm alg, int64_t R, int64_t C) {
  if (!e.bwd.defined())
    e.bwd = create_primitive(describe(alg, R, C) + " (backward)", [&] {
      const auto md = plain_md({R, C});
      dnnl::softmax_v2_backward::primitive_desc pd(
          dnnl::softmax_v2_backward::desc(alg, md, md, md, 1), dnnl_engine(), e.fwd_pd);
      return BoundPrimitive(dnnl::softmax_v2_backward(pd),
                            {{DNNL_ARG_DST, md}, {DNNL_ARG_DIFF_DST, md}, {DNNL_ARG_DIFF_SRC, md}});
    });
  return e.bwd;
}

// y = softmax(logits) (or log_softmax) along the last axis; records the backward on x. With
// `keep` (0/1 in the mask's shape) the gradient is multiplied by it.
Var softmax_last_axis(const Var& x, const Tensor& logits, algorithm alg, const Tensor& keep) {
  const int64_t C = x.shape().empty() ? 1 : x.shape().back();
  const int64_t R = C ? x.numel() / C : 0;
  Tensor y = Tensor::empty(x.shape());
  if (R > 0) entry(alg, R, C).fwd.run({{DNNL_ARG_SRC, logits.data()}, {DNNL_ARG_DST, y.data()}});
  return record(std::move(y), {x}, [alg, R, C, keep](Node& self) {
    Node& nx = *self.inputs[0];
    GradTarget t = grad_target(nx);
    if (R == 0) return;
    const BoundPrimitive& bwd = backward_primitive(entry(alg, R, C), alg, R, C);
    // softmax_v2_backward takes no sum post-op: an existing gradient receives the result
    // through a temporary; with a mask, that temporary is multiplied by keep on the way in.
    Tensor tmp = t.accumulate ? Tensor::empty({R * C}) : Tensor();
    float* out = t.accumulate ? tmp.data() : t.data;
    bwd.run({{DNNL_ARG_DST, self.value.data()},
             {DNNL_ARG_DIFF_DST, self.grad.data()},
             {DNNL_ARG_DIFF_SRC, out}});
    const Shape& s = self.value.shape();
    if (keep.defined())
      binary_broadcast(BinaryAlg::mul, out, s, keep.data(), keep.shape(), t.data, s, t.accumulate);
    else if (t.accumulate)
      add_into(t.data, out, R * C);
  });
}

}  // namespace

Var softmax(const Var& x, const Tensor& mask) {
  if (!mask.defined())
    return softmax_last_axis(x, x.value(), algorithm::softmax_accurate, Tensor());
  check_dtype("softmax mask", mask, DType::f32);
  if (Broadcast(x.shape(), mask.shape(), "softmax mask").out != x.shape())
    throw ShapeError("softmax: mask " + to_string(mask.shape()) + " does not broadcast to " +
                     to_string(x.shape()));
  Tensor cap = Tensor::empty(mask.shape()), keep = Tensor::empty(mask.shape());
  const float* pm = mask.data();
  for (int64_t i = 0, n = mask.numel(); i < n; ++i) {
    keep[i] = pm[i] != 0.0f ? 1.0f : 0.0f;
    cap[i] = pm[i] != 0.0f ? FLT_MAX : -FLT_MAX;
  }
  Tensor logits = Tensor::empty(x.shape());
  binary_broadcast(BinaryAlg::min, x.value().data(), x.shape(), cap.data(), cap.shape(),
                   logits.data(), x.shape(), false);
  return softmax_last_axis(x, logits, algorithm::softmax_accurate, keep);
}

Var log_softmax(const Var& x) {
  return softmax_last_axis(x, x.value(), algorithm::softmax_log, Tensor());
}

}  // namespace tca::ops
