#include "models/retreever_model.hpp"

#include <cmath>

#include "core/error.hpp"
#include "models/tree_ordering.hpp"

namespace tca {

ReTreeverModel::ReTreeverModel(const ModelConfig& cfg, Rng& init_rng)
    : Model(cfg, init_rng),
      encoder({cfg.d_model, cfg.heads, cfg.dim_feedforward, cfg.dropout, cfg.norm_first},
              cfg.num_layers, init_rng),
      decoder(cfg, init_rng) {
  register_module("encoder", encoder);
  register_module("decoder", decoder);
}

ReTreeverModel::Encoded ReTreeverModel::encode(const Batch& batch,
                                               const nn::ForwardContext& ctx) const {
  Encoded e;
  e.order = context_order(batch.xc, cfg_.heuristic);
  e.batch = cfg_.heuristic == ContextOrdering::none ? batch : apply_context_order(batch, e.order);
  e.ctx = context_embedder(context_tokens(e.batch), ctx);
  e.q = query_embedder(Var(e.batch.xt), ctx);
  e.layers = encoder.forward_all(e.ctx, Tensor(), ctx);
  e.E = e.layers.empty() ? e.ctx : e.layers.back();
  return e;
}

LossOutput ReTreeverModel::forward(const Batch& batch, const nn::ForwardContext& ctx,
                                   const TcaPath& path, RetreeverTrace* trace) {
  Encoded e = encode(batch, ctx);
  TcaForward dec = decoder.forward(e.E, e.q, ctx, path, trace != nullptr);
  TaskOutput leaf = predictor.task(dec.leaf_encoding, e.batch);
  const bool k0 = dec.tree.shape.k == 0;
  // tca.md 4.1: with k = 0 the model answers with its L_CA branch; L_TCA = L_CA, L_RL = 0.
  TaskOutput tca = k0 ? leaf : predictor.task(dec.encoding, e.batch);
  LossOutput out;
  Var reinforce, rl, total;
  if (k0) {
    total = ops::add(leaf.loss, ops::mul_scalar(leaf.loss, cfg_.ca_loss_weight));
  } else {
    // L_RL = -mean_q[(sum_levels log pi) (R - baseline)] - entropy_bonus H_mean; R detached (4.4).
    const int64_t Q = batch.batch_size() * batch.num_targets();
    Tensor advantage = Tensor::empty({Q});
    for (int64_t q = 0; q < Q; ++q) advantage[q] = tca.reward[q] - tca.baseline;
    reinforce = ops::neg(ops::mean_all(ops::mul(dec.log_prob, Var(advantage))));
    rl = ops::sub(reinforce, ops::mul_scalar(dec.entropy, cfg_.entropy_bonus));
    total = ops::add(ops::add(tca.loss, ops::mul_scalar(leaf.loss, cfg_.ca_loss_weight)),
                     ops::mul_scalar(rl, cfg_.rl_loss_weight));
  }
  out.total = total;
  out.terms = {{"loss", total.item()},
               {"tca_loss", tca.loss.item()},
               {"ca_loss", leaf.loss.item()},
               {"rl_loss", k0 ? 0.0 : rl.item()},
               {"rl_reinforce", k0 ? 0.0 : reinforce.item()},
               {"entropy", k0 ? 0.0 : dec.entropy.item()},
               {predictor.metric_name(), tca.metric},
               {std::string("ca_") + predictor.metric_name(), leaf.metric}};
  if (trace) {
    trace->order = e.order;
    trace->context_embeddings = e.ctx;
    trace->query_embeddings = e.q;
    trace->encoder_layers = e.layers;
    trace->encoder_output = e.E;
    trace->decoder = std::move(dec);
    trace->tca = tca;
    trace->leaf = leaf;
    trace->rl_reinforce = reinforce;
    trace->rl_loss = rl;
    trace->total = total;
  }
  return out;
}

LossOutput ReTreeverModel::loss(const Batch& batch, Rng& rng) {
  return forward(batch, nn::ForwardContext::training(rng), TcaPath::sampled());
}

Var ReTreeverModel::encode_context(const Batch& context) const {
  NoGradGuard no_grad;
  const auto ctx = nn::ForwardContext::inference();
  Batch ordered = cfg_.heuristic == ContextOrdering::none
                      ? context
                      : apply_context_order(context, context_order(context.xc, cfg_.heuristic));
  return encoder(context_embedder(context_tokens(ordered), ctx), Tensor(), ctx);
}

TcaIndex ReTreeverModel::index(const Batch& context, bool with_root) const {
  return decoder.build_index(encode_context(context).value(), with_root);
}

// Tokens attended per query (conventions.md): the nominal |S| = k(b-1) + P, the entries of S with
// mask 1, and the b k nodes scored, for a descent whose slot masks are set_mask [B*M, L].
static void count_tokens(Predictions& p, const TreeShape& s, const Tensor& set_mask, int64_t B,
                         int64_t M) {
  p.tokens_attended = Tensor::full({B, M}, static_cast<float>(s.tokens_attended()));
  p.tokens_unmasked = Tensor::empty({B, M});
  const int64_t L = s.set_slots();
  for (int64_t q = 0; q < B * M; ++q) {
    float c = 0;
    for (int64_t j = 0; j < L; ++j) c += set_mask[q * L + j];
    p.tokens_unmasked[q] = c;
  }
  p.nodes_scored = static_cast<double>(s.nodes_scored());
}

Predictions ReTreeverModel::answer(const TcaIndex& index, const Batch& queries, TcaReadout readout,
                                   RetreeverAnswerTrace* trace) const {
  NoGradGuard no_grad;
  const int64_t B = queries.batch_size(), M = queries.num_targets();
  const Var q = query_embedder(Var(queries.xt), nn::ForwardContext::inference());
  TcaAnswer a = decoder.answer(index, q, readout, trace != nullptr);
  Predictions p;
  fill_task(p, predictor.task(a.encoding, queries));
  if (a.retrieval.set_mask.defined()) {
    count_tokens(p, index.shape, a.retrieval.set_mask, B, M);
  } else {
    // All leaves (ReTreever-Full, or k = 0): every query reads the N real tokens.
    p.tokens_attended = Tensor::full({B, M}, static_cast<float>(index.shape.n));
    p.tokens_unmasked = Tensor::full({B, M}, static_cast<float>(index.shape.n));
  }
  if (trace) trace->retrieval = std::move(a.retrieval);
  return p;
}

Predictions ReTreeverModel::predict(const Batch& batch) { return answer(index(batch), batch); }

}  // namespace tca
