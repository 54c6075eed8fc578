// The TCA training objective (tca.md 4.4) recomputed naively from the predictor outputs and the
// policy of a forced-path forward, for every task loss and reward: classification with the acc
// and nce rewards, Gaussian NLL (exp and bounded std) and MSE; non-default loss weights.
//   loss = L_TCA + w_CA L_CA + w_RL (-mean_q[(sum_i log pi_i(a_i)) (R_q - baseline)] - w_H H_mean)
#include <doctest/doctest.h>

#include <cmath>

#include "models/model_test_util.hpp"
#include "models/retreever_model.hpp"
#include "models/tca_test_util.hpp"

using namespace tca;
using namespace tca::testing;

namespace {

struct NaiveTask {
  double loss = 0, metric = 0, baseline = 0;
  std::vector<double> reward;
};

// The task loss, metric and per-target reward of raw predictor outputs [R, out] (tca.md 1, 4.4).
NaiveTask naive_task(const ModelConfig& cfg, const Tensor& output, const Batch& batch) {
  const int64_t R = batch.batch_size() * batch.num_targets(), width = output.numel() / R;
  NaiveTask t;
  t.reward.resize(static_cast<size_t>(R));
  for (int64_t r = 0; r < R; ++r) {
    const float* o = output.data() + r * width;
    double rew = 0;
    if (cfg.loss == TaskLoss::classification) {
      const int32_t label = batch.labels.data_i32()[r];
      double mx = o[0];
      int64_t arg = 0;
      for (int64_t c = 1; c < width; ++c)
        if (o[c] > o[arg]) arg = c;
      for (int64_t c = 0; c < width; ++c) mx = std::max(mx, static_cast<double>(o[c]));
      double se = 0;
      for (int64_t c = 0; c < width; ++c) se += std::exp(o[c] - mx);
      const double ce = mx + std::log(se) - o[label];
      t.loss += ce / static_cast<double>(R);
      t.metric += (arg == label ? 1.0 : 0.0) / static_cast<double>(R);
      rew = cfg.reward == ClassificationReward::acc ? (arg == label ? 1.0 : 0.0) : -ce;
      t.baseline =
          cfg.reward == ClassificationReward::acc ? 0.0 : -std::log(static_cast<double>(width));
    } else if (cfg.loss == TaskLoss::gaussian_nll) {
      const int64_t dy = cfg.dim_y;
      double ll = 0;
      for (int64_t d = 0; d < dy; ++d) {
        const double mean = o[d], raw = o[dy + d], y = batch.yt[r * dy + d];
        const double std = cfg.bound_std ? 0.05 + 0.95 * std::log1p(std::exp(raw)) : std::exp(raw);
        ll += -(y - mean) * (y - mean) / (2 * std * std) - std::log(std) -
              0.5 * std::log(2 * 3.141592653589793);
      }
      t.loss -= ll / static_cast<double>(R);
      t.metric += ll / static_cast<double>(R);
      rew = ll;
    } else {
      const int64_t dy = cfg.dim_y;
      double se = 0;
      for (int64_t d = 0; d < dy; ++d)
        se += (o[d] - batch.yt[r * dy + d]) * (o[d] - batch.yt[r * dy + d]);
      t.loss += se / static_cast<double>(R * dy);
      rew = -se / static_cast<double>(dy);
    }
    t.reward[static_cast<size_t>(r)] = rew;
  }
  return t;
}

void check_objective(const ModelConfig& cfg, const Batch& batch, uint64_t seed) {
  Rng init(seed), path_rng(seed + 1), rng(0);
  ReTreeverModel model(cfg, init);
  const TreeShape s(batch.num_context(), cfg.branch_factor);
  REQUIRE(s.k >= 1);
  const int64_t B = batch.batch_size(), M = batch.num_targets(), Q = B * M, k = s.k, b = s.b,
                H = cfg.heads;
  Tensor forced = random_real_path(B, M, s, path_rng);
  RetreeverTrace tr;
  LossOutput out =
      model.forward(batch, nn::ForwardContext::training(rng), TcaPath::given(forced), &tr);

  const NaiveTask tca = naive_task(cfg, tr.tca.output, batch),
                  leaf = naive_task(cfg, tr.leaf.output, batch);
  for (int64_t q = 0; q < Q; ++q)
    CHECK(tr.tca.reward[q] ==
          doctest::Approx(tca.reward[static_cast<size_t>(q)]).epsilon(1e-5).scale(1.0));
  CHECK(tr.tca.baseline == doctest::Approx(tca.baseline).epsilon(1e-6));
  // log pi(path) from the head-averaged policy and the forced picks; each head's entropy.
  double reinforce = 0, entropy = 0;
  for (int64_t q = 0; q < Q; ++q) {
    double log_prob = 0;
    for (int64_t i = 0; i < k; ++i) {
      const int32_t a = forced.data_i32()[q * k + i];
      log_prob += std::log(static_cast<double>(
          tr.decoder.descent.policy[static_cast<size_t>(i)].value()[q * b + a]));
      const Tensor& w =
          tr.decoder.descent.policy_per_head[static_cast<size_t>(i)].value();  // [Q, H, b]
      for (int64_t h = 0; h < H; ++h)
        for (int64_t j = 0; j < b; ++j) {
          const double p = w[(q * H + h) * b + j];
          entropy -= p * std::log(p + 1e-9) / static_cast<double>(Q * H * k);
        }
    }
    CHECK(tr.decoder.descent.log_prob.value()[q] == doctest::Approx(log_prob).epsilon(1e-5));
    reinforce -=
        log_prob * (tca.reward[static_cast<size_t>(q)] - tca.baseline) / static_cast<double>(Q);
  }
  const double rl = reinforce - cfg.entropy_bonus * entropy;
  const double total = tca.loss + cfg.ca_loss_weight * leaf.loss + cfg.rl_loss_weight * rl;
  auto near = [](double x) { return doctest::Approx(x).epsilon(1e-5).scale(1.0); };
  CHECK(out.terms.at("tca_loss") == near(tca.loss));
  CHECK(out.terms.at("ca_loss") == near(leaf.loss));
  CHECK(out.terms.at("entropy") == near(entropy));
  CHECK(out.terms.at("rl_reinforce") == near(reinforce));
  CHECK(out.terms.at("rl_loss") == near(rl));
  CHECK(out.terms.at("loss") == near(total));
  CHECK(out.total.item() == near(total));
  if (cfg.loss != TaskLoss::mse) {
    CHECK(out.terms.at(model.metric_name()) == near(tca.metric));
    CHECK(out.terms.at(std::string("ca_") + model.metric_name()) == near(leaf.metric));
  }
}

ModelConfig weighted(ModelConfig c) {
  c.d_model = 8;
  c.heads = 2;
  c.dim_feedforward = 8;
  c.emb_depth = 2;
  c.ca_loss_weight = 0.7f;
  c.rl_loss_weight = 1.3f;
  c.entropy_bonus = 0.05f;
  return c;
}

}  // namespace

TEST_CASE(
    "TCA objective with the acc reward: 0/1 correctness of the TCA prediction and baseline 0") {
  ModelConfig cfg = weighted(copy_config("tca", 4));
  Rng data(601);
  check_objective(cfg, copy_batch(2, 16, data, 4), 602);
}

TEST_CASE("TCA objective with the nce reward: minus the cross-entropy and baseline -log C") {
  ModelConfig cfg = weighted(copy_config("tca", 4));
  cfg.reward = ClassificationReward::nce;
  Rng data(603);
  check_objective(cfg, copy_batch(2, 16, data, 4), 604);
}

TEST_CASE(
    "TCA objective for Gaussian NLL with exp std: reward = log-likelihood summed over dim_y") {
  ModelConfig cfg = weighted(tiny_gp_config("tca"));
  Rng data(605);
  check_objective(cfg, gp_batch(2, 11, 3, data), 606);
}

TEST_CASE("TCA objective for Gaussian NLL with the bounded std 0.05 + 0.95 softplus") {
  ModelConfig cfg = weighted(tiny_gp_config("tca"));
  cfg.bound_std = true;
  cfg.branch_factor = 3;
  Rng data(607);
  check_objective(cfg, gp_batch(2, 10, 3, data), 608);
}

TEST_CASE(
    "TCA objective for MSE regression with dim_y = 2: reward = minus the squared error averaged "
    "over dim_y") {
  ModelConfig cfg = weighted(tiny_gp_config("tca"));
  cfg.loss = TaskLoss::mse;
  cfg.dim_y = 2;
  Rng data(609);
  Batch batch;
  const int64_t B = 2, N = 9, M = 3;
  batch.xc = Tensor::empty({B, N, 1});
  batch.yc = Tensor::empty({B, N, 2});
  batch.xt = Tensor::empty({B, M, 1});
  batch.yt = Tensor::empty({B, M, 2});
  for (Tensor* t : {&batch.xc, &batch.yc, &batch.xt, &batch.yt})
    for (int64_t i = 0; i < t->numel(); ++i) (*t)[i] = static_cast<float>(data.uniform(-1, 1));
  check_objective(cfg, batch, 610);
}
