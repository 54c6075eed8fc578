#include "io/hdf5_error.hpp"

#include <hdf5.h>

#include <vector>

namespace tca::io {
namespace {

thread_local std::string captured_error;
thread_local bool capture_installed = false;

// How many stack entries to keep: the innermost ones name the cause ("truncated file: eof = ...",
// "inflate() failed"); the outer ones only repeat "unable to open file" up the call chain.
constexpr size_t kMaxEntries = 3;

herr_t collect_entry(unsigned /*n*/, const H5E_error2_t* entry, void* client) {
  auto* entries = static_cast<std::vector<std::string>*>(client);
  std::string text = entry->desc ? entry->desc : "";
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
