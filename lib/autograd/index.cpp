// Row gather by an index tensor; its backward scatter-adds (repeated indices accumulate).
#include <cstring>

#include "autograd/ops.hpp"
#include "core/error.hpp"

namespace tca::ops {

Var gather_rows(const Var& x, const Tensor& index) {
  check_dtype("gather_rows index", index, DType::i32);
  if (x.rank() < 1) throw ShapeError("gather_rows: input must have rank >= 1");
  const int64_t R = x.dim(0), K = index.numel();
  const int64_t W = R ? x.numel() / R : 0;
  Shape os = x.shape();
  os[0] = K;
  Tensor y = Tensor::empty(os);
  const int32_t* idx = index.data_i32();
  const float* px = x.value().data();
  for (int64_t k = 0; k < K; ++k) {
    if (idx[k] < 0 || idx[k] >= R)
      throw ShapeError("gather_rows: index " + std::to_string(idx[k]) + " out of range for " +
                       std::to_string(R) + " rows");
    std::memcpy(y.data() + k * W, px + idx[k] * W, static_cast<size_t>(W) * 4);
  }
  // The backward keeps its own copy of the index: callers may reuse their buffer.
  return record(std::move(y), {x},
                [index = grad_enabled() ? index.clone() : Tensor(), K, W](Node& self) {
                  float* g = self.inputs[0]->grad_buffer().data();
                  const float* go = self.grad.data();
                  const int32_t* ix = index.data_i32();
                  for (int64_t k = 0; k < K; ++k)
                    for (int64_t j = 0; j < W; ++j) g[ix[k] * W + j] += go[k * W + j];
                });
}

}  // namespace tca::ops
