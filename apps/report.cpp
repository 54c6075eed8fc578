// `tca report (RUN_DIR | EVAL.json)... [--format text|md|csv] [--get KEY]`: the comparison table
// of `make demo` from eval.json files (conventions.md "JSON results"): task, method, metric,
// tokens attended, % of N (a mean of ratios), latency per query. --get prints one value of each
// file (a dotted key such as tokens_attended.mean), for scripts without a JSON tool.
#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <sstream>

#include "command.hpp"
#include "core/error.hpp"
#include "io/json_io.hpp"
#include "models/model_config.hpp"
#include "options.hpp"
#include "train/run_directory.hpp"

namespace tca::cli {

namespace {

std::string eval_file(const std::string& arg) {
  if (std::filesystem::is_directory(arg))
    return (std::filesystem::path(arg) / RunDirectory::kEval).string();
  return arg;
}

// The value at a dotted key ("tokens_attended.mean"); InputError naming the file and key.
const nlohmann::json& lookup(const nlohmann::json& j, const std::string& key,
                             const std::string& file) {
  const nlohmann::json* node = &j;
  std::stringstream parts(key);
  std::string part;
  while (std::getline(parts, part, '.')) {
    if (!node->is_object() || !node->contains(part)) {
      throw InputError(file, key, "missing result field", "a value", "none");
    }
    node = &(*node)[part];
  }
  return *node;
}

double number(const nlohmann::json& j, const std::string& key, const std::string& file) {
  const nlohmann::json& v = lookup(j, key, file);
  if (!v.is_number()) throw InputError(file, key, "invalid result field", "a number", v.dump());
  return v.get<double>();
}

std::string text(const nlohmann::json& j, const std::string& key, const std::string& file) {
  const nlohmann::json& v = lookup(j, key, file);
  if (!v.is_string()) throw InputError(file, key, "invalid result field", "a string", v.dump());
  return v.get<std::string>();
}

struct Row {
  std::string task, method, metric, tokens, percent, latency;
};

Row row_of(const nlohmann::json& j, const std::string& file) {
  Row r;
  r.task = text(j, "task", file);
  const std::string model = text(j, "model", file);
  const std::string inference = j.value("inference", std::string());
  const auto kind = find_named(kModelKindNames, model);
  if (!kind)
    throw InputError(file, "model", "invalid result field", names_list(kModelKindNames), model);
  switch (*kind) {
    case ModelKind::ca:
      r.method = "CA";
      break;
    case ModelKind::perceiver:
      r.method = fmt::format("Perceiver IO (L={:.0f})", number(j, "tokens_attended.mean", file));
      break;
    case ModelKind::tca:
      r.method = "TCA";
      if (inference == "full") r.method += " (full)";
      if (inference == "stored_trees") r.method += " (stored trees)";
      break;
  }
  const nlohmann::json& metrics = lookup(j, "metrics", file);
  for (const char* name : {"accuracy", "tar_ll", "mse"}) {
    if (metrics.is_object() && metrics.contains(name)) {
      r.metric = fmt::format("{} {:.4f}", name, number(j, std::string("metrics.") + name, file));
      break;
    }
  }
  if (r.metric.empty())
    throw InputError(file, "metrics", "missing result field", "accuracy, tar_ll or mse", "none");
  r.tokens = fmt::format("{:.2f}", number(j, "tokens_attended.mean", file));
  r.percent = fmt::format("{:.2f}", number(j, "tokens_attended.percent_of_n", file));
  r.latency = fmt::format("{:.1f}", number(j, "latency_us_per_query", file));
  return r;
}

void print_table(const std::vector<Row>& rows, const std::string& format) {
  if (format == "csv") {
    auto quote = [](const std::string& s) {
      return s.find(',') == std::string::npos ? s : "\"" + s + "\"";
    };
    std::printf("task,method,metric,tokens_attended,percent_of_n,latency_us_per_query\n");
    for (const Row& r : rows) {
      std::printf("%s,%s,%s,%s,%s,%s\n", quote(r.task).c_str(), quote(r.method).c_str(),
                  quote(r.metric).c_str(), r.tokens.c_str(), r.percent.c_str(), r.latency.c_str());
    }
    return;
  }
  const Row head{"task", "method", "metric", "tokens attended", "% of N", "latency (us/query)"};
  size_t w[6] = {0, 0, 0, 0, 0, 0};
  auto widen = [&](const Row& r) {
    const std::string* f[6] = {&r.task, &r.method, &r.metric, &r.tokens, &r.percent, &r.latency};
    for (int i = 0; i < 6; ++i) w[i] = std::max(w[i], f[i]->size());
  };
  widen(head);
  for (const Row& r : rows) widen(r);
  const bool md = format == "md";
  auto line = [&](const Row& r) {
    const std::string* f[6] = {&r.task, &r.method, &r.metric, &r.tokens, &r.percent, &r.latency};
    std::string s = md ? "| " : "";
    for (int i = 0; i < 6; ++i) {
      const bool right = i >= 3;  // numbers
      s += right ? fmt::format("{:>{}}", *f[i], w[i]) : fmt::format("{:<{}}", *f[i], w[i]);
      s += i < 5 ? (md ? " | " : "  ") : (md ? " |" : "");
    }
    std::printf("%s\n", s.c_str());
  };
  line(head);
  if (md) {
    std::string s = "|";
    for (int i = 0; i < 6; ++i) s += std::string(w[i] + 1, '-') + (i >= 3 ? ":|" : "-|");
    std::printf("%s\n", s.c_str());
  } else {
    std::printf("%s\n", std::string(w[0] + w[1] + w[2] + w[3] + w[4] + w[5] + 10, '-').c_str());
  }
  for (const Row& r : rows) line(r);
  // Every table says how % of N averages (conventions.md "Tokens attended"); CSV is data only.
  const std::string note =
      "% of N: the mean over queries of tokens attended / N of the query's task (a mean of ratios)";
  std::printf("%s\n", (md ? "\n_" + note + "_" : note).c_str());
}

int run_report(int argc, char** argv) {
  Options options(
      "report",
      "Print the comparison table of eval.json files (or of run directories holding one): task, "
      "method, metric, tokens attended, % of N, latency per query.");
  options
      .add<std::vector<std::string>>(Group::data, "results", "eval.json files or run directories")
      .positional(-1)
      .required()
      .value_name("RUN_DIR|EVAL.json");
  options.add<std::string>(Group::output, "format", std::string("text"), "table format")
      .choices({"text", "md", "csv"});
  options
      .add<std::string>(
          Group::output, "get",
          "print only this field of each file, one per line (dotted: tokens_attended.mean)")
      .value_name("KEY");
  if (!options.parse(argc, argv)) return 0;
  std::vector<Row> rows;
  for (const auto& arg : options.get<std::vector<std::string>>("results")) {
    const std::string file = eval_file(arg);
    const nlohmann::json j = io::read_json_file(file);
    if (!j.is_object())
      throw InputError(file, "", "invalid eval result", "a JSON object", j.type_name());
    if (options.has("get")) {
      const nlohmann::json& v = lookup(j, options.get<std::string>("get"), file);
      std::printf("%s\n", v.is_string() ? v.get<std::string>().c_str() : v.dump().c_str());
      continue;
    }
    rows.push_back(row_of(j, file));
  }
  if (!options.has("get")) print_table(rows, options.get<std::string>("format"));
  return 0;
}

}  // namespace

TCA_COMMAND("report", "print the comparison table of eval.json files", run_report, 50);

}  // namespace tca::cli
