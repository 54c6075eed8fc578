#include "train/parameter_hash.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstring>

namespace tca {

namespace {

class Fnv1a64 {
 public:
  void bytes(const void* data, size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; ++i) {
      h_ ^= p[i];
      h_ *= 0x100000001b3ull;
    }
  }
  // Fixed little-endian encoding, whatever the host's byte order.
  void u64(uint64_t x) {
    unsigned char b[8];
    for (int i = 0; i < 8; ++i) b[i] = static_cast<unsigned char>(x >> (8 * i));
    bytes(b, 8);
  }
  void f32(float x) {
    uint32_t bits;
    std::memcpy(&bits, &x, 4);
    unsigned char b[4];
    for (int i = 0; i < 4; ++i) b[i] = static_cast<unsigned char>(bits >> (8 * i));
    bytes(b, 4);
  }
  uint64_t value() const { return h_; }

 private:
  uint64_t h_ = 0xcbf29ce484222325ull;
};

}  // namespace

std::string parameters_hash(const nn::NamedParameters& params) {
  std::vector<const std::pair<std::string, Var>*> sorted;
  sorted.reserve(params.size());
  for (const auto& entry : params) sorted.push_back(&entry);
  std::sort(sorted.begin(), sorted.end(),
            [](const auto* a, const auto* b) { return a->first < b->first; });
  Fnv1a64 hash;
  for (const auto* entry : sorted) {
    const std::string& name = entry->first;
    const Tensor& value = entry->second.value();
    hash.bytes(name.data(), name.size() + 1);  // with the terminating 0: "ab"+"c" != "a"+"bc"
    hash.u64(static_cast<uint64_t>(value.rank()));
    for (int64_t extent : value.shape()) hash.u64(static_cast<uint64_t>(extent));
    const float* v = value.data();
    for (int64_t i = 0; i < value.numel(); ++i) hash.f32(v[i]);
  }
  char out[32];
  std::snprintf(out, sizeof out, "fnv1a64:%016llx", static_cast<unsigned long long>(hash.value()));
  return out;
}

}  // namespace tca
