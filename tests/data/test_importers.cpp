// Importers of user-supplied data (EMNIST idx, CelebA PPM/PGM folder, time-series CSV/HDF5) on
// small files written by the test, and their clear failures when the data are absent or broken.
#include <doctest/doctest.h>
#include <zlib.h>

#include "core/error.hpp"
#include "data/dataset_generation.hpp"
#include "data/image_sources.hpp"
#include "data/task_file_reader.hpp"
#include "data/timeseries_task.hpp"
#include "io/hdf5_file.hpp"
#include "io/test_files.hpp"

using namespace tca;
using namespace tca::data;

namespace {

void put_u32(std::string& s, uint32_t v) {
  for (int shift : {24, 16, 8, 0}) s += static_cast<char>((v >> shift) & 0xff);
}

void write_gz(const std::string& path, const std::string& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
}

// An EMNIST-like idx pair: n images of h x w where pixel (r, c) of image i = i * 10 + r * w + c
// in storage order, labels i % 3.
void write_emnist(const std::string& dir, const std::string& split, uint32_t n, uint32_t h,
                  uint32_t w) {
  std::string images, labels;
  put_u32(images, 0x803);
  put_u32(images, n);
  put_u32(images, h);
  put_u32(images, w);
  for (uint32_t i = 0; i < n; ++i)
    for (uint32_t p = 0; p < h * w; ++p) images += static_cast<char>(i * 10 + p);
  put_u32(labels, 0x801);
  put_u32(labels, n);
  for (uint32_t i = 0; i < n; ++i) labels += static_cast<char>(i % 3);
  write_gz(dir + "/emnist-balanced-" + split + "-images-idx3-ubyte.gz", images);
  test::write_bytes(dir + "/emnist-balanced-" + split + "-labels-idx1-ubyte",
                    labels);  // plain works too
}

void write_ppm(const std::string& path, int h, int w, unsigned char base) {
  std::string s = "P6\n# comment\n" + std::to_string(w) + " " + std::to_string(h) + "\n255\n";
  for (int i = 0; i < h * w * 3; ++i) s += static_cast<char>(base + i);
  test::write_bytes(path, s);
}

}  // namespace

TEST_CASE("emnist importer reads idx files, transposes images upright and filters classes") {
  test::TempDir dir;
  write_emnist(dir.path(), "train", 6, 2, 3);  // stored 2 x 3 => upright 3 x 2
  write_emnist(dir.path(), "test", 4, 2, 3);
  TaskParams p;
  p.task = "image";
  p.source = "emnist";
  p.path = dir.path();
  p.classes = "0-1";
  p.max_points = 7;
  const ImageSet set = load_image_source(resolve_params(p), Split::train);
  CHECK(set.size() == 4);  // labels 0,1,2,0,1,2 -> keep 0,1,0,1
  CHECK(set.labels == std::vector<int32_t>{0, 1, 0, 1});
  CHECK(set.height == 3);
  CHECK(set.width == 2);
  // Upright (r, c) = stored (c, r): stored index c * 3 + r.
  const uint8_t* first = set.image(0);
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 2; ++c) CHECK(first[r * 2 + c] == c * 3 + r);
  CHECK(load_image_source(resolve_params(p), Split::eval).size() == 3);
}

TEST_CASE("emnist importer fails clearly without the user's copy or with a broken file") {
  test::TempDir dir;
  TaskParams p;
  p.task = "image";
  p.source = "emnist";
  CHECK_ERROR(resolve_params(p), UsageError, "--source emnist needs --path DIR");
  p.path = dir.file("nowhere");
  CHECK_ERROR(load_image_source(resolve_params(p), Split::train), InputError,
              "missing emnist data (" + p.path + ")");
  p.path = dir.path();
  CHECK_ERROR(load_image_source(resolve_params(p), Split::train), InputError,
              "expected one of " + dir.path() + "/emnist-balanced-train-images-idx3-ubyte.gz");
  write_emnist(dir.path(), "train", 6, 2, 3);
  const std::string images = dir.path() + "/emnist-balanced-train-images-idx3-ubyte.gz";
  std::string header;
  put_u32(header, 0x803);
  put_u32(header, 1000);  // claims 1000 images, holds none
  put_u32(header, 28);
  put_u32(header, 28);
  write_gz(images, header);
  CHECK_ERROR(load_image_source(resolve_params(p), Split::train), InputError,
              "truncated idx file (" + images + ":pixels)");
  write_gz(images, "garbage!");
  CHECK_ERROR(load_image_source(resolve_params(p), Split::train), InputError,
              "not an idx image file (" + images + ":magic): expected 0x00000803");
}

TEST_CASE(
    "celeba importer reads PPM images by partition and fails clearly on missing or mixed images") {
  test::TempDir dir;
  TaskParams p;
  p.task = "image";
  p.source = "celeba";
  p.path = dir.path();
  p.max_points = 10;
  CHECK_ERROR(load_image_source(resolve_params(p), Split::train), InputError,
              "expected one of " + dir.path() + "/list_eval_partition.txt");
  test::write_bytes(dir.file("list_eval_partition.txt"),
                    "000001.jpg 0\n000002.jpg 1\n000003.jpg 2\n");
  write_ppm(dir.file("000001.ppm"), 4, 5, 0);
  write_ppm(dir.file("000002.ppm"), 4, 5, 100);
  CHECK_ERROR(load_image_source(resolve_params(p), Split::eval), InputError,
              "missing celeba image 000003 file");
  write_ppm(dir.file("000003.ppm"), 4, 5, 7);
  const ImageSet train = load_image_source(resolve_params(p), Split::train);
  CHECK(train.size() == 2);
  CHECK(train.channels == 3);
  CHECK(train.height == 4);
  CHECK(train.width == 5);
  CHECK(train.image(1)[0] == 100);
  const ImageSet eval = load_image_source(resolve_params(p), Split::eval);
  CHECK(eval.size() == 1);
  CHECK(eval.image(0)[2] == 9);
  write_ppm(dir.file("000002.ppm"), 5, 5, 0);
  CHECK_ERROR(load_image_source(resolve_params(p), Split::train), InputError,
              "image size differs from the first image");
  test::write_bytes(dir.file("000002.ppm"), std::string("\xff\xd8\xff\xe0 JFIF", 10));
  CHECK_ERROR(load_image_source(resolve_params(p), Split::train), InputError,
              "expected binary PGM (P5) or PPM (P6)");
  p.classes = "0-4";
  CHECK_ERROR(resolve_params(p), UsageError, "CelebA images have no classes");
}

TEST_CASE("timeseries importer reads CSV and HDF5 rows into batches of equal length") {
  test::TempDir dir;
  const std::string csv = dir.file("ts.csv");
  std::string text = "sequence_id,t,acc_x,acc_y,label\n";
  for (int s = 0; s < 3; ++s) {
    const int len = s == 1 ? 4 : 3;
    for (int t = 0; t < len; ++t) {
      text += "seq" + std::to_string(s) + "," + std::to_string(10 + 2 * t) + "," +
              std::to_string(s + 0.5) + ",-" + std::to_string(t) + "," +
              std::to_string((s + t) % 3) + "\n";
    }
  }
  test::write_bytes(csv, text);
  const TimeseriesData data = import_timeseries(csv);
  CHECK(data.channels == 2);
  CHECK(data.num_classes == 3);
  REQUIRE(data.sequences.size() == 3);
  const auto batches = timeseries_batches(data, 8);
  REQUIRE(batches.size() == 2);  // lengths 3 (seq0, seq2) and 4 (seq1)
  CHECK(batches[0].xc.shape() == Shape{2, 3, 3});
  CHECK(batches[1].xc.shape() == Shape{1, 4, 3});
  CHECK(batches[0].xc[0] == -1.f);
  CHECK(batches[0].xc[3] == 0.f);  // t = 12 of 10..14
  CHECK(batches[0].xc[1] == 0.5f);
  CHECK(batches[0].labels.data_i32()[3 + 1] == 0);  // seq2, t index 1: (2 + 1) % 3

  // The same rows as HDF5 /rows (numeric sequence ids).
  const std::string h5 = dir.file("ts.h5");
  {
    io::H5File f = io::H5File::create(h5);
    std::vector<double> rows;
    for (int s = 0; s < 3; ++s) {
      const int len = s == 1 ? 4 : 3;
      for (int t = 0; t < len; ++t)
        rows.insert(rows.end(),
                    {double(s), 10.0 + 2 * t, s + 0.5, -double(t), double((s + t) % 3)});
    }
    f.write("rows", {static_cast<int64_t>(rows.size() / 5), 5}, rows);
    f.close();
  }
  const TimeseriesData from_h5 = import_timeseries(h5);
  const auto h5_batches = timeseries_batches(from_h5, 8);
  CHECK(h5_batches[0].xc.to_vector() == batches[0].xc.to_vector());
  CHECK(h5_batches[1].xc.to_vector() == batches[1].xc.to_vector());

  // ... and written as a task file by make-dataset's generator.
  GenerationRequest r;
  r.params.task = "timeseries";
  r.params.path = csv;
  r.out = dir.file("imported.h5");
  const GenerationResult result = generate_dataset(r);
  CHECK(result.tasks == 3);
  CHECK(result.batches == 2);
  TaskFileReader reader(r.out);
  CHECK(reader.info().num_classes == 3);
  CHECK(reader.info().dim_x == 3);
  CHECK(reader.read_batch(1).labels.to_vector().size() == 4);
}

TEST_CASE(
    "timeseries importer rejects bad headers, split sequences, time going back and bad labels") {
  test::TempDir dir;
  const std::string csv = dir.file("bad.csv");
  test::write_bytes(csv, "id,t,f,label\n");
  CHECK_ERROR(import_timeseries(csv), InputError,
              "bad header (" + csv + ":line 1): expected sequence_id,t,<feature columns>,label");
  test::write_bytes(csv, "sequence_id,t,f,label\na,0,1,0\na,1,1,0\nb,0,1,1\nb,1,1,1\na,2,1,0\n");
  CHECK_ERROR(import_timeseries(csv), InputError,
              "rows of a sequence are not contiguous (" + csv + ":line 6)");
  test::write_bytes(csv, "sequence_id,t,f,label\na,0,1,0\na,0,1,0\n");
  CHECK_ERROR(import_timeseries(csv), InputError, "time not increasing (" + csv + ":line 3)");
  test::write_bytes(csv, "sequence_id,t,f,label\na,0,1,0\na,1,nan,0\n");
  CHECK_ERROR(import_timeseries(csv), InputError,
              "bad feature (" + csv + ":line 3): expected a finite number, found 'nan'");
  test::write_bytes(csv, "sequence_id,t,f,label\na,0,1,0.5\n");
  CHECK_ERROR(import_timeseries(csv), InputError, "bad label");
  test::write_bytes(csv, "sequence_id,t,f,label\na,0,1\n");
  CHECK_ERROR(import_timeseries(csv), InputError,
              "wrong number of columns (" + csv + ":line 2): expected 4, found 3");
  CHECK_ERROR(import_timeseries(dir.file("none.csv")), InputError, "cannot open time-series file");
}

// Issue 20: values beyond float32 were imported as inf (a file our reader then rejected), valid
// denormals were refused (std::stod throws on underflow), and control bytes of a hostile CSV
// reached the terminal through the error message.
TEST_CASE("timeseries importer: float32 range, denormals and unprintable bytes") {
  test::TempDir dir;
  const std::string csv = dir.file("ts.csv");
  test::write_bytes(csv, "sequence_id,t,f,label\na,0,1,0\na,1,1e39,1\n");
  CHECK_ERROR(import_timeseries(csv), InputError,
              "bad feature (" + csv +
                  ":line 3): expected a number within float32 range (|x| <= 3.4e38), found '1e39'");
  test::write_bytes(csv, "sequence_id,t,f,label\na,0,1,0\na,1e39,1,1\n");
  CHECK_ERROR(import_timeseries(csv), InputError,
              "bad t (" + csv + ":line 3): expected a number within float32 range");
  test::write_bytes(csv,
                    "sequence_id,t,f,label\na,0,1e-310,0\na,1,-4.9e-324,1\nb,0,1e-40,0\nb,1,1,1\n");
  const TimeseriesData data = import_timeseries(csv);
  REQUIRE(data.sequences.size() == 2);
  CHECK(data.sequences[0].features[0] == 0.0f);    // a double denormal rounds to float zero
  CHECK(data.sequences[1].features[0] == 1e-40f);  // a float32 denormal is kept
  test::write_bytes(csv, "sequence_id,t,f,label\na,0,\x1b[2J\x07,0\n");
  try {
    import_timeseries(csv);
    FAIL("expected an InputError");
  } catch (const InputError& e) {
    const std::string what = e.what();
    CHECK(what.find('\x1b') == std::string::npos);
    CHECK(what.find('\x07') == std::string::npos);
    CHECK_MESSAGE(what.find("found '\\x1b[2J\\x07'") != std::string::npos, what);
  }
  // And through make-dataset: a file our own reader accepts.
  test::write_bytes(csv, "sequence_id,t,f,label\na,0,3e38,0\na,1,1e-310,1\n");
  GenerationRequest r;
  r.params.task = "timeseries";
  r.params.path = csv;
  r.out = dir.file("imported.h5");
  generate_dataset(r);
  CHECK(TaskFileReader(r.out).num_tasks() == 1);
}
