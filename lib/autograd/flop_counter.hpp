// FLOPs executed by the matmul-like ops (linear and matmul, forward and backward; 2 per
// multiply-add), counted so a benchmark can state the arithmetic of a training step and the time it
// would take at the machine's measured matmul peak: the bound a missed speed target meets
// (issue 12). Elementwise ops, softmax, norms and the gathered TCA ops are not counted: their
// cost is memory traffic, not FLOPs.
#pragma once
#include <cstdint>

namespace tca::ops {

// FLOPs counted since the process started (all threads).
int64_t matmul_flops_executed();

// Called by the ops once per primitive execution.
void count_matmul_flops(int64_t flops);

}  // namespace tca::ops
