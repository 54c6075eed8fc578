// Appendable datasets: [0, row...] with unlimited rows, chunked along rows with shuffle + gzip 4,
// grown by AppendableDataset::append (streamed writers such as the task-file writer).
#include <algorithm>

#include "core/error.hpp"
#include "io/hdf5_error.hpp"
#include "io/hdf5_file.hpp"
#include "io/hdf5_handle.hpp"

namespace tca::io {

using namespace detail;

AppendableDataset H5File::create_appendable(const std::string& name, ElementType type,
                                            const Shape& row_shape, int64_t chunk_rows) {
  capture_hdf5_errors();
  const std::string path = absolute(name);
  if (!writable_)
    throw RuntimeFailure("cannot write " + path + ": " + path_ + " is open read-only");
  const int64_t row_elements = numel(row_shape);
  if (row_elements <= 0 || chunk_rows <= 0) {
    throw ShapeError("create_appendable " + path + ": rows of shape " + tca::to_string(row_shape) +
                     " and chunks of " + std::to_string(chunk_rows) + " rows cannot be chunked");
  }
  std::vector<hsize_t> dims{0}, max_dims{H5S_UNLIMITED}, chunk{static_cast<hsize_t>(chunk_rows)};
  for (int64_t d : row_shape) {
    dims.push_back(static_cast<hsize_t>(d));
    max_dims.push_back(static_cast<hsize_t>(d));
    chunk.push_back(static_cast<hsize_t>(d));
  }
  const auto row_bytes = static_cast<int64_t>(row_elements * element_bytes(type));
  chunk[0] = static_cast<hsize_t>(
      std::max<int64_t>(1, std::min<int64_t>(chunk_rows, kMaxWriteChunkBytes / row_bytes)));
  Handle space =
      space_handle(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), max_dims.data()));
  Handle lcpl = plist_handle(H5Pcreate(H5P_LINK_CREATE));
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  Handle dcpl = plist_handle(H5Pcreate(H5P_DATASET_CREATE));
  H5Pset_obj_track_times(dcpl.get(), false);
  H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data());
  H5Pset_shuffle(dcpl.get());
  H5Pset_deflate(dcpl.get(), 4);
  clear_hdf5_error();
  const hid_t id = H5Dcreate2(id_, path.c_str(), file_type(type), space.get(), lcpl.get(),
                              dcpl.get(), H5P_DEFAULT);
  if (id < 0) {
    throw RuntimeFailure("cannot create dataset " + path + " in " + path_ + ": " +
                         take_hdf5_error());
  }
  return AppendableDataset(id, path_, path, type, row_shape);
}

AppendableDataset::AppendableDataset(int64_t dataset_id, std::string file, std::string name,
                                     ElementType type, Shape row_shape)
    : id_(dataset_id),
      file_(std::move(file)),
      name_(std::move(name)),
      type_(type),
      row_shape_(std::move(row_shape)) {}

AppendableDataset::AppendableDataset(AppendableDataset&& other) noexcept
    : id_(std::exchange(other.id_, -1)),
      file_(std::move(other.file_)),
      name_(std::move(other.name_)),
      type_(other.type_),
      row_shape_(std::move(other.row_shape_)),
      rows_(other.rows_) {}

AppendableDataset& AppendableDataset::operator=(AppendableDataset&& other) noexcept {
  if (this != &other) {
    if (id_ >= 0) H5Dclose(id_);
    id_ = std::exchange(other.id_, -1);
    file_ = std::move(other.file_);
    name_ = std::move(other.name_);
    type_ = other.type_;
    row_shape_ = std::move(other.row_shape_);
    rows_ = other.rows_;
  }
  return *this;
}

AppendableDataset::~AppendableDataset() {
  if (id_ >= 0) {
    capture_hdf5_errors();
    H5Dclose(id_);
    clear_hdf5_error();
  }
}

void AppendableDataset::append_raw(ElementType type, const void* data, int64_t rows) {
  if (type != type_) {
    throw ShapeError("append to " + name_ + ": " + element_type_name(type) + " values for a " +
                     element_type_name(type_) + " dataset");
  }
  if (rows <= 0) return;
  capture_hdf5_errors();
  clear_hdf5_error();
  std::vector<hsize_t> new_dims{static_cast<hsize_t>(rows_ + rows)},
      start{static_cast<hsize_t>(rows_)}, count{static_cast<hsize_t>(rows)};
  for (int64_t d : row_shape_) {
    new_dims.push_back(static_cast<hsize_t>(d));
    start.push_back(0);
    count.push_back(static_cast<hsize_t>(d));
  }
  bool ok = H5Dset_extent(id_, new_dims.data()) >= 0;
  if (ok) {
    Handle file_space = space_handle(H5Dget_space(id_));
    Handle mem_space =
        space_handle(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr));
    ok = H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(),
                             nullptr) >= 0 &&
         H5Dwrite(id_, native_type(type_), mem_space.get(), file_space.get(), H5P_DEFAULT, data) >=
             0;
  }
  if (!ok)
    throw RuntimeFailure("cannot append to dataset " + name_ + " in " + file_ + ": " +
                         take_hdf5_error());
  rows_ += rows;
}

}  // namespace tca::io
