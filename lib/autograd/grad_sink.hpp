// How a backward delivers an input's gradient. An input used once (the common case) has no
// gradient yet: the backward then writes straight into a fresh buffer, or hands over a buffer it
// already has, instead of zero-filling a buffer and adding into it. An input used several times
// gets the later contributions added into its existing gradient.
#pragma once
#include "autograd/variable.hpp"

namespace tca::ops {

// Where to write input n's gradient. Fresh: n.grad is allocated here, uninitialised, and must be
// overwritten completely. Otherwise the contribution must be added into data.
struct GradTarget {
  float* data = nullptr;
  bool accumulate = false;
};
GradTarget grad_target(Node& n);

// n.grad += g, where g has n's number of elements and belongs to the caller (a temporary of the
// backward): a fresh gradient simply takes g's buffer.
void accumulate_grad(Node& n, const Tensor& g);

// in.grad += self.grad (same number of elements), for ops whose local derivative is the identity
// (reshape, add). Hands self.grad's buffer over when the tape allows it (Node::grad_donatable),
// so call it last among the uses of self.grad in a backward.
void pass_grad(Node& self, Node& in);

// dst[i] += src[i] for i < n (a binary-add primitive, or a loop for small n;
// elementwise_kernels.hpp).
void add_into(float* dst, const float* src, int64_t n);

}  // namespace tca::ops
