// Task files end to end: every task type written by generate_dataset reads back batch by batch
// equal to the sampler's output; same (task, params, seed) => same content hash; readers shuffle
// whole batches; training samplers over files; other tools (h5py, h5dump) read our files.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>

#include "core/error.hpp"
#include "data/content_hash.hpp"
#include "data/dataset_generation.hpp"
#include "data/file_task_sampler.hpp"
#include "data/image_source_file.hpp"
#include "data/image_sources.hpp"
#include "data/image_task.hpp"
#include "data/task_file_reader.hpp"
#include "data/task_sampler.hpp"
#include "io/test_files.hpp"

using namespace tca;
using namespace tca::data;

namespace {

GenerationRequest request(const std::string& task, const std::string& out, int64_t count,
                          int64_t seed = 0) {
  GenerationRequest r;
  r.params.task = task;
  r.split = Split::eval;
  r.count = count;
  r.seed = seed;
  r.batch_size = 4;
  r.out = out;
  return r;
}

void check_same(const Tensor& a, const Tensor& b) {
  REQUIRE(a.defined() == b.defined());
  if (!a.defined()) return;
  REQUIRE(a.shape() == b.shape());
  REQUIRE(a.dtype() == b.dtype());
  if (a.dtype() == DType::i32) {
    CHECK(std::equal(a.data_i32(), a.data_i32() + a.numel(), b.data_i32()));
  } else {
    CHECK(a.to_vector() == b.to_vector());
  }
}

// Regenerates the batches with the sampler and the same seed, and compares with the file.
void check_round_trip(const GenerationRequest& r) {
  const GenerationResult result = generate_dataset(r);
  TaskFileReader reader(r.out);
  CHECK(reader.content_hash() == result.content_hash);
  CHECK(std::get<std::string>(reader.attributes().at("content_hash")) ==
        hash_hex(result.content_hash));
  CHECK(reader.num_tasks() == r.count);
  CHECK(reader.num_batches() == (r.count + r.batch_size - 1) / r.batch_size);
  auto sampler = make_task_sampler(r.params, r.split);
  CHECK(reader.info() == sampler->info());
  Rng rng(static_cast<uint64_t>(r.seed));
  for (int64_t j = 0; j < reader.num_batches(); ++j) {
    const Batch expected = sampler->sample(std::min(r.batch_size, r.count - j * r.batch_size), rng);
    const Batch got = reader.read_batch(j);
    check_same(got.xc, expected.xc);
    check_same(got.xt, expected.xt);
    check_same(got.yc, expected.yc);
    check_same(got.yt, expected.yt);
    check_same(got.labels, expected.labels);
  }
}

}  // namespace

TEST_CASE("copy, gp (three kernels) and timeseries task files read back equal to the sampler") {
  test::TempDir dir;
  GenerationRequest copy = request("copy", dir.file("copy.h5"), 10);
  copy.params.seq_len = 32;
  check_round_trip(copy);
  for (const char* kernel : {"rbf", "matern52", "periodic"}) {
    GenerationRequest gp = request("gp", dir.file(std::string(kernel) + ".h5"), 9, 3);
    gp.params.kernel = kernel;
    check_round_trip(gp);
    CHECK(TaskFileReader(gp.out).attributes().at("kernel") == io::AttrValue(std::string(kernel)));
  }
  GenerationRequest ts = request("timeseries", dir.file("ts.h5"), 6);
  ts.params.length = 20;
  ts.params.channels = 3;
  check_round_trip(ts);
}

TEST_CASE("copy task file stores token ids for context rows and labels for target rows") {
  test::TempDir dir;
  GenerationRequest r = request("copy", dir.file("copy.h5"), 2);
  r.params.seq_len = 8;
  generate_dataset(r);
  io::H5File f = io::H5File::open_read(r.out);
  const auto y = f.read<int32_t>("y", {16, 1});
  const auto x = f.read<float>("x", {16, 12});
  for (int row = 0; row < 4; ++row)
    CHECK(x[static_cast<size_t>(row * 12 + y[static_cast<size_t>(row)])] == 1.f);
  CHECK(y[0] == 0);     // SOS
  CHECK(y[7] == 1);     // EOS label of the last target
  CHECK(y[4] == y[3]);  // first target = last context symbol
}

TEST_CASE(
    "image eval set has one task per selected test image, and the train split is an image source") {
  test::TempDir dir;
  GenerationRequest eval = request("image", dir.file("img.h5"), 10, 1);
  eval.params.classes = "7";
  const GenerationResult result = generate_dataset(eval);
  CHECK(result.tasks == 10);
  TaskFileReader reader(eval.out);
  CHECK(reader.info().dim_x == 2);
  CHECK(reader.info().std_form == StdForm::bounded);
  // Batch j holds test images 4j.. of class 7, with the seed's pixel choice.
  const TaskParams resolved = resolve_params(eval.params);
  auto images =
      std::make_shared<const ImageSet>(first_images(load_image_source(resolved, Split::eval), 10));
  ImageTaskSampler sampler(images, 200, image_task_info("fashion-mnist", 1));
  Rng rng(1);
  for (int64_t j = 0; j < 3; ++j) {
    std::vector<int64_t> idx;
    for (int64_t i = 4 * j; i < std::min<int64_t>(10, 4 * j + 4); ++i) idx.push_back(i);
    const Batch expected = sampler.tasks_for_images(idx, rng);
    const Batch got = reader.read_batch(j);
    check_same(got.xc, expected.xc);
    check_same(got.yt, expected.yt);
  }
  eval.count = 1000000;
  CHECK_ERROR(generate_dataset(eval), UsageError, "--count 1000000: expected at most 1000");

  GenerationRequest train = request("image", dir.file("train.h5"), 50);
  train.split = Split::train;
  const GenerationResult source = generate_dataset(train);
  CHECK(source.layout == "images");
  const ImageSourceFile file = read_image_source(train.out);
  CHECK(file.images.size() == 50);
  CHECK(file.max_points == 200);
  CHECK(file.content_hash == source.content_hash);
  for (int32_t l : file.images.labels) CHECK((l >= 0 && l <= 4));
  auto from_file = make_file_task_sampler(train.out, 0);
  Rng draw(2);
  const Batch b = from_file->sample(3, draw);
  CHECK(b.xc.dim(0) == 3);
  CHECK(from_file->info().ordering == ContextOrdering::sort_x2);
}

TEST_CASE(
    "same task, parameters and seed give the same content hash and any change gives another") {
  test::TempDir dir;
  auto hash = [&](const std::string& name, int64_t seed, const std::string& kernel,
                  int64_t batch_size) {
    GenerationRequest r = request("gp", dir.file(name), 12, seed);
    r.params.kernel = kernel;
    r.batch_size = batch_size;
    return generate_dataset(r).content_hash;
  };
  const uint64_t first = hash("a.h5", 0, "rbf", 4);
  CHECK(hash("b.h5", 0, "rbf", 4) == first);
  CHECK(TaskFileReader(dir.file("a.h5")).content_hash() ==
        TaskFileReader(dir.file("b.h5")).content_hash());
  CHECK(hash("c.h5", 1, "rbf", 4) != first);
  CHECK(hash("d.h5", 0, "matern52", 4) != first);
  CHECK(hash("e.h5", 0, "rbf", 3) != first);
  // The hash covers values, not bytes: a file written again is identical anyway (no time stamps).
  CHECK(test::read_bytes(dir.file("a.h5")) == test::read_bytes(dir.file("b.h5")));
}

TEST_CASE("content hasher is independent of how the bytes are split and sensitive to every byte") {
  std::string bytes(1001, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 31 + 7);
  ContentHasher whole, pieces;
  whole.update(bytes.data(), bytes.size());
  for (size_t i = 0; i < bytes.size();) {
    const size_t n = std::min<size_t>(1 + i % 13, bytes.size() - i);
    pieces.update(bytes.data() + i, n);
    i += n;
  }
  CHECK(whole.digest() == pieces.digest());
  for (size_t flip : {size_t{0}, size_t{500}, size_t{1000}}) {
    std::string changed = bytes;
    changed[flip] ^= 1;
    ContentHasher h;
    h.update(changed.data(), changed.size());
    CHECK(h.digest() != whole.digest());
  }
  ContentHasher shorter;
  shorter.update(bytes.data(), bytes.size() - 1);
  CHECK(shorter.digest() != whole.digest());
}

TEST_CASE(
    "readers shuffle whole batches with a seed and the file sampler visits each batch once per "
    "epoch") {
  test::TempDir dir;
  GenerationRequest r = request("gp", dir.file("gp.h5"), 40, 5);  // 10 batches of 4
  generate_dataset(r);
  TaskFileReader reader(r.out);
  Rng a(9), b(9), c(10);
  const auto order = reader.shuffled_batch_order(a);
  CHECK(order == reader.shuffled_batch_order(b));
  CHECK(order != reader.shuffled_batch_order(c));
  auto sorted = order;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 10; ++i) CHECK(sorted[static_cast<size_t>(i)] == i);

  TaskFileSampler sampler(r.out, 42);
  Rng unused(0);
  std::vector<float> first_values;
  for (int epoch = 0; epoch < 2; ++epoch) {
    std::vector<float> seen;
    for (int i = 0; i < 10; ++i) {
      const Batch batch = sampler.sample(4, unused);
      CHECK(batch.batch_size() == 4);
      seen.push_back(batch.xc[0]);  // a batch's first x identifies it
    }
    std::vector<float> all;
    for (int64_t j = 0; j < 10; ++j) all.push_back(reader.read_batch(j).xc[0]);
    auto sorted_seen = seen, sorted_all = all;
    std::sort(sorted_seen.begin(), sorted_seen.end());
    std::sort(sorted_all.begin(), sorted_all.end());
    CHECK(sorted_seen == sorted_all);
    if (epoch == 0)
      first_values = seen;
    else
      CHECK(seen != first_values);  // reshuffled
  }
  TaskFileSampler resumed(r.out, 42);
  resumed.set_position(13);
  TaskFileSampler straight(r.out, 42);
  for (int i = 0; i < 13; ++i) straight.sample(0, unused);
  CHECK(resumed.sample(0, unused).xc.to_vector() == straight.sample(0, unused).xc.to_vector());
  CHECK_ERROR(sampler.sample(8, unused), UsageError, "whose batches hold 4 tasks");
}

TEST_CASE(
    "h5py and h5dump read our task files (compatibility test that fails when neither tool "
    "exists)") {
  test::TempDir dir;
  GenerationRequest r = request("gp", dir.file("gp.h5"), 8, 2);
  generate_dataset(r);
  TaskFileReader reader(r.out);
  const Batch batch = reader.read_batch(1);  // tasks 4..7
  const int64_t nc = batch.num_context();
  const bool have_python = std::system("/usr/bin/python3 -c 'import h5py' > /dev/null 2>&1") == 0;
  const bool have_h5dump = std::system("h5dump --version > /dev/null 2>&1") == 0;
  REQUIRE_MESSAGE(
      (have_python || have_h5dump),
      "neither /usr/bin/python3 with h5py nor h5dump is installed (make deps installs python3-h5py "
      "and hdf5-tools)");
  if (have_python) {
    // The datasets/README.md snippet: read task 5's context and target sets.
    const std::string script = dir.file("read.py"), out = dir.file("py.txt");
    test::write_bytes(script,
                      "import sys, h5py\n"
                      "with h5py.File(sys.argv[1], 'r') as f:\n"
                      "    assert f.attrs['format'] == 'tca-tasks' and f.attrs['task'] == 'gp'\n"
                      "    t = 5\n"
                      "    a, b = f['offsets'][t], f['offsets'][t + 1]\n"
                      "    nc = int(f['num_context'][t])\n"
                      "    x, y = f['x'][a:b], f['y'][a:b]\n"
                      "    print(nc, b - a, f['x'].compression, f['x'].shuffle)\n"
                      "    print(' '.join(repr(float(v)) for v in x[:nc, 0]))\n"
                      "    print(' '.join(repr(float(v)) for v in y[nc:, 0]))\n");
    REQUIRE(std::system(
                ("/usr/bin/python3 " + script + " " + r.out + " > " + out + " 2>&1").c_str()) == 0);
    std::ifstream in(out);
    int64_t py_nc = 0, rows = 0;
    std::string compression, shuffle;
    in >> py_nc >> rows >> compression >> shuffle;
    CHECK(py_nc == nc);
    CHECK(rows == nc + batch.num_targets());
    CHECK(compression == "gzip");
    CHECK(shuffle == "True");
    for (int64_t k = 0; k < nc; ++k) {
      double v = 0;
      in >> v;
      CHECK(static_cast<float>(v) == batch.xc[1 * nc + k]);
    }
    for (int64_t k = 0; k < batch.num_targets(); ++k) {
      double v = 0;
      in >> v;
      CHECK(static_cast<float>(v) == batch.yt[1 * batch.num_targets() + k]);
    }
  }
  if (have_h5dump) {
    const std::string out = dir.file("dump.txt");
    REQUIRE(std::system(
                ("h5dump -a /format -d /num_context " + r.out + " > " + out + " 2>&1").c_str()) ==
            0);
    const std::string text = test::read_bytes(out);
    CHECK(text.find("\"tca-tasks\"") != std::string::npos);
    CHECK(text.find("(0): " + std::to_string(reader.num_context(0))) != std::string::npos);
  }
}
