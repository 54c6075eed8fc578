// A per-thread cache of large tensor buffers, on only where it is switched on (ScopedBufferPool).
//
// Why: glibc gives each thread other than the main one its own arena made of 64 MB heaps, and
// deletes a heap as soon as it is entirely free, whatever M_TRIM_THRESHOLD says. A data-parallel
// replica on a worker thread frees its whole autograd graph at the end of every step, so its
// heaps go back to the OS and the next step page-faults its activations afresh (TCA copy T = 256:
// 319-436 ms per data-parallel step against 223 ms op-parallel, README "Performance"). One arena
// for all threads (MALLOC_ARENA_MAX=1) fixes that but doubles the GP steps (lock contention on
// their many small allocations). Caching only the large buffers (>= kMinPooledBytes), per thread,
// by size class, keeps the replica's memory between steps and leaves small allocations to malloc.
#pragma once
#include <cstddef>

namespace tca {

// Buffers below this many bytes are never pooled: malloc serves them from the thread's current
// heap without page faults, and there are thousands per step.
constexpr size_t kMinPooledBytes = size_t{1} << 18;  // 256 KiB
// At most this many bytes are kept cached per thread; a release beyond it goes to free().
constexpr size_t kMaxPooledBytesPerThread = size_t{2} << 30;  // 2 GiB

// A 64-byte-aligned block of at least `bytes` (a multiple of 64; a large block is rounded up to
// its size class, at most 12.5% more): from this thread's pool when the pool is on and holds a
// block of that class, else from aligned_alloc (nullptr when out of memory).
void* pooled_allocate(size_t bytes);
// Returns a block from pooled_allocate(bytes) (the same `bytes`): into this thread's pool when it
// is on, the block is large and the pool has room, else to free().
void pooled_release(void* p, size_t bytes);

// Switches the calling thread's pool on for its lifetime (nestable). The cached blocks outlive
// it and are reused the next time the pool is on; they are freed when the thread exits.
class ScopedBufferPool {
 public:
  ScopedBufferPool();
  ~ScopedBufferPool();
  ScopedBufferPool(const ScopedBufferPool&) = delete;
  ScopedBufferPool& operator=(const ScopedBufferPool&) = delete;
};

// Frees every block cached by the calling thread's pool (the benchmark, before measuring a row's
// own peak memory).
void release_pooled_buffers();

// Bytes cached by the calling thread's pool now (for tests and diagnostics).
size_t pooled_bytes_cached();

}  // namespace tca
