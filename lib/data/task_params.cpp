#include "data/task_params.hpp"

#include <algorithm>

#include "core/error.hpp"

namespace tca::data {

const char* const kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

const char* split_name(Split split) { return split == Split::train ? "train" : "eval"; }

Split parse_split(const std::string& name) {
  if (name == "train") return Split::train;
  if (name == "eval") return Split::eval;
  throw UsageError("--split " + name + ": expected train or eval");
}

namespace {

int64_t parse_int(const std::string& text, const std::string& option) {
  size_t used = 0;
  int64_t value = 0;
  try {
    value = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size())
    throw UsageError(option + " " + text + ": expected an integer");
  return value;
}

void require(bool ok, const std::string& option, int64_t value, const std::string& expected) {
  if (!ok) throw UsageError(option + " " + std::to_string(value) + ": expected " + expected);
}

}  // namespace

std::vector<int32_t> parse_class_filter(const std::string& spec) {
  if (spec.empty() || spec == "all") return {};
  std::vector<int32_t> classes;
  size_t start = 0;
  while (start <= spec.size()) {
    const size_t comma = std::min(spec.find(',', start), spec.size());
    const std::string item = spec.substr(start, comma - start);
    const size_t dash = item.find('-', 1);
    const int64_t lo = parse_int(item.substr(0, dash), "--classes");
    const int64_t hi =
        dash == std::string::npos ? lo : parse_int(item.substr(dash + 1), "--classes");
    if (lo < 0 || hi < lo || hi > 100000) {
      throw UsageError("--classes " + spec +
                       ": expected class ids or ranges like 0-4,7 with 0 <= low <= high");
    }
    for (int64_t c = lo; c <= hi; ++c) classes.push_back(static_cast<int32_t>(c));
    start = comma + 1;
  }
  std::sort(classes.begin(), classes.end());
  classes.erase(std::unique(classes.begin(), classes.end()), classes.end());
  return classes;
}

int64_t timeseries_classes(const TaskParams& params) {
  return params.classes.empty() ? 7 : parse_int(params.classes, "--classes");
}

TaskParams resolve_params(const TaskParams& params) {
  TaskParams p = params;
  if (p.task == "copy") {
    const bool power_of_two = p.seq_len >= 4 && (p.seq_len & (p.seq_len - 1)) == 0;
    require(power_of_two, "--seq-len", p.seq_len, "a power of two >= 4");
    require(p.num_chars >= 1 && p.num_chars <= 1000, "--num-chars", p.num_chars, "1..1000");
  } else if (p.task == "gp") {
    if (p.kernel != "rbf" && p.kernel != "matern52" && p.kernel != "periodic") {
      throw UsageError("--kernel " + p.kernel + ": expected rbf, matern52 or periodic");
    }
    if (p.max_points == 0) p.max_points = 50;
    require(p.max_points >= 7 && p.max_points <= 100000, "--max-points", p.max_points,
            "7..100000 (Nc >= 3, Nt >= 3)");
  } else if (p.task == "image") {
    if (p.source != "fashion-mnist" && p.source != "emnist" && p.source != "celeba") {
      throw UsageError("--source " + p.source + ": expected fashion-mnist, emnist or celeba");
    }
    if (p.source != "fashion-mnist" && p.path.empty()) {
      throw UsageError(
          "--source " + p.source + " needs --path DIR: the " + p.source +
          " data cannot be downloaded here; point --path at your copy (see datasets/README.md)");
    }
    if (p.source == "fashion-mnist" && p.path.empty()) p.path = kFashionMnistDir;
    if (p.max_points == 0) p.max_points = 200;
    require(p.max_points >= 7, "--max-points", p.max_points, "at least 7 (Nc >= 3, Nt >= 3)");
    if (p.classes.empty())
      p.classes = p.source == "fashion-mnist" ? "0-4" : p.source == "emnist" ? "0-9" : "all";
    parse_class_filter(p.classes);
    if (p.source == "celeba" && p.classes != "all") {
      throw UsageError("--classes " + p.classes + ": CelebA images have no classes; expected all");
    }
  } else if (p.task == "timeseries") {
    if (p.classes.empty()) p.classes = "7";
    const int64_t k = timeseries_classes(p);
    require(k >= 2 && k <= 1000, "--classes", k, "2..1000 classes");
    require(p.length >= 2 && p.length <= 100000, "--length", p.length, "2..100000 time points");
    require(p.channels >= 1 && p.channels <= 1000, "--channels", p.channels, "1..1000");
  } else {
    throw UsageError("unknown task '" + p.task + "': expected copy, gp, image or timeseries");
  }
  return p;
}

std::vector<std::pair<std::string, io::AttrValue>> generator_attributes(const TaskParams& p) {
  std::vector<std::pair<std::string, io::AttrValue>> attrs;
  if (p.task == "copy") {
    attrs = {{"seq_len", p.seq_len}, {"num_chars", p.num_chars}};
  } else if (p.task == "gp") {
    attrs = {{"kernel", p.kernel}, {"max_points", p.max_points}};
  } else if (p.task == "image") {
    attrs = {{"source", p.source}, {"classes", p.classes}, {"max_points", p.max_points}};
  } else if (p.task == "timeseries") {
    if (p.path.empty()) {
      attrs = {{"generator", std::string("synthetic")},
               {"classes", p.classes},
               {"length", p.length},
               {"channels", p.channels},
               {"signature_seed", p.signature_seed}};
    } else {
      attrs = {{"generator", std::string("imported")}};
    }
  }
  return attrs;
}

}  // namespace tca::data
