#include "data/task_info.hpp"

#include <utility>

#include "core/error.hpp"
#include "io/hdf5_file.hpp"

namespace tca::data {

bool operator==(const TaskInfo& a, const TaskInfo& b) {
  return a.task == b.task && a.dim_x == b.dim_x && a.dim_y == b.dim_y &&
         a.num_classes == b.num_classes && a.is_sequential == b.is_sequential &&
         a.is_metalearning == b.is_metalearning && a.std_form == b.std_form &&
         a.ordering == b.ordering;
}

void write_task_info(io::H5File& file, const TaskInfo& info) {
  file.set_attr("task", info.task);
  file.set_attr("dim_x", info.dim_x);
  file.set_attr("dim_y", info.dim_y);
  file.set_attr("num_classes", info.num_classes);
  file.set_attr("is_sequential", int64_t{info.is_sequential});
  file.set_attr("is_metalearning", int64_t{info.is_metalearning});
  file.set_attr("std_form", std_form_name(info.std_form));
  file.set_attr("ordering", to_string(info.ordering));
}

namespace {

// The task attribute selects the training defaults (batch size, layers, betas, clipping), so it
// must agree with the shape of the data: a GP-shaped file labelled "copy" trained silently with
// the copy task's defaults. These are the interfaces the generators and importers write
// (copy_task.cpp, gp_task.cpp, image_task.cpp, timeseries_task.cpp).
void check_task_consistent(const std::string& path, const TaskInfo& info) {
  auto contradicts = [&](const char* key, const std::string& expected, const std::string& found) {
    throw InputError(path, key, "attribute contradicts task \"" + info.task + "\"", expected,
                     found);
  };
  const bool classification = info.task == "copy" || info.task == "timeseries";
  if (classification && !info.is_classification()) {
    contradicts("num_classes", "at least 2 (a classification task)", "0 (regression data)");
  }
  if (!classification && info.is_classification()) {
    contradicts("num_classes", "0 (a regression task)",
                std::to_string(info.num_classes) + " (classification data)");
  }
  const bool metalearning = info.task == "gp" || info.task == "image";
  if (info.is_metalearning != metalearning) {
    contradicts("is_metalearning", metalearning ? "1" : "0", info.is_metalearning ? "1" : "0");
  }
  if (classification && info.std_form != StdForm::none) {
    contradicts("std_form", "none (a classification task)", std_form_name(info.std_form));
  }
  if (!classification && info.std_form == StdForm::none) {
    contradicts("std_form", "exp or bounded (a regression task)", "none");
  }
  if (info.task == "copy" && info.dim_x != info.num_classes) {
    contradicts("dim_x", std::to_string(info.num_classes) + " (the one-hot width, = num_classes)",
                std::to_string(info.dim_x));
  }
}

}  // namespace

TaskInfo read_task_info(const io::H5File& file) {
  TaskInfo info;
  info.task = file.attr_string("task");
  if (info.task != "copy" && info.task != "gp" && info.task != "image" &&
      info.task != "timeseries") {
    throw InputError(file.path(), "task", "unknown task", "copy, gp, image or timeseries",
                     info.task);
  }
  auto flag = [&](const char* name) {
    const int64_t v = file.attr_int(name);
    if (v != 0 && v != 1)
      throw InputError(file.path(), name, "bad flag", "0 or 1", std::to_string(v));
    return v == 1;
  };
  auto positive = [&](const char* name, int64_t minimum) {
    const int64_t v = file.attr_int(name);
    if (v < minimum) {
      throw InputError(file.path(), name, "bad attribute value",
                       "at least " + std::to_string(minimum), std::to_string(v));
    }
    return v;
  };
  info.dim_x = positive("dim_x", 1);
  info.dim_y = positive("dim_y", 1);
  info.num_classes = positive("num_classes", 0);
  // Upper bounds before any of these sizes a model or a buffer: a hostile num_classes of 2^40
  // ended in "out of memory allocating N bytes" with no attribute named. 65536 is far above
  // every task here (copy: num_chars + 2 <= 1002, timeseries: <= 1000 classes).
  const std::pair<const char*, int64_t> widths[] = {
      {"dim_x", info.dim_x}, {"dim_y", info.dim_y}, {"num_classes", info.num_classes}};
  for (const auto& [name, value] : widths) {
    if (value > kMaxTaskWidth) {
      throw InputError(file.path(), name, "attribute value too large",
                       "at most " + std::to_string(kMaxTaskWidth), std::to_string(value));
    }
  }
  info.is_sequential = flag("is_sequential");
  info.is_metalearning = flag("is_metalearning");
  const std::string form = file.attr_string("std_form");
  const auto std_form = find_named(kStdFormNames, form);
  if (!std_form)
    throw InputError(file.path(), "std_form", "unknown std form", names_list(kStdFormNames), form);
  info.std_form = *std_form;
  const std::string ordering = file.attr_string("ordering");
  const auto known_ordering = find_named(kContextOrderingNames, ordering);
  if (!known_ordering) {
    throw InputError(file.path(), "ordering", "unknown ordering", names_list(kContextOrderingNames),
                     "\"" + ordering + "\"");
  }
  info.ordering = *known_ordering;
  if (info.num_classes == 1) {
    throw InputError(file.path(), "num_classes", "bad attribute value",
                     "0 (regression) or at least 2", "1");
  }
  if (info.is_classification() && info.dim_y != 1) {
    throw InputError(file.path(), "dim_y", "bad attribute value",
                     "1 (one label column) for a classification task", std::to_string(info.dim_y));
  }
  check_task_consistent(file.path(), info);
  return info;
}

}  // namespace tca::data
