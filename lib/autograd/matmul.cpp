// Batched matmul and linear on oneDNN. matmul has no backward primitive in oneDNN 2.6, so its
// gradients are matmuls on transposed views (strides, no copies; platform.md). linear runs
// forward as a matmul and backward on inner_product's backward-data and backward-weights
// primitives, which take the PyTorch [out, in] weight layout natively.
#include "autograd/bound_primitive.hpp"
#include "autograd/elementwise_kernels.hpp"
#include "autograd/flop_counter.hpp"
#include "autograd/grad_sink.hpp"
#include "autograd/ops.hpp"

namespace tca::ops {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

// C[batch, M, N] (+)= alpha op(A) op(B). A is stored [ba, M, K] (or [ba, K, M] when ta), B
// [bb, K, N] (or [bb, N, K] when tb); a batch of 1 broadcasts. Transposes are described with
// strides. alpha is the output scale and accumulation the sum post-op (no temporaries; oneDNN
// applies the output scale to the product before the sum post-op adds the old C).
void matmul_raw(const float* A, int64_t ba, bool ta, const float* B, int64_t bb, bool tb, float* C,
                int64_t M, int64_t K, int64_t N, bool accumulate, float alpha = 1.0f) {
  const int64_t batch = std::max(ba, bb);
  if (batch == 0 || M == 0 || N == 0) return;
  if (K == 0) {
    if (!accumulate) std::fill(C, C + batch * M * N, 0.0f);
    return;
  }
  thread_local PrimitiveCache<BoundPrimitive> cache;
  PrimitiveKey key{{ba, bb, M, K, N, ta, tb, accumulate, float_key(alpha)}};
  const BoundPrimitive& p = cache.get(key, [&] {
    return create_primitive(
        "matmul [" + std::to_string(ba) + ", " + std::to_string(M) + ", " + std::to_string(K) +
            "] x [" + std::to_string(bb) + ", " + std::to_string(K) + ", " + std::to_string(N) +
            "]",
        [&] {
          memory::dims a_strides = ta ? memory::dims{K * M, 1, M} : memory::dims{M * K, K, 1};
          memory::dims b_strides = tb ? memory::dims{N * K, 1, K} : memory::dims{K * N, N, 1};
          memory::desc a_md({ba, M, K}, dt::f32, a_strides);
          memory::desc b_md({bb, K, N}, dt::f32, b_strides);
          memory::desc c_md({batch, M, N}, dt::f32, tag::abc);
          dnnl::primitive_attr attr;
          if (alpha != 1.0f) attr.set_output_scales(0, {alpha});
          if (accumulate) {
            dnnl::post_ops po;
            po.append_sum(1.0f);
            attr.set_post_ops(po);
          }
          dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, b_md, c_md), attr,
                                          dnnl_engine());
          return BoundPrimitive(
              dnnl::matmul(pd),
              {{DNNL_ARG_SRC, a_md}, {DNNL_ARG_WEIGHTS, b_md}, {DNNL_ARG_DST, c_md}});
        });
  });
  p.run({{DNNL_ARG_SRC, A}, {DNNL_ARG_WEIGHTS, B}, {DNNL_ARG_DST, C}});
  count_matmul_flops(2 * batch * M * K * N);
}

// Like matmul_raw, but when the destination has batch 1 while the product has batch > 1 (the
// gradient of a broadcast operand), sums the per-batch products into it.
void matmul_into(const float* A, int64_t ba, bool ta, const float* B, int64_t bb, bool tb, float* C,
                 int64_t c_batch, int64_t M, int64_t K, int64_t N, bool accumulate, float alpha) {
  const int64_t batch = std::max(ba, bb);
  if (c_batch == batch) return matmul_raw(A, ba, ta, B, bb, tb, C, M, K, N, accumulate, alpha);
  for (int64_t i = 0; i < batch; ++i) {
    const float* Ai = A + (ba == 1 ? 0 : i * M * K);
    const float* Bi = B + (bb == 1 ? 0 : i * K * N);
    matmul_raw(Ai, 1, ta, Bi, 1, tb, C, M, K, N, accumulate || i > 0, alpha);
  }
}

// Batch extent of x [..., r, c] and its leading shape.
int64_t batch_of(const Shape& s) {
  int64_t n = 1;
  for (size_t i = 0; i + 2 < s.size(); ++i) n *= s[i];
  return n;
}

}  // namespace

Var matmul(const Var& a, const Var& b, bool trans_a, bool trans_b, float alpha) {
  const Shape &sa = a.shape(), &sb = b.shape();
  if (sa.size() < 2 || sb.size() < 2)
    throw ShapeError("matmul: operands need rank >= 2, found " + to_string(sa) + " and " +
                     to_string(sb));
  const int64_t M = trans_a ? sa[sa.size() - 1] : sa[sa.size() - 2];
  const int64_t K = trans_a ? sa[sa.size() - 2] : sa[sa.size() - 1];
  const int64_t Kb = trans_b ? sb[sb.size() - 1] : sb[sb.size() - 2];
  const int64_t N = trans_b ? sb[sb.size() - 2] : sb[sb.size() - 1];
  const int64_t ba = batch_of(sa), bb = batch_of(sb);
  if (K != Kb || (ba != bb && ba != 1 && bb != 1))
    throw ShapeError("matmul: incompatible shapes " + to_string(sa) + (trans_a ? "^T" : "") +
                     " and " + to_string(sb) + (trans_b ? "^T" : ""));
  // Leading (batch) extents come from the operand that is not broadcast.
  Shape lead_a(sa.begin(), sa.end() - 2), lead_b(sb.begin(), sb.end() - 2);
  Shape out = ba > bb   ? lead_a
              : bb > ba ? lead_b
                        : (lead_a.size() >= lead_b.size() ? lead_a : lead_b);
  out.push_back(M);
  out.push_back(N);
  Tensor c = Tensor::empty(out);
  matmul_raw(a.value().data(), ba, trans_a, b.value().data(), bb, trans_b, c.data(), M, K, N, false,
             alpha);
  return record(std::move(c), {a, b}, [=](Node& self) {
    const float* dC = self.grad.data();
    const int64_t batch = std::max(ba, bb);
    Node& na = *self.inputs[0];
    Node& nb = *self.inputs[1];
    // Both gradients carry alpha: dA = alpha dC op(B)^T, dB = alpha op(A)^T dC.
    if (na.requires_grad) {
      GradTarget t = grad_target(na);
      if (!trans_a)  // dA[M,K] = dC[M,N] op(B)^T
        matmul_into(dC, batch, false, nb.value.data(), bb, !trans_b, t.data, ba, M, N, K,
                    t.accumulate, alpha);
      else  // dA stored [K,M] = op(B)[K,N] dC^T
        matmul_into(nb.value.data(), bb, trans_b, dC, batch, true, t.data, ba, K, N, M,
                    t.accumulate, alpha);
    }
    if (nb.requires_grad) {
      GradTarget t = grad_target(nb);
      if (bb == 1 && batch > 1 && !trans_a) {
        // Broadcast B with A stored [batch*M, K]: the batch sum is one 2D matmul over batch*M
        // rows (platform.md: dW = A^T [K, B*M] dC [B*M, N]).
        if (!trans_b)  // dB[K,N] = A^T dC
          matmul_raw(na.value.data(), 1, true, dC, 1, false, t.data, K, batch * M, N, t.accumulate,
                     alpha);
        else  // dB stored [N,K] = dC^T A
          matmul_raw(dC, 1, true, na.value.data(), 1, false, t.data, N, batch * M, K, t.accumulate,
                     alpha);
      } else if (!trans_b) {  // dB[K,N] = op(A)^T dC
        matmul_into(na.value.data(), ba, !trans_a, dC, batch, false, t.data, bb, K, M, N,
                    t.accumulate, alpha);
      } else {  // dB stored [N,K] = dC^T op(A)
        matmul_into(dC, batch, true, na.value.data(), ba, trans_a, t.data, bb, N, M, K,
                    t.accumulate, alpha);
      }
    }
  });
}

namespace {

// The primitives of one linear shape ([R, in] x [out, in]^T + [out]). The forward is a matmul
// (brgemm), 10-17% faster than inner_product's gemm:jit forward on every model shape (AMD EPYC,
// avx512_core, 1 thread: [16384, 64] -> 64 in 1.20 vs 1.41 ms, [400, 64] -> 64 in 29.6 vs
// 34.9 us). The backward stays on inner_product: its backward-weights primitive gives dW and db in
// one pass, and matmuls on transposed views plus a bias reduction were no faster there. The
// inner_product forward descriptor is still created, as the backward descriptors' hint.
struct LinearEntry {
  BoundPrimitive fwd, bwd_data, bwd_weights;
};

LinearEntry& linear_entry(int64_t R, int64_t in, int64_t out, bool has_bias, LinearActivation act) {
  thread_local PrimitiveCache<LinearEntry> cache;
  return cache.get(PrimitiveKey{{R, in, out, has_bias, static_cast<int64_t>(act)}}, [&] {
    return create_primitive(
        "linear [" + std::to_string(R) + ", " + std::to_string(in) + "] -> " + std::to_string(out),
        [&] {
          auto& eng = dnnl_engine();
          memory::desc src_md({R, in}, dt::f32, tag::nc), w_md({out, in}, dt::f32, tag::oi),
              b_md({out}, dt::f32, tag::x), dst_md({R, out}, dt::f32, tag::nc);
          using ipf = dnnl::inner_product_forward;
          auto fwd_d =
              has_bias ? ipf::desc(dnnl::prop_kind::forward_training, src_md, w_md, b_md, dst_md)
                       : ipf::desc(dnnl::prop_kind::forward_training, src_md, w_md, dst_md);
          ipf::primitive_desc fwd_pd(fwd_d, eng);
          dnnl::inner_product_backward_data::primitive_desc bd_pd(
              dnnl::inner_product_backward_data::desc(src_md, w_md, dst_md), eng, fwd_pd);
          auto bw_d = has_bias
                          ? dnnl::inner_product_backward_weights::desc(src_md, w_md, b_md, dst_md)
                          : dnnl::inner_product_backward_weights::desc(src_md, w_md, dst_md);
          dnnl::inner_product_backward_weights::primitive_desc bw_pd(bw_d, eng, fwd_pd);
          LinearEntry e;
          // Forward: W [out, in] read as the [in, out] weights operand through strides; the
          // activation, if any, as an eltwise post-op.
          memory::desc wt_md({in, out}, dt::f32, memory::dims{1, in});
          dnnl::primitive_attr attr;
          if (act != LinearActivation::none) {
            dnnl::post_ops po;
            po.append_eltwise(1.0f,
                              act == LinearActivation::relu ? dnnl::algorithm::eltwise_relu
                                                            : dnnl::algorithm::eltwise_elu,
                              act == LinearActivation::relu ? 0.0f : 1.0f, 0.0f);
            attr.set_post_ops(po);
          }
          if (has_bias) {
            memory::desc b2_md({1, out}, dt::f32, tag::ab);
            dnnl::matmul::primitive_desc mm_pd(dnnl::matmul::desc(src_md, wt_md, b2_md, dst_md),
                                               attr, eng);
            e.fwd = BoundPrimitive(dnnl::matmul(mm_pd), {{DNNL_ARG_SRC, src_md},
                                                         {DNNL_ARG_WEIGHTS, wt_md},
                                                         {DNNL_ARG_BIAS, b2_md},
                                                         {DNNL_ARG_DST, dst_md}});
            e.bwd_weights = BoundPrimitive(dnnl::inner_product_backward_weights(bw_pd),
                                           {{DNNL_ARG_SRC, src_md},
                                            {DNNL_ARG_DIFF_DST, dst_md},
                                            {DNNL_ARG_DIFF_WEIGHTS, w_md},
                                            {DNNL_ARG_DIFF_BIAS, b_md}});
          } else {
            dnnl::matmul::primitive_desc mm_pd(dnnl::matmul::desc(src_md, wt_md, dst_md), attr,
                                               eng);
            e.fwd = BoundPrimitive(
                dnnl::matmul(mm_pd),
                {{DNNL_ARG_SRC, src_md}, {DNNL_ARG_WEIGHTS, wt_md}, {DNNL_ARG_DST, dst_md}});
            e.bwd_weights = BoundPrimitive(dnnl::inner_product_backward_weights(bw_pd),
                                           {{DNNL_ARG_SRC, src_md},
                                            {DNNL_ARG_DIFF_DST, dst_md},
                                            {DNNL_ARG_DIFF_WEIGHTS, w_md}});
          }
          e.bwd_data = BoundPrimitive(
              dnnl::inner_product_backward_data(bd_pd),
              {{DNNL_ARG_DIFF_DST, dst_md}, {DNNL_ARG_WEIGHTS, w_md}, {DNNL_ARG_DIFF_SRC, src_md}});
          return e;
        });
  });
}

// Gradients of linear when the inner_product primitives cannot be used (no rows or no inputs).
void linear_backward_degenerate(Node& self, int64_t R, int64_t out) {
  for (size_t i = 0; i < self.inputs.size(); ++i) {
    Node& n = *self.inputs[i];
    if (!n.requires_grad) continue;
    GradTarget t = grad_target(n);
    if (i == 2)  // bias: dY summed over rows
      reduce_to_shape(self.grad.data(), {R, out}, t.data, {out}, t.accumulate);
    else if (!t.accumulate)
      std::fill(t.data, t.data + n.value.numel(), 0.0f);
  }
}

// dZ = g * f'(z) for y = f(z), from y (z is not kept): relu' = [y > 0]; elu' (alpha 1) = 1 for
// y > 0, else e^z = y + 1. Both agree with oneDNN's eltwise backward, also at z = 0.
Tensor activation_grad(LinearActivation act, const float* y, const float* g, int64_t n) {
  Tensor dz = Tensor::empty({n});
  float* d = dz.data();
  if (act == LinearActivation::relu) {
#pragma omp parallel for simd schedule(static) if (n > elementwise_loop_max())
    for (int64_t i = 0; i < n; ++i) d[i] = y[i] > 0.0f ? g[i] : 0.0f;
  } else {
#pragma omp parallel for simd schedule(static) if (n > elementwise_loop_max())
    for (int64_t i = 0; i < n; ++i) d[i] = g[i] * (y[i] > 0.0f ? 1.0f : y[i] + 1.0f);
  }
  return dz;
}

Var linear_impl(const Var& x, const Var& weight, const Var& bias, LinearActivation act) {
  const Shape& sx = x.shape();
  const Shape& sw = weight.shape();
  if (sw.size() != 2 || sx.empty() || sx.back() != sw[1] ||
      (bias.defined() && (bias.rank() != 1 || bias.dim(0) != sw[0])))
    throw ShapeError("linear: input " + to_string(sx) + " does not fit weight " + to_string(sw) +
                     (bias.defined() ? " and bias " + to_string(bias.shape()) : ""));
  const int64_t in = sw[1], out = sw[0];
  int64_t R = 1;
  for (size_t i = 0; i + 1 < sx.size(); ++i) R *= sx[i];
  Shape out_shape = sx;
  out_shape.back() = out;
  Tensor y = Tensor::empty(out_shape);
  const bool has_bias = bias.defined();
  const bool degenerate = R == 0 || in == 0 || out == 0;
  if (degenerate && act != LinearActivation::none) {  // no primitive: the unfused form
    Var z = linear_impl(x, weight, bias, LinearActivation::none);
    return act == LinearActivation::relu ? relu(z) : elu(z, 1.0f);
  }
  if (!degenerate) {
    const float* pb = has_bias ? bias.value().data() : nullptr;
    const LinearEntry& e = linear_entry(R, in, out, has_bias, act);
    if (has_bias)
      e.fwd.run({{DNNL_ARG_SRC, x.value().data()},
                 {DNNL_ARG_WEIGHTS, weight.value().data()},
                 {DNNL_ARG_BIAS, pb},
                 {DNNL_ARG_DST, y.data()}});
    else
      e.fwd.run({{DNNL_ARG_SRC, x.value().data()},
                 {DNNL_ARG_WEIGHTS, weight.value().data()},
                 {DNNL_ARG_DST, y.data()}});
    count_matmul_flops(2 * R * in * out);
  } else {
    for (int64_t r = 0; r < R; ++r)
      for (int64_t o = 0; o < out; ++o) y.data()[r * out + o] = has_bias ? bias.value()[o] : 0.0f;
  }
  return record(std::move(y), {x, weight, bias}, [=](Node& self) {
    if (degenerate) return linear_backward_degenerate(self, R, out);
    const LinearEntry& e = linear_entry(R, in, out, has_bias, act);
    Node &nx = *self.inputs[0], &nw = *self.inputs[1], &nb = *self.inputs[2];
    // With an activation, the gradient below is the pre-activation one.
    const Tensor dz = act == LinearActivation::none
                          ? Tensor()
                          : activation_grad(act, self.value.data(), self.grad.data(), R * out);
    const float* dY = act == LinearActivation::none ? self.grad.data() : dz.data();
    if (nx.requires_grad) {
      GradTarget t = grad_target(nx);
      if (!t.accumulate) {
        e.bwd_data.run({{DNNL_ARG_DIFF_DST, dY},
                        {DNNL_ARG_WEIGHTS, nw.value.data()},
                        {DNNL_ARG_DIFF_SRC, t.data}});
        count_matmul_flops(2 * R * in * out);
      } else {  // dX[R,in] += dY[R,out] W[out,in]: a matmul with the sum post-op, no temporary
        matmul_raw(dY, 1, false, nw.value.data(), 1, false, t.data, R, out, in, true);
      }
    }
    const bool bias_needs = has_bias && nb.requires_grad;
    if (!nw.requires_grad && !bias_needs) return;
    GradTarget tw = nw.requires_grad ? grad_target(nw) : GradTarget{};
    GradTarget tb = bias_needs ? grad_target(nb) : GradTarget{};
    const bool fused =
        nw.requires_grad && !tw.accumulate && (!has_bias || (bias_needs && !tb.accumulate));
    if (!fused) {
      // Some gradient already holds a value (a parameter used twice) or one is not wanted:
      // dW[out,in] (+)= dY^T X as a matmul on the transposed view, db (+)= dY summed over rows.
      if (nw.requires_grad)
        matmul_raw(dY, 1, true, nx.value.data(), 1, false, tw.data, out, R, in, tw.accumulate);
      if (bias_needs) reduce_to_shape(dY, {R, out}, tb.data, {out}, tb.accumulate);
      return;
    }
    // Both fresh (the common case): one backward-weights primitive writes them directly.
    if (has_bias)
      e.bwd_weights.run({{DNNL_ARG_SRC, nx.value.data()},
                         {DNNL_ARG_DIFF_DST, dY},
                         {DNNL_ARG_DIFF_WEIGHTS, tw.data},
                         {DNNL_ARG_DIFF_BIAS, tb.data}});
    else
      e.bwd_weights.run({{DNNL_ARG_SRC, nx.value.data()},
                         {DNNL_ARG_DIFF_DST, dY},
                         {DNNL_ARG_DIFF_WEIGHTS, tw.data}});
    count_matmul_flops(2 * R * in * out);
  });
}

}  // namespace

Var linear(const Var& x, const Var& weight, const Var& bias) {
  return linear_impl(x, weight, bias, LinearActivation::none);
}

Var linear_act(const Var& x, const Var& weight, const Var& bias, LinearActivation act) {
  return linear_impl(x, weight, bias, act);
}

}  // namespace tca::ops
