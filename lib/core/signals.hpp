// Graceful stop on SIGINT / SIGTERM / SIGUSR1 (conventions.md "Run directories"): the handler only
// records which signal arrived; the training loop polls stop_signal() between steps, writes a
// checkpoint, sets status "interrupted" and exits with exit_code_for_signal() (130 for Ctrl-C,
// 75 = "requeue me" for the scheduler's signals).
#pragma once
#include <csignal>
#include <string>

namespace tca {

// The first stop signal received since the last install or clear (SIGINT, SIGTERM, SIGUSR1), or 0.
int stop_signal();
inline bool stop_requested() { return stop_signal() != 0; }
void clear_stop_signal();

// 130 for SIGINT, 75 for SIGTERM / SIGUSR1 (and any other signal), 0 for 0.
int exit_code_for_signal(int sig);
// "SIGINT", "SIGTERM", "SIGUSR1", or "signal N".
std::string signal_name(int sig);

// Installs the stop handlers for its lifetime and restores the previous handlers on destruction.
// The outermost one clears any recorded signal on installation; a nested one (e.g. the Trainer's
// inside `tca train`'s, which spans writing status.json after the stop checkpoint) keeps it, and
// its destruction puts the outer handlers back, so a second SIGTERM after the checkpoint is still
// only recorded instead of killing the process before the run's status is written. A second SIGINT
// while a stop is already pending gets the default action (the process dies at once), so an
// impatient Ctrl-C still works if checkpointing hangs; SIGTERM / SIGUSR1 never do (a scheduler's
// grace period is for the checkpoint). The handler runs on an alternate signal stack
// (core/signal_stack.hpp), never on the stack pointer of the code it interrupts (oneDNN's gemm:jit
// kernels point it into the heap).
class ScopedStopSignals {
 public:
  ScopedStopSignals();
  ~ScopedStopSignals();
  ScopedStopSignals(const ScopedStopSignals&) = delete;
  ScopedStopSignals& operator=(const ScopedStopSignals&) = delete;

  // For a process that has stopped and recorded its state (tca train after the stop checkpoint
  // and status.json): leaving the scope then ignores the stop signals instead of restoring the
  // previous handlers, so one more SIGTERM while the process exits does not turn its exit code
  // 75 into a death by signal (143).
  void ignore_signals_after_scope() { ignore_after_ = true; }

 private:
  struct sigaction previous_[3];
  bool ignore_after_ = false;
};

}  // namespace tca
