#include "bench/summary_text.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace tca::bench::summary {

namespace {
constexpr double kBusyMachine = 0.1;  // more than 10% of the CPUs used by other processes
}  // namespace

const json& rows_of(const json& file) {
  static const json kNone = json::array();
  if (!file.is_object()) return kNone;
  const auto it = file.find("rows");
  return it != file.end() && it->is_array() ? *it : kNone;
}

const json* find_row(const json& file, const std::function<bool(const json&)>& match) {
  for (const json& r : rows_of(file))
    if (match(r)) return &r;
  return nullptr;
}

const json* train_row(const json& f, const std::string& method, const std::string& task,
                      int64_t seq_len) {
  return find_row(f, [&](const json& r) {
    return r.value("kind", "") == "train" && r.value("method", "") == method &&
           r.value("task", "") == task &&
           (task != "copy" || (r["seq_len"].is_number() && r["seq_len"].get<int64_t>() == seq_len));
  });
}

const json* infer_row(const json& f, const std::string& method, int log2_n) {
  return find_row(f, [&](const json& r) {
    return r.value("kind", "") == "infer" && r.value("method", "") == method &&
           r.value("log2_n", -1) == log2_n;
  });
}

std::string num(double v) {
  if (!std::isfinite(v)) return "n/a";
  const double a = std::fabs(v);
  if (a >= 100) return fmt::format("{:.0f}", v);
  if (a >= 10) return fmt::format("{:.1f}", v);
  if (a >= 1) return fmt::format("{:.2f}", v);
  return fmt::format("{:.3g}", v);
}

std::string plain(double v) { return fmt::format("{:g}", v); }

std::string speed_text(double reference, double ours) {
  if (!(reference > 0) || !(ours > 0)) return "—";
  return reference >= ours ? num(reference / ours) + "x faster"
                           : num(ours / reference) + "x slower";
}

std::string us_text(double us) { return us >= 1000 ? num(us / 1000) + " ms" : num(us) + " µs"; }

double others_cpu(const json* row) {
  double m = -1;
  if (!row) return m;
  for (const char* key : {"timing", "build_timing", "kernel_timing"})
    if (row->contains(key) && (*row)[key].contains("others_cpu"))
      m = std::max(m, (*row)[key]["others_cpu"].get<double>());
  return m;
}

std::string busy_mark(const json* row) { return others_cpu(row) > kBusyMachine ? " ⚠" : ""; }
std::string busy_note(const json* row) {
  const double o = others_cpu(row);
  return o > kBusyMachine
             ? fmt::format(" ⚠ other processes used {}% of the CPUs meanwhile", num(100 * o))
             : "";
}

std::string task_label(const std::string& task, int64_t seq_len) {
  return task == "gp" ? "GP" : fmt::format("copy T = {}", seq_len);
}

std::string method_label(const std::string& method) {
  return method == "ca" ? "CA" : method == "tca" ? "TCA" : "Perceiver IO";
}

std::string data_parallel_note(const json& row) {
  const int r = row.value("data_parallel", 1);
  return r > 1 ? fmt::format(" (data-parallel {})", r) : "";
}

std::string status(std::optional<bool> met) {
  return !met ? "not measured" : *met ? "**met**" : "**missed**";
}

std::string machine_line(const json& f) {
  if (!f.is_object()) return "";
  // value(): an earlier suite's file on disk may lack a section (const operator[] on a missing
  // key is undefined behaviour in nlohmann::json).
  const json m = f.value("machine", json::object());
  const json v = f.value("versions", json::object());
  const json s = f.value("settings", json::object());
  std::string load;
  if (s.contains("load_average_start") && s.contains("load_average_end"))
    load = fmt::format("; load average (1 min) {} at start, {} at end",
                       num(s["load_average_start"][0].get<double>()),
                       num(s["load_average_end"][0].get<double>()));
  if (s.contains("others_cpu_busy_start") && s["others_cpu_busy_start"].get<double>() >= 0)
    load += fmt::format("; other processes' CPU use before the start {}%",
                        num(100 * s["others_cpu_busy_start"].get<double>()));
  return fmt::format("{} threads, ISA {}, CPU \"{}\", oneDNN {}, {} (git {}); started {}{}{}",
                     m.value("threads", 0), m.value("isa", "?"), m.value("cpu", "?"),
                     v.value("onednn", "?"), v.value("compiler", "?"), v.value("git_sha", "?"),
                     s.value("started_utc", "?"), s.value("quick", false) ? "; quick run" : "",
                     load);
}

}  // namespace tca::bench::summary
