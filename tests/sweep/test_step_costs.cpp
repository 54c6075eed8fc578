// StepCosts (lib/sweep/step_costs.hpp): the training time `sweep run` announces for a run, the
// whole budget for a new run and only the steps after its checkpoint for one that resumes.
#include <doctest/doctest.h>

#include "sweep/step_costs.hpp"

using namespace tca::sweep;

TEST_CASE("step costs: a resumed run's estimate counts only the steps after its checkpoint") {
  PlannedRun run;
  run.run_id = "copy-tca-s0";
  run.config = {{"task", "copy"}, {"model", "tca"}, {"steps", 100}, {"seed", 0}};
  StepCosts costs;
  CHECK_FALSE(costs.seconds(run).has_value());  // nothing measured yet
  costs.add(run, 2.0);
  REQUIRE(costs.seconds(run).has_value());
  CHECK(*costs.seconds(run) == doctest::Approx(200.0));
  CHECK(*costs.seconds(run, 40) == doctest::Approx(120.0));
  CHECK(*costs.seconds(run, 100) == 0.0);
  CHECK(*costs.seconds(run, 150) == 0.0);  // metrics past the budget: nothing left, never negative
}
