#include "sweep/plots.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "sweep/child_process.hpp"

namespace tca::sweep {

namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

std::string sanitize(const std::string& s) {
  std::string out;
  for (char c : s)
    out += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-') ? c : '_';
  return out;
}

std::string group_suffix(const json& group) {
  std::string s;
  for (auto& [k, v] : group.items())
    s += "-" + sanitize(k + (v.is_string() ? v.get<std::string>() : v.dump()));
  return s;
}

std::string group_title(const json& group) {
  std::string s;
  for (auto& [k, v] : group.items())
    s += (s.empty() ? "" : ", ") + k + " = " + (v.is_string() ? v.get<std::string>() : v.dump());
  return s;
}

// A gnuplot single-quoted string (no escapes are interpreted; '' is a quote).
std::string gp_string(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("''") : std::string(1, c);
  return q + "'";
}

std::string num(double v) { return std::isfinite(v) ? fmt::format("{:.9g}", v) : "0"; }

// One point of a data block: x, then the mean and std over seeds scaled for display (the std of
// one seed, not finite, is written as 0 by num).
std::string point_line(const std::string& x, const Aggregate& a, double scale = 1.0) {
  return x + " " + num(a.mean * scale) + " " + num(a.std * scale) + "\n";
}

// The plot command's clause for data block `index` of DAT: error bars over seeds, its line style.
std::string series_clause(size_t index, const std::string& dat, int style, const std::string& label,
                          const std::string& extra = "") {
  return fmt::format("{}{} index {} using 1:2:3 with yerrorlines ls {}{} title {}",
                     index ? ", \\\n     " : "", gp_string(dat), index, style, extra,
                     gp_string(label));
}

// The same picture as SVG and PNG: the script sets each terminal in turn and replots. The output
// names are variables so that collect can render to temp names (gnuplot -e) and rename them after
// a clean exit, while `gnuplot BASE.gp` by hand still writes BASE.svg and BASE.png.
std::string render_block(const std::string& base, const std::string& plot_command) {
  std::string s;
  s += "if (!exists(\"svg_out\")) svg_out = " + gp_string(base + ".svg") + "\n";
  s += "if (!exists(\"png_out\")) png_out = " + gp_string(base + ".png") + "\n";
  s +=
      "set terminal svg size 720,480 dynamic noenhanced font 'Helvetica,12' background '#ffffff'\n";
  s += "set output svg_out\n";
  s += plot_command;
  s += "set terminal pngcairo size 960,640 noenhanced font 'Helvetica,12' background '#ffffff'\n";
  s += "set output png_out\n";
  s += "replot\nunset output\n";
  return s;
}

// Ten line styles (the tab10 palette, a point type each): 1-3 are CA, TCA and Perceiver IO in
// every plot; a sweep's further series (other settings: ablations, Perceiver IO's L) take 4-10,
// so that up to ten series stay apart. The key goes below the plot, where it hides no curve.
const char* kStyles =
    "set style line 1 lc rgb '#1f77b4' lw 2 pt 7 ps 1.2\n"
    "set style line 2 lc rgb '#d62728' lw 2 pt 5 ps 1.2\n"
    "set style line 3 lc rgb '#2ca02c' lw 2 pt 9 ps 1.2\n"
    "set style line 4 lc rgb '#9467bd' lw 2 pt 11 ps 1.2\n"
    "set style line 5 lc rgb '#ff7f0e' lw 2 pt 13 ps 1.2\n"
    "set style line 6 lc rgb '#8c564b' lw 2 pt 3 ps 1.2\n"
    "set style line 7 lc rgb '#e377c2' lw 2 pt 4 ps 1.2\n"
    "set style line 8 lc rgb '#7f7f7f' lw 2 pt 6 ps 1.2\n"
    "set style line 9 lc rgb '#bcbd22' lw 2 pt 8 ps 1.2\n"
    "set style line 10 lc rgb '#17becf' lw 2 pt 10 ps 1.2\n"
    "set grid lc rgb '#dddddd'\nset key below\nset border lc rgb '#444444'\n";

int method_style(const std::string& method) {
  if (method == "ca") return 1;
  if (method == "tca") return 2;
  if (method == "perceiver") return 3;
  return 0;
}

std::string find_gnuplot(const std::string& gnuplot) {
  if (gnuplot.find('/') != std::string::npos) return gnuplot;
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin:/bin");
  for (std::string d; std::getline(dirs, d, ':');) {
    if (!d.empty() && fs::exists(fs::path(d) / gnuplot)) return (fs::path(d) / gnuplot).string();
  }
  throw RuntimeFailure(
      "--plots needs gnuplot, which is not installed (Debian package gnuplot-nox; `make deps` "
      "installs it)");
}

// fsync before the rename, so that a crash cannot leave an empty picture under the final name.
bool sync_file(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

// Runs DIR/BASE.gp with the outputs set to BASE.svg.part and BASE.png.part, and renames those onto
// BASE.svg and BASE.png only after gnuplot exited 0: a failed or interrupted collect never leaves
// a truncated picture where a good one was (conventions.md, "Run directories").
void run_gnuplot(const std::string& gnuplot, const std::string& dir, const std::string& base) {
  const std::string exe = find_gnuplot(gnuplot);
  const std::string script = (fs::path(dir) / (base + ".gp")).string();
  const std::string log = (fs::path(dir) / ".gnuplot.log").string();
  const std::vector<std::string> finals = {base + ".svg", base + ".png"};
  std::error_code ec;
  auto remove_temps = [&] {
    for (const auto& f : finals) fs::remove(fs::path(dir) / (f + ".part"), ec);
  };
  remove_temps();  // left by a collect killed while gnuplot ran
  fs::remove(log, ec);
  // Valid gnuplot and sh alike (the tests' fake gnuplot evals it); base is sanitized.
  const std::string outputs =
      "svg_out=" + gp_string(finals[0] + ".part") + "; png_out=" + gp_string(finals[1] + ".part");
  const std::string cwd = fs::current_path().string();
  fs::current_path(dir);
  ChildResult r;
  try {
    r = run_child({exe, "-e", outputs, base + ".gp"}, {}, ".gnuplot.log");
  } catch (...) {
    fs::current_path(cwd);
    remove_temps();
    throw;
  }
  fs::current_path(cwd);
  if (r.exit_code != 0) {
    remove_temps();
    throw RuntimeFailure(fmt::format("gnuplot failed on {} (exit {}): {}", script, r.exit_code,
                                     last_error_line(log)));
  }
  for (const auto& f : finals) {
    const fs::path tmp = fs::path(dir) / (f + ".part");
    if (!fs::is_regular_file(tmp) || !sync_file(tmp)) {
      remove_temps();
      throw RuntimeFailure(fmt::format("gnuplot wrote no {} from {}", f, script));
    }
  }
  for (const auto& f : finals) {
    fs::rename(fs::path(dir) / (f + ".part"), fs::path(dir) / f, ec);
    if (ec) {
      const std::string why = ec.message();
      remove_temps();
      throw RuntimeFailure(fmt::format("cannot rename {}.part onto {} in {}: {}", f, f, dir, why));
    }
  }
  fs::remove(log, ec);
}

struct Plot {
  std::string base, data, script;
};

std::string script_head(const std::string& base) {
  return "# Generated by `tca sweep collect --plots`; run in this directory: gnuplot " + base +
         ".gp\n";
}

// Latency per query against context size N, per eval set whose tables (its groups) span two or
// more N: how each method's inference cost grows with N, which no single table shows.
std::vector<Plot> latency_plots(const Collected& c) {
  std::vector<std::string> eval_sets;
  for (const auto& t : c.tables) {
    if (std::find(eval_sets.begin(), eval_sets.end(), t.eval_set) == eval_sets.end())
      eval_sets.push_back(t.eval_set);
  }
  std::vector<Plot> plots;
  for (const auto& set : eval_sets) {
    // N is a mean over the eval set's tasks: values within 0.05 are the same N.
    std::vector<double> ns;
    auto n_index = [&](double n) {
      for (size_t i = 0; i < ns.size(); ++i) {
        if (std::abs(ns[i] - n) <= 0.05) return i;
      }
      ns.push_back(n);
      return ns.size() - 1;
    };
    struct Point {
      const Table* table;
      const TableRow* row;
    };
    struct Series {
      std::string method, label;
      std::map<size_t, Point> at;  // N index -> the row plotted there
    };
    std::vector<Series> series;
    for (const auto& t : c.tables) {
      if (t.eval_set != set) continue;
      for (const auto& r : t.rows) {
        if (r.latency_us.n == 0) continue;
        // Perceiver IO's "match-tca" stays in the label: its L follows N, so one line.
        nlohmann::json setting = r.setting_json;
        if (setting.is_object() && t.group.is_object()) {
          for (auto& [k, v] : t.group.items()) setting.erase(k);
        }
        const std::string label = series_label(r.method, setting);
        auto it = std::find_if(series.begin(), series.end(),
                               [&](const Series& x) { return x.label == label; });
        if (it == series.end()) it = series.insert(series.end(), Series{r.method, label, {}});
        // Several rows at one N (step budgets of one seq_len): the most seeds, else the first.
        auto [p, fresh] = it->at.try_emplace(n_index(t.n_context), Point{&t, &r});
        if (!fresh && r.latency_us.n > p->second.row->latency_us.n) p->second = Point{&t, &r};
      }
    }
    if (ns.size() < 2) continue;

    Plot plot{sanitize(set) + "-latency-vs-n", "", ""};
    plot.data = "# N  latency_us_mean  latency_us_std  (eval set " + set +
                "; one block per series; a comment before each point names its table group)\n";
    std::vector<std::string> methods;
    for (const auto& x : series) methods.push_back(x.method);
    const std::vector<int> styles = series_styles(methods);
    std::string command = "plot ";
    for (size_t m = 0; m < series.size(); ++m) {
      std::vector<Point> points;
      for (const auto& [i, p] : series[m].at) points.push_back(p);
      std::sort(points.begin(), points.end(), [](const Point& a, const Point& b) {
        return a.table->n_context < b.table->n_context;
      });
      plot.data += "# " + series[m].label + "\n";
      for (const auto& p : points) {
        const Aggregate& l = p.row->latency_us;
        const std::string group = group_title(p.table->group);
        plot.data += fmt::format("# {}, {} seed{}\n", group.empty() ? "no group" : group, l.n,
                                 l.n == 1 ? "" : "s");
        plot.data += point_line(num(p.table->n_context), l);
      }
      plot.data += "\n\n";
      command += series_clause(m, plot.base + ".dat", styles[m], series[m].label);
    }
    command += "\n";
    plot.script = script_head(plot.base) + "set encoding utf8\n" + kStyles;
    plot.script +=
        "set title " +
        gp_string(c.sweep_name + ": inference latency per query against context size N (eval set " +
                  set + ")") +
        "\n";
    plot.script += "set xlabel 'context tokens N (log scale)'\nset ylabel 'latency (µs/query)'\n";
    plot.script += "set logscale x 2\nset offsets graph 0.05, graph 0.05, graph 0.05, graph 0.05\n";
    plot.script += render_block(plot.base, command);
    plots.push_back(plot);
  }
  return plots;
}

}  // namespace

std::vector<int> series_styles(const std::vector<std::string>& methods) {
  std::vector<int> styles;
  std::set<std::string> seen;
  int further = 0;
  for (const auto& method : methods) {
    const int own = method_style(method);
    const bool first_of_method = own > 0 && seen.insert(method).second;
    styles.push_back(first_of_method ? own : kFirstFurtherStyle + further++ % kFurtherStyles);
  }
  return styles;
}

std::vector<std::string> write_plots(const Collected& c, const std::string& plots_dir,
                                     const std::string& gnuplot) {
  std::error_code ec;
  fs::create_directories(plots_dir, ec);
  if (ec) throw RuntimeFailure("cannot create " + plots_dir + ": " + ec.message());
  std::vector<std::string> files;
  auto emit = [&](const std::string& base, const std::string& data, const std::string& script) {
    const std::string dat = (fs::path(plots_dir) / (base + ".dat")).string();
    const std::string gp = (fs::path(plots_dir) / (base + ".gp")).string();
    write_text_atomically(dat, data);
    write_text_atomically(gp, script);
    run_gnuplot(gnuplot, plots_dir, base);
    files.insert(files.end(), {dat, gp, (fs::path(plots_dir) / (base + ".svg")).string(),
                               (fs::path(plots_dir) / (base + ".png")).string()});
  };

  // Metric against tokens attended, one series (a data block) per method.
  for (const auto& t : c.tables) {
    const std::string base = sanitize(t.eval_set) + group_suffix(t.group) + "-metric-vs-tokens";
    const double scale = metric_display_scale(t.metric_name);
    std::string data = "# tokens_attended  metric_mean  metric_std  (" + t.metric_name +
                       "; one block per series)\n";
    // One series per method and setting apart from L: a line through Perceiver IO's L values
    // (which set the tokens it attends to), a point of its own for a setting that changes
    // something else (the ablations' b, loss weights, reward), never a line between those.
    struct Series {
      std::string method, label;
      std::vector<const TableRow*> rows;
    };
    std::vector<Series> series;
    for (const auto& r : t.rows) {
      if (r.metric.n == 0) continue;
      nlohmann::json other = r.setting_json;
      if (other.is_object()) other.erase("num_latents");
      const std::string label = series_label(r.method, other);
      auto it = std::find_if(series.begin(), series.end(),
                             [&](const Series& x) { return x.label == label; });
      if (it == series.end()) it = series.insert(series.end(), Series{r.method, label, {}});
      it->rows.push_back(&r);
    }
    std::vector<std::string> methods;
    for (const auto& x : series) methods.push_back(x.method);
    const std::vector<int> styles = series_styles(methods);
    std::string plot = "plot ";
    for (size_t m = 0; m < series.size(); ++m) {
      std::vector<const TableRow*>& rows = series[m].rows;
      std::sort(rows.begin(), rows.end(), [](const TableRow* a, const TableRow* b) {
        return a->tokens.mean < b->tokens.mean;
      });
      data += "# " + series[m].label + "\n";
      for (const auto* r : rows) {
        data += point_line(num(r->tokens.mean), r->metric, scale);
      }
      data += "\n\n";
      plot += series_clause(m, base + ".dat", styles[m], series[m].label);
    }
    plot += "\n";
    std::string title = c.sweep_name + ": " + metric_label(t.metric_name) + " on " + t.eval_set;
    if (!t.group.empty()) title += " (" + group_title(t.group) + ")";
    std::string script = script_head(base) + kStyles;
    script += "set title " + gp_string(title) + "\n";
    script += "set xlabel 'tokens attended per query (log scale)'\nset ylabel " +
              gp_string(metric_label(t.metric_name)) + "\n";
    script += "set logscale x 2\nset offsets graph 0.05, graph 0.05, graph 0.05, graph 0.05\n";
    script += render_block(base, plot);
    emit(base, data, script);
  }

  for (const auto& p : latency_plots(c)) emit(p.base, p.data, p.script);

  // Training curves: eval metric against step, one series per method and setting.
  for (const auto& cv : c.curves) {
    const std::string base = "curves" + group_suffix(cv.group);
    const double scale = metric_display_scale(cv.metric_name);
    std::string data =
        "# step  metric_mean  metric_std  (" + cv.metric_name + "; one block per series)\n";
    std::vector<std::string> series_methods;
    for (const auto& s : cv.series) series_methods.push_back(s.method);
    const std::vector<int> styles = series_styles(series_methods);
    std::string plot = "plot ";
    for (size_t i = 0; i < cv.series.size(); ++i) {
      const auto& s = cv.series[i];
      data += "# " + s.label + "\n";
      for (size_t k = 0; k < s.steps.size(); ++k) {
        data += point_line(std::to_string(s.steps[k]), s.values[k], scale);
      }
      data += "\n\n";
      plot += series_clause(i, base + ".dat", styles[i], s.label, " ps 0.6");
    }
    plot += "\n";
    std::string title = c.sweep_name + ": training curves (" + metric_label(cv.metric_name) +
                        " on the curve eval set)";
    if (!cv.group.empty()) title += ", " + group_title(cv.group);
    std::string script = script_head(base) + kStyles;
    script += "set title " + gp_string(title) + "\nset xlabel 'training step'\nset ylabel " +
              gp_string(metric_label(cv.metric_name)) + "\n";
    script += render_block(base, plot);
    emit(base, data, script);
  }
  return files;
}

}  // namespace tca::sweep
