// Gaussian-process kernels and exact joint sampling (tca.md section 6, GP regression), in double
// precision: y ~ N(0, K + 0.02^2 I) through a Cholesky factor.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/rng.hpp"

namespace tca::data {

enum class GpKernel { rbf, matern52, periodic };
GpKernel parse_gp_kernel(const std::string& name);  // UsageError for another name
const char* gp_kernel_name(GpKernel kernel);

struct GpHyper {
  double length_scale = 0;  // l
  double output_scale = 0;  // s
  double period = 0;        // p (periodic only)
};

// Observation noise std added on the diagonal (the official samplers' sigma_eps).
constexpr double kGpNoiseStd = 0.02;

// Per-task hyperparameters as the official samplers draw them: l ~ U[0.1, 0.6], s ~ U[0.1, 1.0],
// and for the periodic kernel p ~ U[0.1, 0.5].
GpHyper draw_gp_hyper(GpKernel kernel, Rng& rng);

// k(x1, x2): RBF s^2 exp(-(x-x')^2 / (2 l^2)); Matern-5/2 s^2 (1 + sqrt5 d + 5 d^2/3) exp(-sqrt5 d)
// with d = |x-x'|/l; periodic s^2 exp(-2 sin^2(pi |x-x'| / p) / l^2).
double gp_kernel_value(GpKernel kernel, const GpHyper& hyper, double x1, double x2);

// K + noise_std^2 I over points x, row-major [n, n].
std::vector<double> gp_covariance(GpKernel kernel, const GpHyper& hyper,
                                  const std::vector<double>& x, double noise_std = kGpNoiseStd);

// In-place lower Cholesky factor of a symmetric positive definite row-major [n, n] matrix (upper
// triangle zeroed). RuntimeFailure if the matrix is not positive definite.
void cholesky_in_place(std::vector<double>& a, int64_t n);

// One joint draw of y at x: L z with L = chol(K + noise^2 I), z ~ N(0, I).
std::vector<double> sample_gp(GpKernel kernel, const GpHyper& hyper, const std::vector<double>& x,
                              Rng& rng, double noise_std = kGpNoiseStd);

}  // namespace tca::data
