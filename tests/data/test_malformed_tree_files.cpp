// Malformed trees files (`tca build-tree`, data/tree_file.hpp): each is rejected on open by
// TreeGroupReader with one InputError naming the file and what was expected, and nothing
// crashes. A valid file is written with TreeFileWriter, then broken in place with the HDF5 C API.
#include <doctest/doctest.h>
#include <hdf5.h>

#include <numeric>

#include "core/error.hpp"
#include "data/tree_file.hpp"
#include "io/test_files.hpp"

using namespace tca;
using namespace tca::data;

namespace {

// Two tasks of N = 5 tokens, b = 2 (k = 2, P = 2, padded to 8), without node embeddings.
void write_valid(const std::string& path) {
  TreeGroupInfo info;
  info.branch_factor = 2;
  info.heuristic = ContextOrdering::none;
  info.data_file = "data.h5";
  info.data_content_hash = "0123";
  TreeFileWriter writer(path, nullptr, "none_b2", info);
  for (int t = 0; t < 2; ++t) {
    TaskTree tree;
    tree.shape = TreeShape(5, 2);
    tree.perm.resize(5);
    std::iota(tree.perm.begin(), tree.perm.end(), 0);
    writer.append(tree);
  }
  writer.finish();
}

template <class T>
void overwrite_dataset(const std::string& path, const char* name, hid_t type,
                       const std::vector<T>& values) {
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  const hid_t d = H5Dopen2(f, name, H5P_DEFAULT);
  REQUIRE(H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()) >= 0);
  H5Dclose(d);
  H5Fclose(f);
}

// Replaces an integer attribute (deleted and written anew: HDF5 1.10 cannot rewrite the group
// attributes our writer leaves, "can't locate open attribute").
void overwrite_attribute(const std::string& path, const char* object, const char* name,
                         int64_t value) {
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  const hid_t g = H5Gopen2(f, object, H5P_DEFAULT);
  REQUIRE(H5Adelete(g, name) >= 0);
  const hid_t space = H5Screate(H5S_SCALAR);
  const hid_t a = H5Acreate2(g, name, H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT);
  REQUIRE(H5Awrite(a, H5T_NATIVE_INT64, &value) >= 0);
  H5Aclose(a);
  H5Sclose(space);
  H5Gclose(g);
  H5Fclose(f);
}

void expect_rejected(const std::string& path, const std::string& needle) {
  CHECK_ERROR(TreeGroupReader(path, "none_b2"), InputError, needle);
  CHECK_ERROR(TreeGroupReader(path, "none_b2"), InputError, path);  // the message names the file
}

}  // namespace

TEST_CASE("trees file fixture is valid before it is broken") {
  test::TempDir dir;
  const std::string path = dir.file("trees.h5");
  write_valid(path);
  TreeGroupReader reader(path, "none_b2");
  CHECK(reader.num_tasks() == 2);
  CHECK(reader.depth(1) == 2);
  CHECK(reader.leaf_size(1) == 2);
  CHECK(reader.context_size(1) == 5);
  CHECK_FALSE(reader.info().has_nodes);
}

TEST_CASE("malformed trees file: a file without the trees format attribute is not a trees file") {
  test::TempDir dir;
  const std::string path = dir.file("trees.h5");
  write_valid(path);
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
  REQUIRE(H5Adelete(f, "format") >= 0);
  H5Fclose(f);
  expect_rejected(path, "not a trees file");
  expect_rejected(path, "no format attribute");
}

TEST_CASE("malformed trees file: an unknown tree name lists the trees there are") {
  test::TempDir dir;
  const std::string path = dir.file("trees.h5");
  write_valid(path);
  CHECK_ERROR(TreeGroupReader(path, "sort_x1_b2"), InputError, "no such tree");
  CHECK_ERROR(TreeGroupReader(path, "sort_x1_b2"), InputError, "one of: none_b2");
}

TEST_CASE("malformed trees file: a depth that does not fit the context size") {
  test::TempDir dir;
  const std::string path = dir.file("trees.h5");
  write_valid(path);
  overwrite_dataset<int32_t>(path, "/trees/none_b2/depth", H5T_NATIVE_INT32, {2, 3});
  expect_rejected(path, "tree shape inconsistent with the context size");
  expect_rejected(path, "depth 2 and leaf size 2 for N = 5, b = 2");
}

TEST_CASE("malformed trees file: a branching factor below 2") {
  test::TempDir dir;
  const std::string path = dir.file("trees.h5");
  write_valid(path);
  overwrite_attribute(path, "/trees/none_b2", "branch_factor", 1);
  expect_rejected(path, "invalid tree attribute");
}

TEST_CASE("malformed trees file: context offsets that overrun the stored permutation") {
  test::TempDir dir;
  const std::string path = dir.file("trees.h5");
  write_valid(path);
  // Task 1 claims 6 rows (same tree shape as 5: k = 2, P = 2), but perm holds 10 rows in all.
  overwrite_dataset<int64_t>(path, "/trees/none_b2/perm_offsets", H5T_NATIVE_INT64, {0, 5, 11});
  expect_rejected(path, "offsets do not end at the data's row count");
}
