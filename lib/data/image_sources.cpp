#include "data/image_sources.hpp"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "core/error.hpp"

namespace tca::data {

namespace {

bool is_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

bool is_dir(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// The first existing file among dir/sub/name for the candidate names and subfolders.
std::string find_file(const std::string& dir, const std::vector<std::string>& subdirs,
                      const std::vector<std::string>& names, const std::string& what) {
  std::string tried;
  for (const auto& sub : subdirs) {
    for (const auto& name : names) {
      const std::string path = dir + (sub.empty() ? "" : "/" + sub) + "/" + name;
      if (is_file(path)) return path;
      tried += (tried.empty() ? "" : ", ") + path;
    }
  }
  throw InputError(dir, what, "missing " + what + " file", "one of " + tried, "none of them");
}

void require_dir(const std::string& dir, const std::string& source) {
  if (!is_dir(dir)) {
    throw InputError(dir, "", "missing " + source + " data",
                     "a directory with your copy of " + source + " (--path)",
                     is_file(dir) ? "a file" : "nothing at that path");
  }
}

ImageSet load_idx_pair(const std::string& dir, const std::vector<std::string>& subdirs,
                       const std::string& prefix, bool transpose, const std::string& source) {
  require_dir(dir, source);
  const std::string images =
      find_file(dir, subdirs, {prefix + "images-idx3-ubyte.gz", prefix + "images-idx3-ubyte"},
                source + " images");
  const std::string labels =
      find_file(dir, subdirs, {prefix + "labels-idx1-ubyte.gz", prefix + "labels-idx1-ubyte"},
                source + " labels");
  return read_idx_images(images, labels, transpose);
}

ImageSet load_celeba(const std::string& dir, Split split) {
  require_dir(dir, "celeba");
  const std::string list_path =
      find_file(dir, {""}, {"list_eval_partition.txt"}, "celeba partition list");
  std::ifstream list(list_path);
  std::string line;
  ImageSet set;
  int64_t line_number = 0;
  while (std::getline(list, line)) {
    ++line_number;
    std::istringstream fields(line);
    std::string name;
    int partition = -1;
    if (!(fields >> name)) continue;  // blank line
    if (!(fields >> partition) || partition < 0 || partition > 2) {
      throw InputError(list_path, "line " + std::to_string(line_number), "bad partition line",
                       "'<image name> <0|1|2>'", "'" + line.substr(0, 60) + "'");
    }
    const bool wanted = split == Split::train ? partition <= 1 : partition == 2;
    if (!wanted) continue;
    const std::string stem = name.substr(0, name.rfind('.'));
    const std::string path = find_file(dir, {"", "img_align_celeba"},
                                       {stem + ".ppm", stem + ".pgm"}, "celeba image " + stem);
    int64_t h = 0, w = 0, c = 0;
    std::vector<uint8_t> pixels = read_pnm(path, h, w, c);
    if (set.labels.empty()) {
      set.height = h;
      set.width = w;
      set.channels = c;
    } else if (h != set.height || w != set.width || c != set.channels) {
      throw InputError(path, "", "image size differs from the first image",
                       std::to_string(set.height) + "x" + std::to_string(set.width) + "x" +
                           std::to_string(set.channels),
                       std::to_string(h) + "x" + std::to_string(w) + "x" + std::to_string(c));
    }
    set.pixels.insert(set.pixels.end(), pixels.begin(), pixels.end());
    set.labels.push_back(0);
  }
  if (set.labels.empty()) {
    throw InputError(
        list_path, "", "no celeba images for this split",
        std::string("lines with partition ") + (split == Split::train ? "0 or 1" : "2"), "none");
  }
  return set;
}

}  // namespace

ImageSet load_image_source(const TaskParams& p, Split split) {
  ImageSet set;
  const bool train = split == Split::train;
  if (p.source == "fashion-mnist") {
    set = load_idx_pair(p.path, {""}, train ? "train-" : "t10k-", false, "fashion-mnist");
  } else if (p.source == "emnist") {
    set = load_idx_pair(p.path, {"", "gzip"},
                        train ? "emnist-balanced-train-" : "emnist-balanced-test-", true, "emnist");
  } else if (p.source == "celeba") {
    set = load_celeba(p.path, split);
  } else {
    throw UsageError("--source " + p.source + ": expected fashion-mnist, emnist or celeba");
  }
  ImageSet selected = select_classes(set, parse_class_filter(p.classes));
  if (selected.size() == 0) {
    throw UsageError("--classes " + p.classes + ": no " + p.source + " " + split_name(split) +
                     " image has one of these classes");
  }
  return selected;
}

}  // namespace tca::data
