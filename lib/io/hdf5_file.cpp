// H5File: opening, creating, closing and the group structure. Datasets are in hdf5_dataset.cpp,
// attributes in hdf5_attributes.cpp.
#include "io/hdf5_file.hpp"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "core/error.hpp"
#include "io/hdf5_error.hpp"
#include "io/hdf5_handle.hpp"

namespace tca::io {

namespace detail {

hid_t native_type(ElementType type) {
  switch (type) {
    case ElementType::f32:
      return H5T_NATIVE_FLOAT;
    case ElementType::f64:
      return H5T_NATIVE_DOUBLE;
    case ElementType::i32:
      return H5T_NATIVE_INT32;
    case ElementType::i64:
      return H5T_NATIVE_INT64;
    case ElementType::u8:
      return H5T_NATIVE_UINT8;
  }
  return H5T_NATIVE_FLOAT;
}

hid_t file_type(ElementType type) {
  switch (type) {
    case ElementType::f32:
      return H5T_IEEE_F32LE;
    case ElementType::f64:
      return H5T_IEEE_F64LE;
    case ElementType::i32:
      return H5T_STD_I32LE;
    case ElementType::i64:
      return H5T_STD_I64LE;
    case ElementType::u8:
      return H5T_STD_U8LE;
  }
  return H5T_IEEE_F32LE;
}

size_t element_bytes(ElementType type) {
  switch (type) {
    case ElementType::f32:
      return 4;
    case ElementType::f64:
      return 8;
    case ElementType::i32:
      return 4;
    case ElementType::i64:
      return 8;
    case ElementType::u8:
      return 1;
  }
  return 0;
}

std::string absolute(const std::string& path) {
  if (path.empty()) return "/";
  return path[0] == '/' ? path : "/" + path;
}

std::string attr_key(const std::string& object, const std::string& name) {
  const std::string obj = absolute(object);
  return obj == "/" ? name : obj + "@" + name;
}

}  // namespace detail

using namespace detail;

const char* element_type_name(ElementType type) {
  switch (type) {
    case ElementType::f32:
      return "float32";
    case ElementType::f64:
      return "float64";
    case ElementType::i32:
      return "int32";
    case ElementType::i64:
      return "int64";
    case ElementType::u8:
      return "uint8";
  }
  return "?";
}

std::string to_string(const AttrValue& value) {
  if (auto* i = std::get_if<int64_t>(&value)) return std::to_string(*i);
  if (auto* d = std::get_if<double>(&value)) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "%.17g", *d);
    return buf;
  }
  return std::get<std::string>(value);
}

std::string to_string_pattern(const ShapePattern& pattern) {
  std::string out = "[";
  for (size_t i = 0; i < pattern.size(); ++i) {
    out += i ? ", " : "";
    out += pattern[i] == kAnyExtent ? "*" : std::to_string(pattern[i]);
  }
  return out + "]";
}

H5File::H5File(int64_t id, std::string path, uint64_t size, bool writable)
    : id_(id), path_(std::move(path)), file_size_(size), writable_(writable) {}

H5File::H5File(H5File&& other) noexcept
    : id_(std::exchange(other.id_, -1)),
      path_(std::move(other.path_)),
      file_size_(other.file_size_),
      writable_(other.writable_) {}

H5File& H5File::operator=(H5File&& other) noexcept {
  if (this != &other) {
    if (id_ >= 0) H5Fclose(id_);
    id_ = std::exchange(other.id_, -1);
    path_ = std::move(other.path_);
    file_size_ = other.file_size_;
    writable_ = other.writable_;
  }
  return *this;
}

H5File::~H5File() {
  if (id_ >= 0) {
    capture_hdf5_errors();
    H5Fclose(id_);
    clear_hdf5_error();
  }
}

H5File H5File::open_read(const std::string& path) {
  capture_hdf5_errors();
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    throw InputError(path, "", "cannot open HDF5 file", "an existing file", std::strerror(errno));
  }
  if (S_ISDIR(st.st_mode))
    throw InputError(path, "", "cannot open HDF5 file", "a file", "a directory");
  const auto size = static_cast<uint64_t>(st.st_size);
  if (size == 0) {
    throw InputError(path, "", "not an HDF5 file", "an HDF5 file", "an empty file (0 bytes)");
  }
  clear_hdf5_error();
  const htri_t is_hdf5 = H5Fis_hdf5(path.c_str());
  if (is_hdf5 == 0) {
    throw InputError(path, "", "not an HDF5 file", "an HDF5 file",
                     "no HDF5 signature in its " + std::to_string(size) + " bytes");
  }
  if (is_hdf5 < 0) {
    throw InputError(path, "", "cannot open HDF5 file", "a readable HDF5 file", take_hdf5_error());
  }
  // No file locking for readers: our writers only ever write temp files that nobody reads, and
  // cluster filesystems (Lustre, NFS) often refuse locks, which would make every read fail.
  Handle fapl = plist_handle(H5Pcreate(H5P_FILE_ACCESS));
  H5Pset_file_locking(fapl.get(), false, true);
  clear_hdf5_error();
  const hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get());
  if (id < 0) {
    const std::string reason = take_hdf5_error();
    if (reason.find("truncated") != std::string::npos) {
      throw InputError(path, "", "truncated HDF5 file", "a complete HDF5 file", reason);
    }
    throw InputError(path, "", "cannot open HDF5 file", "a readable HDF5 file", reason);
  }
  return H5File(id, path, size, false);
}

H5File H5File::create(const std::string& path) {
  capture_hdf5_errors();
  clear_hdf5_error();
  // Time tracking off on the root group (a file-creation list is a group-creation list): the
  // same content then gives the same bytes (conventions.md "HDF5 datasets").
  Handle fcpl = plist_handle(H5Pcreate(H5P_FILE_CREATE));
  H5Pset_obj_track_times(fcpl.get(), false);
  Handle fapl = plist_handle(H5Pcreate(H5P_FILE_ACCESS));
  H5Pset_file_locking(fapl.get(), true, true);  // lock, but work where the filesystem cannot
  H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_STRONG);
  const hid_t id = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, fcpl.get(), fapl.get());
  if (id < 0) {
    throw RuntimeFailure("cannot create HDF5 file " + path + ": " + take_hdf5_error());
  }
  return H5File(id, path, 0, true);
}

void H5File::close() {
  if (id_ < 0) return;
  capture_hdf5_errors();
  clear_hdf5_error();
  const herr_t status = H5Fclose(id_);
  id_ = -1;
  if (status < 0) {
    throw RuntimeFailure("cannot finish writing HDF5 file " + path_ + ": " + take_hdf5_error());
  }
}

bool H5File::exists(const std::string& path) const {
  capture_hdf5_errors();
  const std::string full = absolute(path);
  if (full == "/") return true;
  // H5Lexists fails (rather than answering false) when an intermediate group is missing, so
  // check each prefix in turn.
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = full.find('/', pos + 1);
    const std::string prefix = full.substr(0, pos);
    if (prefix.empty() || prefix == "/") continue;
    if (H5Lexists(id_, prefix.c_str(), H5P_DEFAULT) <= 0) {
      clear_hdf5_error();
      return false;
    }
  }
  return true;
}

static H5I_type_t object_kind(int64_t file, const std::string& path) {
  Handle obj = object_handle(H5Oopen(file, path.c_str(), H5P_DEFAULT));
  if (!obj.valid()) {
    clear_hdf5_error();
    return H5I_BADID;
  }
  return H5Iget_type(obj.get());
}

bool H5File::is_group(const std::string& path) const {
  return exists(path) && object_kind(id_, absolute(path)) == H5I_GROUP;
}

bool H5File::is_dataset(const std::string& path) const {
  return exists(path) && object_kind(id_, absolute(path)) == H5I_DATASET;
}

static herr_t collect_link_name(hid_t, const char* name, const H5L_info_t*, void* out) {
  static_cast<std::vector<std::string>*>(out)->push_back(name);
  return 0;
}

std::vector<std::string> H5File::list(const std::string& group, bool recursive) const {
  capture_hdf5_errors();
  const std::string path = absolute(group);
  if (!is_group(path)) {
    throw InputError(path_, path, "missing group", "a group",
                     exists(path) ? "a dataset" : "nothing");
  }
  Handle g = group_handle(H5Gopen2(id_, path.c_str(), H5P_DEFAULT));
  std::vector<std::string> names;
  clear_hdf5_error();
  const herr_t status =
      recursive
          ? H5Lvisit(g.get(), H5_INDEX_NAME, H5_ITER_INC, collect_link_name, &names)
          : H5Literate(g.get(), H5_INDEX_NAME, H5_ITER_INC, nullptr, collect_link_name, &names);
  if (status < 0) {
    throw InputError(path_, path, "cannot list group", "a readable group", take_hdf5_error());
  }
  std::sort(names.begin(), names.end());
  return names;
}

void H5File::create_group(const std::string& path) {
  capture_hdf5_errors();
  const std::string full = absolute(path);
  if (is_group(full)) return;
  Handle lcpl = plist_handle(H5Pcreate(H5P_LINK_CREATE));
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  Handle gcpl = plist_handle(H5Pcreate(H5P_GROUP_CREATE));
  H5Pset_obj_track_times(gcpl.get(), false);
  clear_hdf5_error();
  Handle g = group_handle(H5Gcreate2(id_, full.c_str(), lcpl.get(), gcpl.get(), H5P_DEFAULT));
  if (!g.valid()) {
    throw RuntimeFailure("cannot create group " + full + " in " + path_ + ": " + take_hdf5_error());
  }
}

template <class T>
static void require_finite_impl(const std::string& file, const std::string& dataset,
                                const T* values, int64_t count, int64_t row_width) {
  for (int64_t i = 0; i < count; ++i) {
    if (!std::isfinite(values[i])) {
      const int64_t width = row_width > 0 ? row_width : 1;
      throw InputError(file, absolute(dataset), "non-finite value", "finite values",
                       std::string(std::isnan(values[i]) ? "nan" : "inf") + " at row " +
                           std::to_string(i / width) + ", column " + std::to_string(i % width));
    }
  }
}

void require_finite(const std::string& file, const std::string& dataset, const float* values,
                    int64_t count, int64_t row_width) {
  require_finite_impl(file, dataset, values, count, row_width);
}

void require_finite(const std::string& file, const std::string& dataset, const double* values,
                    int64_t count, int64_t row_width) {
  require_finite_impl(file, dataset, values, count, row_width);
}

}  // namespace tca::io
