// Gradient checks through whole models at tiny sizes (d_model 8, 2 heads, 1 layer, emb_depth 2,
// F 8): autograd against central finite differences on two entries of every parameter tensor
// (the largest-gradient one and a random one), in float32 (h = 1e-3).
//
// TCA needs care (reference README 6): the sampled path and the REINFORCE rewards are constants
// of the loss, and with bptt = false so are the aggregator's inputs (a perturbed encoder weight
// moves the node embeddings, which autograd deliberately ignores). Finite differences therefore
// agree only when the path is forced, the rewards are those of the unperturbed forward, and
// either bptt = true or only parameters downstream of the detach are perturbed.
#include <doctest/doctest.h>

#include <set>
#include <vector>

#include "models/cross_attention_model.hpp"
#include "models/model_test_util.hpp"
#include "models/perceiver_io_model.hpp"
#include "models/tca_test_util.hpp"

using namespace tca;
using namespace tca::testing;

namespace {

auto everything = [](const std::string&) { return true; };

void report(const GradcheckResult& r) {
  MESSAGE(r.checked << " entries checked (" << r.at_kinks << " next to a ReLU kink); worst ratio "
                    << r.worst_ratio << " at " << r.worst);
  CHECK(r.checked > 0);
  CHECK(r.worst_ratio <= 1.0);
}

}  // namespace

TEST_CASE("CA model gradients match finite differences on every parameter tensor") {
  Rng init(101), data(102);
  CrossAttentionModel model(tiny_gp_config("ca"), init);
  Batch batch = gp_batch(2, 7, 4, data);
  auto objective = [&]() {
    Rng rng(0);
    return model.loss(batch, rng).total;
  };
  report(gradcheck_parameters(model, objective, everything, 1));
}

TEST_CASE(
    "CA model gradients match finite differences on the copy task with positional MLPs and "
    "classification") {
  Rng init(103), data(104);
  ModelConfig cfg = copy_config("ca", 4);
  cfg.d_model = 8;
  cfg.heads = 2;
  cfg.dim_feedforward = 8;
  cfg.emb_depth = 2;
  CrossAttentionModel model(cfg, init);
  Batch batch = copy_batch(2, 8, data, 4);
  auto objective = [&]() {
    Rng rng(0);
    return model.loss(batch, rng).total;
  };
  report(gradcheck_parameters(model, objective, everything, 2));
}

TEST_CASE(
    "Perceiver IO gradients match finite differences on every parameter tensor including the "
    "latents") {
  Rng init(105), data(106);
  PerceiverIoModel model(tiny_gp_config("perceiver"), init);
  Batch batch = gp_batch(2, 7, 4, data);
  auto objective = [&]() {
    Rng rng(0);
    return model.loss(batch, rng).total;
  };
  report(gradcheck_parameters(model, objective, everything, 3));
  // The latents are trained (they get a gradient).
  model.zero_grad();
  objective().backward();
  REQUIRE(model.latents.grad().defined());
  double norm = 0;
  for (int64_t i = 0; i < model.latents.numel(); ++i) norm += std::abs(model.latents.grad()[i]);
  CHECK(norm > 0);
}

TEST_CASE(
    "TCA with bptt and a forced path: the gradient of every parameter for all loss terms matches "
    "finite differences") {
  Rng init(107), data(108), path_rng(109);
  ModelConfig cfg = tiny_gp_config("tca");
  cfg.bptt = true;
  cfg.entropy_bonus = 0.5f;  // large enough that the entropy term's gradient matters
  ReTreeverModel model(cfg, init);
  // N = 11: k = 3, P = 2, padded to 16 (padding tokens and an all-padding subtree).
  Batch batch = gp_batch(2, 11, 3, data);
  const TreeShape s(11, 2);
  Tensor forced = random_real_path(2, 3, s, path_rng);
  Rng rng(0);
  RetreeverTrace tr0;
  LossOutput out0 =
      model.forward(batch, nn::ForwardContext::training(rng), TcaPath::given(forced), &tr0);
  const Tensor rewards = tr0.tca.reward.clone();
  auto objective = [&]() {
    return forced_loss_with_rewards(model, batch, forced, rewards, tr0.tca.baseline);
  };
  // The objective at the unperturbed point is the model's own total loss.
  CHECK(objective().item() == doctest::Approx(out0.total.item()).epsilon(1e-6));
  report(gradcheck_parameters(model, objective, everything, 4));
}

TEST_CASE(
    "TCA without bptt: L_TCA + L_CA gradients of the parameters after the detach match finite "
    "differences") {
  Rng init(110), data(111), path_rng(112);
  ModelConfig cfg = tiny_gp_config("tca");
  cfg.rl_loss_weight = 0.0f;  // rewards are constants of the loss: leave L_RL out
  ReTreeverModel model(cfg, init);
  Batch batch = gp_batch(2, 11, 3, data);
  Tensor forced = random_real_path(2, 3, TreeShape(11, 2), path_rng);
  auto objective = [&]() {
    Rng rng(0);
    return model.forward(batch, nn::ForwardContext::training(rng), TcaPath::given(forced)).total;
  };
  // With bptt = false the node embeddings are functions of detached inputs; the parameters that act
  // after the tree is built (query embedder, query model, query FF, predictor) are exact.
  auto after_detach = [](const std::string& n) {
    return starts_with(n, "query_embedder.") || starts_with(n, "decoder.query_attn.") ||
           starts_with(n, "decoder.query_ff.") || starts_with(n, "predictor.");
  };
  report(gradcheck_parameters(model, objective, after_detach, 5));
}

TEST_CASE("TCA policy term sends no gradient into the encoder without bptt and does with bptt") {
  Rng data(113), path_rng(114);
  Batch batch = gp_batch(1, 11, 3, data);
  Tensor forced = random_real_path(1, 3, TreeShape(11, 2), path_rng);
  for (bool bptt : {false, true}) {
    Rng init(115);
    ModelConfig cfg = tiny_gp_config("tca");
    cfg.bptt = bptt;
    ReTreeverModel model(cfg, init);
    Rng rng(0);
    RetreeverTrace tr;
    model.forward(batch, nn::ForwardContext::training(rng), TcaPath::given(forced), &tr);
    // Only the log-probabilities of the path: they see the context only through node embeddings.
    Var policy_only = ops::neg(ops::mean_all(tr.decoder.descent.log_prob));
    model.zero_grad();
    policy_only.backward();
    auto grad_norm = [&](const std::string& prefix) {
      double n = 0;
      for (auto& [name, p] : model.named_parameters())
        if (starts_with(name, prefix) && p.grad().defined())
          for (int64_t i = 0; i < p.numel(); ++i) n += std::abs(p.grad()[i]);
      return n;
    };
    CHECK(grad_norm("decoder.query_attn.attn.to_k.") > 0);
    CHECK(grad_norm("decoder.aggregator.") > 0);
    CHECK(grad_norm("query_embedder.") > 0);
    if (bptt) {
      CHECK(grad_norm("encoder.") > 0);
      CHECK(grad_norm("context_embedder.") > 0);
    } else {
      CHECK(grad_norm("encoder.") == 0.0);
      CHECK(grad_norm("context_embedder.") == 0.0);
    }
    // The value projection plays no part in the policy.
    CHECK(grad_norm("decoder.query_attn.attn.to_v.") == 0.0);
  }
}

TEST_CASE("post-norm CA and TCA gradients match finite differences") {
  Rng data(116), path_rng(117);
  Batch batch = gp_batch(2, 11, 3, data);
  {
    Rng init(118);
    ModelConfig cfg = tiny_gp_config("ca");
    cfg.norm_first = false;
    CrossAttentionModel model(cfg, init);
    auto objective = [&]() {
      Rng rng(0);
      return model.loss(batch, rng).total;
    };
    report(gradcheck_parameters(model, objective, everything, 6));
  }
  {
    Rng init(119), rng(0);
    ModelConfig cfg = tiny_gp_config("tca");
    cfg.norm_first = false;
    cfg.bptt = true;
    ReTreeverModel model(cfg, init);
    Tensor forced = random_real_path(2, 3, TreeShape(11, 2), path_rng);
    RetreeverTrace tr0;
    model.forward(batch, nn::ForwardContext::training(rng), TcaPath::given(forced), &tr0);
    const Tensor rewards = tr0.tca.reward.clone();
    auto objective = [&]() {
      return forced_loss_with_rewards(model, batch, forced, rewards, tr0.tca.baseline);
    };
    report(gradcheck_parameters(model, objective, everything, 7));
  }
}

TEST_CASE(
    "TCA's untraced loss (L_CA through the fused attention) equals the traced one (weights "
    "materialised), and so do all parameter gradients") {
  // The traced forward takes the general attention path for the L_CA branch (it keeps the
  // weights), the training step the fused one (tree_cross_attention.cpp attend_leaves); the tests
  // above check the traced path against finite differences, this one ties the two together.
  Rng init(130), data(131);
  ModelConfig cfg = tiny_gp_config("tca");
  cfg.entropy_bonus = 0.5f;
  ReTreeverModel model(cfg, init);
  Batch batch = gp_batch(3, 11, 5, data);
  auto run = [&](bool trace) {
    model.zero_grad();
    Rng rng(7);
    RetreeverTrace tr;
    LossOutput out = model.forward(batch, nn::ForwardContext::training(rng), TcaPath::sampled(),
                                   trace ? &tr : nullptr);
    out.total.backward();
    std::vector<std::vector<float>> grads;
    for (const auto& [name, p] : model.named_parameters())
      grads.push_back(p.grad().defined() ? p.grad().to_vector() : std::vector<float>());
    return std::make_pair(out.total.item(), grads);
  };
  const auto traced = run(true), fused = run(false);
  CHECK(fused.first == doctest::Approx(traced.first).epsilon(1e-6));
  REQUIRE(fused.second.size() == traced.second.size());
  double worst = 0;
  size_t compared = 0;
  for (size_t i = 0; i < fused.second.size(); ++i) {
    REQUIRE(fused.second[i].size() == traced.second[i].size());
    double scale = 1e-6;
    for (float g : traced.second[i]) scale = std::max(scale, static_cast<double>(std::abs(g)));
    for (size_t j = 0; j < fused.second[i].size(); ++j, ++compared)
      worst = std::max(worst, std::abs(fused.second[i][j] - traced.second[i][j]) / scale);
  }
  MESSAGE(compared << " gradient entries, worst difference relative to the tensor's largest "
                   << worst);
  CHECK(compared > 0);
  CHECK(worst < 1e-4);
}

TEST_CASE(
    "TCA's training step keeps no [B, H, M, Np] attention weights of its L_CA branch in the "
    "graph") {
  // The general attention path records the logits and the softmax weights as graph nodes of that
  // shape (2 x 512 MiB at copy T = 1024, issue 23); the fused path records none. A copy batch:
  // M = N = T / 2 = 16 queries and leaf tokens, 4 heads.
  Rng init(140), data(141);
  ModelConfig cfg = copy_config("tca");
  ReTreeverModel model(cfg, init);
  const int64_t B = 2, T = 32, M = T / 2, Np = 16;
  Batch batch = copy_batch(B, T, data);
  auto weights_shaped_nodes = [&](const Var& root) {
    std::vector<const Node*> stack{root.node().get()};
    std::set<const Node*> seen;
    int64_t found = 0;
    while (!stack.empty()) {
      const Node* n = stack.back();
      stack.pop_back();
      if (!seen.insert(n).second) continue;
      found += n->value.shape() == Shape{B, cfg.heads, M, Np};
      for (const auto& in : n->inputs) stack.push_back(in.get());
    }
    return found;
  };
  Rng rng(3);
  CHECK(weights_shaped_nodes(model.loss(batch, rng).total) == 0);
  // The traced forward takes the general path: the check above would see its nodes.
  Rng rng2(3);
  RetreeverTrace tr;
  const LossOutput traced =
      model.forward(batch, nn::ForwardContext::training(rng2), TcaPath::sampled(), &tr);
  CHECK(weights_shaped_nodes(traced.total) >= 2);
}
