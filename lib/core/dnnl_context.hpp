// The process-wide oneDNN engine, each thread's stream (the only global state besides primitive
// caches, style.md), and a typed cache so that each op creates its primitives once per shape and
// reuses them (platform.md: a cold creation costs 15-55 us, a cache hit in oneDNN's own cache
// ~1 us, holding the primitive ~0).
#pragma once
#include <cstdint>
#include <dnnl.hpp>
#include <memory>
#include <unordered_map>
#include <utility>
#include <vector>

namespace tca {

dnnl::engine& dnnl_engine();
// The calling thread's stream: a stream is not shared between threads that execute at the same
// time (data-parallel training, train/data_parallel.hpp).
dnnl::stream& dnnl_stream();

// The thread count a primitive created now on this thread plans its work for: the calling
// thread's OpenMP thread count (omp_get_max_threads(); 1 inside data-parallel training, whose
// threads each run their replica's ops single-threaded).
int primitive_threads();

// Key of a cached primitive: the op's integer parameters (shapes, flags).
struct PrimitiveKey {
  std::vector<int64_t> v;
  bool operator==(const PrimitiveKey& o) const { return v == o.v; }
};
struct PrimitiveKeyHash {
  size_t operator()(const PrimitiveKey& k) const {
    uint64_t h = 1469598103934665603ull;
    for (auto x : k.v) h = (h ^ static_cast<uint64_t>(x)) * 1099511628211ull;
    return static_cast<size_t>(h);
  }
};

// One cache per op family and thread: declare it as a function-local `thread_local` of the op's
// file. Each thread must create the primitives it runs: with DNNL_ENABLE_CONCURRENT_EXEC off a
// primitive's library-managed scratchpad is a buffer of the thread that created it, sized by the
// primitives that thread created (platform.md: "a primitive should run on the thread that created
// it"). And a primitive fixes its work split for the thread count it was created at: one created
// for 2 threads and executed inside a parallel region, where oneDNN runs single-threaded, may
// compute only its first thread's share. So each thread keeps one set of primitives per
// primitive_threads() (the main thread runs 2-thread primitives in a plain step and 1-thread ones
// as replica 0 of a data-parallel step).
template <class Entry>
class PrimitiveCache {
 public:
  template <class Make>
  Entry& get(const PrimitiveKey& key, Make make) {
    Map& map = map_for(primitive_threads());
    auto it = map.find(key);
    if (it != map.end()) return *it->second;
    auto e = std::make_unique<Entry>(make());
    Entry& ref = *e;
    map.emplace(key, std::move(e));
    return ref;
  }
  size_t size() const {
    size_t n = 0;
    for (auto& [threads, map] : maps_) n += map.size();
    return n;
  }

 private:
  using Map = std::unordered_map<PrimitiveKey, std::unique_ptr<Entry>, PrimitiveKeyHash>;
  Map& map_for(int threads) {
    for (auto& [t, map] : maps_)
      if (t == threads) return map;
    maps_.emplace_back(threads, Map());
    return maps_.back().second;
  }
  std::vector<std::pair<int, Map>> maps_;  // by thread count; one or two entries in practice
};

// Number of primitives created so far by all caches of all threads (tests check that a repeated
// step creates none).
int64_t primitives_created();
void count_primitive_created();

}  // namespace tca
