// Reads a task file (task_file_format.hpp) one batch at a time, after validating everything on
// open: format and version, the TaskInfo attributes, presence, dtype and rank of every dataset,
// chunks and filters (lib/io), offsets monotone and consistent with the row count, num_context
// within each task, equal Nc and Nt within each batch, finite values and labels within
// [0, num_classes) (a streaming pass over /x and /y that also computes the content hash). Each
// violation is one InputError naming the file, the dataset and what was expected.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "core/batch.hpp"
#include "core/rng.hpp"
#include "data/task_info.hpp"
#include "io/hdf5_file.hpp"

namespace tca::data {

class TaskFileReader {
 public:
  explicit TaskFileReader(const std::string& path);

  const std::string& path() const { return file_.path(); }
  const TaskInfo& info() const { return info_; }
  // Every root attribute (generator parameters, seed, split, ...).
  const std::map<std::string, io::AttrValue>& attributes() const { return attributes_; }
  // Recomputed from the values while validating (equals the stored content_hash attribute).
  uint64_t content_hash() const { return content_hash_; }

  int64_t num_tasks() const { return static_cast<int64_t>(num_context_.size()); }
  int64_t num_batches() const { return static_cast<int64_t>(batch_offsets_.size()) - 1; }
  int64_t num_rows() const { return offsets_.back(); }
  int64_t batch_size(int64_t batch) const;   // tasks in that batch
  int64_t num_context(int64_t batch) const;  // Nc of its tasks
  int64_t num_targets(int64_t batch) const;  // Nt of its tasks

  // Reads one batch (only its rows): regression xc, yc, xt, yt; classification xc, xt, labels.
  Batch read_batch(int64_t batch) const;
  // 0..num_batches-1 in a seeded random order: whole batches are shuffled, never tasks across
  // batches (conventions.md "HDF5 datasets").
  std::vector<int64_t> shuffled_batch_order(Rng& rng) const;

 private:
  void validate_index();
  void scan_values();
  io::H5File file_;
  TaskInfo info_;
  std::map<std::string, io::AttrValue> attributes_;
  std::vector<int64_t> offsets_, batch_offsets_;
  std::vector<int32_t> num_context_;
  uint64_t content_hash_ = 0;
};

}  // namespace tca::data
