#include "data/task_file_reader.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"
#include "data/content_hash.hpp"
#include "data/task_file_format.hpp"

namespace tca::data {

namespace {
constexpr int64_t kScanRows = 65536;  // rows per block of the validating pass
}

TaskFileReader::TaskFileReader(const std::string& path) : file_(io::H5File::open_read(path)) {
  const std::string layout = read_layout(file_);
  if (layout != kLayoutTasks) {
    throw InputError(path, "layout", "not a task file",
                     "layout \"tasks\" (an evaluation or training task file)",
                     "\"" + layout + "\" (an image-source file: use it with tca train --train)");
  }
  info_ = read_task_info(file_);
  attributes_ = file_.attrs();
  validate_index();
  scan_values();
}

void TaskFileReader::validate_index() {
  const std::string& f = file_.path();
  // Presence, dtype and rank first (no values read yet).
  const io::DatasetInfo x =
      file_.require_dataset("x", io::ElementType::f32, {io::kAnyExtent, info_.dim_x});
  const int64_t rows = x.shape[0];
  if (info_.is_classification()) {
    file_.require_dataset("y", io::ElementType::i32, {rows, 1});
  } else {
    file_.require_dataset("y", io::ElementType::f32, {rows, info_.dim_y});
  }
  const io::DatasetInfo nc =
      file_.require_dataset("num_context", io::ElementType::i32, {io::kAnyExtent});
  const int64_t tasks = nc.shape[0];
  if (tasks == 0)
    throw InputError(f, "/num_context", "empty task file", "at least one task", "0 tasks");
  file_.require_dataset("offsets", io::ElementType::i64, {tasks + 1});
  file_.require_dataset("batch_offsets", io::ElementType::i64, {io::kAnyExtent});

  offsets_ = file_.read<int64_t>("offsets");
  num_context_ = file_.read<int32_t>("num_context");
  batch_offsets_ = file_.read<int64_t>("batch_offsets");
  if (offsets_[0] != 0)
    throw InputError(f, "/offsets", "bad offsets", "offsets[0] = 0", std::to_string(offsets_[0]));
  for (int64_t t = 0; t < tasks; ++t) {
    const int64_t begin = offsets_[static_cast<size_t>(t)],
                  end = offsets_[static_cast<size_t>(t) + 1];
    if (end <= begin) {
      throw InputError(f, "/offsets", "offsets not increasing",
                       "offsets[" + std::to_string(t + 1) + "] > " + std::to_string(begin),
                       std::to_string(end));
    }
    const int32_t n = num_context_[static_cast<size_t>(t)];
    if (n < 1 || n >= end - begin) {
      throw InputError(f, "/num_context", "num_context outside its task",
                       "1 <= num_context[" + std::to_string(t) + "] < " +
                           std::to_string(end - begin) + " (the task's rows)",
                       std::to_string(n));
    }
  }
  if (offsets_.back() != rows) {
    throw InputError(
        f, "/offsets", "offsets inconsistent with /x",
        "offsets[" + std::to_string(tasks) + "] = " + std::to_string(rows) + " (rows of /x)",
        std::to_string(offsets_.back()));
  }
  if (batch_offsets_.size() < 2 || batch_offsets_.front() != 0 || batch_offsets_.back() != tasks) {
    throw InputError(f, "/batch_offsets", "bad batch offsets",
                     "0 first and " + std::to_string(tasks) + " (the task count) last",
                     batch_offsets_.empty() ? "an empty dataset"
                                            : std::to_string(batch_offsets_.front()) + " first, " +
                                                  std::to_string(batch_offsets_.back()) + " last");
  }
  // Every entry is checked (range and order) before any of them indexes /offsets or
  // /num_context: with only the first and last checked, an interior entry past the task count
  // made the loop below read past both arrays.
  for (size_t j = 1; j < batch_offsets_.size(); ++j) {
    const int64_t prev = batch_offsets_[j - 1], cur = batch_offsets_[j];
    if (cur <= prev || cur > tasks) {
      throw InputError(
          f, "/batch_offsets",
          cur > tasks ? "batch offset past the last task" : "batch offsets not increasing",
          "batch_offsets[" + std::to_string(j) + "] in (" + std::to_string(prev) + ", " +
              std::to_string(tasks) + "]",
          std::to_string(cur));
    }
  }
  for (int64_t j = 0; j < num_batches(); ++j) {
    const int64_t first = batch_offsets_[static_cast<size_t>(j)],
                  last = batch_offsets_[static_cast<size_t>(j) + 1];
    const int64_t nc0 = num_context_[static_cast<size_t>(first)];
    const int64_t size0 =
        offsets_[static_cast<size_t>(first) + 1] - offsets_[static_cast<size_t>(first)];
    for (int64_t t = first + 1; t < last; ++t) {
      const int64_t size = offsets_[static_cast<size_t>(t) + 1] - offsets_[static_cast<size_t>(t)];
      if (num_context_[static_cast<size_t>(t)] != nc0 || size != size0) {
        throw InputError(
            f, "/batch_offsets", "batch with mixed sizes",
            "every task of batch " + std::to_string(j) + " with Nc = " + std::to_string(nc0) +
                ", Nt = " + std::to_string(size0 - nc0),
            "task " + std::to_string(t) +
                " with Nc = " + std::to_string(num_context_[static_cast<size_t>(t)]) +
                ", Nt = " + std::to_string(size - num_context_[static_cast<size_t>(t)]));
      }
    }
  }
}

void TaskFileReader::scan_values() {
  const std::string& f = file_.path();
  const int64_t rows = num_rows();
  const int64_t y_width = info_.is_classification() ? 1 : info_.dim_y;
  ContentHasher x_hash, y_hash;
  auto require_finite_block = [&](const char* name, const std::vector<float>& v, int64_t width,
                                  int64_t first_row) {
    for (size_t i = 0; i < v.size(); ++i) {
      if (std::isfinite(v[i])) continue;
      const auto k = static_cast<int64_t>(i);
      throw InputError(f, std::string("/") + name, "non-finite value", "finite values",
                       std::string(std::isnan(v[i]) ? "nan" : "inf") + " at row " +
                           std::to_string(first_row + k / width) + ", column " +
                           std::to_string(k % width));
    }
  };
  for (int64_t first = 0; first < rows; first += kScanRows) {
    const int64_t n = std::min(kScanRows, rows - first);
    const std::vector<float> x = file_.read_rows<float>("x", first, n);
    require_finite_block("x", x, info_.dim_x, first);
    x_hash.update(x.data(), x.size() * sizeof(float));
    if (info_.is_classification()) {
      const std::vector<int32_t> y = file_.read_rows<int32_t>("y", first, n);
      for (size_t i = 0; i < y.size(); ++i) {
        if (y[i] < 0 || y[i] >= info_.num_classes) {
          throw InputError(
              f, "/y", "label out of range", "0 <= label < " + std::to_string(info_.num_classes),
              std::to_string(y[i]) + " at row " + std::to_string(first + static_cast<int64_t>(i)));
        }
      }
      y_hash.update(y.data(), y.size() * sizeof(int32_t));
    } else {
      const std::vector<float> y = file_.read_rows<float>("y", first, n);
      require_finite_block("y", y, y_width, first);
      y_hash.update(y.data(), y.size() * sizeof(float));
    }
  }
  auto digest = [](const auto& v) {
    ContentHasher h;
    h.update(v.data(), v.size() * sizeof(v[0]));
    return h.digest();
  };
  const int64_t t = num_tasks();
  content_hash_ = combine_content_hash(
      {{"x", io::ElementType::f32, {rows, info_.dim_x}, x_hash.digest()},
       {"y",
        info_.is_classification() ? io::ElementType::i32 : io::ElementType::f32,
        {rows, y_width},
        y_hash.digest()},
       {"offsets", io::ElementType::i64, {t + 1}, digest(offsets_)},
       {"num_context", io::ElementType::i32, {t}, digest(num_context_)},
       {"batch_offsets", io::ElementType::i64, {num_batches() + 1}, digest(batch_offsets_)}},
      attributes_);
}

int64_t TaskFileReader::batch_size(int64_t batch) const {
  return batch_offsets_.at(static_cast<size_t>(batch) + 1) -
         batch_offsets_.at(static_cast<size_t>(batch));
}

int64_t TaskFileReader::num_context(int64_t batch) const {
  return num_context_.at(static_cast<size_t>(batch_offsets_.at(static_cast<size_t>(batch))));
}

int64_t TaskFileReader::num_targets(int64_t batch) const {
  const auto t = static_cast<size_t>(batch_offsets_.at(static_cast<size_t>(batch)));
  return offsets_[t + 1] - offsets_[t] - num_context_[t];
}

Batch TaskFileReader::read_batch(int64_t batch) const {
  if (batch < 0 || batch >= num_batches()) {
    throw ShapeError("batch " + std::to_string(batch) + " of " + path() + " outside [0, " +
                     std::to_string(num_batches()) + ")");
  }
  const int64_t b = batch_size(batch), nc = num_context(batch), nt = num_targets(batch);
  const int64_t first_row =
      offsets_[static_cast<size_t>(batch_offsets_[static_cast<size_t>(batch)])];
  const int64_t n_rows = b * (nc + nt), dx = info_.dim_x, dy = info_.dim_y;
  const std::vector<float> x = file_.read_rows<float>("x", first_row, n_rows);
  Batch out;
  out.xc = Tensor::empty({b, nc, dx});
  out.xt = Tensor::empty({b, nt, dx});
  for (int64_t i = 0; i < b; ++i) {
    const float* task = x.data() + i * (nc + nt) * dx;
    std::copy(task, task + nc * dx, out.xc.data() + i * nc * dx);
    std::copy(task + nc * dx, task + (nc + nt) * dx, out.xt.data() + i * nt * dx);
  }
  if (info_.is_classification()) {
    const std::vector<int32_t> y = file_.read_rows<int32_t>("y", first_row, n_rows);
    out.labels = Tensor::empty({b, nt}, DType::i32);
    for (int64_t i = 0; i < b; ++i) {
      std::copy(y.data() + i * (nc + nt) + nc, y.data() + (i + 1) * (nc + nt),
                out.labels.data_i32() + i * nt);
    }
  } else {
    const std::vector<float> y = file_.read_rows<float>("y", first_row, n_rows);
    out.yc = Tensor::empty({b, nc, dy});
    out.yt = Tensor::empty({b, nt, dy});
    for (int64_t i = 0; i < b; ++i) {
      const float* task = y.data() + i * (nc + nt) * dy;
      std::copy(task, task + nc * dy, out.yc.data() + i * nc * dy);
      std::copy(task + nc * dy, task + (nc + nt) * dy, out.yt.data() + i * nt * dy);
    }
  }
  return out;
}

std::vector<int64_t> TaskFileReader::shuffled_batch_order(Rng& rng) const {
  std::vector<int64_t> order(static_cast<size_t>(num_batches()));
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
  rng.shuffle(order.data(), num_batches());
  return order;
}

}  // namespace tca::data
