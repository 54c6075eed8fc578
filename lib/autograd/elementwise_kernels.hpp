// Elementwise binary kernels (no autograd): dst (+)= a op b with NumPy broadcasting, on oneDNN's
// binary primitive (created once per collapsed shape), or as a plain loop for small tensors.
#pragma once
#include <cstdint>

#include "core/shape.hpp"

namespace tca::ops {

enum class BinaryAlg { add, sub, mul, div, min };

// Elementwise ops on at most this many output elements run as loops: a oneDNN primitive pays a
// fixed cost per execute (an OpenMP fork/join with 2+ threads) that a short vectorised loop does
// not. Measured with bench_core's "crossover" rows (results/bench/core.json; AMD EPYC,
// avx512_core_bf16, oneDNN 2.6.3), binary add, loop vs primitive, median us, two runs:
//   1 thread:  64: 0.03 vs 0.29 | 4k: 0.44 vs 0.77 | 16k: 1.75 vs 2.06 | 64k: 7.26 vs 8.07 and
//              7.30 vs 7.77 | 256k: 31.4 vs 34.1 (memory-bound: the loop stays 3-8% ahead)
//   2 threads: 64: 0.03 vs 1.1-1.4 | 4k: 0.44-0.95 vs 1.5-3.9 | 16k: 1.95 vs 2.24 and 3.58 vs
//              5.89 | 32k: 3.94 vs 3.08 and 6.82 vs 8.21 (either way) | 64k: 7.8 vs 5.4-5.8
// relu behaves alike. So loops up to 64k floats with one thread (above, the loop's lead is under
// 9%) and up to 16k with more (at 32k the runs disagree); beyond, the primitive, the default.
constexpr int64_t kLoopMaxElementsOneThread = 65536;
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
