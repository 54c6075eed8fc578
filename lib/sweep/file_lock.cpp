#include "sweep/file_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/error.hpp"

namespace tca::sweep {

FileLock::FileLock(const std::string& path, bool wait) {
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw RuntimeFailure("cannot open lock file " + path + ": " + std::strerror(errno));
  while (::flock(fd_, wait ? LOCK_EX : LOCK_EX | LOCK_NB) != 0) {
    if (errno == EINTR) continue;
    ::close(fd_);
    fd_ = -1;
    break;
  }
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);
}

bool flock_held(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return false;
  std::ifstream locks("/proc/locks");
  // "1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF": the device (hex major:minor) and inode.
  for (std::string line; std::getline(locks, line);) {
    std::istringstream in(line);
    std::string id, kind, mode, access, pid, where;
    if (!(in >> id >> kind)) continue;
    if (kind == "->") in >> kind;  // a blocked waiter: "1: -> FLOCK ..."
    if (kind != "FLOCK" || !(in >> mode >> access >> pid >> where)) continue;
    unsigned major_id = 0, minor_id = 0;
    unsigned long long inode = 0;
    if (std::sscanf(where.c_str(), "%x:%x:%llu", &major_id, &minor_id, &inode) != 3) continue;
    if (inode == static_cast<unsigned long long>(st.st_ino) && major_id == major(st.st_dev) &&
        minor_id == minor(st.st_dev))
      return true;
  }
  return false;
}

}  // namespace tca::sweep
