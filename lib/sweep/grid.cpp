#include "sweep/grid.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <set>

#include "core/error.hpp"

namespace tca::sweep {

namespace {

using json = nlohmann::json;

// Grid keys that are not `tca train` flags.
const std::set<std::string> kMetaKeys = {"name",     "description", "fixed",      "runs",
                                         "seeds",    "eval_sets",   "curve_eval", "match_eval",
                                         "group_by", "threads",     "slurm"};
// Flags `tca sweep run` sets itself for every run.
const std::set<std::string> kRunnerKeys = {"out",    "resume",   "overwrite", "eval",
                                           "config", "progress", "help",      "debug"};
// Keys ignored when finding the TCA run a "match-tca" Perceiver IO run is matched to.
const std::set<std::string> kLatentKeys = {"model", "num_latents", "num_latent_layers"};

// One axis of a block's product: each point assigns values to one or more keys.
using Axis = std::vector<json>;  // each element: an object {key: value, ...}

using KeyCheck = std::function<bool(const std::string&)>;
using KeySuggestion = std::function<std::string(const std::string&)>;

void check_train_key(const std::string& key, const std::string& source,
                     const KeyCheck& is_train_key, const KeySuggestion& closest_key) {
  if (kRunnerKeys.count(key)) {
    throw InputError(source, key, "a key that tca sweep run sets for every run",
                     "a tca train option", "'" + key + "'");
  }
  if (!is_train_key(key)) {
    const std::string guess = closest_key ? closest_key(key) : std::string();
    throw InputError(source, key, "unknown grid key",
                     "a tca train option or one of name, fixed, runs, seeds, "
                     "eval_sets, curve_eval, match_eval, group_by, threads, slurm",
                     "'" + key + "'" + (guess.empty() ? "" : " (did you mean '" + guess + "'?)"));
  }
}

void check_scalar(const json& v, const std::string& source, const std::string& key) {
  if (v.is_object() || v.is_array() || v.is_null()) {
    throw InputError(source, key, "invalid grid value", "a number, string or boolean", v.dump());
  }
}

// The block's train keys (top level, "fixed", the block) merged: the block's own values win.
json merge_block(const json& base, const json& block, const std::string& source) {
  if (!block.is_object())
    throw InputError(source, "runs", "invalid run block", "an object", block.dump());
  json merged = base;
  for (auto& [k, v] : block.items()) {
    if (k == "zip") {
      merged["zip"] = v;
    } else {
      merged[underscore_key(k)] = v;
    }
  }
  return merged;
}

// The axes of one merged block: every list value is an axis, "zip" one axis of several keys.
std::vector<Axis> block_axes(const json& block, const std::string& source, json& fixed_out) {
  std::vector<Axis> axes;
  fixed_out = json::object();
  for (auto& [k, v] : block.items()) {
    if (k == "zip") {
      if (!v.is_object() || v.empty())
        throw InputError(source, "zip", "invalid zipped lists", "an object of equal-length lists",
                         v.dump());
      size_t n = 0;
      for (auto& [zk, zv] : v.items()) {
        if (!zv.is_array() || zv.empty())
          throw InputError(source, "zip." + zk, "invalid zipped list", "a non-empty list",
                           zv.dump());
        if (n != 0 && zv.size() != n) {
          throw InputError(source, "zip." + zk, "zipped lists of unequal length",
                           std::to_string(n) + " values", std::to_string(zv.size()));
        }
        n = zv.size();
      }
      Axis axis(n, json::object());
      for (auto& [zk, zv] : v.items()) {
        for (size_t i = 0; i < n; ++i) {
          check_scalar(zv[i], source, "zip." + zk);
          axis[i][underscore_key(zk)] = zv[i];
        }
      }
      axes.push_back(std::move(axis));
    } else if (v.is_array()) {
      if (v.empty()) throw InputError(source, k, "empty list", "at least one value", "[]");
      Axis axis;
      for (const auto& x : v) {
        check_scalar(x, source, k);
        axis.push_back(json{{k, x}});
      }
      axes.push_back(std::move(axis));
    } else {
      check_scalar(v, source, k);
      fixed_out[k] = v;
    }
  }
  return axes;
}

void expand_product(const std::vector<Axis>& axes, size_t i, json current, std::vector<json>& out,
                    const std::string& source) {
  if (i == axes.size()) {
    out.push_back(std::move(current));
    return;
  }
  for (const json& point : axes[i]) {
    json next = current;
    for (auto& [k, v] : point.items()) {
      if (next.contains(k))
        throw InputError(
            source, k, "key given twice in one run block (a list and a zip, or two zips)", "", "");
      next[k] = v;
    }
    expand_product(axes, i + 1, std::move(next), out, source);
  }
}

std::string sanitize(const std::string& s) {
  std::string out;
  for (char c : s)
    out += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-') ? c : '_';
  return out;
}

std::string value_text(const json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

std::string make_run_id(const json& config, const json& setting) {
  std::string id = sanitize(config.contains("task") ? value_text(config["task"]) : "file");
  id += "-" + sanitize(value_text(config.at("model")));
  std::string s;
  for (auto& [k, v] : setting.items()) s += (s.empty() ? "" : "-") + sanitize(k + value_text(v));
  if (s.size() > 80) s.resize(80);
  if (!s.empty()) id += "-" + s;
  if (config.contains("seed")) id += "-s" + sanitize(value_text(config["seed"]));
  return id + "-" + config_hash(config);
}

json without(const json& config, const std::set<std::string>& keys) {
  json j = json::object();
  for (auto& [k, v] : config.items()) {
    if (!keys.count(k)) j[k] = v;
  }
  return j;
}

// "{seq_len}" in an eval set's values -> that run's value.
std::string substitute(const std::string& text, const json& config, const std::string& source,
                       const std::string& key, std::string& used) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    const size_t open = text.find('{', i);
    if (open == std::string::npos) {
      out += text.substr(i);
      break;
    }
    const size_t close = text.find('}', open);
    if (close == std::string::npos)
      throw InputError(source, key, "unclosed placeholder", "{key}", "'" + text + "'");
    out += text.substr(i, open - i);
    const std::string name = underscore_key(text.substr(open + 1, close - open - 1));
    if (!config.contains(name)) {
      throw InputError(source, key, "placeholder names a key the run does not have",
                       "a key of the run's config", "{" + name + "}");
    }
    const std::string value = value_text(config[name]);
    out += value;
    used += "-" + sanitize(name + value);
    i = close + 1;
  }
  return out;
}

EvalSet resolve_eval_set(const std::string& name, const json& spec, const json& config,
                         const std::string& source) {
  EvalSet e;
  e.name = name;
  const std::string key = "eval_sets." + name;
  std::string used;
  if (spec.is_string()) {
    e.path = substitute(spec.get<std::string>(), config, source, key, used);
    return e;
  }
  if (!spec.is_object() || !spec.contains("make-dataset") || !spec["make-dataset"].is_string()) {
    throw InputError(source, key, "invalid eval set",
                     "a file path or {\"make-dataset\": TASK, option: value, ...}", spec.dump());
  }
  e.make_dataset_args.push_back(spec["make-dataset"].get<std::string>());
  bool has_split = false;
  for (auto& [k, v] : spec.items()) {
    if (k == "make-dataset") continue;
    const std::string flag = underscore_key(k);
    if (flag == "out")
      throw InputError(source, key + ".out", "eval sets are written by tca sweep run", "no 'out'",
                       "'out'");
    check_scalar(v, source, key + "." + k);
    has_split |= flag == "split";
    std::string dashed = flag;
    std::replace(dashed.begin(), dashed.end(), '_', '-');
    e.make_dataset_args.push_back("--" + dashed);
    e.make_dataset_args.push_back(
        v.is_string() ? substitute(v.get<std::string>(), config, source, key + "." + k, used)
                      : value_text(v));
  }
  if (!has_split) {
    e.make_dataset_args.push_back("--split");
    e.make_dataset_args.push_back("eval");
  }
  e.path = "data/" + sanitize(name) + used + ".h5";
  return e;
}

}  // namespace

std::string underscore_key(std::string key) {
  std::replace(key.begin(), key.end(), '-', '_');
  return key;
}

std::string config_hash(const json& config) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : config.dump()) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return fmt::format("{:08x}", static_cast<uint32_t>(h ^ (h >> 32)));
}

std::vector<std::string> grid_meta_keys() { return {kMetaKeys.begin(), kMetaKeys.end()}; }

Grid expand_grid(const json& grid, const std::string& source, const KeyCheck& is_train_key,
                 const KeySuggestion& closest_key) {
  if (!grid.is_object())
    throw InputError(source, "", "invalid grid", "a JSON object", grid.type_name());
  Grid g;
  g.name = grid.value("name", std::string("sweep"));

  // The base block: "fixed" and the top level's train keys.
  json base = json::object();
  for (auto& [k, v] : grid.items()) {
    const std::string key = underscore_key(k);
    if (kMetaKeys.count(key)) continue;
    if (key != "zip") check_train_key(key, source, is_train_key, closest_key);
    base[key] = v;
  }
  if (grid.contains("fixed")) {
    if (!grid["fixed"].is_object())
      throw InputError(source, "fixed", "invalid fixed values", "an object", grid["fixed"].dump());
    for (auto& [k, v] : grid["fixed"].items()) {
      const std::string key = underscore_key(k);
      check_train_key(key, source, is_train_key, closest_key);
      check_scalar(v, source, "fixed." + k);
      base[key] = v;
    }
  }
  json blocks = grid.contains("runs") ? grid["runs"] : json::array({json::object()});
  if (!blocks.is_array() || blocks.empty())
    throw InputError(source, "runs", "invalid run blocks", "a non-empty list of objects",
                     blocks.dump());
  json seeds = grid.contains("seeds") ? grid["seeds"] : json::array({nullptr});
  if (!seeds.is_array() || seeds.empty())
    throw InputError(source, "seeds", "invalid seed list", "a non-empty list of integers",
                     seeds.dump());
  for (const auto& s : seeds) {
    if (!s.is_null() && !s.is_number_integer())
      throw InputError(source, "seeds", "invalid seed", "an integer", s.dump());
  }

  // Seeds outermost, so that a sweep cut short has whole comparisons (every method) for the first
  // seeds rather than every seed of the first method.
  std::vector<json> configs;
  for (const auto& seed : seeds) {
    for (size_t b = 0; b < blocks.size(); ++b) {
      const std::string bsource =
          blocks.size() > 1 ? fmt::format("{}:runs[{}]", source, b) : source;
      json merged = merge_block(base, blocks[b], bsource);
      for (auto& [k, v] : merged.items()) {
        if (k == "zip") {
          for (auto& [zk, zv] : v.items())
            check_train_key(underscore_key(zk), bsource, is_train_key, closest_key);
        } else {
          check_train_key(k, bsource, is_train_key, closest_key);
        }
      }
      json fixed;
      const std::vector<Axis> axes = block_axes(merged, bsource, fixed);
      if (!seed.is_null()) {
        if (fixed.contains("seed"))
          throw InputError(bsource, "seed", "seed given both as a key and in \"seeds\"",
                           "one of them", "both");
        fixed["seed"] = seed;
      }
      std::vector<json> expanded;
      expand_product(axes, 0, fixed, expanded, bsource);
      for (auto& c : expanded) {
        if (!c.contains("model"))
          throw InputError(bsource, "model", "run without a method",
                           "\"model\": ca, tca or perceiver", "none");
        configs.push_back(std::move(c));
      }
    }
  }

  // The setting: keys whose value differs between runs (or that only some runs have).
  std::set<std::string> all_keys, varying;
  for (const auto& c : configs) {
    for (auto& [k, v] : c.items()) all_keys.insert(k);
  }
  for (const auto& k : all_keys) {
    if (k == "model" || k == "seed") continue;
    for (const auto& c : configs) {
      if (!c.contains(k) || c[k] != configs.front().value(k, json())) {
        varying.insert(k);
        break;
      }
    }
  }

  const json eval_specs = grid.value("eval_sets", json::object());
  if (!eval_specs.is_object())
    throw InputError(source, "eval_sets", "invalid eval sets",
                     "an object name -> file or make-dataset spec", eval_specs.dump());
  g.curve_eval = grid.value("curve_eval", std::string());
  if (!g.curve_eval.empty() && !eval_specs.contains(g.curve_eval)) {
    throw InputError(source, "curve_eval", "unknown eval set", "one of eval_sets",
                     "'" + g.curve_eval + "'");
  }
  std::string match_eval = grid.value("match_eval", g.curve_eval);
  if (match_eval.empty() && !eval_specs.empty()) match_eval = eval_specs.begin().key();
  if (!match_eval.empty() && !eval_specs.contains(match_eval)) {
    throw InputError(source, "match_eval", "unknown eval set", "one of eval_sets",
                     "'" + match_eval + "'");
  }

  std::set<std::string> ids;
  for (const auto& c : configs) {
    PlannedRun r;
    r.config = c;
    r.setting = json::object();
    for (const auto& k : varying) {
      if (c.contains(k)) r.setting[k] = c[k];
    }
    r.run_id = make_run_id(c, r.setting);
    if (!ids.insert(r.run_id).second) {
      throw InputError(source, "runs", "the grid lists a run twice", "distinct configs", r.run_id);
    }
    for (auto& [name, spec] : eval_specs.items())
      r.eval_sets.push_back(resolve_eval_set(name, spec, c, source));
    g.runs.push_back(std::move(r));
  }

  // "match-tca": the TCA run of the same setting and seed, which must come earlier in the index.
  for (auto& r : g.runs) {
    const json& l = r.config.value("num_latents", json());
    if (!l.is_string()) continue;
    if (l != kMatchTca) {
      throw InputError(source, "num_latents", "invalid latent count", "an integer or \"match-tca\"",
                       l.dump());
    }
    if (r.config["model"] != "perceiver") {
      throw InputError(source, "num_latents", "\"match-tca\" applies to Perceiver IO runs only",
                       "model perceiver", r.config["model"].dump());
    }
    if (match_eval.empty())
      throw InputError(source, "eval_sets",
                       "\"match-tca\" needs an eval set to count TCA's tokens on", "eval_sets",
                       "none");
    const json key = without(r.config, kLatentKeys);
    std::vector<const PlannedRun*> found;
    for (const auto& t : g.runs) {
      if (t.config["model"] == "tca" && without(t.config, kLatentKeys) == key) found.push_back(&t);
    }
    if (found.size() != 1) {
      throw InputError(source, "num_latents",
                       "\"match-tca\" needs exactly one TCA run of the same setting and seed",
                       "one TCA run with " + key.dump(), std::to_string(found.size()));
    }
    r.match_run_id = found[0]->run_id;
    r.match_eval = match_eval;
  }
  // A matched run comes after its TCA run (moved just behind it when a block lists it earlier),
  // so that a Slurm array or a worker pool taking runs in index order never waits on a later one.
  std::vector<PlannedRun> ordered, deferred;
  std::set<std::string> emitted;
  for (auto& r : g.runs) {
    if (!r.match_run_id.empty() && !emitted.count(r.match_run_id)) {
      deferred.push_back(std::move(r));
      continue;
    }
    emitted.insert(r.run_id);
    ordered.push_back(std::move(r));
    for (auto it = deferred.begin(); it != deferred.end();) {
      if (emitted.count(it->match_run_id)) {
        emitted.insert(it->run_id);
        ordered.push_back(std::move(*it));
        it = deferred.erase(it);
      } else {
        ++it;
      }
    }
  }
  g.runs = std::move(ordered);

  if (grid.contains("group_by")) {
    const json& gb = grid["group_by"];
    if (!gb.is_array())
      throw InputError(source, "group_by", "invalid group_by", "a list of grid keys", gb.dump());
    for (const auto& k : gb) {
      if (!k.is_string())
        throw InputError(source, "group_by", "invalid group_by entry", "a key name", k.dump());
      g.group_by.push_back(underscore_key(k.get<std::string>()));
    }
  }
  if (grid.contains("threads")) {
    const json& t = grid["threads"];
    if (!t.is_number_integer() || t.get<int64_t>() < 1 || t.get<int64_t>() > 1024) {
      throw InputError(source, "threads", "invalid threads per run", "an integer in [1, 1024]",
                       t.dump());
    }
    g.threads = t.get<int>();
  }
  if (grid.contains("slurm")) {
    if (!grid["slurm"].is_object())
      throw InputError(source, "slurm", "invalid slurm options", "an object of sbatch options",
                       grid["slurm"].dump());
    g.slurm = grid["slurm"];
  }
  return g;
}

}  // namespace tca::sweep
