// Number-for-number comparison with the official implementation's float64 reference files
// (reference README; issue 11): builds the model the file's attributes describe, loads its
// official weights through the name map, replays its inputs (eval: greedy; train: the recorded
// forced path) and compares every recorded quantity with the README's section 7 tolerances:
//   activation: max|x - ref| <= 1e-4 max|ref| + 1e-6      scalar: |x - ref| <= 1e-4 |ref| + 1e-5
//   gradient:   max|g - ref| <= 1e-3 max|ref| + 1e-7      exact: integers and masks identical.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/batch.hpp"
#include "models/model.hpp"

namespace tca {

enum class Tolerance { activation, scalar, gradient, exact };
const char* to_string(Tolerance t);

struct ReferenceRow {
  std::string
      name;  // the reference dataset, e.g. "train/policy_probs" or "grads/predictor.0.weight"
  Tolerance tolerance;
  double max_abs_error = 0, max_abs_ref = 0;
  bool ok = false;
  std::string note;  // e.g. a shape mismatch
  // max|x - ref| / max|ref|, with the denominator floored where the tolerance's absolute term
  // takes over (|ref| of 1e-2 for activations, 1e-1 for scalars, 1e-4 for gradients): some
  // reference gradients are zero by symmetry, stored as float64 noise.
  double relative_error() const;
};

struct ReferenceReport {
  std::string file;
  std::string model;  // "tca" or "ca"
  std::vector<ReferenceRow> rows;
  bool ok() const;
  int failures() const;
  // Worst relative error among rows of one tolerance class.
  double worst(Tolerance t) const;
};

// A reference file's model (weights loaded), its batch and its recorded forced path.
struct ReferenceCase {
  ModelConfig config;
  std::unique_ptr<Model> model;
  Batch batch;
  Tensor forced_actions;  // i32 [B, M, k] (TCA only)
};

// Throws InputError (exit 2) naming the missing dataset/attribute if `path` is not a reference
// file.
ReferenceCase load_reference_case(const std::string& path);
ReferenceReport check_reference_file(const std::string& path);

}  // namespace tca
