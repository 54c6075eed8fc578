#include "data/task_file_writer.hpp"

#include "core/error.hpp"

namespace tca::data {

struct TaskFileWriter::State {
  io::H5File file;
  io::AppendableDataset x, y;
  ContentHasher x_hash, y_hash;
  std::map<std::string, io::AttrValue> attributes;
  bool finished = false;
};

TaskFileWriter::TaskFileWriter(const std::string& path, const TaskInfo& info,
                               const AttributeList& generator)
    : info_(info) {
  io::H5File file = io::H5File::create(path);
  write_format_attributes(file, kLayoutTasks);
  write_task_info(file, info);
  for (const auto& [name, value] : generator) file.set_attr(name, value);
  file.set_attr("created_by", created_by());
  auto x = file.create_appendable("x", io::ElementType::f32, {info.dim_x}, kRowsPerChunk);
  auto y = info.is_classification()
               ? file.create_appendable("y", io::ElementType::i32, {1}, kRowsPerChunk)
               : file.create_appendable("y", io::ElementType::f32, {info.dim_y}, kRowsPerChunk);
  auto attributes = file.attrs();
  state_.reset(
      new State{std::move(file), std::move(x), std::move(y), {}, {}, std::move(attributes), false});
}

TaskFileWriter::~TaskFileWriter() = default;

namespace {

void require_shape(const Tensor& t, const Shape& expected, const char* name) {
  if (!t.defined() || t.shape() != expected) {
    throw ShapeError(std::string("task file writer: batch.") + name + " is " +
                     (t.defined() ? tca::to_string(t.shape()) : std::string("undefined")) +
                     ", expected " + tca::to_string(expected));
  }
}

}  // namespace

void TaskFileWriter::append(const Batch& batch) {
  State& s = *state_;
  const int64_t b = batch.batch_size(), nc = batch.num_context(), nt = batch.num_targets();
  if (b < 1 || nc < 1 || nt < 1)
    throw ShapeError("task file writer: empty batch " + tca::to_string(batch.xc.shape()));
  require_shape(batch.xc, {b, nc, info_.dim_x}, "xc");
  require_shape(batch.xt, {b, nt, info_.dim_x}, "xt");
  const int64_t dx = info_.dim_x, dy = info_.dim_y;
  std::vector<float> x(static_cast<size_t>((nc + nt) * dx));
  if (info_.is_classification()) {
    require_shape(batch.labels, {b, nt}, "labels");
    if (!info_.is_sequential && nc != nt) {
      throw ShapeError(
          "task file writer: timeseries context and targets must be the same time points");
    }
    std::vector<int32_t> y(static_cast<size_t>(nc + nt));
    for (int64_t i = 0; i < b; ++i) {
      const float* xc = batch.xc.data() + i * nc * dx;
      const int32_t* labels = batch.labels.data_i32() + i * nt;
      for (int64_t r = 0; r < nc; ++r) {
        if (info_.is_sequential) {  // copy: the token id of the one-hot row
          int32_t token = 0;
          for (int64_t c = 1; c < dx; ++c)
            token = xc[r * dx + c] > xc[r * dx + token] ? static_cast<int32_t>(c) : token;
          y[static_cast<size_t>(r)] = token;
        } else {
          y[static_cast<size_t>(r)] = labels[r];
        }
      }
      std::copy(labels, labels + nt, y.begin() + nc);
      std::copy(xc, xc + nc * dx, x.begin());
      std::copy(batch.xt.data() + i * nt * dx, batch.xt.data() + (i + 1) * nt * dx,
                x.begin() + nc * dx);
      s.x.append(x.data(), nc + nt);
      s.y.append(y.data(), nc + nt);
      s.x_hash.update(x.data(), x.size() * sizeof(float));
      s.y_hash.update(y.data(), y.size() * sizeof(int32_t));
      offsets_.push_back(offsets_.back() + nc + nt);
      num_context_.push_back(static_cast<int32_t>(nc));
    }
  } else {
    require_shape(batch.yc, {b, nc, dy}, "yc");
    require_shape(batch.yt, {b, nt, dy}, "yt");
    std::vector<float> y(static_cast<size_t>((nc + nt) * dy));
    for (int64_t i = 0; i < b; ++i) {
      std::copy(batch.xc.data() + i * nc * dx, batch.xc.data() + (i + 1) * nc * dx, x.begin());
      std::copy(batch.xt.data() + i * nt * dx, batch.xt.data() + (i + 1) * nt * dx,
                x.begin() + nc * dx);
      std::copy(batch.yc.data() + i * nc * dy, batch.yc.data() + (i + 1) * nc * dy, y.begin());
      std::copy(batch.yt.data() + i * nt * dy, batch.yt.data() + (i + 1) * nt * dy,
                y.begin() + nc * dy);
      s.x.append(x.data(), nc + nt);
      s.y.append(y.data(), nc + nt);
      s.x_hash.update(x.data(), x.size() * sizeof(float));
      s.y_hash.update(y.data(), y.size() * sizeof(float));
      offsets_.push_back(offsets_.back() + nc + nt);
      num_context_.push_back(static_cast<int32_t>(nc));
    }
  }
  batch_offsets_.push_back(num_tasks());
}

uint64_t TaskFileWriter::finish() {
  State& s = *state_;
  if (s.finished) throw RuntimeFailure("task file writer: finish() called twice");
  if (num_tasks() == 0) throw UsageError("no tasks to write: expected --count >= 1");
  const int64_t t = num_tasks(), rows = offsets_.back(),
                nb = static_cast<int64_t>(batch_offsets_.size()) - 1;
  const io::WriteOptions chunked{kRowsPerChunk};
  s.file.write("offsets", {t + 1}, offsets_, chunked);
  s.file.write("num_context", {t}, num_context_, chunked);
  s.file.write("batch_offsets", {nb + 1}, batch_offsets_, chunked);
  auto digest = [](const auto& v) {
    ContentHasher h;
    h.update(v.data(), v.size() * sizeof(v[0]));
    return h.digest();
  };
  const io::ElementType y_type =
      info_.is_classification() ? io::ElementType::i32 : io::ElementType::f32;
  const uint64_t hash = combine_content_hash(
      {{"x", io::ElementType::f32, {rows, info_.dim_x}, s.x_hash.digest()},
       {"y", y_type, {rows, info_.is_classification() ? 1 : info_.dim_y}, s.y_hash.digest()},
       {"offsets", io::ElementType::i64, {t + 1}, digest(offsets_)},
       {"num_context", io::ElementType::i32, {t}, digest(num_context_)},
       {"batch_offsets", io::ElementType::i64, {nb + 1}, digest(batch_offsets_)}},
      s.attributes);
  s.file.set_attr("content_hash", hash_hex(hash));
  s.finished = true;
  {  // close the appended datasets before the file, so close() reports any write error
    io::AppendableDataset release_x = std::move(s.x), release_y = std::move(s.y);
  }
  s.file.close();
  return hash;
}

}  // namespace tca::data
