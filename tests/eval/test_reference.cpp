// The official implementation's reference data (tests/data/reference, see its README) must be
// matched number for number with the README's tolerances (issue 11).
#include <doctest/doctest.h>

#include <string>

#include "core/error.hpp"
#include "eval/reference_check.hpp"

using namespace tca;

static std::string reference_file(const char* name) {
  return std::string(TCA_SOURCE_DIR) + "/tests/data/reference/" + name;
}

static void check_file(const char* name) {
  ReferenceReport r = check_reference_file(reference_file(name));
  for (auto& row : r.rows)
    if (!row.ok)
      MESSAGE(std::string(name) << ": " << row.name << " max abs error " << row.max_abs_error << " (max |ref| "
                   << row.max_abs_ref << ", " << std::string(to_string(row.tolerance)) << ") " << row.note);
  CHECK(r.rows.size() > 40);
  CHECK(r.failures() == 0);
}

TEST_CASE("ReTreever matches the official implementation on tca_gp.h5") { check_file("tca_gp.h5"); }
TEST_CASE("ReTreever matches the official implementation on tca_copy.h5") { check_file("tca_copy.h5"); }
TEST_CASE("ReTreever with branching factor 3 matches the official implementation on tca_gp_b3.h5") {
  check_file("tca_gp_b3.h5");
}
TEST_CASE("Transformer + CA matches the official implementation on ca_gp.h5") { check_file("ca_gp.h5"); }
TEST_CASE("Transformer + CA matches the official implementation on ca_copy.h5") { check_file("ca_copy.h5"); }

TEST_CASE("a file that is not a reference file is rejected naming what is missing") {
  CHECK_THROWS_WITH_AS(check_reference_file(std::string(TCA_SOURCE_DIR) + "/tests/data/reference/README.md"),
                       doctest::Contains("README.md"), InputError);
}
