#include "core/signals.hpp"

#include <atomic>
#include <cstring>

#include "core/error.hpp"
#include "core/signal_stack.hpp"

namespace tca {

namespace {

// The one piece of process-wide state a signal handler may touch: a lock-free atomic.
std::atomic<int> g_stop_signal{0};
static_assert(ATOMIC_INT_LOCK_FREE == 2, "the stop flag must be lock-free to be set in a handler");

// How many ScopedStopSignals are alive: only the outermost clears the recorded signal.
int g_installed_depth = 0;

constexpr int kStopSignals[3] = {SIGINT, SIGTERM, SIGUSR1};

extern "C" void on_stop_signal(int sig) {
  int expected = 0;
  if (!g_stop_signal.compare_exchange_strong(expected, sig) && sig == SIGINT) {
    // Second Ctrl-C: give up on the graceful stop (async-signal-safe calls only).
    std::signal(SIGINT, SIG_DFL);
    std::raise(SIGINT);
  }
}

}  // namespace

int stop_signal() { return g_stop_signal.load(); }
void clear_stop_signal() { g_stop_signal.store(0); }

int exit_code_for_signal(int sig) {
  if (sig == 0) return kExitOk;
  return sig == SIGINT ? kExitInterrupted : kExitRequeue;
}

std::string signal_name(int sig) {
  switch (sig) {
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    case SIGUSR1:
      return "SIGUSR1";
    default:
      return "signal " + std::to_string(sig);
  }
}

ScopedStopSignals::ScopedStopSignals() {
  // Installed and removed on the main thread only, so a plain counter suffices.
  if (g_installed_depth++ == 0) clear_stop_signal();
  // The handler's frame goes on an alternate signal stack, not at the interrupted code's rsp, which
  // oneDNN's gemm:jit kernels point into the heap (core/signal_stack.hpp): the training loop this
  // handler returns to must find the heap intact.
  install_signal_stacks();
  struct sigaction action;
  std::memset(&action, 0, sizeof action);
  action.sa_handler = on_stop_signal;
  sigemptyset(&action.sa_mask);
  // SA_RESTART: interrupted writes of the checkpoint resume instead of failing.
  action.sa_flags = SA_RESTART | SA_ONSTACK;
  for (int i = 0; i < 3; ++i) sigaction(kStopSignals[i], &action, &previous_[i]);
}

ScopedStopSignals::~ScopedStopSignals() {
  for (int i = 0; i < 3; ++i) {
    if (ignore_after_) {
      struct sigaction ignore;
      std::memset(&ignore, 0, sizeof ignore);
      ignore.sa_handler = SIG_IGN;
      sigemptyset(&ignore.sa_mask);
      sigaction(kStopSignals[i], &ignore, nullptr);
    } else {
      sigaction(kStopSignals[i], &previous_[i], nullptr);
    }
  }
  --g_installed_depth;
}

}  // namespace tca
