// Trees files (`tca build-tree`, conventions.md "HDF5 datasets"; layout in datasets/README.md
// "Trees"): root attributes format = "tca-trees", format_version; one group /trees/NAME per
// (heuristic, branch factor[, checkpoint]) with, per task t of the data file:
//   depth i32 [T], leaf_size i32 [T]; perm i32 (the context order, ragged by perm_offsets i64
//   [T+1], which are the context sizes); padded_offsets i64 [T+1] and mask u8 (ragged, P b^k per
//   task: 1 real token, 0 padding); attributes branch_factor, heuristic, data_file,
//   data_content_hash, num_tasks, created_by.
//   With --checkpoint also: node_offsets i64 [T+1], nodes f32 [total nodes, D] (per task: levels
//   0 (root) .. k, each level in row-major node order; a tree with k = 0 has no node), node_mask
//   u8 [total nodes], tokens f32 [total padded, D] (the encoded leaf tokens in tree order, padded,
//   ragged by padded_offsets), attributes parameters_hash (the checkpoint's), checkpoint (run
//   directory), checkpoint_step, d_model.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/context_ordering.hpp"
#include "core/tensor.hpp"
#include "core/tree_shape.hpp"
#include "io/hdf5_file.hpp"

namespace tca::data {

constexpr const char* kTreesFormat = "tca-trees";
constexpr int64_t kTreesFormatVersion = 1;

// Default group name: HEURISTIC_bB ("sort_x1_b2").
std::string default_tree_name(ContextOrdering heuristic, int64_t branch_factor);

// Nodes stored per task: levels 0..k (1 + b + ... + b^k), none when k = 0.
int64_t stored_nodes(const TreeShape& shape);

struct TreeGroupInfo {
  int64_t branch_factor = 2;
  ContextOrdering heuristic = ContextOrdering::none;
  std::string data_file;
  std::string data_content_hash;  // hex, as data::hash_hex
  bool has_nodes = false;
  // With nodes:
  std::string parameters_hash, checkpoint;
  int64_t checkpoint_step = 0, d_model = 0;
};

// One task's tree as build-tree computes it.
struct TaskTree {
  TreeShape shape;
  std::vector<int32_t> perm;       // [N]
  std::vector<float> nodes;        // [stored_nodes, D] (with a checkpoint)
  std::vector<uint8_t> node_mask;  // [stored_nodes]
  std::vector<float> tokens;       // [padded, D] (with a checkpoint)
};

// Writes a new trees file at `path` (call inside write_atomically): the root attributes, every
// group of `keep_from` (an existing trees file, may be null) except `name`, then group `name`
// from the tasks appended.
class TreeFileWriter {
 public:
  TreeFileWriter(const std::string& path, const io::H5File* keep_from, const std::string& name,
                 const TreeGroupInfo& info);
  ~TreeFileWriter();
  TreeFileWriter(const TreeFileWriter&) = delete;
  TreeFileWriter& operator=(const TreeFileWriter&) = delete;
  void append(const TaskTree& tree);
  // The index datasets and attributes; closes the file (RuntimeFailure on a write error).
  void finish();

 private:
  struct State;
  State* state_;
};

// The groups of an existing trees file; InputError when `path` is not one.
std::vector<std::string> tree_names(const io::H5File& file);
void require_trees_file(const io::H5File& file);

// Reads and validates group `name` (every dataset's presence, dtype, shape; offsets consistent
// with depth, leaf size and branch factor) on open; the memory of a batch of tasks on demand.
class TreeGroupReader {
 public:
  TreeGroupReader(const std::string& path, const std::string& name);
  const TreeGroupInfo& info() const { return info_; }
  const std::string& path() const { return file_.path(); }
  const std::string& group() const { return group_; }
  int64_t num_tasks() const { return static_cast<int64_t>(depth_.size()); }
  int64_t depth(int64_t task) const { return depth_[static_cast<size_t>(task)]; }
  int64_t leaf_size(int64_t task) const { return leaf_size_[static_cast<size_t>(task)]; }
  int64_t context_size(int64_t task) const;

  // The retrieval memory of tasks [first, first + count), which must share `shape`: levels 1..k
  // then the padded leaf tokens, f32 [count, memory_size, D], and its mask [count, memory_size].
  void read_memory(int64_t first, int64_t count, const TreeShape& shape, Tensor& memory,
                   Tensor& mask) const;

 private:
  std::string dataset(const std::string& leaf) const { return group_ + "/" + leaf; }
  io::H5File file_;
  std::string group_;
  TreeGroupInfo info_;
  std::vector<int32_t> depth_, leaf_size_;
  std::vector<int64_t> perm_offsets_, padded_offsets_, node_offsets_;
};

}  // namespace tca::data
