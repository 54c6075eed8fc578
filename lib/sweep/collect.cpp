#include "sweep/collect.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <set>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "io/json_io.hpp"
#include "models/model_config.hpp"
#include "sweep/paper_figures.hpp"
#include "sweep/plots.hpp"
#include "sweep/result_tables.hpp"
#include "sweep/run_record.hpp"
#include "train/run_directory.hpp"

namespace tca::sweep {

namespace fs = std::filesystem;
using json = nlohmann::json;

Aggregate aggregate(const std::vector<double>& v) {
  Aggregate a;
  a.n = static_cast<int>(v.size());
  if (v.empty()) return a;
  double sum = 0;
  for (double x : v) sum += x;
  a.mean = sum / static_cast<double>(v.size());
  if (v.size() < 2) {
    a.std = NAN;
    return a;
  }
  double ss = 0;
  for (double x : v) ss += (x - a.mean) * (x - a.mean);
  a.std = std::sqrt(ss / static_cast<double>(v.size() - 1));
  return a;
}

std::string method_name(const std::string& model) {
  const auto kind = find_named(kModelKindNames, model);
  if (!kind) return model;
  switch (*kind) {
    case ModelKind::ca:
      return "Transformer + CA";
    case ModelKind::tca:
      return "ReTreever (TCA)";
    case ModelKind::perceiver:
      return "Perceiver IO";
  }
  return model;
}

std::string metric_label(const std::string& m) {
  if (m == "accuracy") return "accuracy (%)";
  if (m == "tar_ll") return "target log-likelihood";
  if (m == "mse") return "MSE";
  return m;
}

bool higher_is_better(const std::string& m) { return m == "accuracy" || m == "tar_ll"; }
double metric_display_scale(const std::string& m) { return m == "accuracy" ? 100.0 : 1.0; }

namespace {
std::string value_text(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }
}  // namespace

std::string setting_text(const json& setting, const std::set<int64_t>& matched_latents) {
  std::string s;
  for (auto& [k, v] : setting.items()) {
    std::string part;
    if (k == "num_latents" && v == kMatchTca) {
      std::string ls;
      for (int64_t l : matched_latents) ls += (ls.empty() ? "" : ", ") + std::to_string(l);
      part = "L matched to TCA" + (ls.empty() ? std::string() : " (" + ls + ")");
    } else if (k == "num_latents") {
      part = "L = " + value_text(v);
    } else if (k == "branch_factor") {
      part = "b = " + value_text(v);
    } else {
      part = k + " = " + value_text(v);
    }
    s += (s.empty() ? "" : ", ") + part;
  }
  return s;
}

std::string series_label(const std::string& model, const json& setting) {
  const std::string text = setting.is_object() ? setting_text(setting) : "";
  return method_name(model) + (text.empty() ? "" : ", " + text);
}

namespace {

// CA, TCA, Perceiver IO (the order of ModelKind), then anything else.
int method_order(const std::string& model) {
  const auto kind = find_named(kModelKindNames, model);
  return kind ? static_cast<int>(*kind) : 3;
}

std::string metric_of(const json& eval, const std::string& file) {
  if (!eval.contains("metrics") || !eval["metrics"].is_object())
    throw InputError(file, "metrics", "invalid eval result", "an object", "none");
  const std::string m = task_metric_in(eval["metrics"]);
  if (m.empty())
    throw InputError(file, "metrics", "eval result without a metric", "accuracy, tar_ll or mse",
                     eval["metrics"].dump());
  return m;
}

double number_at(const json& j, const std::vector<std::string>& path, const std::string& file) {
  const json* node = &j;
  std::string key;
  for (const auto& p : path) {
    key += (key.empty() ? "" : ".") + p;
    if (!node->is_object() || !node->contains(p))
      throw InputError(file, key, "missing result field", "a number", "none");
    node = &(*node)[p];
  }
  if (!node->is_number())
    throw InputError(file, key, "invalid result field", "a number", node->dump());
  return node->get<double>();
}

std::string partial_reason(const Sweep& sweep, const PlannedRun& run, const RunRecord& rec) {
  if (rec.train_done) {
    std::string missing;
    for (const auto& e : run.eval_sets) {
      if (!rec.evals.count(e.name)) missing += (missing.empty() ? "" : ", ") + e.name;
    }
    return "trained, not yet evaluated on " + missing;
  }
  const std::string dir = sweep.run_dir(run);
  return fmt::format("step {} of {}", largest_step(dir), configured_steps(dir));
}

struct RowKey {
  std::string table, row;
  bool operator<(const RowKey& o) const { return std::tie(table, row) < std::tie(o.table, o.row); }
};

struct RowValues {
  std::vector<double> metric, tokens, percent, latency, minutes;
  std::set<int64_t> latents;
};

}  // namespace

Collected aggregate_sweep(const Sweep& sweep) {
  Collected c;
  c.sweep_name = sweep.settings.name;
  std::map<std::string, size_t> table_index;  // eval set + group -> tables[i]
  std::map<RowKey, size_t> row_index;         // -> rows[i] of its table
  std::map<RowKey, RowValues> values;
  std::map<std::string, size_t> curve_index;                           // group -> curves[i]
  std::map<std::pair<std::string, std::string>, size_t> series_index;  // group, series -> series[i]
  std::map<std::pair<std::string, std::string>, std::vector<std::map<int64_t, double>>> series_runs;

  for (const auto& run : sweep.runs) {
    const RunRecord rec = read_run_record(sweep, run);
    if (rec.progress == RunProgress::not_started) {
      c.missing.push_back({run.run_id, "not finished", ""});
      continue;
    }
    if (rec.progress == RunProgress::failed) {
      c.failed.push_back(
          {run.run_id,
           "failed at " + (rec.stage.empty() ? std::string("train") : rec.stage) + ": " + rec.error,
           ""});
      continue;
    }
    if (rec.progress == RunProgress::partial) {
      c.missing.push_back({run.run_id, "not finished", partial_reason(sweep, run, rec)});
      continue;
    }
    const std::string dir = sweep.run_dir(run);
    const std::string model = run.config.value("model", std::string());
    json group = json::object(), row_setting = json::object();
    for (const auto& k : sweep.settings.group_by) {
      if (run.config.contains(k)) group[k] = run.config[k];
    }
    for (auto& [k, v] : run.setting.items()) {
      if (!group.contains(k)) row_setting[k] = v;
    }
    const std::string metrics_path = (fs::path(dir) / RunDirectory::kMetrics).string();
    const auto metrics =
        fs::exists(metrics_path) ? io::read_jsonl_file(metrics_path, true) : std::vector<json>{};
    const auto train_s = training_seconds(metrics);
    const json latents =
        rec.sweep_run.is_object() ? rec.sweep_run.value("num_latents", json()) : json();

    for (const auto& e : run.eval_sets) {
      const json& ev = rec.evals.at(e.name);
      const std::string file = (fs::path(dir) / eval_file_name(e.name)).string();
      const std::string metric = metric_of(ev, file);
      const std::string tkey = e.name + "\n" + group.dump();
      if (!table_index.count(tkey)) {
        table_index[tkey] = c.tables.size();
        Table t;
        t.eval_set = e.name;
        t.group = group;
        t.task = run.config.value("task", std::string("file"));
        t.metric_name = metric;
        t.n_context = number_at(ev, {"n_context"}, file);
        c.tables.push_back(t);
      }
      Table& t = c.tables[table_index[tkey]];
      if (t.metric_name != metric) {
        throw InputError(file, "metrics", "runs of one table report different metrics",
                         t.metric_name, metric);
      }
      const RowKey rk{tkey, model + "\n" + row_setting.dump()};
      if (!row_index.count(rk)) {
        row_index[rk] = t.rows.size();
        TableRow r;
        r.method = model;
        r.setting_json = row_setting;
        t.rows.push_back(r);
      }
      TableRow& row = t.rows[row_index[rk]];
      row.run_ids.push_back(run.run_id);
      row.seeds.push_back(run.config.value("seed", int64_t{0}));
      RowValues& v = values[rk];
      v.metric.push_back(number_at(ev, {"metrics", metric}, file));
      v.tokens.push_back(number_at(ev, {"tokens_attended", "mean"}, file));
      v.percent.push_back(number_at(ev, {"tokens_attended", "percent_of_n"}, file));
      v.latency.push_back(number_at(ev, {"latency_us_per_query"}, file));
      if (train_s) v.minutes.push_back(*train_s / 60.0);
      if (latents.is_number_integer()) v.latents.insert(latents.get<int64_t>());
    }

    // Training curve on the curve eval set.
    if (!sweep.settings.curve_eval.empty()) {
      std::map<int64_t, double> points;
      std::string metric;
      for (const auto& r : metrics) {
        const auto p = eval_point(r);
        if (!p) continue;
        metric = p->metric;
        points[p->step] = p->value;  // a step logged again after a resume: its later record
      }
      if (!points.empty()) {
        const std::string gkey = group.dump();
        if (!curve_index.count(gkey)) {
          curve_index[gkey] = c.curves.size();
          Curves cv;
          cv.group = group;
          cv.metric_name = metric;
          c.curves.push_back(cv);
        }
        Curves& cv = c.curves[curve_index[gkey]];
        const auto skey = std::make_pair(gkey, model + "\n" + row_setting.dump());
        if (!series_index.count(skey)) {
          series_index[skey] = cv.series.size();
          CurveSeries s;
          s.method = model;
          s.label = series_label(model, row_setting);
          cv.series.push_back(s);
        }
        series_runs[skey].push_back(points);
      }
    }
  }

  const PaperFigures paper = read_paper_figures(sweep.dir);
  c.with_paper = paper.present;
  c.paper_note = paper.note;
  for (auto& t : c.tables) {
    const std::string tkey = t.eval_set + "\n" + t.group.dump();
    for (auto& row : t.rows) {
      const RowValues& v = values[RowKey{tkey, row.method + "\n" + row.setting_json.dump()}];
      row.metric = aggregate(v.metric);
      row.tokens = aggregate(v.tokens);
      row.percent_of_n = aggregate(v.percent);
      row.latency_us = aggregate(v.latency);
      row.train_minutes = aggregate(v.minutes);
      row.setting = setting_text(row.setting_json, v.latents);
      row.paper = paper.cell(t.eval_set, t.group, row.method, row.setting_json);
    }
    std::stable_sort(t.rows.begin(), t.rows.end(), [](const TableRow& a, const TableRow& b) {
      return method_order(a.method) < method_order(b.method);
    });
  }
  for (auto& [skey, runs] : series_runs) {
    CurveSeries& s = c.curves[curve_index[skey.first]].series[series_index[skey]];
    for (const auto& [step, value] : runs.front()) {
      std::vector<double> at;
      for (const auto& r : runs) {
        auto it = r.find(step);
        if (it != r.end()) at.push_back(it->second);
      }
      if (at.size() != runs.size()) continue;  // a step not logged by every seed
      s.steps.push_back(step);
      s.values.push_back(aggregate(at));
    }
  }
  for (auto& cv : c.curves) {
    std::stable_sort(cv.series.begin(), cv.series.end(),
                     [](const CurveSeries& a, const CurveSeries& b) {
                       return method_order(a.method) < method_order(b.method);
                     });
  }
  return c;
}

CollectResult collect(const Sweep& sweep, const CollectOptions& options) {
  const Collected c = aggregate_sweep(sweep);
  CollectResult result;
  for (const auto& m : c.missing) {
    if (!m.progress.empty()) result.partial.push_back(m);
  }
  result.markdown = tables_markdown(c);
  const fs::path tables = fs::path(sweep.dir) / "tables";
  std::error_code ec;
  fs::create_directories(tables, ec);
  if (ec) throw RuntimeFailure("cannot create " + tables.string() + ": " + ec.message());
  for (const auto& f : options.formats) {
    const std::string path = (tables / ("results." + f)).string();
    if (f == "md") write_text_atomically(path, result.markdown);
    if (f == "tex") write_text_atomically(path, tables_latex(c));
    if (f == "csv") write_text_atomically(path, tables_csv(c));
    if (f == "json") io::write_json_atomically(path, tables_json(c));
    result.files.push_back(path);
  }
  if (options.plots) {
    const auto plots = write_plots(c, (fs::path(sweep.dir) / "plots").string(), options.gnuplot);
    result.files.insert(result.files.end(), plots.begin(), plots.end());
  }
  return result;
}

}  // namespace tca::sweep
