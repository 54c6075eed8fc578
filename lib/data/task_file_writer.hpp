// Streams batches into a task file (task_file_format.hpp): rows of /x and /y are appended batch by
// batch (chunked, shuffle + gzip 4), the small index datasets are written by finish(). Write to a
// temp path and rename (core/atomic_file.hpp) - generate_dataset does.
#pragma once
#include <memory>
#include <string>

#include "core/batch.hpp"
#include "data/content_hash.hpp"
#include "data/task_file_format.hpp"
#include "data/task_info.hpp"

namespace tca::data {

class TaskFileWriter {
 public:
  // Creates `path` and writes the root attributes: format, TaskInfo, then `generator` (the
  // generator parameters, seed, split, batch_size ...) and created_by.
  TaskFileWriter(const std::string& path, const TaskInfo& info, const AttributeList& generator);
  ~TaskFileWriter();
  TaskFileWriter(const TaskFileWriter&) = delete;
  TaskFileWriter& operator=(const TaskFileWriter&) = delete;

  // Appends one batch as one group of tasks (each task: its Nc context rows, then its Nt target
  // rows). Regression: y = yc / yt. Classification: y = the label; for context rows the context
  // token's class (copy: the token id = argmax of the one-hot row; timeseries: the class at
  // that time point, whose target is the same point). ShapeError if the batch does not fit info.
  void append(const Batch& batch);
  int64_t num_tasks() const { return static_cast<int64_t>(num_context_.size()); }

  // Writes /offsets, /num_context, /batch_offsets and the content_hash attribute, and closes the
  // file. Returns the content hash. InputError-free: RuntimeFailure on a write error.
  uint64_t finish();

 private:
  struct State;
  std::unique_ptr<State> state_;
  TaskInfo info_;
  std::vector<int64_t> offsets_{0}, batch_offsets_{0};
  std::vector<int32_t> num_context_;
};

}  // namespace tca::data
