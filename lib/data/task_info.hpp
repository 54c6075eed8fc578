// What a model needs to know about a task (tca.md sections 1 and 6): input and output widths,
// classification or regression, whether the context token is [x, y] (meta-learning) or x alone,
// whether tokens are a sequence (positional encoding), the std form of the Gaussian head and the
// default context ordering. Samplers report it; task files store it as root attributes.
#pragma once
#include <cstdint>
#include <string>

#include "core/context_ordering.hpp"
#include "core/named_values.hpp"

namespace tca::io {
class H5File;
}

namespace tca::data {

// How the predictor's raw std output becomes a std (tca.md section 1): exp(raw), or
// 0.05 + 0.95 softplus(raw) ("bound_std", the EMNIST / Fashion-MNIST setting). none for
// classification tasks.
enum class StdForm { none, exp, bounded };
inline constexpr NamedValue<StdForm> kStdFormNames[] = {
    {StdForm::none, "none"}, {StdForm::exp, "exp"}, {StdForm::bounded, "bounded"}};
inline std::string std_form_name(StdForm form) { return name_of(kStdFormNames, form); }
inline StdForm parse_std_form(const std::string& name) {  // UsageError for another name
  return value_named(kStdFormNames, name, "std form");
}

// Largest dim_x, dim_y and num_classes a file may declare (read_task_info).
constexpr int64_t kMaxTaskWidth = 65536;

struct TaskInfo {
  std::string task;   // "copy" | "gp" | "image" | "timeseries"
  int64_t dim_x = 0;  // input width (copy: num_chars + 2 one-hot)
  int64_t dim_y = 0;  // regression output width; 1 (the label column) for classification
  int64_t num_classes =
      0;  // classes of a classification task (copy: num_chars + 2); 0 = regression
  bool is_sequential = false;  // tokens are a sequence: add positional encodings (copy task)
  bool is_metalearning =
      false;  // context token = [x, y] (GP, images); else x alone (copy, timeseries)
  StdForm std_form = StdForm::none;
  ContextOrdering ordering = ContextOrdering::none;  // the data's default context ordering

  bool is_classification() const { return num_classes > 0; }
};

bool operator==(const TaskInfo& a, const TaskInfo& b);
inline bool operator!=(const TaskInfo& a, const TaskInfo& b) { return !(a == b); }

// Root attributes "task", "dim_x", "dim_y", "num_classes", "is_sequential", "is_metalearning"
// (int64 0/1), "std_form", "ordering".
void write_task_info(io::H5File& file, const TaskInfo& info);
// Reads and checks them (InputError naming the file and attribute when one is missing or
// inconsistent: unknown task, non-positive widths, ...).
TaskInfo read_task_info(const io::H5File& file);

}  // namespace tca::data
