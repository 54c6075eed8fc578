// Text helpers of `tca bench`'s summary.md (bench_summary.cpp) and its target rows
// (bench_targets.cpp): finding rows in train.json / infer.json, formatting figures, and the
// "busy machine" marks.
#pragma once
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace tca::bench::summary {

using nlohmann::json;

// The file's "rows", or an empty list when it has none (a suite that was not run).
const json& rows_of(const json& file);
const json* find_row(const json& file, const std::function<bool(const json&)>& match);
// The training row of `method` on `task` (copy: at T = seq_len), or nullptr.
const json* train_row(const json& f, const std::string& method, const std::string& task,
                      int64_t seq_len);
const json* infer_row(const json& f, const std::string& method, int log2_n);

std::string num(double v);    // about three significant digits
std::string plain(double v);  // exact figures quoted from the issues: "10", "2.5"
// "3.2x faster" / "1.5x slower" for our time against the reference time.
std::string speed_text(double reference, double ours);
std::string us_text(double us);  // "12.3 µs" or "1.15 ms"

// Largest share of the CPUs that other processes used while this row's figures were measured
// (timing.hpp others_cpu); -1 when unknown.
double others_cpu(const json* row);
// " ⚠" (mark) or a sentence (note) when other processes used more than 10% of the CPUs during the
// row's measurement; "" otherwise.
std::string busy_mark(const json* row);
std::string busy_note(const json* row);

std::string method_label(const std::string& method);  // "CA", "TCA", "Perceiver IO"
// " (data-parallel 2)" for a row measured with --data-parallel.
std::string data_parallel_note(const json& row);
// "GP" or "copy T = 256".
std::string task_label(const std::string& task, int64_t seq_len);

struct TargetLine {
  std::string what, measured, reference, target, status;
};
std::string status(std::optional<bool> met);  // "**met**", "**missed**", "not measured"

// "2 threads, ISA ..., CPU ..., oneDNN ..., compiler (git sha); started ...; load ...".
std::string machine_line(const json& f);

// Every target row of issues 12 and 23, in the summary's order.
std::vector<TargetLine> bench_targets(const json& train, const json& infer);

}  // namespace tca::bench::summary
