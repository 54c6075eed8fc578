// Internal to lib/io: an owning libhdf5 identifier (closed on destruction) and the type mapping
// shared by the .cpp files of the HDF5 layer. Other folders use hdf5_file.hpp only.
#pragma once
#include <hdf5.h>

#include <string>
#include <utility>

#include "io/hdf5_file.hpp"

namespace tca::io::detail {

static_assert(sizeof(hid_t) == sizeof(int64_t), "hid_t is stored as int64_t in hdf5_file.hpp");

class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  Handle(Handle&& other) noexcept : id_(std::exchange(other.id_, -1)), closer_(other.closer_) {}
  Handle& operator=(Handle&& other) noexcept {
    if (this != &other) {
      reset();
      id_ = std::exchange(other.id_, -1);
      closer_ = other.closer_;
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;
  ~Handle() { reset(); }

  hid_t get() const { return id_; }
  bool valid() const { return id_ >= 0; }
  void reset() {
    if (id_ >= 0 && closer_) closer_(id_);
    id_ = -1;
  }

 private:
  hid_t id_ = -1;
  Closer closer_ = nullptr;
};

inline Handle dataset_handle(hid_t id) { return Handle(id, H5Dclose); }
inline Handle space_handle(hid_t id) { return Handle(id, H5Sclose); }
inline Handle type_handle(hid_t id) { return Handle(id, H5Tclose); }
inline Handle plist_handle(hid_t id) { return Handle(id, H5Pclose); }
inline Handle attr_handle(hid_t id) { return Handle(id, H5Aclose); }
inline Handle object_handle(hid_t id) { return Handle(id, H5Oclose); }
inline Handle group_handle(hid_t id) { return Handle(id, H5Gclose); }

// Writers keep chunks well under the readers' bound (256 MiB, hdf5_dataset.cpp).
constexpr uint64_t kMaxWriteChunkBytes = 16ull << 20;

// In-memory (native) and on-disk (little-endian standard) types of our element types.
hid_t native_type(ElementType type);
hid_t file_type(ElementType type);
size_t element_bytes(ElementType type);

// "/x" for "x" and "/x"; "/" for "" (names in messages are always absolute).
std::string absolute(const std::string& path);

// The key printed in messages for an attribute: "format" on the root, "/x@units" elsewhere.
std::string attr_key(const std::string& object, const std::string& name);

}  // namespace tca::io::detail
