// PrimitiveCache (core/dnnl_context.hpp): one entry per key and per thread count, so a primitive
// planned for 2 threads is never run single-threaded inside a data-parallel replica (and the
// reverse); the stream is the calling thread's.
#include <doctest/doctest.h>
#include <omp.h>

#include "core/dnnl_context.hpp"

using namespace tca;

TEST_CASE("the primitive cache keeps one entry per key and OpenMP thread count") {
  const int threads_before = omp_get_max_threads();
  PrimitiveCache<int> cache;
  int made = 0;
  auto make = [&] { return ++made; };
  const PrimitiveKey key{{1, 2, 3}}, other{{1, 2, 4}};
  omp_set_num_threads(2);
  CHECK(cache.get(key, make) == 1);
  CHECK(cache.get(key, make) == 1);
  omp_set_num_threads(1);
  CHECK(cache.get(key, make) == 2);  // planned for one thread: a new entry
  CHECK(cache.get(key, make) == 2);
  CHECK(cache.get(other, make) == 3);
  omp_set_num_threads(2);
  CHECK(cache.get(key, make) == 1);
  CHECK(cache.size() == 3);
  omp_set_num_threads(threads_before);
}

TEST_CASE("each thread has its own oneDNN stream") {
  dnnl::stream* main_stream = &tca::dnnl_stream();
  dnnl::stream* streams[2] = {nullptr, nullptr};
#pragma omp parallel num_threads(2)
  streams[omp_get_thread_num()] = &tca::dnnl_stream();
  CHECK(streams[0] == main_stream);
  if (streams[1]) CHECK(streams[1] != main_stream);
}
