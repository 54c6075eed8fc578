#include "data/image_source_file.hpp"

#include "core/error.hpp"
#include "data/content_hash.hpp"

namespace tca::data {

namespace {

uint64_t image_content_hash(const ImageSet& images,
                            const std::map<std::string, io::AttrValue>& attributes) {
  ContentHasher pixels, labels;
  pixels.update(images.pixels.data(), images.pixels.size());
  labels.update(images.labels.data(), images.labels.size() * sizeof(int32_t));
  return combine_content_hash({{"images",
                                io::ElementType::u8,
                                {images.size(), images.height, images.width, images.channels},
                                pixels.digest()},
                               {"labels", io::ElementType::i32, {images.size()}, labels.digest()}},
                              attributes);
}

}  // namespace

uint64_t write_image_source(const std::string& path, const ImageSet& images, const TaskInfo& info,
                            const AttributeList& generator) {
  io::H5File file = io::H5File::create(path);
  write_format_attributes(file, kLayoutImages);
  write_task_info(file, info);
  for (const auto& [name, value] : generator) file.set_attr(name, value);
  file.set_attr("created_by", created_by());
  file.write("images", {images.size(), images.height, images.width, images.channels}, images.pixels,
             io::WriteOptions{kImagesPerChunk});
  file.write("labels", {images.size()}, images.labels, io::WriteOptions{kRowsPerChunk});
  const uint64_t hash = image_content_hash(images, file.attrs());
  file.set_attr("content_hash", hash_hex(hash));
  file.close();
  return hash;
}

ImageSourceFile read_image_source(const std::string& path) {
  io::H5File file = io::H5File::open_read(path);
  const std::string layout = read_layout(file);
  if (layout != kLayoutImages) {
    throw InputError(path, "layout", "not an image-source file", "layout \"images\"",
                     "\"" + layout + "\"");
  }
  ImageSourceFile out;
  out.info = read_task_info(file);
  if (out.info.task != "image" || out.info.dim_x != 2) {
    throw InputError(path, "task", "inconsistent image-source file", "task image with dim_x 2",
                     out.info.task + " with dim_x " + std::to_string(out.info.dim_x));
  }
  out.attributes = file.attrs();
  out.max_points = file.attr_int("max_points");
  if (out.max_points < 7)
    throw InputError(path, "max_points", "bad attribute value", "at least 7",
                     std::to_string(out.max_points));
  const io::DatasetInfo images =
      file.require_dataset("images", io::ElementType::u8,
                           {io::kAnyExtent, io::kAnyExtent, io::kAnyExtent, out.info.dim_y});
  const int64_t n = images.shape[0];
  if (n == 0 || images.shape[1] == 0 || images.shape[2] == 0) {
    throw InputError(path, "/images", "empty image set", "at least one non-empty image",
                     tca::to_string(images.shape));
  }
  file.require_dataset("labels", io::ElementType::i32, {n});
  ImageSet& set = out.images;
  set.height = images.shape[1];
  set.width = images.shape[2];
  set.channels = images.shape[3];
  if (out.max_points - 1 > set.height * set.width) {
    throw InputError(
        path, "max_points", "bad attribute value",
        "at most " + std::to_string(set.height * set.width + 1) + " (pixels per image + 1)",
        std::to_string(out.max_points));
  }
  set.pixels = file.read<uint8_t>("images");
  set.labels = file.read<int32_t>("labels");
  for (int64_t i = 0; i < n; ++i) {
    if (set.labels[static_cast<size_t>(i)] < 0) {
      throw InputError(
          path, "/labels", "negative label", "labels >= 0",
          std::to_string(set.labels[static_cast<size_t>(i)]) + " at index " + std::to_string(i));
    }
  }
  out.content_hash = image_content_hash(set, out.attributes);
  return out;
}

}  // namespace tca::data
