// Batched matmul and linear on oneDNN. matmul has no backward primitive in oneDNN 2.6, so its
// gradients are matmuls on transposed views (strides, no copies; platform.md). linear uses
// inner_product, which has backward-data and backward-weights primitives and takes the PyTorch
// [out, in] weight layout natively.
#include "core/dnnl_context.hpp"
#include "autograd/ops.hpp"
#include "core/error.hpp"

namespace tca::ops {
namespace {

using dnnl::memory;
using tag = memory::format_tag;
using dt = memory::data_type;

struct MatmulEntry {
  dnnl::matmul prim;
  memory::desc a_md, b_md, c_md;
};

// C[batch, M, N] (+)= op(A) op(B). A is stored [ba, M, K] (or [ba, K, M] when ta), B [bb, K, N]
// (or [bb, N, K] when tb); a batch of 1 broadcasts. Transposes are described with strides.
void matmul_raw(const float* A, int64_t ba, bool ta, const float* B, int64_t bb, bool tb, float* C,
                int64_t M, int64_t K, int64_t N, bool accumulate) {
  const int64_t batch = std::max(ba, bb);
  if (batch == 0 || M == 0 || N == 0) return;
  if (K == 0) {
    if (!accumulate) std::fill(C, C + batch * M * N, 0.0f);
    return;
  }
  static PrimitiveCache<MatmulEntry> cache;
  PrimitiveKey key{{ba, bb, M, K, N, ta, tb, accumulate}};
  MatmulEntry& e = cache.get(key, [&] {
    memory::dims a_strides = ta ? memory::dims{K * M, 1, M} : memory::dims{M * K, K, 1};
    memory::dims b_strides = tb ? memory::dims{N * K, 1, K} : memory::dims{K * N, N, 1};
    memory::desc a_md({ba, M, K}, dt::f32, a_strides);
    memory::desc b_md({bb, K, N}, dt::f32, b_strides);
    memory::desc c_md({batch, M, N}, dt::f32, tag::abc);
    dnnl::primitive_attr attr;
    if (accumulate) {
      dnnl::post_ops po;
      po.append_sum(1.0f);
      attr.set_post_ops(po);
    }
    dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, b_md, c_md), attr, dnnl_engine());
    count_primitive_created();
    return MatmulEntry{dnnl::matmul(pd), a_md, b_md, c_md};
  });
  auto& eng = dnnl_engine();
  memory a(e.a_md, eng, const_cast<float*>(A)), b(e.b_md, eng, const_cast<float*>(B)),
      c(e.c_md, eng, C);
  e.prim.execute(dnnl_stream(), {{DNNL_ARG_SRC, a}, {DNNL_ARG_WEIGHTS, b}, {DNNL_ARG_DST, c}});
  dnnl_stream().wait();
}

// Like matmul_raw, but when the destination has batch 1 while the product has batch > 1 (the
// gradient of a broadcast operand), sums the per-batch products into it.
void matmul_into(const float* A, int64_t ba, bool ta, const float* B, int64_t bb, bool tb,
                 float* C, int64_t c_batch, int64_t M, int64_t K, int64_t N, bool accumulate) {
  const int64_t batch = std::max(ba, bb);
  if (c_batch == batch) return matmul_raw(A, ba, ta, B, bb, tb, C, M, K, N, accumulate);
  for (int64_t i = 0; i < batch; ++i) {
    const float* Ai = A + (ba == 1 ? 0 : i * M * K);
    const float* Bi = B + (bb == 1 ? 0 : i * K * N);
    matmul_raw(Ai, 1, ta, Bi, 1, tb, C, M, K, N, accumulate || i > 0);
  }
}

// Batch extent of x [..., r, c] and its leading shape.
int64_t batch_of(const Shape& s) {
  int64_t n = 1;
  for (size_t i = 0; i + 2 < s.size(); ++i) n *= s[i];
  return n;
}

// Where to write an input's gradient: directly into a fresh buffer, or accumulate.
float* grad_target(Node& n, bool& accumulate) {
  accumulate = n.grad.defined();
  if (!accumulate) n.grad = Tensor::empty(n.value.shape());
  return n.grad.data();
}

}  // namespace

Var matmul(const Var& a, const Var& b, bool trans_a, bool trans_b) {
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
  Shape out = ba > bb ? lead_a : bb > ba ? lead_b : (lead_a.size() >= lead_b.size() ? lead_a : lead_b);
  out.push_back(M);
  out.push_back(N);
  Tensor c = Tensor::empty(out);
  matmul_raw(a.value().data(), ba, trans_a, b.value().data(), bb, trans_b, c.data(), M, K, N, false);
  return record(std::move(c), {a, b}, [=](Node& self) {
    const float* dC = self.grad.data();
    const int64_t batch = std::max(ba, bb);
    Node& na = *self.inputs[0];
    Node& nb = *self.inputs[1];
    if (na.requires_grad) {
      bool acc;
      float* dA = grad_target(na, acc);
      if (!trans_a)  // dA[M,K] = dC[M,N] op(B)^T
        matmul_into(dC, batch, false, nb.value.data(), bb, !trans_b, dA, ba, M, N, K, acc);
      else  // dA stored [K,M] = op(B)[K,N] dC^T
        matmul_into(nb.value.data(), bb, trans_b, dC, batch, true, dA, ba, K, N, M, acc);
    }
    if (nb.requires_grad) {
      bool acc;
      float* dB = grad_target(nb, acc);
      if (!trans_b)  // dB[K,N] = op(A)^T dC
        matmul_into(na.value.data(), ba, !trans_a, dC, batch, false, dB, bb, K, M, N, acc);
      else  // dB stored [N,K] = dC^T op(A)
        matmul_into(dC, batch, true, na.value.data(), ba, trans_a, dB, bb, N, M, K, acc);
    }
  });
}

namespace {

struct LinearEntry {
  dnnl::inner_product_forward fwd;
  dnnl::inner_product_backward_data bwd_data;
  dnnl::inner_product_backward_weights bwd_weights;
  memory::desc src_md, w_md, b_md, dst_md;
};

LinearEntry& linear_entry(int64_t R, int64_t in, int64_t out, bool has_bias) {
  static PrimitiveCache<LinearEntry> cache;
  return cache.get(PrimitiveKey{{R, in, out, has_bias}}, [&] {
    auto& eng = dnnl_engine();
    memory::desc src_md({R, in}, dt::f32, tag::nc), w_md({out, in}, dt::f32, tag::oi),
        b_md({out}, dt::f32, tag::x), dst_md({R, out}, dt::f32, tag::nc);
    auto fwd_d = has_bias ? dnnl::inner_product_forward::desc(dnnl::prop_kind::forward_training,
                                                              src_md, w_md, b_md, dst_md)
                          : dnnl::inner_product_forward::desc(dnnl::prop_kind::forward_training,
                                                              src_md, w_md, dst_md);
    dnnl::inner_product_forward::primitive_desc fwd_pd(fwd_d, eng);
    dnnl::inner_product_backward_data::primitive_desc bd_pd(
        dnnl::inner_product_backward_data::desc(src_md, w_md, dst_md), eng, fwd_pd);
    auto bw_d = has_bias ? dnnl::inner_product_backward_weights::desc(src_md, w_md, b_md, dst_md)
                         : dnnl::inner_product_backward_weights::desc(src_md, w_md, dst_md);
    dnnl::inner_product_backward_weights::primitive_desc bw_pd(bw_d, eng, fwd_pd);
    count_primitive_created();
    return LinearEntry{dnnl::inner_product_forward(fwd_pd), dnnl::inner_product_backward_data(bd_pd),
                       dnnl::inner_product_backward_weights(bw_pd), src_md, w_md, b_md, dst_md};
  });
}

}  // namespace

Var linear(const Var& x, const Var& weight, const Var& bias) {
  const Shape& sx = x.shape();
  const Shape& sw = weight.shape();
  if (sw.size() != 2 || sx.empty() || sx.back() != sw[1] ||
      (bias.defined() && (bias.rank() != 1 || bias.dim(0) != sw[0])))
    throw ShapeError("linear: input " + to_string(sx) + " does not fit weight " + to_string(sw) +
                     (bias.defined() ? " and bias " + to_string(bias.shape()) : ""));
  const int64_t in = sw[1], out = sw[0], R = x.numel() / std::max<int64_t>(in, 1);
  Shape out_shape = sx;
  out_shape.back() = out;
  Tensor y = Tensor::empty(out_shape);
  const bool has_bias = bias.defined();
  if (R > 0 && in > 0) {
    LinearEntry& e = linear_entry(R, in, out, has_bias);
    auto& eng = dnnl_engine();
    memory src(e.src_md, eng, const_cast<float*>(x.value().data())),
        w(e.w_md, eng, const_cast<float*>(weight.value().data())), dst(e.dst_md, eng, y.data());
    std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DST, dst}};
    if (has_bias) args.emplace(DNNL_ARG_BIAS, memory(e.b_md, eng, const_cast<float*>(bias.value().data())));
    e.fwd.execute(dnnl_stream(), args);
    dnnl_stream().wait();
  } else {
    for (int64_t r = 0; r < R; ++r)
      for (int64_t o = 0; o < out; ++o) y.data()[r * out + o] = has_bias ? bias.value()[o] : 0.0f;
  }
  return record(std::move(y), {x, weight, bias}, [=](Node& self) {
    if (R == 0 || in == 0) return;
    LinearEntry& e = linear_entry(R, in, out, has_bias);
    auto& eng = dnnl_engine();
    Node &nx = *self.inputs[0], &nw = *self.inputs[1];
    memory ddst(e.dst_md, eng, self.grad.data());
    if (nx.requires_grad) {
      bool acc;
      float* target = grad_target(nx, acc);
      Tensor tmp = acc ? Tensor::empty(nx.value.shape()) : Tensor();
      memory dsrc(e.src_md, eng, acc ? tmp.data() : target);
      memory w(e.w_md, eng, nw.value.data());
      e.bwd_data.execute(dnnl_stream(), {{DNNL_ARG_DIFF_DST, ddst}, {DNNL_ARG_WEIGHTS, w}, {DNNL_ARG_DIFF_SRC, dsrc}});
      dnnl_stream().wait();
      if (acc) nx.grad.add_(tmp);
    }
    const bool bias_needs = has_bias && self.inputs[2]->requires_grad;
    if (nw.requires_grad || bias_needs) {
      Tensor dw = Tensor::empty(nw.value.shape());
      Tensor db = has_bias ? Tensor::empty({out}) : Tensor();
      memory src(e.src_md, eng, nx.value.data()), mdw(e.w_md, eng, dw.data());
      std::unordered_map<int, memory> args{{DNNL_ARG_SRC, src}, {DNNL_ARG_DIFF_DST, ddst}, {DNNL_ARG_DIFF_WEIGHTS, mdw}};
      if (has_bias) args.emplace(DNNL_ARG_DIFF_BIAS, memory(e.b_md, eng, db.data()));
      e.bwd_weights.execute(dnnl_stream(), args);
      dnnl_stream().wait();
      if (nw.requires_grad) nw.grad_buffer().add_(dw);
      if (bias_needs) self.inputs[2]->grad_buffer().add_(db);
    }
  });
}

}  // namespace tca::ops
