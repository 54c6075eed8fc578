// Finite-difference gradient check shared by the op tests: for loss = sum(f(inputs) * W) with a
// fixed random W, compares autograd's d loss / d input with central differences, entry by entry
// (every entry of small inputs, a random sample of large ones). Also random inputs and a
// comparison of a forward result with an independent double-precision computation.
#pragma once
#include <doctest/doctest.h>

#include <cmath>
#include <functional>
#include <vector>

#include "autograd/ops.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"

namespace tca::testing {

inline Tensor random_tensor(const Shape& s, Rng& rng, float lo = -1.0f, float hi = 1.0f) {
  Tensor t = Tensor::empty(s);
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = static_cast<float>(rng.uniform(lo, hi));
  return t;
}

// Uniform in +-[lo, hi]: away from zero, for ops with a kink or a pole there (relu, div, log|x|).
inline Tensor random_away_from_zero(const Shape& s, Rng& rng, float lo, float hi) {
  Tensor t = random_tensor(s, rng, lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i)
    if (rng.uniform() < 0.5) t[i] = -t[i];
  return t;
}

// Returns the largest violation ratio |analytic - numeric| / (atol + rtol |numeric|) (<= 1 passes).
// Inputs with more than max_entries elements are checked on a random sample of that many.
inline double gradcheck(const std::function<Var(const std::vector<Var>&)>& f,
                        std::vector<Tensor> inputs, uint64_t seed = 7, double h = 1e-2,
                        double rtol = 2e-2, double atol = 2e-3, int64_t max_entries = 256) {
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
    const int64_t n = x.numel(), checks = std::min(n, max_entries);
    for (int64_t c = 0; c < checks; ++c) {
      const int64_t i = checks == n ? c : rng.uniform_int(0, n - 1);
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
        MESSAGE("input " << k << " entry " << i << ": analytic " << analytic << " numeric "
                         << numeric);
        return ratio;
      }
    }
  }
  return worst;
}

// Largest |got - want| / (atol + rtol |want|) over all elements (<= 1 passes); reports the worst.
inline double compare(const Tensor& got, const std::vector<double>& want, double atol = 1e-5,
                      double rtol = 1e-5) {
  REQUIRE(got.numel() == static_cast<int64_t>(want.size()));
  double worst = 0;
  int64_t at = 0;
  for (int64_t i = 0; i < got.numel(); ++i) {
    const double diff = std::abs(got[i] - want[static_cast<size_t>(i)]);
    const double r =
        diff == 0.0 ? 0.0 : diff / (atol + rtol * std::abs(want[static_cast<size_t>(i)]));
    if (!(r <= worst)) worst = r, at = i;  // NaN counts as a violation
  }
  if (!(worst <= 1.0))
    MESSAGE("entry " << at << ": got " << got[at] << " want " << want[static_cast<size_t>(at)]);
  return worst;
}

// Flat index into an operand of shape `s` broadcast (NumPy rules) to `out`, for output element o.
inline int64_t broadcast_source(const Shape& out, const Shape& s, int64_t o) {
  const size_t lead = out.size() - s.size();
  int64_t src = 0, stride = 1;
  for (size_t k = out.size(); k-- > 0;) {
    const int64_t coord = o % out[k];
    o /= out[k];
    if (k < lead) continue;
    const int64_t d = s[k - lead];
    src += (d == 1 ? 0 : coord) * stride;
    stride *= d;
  }
  return src;
}

}  // namespace tca::testing
