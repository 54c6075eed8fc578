#include "io/hdf5_error.hpp"

#include <hdf5.h>

#include <regex>
#include <vector>

namespace tca::io {

// libhdf5's descriptions of I/O failures span two lines and carry a timestamp, a buffer address,
// byte counts and the temp file's name ("file write failed: time = Sun Dec  6 14:20:07 2026\n,
// filename = '/r/checkpoint.h5.tmp812.3fa9c01e', file descriptor = 5, errno = 28, error message =
// 'No space left on device', buf = 0x..., total write size = 4096, ..."). Our messages are one
// line and name the file the user asked for, so the description is cut to what explains the
// failure: whitespace runs (newlines included) become one space, the fields that only change
// from run to run are dropped, and a temp suffix (core/atomic_file.hpp) is removed.
std::string clean_hdf5_description(const std::string& raw) {
  std::string text;
  for (char c : raw) {
    const bool space = c == '\n' || c == '\r' || c == '\t' || c == ' ';
    if (space) {
      if (!text.empty() && text.back() != ' ') text += ' ';
    } else {
      text += c;
    }
  }
  while (!text.empty() && text.back() == ' ') text.pop_back();
  static const std::regex noise(
      "(time = [^,]*|buf = 0x[0-9a-fA-F]*|total (write|read) size = [0-9]*|bytes this "
      "sub-(write|read) = [0-9]*|"
      "bytes actually (written|read) = -?[0-9]*|offset = [0-9]*|file descriptor = [0-9]*)( ?,)?");
  text = std::regex_replace(text, noise, "");
  static const std::regex temp_suffix("\\.tmp[0-9]+\\.[0-9a-f]{8}");
  text = std::regex_replace(text, temp_suffix, "");
  text = std::regex_replace(text, std::regex(" +,"), ",");
  text = std::regex_replace(text, std::regex(" {2,}"), " ");
  text = std::regex_replace(text, std::regex(": ?, "), ": ");
  text = std::regex_replace(text, std::regex(", ?, "), ", ");
  while (!text.empty() && (text.back() == ' ' || text.back() == ',')) text.pop_back();
  return text;
}

namespace {

thread_local std::string captured_error;
thread_local bool capture_installed = false;

// How many stack entries to keep: the innermost ones name the cause ("truncated file: eof = ...",
// "inflate() failed"); the outer ones only repeat "unable to open file" up the call chain.
constexpr size_t kMaxEntries = 3;

herr_t collect_entry(unsigned /*n*/, const H5E_error2_t* entry, void* client) {
  auto* entries = static_cast<std::vector<std::string>*>(client);
  std::string text = clean_hdf5_description(entry->desc ? entry->desc : "");
  if (entry->func_name) text = std::string(entry->func_name) + "(): " + text;
  entries->push_back(text);
  return 0;
}

// Called by libhdf5 instead of printing: record the stack, innermost first.
herr_t capture_stack(hid_t stack, void* /*client*/) {
  std::vector<std::string> entries;  // outermost (API call) first
  H5Ewalk2(stack, H5E_WALK_DOWNWARD, collect_entry, &entries);
  std::string text;
  size_t kept = 0;
  for (auto it = entries.rbegin(); it != entries.rend() && kept < kMaxEntries; ++it) {
    if (text.find(*it) != std::string::npos) continue;
    text += (kept ? "; " : "") + *it;
    ++kept;
  }
  // Keep the first failure of an operation: later ones are usually consequences of it.
  if (captured_error.empty()) captured_error = text;
  return 0;
}

}  // namespace

void capture_hdf5_errors() {
  if (capture_installed) return;
  // libhdf5 1.10 bug (HDFFV-11052, CVE-2020-10812): when closing a file fails (a full disk while
  // writing), the file object is freed but its ID stays registered, and the cleanup libhdf5 runs
  // at exit then crashes on it (SIGSEGV instead of our exit 1). Every H5File is closed by RAII, so
  // that cleanup is not needed; H5dont_atexit only works before libhdf5 initialises, hence here,
  // ahead of the first libhdf5 call of the process.
  static const bool no_exit_cleanup = (H5dont_atexit(), true);
  (void)no_exit_cleanup;
  H5Eset_auto2(H5E_DEFAULT, capture_stack, nullptr);
  capture_installed = true;
}

std::string take_hdf5_error() {
  std::string text;
  text.swap(captured_error);
  return text;
}

void clear_hdf5_error() { captured_error.clear(); }

}  // namespace tca::io
