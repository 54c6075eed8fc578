// Helpers of the end-to-end tests of the `tca` commands (CTest sets TCA_BINARY to the built
// binary): run a command line and capture stdout, stderr and the exit code; tiny data and a
// tiny model so that each test takes a few seconds at one thread.
#pragma once
#include <doctest/doctest.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "io/test_files.hpp"

namespace tca::cli_test {

inline std::string tca_binary() {
  if (const char* b = std::getenv("TCA_BINARY")) return b;
  return std::string(TCA_SOURCE_DIR) + "/build/tca";
}

struct Run {
  int exit_code = -1;
  std::string out, err;
};

inline std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs `tca ARGS` in `dir` through the shell (ARGS is shell text).
inline Run run_tca(const test::TempDir& dir, const std::string& args) {
  const std::string out = dir.file(".stdout"), err = dir.file(".stderr");
  const std::string cmd =
      "cd '" + dir.path() + "' && '" + tca_binary() + "' " + args + " >" + out + " 2>" + err;
  const int status = std::system(cmd.c_str());
  Run r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(out);
  r.err = slurp(err);
  return r;
}

inline int count_lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

inline bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

inline nlohmann::json read_json(const std::string& path) {
  return nlohmann::json::parse(slurp(path));
}

inline std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::vector<nlohmann::json> lines;
  std::istringstream in(slurp(path));
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(nlohmann::json::parse(line));
  }
  return lines;
}

// A model small enough to train a few steps in well under a second.
inline const char* tiny_model() {
  return " --d-model 16 --heads 2 --dim-feedforward 16 --emb-depth 2 --num-latents 3 "
         "--num-latent-layers 1";
}

// Copy task with T = 16 (N = 8 context tokens: a TCA tree of depth 2, leaf size 2 for b = 2).
inline const char* tiny_copy_task() {
  return " --task copy --seq-len 16 --batch-size 8 --progress none";
}

// `tca make-dataset copy --seq-len 16` with `count` tasks in batches of 8, as FILE.
inline void make_copy_eval(const test::TempDir& dir, const std::string& file, int count = 32,
                           int seed = 0) {
  const Run r = run_tca(
      dir, "make-dataset copy --seq-len 16 --split eval --batch-size 8 --progress none --count " +
               std::to_string(count) + " --seed " + std::to_string(seed) + " --out " + file);
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
}

// The one-line error of a usage or input error: exit 2, one line on stderr naming `part`, no
// stdout.
inline void check_usage_error(const Run& r, const std::string& part) {
  CHECK_MESSAGE(r.exit_code == 2, r.err);
  CHECK_MESSAGE(count_lines(r.err) == 1, r.err);
  CHECK_MESSAGE(contains(r.err, part), r.err);
  CHECK(r.out.empty());
}

}  // namespace tca::cli_test
