// End-to-end tests of the built `tca` binary (CTest sets TCA_BINARY): dispatch, `tca version`,
// and the one-line errors with exit code 2 of conventions.md "Exit codes and errors".
#include <doctest/doctest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

namespace {

std::string tca_binary() {
  if (const char* b = std::getenv("TCA_BINARY")) return b;
  return std::string(TCA_SOURCE_DIR) + "/build/tca";
}

struct Run {
  int exit_code = -1;
  std::string out, err;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Runs `tca ARGS` through the shell (ARGS is shell text), capturing stdout, stderr and the exit
// code.
Run run_tca(const std::string& args) {
  char dir[] = "/tmp/tca_cli_XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  const std::string out = std::string(dir) + "/out", err = std::string(dir) + "/err";
  const std::string cmd = "'" + tca_binary() + "' " + args + " >" + out + " 2>" + err;
  const int status = std::system(cmd.c_str());
  Run r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = slurp(out);
  r.err = slurp(err);
  std::remove(out.c_str());
  std::remove(err.c_str());
  rmdir(dir);
  return r;
}

int count_lines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("tca --help lists the commands on stdout and exits 0") {
  const Run r = run_tca("--help");
  CHECK(r.exit_code == 0);
  CHECK(contains(r.out, "usage: tca <command>"));
  CHECK(contains(r.out, "version"));
  CHECK(r.err.empty());
}

TEST_CASE("tca without a command prints the command list on stderr and exits 2") {
  const Run r = run_tca("");
  CHECK(r.exit_code == 2);
  CHECK(contains(r.err, "commands:"));
  CHECK(r.out.empty());  // a usage error: stdout carries results only
}

TEST_CASE("an unknown command exits 2 with one line on stderr naming it") {
  const Run r = run_tca("trian --steps 3");
  CHECK(r.exit_code == 2);
  CHECK(count_lines(r.err) == 1);
  CHECK(contains(r.err, "unknown command 'trian'"));
  CHECK(r.out.empty());
}

TEST_CASE("tca version prints version, git sha, oneDNN version, ISA, threads and CPU") {
  const Run r = run_tca("version");
  REQUIRE(r.exit_code == 0);
  CHECK(contains(r.out, std::string("tca      ") + TCA_VERSION));
  CHECK(contains(r.out, "(git "));
  CHECK(contains(r.out, "oneDNN   2."));
  CHECK(contains(r.out, "ISA      "));
  CHECK(contains(r.out, "CPU      "));
  // CTest runs tests with OMP_NUM_THREADS=1; the binary must report the count OpenMP uses.
  if (const char* threads = std::getenv("OMP_NUM_THREADS")) {
    CHECK(contains(r.out, std::string("threads  ") + threads + " "));
  }
  CHECK(r.err.empty());
  CHECK(run_tca("--version").out == r.out);
}

TEST_CASE("tca version --json prints the versions and machine blocks of result files") {
  const Run r = run_tca("version --json");
  REQUIRE(r.exit_code == 0);
  const auto j = nlohmann::json::parse(r.out);
  CHECK(j["versions"]["tca"] == TCA_VERSION);
  CHECK(j["versions"]["onednn"].get<std::string>().rfind("2.", 0) == 0);
  CHECK(j["machine"]["threads"].get<int>() >= 1);
  CHECK_FALSE(j["machine"]["isa"].get<std::string>().empty());
  CHECK_FALSE(j["machine"]["cpu"].get<std::string>().empty());
}

TEST_CASE("tca version --help shows grouped options and exits 0") {
  const Run r = run_tca("version --help");
  CHECK(r.exit_code == 0);
  CHECK(contains(r.out, "usage: tca version"));
  CHECK(contains(r.out, "generic options:"));
  CHECK(contains(r.out, "--config FILE"));
}

TEST_CASE("an unknown option exits 2 with one line naming the closest option") {
  const Run r = run_tca("version --jsn");
  CHECK(r.exit_code == 2);
  CHECK(count_lines(r.err) == 1);
  CHECK(contains(r.err, "tca version: error: unknown option '--jsn'"));
  CHECK(contains(r.err, "did you mean '--json'"));
}

TEST_CASE("a config file with an unknown key or invalid JSON exits 2 with one line") {
  char dir[] = "/tmp/tca_cli_cfg_XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  const std::string bad_key = std::string(dir) + "/bad_key.json";
  const std::string bad_json = std::string(dir) + "/bad_json.json";
  std::ofstream(bad_key) << R"({"jsn": true})";
  std::ofstream(bad_json) << "{\n\"json\": tru\n}";
  const Run key = run_tca("version --config " + bad_key);
  CHECK(key.exit_code == 2);
  CHECK(count_lines(key.err) == 1);
  CHECK(
      contains(key.err, "unknown key 'jsn' in config file " + bad_key + " (did you mean 'json'?)"));
  const Run syntax = run_tca("version --config " + bad_json);
  CHECK(syntax.exit_code == 2);
  CHECK(count_lines(syntax.err) == 1);
  CHECK(contains(syntax.err, bad_json + ":2:"));
  std::remove(bad_key.c_str());
  std::remove(bad_json.c_str());
  rmdir(dir);
}
