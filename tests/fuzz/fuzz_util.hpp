// Shared by the libFuzzer targets (make fuzz, README.md here): each input becomes a file under
// /dev/shm (a tmpfs, so libhdf5 reads it from memory through its ordinary file driver) and is
// handed to one of our readers. Our own errors (tca::Error: exit 1 or 2 with a message) are the
// expected outcome of a hostile input; anything else (a crash, a sanitizer report, another
// exception type, a leak of memory past -malloc_limit_mb) is a finding.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace tca::fuzz {

// Writes `data` to a per-process file with the given suffix and returns its path.
std::string write_input(const uint8_t* data, size_t size, const std::string& suffix);

// Runs `fn`; returns normally for a tca::Error (the clean rejection), aborts with the message
// for any other exception, which libFuzzer then reports as a crash with its input.
template <class Fn>
void expect_clean(Fn&& fn);

}  // namespace tca::fuzz

#include <cstdio>
#include <cstdlib>
#include <exception>

#include "core/error.hpp"

template <class Fn>
void tca::fuzz::expect_clean(Fn&& fn) {
  try {
    fn();
  } catch (const tca::Error&) {
    // A clean, one-line rejection: what a hostile input must end in.
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz: unexpected exception (not a tca::Error): %s\n", e.what());
    std::abort();
  }
}
