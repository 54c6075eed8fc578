#include "sweep/child_process.hpp"

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fstream>
#include <thread>

#include "core/error.hpp"

extern char** environ;

namespace tca::sweep {

namespace {

std::atomic<int> g_count{0};
std::atomic<int> g_last{0};
struct sigaction g_previous[3];
const int kSignals[3] = {SIGINT, SIGTERM, SIGUSR1};

void on_signal(int sig) {
  g_last.store(sig);
  g_count.fetch_add(1);
}

}  // namespace

RunnerSignals::RunnerSignals() {
  g_count.store(0);
  g_last.store(0);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  for (int i = 0; i < 3; ++i) sigaction(kSignals[i], &sa, &g_previous[i]);
}

RunnerSignals::~RunnerSignals() {
  for (int i = 0; i < 3; ++i) sigaction(kSignals[i], &g_previous[i], nullptr);
}

int RunnerSignals::count() { return g_count.load(); }
int RunnerSignals::last_signal() { return g_last.load(); }

ChildResult run_child(const std::vector<std::string>& argv,
                      const std::map<std::string, std::string>& env, const std::string& log_path) {
  std::vector<std::string> env_text;
  for (char** e = environ; *e; ++e) {
    const std::string entry(*e);
    const auto eq = entry.find('=');
    if (eq != std::string::npos && env.count(entry.substr(0, eq))) continue;
    env_text.push_back(entry);
  }
  for (const auto& [k, v] : env) env_text.push_back(k + "=" + v);
  std::vector<char*> args, envp;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (const auto& e : env_text) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  // The log must be openable before the fork: the child can only report failure by exit code.
  const int log_fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) throw RuntimeFailure("cannot open log " + log_path + ": " + std::strerror(errno));
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const pid_t parent = getpid();
  // fork + exec rather than posix_spawn for PR_SET_PDEATHSIG: if the runner is killed outright
  // (SIGKILL, OOM), its children get SIGTERM, checkpoint and stop, instead of training on as
  // orphans that a re-run would then race. Between fork and exec only async-signal-safe calls.
  const pid_t pid = fork();
  if (pid < 0) {
    ::close(log_fd);
    if (null_fd >= 0) ::close(null_fd);
    throw RuntimeFailure("cannot start " + argv[0] + ": " + std::strerror(errno));
  }
  if (pid == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(127);  // the runner died before prctl took effect
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    for (int sig : kSignals) sigaction(sig, &dfl, nullptr);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    dup2(log_fd, STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    if (null_fd >= 0) dup2(null_fd, STDIN_FILENO);
    execve(args[0], args.data(), envp.data());
    const char msg[] = "tca sweep: error: cannot execute the child command\n";
    ssize_t ignored = write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)ignored;
    _exit(127);
  }
  ::close(log_fd);
  if (null_fd >= 0) ::close(null_fd);

  ChildResult result;
  int forwarded = RunnerSignals::count();
  int status = 0;
  for (;;) {
    const pid_t w = waitpid(pid, &status, WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR)
      throw RuntimeFailure(std::string("waitpid failed: ") + std::strerror(errno));
    const int now = RunnerSignals::count();
    if (now != forwarded) {
      forwarded = now;
      result.interrupted = true;
      kill(pid, RunnerSignals::last_signal());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.interrupted |= RunnerSignals::count() != 0;
  return result;
}

std::string last_error_line(const std::string& log_path) {
  std::ifstream in(log_path);
  std::string line, last, error;
  while (std::getline(in, line)) {
    // A progress bar's carriage returns: keep what was drawn last.
    const auto cr = line.find_last_of('\r');
    if (cr != std::string::npos) line = line.substr(cr + 1);
    if (line.empty()) continue;
    last = line;
    if (line.find(": error: ") != std::string::npos) error = line;
  }
  std::string s = error.empty() ? last : error;
  if (s.size() > 300) s = s.substr(0, 297) + "...";
  return s;
}

std::string self_executable() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0) throw RuntimeFailure("cannot find the tca executable (/proc/self/exe)");
  const std::string path(buf, static_cast<size_t>(n));
  const std::string deleted = " (deleted)";
  if (path.size() > deleted.size() &&
      path.compare(path.size() - deleted.size(), deleted.size(), deleted) == 0) {
    throw RuntimeFailure("the tca executable was replaced while running (" + path +
                         "): restart the sweep with the new build (finished runs are skipped, "
                         "partial ones resumed)");
  }
  return path;
}

}  // namespace tca::sweep
