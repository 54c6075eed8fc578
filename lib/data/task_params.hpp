// The generator parameters of every task (tca.md section 6; conventions.md "Command synopsis"),
// one struct for all tasks so that `tca make-dataset`, `tca train --task ...` and configs share
// it. Values not meaningful for a task are ignored by it. Defaults are the official settings.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "io/hdf5_file.hpp"

namespace tca::data {

enum class Split { train, eval };
const char* split_name(Split split);         // "train" | "eval"
Split parse_split(const std::string& name);  // UsageError otherwise

struct TaskParams {
  std::string task;  // "copy" | "gp" | "image" | "timeseries"

  // copy: sequence length T (a power of two >= 4) and number of symbols (tca.md 6: 10).
  int64_t seq_len = 128;
  int64_t num_chars = 10;

  // gp: kernel rbf | matern52 | periodic.
  std::string kernel = "rbf";
  // gp and image: Nc ~ U{3..P-4}, Nt ~ U{3..P-1-Nc} (the official samplers' max_num_points).
  // 0 = the task's default: 50 for gp, 200 for image.
  int64_t max_points = 0;

  // image: source fashion-mnist | emnist | celeba; `path` = the user's copy (required for emnist
  // and celeba; fashion-mnist defaults to Debian's /usr/share/datasets/fashion-mnist).
  // timeseries: `path` = a CSV or HDF5 file to import instead of the synthetic generator.
  std::string source = "fashion-mnist";
  std::string path;
  // image: class filter "0-4", "5-9", "0,2,7-9" or "all"; "" = the source's default (fashion-mnist
  // 0-4, emnist 0-9, celeba all). timeseries: the number of classes K; "" = 7.
  std::string classes;

  // timeseries (synthetic stand-in): sequence length L and channels C (tca.md 6: 50 and 12), and
  // the seed of the fixed class signatures (shared by train and eval sets).
  int64_t length = 50;
  int64_t channels = 12;
  int64_t signature_seed = 0;
};

// The task's defaults filled in (max_points, classes) and every value checked: UsageError naming
// the option ("--seq-len 100: expected a power of two >= 4").
TaskParams resolve_params(const TaskParams& params);

// The number of timeseries classes of resolved params (their `classes` as an integer).
int64_t timeseries_classes(const TaskParams& params);
// Class filter of resolved image params; empty = all classes.
std::vector<int32_t> parse_class_filter(const std::string& spec);

// The attributes that describe the generator in a file (names as the long flags with
// underscores), only those meaningful for the task.
std::vector<std::pair<std::string, io::AttrValue>> generator_attributes(const TaskParams& resolved);

// Default location of Debian's dataset-fashion-mnist idx files.
extern const char* const kFashionMnistDir;

}  // namespace tca::data
