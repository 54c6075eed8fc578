#include "autograd/flop_counter.hpp"

#include <atomic>

namespace tca::ops {

namespace {
std::atomic<int64_t> executed{
    0};  // relaxed: a tally read between steps, never a synchronisation point
}

int64_t matmul_flops_executed() { return executed.load(std::memory_order_relaxed); }

void count_matmul_flops(int64_t flops) { executed.fetch_add(flops, std::memory_order_relaxed); }

}  // namespace tca::ops
