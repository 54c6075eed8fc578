// Resident memory of this process, for the benchmark's peak-RSS figures (issue 12 (d)). Linux
// keeps the high-water mark VmHWM in /proc/self/status and lets a process reset it by writing "5"
// to /proc/self/clear_refs, so each benchmark row can report the peak of its own work instead of
// the process's peak so far (getrusage's ru_maxrss, core/system_info.hpp, cannot be reset).
#pragma once

namespace tca::bench {

// Returns the heap's free memory to the OS (every thread's buffer pool, then malloc_trim;
// core/tensor.cpp keeps freed blocks in the heap and never trims it), so that a reset_peak_rss()
// after it starts from the memory in use rather than from the footprint of earlier rows.
void release_free_heap();
// Resets the high-water mark to the current RSS; false where the kernel does not allow it (the
// peak then stays the process's peak so far).
bool reset_peak_rss();
// VmHWM in MiB (the peak since the last reset or since the start); falls back to getrusage.
double peak_rss_mb();
// VmRSS in MiB (0 when unreadable).
double current_rss_mb();

}  // namespace tca::bench
