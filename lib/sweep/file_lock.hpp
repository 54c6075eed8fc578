// The locks of a sweep directory (DIR/locks/*.lock): `sweep run` takes one per run and one per
// generated eval set (FileLock); `sweep status` tells, without taking it, whether a run's is held
// (flock_held). flock() locks are released when their holder exits, however it exits, so a killed
// worker never leaves a stale lock behind.
#pragma once
#include <string>

namespace tca::sweep {

class FileLock {
 public:
  // Takes an exclusive flock on `path` (created if missing): waits for it when `wait`, else
  // gives up at once when another process holds it (held() is false then).
  FileLock(const std::string& path, bool wait);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  bool held() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// Whether some process holds an flock() on `path`, read from /proc/locks (taking the lock to test
// it could make a runner starting at that moment skip its run). False when it cannot be told, and
// for a lock held on another machine of a shared filesystem (not in this kernel's table).
bool flock_held(const std::string& path);

}  // namespace tca::sweep
