// Cosine learning-rate decay with optional linear warm-up.
#include <doctest/doctest.h>

#include <cmath>

#include "core/error.hpp"
#include "io/test_files.hpp"
#include "train/lr_schedule.hpp"

using namespace tca;

TEST_CASE("cosine schedule is lr0 at step 0, lr0/2 at T/2 and 0 at T") {
  const CosineSchedule s(5e-4, 1000);
  CHECK(s.lr(0) == 5e-4);
  CHECK(s.lr(500) == doctest::Approx(2.5e-4).epsilon(1e-12));
  CHECK(s.lr(1000) == 0.0);
  CHECK(s.lr(5000) == 0.0);  // past the end it stays at 0
  CHECK(s.lr(250) == doctest::Approx(5e-4 * (1 + std::sqrt(0.5)) / 2).epsilon(1e-12));
}

TEST_CASE("cosine schedule decreases at every step like torch's CosineAnnealingLR") {
  const int64_t T = 37;
  const CosineSchedule s(1.0, T);
  // torch's chained update eta_t = eta_{t-1} (1 + cos(pi t / T)) / (1 + cos(pi (t - 1) / T)).
  double chained = 1.0;
  for (int64_t t = 1; t < T; ++t) {
    chained *= (1 + std::cos(M_PI * t / T)) / (1 + std::cos(M_PI * (t - 1) / T));
    CHECK(s.lr(t) == doctest::Approx(chained).epsilon(1e-9));
    CHECK(s.lr(t) < s.lr(t - 1));
  }
}

TEST_CASE("warm-up rises linearly to lr0 and then decays by cosine over the remaining steps") {
  const CosineSchedule s(1e-3, 110, 10);
  CHECK(s.lr(0) == doctest::Approx(1e-4).epsilon(1e-12));  // (0 + 1) / 10
  CHECK(s.lr(4) == doctest::Approx(5e-4).epsilon(1e-12));
  CHECK(s.lr(9) == doctest::Approx(1e-3).epsilon(1e-12));
  CHECK(s.lr(10) == doctest::Approx(1e-3).epsilon(1e-12));  // cosine part starts at lr0
  CHECK(s.lr(60) == doctest::Approx(5e-4).epsilon(1e-12));  // half of the 100 cosine steps
  CHECK(s.lr(110) == 0.0);
}

TEST_CASE("schedule rejects invalid settings and negative steps") {
  CHECK_ERROR(CosineSchedule(-1.0, 10), UsageError, "learning rate");
  CHECK_ERROR(CosineSchedule(std::nan(""), 10), UsageError, "learning rate");
  CHECK_ERROR(CosineSchedule(1e-3, 0), UsageError, "total steps");
  CHECK_ERROR(CosineSchedule(1e-3, 10, 10), UsageError, "warm-up");
  CHECK_ERROR(CosineSchedule(1e-3, 10, -1), UsageError, "warm-up");
  CHECK_ERROR(CosineSchedule(1e-3, 10).lr(-1), RuntimeFailure, "negative step");
}
