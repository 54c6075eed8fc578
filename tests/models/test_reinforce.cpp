// The REINFORCE term (tca.md 4.4): L_RL = -mean_q[log pi(path_q) R_q] with R detached. Its
// expected gradient over the sampled paths is the gradient of -E_path[R] with each path's reward
// held fixed: -mean_q sum_path (grad pi_q(path)) R_q(path). On a tiny tree we enumerate every path
// with forced actions to get that exactly, and compare the average sampled gradient with it.
#include <doctest/doctest.h>

#include <cmath>

#include "models/model_test_util.hpp"
#include "models/retreever_model.hpp"
#include "models/tca_test_util.hpp"
#include "nn/naive_reference.hpp"

using namespace tca;
using namespace tca::testing;

namespace {

// The policy parameters whose gradients are compared.
const std::vector<std::string> kPolicyParams = {"decoder.query_attn.attn.to_q.weight",
                                                "decoder.query_attn.attn.to_k.weight",
                                                "decoder.query_attn.norm.weight"};

std::vector<double> flat_grads(const ReTreeverModel& model) {
  std::vector<double> g;
  for (const auto& name : kPolicyParams) {
    Var p = param(model, name);
    for (int64_t i = 0; i < p.numel(); ++i) g.push_back(p.grad().defined() ? p.grad()[i] : 0.0);
  }
  return g;
}

// R - baseline per query (the baseline does not change the expectation: sum_path grad pi = 0).
Tensor advantage_of(const TaskOutput& t) {
  Tensor a = t.reward.clone();
  for (int64_t i = 0; i < a.numel(); ++i) a[i] -= t.baseline;
  return a;
}

}  // namespace

TEST_CASE(
    "the average sampled REINFORCE gradient matches the exact gradient of -E(R) over the "
    "enumerated paths") {
  // The copy task with T = 16 and the nce reward (R = -cross-entropy, baseline -log C): at init
  // R - baseline is near 0 and varies between paths, which keeps the sampling noise small.
  ModelConfig cfg = copy_config("tca", 4);
  cfg.d_model = 8;
  cfg.heads = 2;
  cfg.dim_feedforward = 8;
  cfg.emb_depth = 2;
  cfg.reward = ClassificationReward::nce;
  cfg.entropy_bonus = 0.0f;
  Rng init(401), data(402);
  ReTreeverModel model(cfg, init);
  // Weights U(-1, 1) everywhere: predictions then depend strongly on the retrieved set, so the
  // rewards differ between paths and the exact gradient stands well above the sampling noise.
  naive::randomize_parameters(model, init, -1.0, 1.0);
  // N = 8, b = 2: k = 2, P = 2, four leaves, so four paths per query.
  const int64_t B = 1, M = 8, N = 8;
  Batch batch = copy_batch(B, 16, data, 4);
  const TreeShape s(N, 2);
  REQUIRE(s.num_leaves() == 4);

  // Exact: sum over paths (the same leaf for all queries at once; queries are independent) of
  // -mean_q pi_q(path) R_q(path), R_q(path) the reward of that forward, held constant.
  model.zero_grad();
  for (int64_t leaf = 0; leaf < s.num_leaves(); ++leaf) {
    Rng rng(0);
    RetreeverTrace tr;
    model.forward(batch, nn::ForwardContext::training(rng),
                  TcaPath::given(path_to_leaf(B, M, s, leaf)), &tr);
    Var expected_r =
        ops::mean_all(ops::mul(ops::exp(tr.decoder.descent.log_prob), Var(advantage_of(tr.tca))));
    ops::neg(expected_r).backward();
  }
  const std::vector<double> exact = flat_grads(model);

  // Sampled: the gradient of the model's own rl_reinforce term on sampled paths.
  // The per-sample gradients are heavy-tailed (a rarely sampled path has a large grad log pi), so
  // the bounds below leave room; with more samples the average keeps converging to the exact value
  // (seen up to 48k samples while choosing these settings).
  const int samples = 4000;
  std::vector<double> sum(exact.size(), 0.0), sum_sq(exact.size(), 0.0);
  Rng rng(403);
  for (int n = 0; n < samples; ++n) {
    RetreeverTrace tr;
    model.forward(batch, nn::ForwardContext::training(rng), TcaPath::sampled(), &tr);
    model.zero_grad();
    tr.rl_reinforce.backward();
    const std::vector<double> g = flat_grads(model);
    for (size_t i = 0; i < g.size(); ++i) {
      sum[i] += g[i];
      sum_sq[i] += g[i] * g[i];
    }
  }
  double worst_z = 0, err2 = 0, exact2 = 0, se2 = 0;
  for (size_t i = 0; i < exact.size(); ++i) {
    const double mean = sum[i] / samples;
    const double var = std::max(0.0, sum_sq[i] / samples - mean * mean);
    const double se = std::sqrt(var / samples) + 1e-9;
    worst_z = std::max(worst_z, std::abs(mean - exact[i]) / se);
    err2 += (mean - exact[i]) * (mean - exact[i]);
    exact2 += exact[i] * exact[i];
    se2 += se * se;
  }
  MESSAGE("entries " << exact.size() << ", |exact| " << std::sqrt(exact2) << ", |sampled - exact| "
                     << std::sqrt(err2) << ", |standard errors| " << std::sqrt(se2) << ", worst z "
                     << worst_z);
  // The test discriminates: the exact gradient stands well above the sampling error, so a sign
  // error (|sampled - exact| = 2 |exact| > 10 standard errors) or a biased sampler is caught.
  REQUIRE(std::sqrt(exact2) > 5 * std::sqrt(se2));
  CHECK(worst_z < 4.5);
  CHECK(std::sqrt(err2) < 3.0 * std::sqrt(se2));
  CHECK(std::sqrt(err2) < 0.25 * std::sqrt(exact2));
}
