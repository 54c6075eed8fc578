// Shared helpers of the model tests: tiny configurations, batches from the task samplers, and a
// finite-difference gradient check over chosen entries of a model's parameters.
#pragma once
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "core/batch.hpp"
#include "core/rng.hpp"
#include "data/copy_task.hpp"
#include "data/gp_task.hpp"
#include "models/model.hpp"
#include "nn/module.hpp"

namespace tca::testing {

// A tiny GP-regression model (Gaussian head, context token [x, y]).
inline ModelConfig tiny_gp_config(const std::string& model) {
  ModelConfig c;
  c.model = model_kind_from_string(model);
  c.loss = TaskLoss::gaussian_nll;
  c.dim_x = 1;
  c.dim_y = 1;
  c.is_metalearning = true;
  c.d_model = 8;
  c.heads = 2;
  c.dim_feedforward = 8;
  c.num_layers = 1;
  c.emb_depth = 2;
  c.num_latents = 4;
  c.num_latent_layers = 1;
  return c;
}

// A copy-task model (tca.md 6): one-hot width num_chars + 2, sequential, no encoder layers.
inline ModelConfig copy_config(const std::string& model, int64_t num_chars = 10) {
  ModelConfig c;
  c.model = model_kind_from_string(model);
  c.loss = TaskLoss::classification;
  c.dim_x = num_chars + 2;
  c.dim_y = 1;
  c.num_classes = num_chars + 2;
  c.is_sequential = true;
  c.is_metalearning = false;
  c.num_layers = 0;
  return c;
}

// GP batch (RBF kernel, tca.md 6) with the given sizes; context and targets each sorted by x.
inline Batch gp_batch(int64_t B, int64_t Nc, int64_t Nt, Rng& rng) {
  data::GpTaskSampler sampler(data::GpKernel::rbf, 50);
  return sampler.sample_sized(B, Nc, Nt, rng);
}

inline Batch copy_batch(int64_t B, int64_t seq_len, Rng& rng, int64_t num_chars = 10) {
  data::CopyTaskSampler sampler(seq_len, num_chars);
  return sampler.sample(B, rng);
}

// The named parameter, or a failed REQUIRE.
inline Var param(const nn::Module& m, const std::string& name) {
  for (auto& [n, p] : m.named_parameters())
    if (n == name) return p;
  FAIL("no parameter named " << name);
  return Var();
}

inline bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

struct GradcheckResult {
  int checked = 0;
  int at_kinks = 0;  // entries where the one-sided differences disagree (a ReLU kink within h)
  double worst_ratio = 0;  // max over entries of |analytic - numeric| / tolerance (<= 1 passes)
  std::string worst;       // description of the worst entry
};

// Central differences of objective() (evaluated without recording the graph) against the gradient
// that one backward() of objective() leaves in the parameters. For every parameter tensor whose
// name passes `include`, checks its largest-gradient entry and one random entry. Tolerance per
// entry: rtol |numeric| + atol * (largest |gradient| of the model), sized for float32 with
// h = 1e-3. The ReLUs make the loss piecewise smooth: where the two one-sided differences
// disagree by more than the tolerance, a kink lies within h and autograd's value must equal one
// of the one-sided differences instead (it takes one side of the kink).
inline GradcheckResult gradcheck_parameters(const nn::Module& model,
                                            const std::function<Var()>& objective,
                                            const std::function<bool(const std::string&)>& include,
                                            uint64_t seed, double h = 1e-3, double rtol = 2e-2,
                                            double atol = 2e-3) {
  model.zero_grad();
  const double f0 = objective().item();
  model.zero_grad();
  objective().backward();
  double gmax = 0;
  for (auto& [name, p] : model.named_parameters())
    if (p.grad().defined())
      for (int64_t i = 0; i < p.numel(); ++i)
        gmax = std::max(gmax, std::abs(static_cast<double>(p.grad()[i])));
  auto value = [&]() {
    NoGradGuard no_grad;
    return static_cast<double>(objective().item());
  };
  Rng rng(seed);
  GradcheckResult res;
  for (auto& [name, p] : model.named_parameters()) {
    if (!include(name)) continue;
    Var v = p;
    const Tensor g = v.grad().defined() ? v.grad().clone() : Tensor::zeros(v.shape());
    int64_t largest = 0;
    for (int64_t i = 1; i < g.numel(); ++i)
      if (std::abs(g[i]) > std::abs(g[largest])) largest = i;
    for (int64_t i : {largest, rng.uniform_int(0, g.numel() - 1)}) {
      Tensor& x = v.mutable_value();
      const float orig = x[i];
      const float xu = orig + static_cast<float>(h), xd = orig - static_cast<float>(h);
      x[i] = xu;
      const double up = value();
      x[i] = xd;
      const double down = value();
      x[i] = orig;
      const double central = (up - down) / (static_cast<double>(xu) - static_cast<double>(xd));
      const double right = (up - f0) / (static_cast<double>(xu) - static_cast<double>(orig));
      const double left = (f0 - down) / (static_cast<double>(orig) - static_cast<double>(xd));
      const double analytic = g[i];
      auto ratio_to = [&](double numeric) {
        return std::abs(analytic - numeric) / (rtol * std::abs(numeric) + atol * gmax);
      };
      double ratio = ratio_to(central);
      double numeric = central;
      if (ratio > 1.0 && std::abs(right - left) > rtol * std::abs(central) + 2 * atol * gmax) {
        ++res.at_kinks;
        numeric = ratio_to(left) < ratio_to(right) ? left : right;
        ratio = ratio_to(numeric);
      }
      ++res.checked;
      if (ratio > res.worst_ratio) {
        res.worst_ratio = ratio;
        res.worst = name + "[" + std::to_string(i) + "]: autograd " + std::to_string(analytic) +
                    ", finite difference " + std::to_string(numeric);
      }
    }
  }
  model.zero_grad();
  return res;
}

}  // namespace tca::testing
