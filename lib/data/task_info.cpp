#include "data/task_info.hpp"

#include "core/error.hpp"
#include "io/hdf5_file.hpp"

namespace tca::data {

const char* std_form_name(StdForm form) {
  switch (form) {
    case StdForm::none: return "none";
    case StdForm::exp: return "exp";
    case StdForm::bounded: return "bounded";
  }
  return "none";
}

StdForm parse_std_form(const std::string& name) {
  if (name == "none") return StdForm::none;
  if (name == "exp") return StdForm::exp;
  if (name == "bounded") return StdForm::bounded;
  throw UsageError("unknown std form '" + name + "': expected none, exp or bounded");
}

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
  file.set_attr("std_form", std::string(std_form_name(info.std_form)));
  file.set_attr("ordering", info.ordering);
}

TaskInfo read_task_info(const io::H5File& file) {
  TaskInfo info;
  info.task = file.attr_string("task");
  if (info.task != "copy" && info.task != "gp" && info.task != "image" && info.task != "timeseries") {
    throw InputError(file.path(), "task", "unknown task", "copy, gp, image or timeseries", info.task);
  }
  auto flag = [&](const char* name) {
    const int64_t v = file.attr_int(name);
    if (v != 0 && v != 1) throw InputError(file.path(), name, "bad flag", "0 or 1", std::to_string(v));
    return v == 1;
  };
  auto positive = [&](const char* name, int64_t minimum) {
    const int64_t v = file.attr_int(name);
    if (v < minimum) {
      throw InputError(file.path(), name, "bad attribute value", "at least " + std::to_string(minimum),
                       std::to_string(v));
    }
    return v;
  };
  info.dim_x = positive("dim_x", 1);
  info.dim_y = positive("dim_y", 1);
  info.num_classes = positive("num_classes", 0);
  info.is_sequential = flag("is_sequential");
  info.is_metalearning = flag("is_metalearning");
  const std::string form = file.attr_string("std_form");
  if (form != "none" && form != "exp" && form != "bounded") {
    throw InputError(file.path(), "std_form", "unknown std form", "none, exp or bounded", form);
  }
  info.std_form = parse_std_form(form);
  info.ordering = file.attr_string("ordering");
  if (info.num_classes == 1) {
    throw InputError(file.path(), "num_classes", "bad attribute value", "0 (regression) or at least 2", "1");
  }
  if (info.is_classification() && info.dim_y != 1) {
    throw InputError(file.path(), "dim_y", "bad attribute value", "1 (one label column) for a classification task",
                     std::to_string(info.dim_y));
  }
  return info;
}

}  // namespace tca::data
