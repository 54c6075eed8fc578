// `tca sweep plan|run|collect` (conventions.md "Sweeps and scaling out", issue 18): a grid of
// methods x settings x seeds planned into a sweep directory, run locally (a worker pool), by GNU
// parallel (commands.txt) or as a Slurm job array (sweep.sbatch), and collected into tables
// and plots. The grid format is documented in lib/sweep/grid.hpp and the README's "Sweeps".
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "closest_match.hpp"
#include "command.hpp"
#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/progress.hpp"
#include "io/json_io.hpp"
#include "options.hpp"
#include "sweep/child_process.hpp"
#include "sweep/collect.hpp"
#include "sweep/grid.hpp"
#include "sweep/sweep_plan.hpp"
#include "sweep/sweep_runner.hpp"
#include "sweep/sweep_status.hpp"
#include "train_options.hpp"

namespace tca::cli {

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in)
    throw InputError(path, "", "cannot read the grid file", "a readable JSON file",
                     "missing or unreadable");
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Every planned config must be one `tca train` accepts: each is parsed by train's own option
// layer (types, choices, ranges, task defaults) before anything is written.
void validate_with_train_options(const sweep::Grid& grid, const std::string& grid_path) {
  char tmp[] = "/tmp/tca-sweep-plan-XXXXXX";
  const int fd = mkstemp(tmp);
  if (fd < 0) throw RuntimeFailure("cannot create a temp file in /tmp");
  close(fd);
  struct Remove {
    const char* p;
    ~Remove() { std::remove(p); }
  } remove{tmp};
  for (const auto& r : grid.runs) {
    json c = r.config;
    if (c.value("num_latents", json()) == sweep::kMatchTca) c["num_latents"] = 1;
    write_text_atomically(tmp, c.dump());
    Options train("train", "");
    declare_train_options(train);
    try {
      train.parse(std::vector<std::string>{"--config", tmp, "--out", "unused"});
    } catch (const Error& e) {
      std::string msg = e.what();
      const std::string tmp_text = std::string("config file ") + tmp;
      for (size_t at; (at = msg.find(tmp_text)) != std::string::npos;)
        msg.replace(at, tmp_text.size(), "the grid");
      for (size_t at; (at = msg.find(tmp)) != std::string::npos;)
        msg.replace(at, std::strlen(tmp), "the grid");
      throw UsageError(
          fmt::format("{}: run {} is not a valid tca train config: {}", grid_path, r.run_id, msg));
    }
  }
}

int run_plan(int argc, char** argv) {
  Options o("sweep plan",
            "Expand a grid file (keys = tca train flags; lists are product axes, \"zip\" varies "
            "lists together, "
            "\"seeds\" the seed list, \"runs\" several blocks, \"eval_sets\" the files to score "
            "on) into a sweep "
            "directory: index.jsonl, commands.txt (GNU parallel), sweep.sbatch (Slurm job array). "
            "Re-planning "
            "the same grid adds no run and changes no index or id (commands.txt and sweep.sbatch "
            "are rewritten with this machine's paths); a changed grid may add runs, never redefine "
            "planned ones, "
            "and drop them only with --drop-unstarted.");
  o.add<std::string>(Group::data, "grid", "the grid file").value_name("GRID.json").required();
  o.add<std::string>(Group::output, "out", "the sweep directory").value_name("DIR").required();
  o.add<std::string>(Group::generic, "tca",
                     "the tca command written into commands.txt (default: this binary, "
                     "relative to the current directory when inside it)")
      .value_name("PATH");
  o.add_flag(Group::generic, "drop-unstarted",
             "let the changed grid drop planned runs that never started (no run, log or lock "
             "file); later runs move to lower indices, so resubmit index-based jobs (a running "
             "`sweep run --all` skips the dropped runs; run it again for added ones)");
  if (!o.parse(argc, argv)) return 0;
  const std::string grid_path = o.get<std::string>("grid"), dir = o.get<std::string>("out");
  const std::string text = read_text(grid_path);
  const json grid_json = io::parse_json(text, grid_path);
  Options train("train", "");
  declare_train_options(train);
  // A mistyped key gets the closest train option or grid key, as in a config file.
  std::vector<std::string> known = sweep::grid_meta_keys();
  for (const auto& n : train.names()) known.push_back(underscored(n));
  const sweep::Grid grid = sweep::expand_grid(
      grid_json, grid_path, [&](const std::string& k) { return train.declared(k); },
      [&](const std::string& k) { return closest_match(k, known); });
  validate_with_train_options(grid, grid_path);

  sweep::PlanCommands cmds;
  cmds.tca_absolute = sweep::self_executable();
  std::error_code ec;
  const fs::path rel = fs::relative(cmds.tca_absolute, fs::current_path(), ec);
  cmds.tca_command = o.maybe<std::string>("tca").value_or(
      !ec && !rel.empty() && rel.string().rfind("..", 0) != 0 ? rel.string() : cmds.tca_absolute);
  fs::create_directories(dir, ec);
  if (ec) throw RuntimeFailure("cannot create " + dir + ": " + ec.message());
  cmds.dir_absolute = fs::absolute(dir).lexically_normal().string();
  sweep::PlanOptions plan_options;
  plan_options.drop_unstarted = o.get<bool>("drop-unstarted");
  const sweep::PlanOutcome out = sweep::write_plan(dir, grid, text, cmds, plan_options);
  const size_t total = out.added + out.kept;
  if (out.dropped > 0) {
    std::printf("%s\n", fmt::format("{}: dropped {} unstarted run(s){}", dir, out.dropped,
                                    out.renumbered ? "; later runs have new indices (see "
                                                     "index.jsonl): resubmit index-based jobs"
                                                   : "")
                            .c_str());
  }
  std::printf(
      "%s\n",
      fmt::format(
          "{}: {} runs ({} new, {} already planned); run them with one of\n"
          "  tca sweep run {} --all --jobs {}\n"
          "  parallel -j {} < {}/commands.txt\n"
          "  sbatch {}/sweep.sbatch",
          dir, total, out.added, out.kept, dir,
          std::max(1u, std::thread::hardware_concurrency() / static_cast<unsigned>(grid.threads)),
          std::max(1u, std::thread::hardware_concurrency() / static_cast<unsigned>(grid.threads)),
          dir, dir)
          .c_str());
  return 0;
}

int run_run(int argc, char** argv) {
  Options o(
      "sweep run",
      "Train and evaluate planned runs of a sweep directory: one index (--index, --index-env for "
      "SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX) or all of them with a local worker pool "
      "(--all). "
      "Finished runs are skipped, partial ones resumed from their checkpoint, failed ones recorded "
      "(DIR/runs/RUN_ID/sweep_run.json) without stopping the others. Exit 3 when any run failed. "
      "With --all, several sweep directories share one pool of workers, their runs in the order "
      "given (so that no worker idles at the tail of one sweep).");
  o.add<std::vector<std::string>>(Group::data, "dir",
                                  "the sweep directory (with --all: one or more)")
      .value_name("DIR")
      .positional(-1)
      .required();
  o.add<int64_t>(Group::generic, "index", "run this index of index.jsonl").min(0);
  o.add<std::string>(Group::generic, "index-env", "read the index from this environment variable")
      .value_name("VAR");
  o.add_flag(Group::generic, "all", "run every unfinished run with a local worker pool");
  o.add<int64_t>(Group::generic, "jobs", int64_t{1},
                 "--all: runs side by side (x the grid's threads per run <= cores)")
      .min(1);
  o.add<double>(Group::output, "status-every", 60.0,
                "--all: a status line with each running run's step and ETA this often (0 = never)")
      .unit("s")
      .min(0.0);
  o.add<double>(Group::generic, "wait-poll", 30.0,
                "--index: how often to look for the TCA result a matched run waits on")
      .unit("s")
      .min(0.1);
  if (!o.parse(argc, argv)) return 0;
  std::vector<sweep::Sweep> sweeps;
  for (const auto& dir : o.get<std::vector<std::string>>("dir")) {
    for (const auto& s : sweeps) {
      std::error_code ec;
      if (fs::equivalent(s.dir, dir, ec)) throw UsageError("sweep directory given twice: " + dir);
    }
    sweeps.push_back(sweep::read_sweep(dir));
  }
  sweep::RunnerOptions opt;
  opt.tca_binary = sweep::self_executable();
  opt.jobs = static_cast<int>(o.get<int64_t>("jobs"));
  opt.status_every_s = o.get<double>("status-every");
  opt.wait_poll_s = o.get<double>("wait-poll");
  const int modes = o.has("index") + o.has("index-env") + o.get<bool>("all");
  if (modes != 1) throw UsageError("give exactly one of --index I, --index-env VAR and --all");
  if (o.get<bool>("all")) {
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    int threads = 1;
    for (const auto& sw : sweeps) threads = std::max(threads, sw.settings.threads);
    if (static_cast<unsigned>(opt.jobs * threads) > cores) {
      throw UsageError(fmt::format(
          "--jobs {} x {} thread(s) per run would oversubscribe the {} cores (lower --jobs)",
          opt.jobs, threads, cores));
    }
    return sweep::run_all(sweeps, opt);
  }
  if (sweeps.size() != 1)
    throw UsageError("--index and --index-env take one sweep directory (--all takes several)");
  const sweep::Sweep& sw = sweeps.front();
  if (o.given("jobs")) throw UsageError("--jobs applies to --all only");
  int64_t index = 0;
  if (o.has("index")) {
    index = o.get<int64_t>("index");
  } else {
    const std::string var = o.get<std::string>("index-env");
    const char* v = std::getenv(var.c_str());
    if (!v || !*v) throw UsageError("--index-env " + var + ": the variable is not set");
    char* end = nullptr;
    index = std::strtoll(v, &end, 10);
    if (*end != '\0' || index < 0)
      throw UsageError(
          fmt::format("--index-env {}: expected a non-negative integer, found '{}'", var, v));
  }
  return sweep::run_index(sw, static_cast<size_t>(index), opt);
}

int run_collect(int argc, char** argv) {
  Options o("sweep collect",
            "Aggregate a sweep's finished runs over seeds (mean, std, n) into tables (Markdown, "
            "LaTeX booktabs, "
            "CSV, JSON) under DIR/tables and, with --plots, gnuplot plots (SVG and PNG) under "
            "DIR/plots: metric vs "
            "tokens attended, training curves and, for an eval set whose groups span several "
            "context sizes, latency per query vs N (each picture renamed into place after "
            "gnuplot succeeded). Missing and failed runs are listed, never "
            "averaged over.");
  o.add<std::string>(Group::data, "dir", "the sweep directory")
      .value_name("DIR")
      .positional()
      .required();
  o.add<std::string>(Group::output, "format", std::string("md,tex,csv,json"),
                     "table formats, comma-separated");
  o.add_flag(Group::output, "plots", "also draw the plots with gnuplot");
  if (!o.parse(argc, argv)) return 0;
  const sweep::Sweep sw = sweep::read_sweep(o.get<std::string>("dir"));
  sweep::CollectOptions opt;
  opt.formats.clear();
  std::stringstream formats(o.get<std::string>("format"));
  for (std::string f; std::getline(formats, f, ',');) {
    if (f != "md" && f != "tex" && f != "csv" && f != "json")
      throw UsageError("--format: unknown format '" + f + "' (md, tex, csv, json)");
    opt.formats.push_back(f);
  }
  opt.plots = o.get<bool>("plots");
  const sweep::CollectResult r = sweep::collect(sw, opt);
  std::fputs(r.markdown.c_str(), stdout);
  for (const auto& p : r.partial)
    std::fprintf(stderr, "under way: %s (%s)\n", p.run_id.c_str(), p.progress.c_str());
  for (const auto& f : r.files) std::fprintf(stderr, "wrote %s\n", f.c_str());
  return 0;
}

int run_status(int argc, char** argv) {
  Options o(
      "sweep status",
      "Show where each planned run of a sweep stands (done, running, partial, failed, not "
      "started: running = a `sweep run` on this machine holds its lock; a partial run written in "
      "the last 10 minutes is noted as perhaps running elsewhere; one without its checkpoint, "
      "as in a clone, is noted as starting over), how far it got, and an estimate of "
      "the training time left: each unfinished run's steps to go (all of them when it starts "
      "over) at its own average time "
      "per step, or that of the same config's other seeds, of the same config at another step "
      "budget, or of the same task and method; and its last periodic evaluation (\"last eval\": "
      "the task metric on the curve eval set's first batches, at that step). Reads the run "
      "files only; safe while the sweep "
      "runs. Several directories: one table each, then the totals.");
  o.add<std::vector<std::string>>(Group::data, "dir", "the sweep directories")
      .value_name("DIR")
      .positional(-1)
      .required();
  o.add_flag(Group::output, "json", "print JSON instead of the table (a list for several DIRs)");
  if (!o.parse(argc, argv)) return 0;
  const auto dirs = o.get<std::vector<std::string>>("dir");
  json all = json::array();
  double spent = 0, left = 0;
  size_t unestimated = 0;
  for (size_t k = 0; k < dirs.size(); ++k) {
    const sweep::Sweep sw = sweep::read_sweep(dirs[k]);
    const sweep::SweepStanding s = sweep::sweep_standing(sw);
    spent += s.trained_s;
    left += s.remaining_s;
    unestimated += s.unestimated;
    if (o.get<bool>("json"))
      all.push_back(sweep::sweep_standing_json(sw, s));
    else
      std::fputs(((k ? "\n" : "") + sweep::sweep_standing_text(sw, s)).c_str(), stdout);
  }
  if (o.get<bool>("json"))
    std::printf("%s\n", (dirs.size() == 1 ? all[0] : all).dump(2).c_str());
  else if (dirs.size() > 1)
    std::printf("%s\n", fmt::format("\nAll {} sweeps: {} of run time spent, {} left{}.",
                                    dirs.size(), format_duration(spent), format_duration(left),
                                    unestimated ? fmt::format(" (+ {} run(s) without an estimate)",
                                                              unestimated)
                                                : "")
                            .c_str());
  return 0;
}

int run_sweep(int argc, char** argv) {
  const std::string usage =
      "usage: tca sweep plan --grid GRID.json --out DIR\n"
      "       tca sweep run DIR (--index I | --index-env VAR) | DIR [DIR ...] --all [--jobs J]\n"
      "       tca sweep collect DIR [--format md,tex,csv,json] [--plots]\n"
      "       tca sweep status DIR [DIR ...] [--json]\n"
      "(tca sweep <subcommand> --help for the options)\n";
  if (argc < 2) {
    std::fputs(usage.c_str(), stderr);
    return kExitUsage;
  }
  const std::string sub = argv[1];
  if (sub == "--help" || sub == "-h") {
    std::fputs(usage.c_str(), stdout);
    return 0;
  }
  if (sub == "plan") return run_plan(argc - 1, argv + 1);
  if (sub == "run") return run_run(argc - 1, argv + 1);
  if (sub == "collect") return run_collect(argc - 1, argv + 1);
  if (sub == "status") return run_status(argc - 1, argv + 1);
  throw UsageError("unknown sweep subcommand '" + sub + "' (plan, run, collect or status)");
}

}  // namespace

TCA_COMMAND("sweep",
            "plan, run (locally or on Slurm) and collect a grid of runs into comparison tables",
            run_sweep, 45);

}  // namespace tca::cli
