#include "train/checkpoint.hpp"

#include <cstring>
#include <set>

#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "io/hdf5_file.hpp"
#include "train/parameter_hash.hpp"

namespace tca {

namespace {

constexpr const char* kFormat = "tca-checkpoint";
constexpr int64_t kFormatVersion = 1;

std::string quoted(const std::string& s) { return "'" + s + "'"; }

// Names become HDF5 link names under a group: no '/', not empty, not "." (which HDF5 resolves).
void check_name(const char* what, const std::string& name, std::set<std::string>& seen) {
  if (name.empty() || name == "." || name.find('/') != std::string::npos) {
    throw RuntimeFailure(std::string("checkpoint: invalid ") + what + " name " + quoted(name) +
                         " (must be non-empty and contain no '/')");
  }
  if (!seen.insert(name).second) {
    throw RuntimeFailure(std::string("checkpoint: ") + what + " name " + quoted(name) +
                         " appears twice");
  }
}

std::vector<int64_t> rng_words(const Rng::State& state) {
  std::vector<int64_t> words(state.size());
  std::memcpy(words.data(), state.data(), sizeof(uint64_t) * state.size());
  return words;
}

void write_checkpoint_file(const std::string& tmp, const nn::NamedParameters& params,
                           const Adam* optimizer, const TrainingState& state,
                           const std::string& hash) {
  io::H5File f = io::H5File::create(tmp);
  f.set_attr("format", std::string(kFormat));
  f.set_attr("format_version", kFormatVersion);
  f.set_attr("step", state.step);
  f.set_attr("config", state.config_json);
  f.set_attr("parameters_hash", hash);
  f.set_attr("optimizer", std::string(optimizer ? "adam" : "none"));
  // Groups created explicitly (not as intermediates of a dataset path) so that they get the
  // layer's no-time-tracking creation properties, and exist even when empty.
  f.create_group("/parameters");
  for (const auto& [name, var] : params) {
    f.write<float>("/parameters/" + name, var.shape(), var.value().data());
  }
  if (optimizer) {
    f.create_group("/optimizer");
    const AdamOptions& o = optimizer->options();
    f.set_attr("beta1", o.beta1, "/optimizer");
    f.set_attr("beta2", o.beta2, "/optimizer");
    f.set_attr("eps", o.eps, "/optimizer");
    f.set_attr("weight_decay", o.weight_decay, "/optimizer");
    f.create_group("/optimizer/exp_avg");
    f.create_group("/optimizer/exp_avg_sq");
    f.create_group("/optimizer/step");
    const auto& names = optimizer->parameters();
    for (size_t k = 0; k < names.size(); ++k) {
      const std::string& name = names[k].first;
      const AdamParamState& st = optimizer->states()[k];
      f.write<float>("/optimizer/exp_avg/" + name, st.exp_avg.shape(), st.exp_avg.data());
      f.write<float>("/optimizer/exp_avg_sq/" + name, st.exp_avg_sq.shape(), st.exp_avg_sq.data());
      f.write<int64_t>("/optimizer/step/" + name, Shape{}, &st.step);
    }
  }
  f.create_group("/rng");
  for (const auto& [name, rng_state] : state.rng_states) {
    f.write<int64_t>("/rng/" + name, Shape{static_cast<int64_t>(rng_state.size())},
                     rng_words(rng_state));
  }
  f.create_group("/counters");
  for (const auto& [name, value] : state.counters)
    f.write<int64_t>("/counters/" + name, Shape{}, &value);
  f.close();  // surfaces a failed flush (full disk) as an exception inside write_atomically
}

std::string shape_text(const Shape& s) { return "float32 " + to_string(s); }

// The names of `expected` (in order) against the datasets of `group` in the file: InputError for
// the first expected name the file lacks (listing what the file has instead, which makes a rename
// obvious), then for the first stored name not expected, then for the first shape that differs.
void match_names_and_shapes(const io::H5File& f, const std::string& group, const char* what,
                            const std::string& owner,
                            const std::vector<std::pair<std::string, Shape>>& expected) {
  const std::vector<std::string> stored = f.list(group);
  const std::set<std::string> stored_set(stored.begin(), stored.end());
  std::set<std::string> expected_set;
  for (const auto& [name, shape] : expected) expected_set.insert(name);
  std::vector<std::string> extra;
  for (const auto& name : stored) {
    if (!expected_set.count(name)) extra.push_back(name);
  }
  for (const auto& [name, shape] : expected) {
    if (stored_set.count(name)) continue;
    std::string found = "no such dataset";
    if (!extra.empty()) {
      found += "; the checkpoint has instead: ";
      for (size_t i = 0; i < extra.size() && i < 5; ++i)
        found += (i ? ", " : "") + quoted(extra[i]);
      if (extra.size() > 5) found += ", ...";
    }
    throw InputError(f.path(), group + "/" + name,
                     "checkpoint lacks the " + owner + "'s " + what + " " + quoted(name),
                     shape_text(shape), found);
  }
  if (!extra.empty()) {
    throw InputError(f.path(), group + "/" + extra.front(),
                     std::string("checkpoint has ") + what + " " + quoted(extra.front()) +
                         " that the " + owner + " lacks",
                     "only the " + owner + "'s " + std::string(what), "an extra dataset");
  }
  for (const auto& [name, shape] : expected) {
    const io::DatasetInfo info = f.dataset_info(group + "/" + name);
    if (info.type != io::ElementType::f32 || info.shape != shape) {
      throw InputError(f.path(), group + "/" + name,
                       std::string(what) + " " + quoted(name) + " differs from the " + owner + "'s",
                       shape_text(shape) + " (the " + owner + "'s)",
                       info.type_description + " " + to_string(info.shape));
    }
  }
}

std::vector<std::pair<std::string, Shape>> names_and_shapes(const nn::NamedParameters& params) {
  std::vector<std::pair<std::string, Shape>> out;
  out.reserve(params.size());
  for (const auto& [name, var] : params) out.emplace_back(name, var.shape());
  return out;
}

Tensor read_tensor(const io::H5File& f, const std::string& name, const Shape& shape) {
  Tensor t = Tensor::empty(shape);
  const std::vector<float> values =
      f.read<float>(name, io::ShapePattern(shape.begin(), shape.end()));
  std::memcpy(t.data(), values.data(), values.size() * sizeof(float));
  return t;
}

}  // namespace

Rng::State CheckpointInfo::rng_state(const std::string& name) const {
  auto it = state.rng_states.find(name);
  if (it == state.rng_states.end()) {
    std::string found = "none";
    if (!state.rng_states.empty()) {
      found = "";
      for (const auto& [stored, s] : state.rng_states)
        found += (found.empty() ? "" : ", ") + quoted(stored);
    }
    throw InputError(path, "/rng/" + name, "checkpoint lacks the generator state " + quoted(name),
                     "an int64 [4] dataset", "generators " + found);
  }
  return it->second;
}

void save_checkpoint(const std::string& path, const nn::NamedParameters& params,
                     const Adam* optimizer, const TrainingState& state) {
  std::set<std::string> seen;
  for (const auto& [name, var] : params) {
    check_name("parameter", name, seen);
    check_dtype("save_checkpoint", var.value(), DType::f32);
  }
  if (optimizer) {
    std::set<std::string> optimizer_names;
    for (const auto& [name, var] : optimizer->parameters())
      check_name("optimiser parameter", name, optimizer_names);
  }
  std::set<std::string> rng_names;
  for (const auto& [name, s] : state.rng_states) check_name("generator", name, rng_names);
  std::set<std::string> counter_names;
  for (const auto& [name, v] : state.counters) check_name("counter", name, counter_names);
  const std::string hash = parameters_hash(params);
  try {
    write_atomically(path, [&](const std::string& tmp) {
      write_checkpoint_file(tmp, params, optimizer, state, hash);
    });
  } catch (const RuntimeFailure& e) {
    // One line (conventions.md "Exit codes and errors"): libhdf5's I/O messages contain newlines.
    std::string reason = e.what();
    for (char& c : reason) {
      if (c == '\n' || c == '\r') c = ' ';
    }
    throw RuntimeFailure("cannot write checkpoint " + path + ": " + reason);
  }
}

CheckpointInfo read_checkpoint_info(const std::string& path) {
  const io::H5File f = io::H5File::open_read(path);
  CheckpointInfo info;
  info.path = path;
  const std::string format = f.has_attr("format") ? io::to_string(f.attr("format")) : "";
  if (format != kFormat) {
    throw InputError(path, "format", "not a tca checkpoint",
                     std::string("format \"") + kFormat + "\"",
                     format.empty() ? "no format attribute" : "\"" + format + "\"");
  }
  const int64_t version = f.attr_int("format_version");
  if (version != kFormatVersion) {
    throw InputError(path, "format_version", "unsupported checkpoint format version",
                     std::to_string(kFormatVersion), std::to_string(version));
  }
  info.state.step = f.attr_int("step");
  if (info.state.step < 0) {
    throw InputError(path, "step", "invalid training step", ">= 0",
                     std::to_string(info.state.step));
  }
  info.state.config_json = f.attr_string("config");
  info.parameters_hash = f.attr_string("parameters_hash");
  info.optimizer = f.attr_string("optimizer");
  if (info.optimizer != "adam" && info.optimizer != "none") {
    throw InputError(path, "optimizer", "unknown optimiser", "\"adam\" or \"none\"",
                     info.optimizer);
  }
  for (const auto& name : f.list("/parameters")) {
    info.parameters.emplace_back(name, f.dataset_info("/parameters/" + name).shape);
  }
  for (const auto& name : f.list("/rng")) {
    const std::vector<int64_t> words = f.read<int64_t>("/rng/" + name, io::ShapePattern{4});
    Rng::State s;
    std::memcpy(s.data(), words.data(), sizeof(uint64_t) * s.size());
    info.state.rng_states[name] = s;
  }
  if (f.is_group("/counters"))  // absent in checkpoints written before counters existed
    for (const auto& name : f.list("/counters"))
      info.state.counters[name] = f.read_scalar<int64_t>("/counters/" + name);
  return info;
}

CheckpointInfo load_checkpoint(const std::string& path, const nn::NamedParameters& params,
                               Adam* optimizer) {
  CheckpointInfo info = read_checkpoint_info(path);
  const io::H5File f = io::H5File::open_read(path);

  // Phase 1: check and read everything into new tensors; the model is not touched yet.
  const auto expected = names_and_shapes(params);
  match_names_and_shapes(f, "/parameters", "parameter", "model", expected);
  nn::NamedParameters loaded;
  loaded.reserve(params.size());
  for (const auto& [name, shape] : expected) {
    const std::string key = "/parameters/" + name;
    Tensor t = read_tensor(f, key, shape);
    io::require_finite(path, key, t.data(), t.numel(), shape.empty() ? 1 : shape.back());
    loaded.emplace_back(name, Var(t));
  }
  const std::string computed = parameters_hash(loaded);
  if (computed != info.parameters_hash) {
    throw InputError(path, "parameters_hash",
                     "parameter values do not match the stored content hash", info.parameters_hash,
                     computed + " (computed from the values)");
  }

  std::vector<AdamParamState> states;
  if (optimizer) {
    if (info.optimizer != "adam") {
      throw InputError(path, "optimizer", "checkpoint has no optimiser state to resume from",
                       "\"adam\"", info.optimizer);
    }
    const auto optimizer_expected = names_and_shapes(optimizer->parameters());
    match_names_and_shapes(f, "/optimizer/exp_avg", "exp_avg", "optimiser", optimizer_expected);
    match_names_and_shapes(f, "/optimizer/exp_avg_sq", "exp_avg_sq", "optimiser",
                           optimizer_expected);
    for (const auto& [name, shape] : optimizer_expected) {
      AdamParamState st;
      const std::string avg_key = "/optimizer/exp_avg/" + name,
                        sq_key = "/optimizer/exp_avg_sq/" + name;
      const int64_t width = shape.empty() ? 1 : shape.back();
      st.exp_avg = read_tensor(f, avg_key, shape);
      io::require_finite(path, avg_key, st.exp_avg.data(), st.exp_avg.numel(), width);
      // The second moment is a running mean of squares: a NaN or a negative value in it (a
      // corrupt or hand-edited file) makes every later update NaN through sqrt(v), so a resume
      // would fail steps later with "loss is nan" instead of naming the file now.
      st.exp_avg_sq = read_tensor(f, sq_key, shape);
      io::require_finite(path, sq_key, st.exp_avg_sq.data(), st.exp_avg_sq.numel(), width);
      for (int64_t i = 0; i < st.exp_avg_sq.numel(); ++i) {
        if (st.exp_avg_sq.data()[i] < 0.0f) {
          throw InputError(
              path, sq_key, "negative second moment", "values >= 0",
              std::to_string(st.exp_avg_sq.data()[i]) + " at index " + std::to_string(i));
        }
      }
      const std::string step_key = "/optimizer/step/" + name;
      f.require_dataset(step_key, io::ElementType::i64, io::ShapePattern{});
      st.step = f.read_scalar<int64_t>(step_key);
      if (st.step < 0) {
        throw InputError(path, step_key, "invalid optimiser step count", ">= 0",
                         std::to_string(st.step));
      }
      states.push_back(std::move(st));
    }
  }

  // Phase 2: everything checked; copy into the model and the optimiser.
  for (size_t k = 0; k < params.size(); ++k) {
    Var target = params[k].second;
    target.mutable_value().copy_from(loaded[k].second.value());
  }
  if (optimizer) {
    for (size_t k = 0; k < states.size(); ++k) {
      AdamParamState& st = optimizer->state(optimizer->parameters()[k].first);
      st.exp_avg.copy_from(states[k].exp_avg);
      st.exp_avg_sq.copy_from(states[k].exp_avg_sq);
      st.step = states[k].step;
    }
  }
  return info;
}

}  // namespace tca
