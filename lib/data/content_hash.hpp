// Content hashes of data files (conventions.md "HDF5 datasets": hash dataset values and the
// generator attributes, never the file's bytes), for eval.json and the determinism tests. Our own
// 64-bit hash: FNV-1a over little-endian 8-byte words (a trailing partial word zero-padded, the
// byte count mixed in) with a splitmix64 finaliser. Not cryptographic.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/shape.hpp"
#include "io/hdf5_file.hpp"

namespace tca::data {

class ContentHasher {
 public:
  // Streaming: the digest depends only on the concatenated bytes, not on how they were split.
  void update(const void* data, size_t bytes);
  void update(const std::string& text);
  uint64_t digest() const;

 private:
  void mix_word(uint64_t word);
  uint64_t state_ = 0xcbf29ce484222325ull;  // FNV offset basis
  uint64_t total_bytes_ = 0;
  unsigned char pending_[8] = {};
  size_t pending_bytes_ = 0;
};

// One dataset's contribution: its name, element type, shape and the digest of its values.
struct DatasetDigest {
  std::string name;
  io::ElementType type;
  Shape shape;
  uint64_t values;
};

// Attributes that are not part of the content: the tool version that wrote the file and the
// stored hash itself.
bool is_content_attribute(const std::string& name);

// The file's content hash from its datasets (in the given order) and its content attributes.
uint64_t combine_content_hash(const std::vector<DatasetDigest>& datasets,
                              const std::map<std::string, io::AttrValue>& attributes);

// 16 lowercase hex digits.
std::string hash_hex(uint64_t hash);

}  // namespace tca::data
