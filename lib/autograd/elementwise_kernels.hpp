// Elementwise binary kernels (no autograd): dst (+)= a op b with NumPy broadcasting, on oneDNN's
// binary primitive (created once per collapsed shape), or as a plain loop for small tensors.
#pragma once
#include <cstdint>

#include "core/shape.hpp"

namespace tca::ops {

enum class BinaryAlg { add, sub, mul, div, min };

// Elementwise ops on at most this many output elements run as loops: a oneDNN primitive pays a
// fixed cost per execute (an OpenMP fork/join with 2+ threads) that a short vectorised loop does
// not. Measured with bench_core's "crossover" rows (AMD EPYC, avx512_core_bf16, oneDNN 2.6.3,
// machine under load; binary add, loop vs primitive, median us): 1 thread: 0.03 vs 0.29 at 64
// floats, 0.10 vs 0.40 at 2k, 1.75 vs 2.07 at 16k; 2 threads: 0.03 vs 2.69 at 64, 0.49 vs 3.58
// at 2k, 3.52 vs 5.63 at 16k. relu behaves alike (1 thread 1.16 vs 1.36 us at 16k).
constexpr int64_t kLoopMaxElementsOneThread = 16384;
constexpr int64_t kLoopMaxElementsManyThreads = 16384;
// The threshold for the current OpenMP thread count.
int64_t elementwise_loop_max();

// dst[i] (+)= (scale_a * a[i]) op b[i] for i < n. dst may alias a or b.
void binary_same_shape(BinaryAlg alg, const float* a, const float* b, float* dst, int64_t n,
                       bool accumulate, float scale_a = 1.0f);

// dst (+)= (scale_a * a) op b, where a_shape and b_shape broadcast (NumPy rules) to dst_shape.
void binary_broadcast(BinaryAlg alg, const float* a, const Shape& a_shape, const float* b,
                      const Shape& b_shape, float* dst, const Shape& dst_shape, bool accumulate,
                      float scale_a = 1.0f);

// dst (+)= scale * (g summed over the axes where target_shape is broadcast to g_shape), i.e. the
// gradient of a broadcast operand. target_shape must broadcast to g_shape.
void reduce_to_shape(const float* g, const Shape& g_shape, float* dst, const Shape& target_shape,
                     bool accumulate, float scale = 1.0f);

}  // namespace tca::ops
