// H5File datasets: metadata and the hostile-file checks, reads (whole, row ranges, scalars) and
// writes (contiguous or chunked). Appendable datasets are in hdf5_appendable.cpp.
#include <algorithm>
#include <limits>

#include "core/error.hpp"
#include "io/hdf5_error.hpp"
#include "io/hdf5_file.hpp"
#include "io/hdf5_handle.hpp"

namespace tca::io {

using namespace detail;

namespace {

// Sane bounds for the hostile-file checks (conventions.md "Fuzzing and hostile files").
constexpr uint64_t kMaxChunkBytes = 256ull << 20;  // libhdf5's own limit is 4 GiB
// deflate cannot expand data by more than ~1032:1, so a compressed dataset whose values would
// need more than this many times its stored bytes is corrupt.
constexpr uint64_t kMaxCompressionRatio = 1100;
constexpr int kFilterDeflate = 1, kFilterShuffle = 2;

std::string describe_type(hid_t type) {
  const H5T_class_t cls = H5Tget_class(type);
  const size_t size = H5Tget_size(type);
  switch (cls) {
    case H5T_FLOAT:
      return "float" + std::to_string(size * 8);
    case H5T_INTEGER:
      return std::string(H5Tget_sign(type) == H5T_SGN_NONE ? "uint" : "int") +
             std::to_string(size * 8);
    case H5T_STRING:
      return "string";
    case H5T_COMPOUND:
      return "compound";
    case H5T_ENUM:
      return "enum (e.g. bool)";
    case H5T_ARRAY:
      return "array";
    case H5T_VLEN:
      return "variable-length sequence";
    case H5T_REFERENCE:
      return "reference";
    case H5T_OPAQUE:
      return "opaque";
    case H5T_BITFIELD:
      return "bitfield";
    default:
      return "unknown type";
  }
}

std::string shape_text(const Shape& shape) {
  return shape.empty() ? "a 0-d scalar" : tca::to_string(shape);
}

// Can a stored element of this kind be read as `want` without loss?
bool converts_losslessly(const DatasetInfo& info, ElementType want) {
  const size_t n = info.element_bytes;
  switch (want) {
    case ElementType::f32:
      return info.is_float && n == 4;
    case ElementType::f64:
      return info.is_float && n <= 8;
    case ElementType::i32:
      return info.is_integer && (info.is_signed ? n <= 4 : n <= 2);
    case ElementType::i64:
      return info.is_integer && (info.is_signed ? n <= 8 : n <= 4);
    case ElementType::u8:
      return info.is_integer && !info.is_signed && n == 1;
  }
  return false;
}

}  // namespace

DatasetInfo H5File::dataset_info(const std::string& name) const {
  capture_hdf5_errors();
  const std::string path = absolute(name);
  if (!is_dataset(path)) {
    throw InputError(path_, path, "missing dataset", "a dataset " + path,
                     exists(path) ? "a group" : "nothing at that path");
  }
  clear_hdf5_error();
  Handle ds = dataset_handle(H5Dopen2(id_, path.c_str(), H5P_DEFAULT));
  if (!ds.valid()) {
    throw InputError(path_, path, "cannot open dataset", "a readable dataset", take_hdf5_error());
  }
  DatasetInfo info;
  info.name = path;
  Handle type = type_handle(H5Dget_type(ds.get()));
  Handle space = space_handle(H5Dget_space(ds.get()));
  Handle dcpl = plist_handle(H5Dget_create_plist(ds.get()));
  if (!type.valid() || !space.valid() || !dcpl.valid()) {
    throw InputError(path_, path, "cannot read dataset header", "a valid dataset header",
                     take_hdf5_error());
  }
  const H5T_class_t cls = H5Tget_class(type.get());
  info.is_float = cls == H5T_FLOAT;
  info.is_integer = cls == H5T_INTEGER;
  info.is_signed = info.is_integer && H5Tget_sign(type.get()) != H5T_SGN_NONE;
  info.element_bytes = H5Tget_size(type.get());
  info.type_description = describe_type(type.get());
  for (ElementType t :
       {ElementType::f32, ElementType::f64, ElementType::i32, ElementType::i64, ElementType::u8}) {
    if (info.type_description == element_type_name(t)) info.type = t;
  }

  const H5S_class_t space_class = H5Sget_simple_extent_type(space.get());
  if (space_class == H5S_SIMPLE) {
    const int rank = H5Sget_simple_extent_ndims(space.get());
    std::vector<hsize_t> dims(static_cast<size_t>(std::max(rank, 0)));
    H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
    for (hsize_t d : dims) info.shape.push_back(static_cast<int64_t>(d));
  } else if (space_class != H5S_SCALAR) {
    throw InputError(path_, path, "dataset without a dataspace", "a scalar or an array",
                     "a null dataspace");
  }

  if (H5Pget_layout(dcpl.get()) == H5D_CHUNKED) {
    std::vector<hsize_t> chunk(info.shape.size());
    const int rank = H5Pget_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data());
    if (rank != static_cast<int>(info.shape.size())) {
      throw InputError(path_, path, "bad chunk layout",
                       "chunks of rank " + std::to_string(info.shape.size()),
                       "rank " + std::to_string(rank));
    }
    for (hsize_t c : chunk) info.chunk.push_back(static_cast<int64_t>(c));
  }
  const int num_filters = H5Pget_nfilters(dcpl.get());
  for (int i = 0; i < num_filters; ++i) {
    unsigned flags = 0, config = 0;
    size_t num_values = 0;
    info.filters.push_back(static_cast<int>(H5Pget_filter2(
        dcpl.get(), static_cast<unsigned>(i), &flags, &num_values, nullptr, 0, nullptr, &config)));
  }
  info.storage_bytes = H5Dget_storage_size(ds.get());
  return info;
}

DatasetInfo H5File::require_dataset(const std::string& name, ElementType type,
                                    const ShapePattern& shape) const {
  DatasetInfo info = dataset_info(name);
  if (info.type != type) {
    throw InputError(path_, info.name, "wrong dtype", element_type_name(type),
                     info.type_description);
  }
  bool matches = info.shape.size() == shape.size();
  for (size_t i = 0; matches && i < shape.size(); ++i) {
    matches = shape[i] == kAnyExtent || shape[i] == info.shape[i];
  }
  if (!matches) {
    const bool rank_differs = info.shape.size() != shape.size();
    throw InputError(path_, info.name, rank_differs ? "wrong rank" : "wrong shape",
                     to_string_pattern(shape), shape_text(info.shape));
  }
  return info;
}

// Before any read: the stored type converts to the wanted one, and the extents, chunks and
// filters are plausible for the file's size, so a corrupt header cannot make us allocate.
void H5File::check_readable(const DatasetInfo& info, ElementType want) const {
  if (!converts_losslessly(info, want)) {
    throw InputError(path_, info.name, "wrong dtype",
                     std::string(element_type_name(want)) + " (or a narrower type of its kind)",
                     info.type_description);
  }
  // Bytes the values occupy, computed without overflow.
  long double values_bytes = static_cast<long double>(info.element_bytes);
  for (int64_t d : info.shape) values_bytes *= static_cast<long double>(d);
  for (int filter : info.filters) {
    if (filter != kFilterDeflate && filter != kFilterShuffle) {
      throw InputError(path_, info.name, "unsupported filter", "gzip (1) and shuffle (2) only",
                       "filter id " + std::to_string(filter));
    }
  }
  if (!info.chunk.empty()) {
    long double chunk_bytes = static_cast<long double>(info.element_bytes);
    for (int64_t c : info.chunk) {
      if (c < 1) {
        throw InputError(path_, info.name, "bad chunk dimensions", "chunk extents >= 1",
                         tca::to_string(info.chunk));
      }
      chunk_bytes *= static_cast<long double>(c);
    }
    if (chunk_bytes > kMaxChunkBytes) {
      throw InputError(path_, info.name, "bad chunk dimensions",
                       "chunks of at most " + std::to_string(kMaxChunkBytes >> 20) + " MiB",
                       tca::to_string(info.chunk) + " (" +
                           std::to_string(static_cast<uint64_t>(chunk_bytes)) + " bytes)");
    }
  }
  if (file_size_ > 0 && info.storage_bytes > file_size_) {
    throw InputError(path_, info.name, "dataset larger than its file",
                     "at most " + std::to_string(file_size_) + " stored bytes",
                     std::to_string(info.storage_bytes));
  }
  const long double stored = static_cast<long double>(info.storage_bytes);
  const bool compressed = !info.filters.empty();
  const long double plausible =
      compressed ? stored * kMaxCompressionRatio + kMaxChunkBytes : stored;
  if (values_bytes > plausible) {
    throw InputError(path_, info.name, "dataset extents inconsistent with its stored data",
                     std::string(compressed ? "compressed data of at least " : "") +
                         std::to_string(static_cast<uint64_t>(
                             values_bytes / (compressed ? kMaxCompressionRatio : 1))) +
                         " bytes for shape " + shape_text(info.shape),
                     std::to_string(info.storage_bytes) + " bytes stored");
  }
}

void H5File::read_selection(const std::string& name, ElementType want, const DatasetInfo& info,
                            int64_t first_row, int64_t num_rows, void* out) const {
  capture_hdf5_errors();
  clear_hdf5_error();
  Handle ds = dataset_handle(H5Dopen2(id_, info.name.c_str(), H5P_DEFAULT));
  herr_t status = -1;
  if (ds.valid()) {
    const bool whole = info.shape.empty() || (first_row == 0 && num_rows == info.shape[0]);
    if (whole) {
      status = H5Dread(ds.get(), native_type(want), H5S_ALL, H5S_ALL, H5P_DEFAULT, out);
    } else {
      Handle file_space = space_handle(H5Dget_space(ds.get()));
      std::vector<hsize_t> start(info.shape.size(), 0), count(info.shape.begin(), info.shape.end());
      start[0] = static_cast<hsize_t>(first_row);
      count[0] = static_cast<hsize_t>(num_rows);
      H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(),
                          nullptr);
      Handle mem_space =
          space_handle(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr));
      status =
          H5Dread(ds.get(), native_type(want), mem_space.get(), file_space.get(), H5P_DEFAULT, out);
    }
  }
  if (status < 0) {
    throw InputError(path_, absolute(name), "cannot read dataset", "readable (uncorrupted) data",
                     take_hdf5_error());
  }
}

template <class T>
std::vector<T> H5File::read(const std::string& name, Shape* shape_out) const {
  const DatasetInfo info = dataset_info(name);
  check_readable(info, element_type_of<T>());
  std::vector<T> values(static_cast<size_t>(info.numel()));
  if (!values.empty()) {
    read_selection(name, element_type_of<T>(), info, 0, info.shape.empty() ? 1 : info.shape[0],
                   values.data());
  }
  if (shape_out) *shape_out = info.shape;
  return values;
}

template <class T>
std::vector<T> H5File::read(const std::string& name, const ShapePattern& expected,
                            Shape* shape_out) const {
  const DatasetInfo info = dataset_info(name);
  bool matches = info.shape.size() == expected.size();
  for (size_t i = 0; matches && i < expected.size(); ++i) {
    matches = expected[i] == kAnyExtent || expected[i] == info.shape[i];
  }
  if (!matches) {
    throw InputError(path_, info.name,
                     info.shape.size() != expected.size() ? "wrong rank" : "wrong shape",
                     to_string_pattern(expected), shape_text(info.shape));
  }
  return read<T>(name, shape_out);
}

template <class T>
std::vector<T> H5File::read_rows(const std::string& name, int64_t first_row,
                                 int64_t num_rows) const {
  const DatasetInfo info = dataset_info(name);
  check_readable(info, element_type_of<T>());
  if (info.shape.empty()) {
    throw InputError(path_, info.name, "wrong rank", "an array with rows", "a 0-d scalar");
  }
  if (first_row < 0 || num_rows < 0 || first_row + num_rows > info.shape[0]) {
    throw InputError(
        path_, info.name, "row range outside the dataset",
        "rows within [0, " + std::to_string(info.shape[0]) + ")",
        "rows [" + std::to_string(first_row) + ", " + std::to_string(first_row + num_rows) + ")");
  }
  const int64_t row_elements = numel(Shape(info.shape.begin() + 1, info.shape.end()));
  std::vector<T> values(static_cast<size_t>(num_rows * row_elements));
  if (!values.empty())
    read_selection(name, element_type_of<T>(), info, first_row, num_rows, values.data());
  return values;
}

template <class T>
T H5File::read_scalar(const std::string& name) const {
  Shape shape;
  std::vector<T> values = read<T>(name, &shape);
  if (values.size() != 1) {
    throw InputError(path_, absolute(name), "wrong shape", "a single value", shape_text(shape));
  }
  return values[0];
}

void H5File::write_raw(const std::string& name, ElementType type, const Shape& shape,
                       const void* data, const WriteOptions& options) {
  capture_hdf5_errors();
  const std::string path = absolute(name);
  if (!writable_)
    throw RuntimeFailure("cannot write " + path + ": " + path_ + " is open read-only");
  std::vector<hsize_t> dims(shape.begin(), shape.end());
  Handle space = space_handle(
      shape.empty() ? H5Screate(H5S_SCALAR)
                    : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr));
  Handle lcpl = plist_handle(H5Pcreate(H5P_LINK_CREATE));
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  Handle dcpl = plist_handle(H5Pcreate(H5P_DATASET_CREATE));
  H5Pset_obj_track_times(dcpl.get(), false);
  const int64_t row_elements = shape.empty() ? 0 : numel(Shape(shape.begin() + 1, shape.end()));
  if (options.chunk_rows > 0 && !shape.empty() && numel(shape) > 0) {
    const auto row_bytes = static_cast<int64_t>(row_elements * element_bytes(type));
    int64_t rows = std::min(options.chunk_rows, shape[0]);
    rows = std::max<int64_t>(
        1, std::min<int64_t>(rows, kMaxWriteChunkBytes / std::max<int64_t>(row_bytes, 1)));
    std::vector<hsize_t> chunk = dims;
    chunk[0] = static_cast<hsize_t>(rows);
    H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data());
    H5Pset_shuffle(dcpl.get());
    H5Pset_deflate(dcpl.get(), 4);
  }
  clear_hdf5_error();
  Handle ds = dataset_handle(H5Dcreate2(id_, path.c_str(), file_type(type), space.get(), lcpl.get(),
                                        dcpl.get(), H5P_DEFAULT));
  if (!ds.valid() || (numel(shape) > 0 && H5Dwrite(ds.get(), native_type(type), H5S_ALL, H5S_ALL,
                                                   H5P_DEFAULT, data) < 0)) {
    throw RuntimeFailure("cannot write dataset " + path + " to " + path_ + ": " +
                         take_hdf5_error());
  }
}

template <class T>
void H5File::write(const std::string& name, const Shape& shape, const T* data,
                   const WriteOptions& options) {
  write_raw(name, element_type_of<T>(), shape, data, options);
}

template <class T>
void H5File::write(const std::string& name, const Shape& shape, const std::vector<T>& data,
                   const WriteOptions& options) {
  if (static_cast<int64_t>(data.size()) != numel(shape)) {
    throw ShapeError("H5File::write " + name + ": " + std::to_string(data.size()) +
                     " values for shape " + tca::to_string(shape));
  }
  write_raw(name, element_type_of<T>(), shape, data.data(), options);
}

// The element types of hdf5_file.hpp.
#define TCA_IO_INSTANTIATE(T)                                                                      \
  template std::vector<T> H5File::read<T>(const std::string&, Shape*) const;                       \
  template std::vector<T> H5File::read<T>(const std::string&, const ShapePattern&, Shape*) const;  \
  template std::vector<T> H5File::read_rows<T>(const std::string&, int64_t, int64_t) const;        \
  template T H5File::read_scalar<T>(const std::string&) const;                                     \
  template void H5File::write<T>(const std::string&, const Shape&, const T*, const WriteOptions&); \
  template void H5File::write<T>(const std::string&, const Shape&, const std::vector<T>&,          \
                                 const WriteOptions&);
TCA_IO_INSTANTIATE(float)
TCA_IO_INSTANTIATE(double)
TCA_IO_INSTANTIATE(int32_t)
TCA_IO_INSTANTIATE(int64_t)
TCA_IO_INSTANTIATE(uint8_t)
#undef TCA_IO_INSTANTIATE

}  // namespace tca::io
