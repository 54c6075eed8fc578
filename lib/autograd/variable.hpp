// Reverse-mode autodiff (style.md: flashlight's Variable). A Var is a handle on a Node that holds
// a value, a lazily allocated gradient and, when it was produced by an op while gradients are
// recorded, the op's inputs and a backward function that adds this node's gradient into theirs.
// backward() on a scalar walks the graph once in reverse topological order. Under NoGradGuard ops
// record nothing: results are plain leaves and no intermediate is kept alive.
#pragma once
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.hpp"

namespace tca {

struct Node {
  Tensor value;
  Tensor grad;  // same shape as value; allocated (zeroed) on first use
  bool requires_grad = false;
  std::vector<std::shared_ptr<Node>> inputs;
  std::function<void(Node& self)> backward;  // reads self.grad, accumulates into inputs' grads
  bool retain_grad = false;  // keep this interior node's gradient after backward (debugging, tests)
  // Set by the tape while this node's backward runs: nothing reads `grad` afterwards, so the
  // backward may hand the buffer to one input as that input's gradient instead of copying it
  // (grad_sink.hpp). False for the root and for retained gradients.
  bool grad_donatable = false;

  Tensor& grad_buffer();  // the gradient, allocated and zeroed on first call
  bool input_needs_grad(size_t i) const { return inputs[i]->requires_grad; }
};

class Var {
 public:
  Var() = default;
  explicit Var(Tensor value, bool requires_grad = false);
  explicit Var(std::shared_ptr<Node> node) : node_(std::move(node)) {}

  bool defined() const { return node_ != nullptr; }
  const Tensor& value() const { return node_->value; }
  Tensor& mutable_value() { return node_->value; }
  const Shape& shape() const { return node_->value.shape(); }
  int64_t dim(int axis) const { return node_->value.dim(axis); }
  int rank() const { return node_->value.rank(); }
  int64_t numel() const { return node_->value.numel(); }
  float item() const { return node_->value.item(); }

  bool requires_grad() const { return node_->requires_grad; }
  // The accumulated gradient (undefined if none reached this Var).
  const Tensor& grad() const { return node_->grad; }
  Tensor& grad_buffer() { return node_->grad_buffer(); }
  void zero_grad() { node_->grad = Tensor(); }
  // Keep the gradient of this interior Var after backward() (activation gradients in tests).
  Var& retain_grad() {
    node_->retain_grad = true;
    return *this;
  }

  // A new leaf with the same value and no history: gradients stop here.
  Var detach() const { return Var(node_->value, false); }

  // Backpropagates from this scalar: d(this)/d(leaf) is added into every leaf that requires grad.
  void backward() const;
  // Same, with an explicit upstream gradient of this Var's shape.
  void backward(const Tensor& seed) const;

  const std::shared_ptr<Node>& node() const { return node_; }

 private:
  std::shared_ptr<Node> node_;
};

// A trainable leaf.
inline Var parameter(Tensor value) { return Var(std::move(value), true); }

// Whether ops record the graph (thread-local; on by default).
bool grad_enabled();
class NoGradGuard {
 public:
  NoGradGuard();
  ~NoGradGuard();
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

// For ops: wraps `value` as the op's result. If gradients are enabled and any input requires
// them, records the inputs and `backward`; otherwise returns a plain leaf (nothing retained).
Var record(Tensor value, std::vector<Var> inputs, std::function<void(Node& self)> backward);

// True when an op on these inputs records a node: gradients enabled and some input requires one.
bool needs_recording(std::initializer_list<Var> inputs);

// The same for a fixed list of inputs, with the backward as a lambda: when nothing is recorded
// (no-grad mode, or constant inputs) neither the lambda's std::function nor the input list is
// allocated, which is most of an op's fixed cost on small tensors (bench_core "per_op" rows).
template <class Backward>
Var record(Tensor value, std::initializer_list<Var> inputs, Backward&& backward) {
  if (!needs_recording(inputs)) return Var(std::move(value));
  return record(std::move(value), std::vector<Var>(inputs),
                std::function<void(Node & self)>(std::forward<Backward>(backward)));
}

// Number of graph nodes recorded so far on the calling thread (tests: the no-grad mode records
// none).
int64_t recorded_nodes();

}  // namespace tca
