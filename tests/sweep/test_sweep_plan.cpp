// Sweep directories (lib/sweep/sweep_plan.hpp): what plan writes, re-planning (no-op, additions,
// refusals), and the Slurm script.
#include <doctest/doctest.h>

#include <filesystem>
#include <set>

#include "core/error.hpp"
#include "io/json_io.hpp"
#include "io/test_files.hpp"
#include "sweep/sweep_plan.hpp"
#include "sweep_test_util.hpp"

using namespace tca;
using namespace tca::sweep;
using json = nlohmann::json;

namespace {

using test_util::expand;

PlanCommands commands() { return {"build/tca", "/abs/build/tca", "/abs/sweep"}; }

std::string plan_error(const std::string& dir, const std::string& grid) {
  try {
    write_plan(dir, expand(grid), grid, commands());
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

const char* kGrid =
    R"({"name": "t", "task": "copy", "model": ["ca", "tca"], "seeds": [0, 1], "eval_sets": {"e": "e.h5"}})";

}  // namespace

TEST_CASE("plan writes the index, commands.txt and a Slurm array script") {
  test::TempDir tmp;
  const std::string dir = tmp.file("s");
  const PlanOutcome o = write_plan(dir, expand(kGrid), kGrid, commands());
  CHECK(o.added == 4);
  const Sweep s = read_sweep(dir);
  REQUIRE(s.runs.size() == 4);
  CHECK(s.settings.name == "t");
  CHECK(test::read_bytes(dir + "/grid.json") == kGrid);
  const std::string cmds = test::read_bytes(dir + "/commands.txt");
  CHECK(cmds.find("build/tca sweep run " + dir + " --index 0\n") == 0);
  CHECK(cmds.find("--index 3\n") != std::string::npos);
  const std::string sb = test::read_bytes(dir + "/sweep.sbatch");
  CHECK(sb.find("#SBATCH --array=0-3%4\n") != std::string::npos);
  CHECK(sb.find("#SBATCH --requeue\n") != std::string::npos);
  CHECK(sb.find("#SBATCH --signal=B:USR1@120\n") != std::string::npos);
  CHECK(sb.find("/abs/build/tca sweep run /abs/sweep --index \"$SLURM_ARRAY_TASK_ID\"") !=
        std::string::npos);
  CHECK(sb.find("scontrol requeue") != std::string::npos);
}

TEST_CASE("re-planning the same grid is a no-op, a grown grid appends and keeps indices") {
  test::TempDir tmp;
  const std::string dir = tmp.file("s");
  write_plan(dir, expand(kGrid), kGrid, commands());
  const std::string index = test::read_bytes(dir + "/index.jsonl");
  const PlanOutcome again = write_plan(dir, expand(kGrid), kGrid, commands());
  CHECK(again.added == 0);
  CHECK(again.kept == 4);
  CHECK(test::read_bytes(dir + "/index.jsonl") == index);

  // A third method makes "model" no wider a setting but adds runs: existing ids and indices stay.
  const std::string grown =
      R"({"name": "t", "task": "copy", "model": ["ca", "tca"], "seeds": [0, 1, 2], "eval_sets": {"e": "e.h5"}})";
  const Sweep before = read_sweep(dir);
  const PlanOutcome g = write_plan(dir, expand(grown), grown, commands());
  CHECK(g.added == 2);
  const Sweep after = read_sweep(dir);
  REQUIRE(after.runs.size() == 6);
  for (size_t i = 0; i < 4; ++i) CHECK(after.runs[i].run_id == before.runs[i].run_id);

  // A key that newly varies changes the readable part of new ids only.
  const std::string lr =
      R"({"name": "t", "task": "copy", "model": ["ca", "tca"], "seeds": [0, 1, 2], "eval_sets": {"e": "e.h5"},
                             "runs": [{}, {"model": "ca", "lr": 0.1}]})";
  write_plan(dir, expand(lr), lr, commands());
  const Sweep third = read_sweep(dir);
  REQUIRE(third.runs.size() == 9);
  CHECK(third.runs[0].run_id == before.runs[0].run_id);
  CHECK(third.runs[8].run_id.find("lr0.1") != std::string::npos);
}

TEST_CASE("re-planning refuses to drop or redefine planned runs, naming them") {
  test::TempDir tmp;
  const std::string dir = tmp.file("s");
  write_plan(dir, expand(kGrid), kGrid, commands());
  const std::string fewer =
      R"({"name": "t", "task": "copy", "model": ["ca", "tca"], "seeds": [0], "eval_sets": {"e": "e.h5"}})";
  const std::string e1 = plan_error(dir, fewer);
  CHECK(e1.find("would drop planned runs") != std::string::npos);
  CHECK(e1.find("-s1-") != std::string::npos);
  const std::string moved =
      R"({"name": "t", "task": "copy", "model": ["ca", "tca"], "seeds": [0, 1], "eval_sets": {"e": "other.h5"}})";
  CHECK(plan_error(dir, moved).find("would redefine planned runs") != std::string::npos);
  // Nothing was changed by the refused plans.
  CHECK(read_sweep(dir).runs.size() == 4);
  CHECK(read_sweep(dir).runs[0].eval_sets[0].path == "e.h5");
}

TEST_CASE("--drop-unstarted drops runs that never started, renumbers, and refuses started ones") {
  test::TempDir tmp;
  const std::string dir = tmp.file("s");
  write_plan(dir, expand(kGrid), kGrid, commands());
  const Sweep before = read_sweep(dir);  // seed-major: ca s0, tca s0, ca s1, tca s1
  REQUIRE(before.runs.size() == 4);
  PlanOptions drop;
  drop.drop_unstarted = true;

  // ca s1 has a log directory (sweep run touched it): dropping it is refused, nothing changes.
  const std::string tca_only_s1 =
      R"({"name": "t", "task": "copy", "runs": [{"model": ["ca", "tca"], "seed": 0}, {"model": "tca", "seed": 1}], "eval_sets": {"e": "e.h5"}})";
  std::filesystem::create_directories(dir + "/logs/" + before.runs[2].run_id);
  std::string refused;
  try {
    write_plan(dir, expand(tca_only_s1), tca_only_s1, commands(), drop);
  } catch (const UsageError& e) {
    refused = e.what();
  }
  CHECK(refused.find("that have started: " + before.runs[2].run_id) != std::string::npos);
  CHECK(read_sweep(dir).runs.size() == 4);

  // Without the flag the message says how to drop.
  CHECK(plan_error(dir, tca_only_s1).find("--drop-unstarted") != std::string::npos);

  // Once only tca s0 (unstarted) goes, it is dropped and tca s1 moves from index 3 to 2.
  const std::string no_tca_s0 =
      R"({"name": "t", "task": "copy", "runs": [{"model": "ca", "seed": [0, 1]}, {"model": "tca", "seed": 1}], "eval_sets": {"e": "e.h5"}})";
  const PlanOutcome o = write_plan(dir, expand(no_tca_s0), no_tca_s0, commands(), drop);
  CHECK(o.dropped == 1);
  CHECK(o.kept == 3);
  CHECK(o.renumbered);
  const Sweep after = read_sweep(dir);
  REQUIRE(after.runs.size() == 3);
  CHECK(after.runs[0].run_id == before.runs[0].run_id);
  CHECK(after.runs[1].run_id == before.runs[2].run_id);
  CHECK(after.runs[2].run_id == before.runs[3].run_id);
  CHECK(test::read_bytes(dir + "/commands.txt").find("--index 3") == std::string::npos);
  CHECK(test::read_bytes(dir + "/sweep.sbatch").find("--array=0-2%") != std::string::npos);

  // Dropping the last run (unstarted) moves no other run.
  const std::string no_tca =
      R"({"name": "t", "task": "copy", "runs": [{"model": "ca", "seed": [0, 1]}], "eval_sets": {"e": "e.h5"}})";
  const PlanOutcome last = write_plan(dir, expand(no_tca), no_tca, commands(), drop);
  CHECK(last.dropped == 1);
  CHECK_FALSE(last.renumbered);
  CHECK(read_sweep(dir).runs.size() == 2);
}

TEST_CASE("--drop-unstarted: a lock file or a run directory counts as started") {
  test::TempDir tmp;
  const std::string dir = tmp.file("s");
  write_plan(dir, expand(kGrid), kGrid, commands());
  const Sweep s = read_sweep(dir);  // ca s0, tca s0, ca s1, tca s1
  test::write_bytes(s.lock_path(s.runs[3]), "");
  std::filesystem::create_directories(s.run_dir(s.runs[1]));
  PlanOptions drop;
  drop.drop_unstarted = true;
  const std::string ca_s0 =
      R"({"name": "t", "task": "copy", "model": "ca", "seeds": [0], "eval_sets": {"e": "e.h5"}})";
  std::string refused;
  try {
    write_plan(dir, expand(ca_s0), ca_s0, commands(), drop);
  } catch (const UsageError& e) {
    refused = e.what();
  }
  CHECK(refused.find(s.runs[1].run_id) != std::string::npos);  // run directory
  CHECK(refused.find(s.runs[3].run_id) != std::string::npos);  // lock file
  CHECK(refused.find("that have started: " + s.runs[1].run_id + ", " + s.runs[3].run_id) !=
        std::string::npos);  // ca s1 (nothing on disk) is not named among them
  CHECK(read_sweep(dir).runs.size() == 4);
}

TEST_CASE("read_sweep rejects a directory that is not a planned sweep") {
  test::TempDir tmp;
  CHECK_THROWS_WITH_AS(read_sweep(tmp.path()), doctest::Contains("not a sweep directory"),
                       InputError);
}
