#include "core/buffer_pool.hpp"

#include <cstdlib>
#include <unordered_map>
#include <vector>

namespace tca {

namespace {

// Nesting depth of ScopedBufferPool on this thread, and whether its pool is already destroyed
// (thread exit): plain thread_locals without destructors, valid until the thread ends, so a
// tensor freed by a later thread_local or static destructor never touches a destroyed pool.
thread_local int t_enabled = 0;
thread_local bool t_pool_destroyed = false;

struct ThreadPool {
  size_t cached = 0;
  std::unordered_map<size_t, std::vector<void*>> free_blocks;  // by size class in bytes
  ~ThreadPool() {
    release();
    t_pool_destroyed = true;
  }
  void release() {
    for (auto& [bytes, blocks] : free_blocks)
      for (void* p : blocks) std::free(p);
    free_blocks.clear();
    cached = 0;
  }
};

ThreadPool& pool() {
  thread_local ThreadPool p;
  return p;
}

// The size class of a large block: rounded up to an eighth of its power of two (at most 12.5%
// more), so that the varying shapes of a task with a random context size (GP: Nc ~ U{3..46}) fall
// into a few classes that are reused, instead of filling the pool with sizes never asked again.
// Every large block is allocated at its class size, pool on or off, so any large block released
// into a pool can serve any request of its class.
size_t size_class(size_t bytes) {
  if (bytes < kMinPooledBytes) return bytes;
  size_t power = kMinPooledBytes;
  while (power * 2 <= bytes) power *= 2;
  const size_t step = power / 8;
  return (bytes + step - 1) / step * step;
}

bool pool_usable(size_t bytes) {
  return t_enabled > 0 && !t_pool_destroyed && bytes >= kMinPooledBytes;
}

}  // namespace

void* pooled_allocate(size_t bytes) {
  bytes = size_class(bytes);
  if (pool_usable(bytes)) {
    ThreadPool& tp = pool();
    auto it = tp.free_blocks.find(bytes);
    if (it != tp.free_blocks.end() && !it->second.empty()) {
      void* p = it->second.back();
      it->second.pop_back();
      tp.cached -= bytes;
      return p;
    }
  }
  return std::aligned_alloc(64, bytes);
}

void pooled_release(void* p, size_t bytes) {
  bytes = size_class(bytes);
  if (pool_usable(bytes)) {
    ThreadPool& tp = pool();
    if (tp.cached + bytes <= kMaxPooledBytesPerThread) {
      tp.free_blocks[bytes].push_back(p);
      tp.cached += bytes;
      return;
    }
  }
  std::free(p);
}

ScopedBufferPool::ScopedBufferPool() { ++t_enabled; }
ScopedBufferPool::~ScopedBufferPool() { --t_enabled; }

void release_pooled_buffers() {
  if (!t_pool_destroyed) pool().release();
}

size_t pooled_bytes_cached() { return t_pool_destroyed ? 0 : pool().cached; }

}  // namespace tca
