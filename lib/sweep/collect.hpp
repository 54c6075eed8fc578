// `tca sweep collect` (issue 18, conventions.md "JSON results"): the finished runs of a sweep
// grouped by eval set, table group (the grid's group_by keys), method and setting, aggregated over
// seeds (mean, sample std, n), written as Markdown, LaTeX (booktabs), CSV and JSON tables under
// DIR/tables, and gnuplot plots under DIR/plots. Missing and failed runs are listed, never
// averaged over. Everything is a function of the run files alone: the same files give the same
// bytes.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "sweep/sweep_plan.hpp"

namespace tca::sweep {

// Mean and sample standard deviation (n - 1; NaN for n < 2) of one quantity over seeds.
struct Aggregate {
  double mean = 0, std = 0;
  int n = 0;
};
Aggregate aggregate(const std::vector<double>& values);

// One row of a table: a method at one setting, over its seeds.
struct TableRow {
  std::string method;   // ca | tca | perceiver
  std::string setting;  // "L = 16", "L matched to TCA (6)", "b = 4", "" ...
  nlohmann::json setting_json;
  Aggregate metric, tokens, percent_of_n, latency_us, train_minutes;
  std::vector<std::string> run_ids;
  std::vector<int64_t> seeds;
  std::string paper;  // the paper's figure for this row (paper_figures.hpp), "" = none quoted
};

struct Table {
  std::string eval_set;
  nlohmann::json group;  // the group_by keys' values ({} without group_by)
  std::string task;
  std::string metric_name;  // accuracy | tar_ll | mse
  double n_context = 0;     // mean context tokens N of the eval set
  std::vector<TableRow> rows;
};

// Eval metric against step on the curve eval set (metrics.jsonl's eval records), mean and std
// over seeds at each step logged by every seed.
struct CurveSeries {
  std::string label;
  std::string method;
  std::vector<int64_t> steps;
  std::vector<Aggregate> values;
};
struct Curves {
  nlohmann::json group;
  std::string metric_name;
  std::vector<CurveSeries> series;
};

// A run the tables leave out. The reason is the same for a run not started and one half-way
// ("not finished"), so that committed tables made while a sweep runs equal a fresh collect of the
// committed (finished) run files; `progress` says how far a partial run got (stderr only).
struct LeftOut {
  std::string run_id;
  std::string reason;    // "not finished", "failed at train: ..."
  std::string progress;  // "", "step 1200 of 100000", "trained, not yet evaluated on rbf"
};

struct Collected {
  std::string sweep_name;
  std::vector<Table> tables;
  std::vector<Curves> curves;
  std::vector<LeftOut> missing, failed;
  bool with_paper = false;  // DIR/paper.json exists: the tables get a "the paper" column
  std::string paper_note;
};

// Reads and aggregates the sweep's run files (InputError naming a malformed file).
Collected aggregate_sweep(const Sweep& sweep);

// Display names: "Transformer + CA", "ReTreever (TCA)", "Perceiver IO".
std::string method_name(const std::string& model);
// A row's setting as the tables show it: "L = 16", "L matched to TCA (6)" (the matched L of its
// seeds), "b = 4", "rl_loss_weight = 0.1"; "" for none.
std::string setting_text(const nlohmann::json& setting,
                         const std::set<int64_t>& matched_latents = {});
// A curve's or plot series' label: the method's name and its setting, "ReTreever (TCA), b = 4".
std::string series_label(const std::string& model, const nlohmann::json& setting);
// "tar_ll" -> "target log-likelihood", "accuracy" -> "accuracy (%)".
std::string metric_label(const std::string& metric_name);
// Larger is better for accuracy and tar_ll, smaller for mse and loss.
bool higher_is_better(const std::string& metric_name);
// Scale for display: accuracy in percent, others as they are.
double metric_display_scale(const std::string& metric_name);

struct CollectOptions {
  std::vector<std::string> formats = {"md", "tex", "csv", "json"};
  bool plots = false;
  std::string gnuplot = "gnuplot";
};

struct CollectResult {
  std::string markdown;            // the tables, also printed on stdout
  std::vector<std::string> files;  // written files
  std::vector<LeftOut> partial;    // runs under way, with their progress
};

// aggregate_sweep, then the tables (result_tables.hpp) and, with options.plots, the plots.
CollectResult collect(const Sweep& sweep, const CollectOptions& options);

}  // namespace tca::sweep
