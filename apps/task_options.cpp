#include "task_options.hpp"

#include <algorithm>
#include <map>
#include <vector>

#include "core/error.hpp"

namespace tca::cli {

namespace {

// The tasks each option applies to.
const std::map<std::string, std::vector<std::string>>& task_option_table() {
  static const std::map<std::string, std::vector<std::string>> table = {
      {"seq-len", {"copy"}},
      {"num-chars", {"copy"}},
      {"kernel", {"gp"}},
      {"max-points", {"gp", "image"}},
      {"source", {"image"}},
      {"path", {"image", "timeseries"}},
      {"classes", {"image", "timeseries"}},
      {"length", {"timeseries"}},
      {"channels", {"timeseries"}},
      {"signature-seed", {"timeseries"}}};
  return table;
}

}  // namespace

void declare_task_options(Options& o) {
  o.add<int64_t>(Group::data, "seq-len", int64_t{128},
                 "[copy] sequence length T, a power of two >= 4")
      .unit("tokens")
      .check([](const int64_t& t) {
        // 2^20: a million-token sequence; longer ones only overflow the size arithmetic later.
        return t >= 4 && t <= (int64_t{1} << 20) && (t & (t - 1)) == 0
                   ? std::string()
                   : std::string("expected a power of two in [4, 2^20]");
      });
  o.add<int64_t>(Group::data, "num-chars", int64_t{10},
                 "[copy] number of symbols (one-hot width num_chars + 2)")
      .range(1, 1000);
  o.add<std::string>(Group::data, "kernel", std::string("rbf"), "[gp] covariance kernel")
      .choices({"rbf", "matern52", "periodic"});
  o.add<int64_t>(Group::data, "max-points",
                 "[gp, image] P: Nc ~ U{3..P-4}, Nt ~ U{3..P-1-Nc}; default gp 50, image 200")
      .min(7);
  o.add<std::string>(Group::data, "source", std::string("fashion-mnist"),
                     "[image] image collection")
      .choices({"fashion-mnist", "emnist", "celeba"});
  o.add<std::string>(
       Group::data, "path",
       "[image] your copy of emnist / celeba (a directory; fashion-mnist defaults to "
       "/usr/share/datasets/fashion-mnist); [timeseries] a CSV or HDF5 file to import")
      .value_name("PATH");
  o.add<std::string>(
       Group::data, "classes",
       "[image] class filter: 0-4, 5-9, 0,2,7-9 or all (default fashion-mnist 0-4, emnist 0-9, "
       "celeba all); [timeseries] number of classes K (default 7)")
      .value_name("SPEC");
  o.add<int64_t>(Group::data, "length", int64_t{50}, "[timeseries] time points per sequence L")
      .unit("points")
      .range(2, 100000);
  o.add<int64_t>(Group::data, "channels", int64_t{12}, "[timeseries] feature channels C")
      .range(1, 1000);
  o.add<int64_t>(
       Group::data, "signature-seed", int64_t{0},
       "[timeseries] seed of the fixed class signatures (keep it equal for train and eval)")
      .min(0);
}

bool is_task_option(const std::string& name) { return task_option_table().count(dashed(name)) > 0; }

bool task_option_applies(const std::string& name, const std::string& task) {
  auto it = task_option_table().find(dashed(name));
  return it != task_option_table().end() &&
         std::find(it->second.begin(), it->second.end(), task) != it->second.end();
}

std::vector<std::string> task_option_keys() {
  std::vector<std::string> keys;
  for (const auto& [name, unused] : task_option_table()) keys.push_back(underscored(name));
  return keys;
}

data::TaskParams task_params_from(const Options& o, const std::string& task) {
  data::TaskParams p;
  p.task = task;
  for (const auto& [name, tasks] : task_option_table()) {
    if (o.given(name) && std::find(tasks.begin(), tasks.end(), p.task) == tasks.end()) {
      std::string list;
      for (const auto& t : tasks) list += (list.empty() ? "" : ", ") + t;
      throw UsageError("--" + name + " applies to task " + list + ", not " + p.task);
    }
  }
  p.seq_len = o.get<int64_t>("seq-len");
  p.num_chars = o.get<int64_t>("num-chars");
  p.kernel = o.get<std::string>("kernel");
  p.max_points = o.maybe<int64_t>("max-points").value_or(0);
  p.source = o.get<std::string>("source");
  p.path = o.maybe<std::string>("path").value_or("");
  p.classes = o.maybe<std::string>("classes").value_or("");
  p.length = o.get<int64_t>("length");
  p.channels = o.get<int64_t>("channels");
  p.signature_seed = o.get<int64_t>("signature-seed");
  return p;
}

void refuse_task_options(const Options& o, const std::string& why) {
  for (const auto& [name, tasks] : task_option_table()) {
    if (o.given(name)) throw UsageError("--" + name + " applies to --task, " + why);
  }
}

}  // namespace tca::cli
