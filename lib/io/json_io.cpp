#include "io/json_io.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

#include "core/atomic_file.hpp"
#include "core/error.hpp"

namespace tca::io {

namespace {

// "[json.exception.parse_error.101] parse error at line 3, column 5: syntax error ..." -> the part
// after the position, which is the reason a user can act on.
std::string parse_error_reason(const std::string& what) {
  auto col = what.find("column ");
  if (col != std::string::npos) {
    auto colon = what.find(": ", col);
    if (colon != std::string::npos) return what.substr(colon + 2);
  }
  auto bracket = what.find("] ");
  return bracket == std::string::npos ? what : what.substr(bracket + 2);
}

// 1-based line and column of byte `byte` (1-based, as nlohmann reports it) in `text`.
std::pair<size_t, size_t> line_and_column(const std::string& text, size_t byte) {
  size_t line = 1, column = 1;
  const size_t end = std::min(text.size(), byte == 0 ? size_t{0} : byte - 1);
  for (size_t i = 0; i < end; ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

// The error form of every input error (conventions.md): what (file): expected ..., found ....
InputError unreadable(const std::string& path, const char* expected) {
  return InputError(path, "", "cannot read the file", expected, std::strerror(errno));
}

}  // namespace

nlohmann::json parse_json(const std::string& text, const std::string& source) {
  // Keys seen in each open object, innermost last, to reject duplicates.
  std::vector<std::set<std::string>> open_objects;
  auto on_event = [&](int, nlohmann::json::parse_event_t event, nlohmann::json& parsed) {
    using E = nlohmann::json::parse_event_t;
    if (event == E::object_start) open_objects.emplace_back();
    if (event == E::object_end && !open_objects.empty()) open_objects.pop_back();
    if (event == E::key && !open_objects.empty()) {
      const std::string key = parsed.get<std::string>();
      if (!open_objects.back().insert(key).second) {
        throw InputError(source, key, "duplicate key in JSON object", "", "");
      }
    }
    return true;
  };
  try {
    return nlohmann::json::parse(text, on_event);
  } catch (const nlohmann::json::parse_error& e) {
    auto [line, column] = line_and_column(text, e.byte);
    throw InputError("invalid JSON (" + source + ":" + std::to_string(line) + ":" +
                     std::to_string(column) + "): " + parse_error_reason(e.what()));
  } catch (const nlohmann::json::exception& e) {
    // Not a syntax error but still the text's fault, without a position: a number beyond the
    // range of a double ("number overflow parsing '1e99999'", out_of_range.406; found by
    // make fuzz, fuzz_config).
    throw InputError("invalid JSON (" + source + "): " + parse_error_reason(e.what()));
  }
}

nlohmann::json read_json_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw unreadable(path, "a readable JSON file");
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw unreadable(path, "a readable JSON file");
  return parse_json(text.str(), path);
}

std::string format_json(const nlohmann::json& value) {
  // nlohmann::json objects are std::maps, so dump() already writes keys in sorted order.
  return value.dump(2) + "\n";
}

void write_json_atomically(const std::string& path, const nlohmann::json& value) {
  write_text_atomically(path, format_json(value));
}

std::vector<nlohmann::json> read_jsonl_file(const std::string& path, bool drop_torn_last_line) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw unreadable(path, "a readable JSON Lines file");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  const std::string text = buffer.str();
  std::vector<nlohmann::json> rows;
  size_t begin = 0, line_no = 0;
  while (begin < text.size()) {
    ++line_no;
    size_t end = text.find('\n', begin);
    const bool terminated = end != std::string::npos;
    if (!terminated) end = text.size();
    const std::string line = text.substr(begin, end - begin);
    begin = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = path + ":" + std::to_string(line_no);
    nlohmann::json row;
    try {
      row = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error& e) {
      if (!terminated && drop_torn_last_line) break;
      throw InputError("invalid JSON line (" + where + "): " + parse_error_reason(e.what()));
    }
    if (!row.is_object()) {
      throw InputError("invalid JSON line (" + where + "): expected an object, found " +
                       std::string(row.type_name()));
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

JsonlWriter::JsonlWriter(const std::string& path) : path_(path) {
  file_ = std::fopen(path.c_str(), "a+b");
  if (!file_)
    throw RuntimeFailure("cannot open " + path + " for appending: " + std::strerror(errno));
  // A file that does not end in a newline (a torn last line) would glue our first object to it.
  if (std::fseek(file_, 0, SEEK_END) == 0 && std::ftell(file_) > 0) {
    std::fseek(file_, -1, SEEK_END);
    const int last = std::fgetc(file_);
    std::fseek(file_, 0, SEEK_END);
    if (last != '\n' && std::fputc('\n', file_) == EOF) {
      std::fclose(file_);
      file_ = nullptr;
      throw RuntimeFailure("cannot write " + path + ": " + std::strerror(errno));
    }
  }
}

JsonlWriter::~JsonlWriter() {
  if (file_) std::fclose(file_);
}

void JsonlWriter::append(const nlohmann::json& object) {
  if (!object.is_object()) throw std::logic_error("JsonlWriter::append: expected a JSON object");
  const std::string line = object.dump() + "\n";
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0) {
    throw RuntimeFailure("cannot write " + path_ + ": " + std::strerror(errno));
  }
}

void JsonlWriter::sync() {
  if (std::fflush(file_) != 0 || ::fsync(fileno(file_)) != 0) {
    throw RuntimeFailure("cannot sync " + path_ + ": " + std::strerror(errno));
  }
}

}  // namespace tca::io
