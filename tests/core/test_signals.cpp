// Stop signals (conventions.md "Run directories": SIGINT -> 130, SIGTERM / SIGUSR1 -> 75).
#include <doctest/doctest.h>

#include <csignal>
#include <cstring>

#include "core/signal_stack.hpp"
#include "core/signals.hpp"

namespace {
volatile std::sig_atomic_t g_custom_handler_calls = 0;
extern "C" void custom_handler(int) { g_custom_handler_calls = g_custom_handler_calls + 1; }
}  // namespace

TEST_CASE("raising SIGUSR1 under the stop handlers records it and maps it to exit code 75") {
  tca::ScopedStopSignals handlers;
  CHECK(tca::stop_signal() == 0);
  CHECK_FALSE(tca::stop_requested());
  std::raise(SIGUSR1);
  CHECK(tca::stop_signal() == SIGUSR1);
  CHECK(tca::stop_requested());
  CHECK(tca::exit_code_for_signal(tca::stop_signal()) == 75);
  CHECK(tca::signal_name(tca::stop_signal()) == "SIGUSR1");
}

TEST_CASE("SIGINT maps to exit code 130 and SIGTERM to 75") {
  tca::ScopedStopSignals handlers;
  std::raise(SIGINT);
  CHECK(tca::stop_signal() == SIGINT);
  CHECK(tca::exit_code_for_signal(SIGINT) == 130);
  tca::clear_stop_signal();
  std::raise(SIGTERM);
  CHECK(tca::stop_signal() == SIGTERM);
  CHECK(tca::exit_code_for_signal(SIGTERM) == 75);
  CHECK(tca::exit_code_for_signal(0) == 0);
}

TEST_CASE("the first stop signal is kept when another one follows") {
  tca::ScopedStopSignals handlers;
  std::raise(SIGTERM);
  std::raise(SIGUSR1);
  CHECK(tca::stop_signal() == SIGTERM);
}

TEST_CASE("leaving the scope of the stop handlers restores the previous handler") {
  struct sigaction custom, before, after;
  std::memset(&custom, 0, sizeof custom);
  custom.sa_handler = custom_handler;
  sigemptyset(&custom.sa_mask);
  REQUIRE(sigaction(SIGUSR1, &custom, &before) == 0);
  {
    tca::ScopedStopSignals outer;
    std::raise(SIGUSR1);
    CHECK(tca::stop_signal() == SIGUSR1);
  }
  REQUIRE(sigaction(SIGUSR1, nullptr, &after) == 0);
  CHECK((after.sa_handler == custom_handler));
  g_custom_handler_calls = 0;
  std::raise(SIGUSR1);
  CHECK(g_custom_handler_calls == 1);
  sigaction(SIGUSR1, &before, nullptr);
}

TEST_CASE(
    "the stop handler runs on an alternate signal stack, which the main thread and every OpenMP "
    "thread have") {
  // oneDNN 2.6's gemm:jit kernels run with rsp pointing into the heap: a handler frame written
  // there corrupted the heap (core/signal_stack.hpp; tests/autograd/test_signal_during_gemm.cpp
  // is the end-to-end case).
  tca::ScopedStopSignals handlers;
  for (int sig : {SIGINT, SIGTERM, SIGUSR1}) {
    struct sigaction current;
    REQUIRE(sigaction(sig, nullptr, &current) == 0);
    CHECK((current.sa_flags & SA_ONSTACK) != 0);
  }
  CHECK(tca::has_signal_stack());
  int threads = 0, without = 0;
#pragma omp parallel reduction(+ : threads, without)
  {
    threads += 1;
    without += tca::has_signal_stack() ? 0 : 1;
  }
  CHECK(threads >= 1);
  CHECK(without == 0);
  tca::install_signal_stacks();  // idempotent
  CHECK(tca::has_signal_stack());
}

TEST_CASE(
    "nested stop handlers: the inner one keeps a recorded signal, and after it ends a second "
    "SIGTERM is still only recorded (tca train's status write after the stop checkpoint)") {
  tca::ScopedStopSignals outer;
  std::raise(SIGTERM);
  {
    tca::ScopedStopSignals inner;  // the Trainer's, installed after the signal arrived
    CHECK(tca::stop_signal() == SIGTERM);
    std::raise(SIGUSR1);
    CHECK(tca::stop_signal() == SIGTERM);
  }
  // Without the outer handlers this would be SIGTERM's default action: the test process dies.
  std::raise(SIGTERM);
  CHECK(tca::stop_signal() == SIGTERM);
  tca::clear_stop_signal();
  {
    tca::ScopedStopSignals inner;
    CHECK(tca::stop_signal() == 0);
  }
}

TEST_CASE("the outermost stop handlers clear a signal recorded before them") {
  {
    tca::ScopedStopSignals first;
    std::raise(SIGUSR1);
    CHECK(tca::stop_signal() == SIGUSR1);
  }
  tca::ScopedStopSignals second;
  CHECK(tca::stop_signal() == 0);
}

TEST_CASE("after ignore_signals_after_scope, stop signals are ignored once the scope is left") {
  const int signals[3] = {SIGINT, SIGTERM, SIGUSR1};
  struct sigaction before[3];
  for (int i = 0; i < 3; ++i) REQUIRE(sigaction(signals[i], nullptr, &before[i]) == 0);
  {
    tca::ScopedStopSignals handlers;
    handlers.ignore_signals_after_scope();
  }
  for (int sig : signals) {
    struct sigaction after;
    REQUIRE(sigaction(sig, nullptr, &after) == 0);
    CHECK((after.sa_handler == SIG_IGN));
  }
  std::raise(SIGTERM);  // ignored: the test process lives on
  for (int i = 0; i < 3; ++i) sigaction(signals[i], &before[i], nullptr);
}
