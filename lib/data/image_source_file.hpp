// Image-source files (layout "images", task_file_format.hpp): the images of `make-dataset image
// --split train` or of an importer, from which training draws image-completion tasks on the fly.
#pragma once
#include <map>
#include <string>

#include "data/image_set.hpp"
#include "data/task_file_format.hpp"
#include "data/task_info.hpp"

namespace tca::data {

// Writes /images u8 [N, H, W, C] (chunks of kImagesPerChunk images, shuffle + gzip 4), /labels
// i32 [N], the format and TaskInfo attributes, `generator` (must include max_points), created_by
// and content_hash. Returns the content hash. (Write to a temp path and rename.)
uint64_t write_image_source(const std::string& path, const ImageSet& images, const TaskInfo& info,
                            const AttributeList& generator);

struct ImageSourceFile {
  ImageSet images;
  TaskInfo info;
  int64_t max_points = 0;
  std::map<std::string, io::AttrValue> attributes;
  uint64_t content_hash = 0;
};

// Reads and validates one (format, layout, TaskInfo, dtypes and shapes, channels = dim_y, at least
// one image, labels >= 0, max_points >= 7); InputError naming file and dataset otherwise.
ImageSourceFile read_image_source(const std::string& path);

}  // namespace tca::data
