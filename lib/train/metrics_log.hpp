// metrics.jsonl of a run directory (conventions.md "Run directories"): one JSON object per log
// step, {"step", "split", "loss", ..., "lr", "wall_s"}. On --resume the records written after the
// checkpoint was taken are dropped first, so that the resumed log equals an uninterrupted run's.
#pragma once
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

namespace tca {

namespace io {
class JsonlWriter;
}

class MetricsLog {
 public:
  // A new run: starts an empty log at `path` (replacing any file there).
  static MetricsLog create(const std::string& path);
  // A resumed run whose checkpoint was taken at `checkpoint_step`: keeps the records with
  // step <= checkpoint_step (so every record of step s must be written before the checkpoint of
  // step s), drops later ones and a torn last line, rewrites the file atomically, then appends.
  // A missing file starts empty; a malformed line (FILE:LINE) or a record without an integer
  // "step" (FILE: record N) is an InputError.
  static MetricsLog resume(const std::string& path, int64_t checkpoint_step);

  MetricsLog(MetricsLog&&) noexcept;
  MetricsLog& operator=(MetricsLog&&) noexcept;
  ~MetricsLog();

  // Appends one record (flushed). It must be an object with an integer "step"; steps must not
  // decrease (a logic error otherwise: a resumed log would no longer be prefix-comparable).
  void append(const nlohmann::json& record);
  // fsyncs the log: call before writing a checkpoint.
  void sync();

  const std::string& path() const { return path_; }
  int64_t last_step() const { return last_step_; }  // -1 when the log is empty
  int64_t records_kept() const { return kept_; }    // records carried over by resume()

 private:
  MetricsLog(std::string path, int64_t last_step, int64_t kept);
  std::string path_;
  std::unique_ptr<io::JsonlWriter> writer_;
  int64_t last_step_;
  int64_t kept_;
};

}  // namespace tca
