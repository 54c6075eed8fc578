#include "train/memory_estimate.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "core/error.hpp"

namespace tca {

int64_t memory_budget_bytes() {
  const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGESIZE);
  double budget =
      pages > 0 && page > 0 ? static_cast<double>(pages) * static_cast<double>(page) : 1e18;
  for (int resource : {RLIMIT_AS, RLIMIT_DATA}) {
    struct rlimit lim {};
    if (::getrlimit(resource, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY) {
      budget = std::min(budget, static_cast<double>(lim.rlim_cur));
    }
  }
  return static_cast<int64_t>(budget);
}

std::string bytes_text(double bytes) {
  const char* units[] = {"bytes", "kB", "MB", "GB", "TB", "PB", "EB"};
  int u = 0;
  while (bytes >= 1000.0 && u < 6) {
    bytes /= 1000.0;
    ++u;
  }
  char text[64];
  std::snprintf(text, sizeof text, u == 0 ? "%.0f %s" : "%.3g %s", bytes, units[u]);
  return text;
}

namespace {

// Transformer blocks: the context encoder's, the decoder's cross attention, the TCA aggregator's
// and the Perceiver's latent layers.
double blocks_of(const ModelConfig& c) {
  double blocks = c.num_layers + 1.0;
  if (c.model == ModelKind::tca) blocks += c.aggregation_layers;
  if (c.model == ModelKind::perceiver) blocks += c.num_latent_layers + 1.0;
  return blocks;
}

// Doubles throughout: the products of hostile sizes overflow int64.
double parameter_count(const ModelConfig& c) {
  const double d = static_cast<double>(c.d_model), f = static_cast<double>(c.dim_feedforward);
  const double latents = c.model == ModelKind::perceiver ? static_cast<double>(c.num_latents) : 0.0;
  const double in = static_cast<double>(c.context_in() + c.dim_x);
  // Per block: attention 4 D^2, GEGLU feed-forward 3 D F.
  return blocks_of(c) * (4 * d * d + 3 * d * f) + 2.0 * c.emb_depth * d * d + d * in +
         d * static_cast<double>(c.predictor_out()) + latents * d;
}

}  // namespace

double model_parameter_bytes(const ModelConfig& config) { return 4.0 * parameter_count(config); }

double training_step_bytes(const ModelConfig& c, int64_t batch_size, int64_t points_per_task) {
  const double d = static_cast<double>(c.d_model), f = static_cast<double>(c.dim_feedforward);
  const double h = static_cast<double>(c.heads), b = static_cast<double>(batch_size);
  const double p = static_cast<double>(std::max<int64_t>(points_per_task, 1));
  const double latents = c.model == ModelKind::perceiver ? static_cast<double>(c.num_latents) : 0.0;
  const double blocks = blocks_of(c);
  // Value, gradient, Adam's two moments.
  const double param_bytes = 16.0 * parameter_count(c);
  // Per block and token: the residual stream, norms, q/k/v, the attention output (about 10 D) and
  // the feed-forward's GEGLU intermediates (about 4 F), float32, kept for backward. TCA also
  // encodes the tree's nodes (about as many as the leaves again).
  const double tokens = b * p * (c.model == ModelKind::tca ? 2.0 : 1.0);
  const double stream = blocks * tokens * (10 * d + 4 * f) + 2.0 * c.emb_depth * tokens * d;
  // Attention weights, their logits and gradients: B H P P per context block (P L for the
  // Perceiver's latents).
  const double keys = c.model == ModelKind::perceiver ? latents : p;
  const double attention = 3.0 * b * h * p * keys * std::max(1.0, c.num_layers + 1.0);
  return param_bytes + 4.0 * (stream + attention);
}

double gp_generator_bytes(int64_t max_points) {
  const double p = static_cast<double>(max_points);
  return 2.0 * 8.0 * p * p;
}

void require_memory(double bytes, const std::string& what, const std::string& options) {
  const double budget = static_cast<double>(memory_budget_bytes());
  if (bytes <= budget) return;
  throw UsageError(what + " needs an estimated " + bytes_text(bytes) + ", more than the " +
                   bytes_text(budget) + " of memory this process may use (" + options +
                   "): expected a smaller configuration");
}

}  // namespace tca
