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
#include <mutex>
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

// The temp files being written, for the signal handler: one slot per write in progress, claimed
// with a compare-and-swap, so that writes on several threads at once (the sweep runner's workers)
// each own a slot. A slot's path is published (`ready`) only once it is written; the handler only
// reads slots that are ready: plain char arrays and lock-free flags, all a handler may touch.
constexpr int kMaxTemps = 16;
char g_temp_paths[kMaxTemps][4096];
std::atomic<bool> g_slot_taken[kMaxTemps];
std::atomic<bool> g_slot_ready[kMaxTemps];
constexpr int kCleanupSignals[3] = {SIGINT, SIGTERM, SIGHUP};

extern "C" void remove_temps_and_die(int sig) {
  for (int i = 0; i < kMaxTemps; ++i) {
    if (g_slot_ready[i].load()) ::unlink(g_temp_paths[i]);
  }
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

// The handler is installed while any write is in progress, for the signals left at their default
// action: the trainer's stop handler (core/signals.hpp) must keep SIGINT, since its checkpoint
// write is how an interrupted run ends. The first write installs, the last one restores.
std::mutex g_install_mutex;
int g_writes_in_progress = 0;
bool g_installed[3] = {false, false, false};
struct sigaction g_previous[3];

// Registers `tmp` for removal on a fatal signal for its lifetime.
class TempFileGuard {
 public:
  explicit TempFileGuard(const std::string& tmp) {
    if (tmp.size() >= sizeof g_temp_paths[0]) return;
    for (int i = 0; i < kMaxTemps && slot_ < 0; ++i) {
      bool expected = false;
      if (g_slot_taken[i].compare_exchange_strong(expected, true)) slot_ = i;
    }
    if (slot_ < 0)
      return;  // more writes at once than slots: this one is not cleaned up on a signal
    std::memcpy(g_temp_paths[slot_], tmp.c_str(), tmp.size() + 1);
    g_slot_ready[slot_].store(true);
    std::lock_guard<std::mutex> lock(g_install_mutex);
    if (g_writes_in_progress++ == 0) {
      for (int i = 0; i < 3; ++i) {
        struct sigaction current {};
        g_installed[i] = false;
        if (::sigaction(kCleanupSignals[i], nullptr, &current) != 0 ||
            current.sa_handler != SIG_DFL)
          continue;
        struct sigaction action {};
        action.sa_handler = remove_temps_and_die;
        sigemptyset(&action.sa_mask);
        action.sa_flags = SA_RESTART;
        g_installed[i] = ::sigaction(kCleanupSignals[i], &action, &g_previous[i]) == 0;
      }
    }
  }
  ~TempFileGuard() {
    if (slot_ < 0) return;
    g_slot_ready[slot_].store(false);
    g_slot_taken[slot_].store(false);
    std::lock_guard<std::mutex> lock(g_install_mutex);
    if (--g_writes_in_progress == 0) {
      for (int i = 0; i < 3; ++i) {
        if (g_installed[i]) ::sigaction(kCleanupSignals[i], &g_previous[i], nullptr);
        g_installed[i] = false;
      }
    }
  }
  TempFileGuard(const TempFileGuard&) = delete;
  TempFileGuard& operator=(const TempFileGuard&) = delete;

 private:
  int slot_ = -1;
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
      throw UsageError(
          option + " " + path +
          ": expected a regular file (written to a temp file, then renamed onto it), found " +
          file_kind(st.st_mode));
    }
    return;
  }
  const size_t slash = path.rfind('/');
  const std::string dir =
      slash == std::string::npos ? "." : path.substr(0, std::max<size_t>(slash, 1));
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
  if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
    check_output_file(path, "output file");
  const std::string tmp = temp_path_for(path);
  TempFileGuard guard(tmp);
  try {
    write(tmp);
    fsync_path(tmp);
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
      throw RuntimeFailure("cannot rename the temp file onto " + path + ": " +
                           std::strerror(errno));
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
