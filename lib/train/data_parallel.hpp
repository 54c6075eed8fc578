// Data-parallel forward and backward on R threads (issue 23): the batch is cut into R slices of
// whole tasks; replica r (the model itself for r = 0, a copy of it for r > 0) computes the loss of
// slice r and its gradient on a thread of its own, with its own autograd graph and its own
// single-threaded oneDNN primitives (core/dnnl_context.hpp: primitives are per thread and per
// thread count), and the gradients are summed into the model's in replica order.
//
// Why: at the GP shapes a step is hundreds of small ops, and one op split over 2 threads pays
// ~1 us of fork/join and scales poorly (platform.md (b)); two half batches side by side scale by
// the work itself.
//
// What it computes. Every loss term of the three models is a mean over the B M targets (tca.md 1:
// the task loss and its metric; 4.4: L_TCA, L_CA, and L_RL, whose baseline is a constant and
// whose entropy is a mean over queries, heads and levels), and all tasks of a batch share M. So
// the full batch's loss is sum_r (B_r / B) loss_r, and each replica's backward is seeded with
// B_r / B: the summed gradient is the full batch's, up to float rounding, wherever the forward
// draws nothing. Dropout masks and TCA's sampled paths are drawn from a generator per replica
// (rng.fork(r)), so with dropout or path sampling the step is a different draw of the same
// distribution than the single-model step, not the same numbers. The result depends on R only
// (each replica runs single-threaded on whichever thread), so it is identical run to run and
// across OMP_NUM_THREADS for a given R; R = 1 is exactly the single-model step.
#pragma once
#include <functional>
#include <memory>
#include <vector>

#include "core/batch.hpp"
#include "core/rng.hpp"
#include "models/model.hpp"

namespace tca {

// The loss one replica computes on its slice (default: Model::loss, the training forward).
using ReplicaLoss = std::function<LossOutput(Model& model, const Batch& slice, Rng& rng)>;

class DataParallel {
 public:
  // UsageError unless replicas >= 1. Builds replicas - 1 models of model's config (their values
  // are copied from `model` at every step).
  DataParallel(Model& model, int replicas, ReplicaLoss loss = nullptr);
  ~DataParallel();
  DataParallel(const DataParallel&) = delete;
  DataParallel& operator=(const DataParallel&) = delete;

  // The training loss of `batch`, with its gradient added into the gradients of the model's
  // parameters (as one backward() does).
  // - 1 replica: loss(model, batch, rng) and its backward, exactly.
  // - R replicas: replica r takes tasks [sum_{s<r} B_s, ... + B_r) (B_r = B / R, the first B % R
  //   replicas one more; replicas beyond B get none) and draws from rng.fork(r); rng advances by
  //   one draw. The returned total is the weighted sum of the replicas' totals with no graph (its
  //   backward has been run), and each term the same weighted sum (every term is a mean over the
  //   batch's targets).
  // An exception thrown by any replica is rethrown (the first in replica order) after all have
  // stopped; the model's gradients are then unspecified.
  LossOutput forward_backward(const Batch& batch, Rng& rng);

  int replicas() const { return static_cast<int>(replicas_.size()) + 1; }

 private:
  // Replica r's model: the model itself for r = 0.
  Model& replica(int r) const;
  // Copies the model's parameter values into replica r > 0's and clears its gradients.
  void load_replica(int r) const;
  // Adds the gradients of replicas 1..R-1 into the model's, for the parameters in
  // [begin, end) (replica order, so every thread count sums the same way).
  void reduce_gradients(int replicas_used, size_t begin, size_t end) const;

  Model& model_;
  ReplicaLoss loss_;
  std::vector<std::unique_ptr<Model>> replicas_;  // replicas 1..R-1
  std::vector<nn::NamedParameters> parameters_;   // per replica 0..R-1, in the same order
};

}  // namespace tca
