#include "bench/bench_setup.hpp"

#include <algorithm>
#include <string>

#include "core/error.hpp"
#include "core/tree_shape.hpp"

namespace tca::bench {

std::string TrainCase::label() const {
  return method + " " + task + (task == "copy" ? " T=" + std::to_string(seq_len) : std::string());
}

namespace {

// The GP task's model interface (tca.md 6): 1-D x and y, context token [x, y], Gaussian head, no
// dropout, a 6-layer latent encoder; the encoder depth is the caller's.
ModelConfig gp_config(const std::string& method, int num_layers) {
  ModelConfig m;
  m.model = model_kind_from_string(method);
  m.loss = TaskLoss::gaussian_nll;
  m.dim_x = 1;
  m.dim_y = 1;
  m.is_metalearning = true;
  m.num_layers = num_layers;
  m.dropout = 0.0f;
  m.num_latent_layers = 6;
  return m;
}

}  // namespace

ModelConfig train_case_config(const TrainCase& c) {
  ModelConfig m;
  m.model = model_kind_from_string(c.method);
  if (c.task == "gp") {
    m = gp_config(c.method, 6);
  } else if (c.task == "copy") {
    const int64_t num_chars = 10;  // tca.md 6: 10 symbols + SOS + EOS
    m.loss = TaskLoss::classification;
    m.dim_x = num_chars + 2;
    m.dim_y = 1;
    m.num_classes = num_chars + 2;
    m.is_sequential = true;
    m.is_metalearning = false;
    m.num_layers = 0;
    m.dropout = 0.1f;
    m.num_latent_layers = 2;
  } else {
    throw UsageError("benchmark task '" + c.task + "': expected gp or copy");
  }
  m.num_latents = TreeShape(c.num_context, m.branch_factor).tokens_attended();
  m.validate();
  return m;
}

void check_methods(const std::vector<std::string>& methods) {
  for (const std::string& m : methods) value_named(kModelKindNames, m, "benchmark method");
}

std::vector<TrainCase> train_cases(const std::vector<std::string>& tasks,
                                   const std::vector<std::string>& methods) {
  check_methods(methods);
  std::vector<TrainCase> out;
  for (const std::string& t : tasks) {
    TrainCase base;
    if (t == "gp") {
      base.task = "gp";
      base.batch_size = 16;
      base.num_context = 25;
      base.num_targets = 20;
      base.adam.beta1 = 0.9;
    } else if (t == "copy128" || t == "copy256" || t == "copy512" || t == "copy1024") {
      // copy512 and copy1024 (issue 23: how each method's step grows with T, and the peak RSS
      // of a T = 1024 step) are not in the default list: at batch 128 a CA step at T = 1024 takes
      // seconds and GiBs. Select them with --tasks.
      base.task = "copy";
      base.seq_len = std::stoll(t.substr(4));
      base.batch_size = 128;
      base.num_context = base.num_targets = base.seq_len / 2;
      base.adam.beta1 = 0.1;
    } else {
      throw UsageError("benchmark training task '" + t +
                       "': expected gp, copy128, copy256, copy512 or copy1024");
    }
    base.adam.beta2 = 0.999;
    for (const char* method : {"ca", "tca", "perceiver"}) {
      if (std::find(methods.begin(), methods.end(), method) == methods.end()) continue;
      TrainCase c = base;
      c.method = method;
      out.push_back(c);
    }
  }
  return out;
}

ModelConfig infer_config(const std::string& method, int64_t num_latents) {
  ModelConfig m = gp_config(method, 0);
  m.num_latents = num_latents;
  m.validate();
  return m;
}

}  // namespace tca::bench
