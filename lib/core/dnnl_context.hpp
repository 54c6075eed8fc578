// The process-wide oneDNN engine and stream (the only global state besides primitive caches,
// style.md), and a typed cache so that each op creates its primitives once per shape and reuses
// them (platform.md: a cold creation costs 15-55 us, a cache hit in oneDNN's own cache ~1 us,
// holding the primitive ~0).
#pragma once
#include <cstdint>
#include <dnnl.hpp>
#include <memory>
#include <unordered_map>
#include <vector>

namespace tca {

dnnl::engine& dnnl_engine();
dnnl::stream& dnnl_stream();

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

// One cache per op family (a function-local static of the op's file). Not thread-safe: oneDNN
// primitives run on the thread that created them (platform.md, DNNL_ENABLE_CONCURRENT_EXEC off).
template <class Entry>
class PrimitiveCache {
 public:
  template <class Make>
  Entry& get(const PrimitiveKey& key, Make make) {
    auto it = map_.find(key);
    if (it != map_.end()) return *it->second;
    auto e = std::make_unique<Entry>(make());
    Entry& ref = *e;
    map_.emplace(key, std::move(e));
    return ref;
  }
  size_t size() const { return map_.size(); }

 private:
  std::unordered_map<PrimitiveKey, std::unique_ptr<Entry>, PrimitiveKeyHash> map_;
};

// Number of primitives created so far by all caches (tests check that a repeated step creates
// none).
int64_t primitives_created();
void count_primitive_created();

}  // namespace tca
