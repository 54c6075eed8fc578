// H5File round trips: every element type and shape, row-range reads, lossless conversions,
// attributes, group listing, byte-identical output for identical content, and the reference files.
#include <doctest/doctest.h>
#include <hdf5.h>

#include <algorithm>
#include <cmath>

#include "core/error.hpp"
#include "io/hdf5_file.hpp"
#include "io/test_files.hpp"

using namespace tca;
using namespace tca::io;

namespace {

template <class T>
std::vector<T> iota_values(int64_t n, double scale) {
  std::vector<T> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    v[static_cast<size_t>(i)] = static_cast<T>(static_cast<double>(i % 200) * scale);
  return v;
}

}  // namespace

TEST_CASE("hdf5 datasets of every element type round trip with their shapes") {
  test::TempDir dir;
  const std::string path = dir.file("types.h5");
  const auto f32 = iota_values<float>(2 * 3 * 4, 0.25);
  const auto f64 = iota_values<double>(5, 1e-3);
  const auto i32 = iota_values<int32_t>(7, 3);
  const auto i64 = iota_values<int64_t>(6, 1e10);
  const auto u8 = iota_values<uint8_t>(2 * 2 * 3 * 1, 1);
  {
    H5File f = H5File::create(path);
    f.write("x", {2, 3, 4}, f32);
    f.write("group/sub/f64", {5}, f64, WriteOptions{2});
    f.write("i32", {7, 1}, i32, WriteOptions{3});
    f.write("i64", {2, 3}, i64);
    f.write("images", {2, 2, 3, 1}, u8, WriteOptions{1});
    f.write("scalar", {}, std::vector<double>{2.5});
    f.write("empty", {0, 3}, std::vector<float>{}, WriteOptions{4});
    f.close();
  }
  H5File f = H5File::open_read(path);
  Shape shape;
  CHECK(f.read<float>("x", &shape) == f32);
  CHECK(shape == Shape{2, 3, 4});
  CHECK(f.read<double>("/group/sub/f64", {kAnyExtent}) == f64);
  CHECK(f.read<int32_t>("i32", {7, 1}) == i32);
  CHECK(f.read<int64_t>("i64") == i64);
  CHECK(f.read<uint8_t>("images") == u8);
  CHECK(f.read_scalar<double>("scalar") == 2.5);
  CHECK(f.read<float>("empty", &shape).empty());
  CHECK(shape == Shape{0, 3});

  const DatasetInfo chunked = f.dataset_info("images");
  CHECK(chunked.chunk == Shape{1, 2, 3, 1});
  CHECK(chunked.filters == std::vector<int>{2, 1});  // shuffle, then deflate (gzip 4)
  CHECK(f.dataset_info("x").chunk.empty());
  CHECK(f.dataset_info("scalar").shape.empty());
  CHECK(*f.dataset_info("i64").type == ElementType::i64);
}

TEST_CASE("hdf5 reads convert only where no value can be lost") {
  test::TempDir dir;
  const std::string path = dir.file("convert.h5");
  {
    H5File f = H5File::create(path);
    f.write("f32", {3}, std::vector<float>{0.1f, -2.f, 3.5f});
    f.write("i32", {2}, std::vector<int32_t>{-7, 9});
    f.write("u8", {2}, std::vector<uint8_t>{0, 255});
    f.write("f64", {1}, std::vector<double>{0.1});
    f.write("i64", {1}, std::vector<int64_t>{1});
    f.close();
  }
  H5File f = H5File::open_read(path);
  CHECK(f.read<double>("f32")[0] == static_cast<double>(0.1f));
  CHECK(f.read<int64_t>("i32") == std::vector<int64_t>{-7, 9});
  CHECK(f.read<int32_t>("u8") == std::vector<int32_t>{0, 255});
  CHECK(f.read<int64_t>("u8") == std::vector<int64_t>{0, 255});
  CHECK_ERROR(f.read<float>("f64"), InputError,
              "wrong dtype (" + path + ":/f64): expected float32");
  CHECK_ERROR(f.read<int32_t>("i64"), InputError, "found int64");
  CHECK_ERROR(f.read<float>("i32"), InputError, "wrong dtype");
  CHECK_ERROR(f.read<uint8_t>("i32"), InputError, "wrong dtype");
}

TEST_CASE("hdf5 row-range reads and appended datasets return exactly the requested rows") {
  test::TempDir dir;
  const std::string path = dir.file("rows.h5");
  const auto values = iota_values<float>(100 * 3, 0.5);
  {
    H5File f = H5File::create(path);
    f.write("chunked", {100, 3}, values, WriteOptions{16});
    AppendableDataset grow = f.create_appendable("grow", ElementType::i32, {2}, 8);
    for (int32_t i = 0; i < 10; ++i) {
      const int32_t row[4] = {i, -i, i + 100, -i - 100};
      grow.append(row, 2);
    }
    CHECK(grow.rows() == 20);
    CHECK_THROWS_AS(grow.append(values.data(), 1), ShapeError);
    f.close();
  }
  H5File f = H5File::open_read(path);
  const auto rows = f.read_rows<float>("chunked", 37, 20);
  REQUIRE(rows.size() == 60);
  for (size_t i = 0; i < rows.size(); ++i) CHECK(rows[i] == values[37 * 3 + i]);
  CHECK(f.read_rows<float>("chunked", 100, 0).empty());
  CHECK_ERROR(f.read_rows<float>("chunked", 90, 11), InputError, "row range outside the dataset");
  const auto grown = f.read<int32_t>("grow", {20, 2});
  CHECK(grown[0] == 0);
  CHECK(grown[4] == 1);
  CHECK(grown[39] == -109);
  CHECK(f.dataset_info("grow").chunk == Shape{8, 2});
}

TEST_CASE("hdf5 attributes of int64, float64 and string type round trip and are typed on read") {
  test::TempDir dir;
  const std::string path = dir.file("attrs.h5");
  {
    H5File f = H5File::create(path);
    f.set_attr("seed", int64_t{-42});
    f.set_attr("lr", 5e-4);
    f.set_attr("task", std::string("gp"));
    f.set_attr("unicode", "Matérn 5/2");
    f.write("x", {1}, std::vector<float>{1});
    f.set_attr("units", "none", "x");
    f.set_attr("seed", int64_t{7});  // replacing keeps one attribute
    f.close();
  }
  H5File f = H5File::open_read(path);
  CHECK(f.attr_int("seed") == 7);
  CHECK(f.attr_double("lr") == 5e-4);
  CHECK(f.attr_double("seed") == 7.0);
  CHECK(f.attr_string("task") == "gp");
  CHECK(f.attr_string("unicode") == "Matérn 5/2");
  CHECK(f.attr_string("units", "/x") == "none");
  CHECK(f.attr_names() == std::vector<std::string>{"lr", "seed", "task", "unicode"});
  CHECK(f.attrs().size() == 4);
  CHECK(f.has_attr("task"));
  CHECK_FALSE(f.has_attr("nope"));
  CHECK_FALSE(f.has_attr("units", "/missing"));
  CHECK_ERROR(f.attr_int("task"), InputError,
              "wrong attribute type (" + path + ":task): expected an integer, found a string (gp)");
  CHECK_ERROR(f.attr_string("lr"), InputError, "expected a string");
  CHECK_ERROR(f.attr("format"), InputError, "missing attribute (" + path + ":format)");
  CHECK_ERROR(f.attr("units", "/y"), InputError, "missing object");
}

TEST_CASE("hdf5 fixed-length string attributes written by other tools are read") {
  test::TempDir dir;
  const std::string path = dir.file("fixed.h5");
  {
    // Written with the C API the way h5py writes numpy.bytes_ values: fixed length, NUL padded.
    hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, 8);
    H5Tset_strpad(type, H5T_STR_NULLPAD);
    hid_t space = H5Screate(H5S_SCALAR);
    hid_t attr = H5Acreate2(file, "kernel", type, space, H5P_DEFAULT, H5P_DEFAULT);
    const char text[8] = {'r', 'b', 'f', 0, 0, 0, 0, 0};
    H5Awrite(attr, type, text);
    H5Aclose(attr);
    H5Sclose(space);
    H5Tclose(type);
    H5Fclose(file);
  }
  CHECK(H5File::open_read(path).attr_string("kernel") == "rbf");
}

TEST_CASE("hdf5 group listing names direct members or every descendant") {
  test::TempDir dir;
  const std::string path = dir.file("groups.h5");
  {
    H5File f = H5File::create(path);
    f.write("b/y", {1}, std::vector<int64_t>{1});
    f.write("a/deep/z", {1}, std::vector<int64_t>{1});
    f.write("top", {1}, std::vector<int64_t>{1});
    f.create_group("empty/inner");
    f.close();
  }
  H5File f = H5File::open_read(path);
  CHECK(f.list() == std::vector<std::string>{"a", "b", "empty", "top"});
  CHECK(f.list("/a") == std::vector<std::string>{"deep"});
  CHECK(f.list("/", true) == std::vector<std::string>{"a", "a/deep", "a/deep/z", "b", "b/y",
                                                      "empty", "empty/inner", "top"});
  CHECK(f.is_group("a/deep"));
  CHECK(f.is_dataset("/a/deep/z"));
  CHECK_FALSE(f.exists("/a/missing/z"));
  CHECK_FALSE(f.is_dataset("a"));
  CHECK_ERROR(f.list("top"), InputError, "missing group");
}

TEST_CASE("hdf5 files with the same content are byte-identical (no time stamps)") {
  test::TempDir dir;
  auto make = [&](const std::string& name) {
    H5File f = H5File::create(dir.file(name));
    f.set_attr("format", "tca-tasks");
    f.set_attr("seed", int64_t{3});
    f.write("x", {300, 2}, iota_values<float>(600, 0.1), WriteOptions{64});
    f.write("g/y", {5}, iota_values<int64_t>(5, 1));
    AppendableDataset a = f.create_appendable("a", ElementType::f32, {3}, 4);
    const auto rows = iota_values<float>(30, 2);
    a.append(rows.data(), 10);
    f.close();
  };
  make("one.h5");
  sleep(1);  // a time stamp, if any were written, would now differ
  make("two.h5");
  const std::string one = test::read_bytes(dir.file("one.h5"));
  CHECK(one.size() > 0);
  CHECK(one == test::read_bytes(dir.file("two.h5")));
}

TEST_CASE("hdf5 layer reads the float64 and int64 reference files with attributes and groups") {
  const std::string path = std::string(TCA_SOURCE_DIR) + "/tests/data/reference/tca_gp.h5";
  REQUIRE_MESSAGE(test::file_size(path) > 0, "reference data expected at " << path);
  H5File f = H5File::open_read(path);
  CHECK(f.attr_int("B") == 3);
  CHECK(f.attr_int("N") == 11);
  CHECK(f.attr_string("config.aggregator_type").size() > 0);
  const auto members = f.list("/", true);
  CHECK(std::find(members.begin(), members.end(), "activations/context_embeddings") !=
        members.end());
  Shape shape;
  const auto emb = f.read<double>("/activations/context_embeddings", &shape);
  CHECK(shape == Shape{3, 11, 16});
  for (double v : emb) CHECK(std::isfinite(v));
  // Every 0-d float dataset of the file is readable as a scalar.
  int scalars = 0;
  for (const auto& name : members) {
    if (!f.is_dataset(name)) continue;
    const DatasetInfo info = f.dataset_info(name);
    if (info.shape.empty() && info.is_float) {
      CHECK(std::isfinite(f.read_scalar<double>(name)));
      ++scalars;
    }
    if (info.is_integer) CHECK(f.read<int64_t>(name).size() == static_cast<size_t>(info.numel()));
  }
  CHECK(scalars > 0);
}
