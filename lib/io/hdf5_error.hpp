// libhdf5 error capture (platform.md "HDF5 1.10.8 C++ API"): by default every failing libhdf5 call
// prints a multi-line "HDF5-DIAG" stack to stderr, and the C++/C return codes carry only generic
// text ("H5Dread failed"). The real reason lives on the library's per-thread error stack, so we
// install an automatic-error callback that walks that stack into a thread-local string, which our
// code then puts into its own one-line message. Nothing is ever printed by libhdf5.
#pragma once
#include <string>

namespace tca::io {

// Installs the capturing callback for the calling thread (libhdf5's thread-safe build keeps the
// error settings per thread). Idempotent and cheap; every function of lib/io calls it first, so
// callers only need it when they use libhdf5 directly.
void capture_hdf5_errors();

// The reason captured since the last take/clear (innermost cause first, at most a few entries,
// "; "-separated), or "" if libhdf5 reported nothing. Clears the captured text.
std::string take_hdf5_error();

// One libhdf5 error description as one line without its run-to-run noise (timestamps, buffer
// addresses, byte counts, temp-file suffixes); applied to every captured entry.
std::string clean_hdf5_description(const std::string& raw);

// Forgets any captured text (call before an operation whose failure you will report).
void clear_hdf5_error();

}  // namespace tca::io
