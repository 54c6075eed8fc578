// Elementwise unary ops y = f(x) on oneDNN's eltwise primitive, forward and backward (the
// backward from src; platform.md verified every algorithm used here against finite differences).
// The cheap algorithms (relu, linear, square) run as loops on small tensors
// (elementwise_kernels.hpp: kLoopMaxElements*).
#pragma once
#include <dnnl.hpp>

#include "autograd/variable.hpp"

namespace tca::ops {

// alpha/beta as in dnnl::eltwise_forward::desc: relu negative slope, elu alpha, linear
// alpha * x + beta; ignored by the others.
Var eltwise(const Var& x, dnnl::algorithm alg, float alpha = 0.0f, float beta = 0.0f);

}  // namespace tca::ops
