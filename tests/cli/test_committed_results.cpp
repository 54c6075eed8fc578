// Issue 19, item 3: every table and plot data file committed under results/<sweep>/ equals what
// `tca sweep collect` makes now from the committed run files (nothing typed by hand, nothing
// stale). Each sweep directory is copied without its checkpoints, collected afresh, and compared
// file by file. results/README.md's copies of the tables (tools/embed-tables.sh) must equal them
// too; the tool itself is tested on a made-up README.
#include <filesystem>

#include "cli_test_util.hpp"

using namespace tca::cli_test;
namespace fs = std::filesystem;
namespace test = tca::test;

namespace {

std::vector<fs::path> committed_sweeps() {
  std::vector<fs::path> dirs;
  const fs::path results = fs::path(TCA_SOURCE_DIR) / "results";
  if (!fs::exists(results)) return dirs;
  for (const auto& e : fs::directory_iterator(results)) {
    if (e.is_directory() && fs::exists(e.path() / "index.jsonl")) dirs.push_back(e.path());
  }
  std::sort(dirs.begin(), dirs.end());
  return dirs;
}

bool finished(const fs::path& run) {
  if (!fs::exists(run / "sweep_run.json")) return false;
  const auto state = read_json((run / "sweep_run.json").string()).value("state", std::string());
  return state == "done" || state == "failed";
}

// The files collect reads: the plan, the paper's figures (paper.json, when the sweep has them) and
// the small files of each finished or failed run (what is committed; a run under way in this
// checkout is left out, as a clean clone has none of it).
void copy_run_files(const fs::path& from, const fs::path& to) {
  fs::create_directories(to / "runs");
  for (const char* f : {"index.jsonl", "sweep.json", "grid.json"}) fs::copy_file(from / f, to / f);
  if (fs::exists(from / "paper.json")) fs::copy_file(from / "paper.json", to / "paper.json");
  if (!fs::exists(from / "runs")) return;
  for (const auto& run : fs::directory_iterator(from / "runs")) {
    if (!finished(run.path())) continue;
    fs::create_directories(to / "runs" / run.path().filename());
    for (const auto& f : fs::directory_iterator(run.path())) {
      if (f.path().extension() == ".json" || f.path().extension() == ".jsonl") {
        fs::copy_file(f.path(), to / "runs" / run.path().filename() / f.path().filename());
      }
    }
  }
}

}  // namespace

TEST_CASE(
    "the committed result tables equal a fresh tca sweep collect of the committed run files") {
  const auto sweeps = committed_sweeps();
  for (const auto& dir : sweeps) {
    const std::string name = dir.filename().string();
    INFO("results/" << name);
    bool has_runs = false;
    if (fs::exists(dir / "runs")) {
      for (const auto& run : fs::directory_iterator(dir / "runs")) has_runs |= finished(run.path());
    }
    if (!has_runs) continue;
    REQUIRE_MESSAGE(fs::exists(dir / "tables" / "results.md"),
                    "results/" << name
                               << " has run files but no tables: run tca sweep collect results/"
                               << name << " --plots");
    test::TempDir tmp;
    copy_run_files(dir, fs::path(tmp.path()) / name);
    const Run r = run_tca(tmp, "sweep collect " + name + " --plots");
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    for (const char* f : {"results.md", "results.tex", "results.csv", "results.json"}) {
      CHECK_MESSAGE(slurp((dir / "tables" / f).string()) == slurp(tmp.file(name + "/tables/" + f)),
                    "results/" << name << "/tables/" << f
                               << " differs from a fresh collect: re-run tca sweep collect results/"
                               << name << " --plots and commit");
    }
    // The plots' data and scripts (the pictures depend on the installed fonts and cairo).
    size_t compared = 0;
    for (const auto& p : fs::directory_iterator(fs::path(tmp.path()) / name / "plots")) {
      const auto ext = p.path().extension();
      if (ext != ".dat" && ext != ".gp") continue;
      const fs::path committed = dir / "plots" / p.path().filename();
      CHECK_MESSAGE(fs::exists(committed), "missing committed plot file " << committed.string());
      if (fs::exists(committed))
        CHECK_MESSAGE(slurp(committed.string()) == slurp(p.path().string()), committed.string()
                                                                                 << " is stale");
      ++compared;
    }
    CHECK(compared > 0);
  }
}

namespace {

// Runs tools/embed-tables.sh ARGS; the exit code, stderr in err.
int embed_tables(const test::TempDir& dir, const std::string& args, std::string& err) {
  const std::string cmd = "bash '" + std::string(TCA_SOURCE_DIR) + "/tools/embed-tables.sh' " +
                          args + " 2>'" + dir.file(".stderr") + "' >/dev/null";
  const int status = std::system(cmd.c_str());
  err = slurp(dir.file(".stderr"));
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void write_file(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream(path) << text;
}

}  // namespace

TEST_CASE("results/README.md's tables are the collected ones (tools/embed-tables.sh --check)") {
  const fs::path readme = fs::path(TCA_SOURCE_DIR) / "results" / "README.md";
  if (!fs::exists(readme)) return;
  test::TempDir tmp;
  std::string err;
  CHECK_MESSAGE(embed_tables(tmp, "--check '" + readme.string() + "'", err) == 0, err);
}

TEST_CASE(
    "embed-tables replaces each marked block with its sweep's group tables, and --check "
    "fails on a stale one") {
  test::TempDir tmp;
  const fs::path dir = tmp.path();
  write_file(dir / "s" / "tables" / "results.md",
             "## Sweep `s`\n\n### s: eval set a\n\nTask copy, N = 8.0.\n\n| x |\n|---|\n| 1 |\n\n"
             "### Runs not in the tables\n\n- missing `r`: not finished\n\n_legend_\n");
  const std::string prose =
      "# Results\n\ntext\n\n<!-- tables: s -->\nold line\n<!-- end tables "
      "-->\n\nafter\n";
  write_file(dir / "README.md", prose);
  const std::string readme = (dir / "README.md").string();
  std::string err;
  CHECK(embed_tables(tmp, "--check '" + readme + "'", err) == 1);
  CHECK(contains(err, "differ from the collected ones"));
  CHECK(slurp(readme) == prose);  // --check writes nothing
  REQUIRE(embed_tables(tmp, "'" + readme + "'", err) == 0);
  CHECK(slurp(readme) ==
        "# Results\n\ntext\n\n<!-- tables: s -->\n\n#### s: eval set a\n\nTask copy, N = 8.0.\n\n"
        "| x |\n|---|\n| 1 |\n\nThe legend, and any runs not yet in these tables: "
        "[s/tables/results.md](s/tables/results.md).\n\n<!-- end tables -->\n\nafter\n");
  CHECK(embed_tables(tmp, "--check '" + readme + "'", err) == 0);
  // A changed table makes the block stale.
  write_file(dir / "s" / "tables" / "results.md", "### s: eval set a\n\n| x |\n|---|\n| 2 |\n");
  CHECK(embed_tables(tmp, "--check '" + readme + "'", err) == 1);
  CHECK(embed_tables(tmp, "--bogus", err) == 2);
  CHECK(contains(err, "usage: tools/embed-tables.sh [--check] [README]"));
  // An unknown sweep and an unclosed block are errors naming the file and line; nothing written.
  write_file(dir / "bad.md", "a\n<!-- tables: nope -->\n<!-- end tables -->\n");
  CHECK(embed_tables(tmp, "'" + (dir / "bad.md").string() + "'", err) == 2);
  CHECK(contains(err, "bad.md:2: no "));
  CHECK(contains(err, "nope/tables/results.md"));
  write_file(dir / "open.md", "<!-- tables: s -->\nx\n");
  CHECK(embed_tables(tmp, "'" + (dir / "open.md").string() + "'", err) == 2);
  CHECK(contains(err, "open.md:1: '<!-- tables: s -->' has no '<!-- end tables -->'"));
  CHECK(slurp((dir / "open.md").string()) == "<!-- tables: s -->\nx\n");
  size_t leftovers = 0;  // the temp file is removed on every exit
  for (const auto& e : fs::directory_iterator(dir))
    leftovers += e.path().filename().string().find(".md.") != std::string::npos;
  CHECK(leftovers == 0);
}
