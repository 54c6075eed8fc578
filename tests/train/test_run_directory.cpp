// Run directories (conventions.md "Run directories"): reuse rules, config.json, status.json.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <string>

#include "core/error.hpp"
#include "io/json_io.hpp"
#include "io/system_json.hpp"
#include "train/run_directory.hpp"

namespace fs = std::filesystem;
using tca::RunDirectory;
using tca::RunStart;
using tca::RunState;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    char dir[] = "/tmp/tca_run_dir_XXXXXX";
    REQUIRE(mkdtemp(dir) != nullptr);
    path = dir;
  }
  ~TempDir() { fs::remove_all(path); }
};

void touch(const fs::path& p, const std::string& text = "x") { std::ofstream(p) << text; }

std::set<std::string> entries(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
  return names;
}

std::string usage_error(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const tca::UsageError& e) {
    CHECK(e.exit_code() == 2);
    return e.what();
  }
  FAIL("expected a UsageError");
  return "";
}

}  // namespace

TEST_CASE("a new run directory is created with its parents") {
  TempDir tmp;
  const auto path = (tmp.path / "runs" / "gp_tca").string();
  const RunDirectory run = RunDirectory::open(path, RunStart::fresh);
  CHECK(fs::is_directory(path));
  CHECK_FALSE(run.resuming());
  CHECK(run.checkpoint_path() == path + "/checkpoint.h5");
  CHECK(run.metrics_path() == path + "/metrics.jsonl");
}

TEST_CASE("an existing empty directory is accepted as a new run directory") {
  TempDir tmp;
  CHECK_NOTHROW(RunDirectory::open(tmp.path.string(), RunStart::fresh));
}

TEST_CASE("an existing non-empty run directory is refused without --resume or --overwrite") {
  TempDir tmp;
  touch(tmp.path / "config.json", "{}");
  const std::string msg =
      usage_error([&] { RunDirectory::open(tmp.path.string(), RunStart::fresh); });
  CHECK(msg.find(tmp.path.string()) != std::string::npos);
  CHECK(msg.find("--resume") != std::string::npos);
  CHECK(msg.find("--overwrite") != std::string::npos);
  CHECK(entries(tmp.path) == std::set<std::string>{"config.json"});
}

TEST_CASE("--overwrite deletes tca's files and their stale temp files") {
  TempDir tmp;
  for (const auto& name : RunDirectory::known_files()) touch(tmp.path / name);
  touch(tmp.path / "checkpoint.h5.tmp4242.0a1b2c3d");  // left by a crash mid-write
  const RunDirectory run = RunDirectory::open(tmp.path.string(), RunStart::overwrite);
  CHECK(entries(tmp.path).empty());
  CHECK_FALSE(run.resuming());
}

TEST_CASE("--overwrite refuses a directory holding a file tca did not write and deletes nothing") {
  TempDir tmp;
  touch(tmp.path / "config.json");
  touch(tmp.path / "metrics.jsonl");
  touch(tmp.path / "notes.txt");
  const std::string msg =
      usage_error([&] { RunDirectory::open(tmp.path.string(), RunStart::overwrite); });
  CHECK(msg.find("notes.txt") != std::string::npos);
  CHECK(entries(tmp.path) == std::set<std::string>{"config.json", "metrics.jsonl", "notes.txt"});
  fs::create_directory(tmp.path / "plots");
  fs::remove(tmp.path / "notes.txt");
  CHECK(usage_error([&] {
          RunDirectory::open(tmp.path.string(), RunStart::overwrite);
        }).find("plots") != std::string::npos);
}

TEST_CASE("--resume needs a checkpoint and keeps every file") {
  TempDir tmp;
  CHECK(usage_error([&] {
          RunDirectory::open((tmp.path / "missing").string(), RunStart::resume);
        }).find("checkpoint.h5") != std::string::npos);
  touch(tmp.path / "config.json");
  CHECK(usage_error([&] {
          RunDirectory::open(tmp.path.string(), RunStart::resume);
        }).find("no checkpoint.h5") != std::string::npos);
  touch(tmp.path / "checkpoint.h5");
  touch(tmp.path / "metrics.jsonl");
  const RunDirectory run = RunDirectory::open(tmp.path.string(), RunStart::resume);
  CHECK(run.resuming());
  CHECK(entries(tmp.path) ==
        std::set<std::string>{"checkpoint.h5", "config.json", "metrics.jsonl"});
}

TEST_CASE("--resume with --overwrite and a run directory that is a file are usage errors") {
  CHECK(tca::run_start_from_flags(false, false) == RunStart::fresh);
  CHECK(tca::run_start_from_flags(true, false) == RunStart::resume);
  CHECK(tca::run_start_from_flags(false, true) == RunStart::overwrite);
  CHECK(usage_error([] { tca::run_start_from_flags(true, true); }).find("exclude each other") !=
        std::string::npos);
  TempDir tmp;
  touch(tmp.path / "file");
  CHECK(usage_error([&] {
          RunDirectory::open((tmp.path / "file").string(), RunStart::overwrite);
        }).find("not a directory") != std::string::npos);
}

TEST_CASE("status.json holds state, exit code and error, written atomically") {
  TempDir tmp;
  const RunDirectory run = RunDirectory::open(tmp.path.string(), RunStart::fresh);
  run.write_status(RunState::running);
  CHECK(tca::io::read_json_file(run.status_path()) ==
        nlohmann::json({{"state", "running"}, {"exit_code", nullptr}, {"error", nullptr}}));
  run.write_status(RunState::failed, 1, "loss is NaN at step 120");
  CHECK(tca::io::read_json_file(run.status_path()) ==
        nlohmann::json(
            {{"state", "failed"}, {"exit_code", 1}, {"error", "loss is NaN at step 120"}}));
  run.write_status(tca::run_state_for_exit_code(75), 75);
  const tca::RunStatus s = tca::read_run_status(tmp.path.string());
  CHECK(s.state == RunState::interrupted);
  CHECK(s.exit_code == 75);
  CHECK(s.error.empty());
  CHECK(entries(tmp.path) == std::set<std::string>{"status.json"});
  CHECK(tca::run_state_for_exit_code(0) == RunState::done);
  CHECK(tca::run_state_for_exit_code(130) == RunState::interrupted);
  CHECK(tca::run_state_for_exit_code(2) == RunState::failed);
}

TEST_CASE("a malformed status.json is an input error naming the file and key") {
  TempDir tmp;
  touch(tmp.path / "status.json", R"({"state": "sleeping", "exit_code": null, "error": null})");
  try {
    tca::read_run_status(tmp.path.string());
    FAIL("expected an InputError");
  } catch (const tca::InputError& e) {
    CHECK(std::string(e.what()).find("status.json:state") != std::string::npos);
  }
  touch(tmp.path / "status.json", R"({"state": "done", "exit_code": "zero"})");
  CHECK_THROWS_AS(tca::read_run_status(tmp.path.string()), tca::InputError);
}

TEST_CASE("config.json holds the resolved options and the tool, oneDNN, ISA and thread metadata") {
  TempDir tmp;
  const RunDirectory run = RunDirectory::open(tmp.path.string(), RunStart::fresh);
  tca::SystemInfo info;
  info.tca_version = "0.1.0";
  info.git_sha = "abc";
  info.onednn_version = "2.6.3";
  info.isa = "avx2";
  info.threads = 2;
  info.cpu_model = "cpu";
  run.write_config({{"model", "tca"}, {"batch_size", 16}, {"lr", 5e-4}, {"eval", nullptr}}, info);
  const nlohmann::json c = run.read_config();
  CHECK(c["model"] == "tca");
  CHECK(c["batch_size"] == 16);
  CHECK(c["eval"].is_null());
  CHECK(c["tca_version"] == "0.1.0");
  CHECK(c["onednn_isa"] == "avx2");
  CHECK(c["omp_threads"] == 2);
  CHECK(c["onednn_version"] == "2.6.3");
  CHECK(tca::io::format_json(c) == [&] {
    std::ifstream in(run.config_path());
    return std::string(std::istreambuf_iterator<char>(in), {});
  }());
  CHECK_THROWS_AS(run.write_config({{"onednn_isa", "x"}}, info), std::logic_error);
}

TEST_CASE("changed_config_keys lists changed, added and removed options but not metadata") {
  const nlohmann::json stored = {
      {"lr", 5e-4}, {"steps", 100}, {"model", "tca"}, {"tca_version", "0.1.0"}};
  const nlohmann::json same = {{"lr", 5e-4}, {"steps", 100}, {"model", "tca"}};
  CHECK(tca::changed_config_keys(stored, same).empty());
  const nlohmann::json changed = {{"lr", 1e-3}, {"model", "tca"}, {"heads", 4}};
  CHECK(tca::changed_config_keys(stored, changed) ==
        std::vector<std::string>{"heads", "lr", "steps"});
}
