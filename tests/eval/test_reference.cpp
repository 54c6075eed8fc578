// The official implementation's reference data (tests/data/reference, see its README) must be
// matched number for number with the README's tolerances (issue 11).
#include <doctest/doctest.h>
#include <hdf5.h>

#include <limits>
#include <nlohmann/json.hpp>
#include <string>

#include "core/error.hpp"
#include "eval/reference_check.hpp"
#include "io/hdf5_file.hpp"
#include "io/test_files.hpp"

using namespace tca;

static std::string reference_file(const char* name) {
  return std::string(TCA_SOURCE_DIR) + "/tests/data/reference/" + name;
}

static void check_file(const char* name) {
  ReferenceReport r = check_reference_file(reference_file(name));
  for (auto& row : r.rows)
    if (!row.ok)
      MESSAGE(std::string(name) << ": " << row.name << " max abs error " << row.max_abs_error
                                << " (max |ref| " << row.max_abs_ref << ", "
                                << std::string(to_string(row.tolerance)) << ") " << row.note);
  CHECK(r.rows.size() > 40);
  CHECK(r.failures() == 0);
}

TEST_CASE("ReTreever matches the official implementation on tca_gp.h5") { check_file("tca_gp.h5"); }
TEST_CASE("ReTreever matches the official implementation on tca_copy.h5") {
  check_file("tca_copy.h5");
}
TEST_CASE("ReTreever with branching factor 3 matches the official implementation on tca_gp_b3.h5") {
  check_file("tca_gp_b3.h5");
}
TEST_CASE("Transformer + CA matches the official implementation on ca_gp.h5") {
  check_file("ca_gp.h5");
}
TEST_CASE("Transformer + CA matches the official implementation on ca_copy.h5") {
  check_file("ca_copy.h5");
}

TEST_CASE("a file that is not a reference file is rejected naming what is missing") {
  CHECK_THROWS_WITH_AS(
      check_reference_file(std::string(TCA_SOURCE_DIR) + "/tests/data/reference/README.md"),
      doctest::Contains("README.md"), InputError);
}

namespace {

// A copy of a reference file in a temp directory, to be corrupted by the test.
std::string corrupt_copy(const test::TempDir& dir, const char* name) {
  const std::string path = dir.file(name);
  test::write_bytes(path, test::read_bytes(reference_file(name)));
  return path;
}

void replace_config(const std::string& path, const std::string& text) {
  hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  REQUIRE(file >= 0);
  H5Adelete(file, "config_json");
  hid_t type = H5Tcopy(H5T_C_S1);
  H5Tset_size(type, H5T_VARIABLE);
  hid_t space = H5Screate(H5S_SCALAR);
  hid_t attr = H5Acreate2(file, "config_json", type, space, H5P_DEFAULT, H5P_DEFAULT);
  const char* value = text.c_str();
  REQUIRE(H5Awrite(attr, type, &value) >= 0);
  H5Aclose(attr);
  H5Sclose(space);
  H5Tclose(type);
  H5Fclose(file);
}

}  // namespace

// Issue 20: NaN compared as a match (it is never larger than the running maximum error).
TEST_CASE("a NaN in a reference file's expected values is an input error, not a match") {
  test::TempDir dir;
  const std::string path = corrupt_copy(dir, "ca_gp.h5");
  std::vector<double> mean = io::H5File::open_read(path).read<double>("/eval/mean");
  mean[3] = std::numeric_limits<double>::quiet_NaN();
  {
    hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t ds = H5Dopen2(file, "/eval/mean", H5P_DEFAULT);
    REQUIRE(H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, mean.data()) >= 0);
    H5Dclose(ds);
    H5Fclose(file);
  }
  CHECK_ERROR(check_reference_file(path), InputError,
              "non-finite reference value (" + path +
                  ":eval/mean): expected finite values, found nan at index 3");
}

TEST_CASE(
    "a reference file's model config too large for memory or of the wrong types is an input "
    "error") {
  test::TempDir dir;
  const std::string path = corrupt_copy(dir, "ca_gp.h5");
  nlohmann::json config =
      nlohmann::json::parse(io::H5File::open_read(path).attr_string("config_json"));
  config["d_model"] = 65536;
  config["nhead"] = 1;
  config["num_layers"] = 1000;
  replace_config(path, config.dump());
  CHECK_ERROR(check_reference_file(path), UsageError, "config_json needs an estimated");
  config["d_model"] = "sixty-four";
  replace_config(path, config.dump());
  CHECK_ERROR(check_reference_file(path), InputError,
              "bad value in the model config (" + path + ":config_json)");
}
