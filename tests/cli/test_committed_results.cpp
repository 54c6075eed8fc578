// Issue 19, item 3: every table and plot data file committed under results/<sweep>/ equals what
// `tca sweep collect` makes now from the committed run files (nothing typed by hand, nothing
// stale). Each sweep directory is copied without its checkpoints, collected afresh, and compared
// file by file.
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
