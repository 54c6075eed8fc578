#include "data/content_hash.hpp"

#include <cstdio>
#include <cstring>

namespace tca::data {

namespace {
constexpr uint64_t kFnvPrime = 0x100000001b3ull;

uint64_t load_le64(const unsigned char* p) {
  uint64_t w = 0;
  for (int i = 7; i >= 0; --i) w = (w << 8) | p[i];
  return w;
}

uint64_t finalise(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
}  // namespace

void ContentHasher::mix_word(uint64_t word) {
  state_ ^= word;
  state_ *= kFnvPrime;
  state_ ^= state_ >> 29;  // FNV-1a on a whole word leaves the high bits weak; fold them back
}

void ContentHasher::update(const void* data, size_t bytes) {
  const auto* p = static_cast<const unsigned char*>(data);
  total_bytes_ += bytes;
  while (bytes > 0 && pending_bytes_ > 0) {
    pending_[pending_bytes_++] = *p++;
    --bytes;
    if (pending_bytes_ == 8) {
      mix_word(load_le64(pending_));
      pending_bytes_ = 0;
    }
  }
  for (; bytes >= 8; bytes -= 8, p += 8) mix_word(load_le64(p));
  for (; bytes > 0; --bytes) pending_[pending_bytes_++] = *p++;
}

void ContentHasher::update(const std::string& text) {
  const uint64_t size = text.size();
  update(&size, sizeof size);  // length prefix: "ab"+"c" and "a"+"bc" differ
  update(text.data(), text.size());
}

uint64_t ContentHasher::digest() const {
  ContentHasher copy = *this;
  if (copy.pending_bytes_ > 0) {
    unsigned char last[8] = {};
    std::memcpy(last, copy.pending_, copy.pending_bytes_);
    copy.mix_word(load_le64(last));
  }
  copy.mix_word(total_bytes_);
  return finalise(copy.state_);
}

bool is_content_attribute(const std::string& name) {
  return name != "created_by" && name != "content_hash";
}

uint64_t combine_content_hash(const std::vector<DatasetDigest>& datasets,
                              const std::map<std::string, io::AttrValue>& attributes) {
  ContentHasher h;
  for (const auto& d : datasets) {
    h.update(d.name);
    h.update(std::string(io::element_type_name(d.type)));
    h.update(tca::to_string(d.shape));
    h.update(&d.values, sizeof d.values);
  }
  for (const auto& [name, value] : attributes) {
    if (!is_content_attribute(name)) continue;
    h.update(name);
    const char kind = std::holds_alternative<int64_t>(value)  ? 'i'
                      : std::holds_alternative<double>(value) ? 'd'
                                                              : 's';
    h.update(&kind, 1);
    h.update(io::to_string(value));
  }
  return h.digest();
}

std::string hash_hex(uint64_t hash) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(hash));
  return buf;
}

}  // namespace tca::data
