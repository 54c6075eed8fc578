// One quantity of ours against the same dataset of an official reference file, under the
// reference README's tolerances (section 7): the row it adds to a ReferenceReport says the worst
// absolute error, the reference's scale and whether it is within tolerance. Used by
// check_reference_file for every activation, loss, gradient and tree-search decision.
#pragma once
#include <string>
#include <vector>

#include "autograd/variable.hpp"
#include "eval/reference_check.hpp"
#include "io/hdf5_file.hpp"

namespace tca {

class ReferenceComparer {
 public:
  ReferenceComparer(const io::H5File& f, ReferenceReport& report) : f_(f), report_(report) {}

  bool has(const std::string& name) const { return f_.is_dataset(name); }

  // Adds a row for dataset `name` (nothing when the file lacks it: not every file records every
  // quantity); `label` names the row when it differs from the dataset (e.g. another code path).
  // A non-finite reference value is an InputError (a NaN would compare as a match).
  void compare(const std::string& name, const std::vector<double>& ours, Tolerance tol,
               const std::string& label = "");
  void compare(const std::string& name, const Tensor& ours, Tolerance tol,
               const std::string& label = "");
  void compare(const std::string& name, const Var& ours, Tolerance tol) {
    compare(name, ours.value(), tol);
  }
  void compare_scalar(const std::string& name, double ours) {
    compare(name, std::vector<double>{ours}, Tolerance::scalar);
  }

 private:
  const io::H5File& f_;
  ReferenceReport& report_;
};

}  // namespace tca
