// Error types. Every user-facing failure is one of these; `main` turns it into one line on stderr
// and the exit code of conventions.md ("Exit codes and errors").
#pragma once
#include <stdexcept>
#include <string>

namespace tca {

// `text` in single quotes with every byte outside printable ASCII shown as \xNN: for echoing
// untrusted input (a CSV field, a sequence id) in a message without sending escape sequences
// to the user's terminal.
inline std::string quoted_bytes(const std::string& text, size_t max_bytes = 80) {
  static const char* hex = "0123456789abcdef";
  std::string out = "'";
  for (size_t i = 0; i < text.size() && i < max_bytes; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  if (text.size() > max_bytes) out += "...";
  return out + "'";
}

// Exit codes (conventions.md).
enum ExitCode : int {
  kExitOk = 0,
  kExitFailure = 1,       // runtime failure: I/O error mid-run, full disk, numerical failure
  kExitUsage = 2,         // usage, config or invalid-input error
  kExitSweepFailed = 3,   // sweep finished with failed runs
  kExitRequeue = 75,      // interrupted by a scheduler signal after checkpointing
  kExitInterrupted = 130  // Ctrl-C
};

class Error : public std::runtime_error {
 public:
  Error(const std::string& what, int exit_code) : std::runtime_error(what), exit_code_(exit_code) {}
  int exit_code() const { return exit_code_; }

 private:
  int exit_code_;
};

// A bad flag, config key or option value (exit 2).
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& what) : Error(what, kExitUsage) {}
};

// An input file that is malformed, missing or inconsistent (exit 2). Formats the message as
// "<what> (<file>:<key>): expected <expected>, found <found>".
class InputError : public Error {
 public:
  explicit InputError(const std::string& what) : Error(what, kExitUsage) {}
  InputError(const std::string& file, const std::string& key, const std::string& what,
             const std::string& expected, const std::string& found)
      : Error(format(file, key, what, expected, found), kExitUsage) {}

  static std::string format(const std::string& file, const std::string& key,
                            const std::string& what, const std::string& expected,
                            const std::string& found) {
    std::string s = what + " (" + file + (key.empty() ? "" : ":" + key) + ")";
    if (!expected.empty()) s += ": expected " + expected;
    if (!found.empty()) s += (expected.empty() ? ": found " : ", found ") + found;
    return s;
  }
};

// A failure while running (exit 1): I/O error, full disk, NaN loss, oneDNN error.
class RuntimeFailure : public Error {
 public:
  explicit RuntimeFailure(const std::string& what) : Error(what, kExitFailure) {}
};

// Two tensors whose shapes do not fit an operation; names both shapes. A programming error in
// the library or a model/data mismatch, so exit 1.
class ShapeError : public Error {
 public:
  explicit ShapeError(const std::string& what) : Error(what, kExitFailure) {}
};

}  // namespace tca
