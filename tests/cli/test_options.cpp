// The shared option layer (apps/options.cpp, compiled into this test): precedence, config files,
// error messages and the resolved configuration (conventions.md "Options, configs and defaults").
#include <doctest/doctest.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "options.hpp"

using tca::cli::Group;
using tca::cli::Options;
using tca::cli::Source;

namespace {

// A config file in a fresh temp directory, removed at the end of the test.
struct TempFile {
  std::string path;
  explicit TempFile(const std::string& text, const std::string& name = "config.json") {
    char dir[] = "/tmp/tca_options_XXXXXX";
    REQUIRE(mkdtemp(dir) != nullptr);
    path = std::string(dir) + "/" + name;
    std::ofstream(path) << text;
  }
  ~TempFile() {
    std::remove(path.c_str());
    rmdir(path.substr(0, path.rfind('/')).c_str());
  }
};

// Options shaped like `tca train`'s, with per-task defaults as in tca.md section 6.
struct TrainLike {
  Options o{"train", "train a model"};
  TrainLike() {
    o.add<std::string>(Group::model, "model", "method")
        .choices({"ca", "tca", "perceiver"})
        .required();
    o.add<std::string>(Group::data, "task", "gp", "task generator")
        .choices({"copy", "gp", "image"});
    o.add<int>(Group::optimisation, "batch-size", 16, "tasks per batch").min(1);
    o.add<double>(Group::model, "dropout", 0.0, "dropout probability").range(0.0, 1.0);
    o.add<std::vector<double>>(Group::optimisation, "betas", {0.9, 0.999}, "Adam betas");
    o.add<int>(Group::model, "layers", 6, "encoder layers").min(0);
    o.add<double>(Group::optimisation, "lr", 5e-4, "peak learning rate").unit("1/step");
    o.add<uint64_t>(Group::optimisation, "seed", 0, "random seed");
    o.add<int64_t>(Group::optimisation, "steps", 100000, "optimiser steps").unit("steps");
    o.add<std::string>(Group::data, "eval", "fixed evaluation task file").value_name("FILE");
    o.add<std::string>(Group::output, "out", "run directory").value_name("RUN_DIR");
    o.add_flag(Group::output, "resume", "continue from the checkpoint").transient();
    o.add_flag(Group::model, "greedy", "greedy retrieval");
    o.set_dependent_defaults(
        {"task",
         {{"copy",
           {{"batch_size", 128}, {"dropout", 0.1}, {"betas", {0.1, 0.999}}, {"layers", 0}}}},
         {}});
  }
  bool parse(std::vector<std::string> args) { return o.parse(args); }
};

// The message of the UsageError that parse() throws (fails the test if none is thrown).
std::string usage_error(Options& o, const std::vector<std::string>& args) {
  try {
    o.parse(args);
  } catch (const tca::UsageError& e) {
    CHECK(e.exit_code() == 2);
    CHECK(std::string(e.what()).find('\n') == std::string::npos);  // one line
    return e.what();
  }
  FAIL("expected a UsageError");
  return "";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("built-in defaults apply when no other source sets an option") {
  TrainLike t;
  REQUIRE(t.parse({"--model", "tca"}));
  CHECK(t.o.get<int>("batch-size") == 16);
  CHECK(t.o.get<double>("lr") == 5e-4);
  CHECK(t.o.get<std::vector<double>>("betas") == std::vector<double>{0.9, 0.999});
  CHECK(t.o.source("batch_size") == Source::built_in);
  CHECK(t.o.source("model") == Source::command_line);
  CHECK_FALSE(t.o.has("eval"));
  CHECK(t.o.source("eval") == Source::none);
  CHECK_FALSE(t.o.maybe<std::string>("eval").has_value());
  CHECK(t.o.get<bool>("greedy") == false);
}

TEST_CASE("precedence is built-in defaults < task defaults < config file < command line") {
  TempFile config(R"({"batch_size": 64, "lr": 0.001})");
  SUBCASE("task defaults replace built-in defaults") {
    TrainLike t;
    REQUIRE(t.parse({"--model", "ca", "--task", "copy"}));
    CHECK(t.o.get<int>("batch-size") == 128);
    CHECK(t.o.get<double>("dropout") == 0.1);
    CHECK(t.o.get<int>("layers") == 0);
    CHECK(t.o.get<std::vector<double>>("betas") == std::vector<double>{0.1, 0.999});
    CHECK(t.o.source("batch-size") == Source::task_default);
    CHECK(t.o.get<double>("lr") == 5e-4);  // not in the copy row
    CHECK(t.o.dependent_row() == "copy");
  }
  SUBCASE("the config file overrides task defaults") {
    TrainLike t;
    REQUIRE(t.parse({"--model", "ca", "--task", "copy", "--config", config.path}));
    CHECK(t.o.get<int>("batch-size") == 64);
    CHECK(t.o.source("batch-size") == Source::config_file);
    CHECK(t.o.get<double>("lr") == 0.001);
    CHECK(t.o.get<double>("dropout") == 0.1);  // task default still below the file
  }
  SUBCASE("command-line flags override the config file, wherever --config appears") {
    TrainLike t;
    REQUIRE(t.parse(
        {"--batch-size", "32", "--config", config.path, "--task", "copy", "--model", "ca"}));
    CHECK(t.o.get<int>("batch-size") == 32);
    CHECK(t.o.source("batch-size") == Source::command_line);
    CHECK(t.o.get<double>("lr") == 0.001);
  }
  SUBCASE("the task itself may come from the config file") {
    TempFile task_config(R"({"task": "copy", "dropout": 0.2})");
    TrainLike t;
    REQUIRE(t.parse({"--model", "ca", "--config", task_config.path}));
    CHECK(t.o.get<int>("batch-size") == 128);
    CHECK(t.o.get<double>("dropout") == 0.2);
  }
  SUBCASE("a task without a row keeps the built-in defaults") {
    TrainLike t;
    REQUIRE(t.parse({"--model", "ca", "--task", "image"}));
    CHECK(t.o.get<int>("batch-size") == 16);
    CHECK(t.o.source("batch-size") == Source::built_in);
  }
}

TEST_CASE("a select callback picks the task-default row when the selector cannot") {
  Options o("train", "");
  o.add<std::string>(Group::data, "task", "task");
  o.add<std::string>(Group::data, "train", "training file");
  o.add<int>(Group::optimisation, "batch-size", 16, "tasks per batch");
  o.set_dependent_defaults({"task", {{"copy", {{"batch-size", 128}}}}, [](const Options& opts) {
                              // stands in for reading the task attribute of --train FILE.h5
                              return opts.has("train") ? std::string("copy") : std::string();
                            }});
  REQUIRE(o.parse(std::vector<std::string>{"--train", "copy_train.h5"}));
  CHECK(o.get<int>("batch-size") == 128);
}

TEST_CASE("a config file accepts keys with dashes or underscores") {
  TempFile config(
      R"({"batch-size": 8, "layers": 2, "out": "runs/a", "greedy": true, "model": "tca"})");
  TrainLike t;
  REQUIRE(t.parse({"--config", config.path}));
  CHECK(t.o.get<int>("batch_size") == 8);
  CHECK(t.o.get<int>("layers") == 2);
  CHECK(t.o.get<std::string>("out") == "runs/a");
  CHECK(t.o.get<bool>("greedy"));
  CHECK(t.o.config_file() == config.path);
}

TEST_CASE("a config file setting a key with dashes and with underscores is rejected") {
  TempFile config(R"({"batch-size": 8, "batch_size": 9})");
  TrainLike t;
  CHECK(contains(usage_error(t.o, {"--model", "ca", "--config", config.path}), "given twice"));
}

TEST_CASE("an unknown config key names the key, the file and the closest known key") {
  TempFile config(R"({"bach_size": 8})");
  TrainLike t;
  const std::string msg = usage_error(t.o, {"--model", "ca", "--config", config.path});
  CHECK(contains(msg, "unknown key 'bach_size'"));
  CHECK(contains(msg, config.path));
  CHECK(contains(msg, "did you mean 'batch_size'"));
}

TEST_CASE("an unknown command-line option names the closest known option") {
  TrainLike t;
  const std::string msg = usage_error(t.o, {"--model", "ca", "--lr-rate", "3"});
  CHECK(contains(msg, "unknown option '--lr-rate'"));
  CHECK(contains(usage_error(t.o, {"--modle", "ca"}), "did you mean '--model'"));
}

TEST_CASE("abbreviated option names are not guessed") {
  TrainLike t;
  const std::string msg = usage_error(t.o, {"--model", "ca", "--batch", "3"});
  CHECK(contains(msg, "unknown option '--batch'"));
  CHECK(contains(msg, "did you mean '--batch-size'"));
}

TEST_CASE("a bad value is a one-line usage error naming the option and the expected type") {
  TrainLike t;
  CHECK(contains(usage_error(t.o, {"--model", "ca", "--batch-size", "many"}),
                 "invalid value 'many' for --batch-size: expected an integer"));
  CHECK(contains(usage_error(t.o, {"--model", "ca", "--lr", "fast"}), "expected a number"));
  CHECK(contains(usage_error(t.o, {"--model", "ca", "--seed=-1"}),
                 "expected a non-negative integer"));
  CHECK(contains(usage_error(t.o, {"--model", "ca", "--batch-size", "0"}),
                 "invalid value '0' for --batch-size: expected a value >= 1"));
  CHECK(contains(usage_error(t.o, {"--model", "ca", "--dropout", "1.5"}), "expected a value <= 1"));
  CHECK(contains(usage_error(t.o, {"--model", "ca", "--batch-size", "1", "--batch-size", "2"}),
                 "cannot be specified more than once"));
  CHECK(contains(usage_error(t.o, {"--model", "ca", "--batch-size"}), "--batch-size"));
}

TEST_CASE("a bad value in a config file names the key and the file") {
  SUBCASE("wrong type") {
    TempFile config(R"({"batch_size": "many"})");
    TrainLike t;
    const std::string msg = usage_error(t.o, {"--model", "ca", "--config", config.path});
    CHECK(contains(msg, "invalid value 'many' for 'batch_size' in config file " + config.path));
    CHECK(contains(msg, "expected an integer"));
  }
  SUBCASE("a float for an integer") {
    TempFile config(R"({"batch_size": 128.0})");
    TrainLike t;
    CHECK(contains(usage_error(t.o, {"--model", "ca", "--config", config.path}),
                   "expected an integer"));
  }
  SUBCASE("a range violation reports where the value came from") {
    TempFile config(R"({"dropout": 2})");
    TrainLike t;
    CHECK(contains(usage_error(t.o, {"--model", "ca", "--config", config.path}),
                   "invalid value '2' for 'dropout' in config file " + config.path));
  }
  SUBCASE("a nested object: config files are flat") {
    TempFile config(R"({"model": {"name": "tca"}})");
    TrainLike t;
    CHECK(contains(usage_error(t.o, {"--config", config.path}), "config files are flat"));
  }
  SUBCASE("a list for a single value") {
    TempFile config(R"({"lr": [0.1, 0.2]})");
    TrainLike t;
    CHECK(contains(usage_error(t.o, {"--model", "ca", "--config", config.path}),
                   "expected a number"));
  }
  SUBCASE("--config inside a config file") {
    TempFile config(R"({"config": "other.json"})");
    TrainLike t;
    CHECK(contains(usage_error(t.o, {"--model", "ca", "--config", config.path}),
                   "not allowed in a config file"));
  }
}

TEST_CASE("an invalid config file is an input error with its line and column") {
  TempFile config("{\n  \"lr\": 0.1,\n  \"layers\": six\n}\n");
  TrainLike t;
  try {
    t.parse({"--model", "ca", "--config", config.path});
    FAIL("expected an InputError");
  } catch (const tca::InputError& e) {
    CHECK(e.exit_code() == 2);
    CHECK(contains(e.what(), config.path + ":3:"));
  }
  TempFile array_config("[1, 2]");
  CHECK_THROWS_AS(t.parse({"--model", "ca", "--config", array_config.path}), tca::InputError);
  CHECK_THROWS_AS(t.parse({"--model", "ca", "--config", "/nonexistent/tca.json"}), tca::InputError);
}

TEST_CASE("choices reject other values and suggest the closest") {
  TrainLike t;
  const std::string msg = usage_error(t.o, {"--model", "tcaa"});
  CHECK(contains(msg, "expected one of ca, tca, perceiver"));
  CHECK(contains(msg, "did you mean 'tca'"));
}

TEST_CASE("a missing required option is a usage error naming it") {
  TrainLike t;
  CHECK(contains(usage_error(t.o, {"--task", "gp"}), "missing required option --model"));
}

TEST_CASE("positional arguments fill the declared positionals and extra ones are rejected") {
  Options o("make-dataset", "generate a task file");
  o.add<std::string>(Group::data, "task", "task to generate")
      .choices({"copy", "gp"})
      .positional()
      .required();
  o.add<int>(Group::data, "count", 10, "tasks");
  REQUIRE(o.parse(std::vector<std::string>{"gp", "--count", "3"}));
  CHECK(o.get<std::string>("task") == "gp");
  CHECK(o.get<int>("count") == 3);
  CHECK(o.usage() == "tca make-dataset copy|gp [options]");
  CHECK(contains(usage_error(o, {"gp", "extra"}), "unexpected argument 'extra'"));
  CHECK(contains(usage_error(o, {"--count", "3"}), "missing argument copy|gp"));
  CHECK(contains(usage_error(o, {"gp", "--task", "copy"}), "more than once"));
}

TEST_CASE("flags are switches on the command line and booleans in a config file") {
  TrainLike t;
  REQUIRE(t.parse({"--model", "ca", "--greedy"}));
  CHECK(t.o.get<bool>("greedy"));
  CHECK(t.o.source("greedy") == Source::command_line);
  TempFile off(R"({"greedy": false, "resume": true})");
  REQUIRE(t.parse({"--model", "ca", "--config", off.path}));
  CHECK_FALSE(t.o.get<bool>("greedy"));
  CHECK(t.o.source("greedy") == Source::config_file);
  CHECK(t.o.get<bool>("resume"));
  CHECK(contains(usage_error(t.o, {"--model", "ca", "--greedy=false"}), "--greedy"));
}

TEST_CASE("list options take several values on the command line or an array in a config file") {
  TrainLike t;
  REQUIRE(t.parse({"--model", "ca", "--betas", "0.5", "0.99"}));
  CHECK(t.o.get<std::vector<double>>("betas") == std::vector<double>{0.5, 0.99});
  TempFile config(R"({"betas": [0.8, 0.98]})");
  REQUIRE(t.parse({"--model", "ca", "--config", config.path}));
  CHECK(t.o.get<std::vector<double>>("betas") == std::vector<double>{0.8, 0.98});
}

TEST_CASE("negative numbers are values, options are not") {
  Options o("test", "");
  o.add<double>(Group::model, "bias", 0.0, "a signed value");
  o.add<std::string>(Group::output, "out", "run directory");
  o.add_flag(Group::output, "resume", "continue");
  REQUIRE(o.parse(std::vector<std::string>{"--bias=-0.5"}));
  CHECK(o.get<double>("bias") == -0.5);
  REQUIRE(o.parse(std::vector<std::string>{"--bias", "-1e-3"}));
  CHECK(o.get<double>("bias") == -1e-3);
  // Boost would store "--resume" as the directory name.
  CHECK(contains(usage_error(o, {"--out", "--resume"}),
                 "missing value for --out (found the option '--resume'"));
}

TEST_CASE(
    "resolved config has sorted underscored keys, nulls for unset options and no run control") {
  TrainLike t;
  REQUIRE(t.parse({"--model", "tca", "--task", "copy", "--resume", "--out", "runs/x"}));
  const nlohmann::json j = t.o.resolved_json();
  CHECK(j["batch_size"] == 128);
  CHECK(j["model"] == "tca");
  CHECK(j["lr"] == 5e-4);
  CHECK(j["betas"] == nlohmann::json({0.1, 0.999}));
  CHECK(j["eval"].is_null());
  CHECK(j["greedy"] == false);
  CHECK_FALSE(j.contains("resume"));
  CHECK_FALSE(j.contains("config"));
  CHECK_FALSE(j.contains("help"));
  CHECK_FALSE(j.contains("batch-size"));
  std::vector<std::string> keys;
  for (const auto& [k, v] : j.items()) keys.push_back(k);
  CHECK(std::is_sorted(keys.begin(), keys.end()));
  CHECK(j.dump().find("batch_size") < j.dump().find("betas"));
}

TEST_CASE("a resolved config passed back as --config reproduces the configuration") {
  TrainLike first;
  REQUIRE(first.parse({"--model", "perceiver", "--task", "copy", "--lr", "0.0003", "--seed", "7",
                       "--betas", "0.2", "0.95"}));
  nlohmann::json saved = first.o.resolved_json();
  // A run's config.json also holds metadata keys; they are ignored when read back.
  saved["tca_version"] = "0.1.0";
  saved["onednn_isa"] = "avx2";
  TempFile config(saved.dump(2));
  TrainLike second;
  REQUIRE(second.parse({"--config", config.path}));
  CHECK(second.o.resolved_json() == first.o.resolved_json());
}

TEST_CASE("help lists groups, defaults, units and the task-default table") {
  TrainLike t;
  const std::string help = t.o.help_text();
  CHECK(contains(help, "usage: tca train --model ca|tca|perceiver [options]"));
  CHECK(contains(help, "generic options:"));
  CHECK(contains(help, "optimisation options:"));
  CHECK(contains(help, "--lr X (=0.0005)"));
  CHECK(contains(help, "[1/step]"));
  CHECK(contains(help, "--eval FILE"));
  CHECK(contains(help, "copy: --batch-size 128 --betas 0.1 0.999 --dropout 0.1 --layers 0"));
  CHECK(help.find("generic options:") < help.find("data options:"));
  CHECK(help.find("data options:") < help.find("model options:"));
  CHECK(help.find("model options:") < help.find("optimisation options:"));
  CHECK(help.find("optimisation options:") < help.find("output options:"));
  // --help short-circuits validation: no --model needed.
  TrainLike h;
  std::fflush(stdout);
  const int saved = dup(1), devnull = open("/dev/null", O_WRONLY);  // keep the test output clean
  dup2(devnull, 1);
  const bool ran = h.o.parse(std::vector<std::string>{"--help"});
  std::fflush(stdout);
  dup2(saved, 1);
  close(devnull);
  close(saved);
  CHECK_FALSE(ran);
}

TEST_CASE("declaring options wrongly is a programming error") {
  Options o("test", "");
  o.add<int>(Group::model, "layers", 1, "layers");
  CHECK_THROWS_AS(o.add<int>(Group::model, "layers", 2, "again"), std::logic_error);
  CHECK_THROWS_AS(o.add<int>(Group::model, "Bad_Name", 2, "x"), std::logic_error);
  CHECK_THROWS_AS(o.add<int>(Group::model, "omp-threads", 2, "collides with config.json metadata"),
                  std::logic_error);
  o.set_dependent_defaults({"layers", {{"x", {{"no-such-option", 1}}}}, {}});
  CHECK_THROWS_AS(o.parse(std::vector<std::string>{}), std::logic_error);
  Options p("test", "");
  p.add<int>(Group::model, "layers", 1, "layers");
  REQUIRE(p.parse(std::vector<std::string>{}));
  CHECK_THROWS_AS(p.get<double>("layers"), std::logic_error);
  CHECK_THROWS_AS(p.get<int>("heads"), std::logic_error);
}

TEST_CASE("dashed and underscored spellings convert into each other") {
  CHECK(tca::cli::dashed("batch_size") == "batch-size");
  CHECK(tca::cli::underscored("batch-size") == "batch_size");
}
