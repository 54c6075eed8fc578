// A stop signal that arrives while oneDNN's gemm:jit kernels run (a linear layer's backward on the
// inner_product primitives; as in every training step) must leave the heap and the results
// intact. oneDNN 2.6 runs those kernels with rsp pointing into a malloc'ed workspace, so a handler
// frame written at rsp lands in the heap: without the alternate signal stack of
// core/signal_stack.hpp this test died of glibc's "corrupted size vs. prev_size while
// consolidating" (SIGABRT) every time it was run, as SIGTERM did to a copy-task TCA training.
#include <doctest/doctest.h>
#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "autograd/ops.hpp"
#include "core/signals.hpp"

using namespace tca;

namespace {

// Deterministic values in [-0.5, 0.5).
Tensor pattern(const Shape& shape, int64_t stride) {
  Tensor t = Tensor::empty(shape);
  for (int64_t i = 0; i < t.numel(); ++i)
    t.data()[i] = static_cast<float>((i * stride) % 1000) / 1000.0f - 0.5f;
  return t;
}

bool same_bits(const Tensor& a, const Tensor& b) {
  return a.numel() == b.numel() &&
         std::memcmp(a.data(), b.data(), static_cast<size_t>(a.numel()) * sizeof(float)) == 0;
}

}  // namespace

TEST_CASE("stop signals during oneDNN's gemm:jit kernels leave the heap and the gradients intact") {
  // [16384, 64] x [64, 64]: the shape of the copy task's per-token layers; its backward runs on
  // "inner_product x64:gemm:jit" (backward_data, backward_weights), the kernels that move rsp.
  Var x(pattern({16384, 64}, 7919), true), w(pattern({64, 64}, 104729), true);
  auto gradients = [&] {
    Var y = ops::linear(x, w);
    ops::sum_all(ops::mul(y, y)).backward();
    std::vector<Tensor> g = {x.grad().clone(), w.grad().clone()};
    x.zero_grad();
    w.zero_grad();
    return g;
  };
  const std::vector<Tensor> expected = gradients();

  ScopedStopSignals handlers;
  const pthread_t main_thread = pthread_self();
  std::atomic<bool> done{false};
  // SIGUSR1 to this thread every 250 us for about half a second (a few hundred are handled: a
  // signal sent while one is pending merges with it); each step takes milliseconds.
  std::thread sender([&] {
    for (int i = 0; i < 2000; ++i) {
      pthread_kill(main_thread, SIGUSR1);
      usleep(250);
    }
    done.store(true);
  });
  int steps = 0, interrupted = 0, wrong = 0;
  while (!done.load()) {
    const std::vector<Tensor> got = gradients();
    interrupted += stop_requested() ? 1 : 0;
    clear_stop_signal();
    wrong += same_bits(got[0], expected[0]) && same_bits(got[1], expected[1]) ? 0 : 1;
    ++steps;
  }
  sender.join();
  // glibc checks chunk headers as blocks are freed and merged: walk a spread of sizes.
  std::vector<void*> blocks;
  for (int i = 0; i < 2000; ++i)
    blocks.push_back(std::malloc(static_cast<size_t>(16 + (i * 37) % 70000)));
  for (void* p : blocks) std::free(p);
  CHECK(steps > 0);
  CHECK(interrupted > 0);
  CHECK(wrong == 0);
}
