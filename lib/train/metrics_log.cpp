#include "train/metrics_log.hpp"

#include <filesystem>
#include <stdexcept>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "io/json_io.hpp"

namespace tca {

namespace {

int64_t step_of(const nlohmann::json& record, const std::string& where) {
  auto it = record.find("step");
  if (it == record.end() || !it->is_number_integer()) {
    throw InputError(where, "step", "invalid metrics record", "an integer \"step\"",
                     it == record.end() ? "none" : std::string(it->type_name()));
  }
  return it->get<int64_t>();
}

}  // namespace

MetricsLog::MetricsLog(std::string path, int64_t last_step, int64_t kept)
    : path_(std::move(path)), last_step_(last_step), kept_(kept) {
  writer_ = std::make_unique<io::JsonlWriter>(path_);
}

MetricsLog::MetricsLog(MetricsLog&&) noexcept = default;
MetricsLog& MetricsLog::operator=(MetricsLog&&) noexcept = default;
MetricsLog::~MetricsLog() = default;

MetricsLog MetricsLog::create(const std::string& path) {
  write_text_atomically(path, "");
  return MetricsLog(path, -1, 0);
}

MetricsLog MetricsLog::resume(const std::string& path, int64_t checkpoint_step) {
  if (!std::filesystem::exists(path)) return create(path);
  // read_jsonl_file drops a torn last line (a crash mid-append) and rejects any other bad line.
  const auto rows = io::read_jsonl_file(path, /*drop_torn_last_line=*/true);
  std::string kept;
  int64_t last = -1, count = 0, line = 0;
  for (const auto& row : rows) {
    ++line;
    const int64_t step = step_of(row, path + ": record " + std::to_string(line));
    if (step > checkpoint_step) continue;
    kept += row.dump() + "\n";
    last = std::max(last, step);
    ++count;
  }
  write_text_atomically(path, kept);
  return MetricsLog(path, last, count);
}

void MetricsLog::append(const nlohmann::json& record) {
  if (!record.is_object()) throw std::logic_error("MetricsLog::append: record must be an object");
  const int64_t step = step_of(record, path_);
  if (step < last_step_) {
    throw std::logic_error("MetricsLog::append: step " + std::to_string(step) + " after step " +
                           std::to_string(last_step_));
  }
  writer_->append(record);
  last_step_ = step;
}

void MetricsLog::sync() { writer_->sync(); }

}  // namespace tca
