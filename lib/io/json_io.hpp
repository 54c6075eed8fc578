// JSON files of the toolkit (conventions.md "JSON results", "Run directories"): config files read
// with errors that point at the line, results written atomically with sorted keys, and JSON Lines
// logs (metrics.jsonl) appended one flushed object per line.
#pragma once
#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace tca::io {

// Parses a JSON text; `source` names it in errors. Throws InputError "invalid JSON (FILE:LINE:COL):
// <reason>" on a syntax error and on a key that appears twice in one object (nlohmann would keep
// the last silently; a config with "lr" twice is a mistake).
nlohmann::json parse_json(const std::string& text, const std::string& source);

// Reads and parses a file: InputError when it is missing or unreadable or not valid JSON.
nlohmann::json read_json_file(const std::string& path);

// Pretty (2-space indent), keys sorted, newline-terminated.
std::string format_json(const nlohmann::json& value);

// Writes format_json(value) through a temp file + rename (core/atomic_file.hpp).
void write_json_atomically(const std::string& path, const nlohmann::json& value);

// Reads a JSON Lines file: one object per non-empty line. A last line without its newline that does
// not parse is a write cut short by a crash: it is dropped when `drop_torn_last_line` and an error
// otherwise. Any other bad line is an InputError naming FILE:LINE.
std::vector<nlohmann::json> read_jsonl_file(const std::string& path,
                                            bool drop_torn_last_line = false);

// Appends one compact JSON object per line, flushed after each line so that a crash loses at most
// the line being written and `tail -f` shows progress.
class JsonlWriter {
 public:
  // Opens `path` for appending (created if missing). RuntimeFailure if it cannot be opened.
  explicit JsonlWriter(const std::string& path);
  ~JsonlWriter();
  JsonlWriter(const JsonlWriter&) = delete;
  JsonlWriter& operator=(const JsonlWriter&) = delete;

  // RuntimeFailure on a write error (full disk). Objects only: anything else is a logic error.
  void append(const nlohmann::json& object);
  // fsync: call before a checkpoint so that the log is on disk whenever the checkpoint is.
  void sync();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::FILE* file_ = nullptr;
};

}  // namespace tca::io
