// Finite-difference gradient check shared by the op tests: for loss = sum(f(inputs) * W) with a
// fixed random W, compares autograd's d loss / d input with central differences, entry by entry.
#pragma once
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <vector>

#include "autograd/ops.hpp"
#include "core/rng.hpp"

namespace tca::testing {

inline Tensor random_tensor(const Shape& s, Rng& rng, float lo = -1.0f, float hi = 1.0f) {
  Tensor t = Tensor::empty(s);
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = static_cast<float>(rng.uniform(lo, hi));
  return t;
}

// Returns the largest violation ratio |analytic - numeric| / (atol + rtol |numeric|) (<= 1 passes).
inline double gradcheck(const std::function<Var(const std::vector<Var>&)>& f, std::vector<Tensor> inputs,
                        uint64_t seed = 7, double h = 1e-2, double rtol = 2e-2, double atol = 2e-3) {
  Rng rng(seed);
  std::vector<Var> vars;
  for (auto& t : inputs) vars.push_back(parameter(t.clone()));
  Var out = f(vars);
  Tensor w = random_tensor(out.shape(), rng);
  auto loss_of = [&](const std::vector<Var>& vs) {
    NoGradGuard ng;
    Var o = f(vs);
    double s = 0;
    for (int64_t i = 0; i < o.numel(); ++i) s += static_cast<double>(o.value()[i]) * w[i];
    return s;
  };
  Var loss = ops::sum_all(ops::mul(out, Var(w)));
  loss.backward();
  double worst = 0;
  for (size_t k = 0; k < vars.size(); ++k) {
    Tensor& x = vars[k].mutable_value();
    for (int64_t i = 0; i < x.numel(); ++i) {
      const float orig = x[i];
      x[i] = orig + static_cast<float>(h);
      const double lp = loss_of(vars);
      x[i] = orig - static_cast<float>(h);
      const double lm = loss_of(vars);
      x[i] = orig;
      const double numeric = (lp - lm) / (2 * h);
      const double analytic = vars[k].grad().defined() ? vars[k].grad()[i] : 0.0;
      const double ratio = std::abs(analytic - numeric) / (atol + rtol * std::abs(numeric));
      if (ratio > worst) worst = ratio;
      if (ratio > 1.0) {
        MESSAGE("input " << k << " entry " << i << ": analytic " << analytic << " numeric " << numeric);
        return ratio;
      }
    }
  }
  return worst;
}

}  // namespace tca::testing
