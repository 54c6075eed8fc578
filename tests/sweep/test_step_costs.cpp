// StepCosts (lib/sweep/step_costs.hpp): the training time `sweep run` announces for a run and
// sums into its overall ETA: the whole budget for a new run, only the steps after its checkpoint
// for one that resumes, only the steps to go for one that trains now.
#include <doctest/doctest.h>

#include <string>

#include "io/test_files.hpp"
#include "sweep/step_costs.hpp"

using namespace tca;
using namespace tca::sweep;

namespace {

PlannedRun copy_run() {
  PlannedRun run;
  run.run_id = "copy-tca-s0";
  run.config = {{"task", "copy"}, {"model", "tca"}, {"steps", 100}, {"seed", 0}};
  return run;
}

}  // namespace

TEST_CASE("step costs: the budget less the steps behind, never negative") {
  const PlannedRun run = copy_run();
  StepCosts costs;
  CHECK_FALSE(costs.seconds(run).has_value());  // nothing measured yet
  costs.add(run, 2.0);
  REQUIRE(costs.seconds(run).has_value());
  CHECK(*costs.seconds(run) == doctest::Approx(200.0));
  CHECK(*costs.seconds(run, 40) == doctest::Approx(120.0));
  CHECK(*costs.seconds(run, 100) == 0.0);
  CHECK(*costs.seconds(run, 150) == 0.0);  // metrics past the budget: nothing left
}

TEST_CASE("step costs: a run's time left counts its logged steps when it resumes or is running") {
  test::TempDir dir;
  const PlannedRun run = copy_run();
  StepCosts costs;
  costs.add(run, 2.0);
  std::string metrics;
  for (int step = 10; step <= 40; step += 10)
    metrics += "{\"split\": \"train\", \"step\": " + std::to_string(step) + "}\n";
  test::write_bytes(dir.file("metrics.jsonl"), metrics);
  // No checkpoint and not running: `sweep run` starts it over.
  CHECK(*costs.seconds_left(run, dir.path(), false) == doctest::Approx(200.0));
  CHECK(*costs.seconds_left(run, dir.path(), true) == doctest::Approx(120.0));
  test::write_bytes(dir.file("checkpoint.h5"), "");  // only its presence is read
  CHECK(*costs.seconds_left(run, dir.path(), false) == doctest::Approx(120.0));
  // A directory without metrics: the whole budget.
  test::TempDir empty;
  CHECK(*costs.seconds_left(run, empty.path(), true) == doctest::Approx(200.0));
}
