#include "data/image_set.hpp"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>
#include <memory>

#include "core/error.hpp"

namespace tca::data {

ImageSet select_classes(const ImageSet& images, const std::vector<int32_t>& classes) {
  if (classes.empty()) return images;
  ImageSet out;
  out.height = images.height;
  out.width = images.width;
  out.channels = images.channels;
  const int64_t n = images.image_elements();
  for (int64_t i = 0; i < images.size(); ++i) {
    if (!std::binary_search(classes.begin(), classes.end(), images.labels[static_cast<size_t>(i)]))
      continue;
    out.labels.push_back(images.labels[static_cast<size_t>(i)]);
    out.pixels.insert(out.pixels.end(), images.image(i), images.image(i) + n);
  }
  return out;
}

ImageSet first_images(const ImageSet& images, int64_t count) {
  if (count < 0 || count >= images.size()) return images;
  ImageSet out = images;
  out.labels.resize(static_cast<size_t>(count));
  out.pixels.resize(static_cast<size_t>(count * images.image_elements()));
  return out;
}

namespace {

// A gzip (or plain) file read through zlib, with exact-length reads.
class GzReader {
 public:
  explicit GzReader(const std::string& path) : path_(path) {
    std::ifstream probe(path, std::ios::binary);
    if (!probe)
      throw InputError(path, "", "cannot open idx file", "an existing file", "no such file");
    file_ = gzopen(path.c_str(), "rb");
    if (!file_)
      throw InputError(path, "", "cannot open idx file", "a readable file",
                       "zlib could not open it");
  }
  ~GzReader() {
    if (file_) gzclose(file_);
  }
  GzReader(const GzReader&) = delete;
  GzReader& operator=(const GzReader&) = delete;

  void read(void* out, size_t bytes, const char* what) {
    size_t done = 0;
    while (done < bytes) {
      const unsigned chunk = static_cast<unsigned>(std::min<size_t>(bytes - done, 1u << 30));
      const int got = gzread(file_, static_cast<char*>(out) + done, chunk);
      if (got < 0) {
        int code = 0;
        throw InputError(path_, what, "corrupt idx file", "valid gzip data", gzerror(file_, &code));
      }
      if (got == 0) {
        throw InputError(path_, what, "truncated idx file", std::to_string(bytes) + " bytes",
                         std::to_string(done) + " bytes");
      }
      done += static_cast<size_t>(got);
    }
  }
  uint32_t read_u32(const char* what) {
    unsigned char b[4];
    read(b, 4, what);
    return (uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3];
  }
  void expect_end() {
    char extra;
    if (gzread(file_, &extra, 1) != 0) {
      throw InputError(path_, "", "trailing data in idx file",
                       "the end of the file after the values", "more bytes");
    }
  }

 private:
  std::string path_;
  gzFile file_ = nullptr;
};

std::string hex(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

}  // namespace

ImageSet read_idx_images(const std::string& images_path, const std::string& labels_path,
                         bool transpose) {
  ImageSet set;
  GzReader images(images_path);
  const uint32_t magic = images.read_u32("magic");
  if (magic != 0x00000803u) {
    throw InputError(images_path, "magic", "not an idx image file",
                     "0x00000803 (uint8, 3 dimensions)", hex(magic));
  }
  const uint32_t count = images.read_u32("count"), rows = images.read_u32("rows"),
                 cols = images.read_u32("cols");
  if (rows == 0 || cols == 0 || rows > 4096 || cols > 4096) {
    throw InputError(
        images_path, "header", "implausible idx image extents", "up to 4096x4096 images",
        std::to_string(count) + " x " + std::to_string(rows) + " x " + std::to_string(cols));
  }
  set.height = rows;
  set.width = cols;
  set.channels = 1;
  // Grown as the data arrive, so a corrupt count cannot make us allocate what the file lacks.
  const uint64_t total = uint64_t{count} * rows * cols;
  constexpr uint64_t kPiece = 1u << 24;
  for (uint64_t done = 0; done < total; done += kPiece) {
    const uint64_t piece = std::min(kPiece, total - done);
    set.pixels.resize(static_cast<size_t>(done + piece));
    images.read(set.pixels.data() + done, static_cast<size_t>(piece), "pixels");
  }
  images.expect_end();
  if (transpose) {
    std::vector<uint8_t> tmp(static_cast<size_t>(rows) * cols);
    for (uint32_t i = 0; i < count; ++i) {
      uint8_t* img = set.pixels.data() + static_cast<size_t>(i) * rows * cols;
      for (uint32_t r = 0; r < rows; ++r)
        for (uint32_t c = 0; c < cols; ++c)
          tmp[static_cast<size_t>(c) * rows + r] = img[static_cast<size_t>(r) * cols + c];
      std::copy(tmp.begin(), tmp.end(), img);
    }
    std::swap(set.height, set.width);
  }

  GzReader labels(labels_path);
  const uint32_t label_magic = labels.read_u32("magic");
  if (label_magic != 0x00000801u) {
    throw InputError(labels_path, "magic", "not an idx label file",
                     "0x00000801 (uint8, 1 dimension)", hex(label_magic));
  }
  const uint32_t label_count = labels.read_u32("count");
  if (label_count != count) {
    throw InputError(labels_path, "count", "label count differs from the image count",
                     std::to_string(count) + " (as " + images_path + ")",
                     std::to_string(label_count));
  }
  std::vector<uint8_t> raw(count);
  labels.read(raw.data(), raw.size(), "labels");
  labels.expect_end();
  set.labels.assign(raw.begin(), raw.end());
  return set;
}

std::vector<uint8_t> read_pnm(const std::string& path, int64_t& height, int64_t& width,
                              int64_t& channels) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw InputError(path, "", "cannot open image", "an existing PGM/PPM file", "no such file");
  auto token = [&]() {
    std::string t;
    int c = in.get();
    while (c != EOF) {
      if (c == '#') {
        while (c != EOF && c != '\n') c = in.get();
      } else if (std::isspace(c)) {
        if (!t.empty()) break;
      } else {
        t += static_cast<char>(c);
      }
      c = in.get();
    }
    return t;  // the single whitespace after the last header token is consumed
  };
  const std::string magic = token();
  if (magic != "P5" && magic != "P6") {
    throw InputError(path, "magic", "unsupported image format", "binary PGM (P5) or PPM (P6)",
                     magic.empty() ? "an empty file" : "'" + magic.substr(0, 8) + "'");
  }
  auto number = [&](const char* what) {
    const std::string t = token();
    if (t.empty() || t.size() > 6 || t.find_first_not_of("0123456789") != std::string::npos) {
      throw InputError(path, what, "bad image header", "a positive integer", "'" + t + "'");
    }
    return std::stoll(t);
  };
  width = number("width");
  height = number("height");
  const int64_t maxval = number("maxval");
  if (width < 1 || height < 1 || width > 16384 || height > 16384 || maxval < 1 || maxval > 255) {
    throw InputError(
        path, "header", "unsupported image", "8-bit images up to 16384x16384",
        std::to_string(width) + "x" + std::to_string(height) + " maxval " + std::to_string(maxval));
  }
  channels = magic == "P5" ? 1 : 3;
  std::vector<uint8_t> pixels(static_cast<size_t>(height * width * channels));
  in.read(reinterpret_cast<char*>(pixels.data()), static_cast<std::streamsize>(pixels.size()));
  if (in.gcount() != static_cast<std::streamsize>(pixels.size())) {
    throw InputError(path, "pixels", "truncated image", std::to_string(pixels.size()) + " bytes",
                     std::to_string(in.gcount()) + " bytes");
  }
  if (maxval != 255) {
    for (auto& p : pixels)
      p = static_cast<uint8_t>(std::min<int64_t>(255, (p * 255 + maxval / 2) / maxval));
  }
  return pixels;
}

}  // namespace tca::data
