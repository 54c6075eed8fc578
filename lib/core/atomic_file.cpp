#include "core/atomic_file.hpp"

#include <fcntl.h>
#include <unistd.h>

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

static void fsync_path(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

void write_atomically(const std::string& path,
                      const std::function<void(const std::string&)>& write) {
  const std::string tmp = temp_path_for(path);
  try {
    write(tmp);
    fsync_path(tmp);
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
      throw RuntimeFailure("cannot rename " + tmp + " to " + path + ": " + std::strerror(errno));
    }
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
