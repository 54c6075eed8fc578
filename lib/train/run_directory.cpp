#include "train/run_directory.hpp"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <system_error>

#include "core/error.hpp"
#include "io/json_io.hpp"
#include "io/system_json.hpp"

namespace tca {

namespace fs = std::filesystem;

namespace {

// core/atomic_file.cpp names temp files NAME.tmp<pid>.<8 hex digits>; a crash can leave one.
bool is_temp_file_of(const std::string& entry, const std::string& name) {
  const std::string prefix = name + ".tmp";
  if (entry.rfind(prefix, 0) != 0) return false;
  const std::string rest = entry.substr(prefix.size());
  const auto dot = rest.find('.');
  if (dot == 0 || dot == std::string::npos || rest.size() - dot - 1 != 8) return false;
  for (size_t i = 0; i < rest.size(); ++i) {
    if (i == dot) continue;
    const auto c = static_cast<unsigned char>(rest[i]);
    if (i < dot ? !std::isdigit(c) : !std::isxdigit(c)) return false;
  }
  return true;
}

// The eval results `tca sweep run` writes beside eval.json: eval-NAME.json, one per eval set.
bool is_named_eval_file(const std::string& entry) {
  const std::string prefix = "eval-", suffix = ".json";
  return entry.size() > prefix.size() + suffix.size() && entry.rfind(prefix, 0) == 0 &&
         entry.compare(entry.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_our_file(const std::string& entry) {
  if (is_named_eval_file(entry)) return true;
  for (const auto& name : RunDirectory::known_files()) {
    if (entry == name || is_temp_file_of(entry, name)) return true;
  }
  return false;
}

std::vector<fs::directory_entry> list_directory(const std::string& path) {
  std::error_code ec;
  std::vector<fs::directory_entry> entries;
  for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
    entries.push_back(*it);
  }
  if (ec) throw RuntimeFailure("cannot list run directory " + path + ": " + ec.message());
  return entries;
}

void create_directory(const std::string& path) {
  std::error_code ec;
  fs::create_directories(path, ec);
  if (ec) throw RuntimeFailure("cannot create run directory " + path + ": " + ec.message());
}

// Deletes our files; refuses (before deleting anything) when the directory holds anything else,
// so a mistyped --out with --overwrite can never wipe unrelated data.
void clear_run_files(const std::string& path) {
  const auto entries = list_directory(path);
  for (const auto& e : entries) {
    const std::string name = e.path().filename().string();
    if (!is_our_file(name) || e.is_directory()) {
      throw UsageError("refusing to --overwrite " + path + ": it holds '" + name +
                       "', which tca did not write (remove it yourself or choose another --out)");
    }
  }
  for (const auto& e : entries) {
    std::error_code ec;
    fs::remove(e.path(), ec);
    if (ec) throw RuntimeFailure("cannot remove " + e.path().string() + ": " + ec.message());
  }
}

// A kill during an atomic write (a checkpoint of hundreds of MB, say) leaves NAME.tmp<pid>.<hex>;
// nothing else would ever remove it. Only files of our names whose writer process is gone are
// removed: a live pid may be another tca writing into this directory.
void remove_stale_temp_files(const std::string& path) {
  for (const auto& e : list_directory(path)) {
    const std::string name = e.path().filename().string();
    for (const auto& known : RunDirectory::known_files()) {
      if (!is_temp_file_of(name, known)) continue;
      const long pid = std::strtol(name.c_str() + known.size() + 4, nullptr, 10);
      const bool writer_alive =
          pid > 0 && (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
      if (pid == ::getpid() || !writer_alive) {
        std::error_code ec;
        fs::remove(e.path(), ec);  // best effort: a leftover that cannot be removed harms nothing
      }
    }
  }
}

RunState parse_state(const std::string& s, const std::string& file) {
  for (RunState st : {RunState::running, RunState::done, RunState::failed, RunState::interrupted}) {
    if (s == run_state_name(st)) return st;
  }
  throw InputError(file, "state", "invalid run status", "running, done, failed or interrupted",
                   "'" + s + "'");
}

}  // namespace

RunStart run_start_from_flags(bool resume, bool overwrite) {
  if (resume && overwrite) {
    throw UsageError(
        "--resume and --overwrite exclude each other (continue the run or replace it)");
  }
  return resume ? RunStart::resume : overwrite ? RunStart::overwrite : RunStart::fresh;
}

const char* run_state_name(RunState state) {
  switch (state) {
    case RunState::running:
      return "running";
    case RunState::done:
      return "done";
    case RunState::failed:
      return "failed";
    case RunState::interrupted:
      return "interrupted";
  }
  return "failed";
}

RunState run_state_for_exit_code(int exit_code) {
  if (exit_code == kExitOk) return RunState::done;
  if (exit_code == kExitRequeue || exit_code == kExitInterrupted) return RunState::interrupted;
  return RunState::failed;
}

const std::vector<std::string>& RunDirectory::known_files() {
  static const std::vector<std::string> files = {kConfig, kMetrics, kCheckpoint,
                                                 kEval,   kStatus,  kSweepRun};
  return files;
}

RunDirectory RunDirectory::open(const std::string& path, RunStart start) {
  if (path.empty()) throw UsageError("the run directory (--out) must not be empty");
  std::error_code ec;
  const auto status = fs::status(path, ec);
  const bool exists = fs::exists(status);
  if (exists && !fs::is_directory(status)) {
    throw UsageError("run directory " + path + " exists and is not a directory");
  }
  if (start == RunStart::resume) {
    if (!exists) {
      throw UsageError("cannot --resume " + path + ": it has no " + kCheckpoint +
                       " (no such run directory; start a new run without --resume)");
    }
    if (!fs::exists(fs::path(path) / kCheckpoint)) {
      // Killed before its first checkpoint: the directory exists, so a plain new run is refused
      // as "not empty"; --overwrite is what starts it again.
      throw UsageError(
          "cannot --resume " + path + ": it has no " + kCheckpoint +
          " (it stopped before its first checkpoint; start it again with --overwrite)");
    }
    remove_stale_temp_files(path);
    return RunDirectory(path, true);
  }
  if (exists) {
    if (start == RunStart::overwrite) {
      clear_run_files(path);
    } else if (!list_directory(path).empty()) {
      throw UsageError("run directory " + path +
                       " already exists and is not empty (pass --resume to continue it or "
                       "--overwrite to replace it)");
    }
  } else {
    create_directory(path);
  }
  return RunDirectory(path, false);
}

std::string RunDirectory::file(const std::string& name) const {
  return (fs::path(path_) / name).string();
}

void RunDirectory::write_config(const nlohmann::json& resolved_options,
                                const SystemInfo& info) const {
  if (!resolved_options.is_object())
    throw std::logic_error("write_config: options must be an object");
  nlohmann::json config = resolved_options;
  const nlohmann::json metadata =
      io::config_metadata_json(info);  // .items() of a temporary dangles
  for (const auto& [key, value] : metadata.items()) {
    if (config.contains(key)) {
      throw std::logic_error("option '" + key + "' collides with a config.json metadata key");
    }
    config[key] = value;
  }
  io::write_json_atomically(config_path(), config);
}

nlohmann::json RunDirectory::read_config() const {
  nlohmann::json config = io::read_json_file(config_path());
  if (!config.is_object()) {
    throw InputError(config_path(), "", "invalid run config", "a JSON object", config.type_name());
  }
  return config;
}

void RunDirectory::write_status(const RunStatus& status) const {
  nlohmann::json j;
  j["state"] = run_state_name(status.state);
  j["exit_code"] = status.exit_code ? nlohmann::json(*status.exit_code) : nlohmann::json(nullptr);
  j["error"] = status.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(status.error);
  io::write_json_atomically(status_path(), j);
}

void RunDirectory::write_status(RunState state, std::optional<int> exit_code,
                                const std::string& error) const {
  write_status(RunStatus{state, exit_code, error});
}

RunStatus read_run_status(const std::string& run_dir) {
  const std::string file = (fs::path(run_dir) / RunDirectory::kStatus).string();
  const nlohmann::json j = io::read_json_file(file);
  if (!j.is_object())
    throw InputError(file, "", "invalid run status", "a JSON object", j.type_name());
  RunStatus status;
  if (!j.contains("state") || !j["state"].is_string()) {
    throw InputError(file, "state", "invalid run status", "a string",
                     j.value("state", nlohmann::json()).type_name());
  }
  status.state = parse_state(j["state"].get<std::string>(), file);
  if (j.contains("exit_code") && !j["exit_code"].is_null()) {
    if (!j["exit_code"].is_number_integer()) {
      throw InputError(file, "exit_code", "invalid run status", "an integer or null",
                       j["exit_code"].type_name());
    }
    status.exit_code = j["exit_code"].get<int>();
  }
  if (j.contains("error") && !j["error"].is_null()) {
    if (!j["error"].is_string()) {
      throw InputError(file, "error", "invalid run status", "a string or null",
                       j["error"].type_name());
    }
    status.error = j["error"].get<std::string>();
  }
  return status;
}

std::vector<std::string> changed_config_keys(const nlohmann::json& stored,
                                             const nlohmann::json& resolved) {
  const auto& meta = io::config_metadata_keys();
  auto is_meta = [&](const std::string& k) {
    return std::find(meta.begin(), meta.end(), k) != meta.end();
  };
  std::set<std::string> changed;
  for (const auto& [key, value] : stored.items()) {
    if (is_meta(key)) continue;
    if (!resolved.contains(key) || resolved[key] != value) changed.insert(key);
  }
  for (const auto& [key, value] : resolved.items()) {
    if (!is_meta(key) && !stored.contains(key)) changed.insert(key);
  }
  return {changed.begin(), changed.end()};
}

}  // namespace tca
