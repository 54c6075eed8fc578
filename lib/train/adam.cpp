#include "train/adam.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <vector>

#include "core/error.hpp"

namespace tca {

static void require_unit_interval(const char* name, double value) {
  if (!(value >= 0.0 && value < 1.0)) {
    throw UsageError(std::string("Adam ") + name + " must be in [0, 1), found " +
                     std::to_string(value));
  }
}

namespace {

// The float32 scalars of one parameter's update (see Adam::step).
struct AdamScalars {
  float lerp_weight, beta2, one_minus_beta2, eps, weight_decay, neg_step_size,
      bias_correction2_sqrt, grad_scale;
};

// The element loop with the two loop-invariant choices (weight decay on, which lerp form) fixed at
// compile time: as run-time branches inside the loop they kept it from vectorising.
template <bool Decay, bool SmallWeight>
void update(const AdamScalars& k, float* p, const float* g_in, float* m, float* v, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    // The clipped gradient (times 1, exactly, when not clipping). With weight decay the caller
    // has scaled the gradient already (see Adam::step) and the expression is the one before the
    // fold, g + wd p: a multiply by the run-time scale there would be contracted into the add.
    const float g = Decay ? g_in[i] + k.weight_decay * p[i] : g_in[i] * k.grad_scale;
    // torch's lerp: the form that keeps precision for the weight's side of 0.5.
    m[i] =
        SmallWeight ? m[i] + k.lerp_weight * (g - m[i]) : g - (g - m[i]) * (1.0f - k.lerp_weight);
    v[i] = v[i] * k.beta2 + k.one_minus_beta2 * g * g;
    const float denom = std::sqrt(v[i]) / k.bias_correction2_sqrt + k.eps;
    p[i] = p[i] + k.neg_step_size * m[i] / denom;
  }
}

}  // namespace

Adam::Adam(nn::NamedParameters params, const AdamOptions& options)
    : params_(std::move(params)), options_(options) {
  require_unit_interval("beta1", options.beta1);
  require_unit_interval("beta2", options.beta2);
  if (!(options.eps >= 0.0) || !std::isfinite(options.eps)) {
    throw UsageError("Adam eps must be finite and >= 0, found " + std::to_string(options.eps));
  }
  if (!(options.weight_decay >= 0.0) || !std::isfinite(options.weight_decay)) {
    throw UsageError("Adam weight decay must be finite and >= 0, found " +
                     std::to_string(options.weight_decay));
  }
  std::set<std::string> names;
  std::set<const Node*> nodes;
  states_.reserve(params_.size());
  for (auto& [name, var] : params_) {
    if (!var.defined()) throw RuntimeFailure("Adam: parameter '" + name + "' is undefined");
    if (!names.insert(name).second) {
      throw RuntimeFailure("Adam: parameter name '" + name + "' appears twice");
    }
    if (!nodes.insert(var.node().get()).second) {
      throw RuntimeFailure("Adam: parameter '" + name + "' is the same Var as an earlier one");
    }
    check_dtype("Adam", var.value(), DType::f32);
    // Zero moments at step 0 behave exactly like torch's lazily created state.
    states_.push_back({Tensor::zeros(var.shape()), Tensor::zeros(var.shape()), 0});
  }
}

void Adam::step(double lr, float grad_scale) {
  if (!(lr >= 0.0) || !std::isfinite(lr)) {
    throw UsageError("Adam learning rate must be finite and >= 0, found " + std::to_string(lr));
  }
  // 0 is a valid scale: clip_coefficient underflows to it for a norm ~1e45 times the clip
  // value, and clipping in place then zeroed the gradients too.
  if (!(grad_scale >= 0.0f) || !std::isfinite(grad_scale)) {
    throw UsageError("Adam gradient scale must be finite and >= 0, found " +
                     std::to_string(grad_scale));
  }
  const double beta1 = options_.beta1, beta2 = options_.beta2;
  // torch converts each Python-float scalar to the tensor's float type at the kernel.
  const auto lerp_weight = static_cast<float>(1.0 - beta1);
  const bool small_weight = std::fabs(lerp_weight) < 0.5f;
  const auto beta2_f = static_cast<float>(beta2);
  const auto one_minus_beta2 = static_cast<float>(1.0 - beta2);
  const auto eps = static_cast<float>(options_.eps);
  const auto weight_decay = static_cast<float>(options_.weight_decay);
  const bool decay = options_.weight_decay != 0.0;

  // Checks and per-parameter scalars first (serially: they may throw), then every element update
  // in one parallel region: chunks of at most kChunk floats dealt dynamically to the threads, so
  // a model's ~100 small parameters share one fork/join (platform.md: ~1 us per region at 2
  // threads) and its large ones are split. Each element's update is independent: the result does
  // not depend on the thread count.
  struct Work {
    AdamScalars s;
    float* p;
    float* g;
    float* m;
    float* v;
    int64_t begin, end;
  };
  constexpr int64_t kChunk = 16384;
  std::vector<Work> work;
  int64_t total = 0;
  for (size_t k = 0; k < params_.size(); ++k) {
    Var& param = params_[k].second;
    if (!param.grad().defined()) continue;
    Tensor& grad_tensor = param.grad_buffer();
    check_same_shape("Adam gradient vs parameter", grad_tensor, param.value());
    AdamParamState& st = states_[k];
    st.step += 1;
    const double t = static_cast<double>(st.step);
    const double bias_correction1 = 1.0 - std::pow(beta1, t);
    const double bias_correction2 = 1.0 - std::pow(beta2, t);
    const auto neg_step_size = static_cast<float>(-(lr / bias_correction1));
    const auto bias_correction2_sqrt = static_cast<float>(std::sqrt(bias_correction2));
    // With weight decay GCC contracts a folded clip multiply into the decay's add (one rounding
    // instead of two), so there the gradient is scaled in place first, as clip_grad_norm does;
    // without it the product is rounded on its own and folding is bit-identical (tested).
    const AdamScalars s{
        lerp_weight,  beta2_f,       one_minus_beta2,       eps,
        weight_decay, neg_step_size, bias_correction2_sqrt, decay ? 1.0f : grad_scale};
    const int64_t n = param.numel();
    float* p = param.mutable_value().data();
    for (int64_t b = 0; b < n; b += kChunk)
      work.push_back({s, p, grad_tensor.data(), st.exp_avg.data(), st.exp_avg_sq.data(), b,
                      std::min(n, b + kChunk)});
    total += n;
  }
  const int64_t items = static_cast<int64_t>(work.size());
#pragma omp parallel for schedule(dynamic, 1) if (total > 65536)
  for (int64_t i = 0; i < items; ++i) {
    const Work& w = work[static_cast<size_t>(i)];
    const int64_t b = w.begin, n = w.end - w.begin;
    if (decay && grad_scale != 1.0f) {
#pragma omp simd
      for (int64_t j = b; j < w.end; ++j) w.g[j] *= grad_scale;
    }
    if (decay)
      small_weight ? update<true, true>(w.s, w.p + b, w.g + b, w.m + b, w.v + b, n)
                   : update<true, false>(w.s, w.p + b, w.g + b, w.m + b, w.v + b, n);
    else
      small_weight ? update<false, true>(w.s, w.p + b, w.g + b, w.m + b, w.v + b, n)
                   : update<false, false>(w.s, w.p + b, w.g + b, w.m + b, w.v + b, n);
  }
}

void Adam::zero_grad() {
  for (auto& [name, var] : params_) var.zero_grad();
}

size_t Adam::index_of(const std::string& name) const {
  for (size_t k = 0; k < params_.size(); ++k) {
    if (params_[k].first == name) return k;
  }
  throw RuntimeFailure("Adam: no parameter named '" + name + "'");
}

const AdamParamState& Adam::state(const std::string& name) const { return states_[index_of(name)]; }

AdamParamState& Adam::state(const std::string& name) { return states_[index_of(name)]; }

}  // namespace tca
