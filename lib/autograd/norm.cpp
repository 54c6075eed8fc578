// Layer normalisation over the last axis (eps inside the sqrt, biased variance; tca.md 1) on
// oneDNN's layer_normalization primitives (platform.md: flags use_scale | use_shift; the backward
// needs prop_kind::backward for diff_scale/diff_shift and the MEAN and VARIANCE written by a
// forward_training run; VARIANCE is the biased variance and eps sits inside the sqrt, as here).
#include "autograd/bound_primitive.hpp"
#include "autograd/grad_sink.hpp"
#include "autograd/ops.hpp"

namespace tca::ops {
namespace {

using dnnl::normalization_flags;

const normalization_flags kFlags = normalization_flags::use_scale | normalization_flags::use_shift;

// x viewed as [R, C]. The backward is created on the first backward.
struct LayerNormEntry {
  dnnl::layer_normalization_forward::primitive_desc fwd_pd;
  BoundPrimitive fwd, bwd;
};

std::string describe(int64_t R, int64_t C) {
  return "layer_norm [" + std::to_string(R) + ", " + std::to_string(C) + "]";
}

LayerNormEntry& entry(int64_t R, int64_t C, float eps) {
  thread_local PrimitiveCache<LayerNormEntry> cache;
  return cache.get(PrimitiveKey{{R, C, float_key(eps)}}, [&] {
    return create_primitive(describe(R, C), [&] {
      const auto data = plain_md({R, C}), stat = plain_md({R}), param = plain_md({C});
      dnnl::layer_normalization_forward::primitive_desc pd(
          dnnl::layer_normalization_forward::desc(dnnl::prop_kind::forward_training, data, stat,
                                                  eps, kFlags),
          dnnl_engine());
      BoundPrimitive fwd(dnnl::layer_normalization_forward(pd), {{DNNL_ARG_SRC, data},
                                                                 {DNNL_ARG_SCALE, param},
                                                                 {DNNL_ARG_SHIFT, param},
                                                                 {DNNL_ARG_DST, data},
                                                                 {DNNL_ARG_MEAN, stat},
                                                                 {DNNL_ARG_VARIANCE, stat}});
      return LayerNormEntry{pd, std::move(fwd), {}};
    });
  });
}

const BoundPrimitive& backward_primitive(LayerNormEntry& e, int64_t R, int64_t C, float eps) {
  if (!e.bwd.defined())
    e.bwd = create_primitive(describe(R, C) + " (backward)", [&] {
      const auto data = plain_md({R, C}), stat = plain_md({R}), param = plain_md({C});
      dnnl::layer_normalization_backward::primitive_desc pd(
          dnnl::layer_normalization_backward::desc(dnnl::prop_kind::backward, data, data, stat, eps,
                                                   kFlags),
          dnnl_engine(), e.fwd_pd);
      return BoundPrimitive(dnnl::layer_normalization_backward(pd), {{DNNL_ARG_SRC, data},
                                                                     {DNNL_ARG_MEAN, stat},
                                                                     {DNNL_ARG_VARIANCE, stat},
                                                                     {DNNL_ARG_DIFF_DST, data},
                                                                     {DNNL_ARG_SCALE, param},
                                                                     {DNNL_ARG_SHIFT, param},
                                                                     {DNNL_ARG_DIFF_SRC, data},
                                                                     {DNNL_ARG_DIFF_SCALE, param},
                                                                     {DNNL_ARG_DIFF_SHIFT, param}});
    });
  return e.bwd;
}

// Where the backward writes one gradient: straight into a fresh gradient, else into a temporary
// that is then added (layer_normalization_backward takes no sum post-op). An input that needs no
// gradient still gets a scratch buffer: the primitive always writes all three.
struct Slot {
  Node* node = nullptr;
  GradTarget target;
  Tensor tmp;
  float* out = nullptr;

  Slot(Node& n, int64_t count) : node(&n) {
    if (n.requires_grad) target = grad_target(n);
    if (n.requires_grad && !target.accumulate) {
      out = target.data;
    } else {
      tmp = Tensor::empty({count});
      out = tmp.data();
    }
  }
  void finish(int64_t count) {
    if (node->requires_grad && target.accumulate) add_into(target.data, out, count);
  }
};

}  // namespace

Var layer_norm(const Var& x, const Var& gamma, const Var& beta, float eps) {
  const int64_t C = x.shape().empty() ? 0 : x.shape().back();
  if (x.rank() < 1 || gamma.rank() != 1 || gamma.dim(0) != C || beta.rank() != 1 ||
      beta.dim(0) != C)
    throw ShapeError("layer_norm: input " + to_string(x.shape()) + " vs scale " +
                     to_string(gamma.shape()) + " and shift " + to_string(beta.shape()));
  const int64_t R = C ? x.numel() / C : 0;
  Tensor y = Tensor::empty(x.shape());
  Tensor mean = Tensor::empty({R}), variance = Tensor::empty({R});
  if (R > 0 && C > 0)
    entry(R, C, eps).fwd.run({{DNNL_ARG_SRC, x.value().data()},
                              {DNNL_ARG_SCALE, gamma.value().data()},
                              {DNNL_ARG_SHIFT, beta.value().data()},
                              {DNNL_ARG_DST, y.data()},
                              {DNNL_ARG_MEAN, mean.data()},
                              {DNNL_ARG_VARIANCE, variance.data()}});
  return record(std::move(y), {x, gamma, beta}, [mean, variance, R, C, eps](Node& self) {
    Node &nx = *self.inputs[0], &ng = *self.inputs[1], &nb = *self.inputs[2];
    if (R == 0 || C == 0) {  // no rows: every gradient is zero
      for (Node* n : {&nx, &ng, &nb})
        if (n->requires_grad && !n->grad.defined()) n->grad = Tensor::zeros(n->value.shape());
      return;
    }
    const BoundPrimitive& bwd = backward_primitive(entry(R, C, eps), R, C, eps);
    Slot dx(nx, R * C), dgamma(ng, C), dbeta(nb, C);
    bwd.run({{DNNL_ARG_SRC, nx.value.data()},
             {DNNL_ARG_MEAN, mean.data()},
             {DNNL_ARG_VARIANCE, variance.data()},
             {DNNL_ARG_DIFF_DST, self.grad.data()},
             {DNNL_ARG_SCALE, ng.value.data()},
             {DNNL_ARG_SHIFT, nb.value.data()},
             {DNNL_ARG_DIFF_SRC, dx.out},
             {DNNL_ARG_DIFF_SCALE, dgamma.out},
             {DNNL_ARG_DIFF_SHIFT, dbeta.out}});
    dx.finish(R * C);
    dgamma.finish(C);
    dbeta.finish(C);
  });
}

}  // namespace tca::ops
