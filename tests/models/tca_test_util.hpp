// Helpers for the Tree Cross Attention tests: random forced paths that stay on real tokens, and
// the objective of a forced-path training forward with the REINFORCE rewards held fixed.
#pragma once
#include "core/tree_shape.hpp"
#include "models/retreever_model.hpp"

namespace tca::testing {

// Random picks i32 [B, M, k] whose leaf holds at least one real token (a forced pick of an
// all-padding child would have probability 0, so log pi = -inf). N real tokens, shape `s`.
inline Tensor random_real_path(int64_t B, int64_t M, const TreeShape& s, Rng& rng) {
  Tensor actions = Tensor::empty({B, M, s.k}, DType::i32);
  for (int64_t q = 0; q < B * M; ++q) {
    int64_t leaf = 0;
    do {
      leaf = 0;
      for (int64_t i = 0; i < s.k; ++i) {
        const int64_t a = rng.uniform_int(0, s.b - 1);
        actions.data_i32()[q * s.k + i] = static_cast<int32_t>(a);
        leaf = leaf * s.b + a;
      }
    } while (leaf * s.leaf_size >= s.n);
  }
  return actions;
}

// The same path for every query: the k digits of `leaf` in base b, most significant first.
inline Tensor path_to_leaf(int64_t B, int64_t M, const TreeShape& s, int64_t leaf) {
  Tensor actions = Tensor::empty({B, M, s.k}, DType::i32);
  for (int64_t q = 0; q < B * M; ++q) {
    int64_t rest = leaf;
    for (int64_t i = s.k - 1; i >= 0; --i) {
      actions.data_i32()[q * s.k + i] = static_cast<int32_t>(rest % s.b);
      rest /= s.b;
    }
  }
  return actions;
}

// The autograd forward on the greedy path in inference mode (what the index path must reproduce),
// as the inference path reports it: predictions and tokens attended per query.
inline Predictions greedy_forward(ReTreeverModel& model, const Batch& batch, RetreeverTrace& tr) {
  NoGradGuard no_grad;
  model.forward(batch, nn::ForwardContext::inference(), TcaPath::greedy(), &tr);
  Predictions p;
  p.logits = tr.tca.logits;
  p.mean = tr.tca.mean;
  p.std = tr.tca.std;
  const TreeShape& s = tr.decoder.tree.shape;
  const int64_t B = batch.batch_size(), M = batch.num_targets(), L = s.set_slots();
  p.tokens_attended = Tensor::full({B, M}, static_cast<float>(s.tokens_attended()));
  p.tokens_unmasked = Tensor::full({B, M}, static_cast<float>(s.n));
  if (s.k > 0)
    for (int64_t q = 0; q < B * M; ++q) {
      float c = 0;
      for (int64_t j = 0; j < L; ++j) c += tr.decoder.descent.set_mask[q * L + j];
      p.tokens_unmasked[q] = c;
    }
  return p;
}

// loss = L_TCA + w_CA L_CA + w_RL (-mean_q[log pi(path_q) (R0_q - baseline)] - w_H H_mean) on the
// forced path, with the rewards R0 given (held constant, reference README 6) instead of the
// rewards of this forward.
inline Var forced_loss_with_rewards(ReTreeverModel& model, const Batch& batch, const Tensor& forced,
                                    const Tensor& rewards, float baseline) {
  Rng rng(0);  // dropout is 0 in these tests; the forced path needs no sampling
  RetreeverTrace tr;
  model.forward(batch, nn::ForwardContext::training(rng), TcaPath::given(forced), &tr);
  const ModelConfig& c = model.config();
  Tensor advantage = Tensor::empty(rewards.shape());
  for (int64_t q = 0; q < rewards.numel(); ++q) advantage[q] = rewards[q] - baseline;
  Var reinforce = ops::neg(ops::mean_all(ops::mul(tr.decoder.descent.log_prob, Var(advantage))));
  Var rl = ops::sub(reinforce, ops::mul_scalar(tr.decoder.descent.entropy, c.entropy_bonus));
  return ops::add(ops::add(tr.tca.loss, ops::mul_scalar(tr.leaf.loss, c.ca_loss_weight)),
                  ops::mul_scalar(rl, c.rl_loss_weight));
}

}  // namespace tca::testing
