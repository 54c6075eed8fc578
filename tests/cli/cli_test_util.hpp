// Helpers of the end-to-end tests of the `tca` commands (CTest sets TCA_BINARY to the built
// binary): run a command line and capture stdout, stderr and the exit code; tiny data and a
// tiny model so that each test takes a few seconds at one thread.
#pragma once
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "io/test_files.hpp"

namespace tca::cli_test {

inline std::string tca_binary() {
  if (const char* b = std::getenv("TCA_BINARY")) return b;
  return std::string(TCA_SOURCE_DIR) + "/build/tca";
}

struct Run {
  int exit_code = -1;
  std::string out, err;
};

inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs `tca ARGS` in `dir` through the shell (ARGS is shell text).
inline Run run_tca(const test::TempDir& dir, const std::string& args) {
  const std::string out = dir.file(".stdout"), err = dir.file(".stderr");
  const std::string cmd =
      "cd '" + dir.path() + "' && '" + tca_binary() + "' " + args + " >" + out + " 2>" + err;
  const int status = std::system(cmd.c_str());
  Run r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

inline int count_lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

inline nlohmann::json read_json(const std::string& path) {
  return nlohmann::json::parse(slurp(path));
}

inline std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(slurp(path));
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(nlohmann::json::parse(line));
  }
  return lines;
}

// A model small enough to train a few steps in well under a second.
inline const char* tiny_model() {
  return " --d-model 16 --heads 2 --dim-feedforward 16 --emb-depth 2 --num-latents 3 "
         "--num-latent-layers 1";
}

// Copy task with T = 16 (N = 8 context tokens: a TCA tree of depth 2, leaf size 2 for b = 2).
inline const char* tiny_copy_task() {
  return " --task copy --seq-len 16 --batch-size 8 --progress none";
}

// `tca make-dataset copy --seq-len 16` with `count` tasks in batches of 8, as FILE.
inline void make_copy_eval(const test::TempDir& dir, const std::string& file, int count = 32,
                           int seed = 0) {
  const Run r = run_tca(
      dir, "make-dataset copy --seq-len 16 --split eval --batch-size 8 --progress none --count " +
               std::to_string(count) + " --seed " + std::to_string(seed) + " --out " + file);
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
}

// The one-line error of a usage or input error: exit 2, one line on stderr naming `part`, no
// stdout.
inline void check_usage_error(const Run& r, const std::string& part) {
  CHECK_MESSAGE(r.exit_code == 2, r.err);
  CHECK_MESSAGE(count_lines(r.err) == 1, r.err);
  CHECK_MESSAGE(contains(r.err, part), r.err);
  CHECK(r.out.empty());
}

// Polls `ready` every 50 ms for up to `limit`; returns whether it became true.
template <class Predicate>
bool wait_until(Predicate ready, std::chrono::milliseconds limit) {
  const auto until = std::chrono::steady_clock::now() + limit;
  for (;;) {
    if (ready()) return true;
    if (std::chrono::steady_clock::now() >= until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// A shell command started in the background (fork, then exec of `sh -c COMMAND`), for the tests
// that signal a command while it runs. Killed (SIGKILL) and reaped when it goes out of scope
// unless already reaped, so a failed check leaves no process behind. Put `exec` in front of the
// tca command so that the signals reach tca, not the shell.
class BackgroundCommand {
 public:
  explicit BackgroundCommand(const std::string& command) : pid_(fork()) {
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
  }
  BackgroundCommand(const BackgroundCommand&) = delete;
  BackgroundCommand& operator=(const BackgroundCommand&) = delete;
  ~BackgroundCommand() {
    if (!reaped_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

  pid_t pid() const { return pid_; }
  void signal(int sig) const {
    if (!reaped_) kill(pid_, sig);
  }
  // Reaps the command if it has ended; returns whether it has.
  bool try_reap() {
    if (!reaped_) reaped_ = waitpid(pid_, &status_, WNOHANG) == pid_;
    return reaped_;
  }
  // Waits up to `limit` for the command to end (a bound, so that a broken test fails rather than
  // hangs); returns whether it ended.
  bool wait_for(std::chrono::milliseconds limit) {
    return wait_until([this] { return try_reap(); }, limit);
  }
  // The wait status (WIFEXITED etc.) once reaped.
  int status() const { return status_; }
  int exit_code() const { return reaped_ && WIFEXITED(status_) ? WEXITSTATUS(status_) : -1; }

 private:
  pid_t pid_;
  bool reaped_ = false;
  int status_ = 0;
};

}  // namespace tca::cli_test
