// Child processes of `tca sweep run`: each run's `tca train`, `tca eval` and `tca make-dataset`
// runs as its own process (a crash or a numerical failure of one run cannot take the sweep down),
// in its own process group (so that a terminal's Ctrl-C reaches the sweep runner only, which
// forwards it exactly once: a second SIGINT would kill a child before its checkpoint), with stdout
// and stderr appended to a log file.
#pragma once
#include <map>
#include <string>
#include <vector>

namespace tca::sweep {

// Stop signals received by this process (SIGINT, SIGTERM, SIGUSR1), counted; installed once by
// the runner. Unlike core/signals.hpp a second signal does not kill the runner: it is forwarded
// to the children too, and the runner exits only after they did.
class RunnerSignals {
 public:
  RunnerSignals();
  ~RunnerSignals();
  RunnerSignals(const RunnerSignals&) = delete;
  RunnerSignals& operator=(const RunnerSignals&) = delete;
  static int count();        // signals received so far
  static int last_signal();  // the last one (0 = none)
};

struct ChildResult {
  int exit_code = 0;         // the child's exit status, or 128 + signal when it was killed
  bool interrupted = false;  // a stop signal reached the runner while the child ran
};

// Runs argv[0] with argv, the environment plus `env`, stdout/stderr appended to `log_path`;
// forwards every stop signal the runner receives to the child; returns when the child has exited.
// RuntimeFailure when the process cannot be started or the log not opened.
ChildResult run_child(const std::vector<std::string>& argv,
                      const std::map<std::string, std::string>& env, const std::string& log_path);

// The last line of a log that looks like an error ("...: error: ..."), else its last non-empty
// line, at most 300 characters (the one-line cause recorded for a failed run).
std::string last_error_line(const std::string& log_path);

// The path of the running executable (/proc/self/exe).
std::string self_executable();

}  // namespace tca::sweep
