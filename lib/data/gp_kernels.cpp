#include "data/gp_kernels.hpp"

#include <cmath>

#include "core/error.hpp"

namespace tca::data {

GpKernel parse_gp_kernel(const std::string& name) {
  if (name == "rbf") return GpKernel::rbf;
  if (name == "matern52") return GpKernel::matern52;
  if (name == "periodic") return GpKernel::periodic;
  throw UsageError("--kernel " + name + ": expected rbf, matern52 or periodic");
}

const char* gp_kernel_name(GpKernel kernel) {
  switch (kernel) {
    case GpKernel::rbf:
      return "rbf";
    case GpKernel::matern52:
      return "matern52";
    case GpKernel::periodic:
      return "periodic";
  }
  return "rbf";
}

GpHyper draw_gp_hyper(GpKernel kernel, Rng& rng) {
  GpHyper h;
  h.length_scale = rng.uniform(0.1, 0.6);
  h.output_scale = rng.uniform(0.1, 1.0);
  if (kernel == GpKernel::periodic) h.period = rng.uniform(0.1, 0.5);
  return h;
}

double gp_kernel_value(GpKernel kernel, const GpHyper& h, double x1, double x2) {
  const double s2 = h.output_scale * h.output_scale;
  const double dist = std::fabs(x1 - x2);
  switch (kernel) {
    case GpKernel::rbf:
      return s2 * std::exp(-dist * dist / (2 * h.length_scale * h.length_scale));
    case GpKernel::matern52: {
      const double d = dist / h.length_scale, sqrt5 = std::sqrt(5.0);
      return s2 * (1 + sqrt5 * d + 5 * d * d / 3) * std::exp(-sqrt5 * d);
    }
    case GpKernel::periodic: {
      const double s = std::sin(M_PI * dist / h.period);
      return s2 * std::exp(-2 * s * s / (h.length_scale * h.length_scale));
    }
  }
  return 0;
}

std::vector<double> gp_covariance(GpKernel kernel, const GpHyper& hyper,
                                  const std::vector<double>& x, double noise_std) {
  const size_t n = x.size();
  std::vector<double> k(n * n);
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j <= i; ++j)
      k[i * n + j] = k[j * n + i] = gp_kernel_value(kernel, hyper, x[i], x[j]);
    k[i * n + i] += noise_std * noise_std;
  }
  return k;
}

void cholesky_in_place(std::vector<double>& a, int64_t n) {
  for (int64_t j = 0; j < n; ++j) {
    double diag = a[j * n + j];
    for (int64_t k = 0; k < j; ++k) diag -= a[j * n + k] * a[j * n + k];
    if (!(diag > 0)) {
      throw RuntimeFailure("GP covariance is not positive definite (pivot " + std::to_string(j) +
                           " = " + std::to_string(diag) + ")");
    }
    const double ljj = std::sqrt(diag);
    a[j * n + j] = ljj;
    for (int64_t i = j + 1; i < n; ++i) {
      double v = a[i * n + j];
      for (int64_t k = 0; k < j; ++k) v -= a[i * n + k] * a[j * n + k];
      a[i * n + j] = v / ljj;
    }
    for (int64_t i = 0; i < j; ++i) a[i * n + j] = 0;
  }
}

std::vector<double> sample_gp(GpKernel kernel, const GpHyper& hyper, const std::vector<double>& x,
                              Rng& rng, double noise_std) {
  const auto n = static_cast<int64_t>(x.size());
  std::vector<double> l = gp_covariance(kernel, hyper, x, noise_std);
  cholesky_in_place(l, n);
  std::vector<double> z(x.size()), y(x.size(), 0.0);
  for (auto& v : z) v = rng.normal();
  for (int64_t i = 0; i < n; ++i) {
    double acc = 0;
    for (int64_t k = 0; k <= i; ++k) acc += l[i * n + k] * z[k];
    y[i] = acc;
  }
  return y;
}

}  // namespace tca::data
