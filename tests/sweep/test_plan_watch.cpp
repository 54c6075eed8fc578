// PlanWatch (lib/sweep/plan_watch.hpp): a runner's view of its sweep after a re-plan: dropped runs
// are no longer planned, added ones are named, and an unreadable index keeps the last view.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "io/test_files.hpp"
#include "sweep/plan_watch.hpp"
#include "sweep_test_util.hpp"

using namespace tca;
using namespace tca::sweep;

namespace {

const char* kTwoSeeds =
    R"({"name": "w", "task": "copy", "model": ["ca", "tca"], "seeds": [0, 1], "eval_sets": {"e": "e.h5"}})";
// tca s0 dropped, a perceiver s0 added: ca s0, ca s1, tca s1, perceiver s0.
const char* kReplanned =
    R"({"name": "w", "task": "copy", "runs": [{"model": "ca", "seed": [0, 1]}, {"model": "tca", "seed": 1}, {"model": "perceiver", "seed": 0}], "eval_sets": {"e": "e.h5"}})";

}  // namespace

TEST_CASE("PlanWatch: a re-plan's dropped runs are no longer planned, its added ones are named") {
  test::TempDir tmp;
  const Sweep loaded = test_util::plan_sweep(tmp, kTwoSeeds);  // ca s0, tca s0, ca s1, tca s1
  REQUIRE(loaded.runs.size() == 4);
  const std::string original = test::read_bytes(loaded.path(SweepFiles::kIndex));
  PlanWatch watch(loaded);
  for (const auto& r : loaded.runs) CHECK(watch.still_planned(r.run_id));
  CHECK(watch.added().empty());

  PlanOptions drop;
  drop.drop_unstarted = true;
  write_plan(loaded.dir, test_util::expand(kReplanned), kReplanned, {"tca", "/tca", loaded.dir},
             drop);
  const Sweep now = read_sweep(loaded.dir);
  REQUIRE(now.runs.size() == 4);
  CHECK_FALSE(watch.still_planned(loaded.runs[1].run_id));  // tca s0
  CHECK(watch.still_planned(loaded.runs[0].run_id));
  CHECK(watch.still_planned(loaded.runs[3].run_id));  // renumbered from 3 to 2, still planned
  const auto added = watch.added();
  REQUIRE(added.size() == 1);
  CHECK(added[0] == now.runs[3].run_id);
  CHECK(added[0].find("perceiver") != std::string::npos);

  // An index.jsonl broken by hand: the last view stands (the run is not dropped for it), whether
  // the file is not JSON, a line has a value of the wrong type, or no run is left.
  const std::vector<std::string> broken = {"{not json\n", "",
                                           R"({"index": 0, "run_id": 7, "config": {}})"
                                           "\n"};
  for (const std::string& bad : broken) {
    CAPTURE(bad);
    test::write_bytes(loaded.path(SweepFiles::kIndex), bad);
    CHECK(watch.still_planned(loaded.runs[0].run_id));
    CHECK_FALSE(watch.still_planned(loaded.runs[1].run_id));
    CHECK(watch.added().size() == 1);
  }
  // Readable again (here: the first plan put back), the file is read again.
  test::write_bytes(loaded.path(SweepFiles::kIndex), original);
  CHECK(watch.still_planned(loaded.runs[1].run_id));
  CHECK(watch.added().empty());
}
