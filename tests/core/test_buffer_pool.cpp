// The per-thread pool of large tensor buffers (core/buffer_pool.hpp).
#include <doctest/doctest.h>

#include <cstdint>
#include <thread>

#include "core/buffer_pool.hpp"
#include "core/tensor.hpp"

TEST_CASE("with the pool on, a released large block is reused for a request of its size class") {
  tca::ScopedBufferPool on;
  const size_t before = tca::pooled_bytes_cached();
  void* a = tca::pooled_allocate(size_t{1} << 20);
  REQUIRE(a != nullptr);
  tca::pooled_release(a, size_t{1} << 20);
  CHECK(tca::pooled_bytes_cached() == before + (size_t{1} << 20));
  // 1 MiB + 64 bytes rounds up to the same class (an eighth of 1 MiB above it): not the same.
  void* b = tca::pooled_allocate((size_t{1} << 20) + 64);
  CHECK(b != a);
  void* c = tca::pooled_allocate(size_t{1} << 20);
  CHECK(c == a);
  CHECK(tca::pooled_bytes_cached() == before);
  // The block has its full class capacity: writing all of it is fine (ASan checks this).
  static_cast<char*>(b)[(size_t{1} << 20) + (size_t{1} << 17) - 1] = 1;
  tca::pooled_release(b, (size_t{1} << 20) + 64);
  tca::pooled_release(c, size_t{1} << 20);
}

TEST_CASE("with the pool off, and for small blocks, nothing is cached") {
  const size_t before = tca::pooled_bytes_cached();
  void* a = tca::pooled_allocate(size_t{1} << 20);
  tca::pooled_release(a, size_t{1} << 20);
  CHECK(tca::pooled_bytes_cached() == before);
  tca::ScopedBufferPool on;
  void* s = tca::pooled_allocate(4096);
  tca::pooled_release(s, 4096);
  CHECK(tca::pooled_bytes_cached() == before);
}

TEST_CASE("a block released by a thread without its pool on is freed, not cached there") {
  tca::ScopedBufferPool on;
  tca::Tensor t = tca::Tensor::zeros({3 << 18});  // 3 MiB, a class of its own
  const size_t before = tca::pooled_bytes_cached();
  std::thread other([moved = std::move(t)]() mutable { moved = tca::Tensor(); });
  other.join();
  CHECK(tca::pooled_bytes_cached() == before);
  // A tensor freed on this thread, pool on, is cached and its buffer comes back.
  tca::Tensor u = tca::Tensor::zeros({3 << 18});
  const void* where = u.raw();
  const size_t held = tca::pooled_bytes_cached();
  u = tca::Tensor();
  CHECK(tca::pooled_bytes_cached() == held + (size_t{3} << 20));
  tca::Tensor v = tca::Tensor::empty({3 << 18});
  CHECK(v.raw() == where);
  CHECK(tca::pooled_bytes_cached() == held);
}

TEST_CASE("release_pooled_buffers empties the calling thread's pool") {
  tca::ScopedBufferPool on;
  tca::pooled_release(tca::pooled_allocate(size_t{1} << 21), size_t{1} << 21);
  CHECK(tca::pooled_bytes_cached() >= (size_t{1} << 21));
  tca::release_pooled_buffers();
  CHECK(tca::pooled_bytes_cached() == 0);
}
