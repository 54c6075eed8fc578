// H5File on bad input: every failure is one InputError naming the file, the dataset or attribute,
// what was expected and what was found, nothing is printed by libhdf5, and nothing crashes.
#include <doctest/doctest.h>
#include <hdf5.h>
#include <link.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "core/error.hpp"
#include "io/hdf5_error.hpp"
#include "io/hdf5_file.hpp"
#include "io/test_files.hpp"

using namespace tca;
using namespace tca::io;

namespace {

// A valid file with one compressible chunked dataset and one plain dataset.
std::string make_good_file(const test::TempDir& dir, const std::string& name = "good.h5") {
  const std::string path = dir.file(name);
  H5File f = H5File::create(path);
  std::vector<float> x(4096 * 4);
  for (size_t i = 0; i < x.size(); ++i)
    x[i] = static_cast<float>(std::sin(0.01 * static_cast<double>(i)));
  f.write("x", {4096, 4}, x, WriteOptions{1024});
  f.write("plain", {3}, std::vector<double>{1, 2, 3});
  f.set_attr("format", "tca-tasks");
  f.close();
  return path;
}

// Where the first deflate-compressed chunk of /x starts in the file.
uint64_t first_chunk_offset(const std::string& path) {
  hid_t file = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  hid_t ds = H5Dopen2(file, "/x", H5P_DEFAULT);
  haddr_t addr = 0;
  hsize_t size = 0;
  hid_t space = H5Dget_space(ds);
  H5Dget_chunk_info(ds, space, 0, nullptr, nullptr, &addr, &size);
  H5Sclose(space);
  H5Dclose(ds);
  H5Fclose(file);
  return addr;
}

}  // namespace

TEST_CASE("hdf5 open rejects missing, empty, text and directory paths with a clear message") {
  test::TempDir dir;
  const std::string missing = dir.file("missing.h5");
  CHECK_ERROR(
      H5File::open_read(missing), InputError,
      "cannot open HDF5 file (" + missing + "): expected an existing file, found No such file");
  const std::string empty = dir.file("empty.h5");
  test::write_bytes(empty, "");
  CHECK_ERROR(
      H5File::open_read(empty), InputError,
      "not an HDF5 file (" + empty + "): expected an HDF5 file, found an empty file (0 bytes)");
  const std::string text = dir.file("text.h5");
  test::write_bytes(text, "step,loss\n1,0.5\n");
  CHECK_ERROR(H5File::open_read(text), InputError,
              "not an HDF5 file (" + text + "): expected an HDF5 file, found no HDF5 signature");
  CHECK_ERROR(H5File::open_read(dir.path()), InputError, "found a directory");
}

TEST_CASE("hdf5 open rejects truncated files, quoting libhdf5's reason, and prints nothing") {
  test::TempDir dir;
  const std::string path = make_good_file(dir);
  const int64_t size = test::file_size(path);
  for (int64_t keep : {size / 2, int64_t{2048}, size - 62}) {
    const std::string cut = dir.file("cut" + std::to_string(keep) + ".h5");
    test::write_bytes(cut, test::read_bytes(path).substr(0, static_cast<size_t>(keep)));
    const std::string printed = test::capture_stderr(dir.file("stderr.txt"), [&] {
      CHECK_ERROR(H5File::open_read(cut), InputError,
                  "truncated HDF5 file (" + cut + "): expected a complete HDF5 file, found");
      CHECK_ERROR(H5File::open_read(cut), InputError, "truncated file: eof");
    });
    CHECK(printed.find("HDF5-DIAG") == std::string::npos);
    CHECK(printed.empty());
  }
}

TEST_CASE("hdf5 read rejects garbage inside a compressed chunk with the inflate reason") {
  test::TempDir dir;
  const std::string path = make_good_file(dir);
  const uint64_t offset = first_chunk_offset(path);
  REQUIRE(offset > 0);
  std::string bytes = test::read_bytes(path);
  for (size_t i = 0; i < 200; ++i) bytes[offset + 10 + i] = static_cast<char>((i * 37 + 11) & 0xff);
  test::write_bytes(path, bytes);
  H5File f = H5File::open_read(path);  // the header is intact
  CHECK(f.read<double>("plain").size() == 3);
  const std::string printed = test::capture_stderr(dir.file("stderr.txt"), [&] {
    CHECK_ERROR(
        f.read<float>("x"), InputError,
        "cannot read dataset (" + path + ":/x): expected readable (uncorrupted) data, found");
    CHECK_ERROR(f.read_rows<float>("x", 0, 10), InputError, "inflate");
  });
  CHECK(printed.empty());
  // Rows in undamaged chunks are still readable.
  CHECK(f.read_rows<float>("x", 3072, 1024).size() == 4096);
}

TEST_CASE("hdf5 missing datasets, wrong rank and wrong shape name the dataset") {
  test::TempDir dir;
  const std::string path = make_good_file(dir);
  H5File f = H5File::open_read(path);
  CHECK_ERROR(
      f.read<float>("y"), InputError,
      "missing dataset (" + path + ":/y): expected a dataset /y, found nothing at that path");
  CHECK_ERROR(f.dataset_info("/"), InputError, "found a group");
  CHECK_ERROR(f.read<float>("x", {kAnyExtent}), InputError,
              "wrong rank (" + path + ":/x): expected [*], found [4096, 4]");
  CHECK_ERROR(f.read<float>("x", {kAnyExtent, 3}), InputError,
              "wrong shape (" + path + ":/x): expected [*, 3], found [4096, 4]");
  CHECK_ERROR(f.require_dataset("x", ElementType::f64, {kAnyExtent, 4}), InputError,
              "wrong dtype (" + path + ":/x): expected float64, found float32");
  CHECK_ERROR(f.read_scalar<double>("plain"), InputError, "expected a single value, found [3]");
}

TEST_CASE("hdf5 require_finite names the dataset, row and column of the first nan or inf") {
  const float values[6] = {0, 1, 2, 3, std::numeric_limits<float>::quiet_NaN(), 5};
  CHECK_ERROR(require_finite("f.h5", "x", values, 6, 2), InputError,
              "non-finite value (f.h5:/x): expected finite values, found nan at row 2, column 0");
  const double inf[2] = {1, std::numeric_limits<double>::infinity()};
  CHECK_ERROR(require_finite("f.h5", "/y", inf, 2), InputError, "found inf at row 1");
  CHECK_NOTHROW(require_finite("f.h5", "x", values, 4, 2));
}

TEST_CASE("hdf5 extents larger than the stored data are rejected before allocating") {
  test::TempDir dir;
  const std::string path = dir.file("huge.h5");
  {
    // A header that declares 10^12 floats with nothing written (what a corrupt header looks like).
    hid_t file = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t dims[2] = {1000000000ull, 1000};
    hid_t space = H5Screate_simple(2, dims, nullptr);
    hid_t ds = H5Dcreate2(file, "x", H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t cdims[2] = {100000, 1000};
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 2, cdims);
    H5Pset_deflate(dcpl, 4);
    hid_t ds2 =
        H5Dcreate2(file, "big_chunks", H5T_IEEE_F32LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    hid_t dcpl3 = H5Pcreate(H5P_DATASET_CREATE);
    hsize_t small[2] = {10, 10};
    H5Pset_chunk(dcpl3, 2, small);
    H5Pset_fletcher32(dcpl3);
    hsize_t few[2] = {10, 10};
    hid_t space3 = H5Screate_simple(2, few, nullptr);
    hid_t ds3 =
        H5Dcreate2(file, "fletcher", H5T_IEEE_F32LE, space3, H5P_DEFAULT, dcpl3, H5P_DEFAULT);
    for (hid_t h : {ds, ds2, ds3}) H5Dclose(h);
    H5Pclose(dcpl);
    H5Pclose(dcpl3);
    H5Sclose(space);
    H5Sclose(space3);
    H5Fclose(file);
  }
  H5File f = H5File::open_read(path);
  CHECK_ERROR(f.read<float>("x"), InputError,
              "dataset extents inconsistent with its stored data (" + path + ":/x)");
  CHECK_ERROR(f.read_rows<float>("x", 0, 1), InputError, "0 bytes stored");
  CHECK_ERROR(
      f.read<float>("big_chunks"), InputError,
      "bad chunk dimensions (" + path + ":/big_chunks): expected chunks of at most 256 MiB");
  CHECK_ERROR(f.read<float>("fletcher"), InputError,
              "unsupported filter (" + path +
                  ":/fletcher): expected gzip (1) and shuffle (2) only, found filter id 3");
}

TEST_CASE("hdf5 writing to a read-only file or an unwritable path is a runtime failure") {
  test::TempDir dir;
  const std::string path = make_good_file(dir);
  H5File f = H5File::open_read(path);
  CHECK_THROWS_AS(f.write("z", {1}, std::vector<float>{1}), RuntimeFailure);
  CHECK_THROWS_AS(f.set_attr("a", int64_t{1}), RuntimeFailure);
  CHECK_ERROR(H5File::create(dir.file("no/such/dir/f.h5")), RuntimeFailure,
              "cannot create HDF5 file");
}

// Issue 20: libhdf5's I/O failure text (two lines, a timestamp, the temp name) was pasted into
// our one-line messages.
TEST_CASE(
    "libhdf5 error descriptions become one line without timestamps, addresses or temp names") {
  const std::string raw =
      "file write failed: time = Sun Dec  6 14:20:07 2026\n, filename = "
      "'/r/checkpoint.h5.tmp812.3fa9c01e', "
      "file descriptor = 5, errno = 28, error message = 'No space left on device', buf = 0x55d2a1, "
      "total write "
      "size = 4096, bytes this sub-write = 4096, bytes actually written = 18446744073709551615, "
      "offset = 0";
  CHECK(io::clean_hdf5_description(raw) ==
        "file write failed: filename = '/r/checkpoint.h5', errno = 28, error message = 'No space "
        "left on device'");
  CHECK(io::clean_hdf5_description(
            "truncated file: eof = 2048, sblock->base_addr = 0, stored_eof = 61852") ==
        "truncated file: eof = 2048, sblock->base_addr = 0, stored_eof = 61852");
}

// Issue 20: after a close that failed (a disk that fills up mid-write), libhdf5 1.10 has freed
// the file but left its ID registered (HDFFV-11052); an H5close at exit then crashes on it. lib/io
// turns libhdf5's own exit cleanup off, and the build links libhdf5's C library only: the C++
// library, when loaded, registers an H5close of its own at exit (it was, under make
// test-sanitize, where gcc keeps every listed library).
namespace {

int find_hdf5_cpp(dl_phdr_info* info, size_t, void* found) {
  const std::string name = info->dlpi_name ? info->dlpi_name : "";
  if (name.find("libhdf5_cpp") != std::string::npos ||
      name.find("libhdf5_serial_cpp") != std::string::npos) {
    *static_cast<std::string*>(found) = name;
  }
  return 0;
}

}  // namespace

TEST_CASE("a process whose HDF5 file failed to close exits cleanly") {
  std::string cpp_library;
  dl_iterate_phdr(find_hdf5_cpp, &cpp_library);
  CHECK_MESSAGE(cpp_library.empty(), "loaded: " << cpp_library
                                                << " (its atexit H5close crashes after a failed "
                                                   "close; link the HDF5 C library only)");

  // The failure and the exit happen in a child: its exit status is what is checked.
  test::TempDir dir;
  const std::string path = dir.file("big.h5");
  std::fflush(nullptr);
  const pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    std::signal(SIGXFSZ, SIG_IGN);
    rlimit capped{};
    getrlimit(RLIMIT_FSIZE, &capped);
    capped.rlim_cur = 64 * 1024;  // as root, permissions would not stop the write
    if (setrlimit(RLIMIT_FSIZE, &capped) != 0) _exit(3);
    bool write_failed = false, close_failed = false;
    try {
      H5File f = H5File::create(path);
      try {
        f.write("big", {256, 1024}, std::vector<float>(256 * 1024, 0.5f));
      } catch (const RuntimeFailure&) {
        write_failed = true;
      }
      try {
        f.close();
      } catch (const RuntimeFailure&) {
        close_failed = true;
      }
    } catch (...) {
      _exit(4);
    }
    if (!write_failed || !close_failed) _exit(5);
    std::exit(0);  // the exit handlers (libhdf5's, the sanitizers') run here
  }
  int status = 0;
  REQUIRE(waitpid(child, &status, 0) == child);
  CHECK_MESSAGE(WIFEXITED(status), "killed by signal " << WTERMSIG(status));
  if (WIFEXITED(status)) CHECK(WEXITSTATUS(status) == 0);
}
