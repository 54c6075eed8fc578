// Temp-file-then-rename: every output that replaces an older version is written through this, so
// a crash, a full disk or Ctrl-C never leaves a half-written file where a good one was expected.
#pragma once
#include <functional>
#include <string>

namespace tca {

// Path of a temp file in the same directory as `path` (same filesystem, so rename is atomic).
std::string temp_path_for(const std::string& path);

// UsageError (exit 2) unless `path` can be replaced by a rename: its directory must exist and
// `path`, when it exists, must be a regular file (or a link to one). A rename onto a character
// device or FIFO replaces it with a regular file (as root, --out /dev/null would replace the real
// one), and onto a directory it fails only after all the work. `option` names the flag ("--out").
void check_output_file(const std::string& path, const std::string& option);

// Calls write(tmp) to produce the file at a temp path, fsyncs it and renames it onto `path`.
// On any exception the temp file is removed and the exception propagates; `path` is untouched.
// Refuses (UsageError) an existing `path` that is not a regular file before writing anything. While
// the temp file exists, SIGINT, SIGTERM and SIGHUP (when the process has no handler of its own for
// them) remove it before the process dies of the signal, so an interrupted make-dataset or
// build-tree leaves nothing.
void write_atomically(const std::string& path,
                      const std::function<void(const std::string&)>& write);

// `text` with every occurrence of the temp path `tmp` replaced by `path` (write_atomically does
// this to the message of a tca::Error thrown while writing).
std::string without_temp_name(std::string text, const std::string& tmp, const std::string& path);

// Writes `text` to `path` atomically (JSON results, status.json, config.json).
void write_text_atomically(const std::string& path, const std::string& text);

}  // namespace tca
