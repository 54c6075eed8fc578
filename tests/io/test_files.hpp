// Test helpers shared by tests/io and tests/data: a temp directory removed on destruction, and
// byte-level file surgery for the malformed-file tests.
#pragma once
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

namespace tca::test {

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/tca_test_XXXXXX";
    if (!mkdtemp(pattern)) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

inline int64_t file_size(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_size) : -1;
}

// Keeps the first `bytes` bytes of a file.
inline void truncate_file(const std::string& path, int64_t bytes) {
  write_bytes(path, read_bytes(path).substr(0, static_cast<size_t>(bytes)));
}

// Runs `fn` with stderr redirected to a file and returns what was printed there.
template <class Fn>
std::string capture_stderr(const std::string& scratch_file, Fn&& fn) {
  std::fflush(stderr);
  const int saved = dup(2);
  std::FILE* sink = std::fopen(scratch_file.c_str(), "w");
  dup2(fileno(sink), 2);
  try {
    fn();
  } catch (...) {
    std::fflush(stderr);
    dup2(saved, 2);
    close(saved);
    std::fclose(sink);
    throw;
  }
  std::fflush(stderr);
  dup2(saved, 2);
  close(saved);
  std::fclose(sink);
  return read_bytes(scratch_file);
}

}  // namespace tca::test

// Checks that `expr` throws `ExceptionType` whose message contains `needle` (a std::string or a
// literal); prints the full message when it does not.
#define CHECK_ERROR(expr, ExceptionType, needle)                                          \
  do {                                                                                    \
    std::string tca_message_;                                                             \
    bool tca_thrown_ = false;                                                             \
    try {                                                                                 \
      (void)(expr);                                                                       \
    } catch (const ExceptionType& tca_error_) {                                           \
      tca_thrown_ = true;                                                                 \
      tca_message_ = tca_error_.what();                                                   \
    }                                                                                     \
    CHECK_MESSAGE(tca_thrown_, "expected " #ExceptionType " from " #expr);                \
    if (tca_thrown_) {                                                                    \
      CHECK_MESSAGE(tca_message_.find(needle) != std::string::npos,                       \
                    "message: " << tca_message_ << "\n  does not contain: " << (needle)); \
    }                                                                                     \
  } while (0)
