#include "core/atomic_file.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>

#include "core/error.hpp"

namespace tca {

std::string temp_path_for(const std::string& path) {
  std::random_device rd;
  char suffix[32];
  std::snprintf(suffix, sizeof suffix, ".tmp%d.%08x", static_cast<int>(getpid()), rd());
  return path + suffix;
}

namespace {

const char* file_kind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

// The temp files being written (one per nested write_atomically), for the signal handler. Plain
// char arrays and a lock-free counter: all a handler may touch.
constexpr int kMaxTemps = 8;
char g_temp_paths[kMaxTemps][4096];
std::atomic<int> g_temp_count{0};
constexpr int kCleanupSignals[3] = {SIGINT, SIGTERM, SIGHUP};

extern "C" void remove_temps_and_die(int sig) {
  const int n = g_temp_count.load();
  for (int i = 0; i < n && i < kMaxTemps; ++i) ::unlink(g_temp_paths[i]);
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

// Registers `tmp` for removal on a fatal signal for its lifetime. Installs the handler only for
// signals left at their default action: the trainer's stop handler (core/signals.hpp) must keep
// SIGINT, since its checkpoint write is how an interrupted run ends.
class TempFileGuard {
 public:
  explicit TempFileGuard(const std::string& tmp) {
    const int slot = g_temp_count.load();
    if (slot >= kMaxTemps || tmp.size() >= sizeof g_temp_paths[0]) return;
    std::memcpy(g_temp_paths[slot], tmp.c_str(), tmp.size() + 1);
    g_temp_count.store(slot + 1);
    registered_ = true;
    for (int i = 0; i < 3; ++i) {
      struct sigaction current {};
      if (::sigaction(kCleanupSignals[i], nullptr, &current) != 0 || current.sa_handler != SIG_DFL) continue;
      struct sigaction action {};
      action.sa_handler = remove_temps_and_die;
      sigemptyset(&action.sa_mask);
      action.sa_flags = SA_RESTART;
      if (::sigaction(kCleanupSignals[i], &action, &previous_[i]) == 0) installed_[i] = true;
    }
  }
  ~TempFileGuard() {
    for (int i = 0; i < 3; ++i) {
      if (installed_[i]) ::sigaction(kCleanupSignals[i], &previous_[i], nullptr);
    }
    if (registered_) g_temp_count.fetch_sub(1);
  }
  TempFileGuard(const TempFileGuard&) = delete;
  TempFileGuard& operator=(const TempFileGuard&) = delete;

 private:
  bool registered_ = false;
  bool installed_[3] = {false, false, false};
  struct sigaction previous_[3] {};
};

}  // namespace

std::string without_temp_name(std::string text, const std::string& tmp, const std::string& path) {
  for (size_t at = text.find(tmp); at != std::string::npos; at = text.find(tmp, at + path.size())) {
    text.replace(at, tmp.size(), path);
  }
  return text;
}

void check_output_file(const std::string& path, const std::string& option) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (!S_ISREG(st.st_mode)) {
      throw UsageError(option + " " + path + ": expected a regular file (written to a temp file, then renamed onto it), found " +
                       file_kind(st.st_mode));
    }
    return;
  }
  const size_t slash = path.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, std::max<size_t>(slash, 1));
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    throw UsageError(option + " " + path + ": directory " + dir + " does not exist");
  }
}

static void fsync_path(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

void write_atomically(const std::string& path,
                      const std::function<void(const std::string&)>& write) {
  // Only the kind of an existing target here (a missing directory stays the write's own error).
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) check_output_file(path, "output file");
  const std::string tmp = temp_path_for(path);
  TempFileGuard guard(tmp);
  try {
    write(tmp);
    fsync_path(tmp);
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
      throw RuntimeFailure("cannot rename the temp file onto " + path + ": " + std::strerror(errno));
    }
  } catch (const Error& e) {
    std::remove(tmp.c_str());
    // The user asked for `path`; the temp name (pid and random suffix) in a message is noise.
    const std::string what = without_temp_name(e.what(), tmp, path);
    if (what == e.what()) throw;
    if (dynamic_cast<const RuntimeFailure*>(&e)) throw RuntimeFailure(what);
    if (dynamic_cast<const InputError*>(&e)) throw InputError(what);
    if (dynamic_cast<const UsageError*>(&e)) throw UsageError(what);
    throw Error(what, e.exit_code());
  } catch (...) {
    std::remove(tmp.c_str());
    throw;
  }
}

void write_text_atomically(const std::string& path, const std::string& text) {
  write_atomically(path, [&](const std::string& tmp) {
    std::FILE* f = std::fopen(tmp.c_str(), "wb");
    if (!f) throw RuntimeFailure("cannot write " + tmp + ": " + std::strerror(errno));
    size_t n = std::fwrite(text.data(), 1, text.size(), f);
    int flush_err = std::fflush(f);
    int err = errno;
    std::fclose(f);
    if (n != text.size() || flush_err != 0) {
      throw RuntimeFailure("cannot write " + path + ": " + std::strerror(err ? err : EIO));
    }
  });
}

}  // namespace tca
