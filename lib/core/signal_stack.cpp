#include "core/signal_stack.hpp"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <string>

#include "core/error.hpp"

namespace tca {

namespace {

// Room for the kernel's signal frame (sysconf(_SC_MINSIGSTKSZ): ~3.5 KB with AVX-512 state, more
// with AMX tiles) several times over; our handlers only store an atomic.
size_t stack_bytes() {
  const long minimum = sysconf(_SC_MINSIGSTKSZ);
  return std::max<size_t>(64 * 1024, minimum > 0 ? 4 * static_cast<size_t>(minimum) : 0);
}

// 0 on success (or when the thread already has a stack), else an errno value. No exceptions: this
// runs inside an OpenMP parallel region.
int install_for_this_thread() {
  stack_t current{};
  if (sigaltstack(nullptr, &current) == 0 && !(current.ss_flags & SS_DISABLE)) return 0;
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t bytes = stack_bytes();
  // One inaccessible page below the stack: an overflow faults instead of writing into a neighbour.
  void* mapping = mmap(nullptr, bytes + page, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
  if (mapping == MAP_FAILED) return errno;
  if (mprotect(mapping, page, PROT_NONE) != 0) {
    const int err = errno;
    munmap(mapping, bytes + page);
    return err;
  }
  stack_t stack{};
  stack.ss_sp = static_cast<char*>(mapping) + page;
  stack.ss_size = bytes;
  stack.ss_flags = 0;
  if (sigaltstack(&stack, nullptr) != 0) {
    const int err = errno;
    munmap(mapping, bytes + page);
    return err;
  }
  return 0;
}

}  // namespace

void install_signal_stacks() {
  std::atomic<int> error{install_for_this_thread()};
  // oneDNN's kernels also run on the pool threads; a signal sent to the process is delivered to a
  // thread that does not block it (the main thread unless it already has one pending).
#pragma omp parallel
  {
    const int err = install_for_this_thread();
    if (err != 0) error.store(err);
  }
  if (error.load() != 0)
    throw RuntimeFailure(std::string("cannot allocate an alternate signal stack: ") +
                         std::strerror(error.load()));
}

bool has_signal_stack() {
  stack_t current{};
  return sigaltstack(nullptr, &current) == 0 && !(current.ss_flags & SS_DISABLE);
}

}  // namespace tca
