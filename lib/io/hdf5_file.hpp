// A small RAII layer over libhdf5 for every HDF5 file of the toolkit: task files, image sources,
// trees, checkpoints and the reference data (conventions.md "HDF5 datasets").
//
// - Errors: a file that is missing, not HDF5, truncated or corrupt, a missing dataset/attribute, a
//   wrong dtype, rank or shape, or non-finite values throw tca::InputError (exit 2) naming the
//   file, the dataset or attribute, what was expected and what was found; libhdf5's own reason
//   (captured from its error stack, hdf5_error.hpp) is appended. Failures while writing throw
//   tca::RuntimeFailure (exit 1). libhdf5 never prints to stderr.
// - Hostile files (conventions.md "Fuzzing and hostile files"): before any read, a dataset's
//   extents, chunk dimensions and filters are checked against sane bounds and the file's size, so a
//   corrupt header cannot make us allocate gigabytes.
// - Writing: object time tracking is off everywhere, so the same content gives the same bytes.
//   Chunked datasets use shuffle + gzip level 4 only.
// Dataset and group names are paths from the root: "x", "/x" and "/trees/kd_b2/depth" all work.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "core/shape.hpp"

namespace tca::io {

// The element types we store. Reading converts only where it is lossless (see H5File::read).
enum class ElementType { f32, f64, i32, i64, u8 };
const char* element_type_name(ElementType type);  // "float32", "float64", "int32", "int64", "uint8"

// The C++ type of each element type, for the templates below.
template <class T>
constexpr ElementType element_type_of();
template <>
constexpr ElementType element_type_of<float>() {
  return ElementType::f32;
}
template <>
constexpr ElementType element_type_of<double>() {
  return ElementType::f64;
}
template <>
constexpr ElementType element_type_of<int32_t>() {
  return ElementType::i32;
}
template <>
constexpr ElementType element_type_of<int64_t>() {
  return ElementType::i64;
}
template <>
constexpr ElementType element_type_of<uint8_t>() {
  return ElementType::u8;
}

// Attribute values: integers are stored as int64, reals as float64, strings as variable-length
// UTF-8. Write integers as int64_t{n} (a plain int literal is ambiguous between int64 and double).
using AttrValue = std::variant<int64_t, double, std::string>;
std::string to_string(const AttrValue& value);

// Expected extents of a dataset: its rank is the pattern's size; kAnyExtent matches any extent.
// An empty pattern means a 0-d (scalar) dataset.
using ShapePattern = std::vector<int64_t>;
constexpr int64_t kAnyExtent = -1;
std::string to_string_pattern(const ShapePattern& pattern);  // "[*, 12]"

struct DatasetInfo {
  std::string name;                 // as asked for
  std::optional<ElementType> type;  // empty when the stored type is none of ours (see description)
  std::string type_description;     // "float32", "int16", "uint64", "string", "compound", ...
  Shape shape;                      // {} for a 0-d (scalar) dataset
  Shape chunk;                      // {} unless chunked
  std::vector<int> filters;         // libhdf5 filter ids in pipeline order (1 deflate, 2 shuffle)
  uint64_t storage_bytes = 0;       // bytes allocated in the file
  // The stored element's class and width, for the lossless-conversion rule of H5File::read.
  bool is_float = false, is_integer = false, is_signed = false;
  size_t element_bytes = 0;
  int64_t numel() const { return tca::numel(shape); }
};

struct WriteOptions {
  // > 0: chunked along axis 0 with this many rows per chunk (clamped to the row count), shuffle +
  // gzip level 4. 0: contiguous and uncompressed.
  int64_t chunk_rows = 0;
};

class H5File;

// A dataset created with unlimited rows, written by appending rows (streamed writers). Chunked
// along axis 0 with shuffle + gzip 4. Obtained from H5File::create_appendable.
class AppendableDataset {
 public:
  AppendableDataset(AppendableDataset&&) noexcept;
  AppendableDataset& operator=(AppendableDataset&&) noexcept;
  AppendableDataset(const AppendableDataset&) = delete;
  AppendableDataset& operator=(const AppendableDataset&) = delete;
  ~AppendableDataset();

  // Appends `rows` rows of row_shape() elements each; T must be the dataset's element type.
  template <class T>
  void append(const T* data, int64_t rows) {
    append_raw(element_type_of<T>(), data, rows);
  }
  int64_t rows() const { return rows_; }
  const Shape& row_shape() const { return row_shape_; }

 private:
  friend class H5File;
  AppendableDataset(int64_t dataset_id, std::string file, std::string name, ElementType type,
                    Shape row_shape);
  void append_raw(ElementType type, const void* data, int64_t rows);
  int64_t id_ = -1;
  std::string file_, name_;
  ElementType type_;
  Shape row_shape_;
  int64_t rows_ = 0;
};

class H5File {
 public:
  // Opens an existing file read-only. InputError when it is missing, a directory, empty, not
  // HDF5, truncated or otherwise unreadable.
  static H5File open_read(const std::string& path);
  // Creates (truncating) a file for writing. RuntimeFailure when that fails.
  static H5File create(const std::string& path);

  H5File(H5File&&) noexcept;
  H5File& operator=(H5File&&) noexcept;
  H5File(const H5File&) = delete;
  H5File& operator=(const H5File&) = delete;
  ~H5File();  // closes quietly; call close() to learn about write errors

  const std::string& path() const { return path_; }
  uint64_t file_size() const { return file_size_; }  // at open (0 for files being written)
  // Flushes and closes; RuntimeFailure if libhdf5 cannot (full disk). Idempotent.
  void close();

  // ---- structure
  bool exists(const std::string& path) const;  // a group or dataset at that path
  bool is_group(const std::string& path) const;
  bool is_dataset(const std::string& path) const;
  // Names of the members of a group, sorted; recursive: every descendant as "a/b/c" (groups too).
  std::vector<std::string> list(const std::string& group = "/", bool recursive = false) const;
  void create_group(const std::string& path);  // creates missing parents too

  // ---- reading datasets
  // Metadata only. InputError if the dataset is missing (or the path is a group).
  DatasetInfo dataset_info(const std::string& name) const;
  // dataset_info plus checks: stored type exactly `type`, shape matching `shape`.
  DatasetInfo require_dataset(const std::string& name, ElementType type,
                              const ShapePattern& shape) const;
  // Whole dataset as T in row-major order; `shape_out` receives its shape. The stored type must
  // convert to T without loss: float32 -> float; float32/float64 -> double; int32 or narrower
  // integers -> int32_t; any integer except uint64 -> int64_t; uint8 -> uint8_t. Otherwise
  // InputError ("wrong dtype"). The overload with `expected` also checks rank and extents.
  template <class T>
  std::vector<T> read(const std::string& name, Shape* shape_out = nullptr) const;
  template <class T>
  std::vector<T> read(const std::string& name, const ShapePattern& expected,
                      Shape* shape_out = nullptr) const;
  // Rows [first_row, first_row + num_rows) along axis 0 (all other axes whole): streaming reads.
  template <class T>
  std::vector<T> read_rows(const std::string& name, int64_t first_row, int64_t num_rows) const;
  // The value of a 0-d dataset (or a 1-element one).
  template <class T>
  T read_scalar(const std::string& name) const;

  // ---- writing datasets (shape {} = a 0-d dataset)
  template <class T>
  void write(const std::string& name, const Shape& shape, const T* data,
             const WriteOptions& options = {});
  template <class T>
  void write(const std::string& name, const Shape& shape, const std::vector<T>& data,
             const WriteOptions& options = {});
  // An empty [0, row_shape...] dataset that grows by AppendableDataset::append.
  AppendableDataset create_appendable(const std::string& name, ElementType type,
                                      const Shape& row_shape, int64_t chunk_rows);

  // ---- attributes (object = a group or dataset path; "/" = the root)
  bool has_attr(const std::string& name, const std::string& object = "/") const;
  // Any integer type -> int64, float32/64 -> double, fixed or variable-length string -> string;
  // InputError when missing or of another type.
  AttrValue attr(const std::string& name, const std::string& object = "/") const;
  int64_t attr_int(const std::string& name, const std::string& object = "/") const;
  double attr_double(const std::string& name, const std::string& object = "/") const;  // ints too
  std::string attr_string(const std::string& name, const std::string& object = "/") const;
  std::vector<std::string> attr_names(const std::string& object = "/") const;  // sorted
  // Every attribute of the object, by name (InputError if one has a type attr() rejects).
  std::map<std::string, AttrValue> attrs(const std::string& object = "/") const;
  void set_attr(const std::string& name, const AttrValue& value, const std::string& object = "/");

 private:
  H5File(int64_t id, std::string path, uint64_t size, bool writable);
  void read_selection(const std::string& name, ElementType want, const DatasetInfo& info,
                      int64_t first_row, int64_t num_rows, void* out) const;
  void write_raw(const std::string& name, ElementType type, const Shape& shape, const void* data,
                 const WriteOptions& options);
  void check_readable(const DatasetInfo& info, ElementType want) const;
  int64_t id_ = -1;
  std::string path_;
  uint64_t file_size_ = 0;
  bool writable_ = false;
};

// InputError "non-finite value (file:dataset): expected finite values, found nan at row r,
// column c" for the first NaN/Inf of values viewed as rows of `row_width` elements.
void require_finite(const std::string& file, const std::string& dataset, const float* values,
                    int64_t count, int64_t row_width = 1);
void require_finite(const std::string& file, const std::string& dataset, const double* values,
                    int64_t count, int64_t row_width = 1);

}  // namespace tca::io
