// Temp-file-then-rename: every output that replaces an older version is written through this, so
// a crash, a full disk or Ctrl-C never leaves a half-written file where a good one was expected.
#pragma once
#include <functional>
#include <string>

namespace tca {

// Path of a temp file in the same directory as `path` (same filesystem, so rename is atomic).
std::string temp_path_for(const std::string& path);

// Calls write(tmp) to produce the file at a temp path, fsyncs it and renames it onto `path`.
// On any exception the temp file is removed and the exception propagates; `path` is untouched.
void write_atomically(const std::string& path, const std::function<void(const std::string&)>& write);

// Writes `text` to `path` atomically (JSON results, status.json, config.json).
void write_text_atomically(const std::string& path, const std::string& text);

}  // namespace tca
