// Names and version of our data files (conventions.md "HDF5 datasets"; datasets/README.md).
// Root attributes: format = "tca-tasks", format_version, layout ("tasks" or "images"), the
// TaskInfo attributes (task_info.hpp), the generator's parameters, seed, split, batch_size,
// created_by (tool version + git sha) and content_hash (hex; recomputable from the content).
// Task files ("tasks"): /x f32 [rows, dim_x], /y f32 [rows, dim_y] (classification: i32 [rows, 1]
// labels), /offsets i64 [T+1], /num_context i32 [T], /batch_offsets i64 [num_batches+1].
// Image sources ("images"): /images u8 [N, H, W, C], /labels i32 [N], attribute max_points.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "io/hdf5_file.hpp"

namespace tca::data {

constexpr const char* kFileFormat = "tca-tasks";
constexpr int64_t kFileFormatVersion = 1;
constexpr const char* kLayoutTasks = "tasks";
constexpr const char* kLayoutImages = "images";
constexpr int64_t kRowsPerChunk = 4096;  // /x, /y chunk length (rows)
constexpr int64_t kImagesPerChunk = 64;  // /images chunk length (images)

using AttributeList = std::vector<std::pair<std::string, io::AttrValue>>;

// "tca <version> (git <sha>)".
std::string created_by();

// Writes format, format_version and layout.
void write_format_attributes(io::H5File& file, const std::string& layout);
// Checks format and format_version and returns the layout; InputError naming the file and the
// attribute otherwise ("unsupported format version (f.h5:format_version): expected 1, found 2").
std::string read_layout(const io::H5File& file);

}  // namespace tca::data
