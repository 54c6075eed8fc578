// A set of 8-bit images with integer labels, in memory: the source of image-completion tasks.
// Readers for idx files (MNIST family, gzip or plain, through zlib) and binary PGM/PPM images.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace tca::data {

struct ImageSet {
  int64_t height = 0, width = 0, channels = 0;
  std::vector<uint8_t> pixels;  // [N, H, W, C] row-major
  std::vector<int32_t> labels;  // [N]; 0 where the source has no classes (CelebA)

  int64_t size() const { return static_cast<int64_t>(labels.size()); }
  int64_t image_elements() const { return height * width * channels; }
  const uint8_t* image(int64_t i) const { return pixels.data() + i * image_elements(); }
};

// The images whose label is in `classes` (all when empty), in their original order.
ImageSet select_classes(const ImageSet& images, const std::vector<int32_t>& classes);
// The first `count` images (all when count < 0 or count >= size).
ImageSet first_images(const ImageSet& images, int64_t count);

// Reads an idx3 image file (magic 0x00000803, [N, H, W] uint8) and its idx1 label file (magic
// 0x00000801, [N] uint8), each gzip-compressed or plain. InputError naming the file on a wrong
// magic number, a count mismatch, a truncated file or trailing bytes. transpose: swap rows and
// columns of every image (EMNIST stores images transposed).
ImageSet read_idx_images(const std::string& images_path, const std::string& labels_path,
                         bool transpose = false);

// One binary PGM (P5, 1 channel) or PPM (P6, 3 channels) image with maxval <= 255; InputError
// naming the file otherwise. Returns its pixels [H, W, C] and sets the extents.
std::vector<uint8_t> read_pnm(const std::string& path, int64_t& height, int64_t& width,
                              int64_t& channels);

}  // namespace tca::data
