#include "eval/reference_comparer.hpp"

#include <cmath>

#include "core/error.hpp"

namespace tca {

void ReferenceComparer::compare(const std::string& name, const std::vector<double>& ours,
                                Tolerance tol, const std::string& label) {
  if (!has(name)) return;  // optional quantities (not every file records every one)
  Shape shape;
  std::vector<double> ref;
  if (f_.dataset_info(name).is_integer) {  // actions, indices, labels are stored as int64
    for (int64_t v : f_.read<int64_t>(name, &shape)) ref.push_back(static_cast<double>(v));
  } else {
    ref = f_.read<double>(name, &shape);
  }
  ReferenceRow row;
  row.name = label.empty() ? name : label;
  row.tolerance = tol;
  if (ref.size() != ours.size()) {
    row.note = "size " + std::to_string(ours.size()) + " vs reference " + to_string(shape);
    report_.rows.push_back(row);
    return;
  }
  // A NaN reference value compared as a match (NaN is never greater than the running maximum),
  // so a corrupt reference file passed every check: it is malformed input (exit 2).
  for (size_t i = 0; i < ref.size(); ++i) {
    if (!std::isfinite(ref[i])) {
      throw InputError(
          f_.path(), name, "non-finite reference value", "finite values",
          std::string(std::isnan(ref[i]) ? "nan" : "inf") + " at index " + std::to_string(i));
    }
  }
  for (size_t i = 0; i < ref.size(); ++i) {
    row.max_abs_error = std::max(row.max_abs_error, std::abs(ours[i] - ref[i]));
    row.max_abs_ref = std::max(row.max_abs_ref, std::abs(ref[i]));
    if (!std::isfinite(ours[i])) row.max_abs_error = INFINITY;
  }
  switch (tol) {
    case Tolerance::activation:
      row.ok = row.max_abs_error <= 1e-4 * row.max_abs_ref + 1e-6;
      break;
    case Tolerance::scalar:
      row.ok = row.max_abs_error <= 1e-4 * row.max_abs_ref + 1e-5;
      break;
    case Tolerance::gradient:
      row.ok = row.max_abs_error <= 1e-3 * row.max_abs_ref + 1e-7;
      break;
    case Tolerance::exact:
      row.ok = row.max_abs_error == 0.0;
      break;
  }
  report_.rows.push_back(row);
}
void ReferenceComparer::compare(const std::string& name, const Tensor& ours, Tolerance tol,
                                const std::string& label) {
  std::vector<double> v(static_cast<size_t>(ours.numel()));
  for (size_t i = 0; i < v.size(); ++i)
    v[i] = ours.dtype() == DType::f32 ? ours[static_cast<int64_t>(i)] : ours.data_i32()[i];
  compare(name, v, tol, label);
}

}  // namespace tca
