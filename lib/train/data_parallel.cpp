#include "train/data_parallel.hpp"

#include <omp.h>

#include <algorithm>
#include <exception>
#include <optional>
#include <string>

#include "core/buffer_pool.hpp"
#include "core/error.hpp"

namespace tca {

DataParallel::DataParallel(Model& model, int replicas, ReplicaLoss loss)
    : model_(model), loss_(std::move(loss)) {
  if (replicas < 1)
    throw UsageError("data-parallel replicas must be at least 1, found " +
                     std::to_string(replicas));
  if (!loss_) loss_ = [](Model& m, const Batch& slice, Rng& rng) { return m.loss(slice, rng); };
  parameters_.push_back(model.named_parameters());
  for (int r = 1; r < replicas; ++r) {
    Rng unused(0);  // the initial values are replaced by the model's before every step
    replicas_.push_back(make_model(model.config(), unused));
    parameters_.push_back(replicas_.back()->named_parameters());
    if (parameters_.back().size() != parameters_.front().size())
      throw RuntimeFailure("DataParallel: a replica of the model has another parameter list");
  }
}

DataParallel::~DataParallel() = default;

Model& DataParallel::replica(int r) const {
  return r == 0 ? model_ : *replicas_[static_cast<size_t>(r - 1)];
}

void DataParallel::load_replica(int r) const {
  const nn::NamedParameters& source = parameters_.front();
  const nn::NamedParameters& target = parameters_[static_cast<size_t>(r)];
  for (size_t i = 0; i < source.size(); ++i) {
    Var p = target[i].second;  // shares the replica's node
    p.mutable_value().copy_from(source[i].second.value());
    p.zero_grad();
  }
}

void DataParallel::reduce_gradients(int replicas_used, size_t begin, size_t end) const {
  for (size_t i = begin; i < end; ++i) {
    Var sum = parameters_.front()[i].second;  // shares the model's node
    for (int r = 1; r < replicas_used; ++r) {
      const Tensor& g = parameters_[static_cast<size_t>(r)][i].second.grad();
      if (g.defined()) sum.grad_buffer().add_(g);
    }
  }
}

LossOutput DataParallel::forward_backward(const Batch& batch, Rng& rng) {
  if (replicas_.empty()) {
    LossOutput out = loss_(model_, batch, rng);
    out.total.backward();
    return out;
  }
  const int64_t B = batch.batch_size();
  const int R = static_cast<int>(std::min<int64_t>(replicas(), B));
  std::vector<int64_t> start(static_cast<size_t>(R) + 1, 0);
  for (int r = 0; r < R; ++r)
    start[static_cast<size_t>(r) + 1] = start[static_cast<size_t>(r)] + B / R + (r < B % R);
  std::vector<Rng> streams;
  for (int r = 0; r < R; ++r) streams.push_back(rng.fork(static_cast<uint64_t>(r)));
  rng.next_u64();  // the next step forks other streams
  std::vector<LossOutput> outs(static_cast<size_t>(R));
  std::vector<std::exception_ptr> errors(static_cast<size_t>(R));
  // Parameters split between the threads for the reduction, by element count.
  const nn::NamedParameters& params = parameters_.front();
  std::vector<int64_t> offset(params.size() + 1, 0);
  for (size_t i = 0; i < params.size(); ++i) offset[i + 1] = offset[i] + params[i].second.numel();

#pragma omp parallel num_threads(R)
  {
    // Every op of this thread's replica runs single-threaded: oneDNN plans a primitive for
    // omp_get_max_threads() threads (and inside a parallel region runs it on one), and our own
    // loops would otherwise open nested regions. This sets the ICV of this thread's task only;
    // the caller's thread count is back after the region.
    omp_set_num_threads(1);
    const int T = omp_get_num_threads(), t = omp_get_thread_num();
    // A worker thread's malloc arena returns its heaps to the OS whenever the replica's graph is
    // freed, so it would page-fault its activations afresh every step; its large buffers are kept
    // in its pool instead (core/buffer_pool.hpp). The main thread's arena is never trimmed.
    std::optional<ScopedBufferPool> keep_buffers;
    if (t > 0) keep_buffers.emplace();
    for (int r = t; r < R; r += T) {
      const auto ru = static_cast<size_t>(r);
      try {
        if (r > 0) load_replica(r);
        const int64_t count = start[ru + 1] - start[ru];
        LossOutput out = loss_(replica(r), batch.narrow(start[ru], count), streams[ru]);
        // Seeded with B_r / B, the replica's share of the batch mean.
        out.total.backward(
            Tensor::full(out.total.shape(), static_cast<float>(count) / static_cast<float>(B)));
        out.total = out.total.detach();  // the graph is freed here, on the thread that built it
        outs[ru] = std::move(out);
      } catch (...) {
        errors[ru] = std::current_exception();
      }
    }
#pragma omp barrier
    if (std::none_of(errors.begin(), errors.end(), [](const auto& e) { return e != nullptr; })) {
      const int64_t total = offset.back();
      const auto first = static_cast<size_t>(
          std::lower_bound(offset.begin(), offset.end() - 1, total * t / T) - offset.begin());
      const auto last = static_cast<size_t>(
          std::lower_bound(offset.begin(), offset.end() - 1, total * (t + 1) / T) - offset.begin());
      reduce_gradients(R, first, t + 1 == T ? params.size() : last);
    }
  }
  for (const auto& e : errors)
    if (e) std::rethrow_exception(e);

  LossOutput combined;
  double total = 0;
  for (int r = 0; r < R; ++r) {
    const auto ru = static_cast<size_t>(r);
    const double weight = static_cast<double>(start[ru + 1] - start[ru]) / static_cast<double>(B);
    total += weight * outs[ru].total.item();
    for (const auto& [name, value] : outs[ru].terms) combined.terms[name] += weight * value;
  }
  combined.total = Var(Tensor::scalar(static_cast<float>(total)));
  return combined;
}

}  // namespace tca
