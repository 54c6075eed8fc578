#include "sweep/result_tables.hpp"

#include <fmt/format.h>

#include <cmath>
#include <functional>

namespace tca::sweep {

using json = nlohmann::json;

namespace {

// The columns compared for "best": how to read a row's mean, and whether larger is better.
struct Column {
  const char* name;
  std::function<const Aggregate&(const TableRow&)> get;
  bool higher_better;
};

std::vector<Column> columns(const Table& t) {
  return {
      {"metric", [](const TableRow& r) -> const Aggregate& { return r.metric; },
       higher_is_better(t.metric_name)},
      {"tokens_attended", [](const TableRow& r) -> const Aggregate& { return r.tokens; }, false},
      {"percent_of_n", [](const TableRow& r) -> const Aggregate& { return r.percent_of_n; }, false},
      {"latency_us_per_query", [](const TableRow& r) -> const Aggregate& { return r.latency_us; },
       false},
      {"train_minutes", [](const TableRow& r) -> const Aggregate& { return r.train_minutes; },
       false}};
}

// Rows holding the best mean of a column (all of them on a tie); none when fewer than two rows
// have a value.
std::vector<bool> best_rows(const Table& t, const Column& col) {
  std::vector<bool> best(t.rows.size(), false);
  int with_value = 0;
  double b = 0;
  for (const auto& r : t.rows) {
    const Aggregate& a = col.get(r);
    if (a.n == 0) continue;
    if (with_value++ == 0 || (col.higher_better ? a.mean > b : a.mean < b)) b = a.mean;
  }
  if (with_value < 2) return best;
  for (size_t i = 0; i < t.rows.size(); ++i)
    best[i] = col.get(t.rows[i]).n > 0 && col.get(t.rows[i]).mean == b;
  return best;
}

std::string fixed(double v, int digits) { return fmt::format("{:.{}f}", v, digits); }

int metric_digits(const std::string& metric) { return metric == "accuracy" ? 1 : 3; }

// "1.339 ± 0.012" (Markdown) or "1.339 $\pm$ 0.012" (LaTeX); the mean alone for one seed.
std::string mean_std(const Aggregate& a, double scale, int digits, const std::string& pm) {
  if (a.n == 0) return "";
  std::string s = fixed(a.mean * scale, digits);
  if (a.n >= 2 && std::isfinite(a.std)) s += pm + fixed(a.std * scale, digits);
  return s;
}

std::string cell(const Aggregate& a, int digits) { return a.n == 0 ? "" : fixed(a.mean, digits); }

std::string group_text(const json& group) {
  std::string s;
  for (auto& [k, v] : group.items())
    s += (s.empty() ? "" : ", ") + k + " = " + (v.is_string() ? v.get<std::string>() : v.dump());
  return s;
}

std::string table_title(const Collected& c, const Table& t) {
  std::string s = fmt::format("{}: eval set {}", c.sweep_name, t.eval_set);
  if (!t.group.empty()) s += " (" + group_text(t.group) + ")";
  return s;
}

// The text cells of a row: method, setting, metric, seeds, tokens, % of N, latency, training.
std::vector<std::string> row_cells(const Table& t, const TableRow& r, const std::string& pm) {
  return {method_name(r.method),
          r.setting,
          mean_std(r.metric, metric_display_scale(t.metric_name), metric_digits(t.metric_name), pm),
          std::to_string(r.metric.n),
          cell(r.tokens, 2),
          cell(r.percent_of_n, 1),
          cell(r.latency_us, 1),
          cell(r.train_minutes, 1)};
}
// Cell index of each compared column in row_cells.
constexpr size_t kCellOf[] = {2, 4, 5, 6, 7};

const char* kNote =
    "mean ± sample std over seeds (n = seeds); tokens attended per query (CA: N; Perceiver IO: L; "
    "TCA: the nominal "
    "|S| = k(b-1) + P); % of N = mean over queries of tokens / N (a mean of ratios); latency = "
    "inference time per "
    "query of `tca eval` at the run's thread count; training = wall time including the periodic "
    "evaluation. "
    "Best mean per column in bold.";

std::string left_out_markdown(const Collected& c) {
  if (c.missing.empty() && c.failed.empty()) return "";
  std::string s = "### Runs not in the tables\n\n";
  for (const auto& f : c.failed) s += "- FAILED `" + f.run_id + "`: " + f.reason + "\n";
  for (const auto& m : c.missing) s += "- missing `" + m.run_id + "`: " + m.reason + "\n";
  return s + "\n";
}

std::string latex_escape(const std::string& s) {
  std::string out;
  for (char ch : s) {
    switch (ch) {
      case '_':
        out += "\\_";
        break;
      case '%':
        out += "\\%";
        break;
      case '&':
        out += "\\&";
        break;
      case '#':
        out += "\\#";
        break;
      case '$':
        out += "\\$";
        break;
      case '{':
        out += "\\{";
        break;
      case '}':
        out += "\\}";
        break;
      case '~':
        out += "\\textasciitilde{}";
        break;
      default:
        out += ch;
    }
  }
  return out;
}

// The paper's figure for a row, "—" when the paper is not quoted for it.
std::string paper_text(const TableRow& r) { return r.paper.empty() ? "—" : r.paper; }

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

json aggregate_json(const Aggregate& a, double scale = 1.0) {
  if (a.n == 0) return nullptr;
  return {{"mean", a.mean * scale},
          {"std", a.n >= 2 && std::isfinite(a.std) ? json(a.std * scale) : json(nullptr)},
          {"n", a.n}};
}

std::string number_or_empty(const Aggregate& a, bool std_value) {
  if (a.n == 0) return "";
  if (std_value) return a.n >= 2 && std::isfinite(a.std) ? fmt::format("{:.6g}", a.std) : "";
  return fmt::format("{:.6g}", a.mean);
}

}  // namespace

std::string tables_markdown(const Collected& c) {
  std::string s = "## Sweep `" + c.sweep_name + "`\n\n";
  if (c.tables.empty()) s += "No finished runs yet.\n\n";
  for (const auto& t : c.tables) {
    // N here is a mean over the eval set's tasks, the tokens columns are means over queries: with
    // a varying N (GP: Nc ~ U{3..46}, fewer targets where Nc is large) CA's "N" tokens differ.
    s += fmt::format(
        "### {}\n\nTask {}, N = {:.1f} context tokens on average over the eval set's tasks (the "
        "tokens columns average over queries).\n\n",
        table_title(c, t), t.task, t.n_context);
    s += "| Method | Setting | " + metric_label(t.metric_name) +
         " | seeds | tokens attended | % of N | latency (µs/query) | training (min) |" +
         (c.with_paper ? " the paper |" : "") + "\n";
    s += std::string("|---|---|---:|---:|---:|---:|---:|---:|") + (c.with_paper ? "---|" : "") +
         "\n";
    std::vector<std::vector<std::string>> cells;
    for (const auto& r : t.rows) {
      cells.push_back(row_cells(t, r, " ± "));
      if (c.with_paper) cells.back().push_back(paper_text(r));
    }
    const auto cols = columns(t);
    for (size_t k = 0; k < cols.size(); ++k) {
      const auto best = best_rows(t, cols[k]);
      for (size_t i = 0; i < t.rows.size(); ++i) {
        if (best[i]) cells[i][kCellOf[k]] = "**" + cells[i][kCellOf[k]] + "**";
      }
    }
    for (const auto& row : cells) {
      s += "|";
      for (const auto& x : row) s += " " + x + " |";
      s += "\n";
    }
    s += "\n";
  }
  s += left_out_markdown(c);
  s += std::string("_") + kNote + "_\n";
  if (c.with_paper) s += "\n_The paper: " + c.paper_note + "_\n";
  return s;
}

std::string tables_latex(const Collected& c) {
  std::string s = "% Generated by `tca sweep collect` from the run files of sweep " +
                  latex_escape(c.sweep_name) + "; needs \\usepackage{booktabs}.\n";
  for (const auto& t : c.tables) {
    std::vector<std::vector<std::string>> cells;
    for (const auto& r : t.rows) {
      auto row = row_cells(t, r, " $\\pm$ ");
      if (c.with_paper) row.push_back(paper_text(r));
      for (size_t i = 0; i < row.size(); ++i) {
        if (i != 2) row[i] = latex_escape(row[i]);
      }
      cells.push_back(row);
    }
    const auto cols = columns(t);
    for (size_t k = 0; k < cols.size(); ++k) {
      const auto best = best_rows(t, cols[k]);
      for (size_t i = 0; i < t.rows.size(); ++i) {
        if (best[i]) cells[i][kCellOf[k]] = "\\textbf{" + cells[i][kCellOf[k]] + "}";
      }
    }
    s += "\n\\begin{table}[t]\n\\centering\n";
    s += "\\caption{" + latex_escape(table_title(c, t)) +
         fmt::format(" (task {}, mean $N$ over tasks = {:.1f}).", latex_escape(t.task),
                     t.n_context) +
         " Mean $\\pm$ std over seeds; best in bold; \\% of $N$ = mean over queries of tokens / "
         "$N$ (a mean of ratios)." +
         (c.with_paper ? " The paper: " + latex_escape(c.paper_note) : std::string()) + "}\n";
    s += std::string("\\begin{tabular}{llrrrrrr") + (c.with_paper ? "l" : "") + "}\n\\toprule\n";
    s += "Method & Setting & " + latex_escape(metric_label(t.metric_name)) +
         " & seeds & tokens & \\% of $N$ & latency ($\\mu$s/query) & training (min)" +
         (c.with_paper ? " & the paper" : "") + " \\\\\n\\midrule\n";
    for (const auto& row : cells) {
      for (size_t i = 0; i < row.size(); ++i) s += (i ? " & " : "") + row[i];
      s += " \\\\\n";
    }
    s += "\\bottomrule\n\\end{tabular}\n\\end{table}\n";
  }
  return s;
}

std::string tables_csv(const Collected& c) {
  std::string s =
      "sweep,eval_set,group,task,method,setting,metric,metric_mean,metric_std,seeds,tokens_"
      "attended_mean,percent_of_n_mean,"
      "latency_us_per_query_mean,latency_us_per_query_std,train_minutes_mean,train_minutes_std,n_"
      "context,run_ids" +
      std::string(c.with_paper ? ",paper" : "") + "\n";
  for (const auto& t : c.tables) {
    for (const auto& r : t.rows) {
      std::string ids;
      for (const auto& id : r.run_ids) ids += (ids.empty() ? "" : " ") + id;
      std::vector<std::string> f = {c.sweep_name,
                                    t.eval_set,
                                    group_text(t.group),
                                    t.task,
                                    r.method,
                                    r.setting,
                                    t.metric_name,
                                    number_or_empty(r.metric, false),
                                    number_or_empty(r.metric, true),
                                    std::to_string(r.metric.n),
                                    number_or_empty(r.tokens, false),
                                    number_or_empty(r.percent_of_n, false),
                                    number_or_empty(r.latency_us, false),
                                    number_or_empty(r.latency_us, true),
                                    number_or_empty(r.train_minutes, false),
                                    number_or_empty(r.train_minutes, true),
                                    fmt::format("{:.6g}", t.n_context),
                                    ids};
      if (c.with_paper) f.push_back(r.paper);
      for (size_t i = 0; i < f.size(); ++i) s += (i ? "," : "") + csv_field(f[i]);
      s += "\n";
    }
  }
  return s;
}

json tables_json(const Collected& c) {
  json tables = json::array();
  for (const auto& t : c.tables) {
    json rows = json::array();
    for (const auto& r : t.rows) {
      rows.push_back({{"method", r.method},
                      {"method_name", method_name(r.method)},
                      {"setting", r.setting},
                      {"setting_values", r.setting_json},
                      {"metric", aggregate_json(r.metric)},
                      {"tokens_attended", aggregate_json(r.tokens)},
                      {"percent_of_n", aggregate_json(r.percent_of_n)},
                      {"latency_us_per_query", aggregate_json(r.latency_us)},
                      {"train_minutes", aggregate_json(r.train_minutes)},
                      {"seeds", r.seeds},
                      {"run_ids", r.run_ids}});
      if (c.with_paper) rows.back()["paper"] = r.paper.empty() ? json() : json(r.paper);
    }
    json best = json::object();
    for (const auto& col : columns(t)) {
      const auto b = best_rows(t, col);
      json idx = json::array();
      for (size_t i = 0; i < b.size(); ++i) {
        if (b[i]) idx.push_back(i);
      }
      best[col.name] = idx;
    }
    tables.push_back({{"eval_set", t.eval_set},
                      {"group", t.group},
                      {"task", t.task},
                      {"metric", t.metric_name},
                      {"n_context", t.n_context},
                      {"rows", rows},
                      {"best", best}});
  }
  json left = json::array(), failed = json::array();
  for (const auto& m : c.missing) left.push_back({{"run_id", m.run_id}, {"reason", m.reason}});
  for (const auto& f : c.failed) failed.push_back({{"run_id", f.run_id}, {"reason", f.reason}});
  json out = {{"sweep", c.sweep_name},
              {"tables", tables},
              {"missing", left},
              {"failed", failed},
              {"note", kNote}};
  if (c.with_paper) out["paper_note"] = c.paper_note;
  return out;
}

}  // namespace tca::sweep
