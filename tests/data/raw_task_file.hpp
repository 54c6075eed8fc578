// A task file written field by field (bypassing TaskFileWriter), so that tests can produce every
// kind of malformed file: each field can be changed, given another dtype or left out.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "data/task_file_format.hpp"
#include "data/task_info.hpp"
#include "io/hdf5_file.hpp"

namespace tca::test {

struct RawTaskFile {
  std::map<std::string, io::AttrValue> attributes;
  int64_t dim_x = 1, dim_y = 1;
  std::vector<float> x, y;        // [rows, dim_x], [rows, dim_y]
  std::vector<int32_t> y_labels;  // used instead of y when non-empty (classification)
  std::vector<int64_t> offsets;
  std::vector<int32_t> num_context;
  std::vector<int64_t> batch_offsets;
  std::vector<std::string> omit;  // datasets not written
  bool x_as_f64 = false;          // /x stored as float64 instead of float32
  bool x_flat = false;            // /x stored 1-D
  int64_t chunk_rows = 8;

  // A valid GP-like file: 2 batches of 2 tasks, tasks of 3 context + 2 target points.
  static RawTaskFile valid_regression() {
    RawTaskFile f;
    f.attributes = {{"format", std::string(data::kFileFormat)},
                    {"format_version", data::kFileFormatVersion},
                    {"layout", std::string(data::kLayoutTasks)},
                    {"task", std::string("gp")},
                    {"dim_x", int64_t{1}},
                    {"dim_y", int64_t{1}},
                    {"num_classes", int64_t{0}},
                    {"is_sequential", int64_t{0}},
                    {"is_metalearning", int64_t{1}},
                    {"std_form", std::string("exp")},
                    {"ordering", std::string("none")},
                    {"seed", int64_t{0}}};
    for (int i = 0; i < 20; ++i) {
      f.x.push_back(0.1f * static_cast<float>(i) - 1.f);
      f.y.push_back(0.05f * static_cast<float>(i));
    }
    f.offsets = {0, 5, 10, 15, 20};
    f.num_context = {3, 3, 3, 3};
    f.batch_offsets = {0, 2, 4};
    return f;
  }

  // A valid copy-like classification file: one batch of 2 tasks of 2 + 2 rows, one-hot width 4.
  static RawTaskFile valid_classification() {
    RawTaskFile f = valid_regression();
    f.attributes["task"] = std::string("copy");
    f.attributes["dim_x"] = int64_t{4};
    f.attributes["num_classes"] = int64_t{4};
    f.attributes["is_sequential"] = int64_t{1};
    f.attributes["is_metalearning"] = int64_t{0};
    f.attributes["std_form"] = std::string("none");
    f.dim_x = 4;
    f.x.assign(8 * 4, 0.f);
    for (int r : {0, 4}) f.x[static_cast<size_t>(r * 4)] = 1.f;  // SOS
    f.x[1 * 4 + 2] = f.x[5 * 4 + 3] = 1.f;
    f.y.clear();
    f.y_labels = {0, 2, 2, 1, 0, 3, 3, 1};
    f.offsets = {0, 4, 8};
    f.num_context = {2, 2};
    f.batch_offsets = {0, 2};
    return f;
  }

  bool omitted(const std::string& name) const {
    for (const auto& o : omit)
      if (o == name) return true;
    return false;
  }

  void write(const std::string& path) const {
    io::H5File file = io::H5File::create(path);
    for (const auto& [name, value] : attributes) file.set_attr(name, value);
    const io::WriteOptions chunked{chunk_rows};
    const auto rows = static_cast<int64_t>(x.size()) / dim_x;
    if (!omitted("x")) {
      const Shape shape = x_flat ? Shape{static_cast<int64_t>(x.size())} : Shape{rows, dim_x};
      if (x_as_f64) {
        file.write("x", shape, std::vector<double>(x.begin(), x.end()), chunked);
      } else {
        file.write("x", shape, x, chunked);
      }
    }
    if (!omitted("y")) {
      if (!y_labels.empty()) {
        file.write("y", {static_cast<int64_t>(y_labels.size()), 1}, y_labels, chunked);
      } else {
        file.write("y", {static_cast<int64_t>(y.size()) / dim_y, dim_y}, y, chunked);
      }
    }
    if (!omitted("offsets")) file.write("offsets", {static_cast<int64_t>(offsets.size())}, offsets);
    if (!omitted("num_context"))
      file.write("num_context", {static_cast<int64_t>(num_context.size())}, num_context);
    if (!omitted("batch_offsets")) {
      file.write("batch_offsets", {static_cast<int64_t>(batch_offsets.size())}, batch_offsets);
    }
    file.close();
  }
};

}  // namespace tca::test
