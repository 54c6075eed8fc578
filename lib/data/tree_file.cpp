#include "data/tree_file.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <optional>

#include "core/error.hpp"
#include "data/task_file_format.hpp"

namespace tca::data {

namespace {

constexpr int64_t kChunkRows = 4096;
constexpr int64_t kCopyRows = 65536;  // rows per read when copying a kept group

std::string group_path(const std::string& name) { return "/trees/" + name; }

template <class T>
void copy_dataset(const io::H5File& from, io::H5File& to, const std::string& name,
                  const io::DatasetInfo& info) {
  const Shape row_shape(info.shape.begin() + 1, info.shape.end());
  io::AppendableDataset out = to.create_appendable(name, info.type.value(), row_shape, kChunkRows);
  for (int64_t first = 0; first < info.shape[0]; first += kCopyRows) {
    const int64_t rows = std::min(kCopyRows, info.shape[0] - first);
    const std::vector<T> values = from.read_rows<T>(name, first, rows);
    out.append(values.data(), rows);
  }
}

// Copies group `group` (its datasets and attributes) between files, streaming rows.
void copy_group(const io::H5File& from, io::H5File& to, const std::string& group) {
  to.create_group(group);
  for (const auto& [key, value] : from.attrs(group)) to.set_attr(key, value, group);
  for (const auto& member : from.list(group)) {
    const std::string name = group + "/" + member;
    if (!from.is_dataset(name)) {
      throw InputError(from.path(), name, "unexpected member of a trees group", "a dataset",
                       "a group");
    }
    const io::DatasetInfo info = from.dataset_info(name);
    if (!info.type || info.shape.empty()) {
      throw InputError(from.path(), name, "unexpected dataset in a trees group",
                       "an array of a tca element type",
                       info.type_description + " " + to_string(info.shape));
    }
    switch (*info.type) {
      case io::ElementType::f32:
        copy_dataset<float>(from, to, name, info);
        break;
      case io::ElementType::f64:
        copy_dataset<double>(from, to, name, info);
        break;
      case io::ElementType::i32:
        copy_dataset<int32_t>(from, to, name, info);
        break;
      case io::ElementType::i64:
        copy_dataset<int64_t>(from, to, name, info);
        break;
      case io::ElementType::u8:
        copy_dataset<uint8_t>(from, to, name, info);
        break;
    }
  }
}

// Offsets [T+1] from 0, non-decreasing, ending at `total`; each step as `expected(t)` says.
template <class Expected>
void check_offsets(const io::H5File& f, const std::string& name,
                   const std::vector<int64_t>& offsets, int64_t total, Expected expected) {
  if (offsets.empty() || offsets.front() != 0) {
    throw InputError(f.path(), name, "invalid offsets", "a first offset of 0",
                     offsets.empty() ? "none" : std::to_string(offsets.front()));
  }
  for (size_t t = 0; t + 1 < offsets.size(); ++t) {
    const int64_t want = expected(static_cast<int64_t>(t)), found = offsets[t + 1] - offsets[t];
    if (found != want) {
      throw InputError(f.path(), name, "offsets inconsistent with the trees' shapes",
                       fmt::format("{} rows for task {}", want, t), std::to_string(found));
    }
  }
  if (offsets.back() != total) {
    throw InputError(f.path(), name, "offsets do not end at the data's row count",
                     std::to_string(total), std::to_string(offsets.back()));
  }
}

}  // namespace

std::string default_tree_name(ContextOrdering heuristic, int64_t branch_factor) {
  return to_string(heuristic) + "_b" + std::to_string(branch_factor);
}

int64_t stored_nodes(const TreeShape& shape) {
  if (shape.k == 0) return 0;
  int64_t n = 0;
  for (int64_t l = 0; l <= shape.k; ++l) n += shape.nodes_at(l);
  return n;
}

void require_trees_file(const io::H5File& file) {
  if (!file.has_attr("format") || file.attr("format") != io::AttrValue(std::string(kTreesFormat))) {
    throw InputError(
        file.path(), "format", "not a trees file", std::string("\"") + kTreesFormat + "\"",
        file.has_attr("format") ? io::to_string(file.attr("format")) : "no format attribute");
  }
  const int64_t version = file.attr_int("format_version");
  if (version != kTreesFormatVersion) {
    throw InputError(file.path(), "format_version", "unsupported trees format version",
                     std::to_string(kTreesFormatVersion), std::to_string(version));
  }
}

std::vector<std::string> tree_names(const io::H5File& file) {
  require_trees_file(file);
  return file.exists("/trees") ? file.list("/trees") : std::vector<std::string>{};
}

// ---------------------------------------------------------------------------------------------
struct TreeFileWriter::State {
  io::H5File file;
  std::string group;
  TreeGroupInfo info;
  std::vector<int32_t> depth, leaf_size;
  std::vector<int64_t> perm_offsets{0}, padded_offsets{0}, node_offsets{0};
  std::optional<io::AppendableDataset> perm, mask, nodes, node_mask, tokens;
};

TreeFileWriter::TreeFileWriter(const std::string& path, const io::H5File* keep_from,
                               const std::string& name, const TreeGroupInfo& info)
    : state_(new State{io::H5File::create(path),
                       group_path(name),
                       info,
                       {},
                       {},
                       {0},
                       {0},
                       {0},
                       {},
                       {},
                       {},
                       {},
                       {}}) {
  io::H5File& f = state_->file;
  f.set_attr("format", std::string(kTreesFormat));
  f.set_attr("format_version", kTreesFormatVersion);
  f.set_attr("created_by", data::created_by());
  if (keep_from) {
    for (const auto& other : tree_names(*keep_from)) {
      if (other != name) copy_group(*keep_from, f, group_path(other));
    }
  }
  const std::string& g = state_->group;
  f.create_group(g);
  state_->perm = f.create_appendable(g + "/perm", io::ElementType::i32, {}, kChunkRows);
  state_->mask = f.create_appendable(g + "/mask", io::ElementType::u8, {}, kChunkRows);
  if (info.has_nodes) {
    state_->nodes =
        f.create_appendable(g + "/nodes", io::ElementType::f32, {info.d_model}, kChunkRows);
    state_->node_mask = f.create_appendable(g + "/node_mask", io::ElementType::u8, {}, kChunkRows);
    state_->tokens =
        f.create_appendable(g + "/tokens", io::ElementType::f32, {info.d_model}, kChunkRows);
  }
}

TreeFileWriter::~TreeFileWriter() { delete state_; }

void TreeFileWriter::append(const TaskTree& t) {
  State& s = *state_;
  const TreeShape& sh = t.shape;
  if (static_cast<int64_t>(t.perm.size()) != sh.n)
    throw std::logic_error("TreeFileWriter: perm of the wrong size");
  s.depth.push_back(static_cast<int32_t>(sh.k));
  s.leaf_size.push_back(static_cast<int32_t>(sh.leaf_size));
  s.perm->append(t.perm.data(), sh.n);
  s.perm_offsets.push_back(s.perm_offsets.back() + sh.n);
  std::vector<uint8_t> mask(static_cast<size_t>(sh.padded), 0);
  std::fill(mask.begin(), mask.begin() + sh.n, uint8_t{1});
  s.mask->append(mask.data(), sh.padded);
  s.padded_offsets.push_back(s.padded_offsets.back() + sh.padded);
  if (s.info.has_nodes) {
    const int64_t n = stored_nodes(sh), D = s.info.d_model;
    if (static_cast<int64_t>(t.nodes.size()) != n * D ||
        static_cast<int64_t>(t.node_mask.size()) != n ||
        static_cast<int64_t>(t.tokens.size()) != sh.padded * D)
      throw std::logic_error("TreeFileWriter: node embeddings of the wrong size");
    if (n > 0) {
      s.nodes->append(t.nodes.data(), n);
      s.node_mask->append(t.node_mask.data(), n);
    }
    s.tokens->append(t.tokens.data(), sh.padded);
    s.node_offsets.push_back(s.node_offsets.back() + n);
  }
}

void TreeFileWriter::finish() {
  State& s = *state_;
  io::H5File& f = s.file;
  const std::string& g = s.group;
  const int64_t T = static_cast<int64_t>(s.depth.size());
  const io::WriteOptions chunked{kChunkRows};
  f.write(g + "/depth", {T}, s.depth, chunked);
  f.write(g + "/leaf_size", {T}, s.leaf_size, chunked);
  f.write(g + "/perm_offsets", {T + 1}, s.perm_offsets, chunked);
  f.write(g + "/padded_offsets", {T + 1}, s.padded_offsets, chunked);
  f.set_attr("branch_factor", s.info.branch_factor, g);
  f.set_attr("heuristic", to_string(s.info.heuristic), g);
  f.set_attr("data_file", s.info.data_file, g);
  f.set_attr("data_content_hash", s.info.data_content_hash, g);
  f.set_attr("num_tasks", T, g);
  f.set_attr("created_by", data::created_by(), g);
  if (s.info.has_nodes) {
    f.write(g + "/node_offsets", {T + 1}, s.node_offsets, chunked);
    f.set_attr("parameters_hash", s.info.parameters_hash, g);
    f.set_attr("checkpoint", s.info.checkpoint, g);
    f.set_attr("checkpoint_step", s.info.checkpoint_step, g);
    f.set_attr("d_model", s.info.d_model, g);
  }
  s.perm.reset();
  s.mask.reset();
  s.nodes.reset();
  s.node_mask.reset();
  s.tokens.reset();
  f.close();
}

// ---------------------------------------------------------------------------------------------
TreeGroupReader::TreeGroupReader(const std::string& path, const std::string& name)
    : file_(io::H5File::open_read(path)), group_(group_path(name)) {
  const std::vector<std::string> names = tree_names(file_);
  if (std::find(names.begin(), names.end(), name) == names.end()) {
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    throw InputError(path, group_, "no such tree",
                     "one of: " + (list.empty() ? std::string("(none)") : list), name);
  }
  info_.branch_factor = file_.attr_int("branch_factor", group_);
  const std::string heuristic = file_.attr_string("heuristic", group_);
  const auto known_heuristic = find_named(kContextOrderingNames, heuristic);
  if (!known_heuristic) {
    throw InputError(path, group_ + ":heuristic", "unknown ordering heuristic",
                     names_list(kContextOrderingNames), "\"" + heuristic + "\"");
  }
  info_.heuristic = *known_heuristic;
  info_.data_file = file_.attr_string("data_file", group_);
  info_.data_content_hash = file_.attr_string("data_content_hash", group_);
  info_.has_nodes = file_.exists(dataset("nodes"));
  if (info_.branch_factor < 2) {
    throw InputError(path, group_ + ":branch_factor", "invalid tree attribute", ">= 2",
                     std::to_string(info_.branch_factor));
  }
  const int64_t T = file_.attr_int("num_tasks", group_);
  if (T < 1)
    throw InputError(path, group_ + ":num_tasks", "invalid tree attribute", ">= 1",
                     std::to_string(T));
  depth_ = file_.read<int32_t>(dataset("depth"), {T});
  leaf_size_ = file_.read<int32_t>(dataset("leaf_size"), {T});
  perm_offsets_ = file_.read<int64_t>(dataset("perm_offsets"), {T + 1});
  padded_offsets_ = file_.read<int64_t>(dataset("padded_offsets"), {T + 1});
  std::vector<TreeShape> shapes;
  for (int64_t t = 0; t < T; ++t) {
    const int64_t n =
        perm_offsets_[static_cast<size_t>(t) + 1] - perm_offsets_[static_cast<size_t>(t)];
    if (n < 1)
      throw InputError(path, dataset("perm_offsets"), "invalid offsets",
                       "at least one context row per task", std::to_string(n));
    shapes.emplace_back(n, info_.branch_factor);
    if (shapes.back().k != depth(t) || shapes.back().leaf_size != leaf_size(t)) {
      throw InputError(path, dataset("depth"), "tree shape inconsistent with the context size",
                       fmt::format("depth {} and leaf size {} for N = {}, b = {}", shapes.back().k,
                                   shapes.back().leaf_size, n, info_.branch_factor),
                       fmt::format("{} and {} (task {})", depth(t), leaf_size(t), t));
    }
  }
  const int64_t perm_rows =
      file_.require_dataset(dataset("perm"), io::ElementType::i32, {io::kAnyExtent}).shape[0];
  check_offsets(file_, dataset("perm_offsets"), perm_offsets_, perm_rows,
                [&](int64_t t) { return shapes[static_cast<size_t>(t)].n; });
  const int64_t padded_rows =
      file_.require_dataset(dataset("mask"), io::ElementType::u8, {io::kAnyExtent}).shape[0];
  check_offsets(file_, dataset("padded_offsets"), padded_offsets_, padded_rows,
                [&](int64_t t) { return shapes[static_cast<size_t>(t)].padded; });
  if (!info_.has_nodes) return;
  info_.parameters_hash = file_.attr_string("parameters_hash", group_);
  info_.checkpoint = file_.attr_string("checkpoint", group_);
  info_.checkpoint_step = file_.attr_int("checkpoint_step", group_);
  info_.d_model = file_.attr_int("d_model", group_);
  node_offsets_ = file_.read<int64_t>(dataset("node_offsets"), {T + 1});
  const int64_t node_rows =
      file_.require_dataset(dataset("nodes"), io::ElementType::f32, {io::kAnyExtent, info_.d_model})
          .shape[0];
  file_.require_dataset(dataset("node_mask"), io::ElementType::u8, {node_rows});
  file_.require_dataset(dataset("tokens"), io::ElementType::f32, {padded_rows, info_.d_model});
  check_offsets(file_, dataset("node_offsets"), node_offsets_, node_rows,
                [&](int64_t t) { return stored_nodes(shapes[static_cast<size_t>(t)]); });
}

int64_t TreeGroupReader::context_size(int64_t task) const {
  return perm_offsets_[static_cast<size_t>(task) + 1] - perm_offsets_[static_cast<size_t>(task)];
}

void TreeGroupReader::read_memory(int64_t first, int64_t count, const TreeShape& shape,
                                  Tensor& memory, Tensor& mask) const {
  if (!info_.has_nodes) throw std::logic_error("read_memory: the trees have no node embeddings");
  const int64_t D = info_.d_model, Ntot = shape.memory_size(),
                levels = shape.memory_offset(shape.k + 1);
  const auto at = [](const std::vector<int64_t>& v, int64_t i) {
    return v[static_cast<size_t>(i)];
  };
  const int64_t node0 = at(node_offsets_, first), nodes = at(node_offsets_, first + count) - node0;
  const int64_t tok0 = at(padded_offsets_, first), toks = at(padded_offsets_, first + count) - tok0;
  if (nodes != count * stored_nodes(shape) || toks != count * shape.padded) {
    throw std::logic_error("read_memory: tasks of different tree shapes in one batch");
  }
  const std::vector<float> node_values = file_.read_rows<float>(dataset("nodes"), node0, nodes);
  const std::vector<uint8_t> node_mask =
      file_.read_rows<uint8_t>(dataset("node_mask"), node0, nodes);
  const std::vector<float> token_values = file_.read_rows<float>(dataset("tokens"), tok0, toks);
  const std::vector<uint8_t> token_mask = file_.read_rows<uint8_t>(dataset("mask"), tok0, toks);
  io::require_finite(path(), dataset("nodes"), node_values.data(),
                     static_cast<int64_t>(node_values.size()), D);
  io::require_finite(path(), dataset("tokens"), token_values.data(),
                     static_cast<int64_t>(token_values.size()), D);
  memory = Tensor::empty({count, Ntot, D});
  mask = Tensor::empty({count, Ntot});
  const int64_t per_task = stored_nodes(shape);
  for (int64_t b = 0; b < count; ++b) {
    // Levels 1..k: the stored nodes after the root.
    for (int64_t i = 0; i < levels; ++i) {
      const int64_t row = b * per_task + 1 + i;
      std::copy_n(node_values.data() + row * D, D, memory.data() + (b * Ntot + i) * D);
      mask[b * Ntot + i] = node_mask[static_cast<size_t>(row)];
    }
    for (int64_t i = 0; i < shape.padded; ++i) {
      const int64_t row = b * shape.padded + i;
      std::copy_n(token_values.data() + row * D, D, memory.data() + (b * Ntot + levels + i) * D);
      mask[b * Ntot + levels + i] = token_mask[static_cast<size_t>(row)];
    }
  }
}

}  // namespace tca::data
