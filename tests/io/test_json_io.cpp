// JSON and JSON Lines files (conventions.md "JSON results", "Run directories").
#include <dirent.h>
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "io/json_io.hpp"

namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char dir[] = "/tmp/tca_json_io_XXXXXX";
    REQUIRE(mkdtemp(dir) != nullptr);
    path = dir;
  }
  ~TempDir() {
    for (const auto& name : entries()) std::remove((path + "/" + name).c_str());
    rmdir(path.c_str());
  }
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    if (DIR* d = opendir(path.c_str())) {
      while (dirent* e = readdir(d)) {
        std::string n = e->d_name;
        if (n != "." && n != "..") names.push_back(n);
      }
      closedir(d);
    }
    return names;
  }
  std::string file(const std::string& name) const { return path + "/" + name; }
};

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::string input_error(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const tca::InputError& e) {
    CHECK(e.exit_code() == 2);
    return e.what();
  }
  FAIL("expected an InputError");
  return "";
}

}  // namespace

TEST_CASE("a JSON syntax error names the file, line and column and the reason") {
  const std::string msg = input_error(
      [] { tca::io::parse_json("{\n  \"lr\": 0.1,\n  \"layers\": six\n}", "cfg.json"); });
  CHECK(msg.find("invalid JSON (cfg.json:3:") == 0);
  CHECK(msg.find("syntax error") != std::string::npos);
  CHECK(msg.find('\n') == std::string::npos);
  const std::string empty = input_error([] { tca::io::parse_json("", "empty.json"); });
  CHECK(empty.find("empty.json:1:1") != std::string::npos);
  CHECK(empty.find("unexpected end of input") != std::string::npos);
}

// Issue 20 (make fuzz, fuzz_config): a number beyond the range of a double made nlohmann throw
// out_of_range, which is not an InputError: `tca train --config` died with an uncaught exception.
TEST_CASE("a JSON number beyond the range of a double is an input error naming the file") {
  const std::string msg =
      input_error([] { tca::io::parse_json(R"({"lr": 1e99999})", "cfg.json"); });
  CHECK(msg == "invalid JSON (cfg.json): number overflow parsing '1e99999'");
  CHECK(input_error([] { tca::io::parse_json("[-7555555555e55555]", "x.json"); }).find("x.json") !=
        std::string::npos);
  CHECK(tca::io::parse_json(R"({"lr": 1e308, "eps": 4.9e-324})", "ok.json")["lr"] == 1e308);
}

TEST_CASE(
    "a key repeated in one JSON object is rejected, the same key in different objects is not") {
  const std::string msg =
      input_error([] { tca::io::parse_json(R"({"lr": 0.1, "lr": 0.2})", "cfg.json"); });
  CHECK(msg == "duplicate key in JSON object (cfg.json:lr)");
  const auto j = tca::io::parse_json(R"({"a": {"x": 1}, "b": {"x": 2}, "c": [{"x": 3}, {"x": 4}]})",
                                     "ok.json");
  CHECK(j["c"][1]["x"] == 4);
}

TEST_CASE("reading a missing JSON file is an input error naming it") {
  const std::string msg =
      input_error([] { tca::io::read_json_file("/nonexistent/dir/config.json"); });
  CHECK(msg ==
        "cannot read the file (/nonexistent/dir/config.json): expected a readable JSON file, found "
        "No such file or directory");
  const std::string jsonl =
      input_error([] { tca::io::read_jsonl_file("/nonexistent/m.jsonl", false); });
  CHECK(jsonl.find("(/nonexistent/m.jsonl): expected a readable JSON Lines file") !=
        std::string::npos);
}

TEST_CASE("JSON results are written atomically, pretty, with sorted keys and no temp file left") {
  TempDir dir;
  const std::string path = dir.file("eval.json");
  tca::io::write_json_atomically(path, {{"zeta", 1}, {"alpha", {{"b", 2}, {"a", 1.5}}}});
  CHECK(slurp(path) ==
        "{\n  \"alpha\": {\n    \"a\": 1.5,\n    \"b\": 2\n  },\n  \"zeta\": 1\n}\n");
  CHECK(tca::io::read_json_file(path)["alpha"]["a"] == 1.5);
  CHECK(dir.entries() == std::vector<std::string>{"eval.json"});
}

TEST_CASE("an atomic write that fails keeps the old file and leaves no temp file") {
  TempDir dir;
  const std::string path = dir.file("status.json");
  tca::io::write_json_atomically(path, {{"state", "running"}});
  const std::string before = slurp(path);
  CHECK_THROWS_AS(tca::write_atomically(path,
                                        [](const std::string& tmp) {
                                          std::ofstream(tmp) << "{\"state\": \"do";  // half written
                                          throw tca::RuntimeFailure("disk full");
                                        }),
                  tca::RuntimeFailure);
  CHECK(slurp(path) == before);
  CHECK(dir.entries() == std::vector<std::string>{"status.json"});
  CHECK_THROWS_AS(tca::io::write_json_atomically(dir.file("missing/x.json"), {{"a", 1}}),
                  tca::RuntimeFailure);
  CHECK(dir.entries() == std::vector<std::string>{"status.json"});
}

TEST_CASE("the JSON Lines writer appends one compact object per line, flushed at once") {
  TempDir dir;
  const std::string path = dir.file("metrics.jsonl");
  tca::io::JsonlWriter w(path);
  w.append({{"step", 1}, {"loss", 0.5}});
  CHECK(slurp(path) == "{\"loss\":0.5,\"step\":1}\n");  // visible before the writer closes
  w.append({{"step", 2}, {"loss", 0.25}});
  w.sync();
  CHECK(slurp(path) == "{\"loss\":0.5,\"step\":1}\n{\"loss\":0.25,\"step\":2}\n");
  CHECK_THROWS_AS(w.append(nlohmann::json::array({1, 2})), std::logic_error);
  const auto rows = tca::io::read_jsonl_file(path);
  REQUIRE(rows.size() == 2);
  CHECK(rows[1]["loss"] == 0.25);
}

TEST_CASE(
    "a torn last JSON Lines record is dropped only when asked, and the next append starts a new "
    "line") {
  TempDir dir;
  const std::string path = dir.file("metrics.jsonl");
  std::ofstream(path) << "{\"step\":1}\n\n{\"step\":2}\n{\"step\":3,\"lo";
  CHECK(input_error([&] { tca::io::read_jsonl_file(path); }).find(path + ":4") !=
        std::string::npos);
  CHECK(tca::io::read_jsonl_file(path, true).size() == 2);
  {
    tca::io::JsonlWriter w(path);
    w.append({{"step", 4}});
  }
  CHECK(slurp(path) == "{\"step\":1}\n\n{\"step\":2}\n{\"step\":3,\"lo\n{\"step\":4}\n");
}

TEST_CASE("a bad JSON Lines record in the middle is an input error naming the line") {
  TempDir dir;
  const std::string path = dir.file("metrics.jsonl");
  std::ofstream(path) << "{\"step\":1}\nnot json\n{\"step\":3}\n";
  CHECK(input_error([&] { tca::io::read_jsonl_file(path, true); }).find(path + ":2") !=
        std::string::npos);
  std::ofstream(path) << "{\"step\":1}\n[1]\n";
  CHECK(input_error([&] { tca::io::read_jsonl_file(path); }).find("expected an object") !=
        std::string::npos);
}
