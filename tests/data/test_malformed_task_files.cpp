// Malformed task files written by the test: each is rejected on open by TaskFileReader with one
// InputError naming the file, the dataset or attribute and what was expected, and nothing crashes.
#include <doctest/doctest.h>
#include <hdf5.h>

#include <limits>

#include "core/error.hpp"
#include "data/image_source_file.hpp"
#include "data/raw_task_file.hpp"
#include "data/task_file_reader.hpp"
#include "io/test_files.hpp"

using namespace tca;
using namespace tca::data;
using test::RawTaskFile;

namespace {

// Writes `file` to a fresh path and expects opening it to fail with `needle` in the message.
void expect_rejected(const RawTaskFile& file, const std::string& needle) {
  test::TempDir dir;
  const std::string path = dir.file("bad.h5");
  file.write(path);
  CHECK_ERROR(TaskFileReader(path), InputError, needle);
  CHECK_ERROR(TaskFileReader(path), InputError, path);  // the message names the file
}

}  // namespace

TEST_CASE("task file fixtures are valid before they are broken") {
  test::TempDir dir;
  RawTaskFile::valid_regression().write(dir.file("r.h5"));
  RawTaskFile::valid_classification().write(dir.file("c.h5"));
  TaskFileReader regression(dir.file("r.h5"));
  CHECK(regression.num_batches() == 2);
  CHECK(regression.read_batch(1).yt.shape() == Shape{2, 2, 1});
  TaskFileReader classification(dir.file("c.h5"));
  CHECK(classification.read_batch(0).labels.data_i32()[1] == 1);
}

TEST_CASE("malformed task file: a missing dataset is named") {
  RawTaskFile f = RawTaskFile::valid_regression();
  f.omit = {"offsets"};
  expect_rejected(f, ":/offsets): expected a dataset /offsets, found nothing at that path");
}

TEST_CASE("malformed task file: /x of the wrong dtype") {
  RawTaskFile f = RawTaskFile::valid_regression();
  f.x_as_f64 = true;
  expect_rejected(f, "wrong dtype (");
  expect_rejected(f, ":/x): expected float32, found float64");
}

TEST_CASE("malformed task file: /x of the wrong rank") {
  RawTaskFile f = RawTaskFile::valid_regression();
  f.x_flat = true;
  expect_rejected(f, ":/x): expected [*, 1], found [20]");
}

TEST_CASE("malformed task file: /x narrower than dim_x") {
  RawTaskFile f = RawTaskFile::valid_regression();
  f.attributes["dim_x"] = int64_t{2};
  expect_rejected(f, "wrong shape (");
}

TEST_CASE("malformed task file: classification labels stored as float") {
  RawTaskFile f = RawTaskFile::valid_classification();
  f.y.assign(f.y_labels.begin(), f.y_labels.end());
  f.y_labels.clear();
  expect_rejected(f, ":/y): expected int32, found float32");
}

TEST_CASE("malformed task file: NaN in /y and inf in /x are located") {
  RawTaskFile f = RawTaskFile::valid_regression();
  f.y[13] = std::numeric_limits<float>::quiet_NaN();
  expect_rejected(f, "non-finite value (");
  expect_rejected(f, ":/y): expected finite values, found nan at row 13, column 0");
  RawTaskFile g = RawTaskFile::valid_regression();
  g.x[2] = -std::numeric_limits<float>::infinity();
  expect_rejected(g, ":/x): expected finite values, found inf at row 2");
}

TEST_CASE("malformed task file: no tasks at all") {
  RawTaskFile f = RawTaskFile::valid_regression();
  f.x.clear();
  f.y.clear();
  f.offsets = {0};
  f.num_context.clear();
  f.batch_offsets = {0};
  expect_rejected(f, "empty task file (");
}

TEST_CASE("malformed task file: a newer format version") {
  RawTaskFile f = RawTaskFile::valid_regression();
  f.attributes["format_version"] = int64_t{2};
  expect_rejected(f, ":format_version): expected 1, found 2 (written by a newer tca)");
}

TEST_CASE("malformed task file: not our format, or no format attribute") {
  RawTaskFile f = RawTaskFile::valid_regression();
  f.attributes["format"] = std::string("h5netcdf");
  expect_rejected(f, "not a tca data file (");
  f.attributes.erase("format");
  expect_rejected(
      f, ":format): expected root attribute format = \"tca-tasks\", found no format attribute");
}

TEST_CASE("malformed task file: a missing or unknown TaskInfo attribute") {
  RawTaskFile f = RawTaskFile::valid_regression();
  f.attributes.erase("dim_x");
  expect_rejected(f, "missing attribute (");
  expect_rejected(f, ":dim_x): expected attribute 'dim_x'");
  RawTaskFile g = RawTaskFile::valid_regression();
  g.attributes["task"] = std::string("mnist");
  expect_rejected(g, ":task): expected copy, gp, image or timeseries, found mnist");
  RawTaskFile h = RawTaskFile::valid_regression();
  h.attributes["is_metalearning"] = std::string("yes");
  expect_rejected(h, ":is_metalearning): expected an integer, found a string (yes)");
}

TEST_CASE("malformed task file: offsets that decrease, start late or miss the row count") {
  RawTaskFile f = RawTaskFile::valid_regression();
  f.offsets = {0, 5, 4, 15, 20};
  expect_rejected(f, "offsets not increasing (");
  f.offsets = {1, 5, 10, 15, 20};
  expect_rejected(f, ":/offsets): expected offsets[0] = 0, found 1");
  f.offsets = {0, 5, 10, 15, 19};
  expect_rejected(f, "offsets inconsistent with /x (");
  f.offsets = {0, 5, 10, 15};  // T + 1 entries expected
  expect_rejected(f, ":/offsets): expected [5], found [4]");
}

TEST_CASE("malformed task file: num_context larger than its task or zero") {
  RawTaskFile f = RawTaskFile::valid_regression();
  f.num_context = {3, 6, 3, 3};
  expect_rejected(f, ":/num_context): expected 1 <= num_context[1] < 5 (the task's rows), found 6");
  f.num_context = {3, 3, 5, 3};  // no target left
  expect_rejected(f, "num_context outside its task");
  f.num_context = {0, 3, 3, 3};
  expect_rejected(f, "found 0");
}

TEST_CASE("malformed task file: a batch whose tasks have different sizes") {
  RawTaskFile f = RawTaskFile::valid_regression();
  f.num_context = {3, 2, 3, 3};
  expect_rejected(f, "batch with mixed sizes (");
  expect_rejected(f, "every task of batch 0 with Nc = 3, Nt = 2, found task 1 with Nc = 2, Nt = 3");
}

TEST_CASE("malformed task file: batch offsets that do not cover the tasks") {
  RawTaskFile f = RawTaskFile::valid_regression();
  f.batch_offsets = {0, 2, 3};
  expect_rejected(
      f, ":/batch_offsets): expected 0 first and 4 (the task count) last, found 0 first, 3 last");
  f.batch_offsets = {0, 2, 2, 4};
  expect_rejected(f, "batch offsets not increasing");
}

TEST_CASE("malformed task file: a label outside the classes") {
  RawTaskFile f = RawTaskFile::valid_classification();
  f.y_labels[6] = 4;
  expect_rejected(f, ":/y): expected 0 <= label < 4, found 4 at row 6");
}

TEST_CASE("malformed task file: truncated, empty and text files") {
  test::TempDir dir;
  const std::string path = dir.file("t.h5");
  RawTaskFile::valid_regression().write(path);
  test::truncate_file(path, test::file_size(path) - 100);
  CHECK_ERROR(TaskFileReader(path), InputError, "truncated HDF5 file (" + path + ")");
  test::write_bytes(path, "");
  CHECK_ERROR(TaskFileReader(path), InputError, "found an empty file (0 bytes)");
  test::write_bytes(path, "sequence_id,t,f1,label\n0,0,1.5,2\n");
  CHECK_ERROR(TaskFileReader(path), InputError, "not an HDF5 file (" + path + ")");
}

TEST_CASE("malformed task file: garbage inside a compressed chunk of /x") {
  test::TempDir dir;
  const std::string path = dir.file("g.h5");
  RawTaskFile f = RawTaskFile::valid_regression();
  f.x.assign(4000, 0.25f);  // long enough for deflate to have something to break
  f.y.assign(4000, 0.5f);
  f.offsets = {0, 1000, 2000, 3000, 4000};
  f.num_context = {600, 600, 600, 600};
  f.chunk_rows = 4000;
  f.write(path);
  haddr_t address = 0;
  {
    hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t ds = H5Dopen2(file, "/x", H5P_DEFAULT);
    hid_t space = H5Dget_space(ds);
    hsize_t size = 0;
    H5Dget_chunk_info(ds, space, 0, nullptr, nullptr, &address, &size);
    H5Sclose(space);
    H5Dclose(ds);
    H5Fclose(file);
  }
  REQUIRE(address > 0);
  std::string bytes = test::read_bytes(path);
  for (size_t i = 0; i < 16; ++i) bytes[address + i] = static_cast<char>(0xA5 ^ i);
  test::write_bytes(path, bytes);
  CHECK_ERROR(TaskFileReader(path), InputError, "cannot read dataset (" + path + ":/x)");
}

TEST_CASE("malformed task file: an image-source file where a task file is expected") {
  test::TempDir dir;
  const std::string path = dir.file("images.h5");
  ImageSet images;
  images.height = images.width = 4;
  images.channels = 1;
  images.pixels.assign(2 * 16, 7);
  images.labels = {0, 1};
  TaskInfo info;
  info.task = "image";
  info.dim_x = 2;
  info.dim_y = 1;
  info.is_metalearning = true;
  info.std_form = StdForm::bounded;
  write_image_source(path, images, info, {{"max_points", int64_t{10}}});
  CHECK_ERROR(TaskFileReader(path), InputError, ":layout): expected layout \"tasks\"");
  CHECK(read_image_source(path).images.pixels == images.pixels);
  // ... and the reverse.
  RawTaskFile::valid_regression().write(dir.file("tasks.h5"));
  CHECK_ERROR(read_image_source(dir.file("tasks.h5")), InputError, "not an image-source file");
}

// Issue 20: an interior entry past the task count was never range-checked, and the batch loop
// read past /offsets and /num_context (valgrind: invalid read) before describing a task that
// does not exist.
TEST_CASE("malformed task file: an interior batch offset past the task count") {
  RawTaskFile f = RawTaskFile::valid_regression();
  f.batch_offsets = {0, 1000000, 4};
  expect_rejected(f, "batch offset past the last task (");
  expect_rejected(f, ":/batch_offsets): expected batch_offsets[1] in (0, 4], found 1000000");
  f.batch_offsets = {0, 3, 1, 4};
  expect_rejected(f, "expected batch_offsets[2] in (3, 4], found 1");
  f.batch_offsets = {0, -5, 4};
  expect_rejected(f, "batch offsets not increasing");
}

// Issue 20: the task attribute selects the training defaults, so it must agree with the data.
TEST_CASE("malformed task file: a task attribute that contradicts the data") {
  RawTaskFile gp_data = RawTaskFile::valid_regression();
  gp_data.attributes["task"] = std::string("copy");
  expect_rejected(gp_data, "attribute contradicts task \"copy\" (");
  expect_rejected(
      gp_data,
      ":num_classes): expected at least 2 (a classification task), found 0 (regression data)");
  RawTaskFile copy_data = RawTaskFile::valid_classification();
  copy_data.attributes["task"] = std::string("gp");
  expect_rejected(copy_data,
                  ":num_classes): expected 0 (a regression task), found 4 (classification data)");
  copy_data.attributes["task"] = std::string("image");
  expect_rejected(copy_data, "attribute contradicts task \"image\"");
  RawTaskFile ts = RawTaskFile::valid_classification();
  ts.attributes["task"] = std::string("timeseries");
  ts.attributes["is_metalearning"] = int64_t{1};
  expect_rejected(ts, ":is_metalearning): expected 0, found 1");
  RawTaskFile wide = RawTaskFile::valid_classification();
  wide.attributes["dim_x"] = int64_t{5};
  expect_rejected(wide, ":dim_x): expected 4 (the one-hot width, = num_classes), found 5");
}

TEST_CASE("malformed task file: an unknown ordering names the file and attribute") {
  RawTaskFile f = RawTaskFile::valid_regression();
  f.attributes["ordering"] = std::string("zigzag");
  expect_rejected(f, "unknown ordering (");
  expect_rejected(
      f, ":ordering): expected none, sort_x1, sort_x2, random_proj or kd, found \"zigzag\"");
}

TEST_CASE(
    "malformed task file: huge num_classes, dim_x or dim_y are refused before any allocation") {
  RawTaskFile f = RawTaskFile::valid_classification();
  f.attributes["num_classes"] = int64_t{1} << 40;
  expect_rejected(f, ":num_classes): expected at most 65536, found 1099511627776");
  RawTaskFile g = RawTaskFile::valid_regression();
  g.attributes["dim_y"] = int64_t{1} << 33;
  expect_rejected(g, ":dim_y): expected at most 65536");
}
