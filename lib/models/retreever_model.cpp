#include "models/retreever_model.hpp"

#include <cmath>

#include "core/error.hpp"
#include "models/tca_retrieval.hpp"
#include "models/tree_ordering.hpp"

namespace tca {

ReTreeverModel::ReTreeverModel(const ModelConfig& cfg, Rng& init_rng)
    : Model(cfg, init_rng),
      encoder({cfg.d_model, cfg.heads, cfg.dim_feedforward, cfg.dropout, cfg.norm_first}, cfg.num_layers, init_rng),
      decoder(cfg, init_rng) {
  register_module("encoder", encoder);
  register_module("decoder", decoder);
}

ReTreeverModel::Encoded ReTreeverModel::encode(const Batch& batch, Rng& rng, bool training) const {
  Encoded e;
  e.order = context_order(batch.xc, cfg_.heuristic);
  e.batch = cfg_.heuristic == "none" ? batch : apply_context_order(batch, e.order);
  e.ctx = context_embedder(context_tokens(e.batch), rng, training);
  e.q = query_embedder(Var(e.batch.xt), rng, training);
  e.layers = encoder.forward_all(e.ctx, Tensor(), rng, training);
  e.E = e.layers.empty() ? e.ctx : e.layers.back();
  e.qn = decoder.query_attn.query_input(e.q);
  e.q_proj = decoder.query_attn.attn.project_q(e.qn);
  return e;
}

void ReTreeverModel::trace_encoding(RetreeverTrace& trace, const Encoded& e, const TcaTree& tree, const Descent& d) {
  trace.order = e.order;
  trace.context_embeddings = e.ctx;
  trace.query_embeddings = e.q;
  trace.encoder_layers = e.layers;
  trace.encoder_output = e.E;
  trace.query_normed = e.qn;
  trace.tree = tree;
  trace.descent = d;
}

// Tokens attended per query (conventions.md): the nominal |S| = k(b-1) + P, the entries of S with
// mask 1, and the b k nodes scored, for a descent whose slot masks are set_mask [B*M, L].
static void count_tokens(Predictions& p, const TreeShape& s, const Tensor& set_mask, int64_t B, int64_t M) {
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

// q_proj [B, M, D] -> [B*M, D]: one row per query.
static Var query_rows(const Var& q_proj) {
  return ops::reshape(q_proj, {q_proj.dim(0) * q_proj.dim(1), q_proj.dim(2)});
}

LossOutput ReTreeverModel::train_forward(const Batch& batch, Rng& rng, const Tensor& forced, RetreeverTrace* trace) {
  Encoded e = encode(batch, rng, true);
  const int64_t B = batch.batch_size(), M = batch.num_targets(), D = cfg_.d_model;
  TcaTree tree = decoder.build_tree(e.E, rng, true, trace != nullptr);
  // L_CA: query_model over all (padded, masked) leaf tokens; not detached, so it trains the encoder.
  Var leaf_weights;
  Var leaf_attn = decoder.attend_leaves(tree, e.q_proj, trace ? &leaf_weights : nullptr);
  Var leaf_encoding = decoder.finish(e.q, e.qn, leaf_attn, rng, true);
  TaskOutput leaf = predictor.task(leaf_encoding, e.batch);
  LossOutput out;
  if (tree.shape.k == 0) {
    // tca.md 4.1: with k = 0 the model answers with its L_CA branch; L_TCA = L_CA, L_RL = 0.
    Var total = ops::add(leaf.loss, ops::mul_scalar(leaf.loss, cfg_.ca_loss_weight));
    out.total = total;
    out.terms = {{"loss", total.item()}, {"tca_loss", leaf.loss.item()}, {"ca_loss", leaf.loss.item()},
                 {"rl_loss", 0.0}, {"rl_reinforce", 0.0}, {"entropy", 0.0},
                 {predictor.metric_name(), leaf.metric}, {std::string("ca_") + predictor.metric_name(), leaf.metric}};
    if (trace) {
      trace->tree = tree;
      trace->leaf = trace->tca = leaf;
      trace->leaf_encoding = leaf_encoding;
      trace->total = total;
    }
    return out;
  }
  Var qh = query_rows(e.q_proj);
  Tensor forced_flat = forced.defined() ? forced.reshape({B * M, tree.shape.k}) : Tensor();
  Descent d = decoder.descend(tree, qh, M, forced.defined() ? DescentMode::forced : DescentMode::sample, rng, forced_flat);
  Var set_weights;
  Var set_attn = ops::reshape(decoder.attend_set(tree, d, qh, trace ? &set_weights : nullptr), {B, M, D});
  Var encoding = decoder.finish(e.q, e.qn, set_attn, rng, true);
  TaskOutput tca = predictor.task(encoding, e.batch);
  // L_RL = -mean_q[(sum_levels log pi) (R - baseline)] - entropy_bonus H_mean; R detached (4.4).
  Tensor advantage = Tensor::empty({B * M});
  for (int64_t q = 0; q < B * M; ++q) advantage[q] = tca.reward[q] - tca.baseline;
  Var reinforce = ops::neg(ops::mean_all(ops::mul(d.log_prob, Var(advantage))));
  Var rl = ops::sub(reinforce, ops::mul_scalar(d.entropy, cfg_.entropy_bonus));
  Var total = ops::add(ops::add(tca.loss, ops::mul_scalar(leaf.loss, cfg_.ca_loss_weight)),
                       ops::mul_scalar(rl, cfg_.rl_loss_weight));
  out.total = total;
  out.terms = {{"loss", total.item()},
               {"tca_loss", tca.loss.item()},
               {"ca_loss", leaf.loss.item()},
               {"rl_loss", rl.item()},
               {"rl_reinforce", reinforce.item()},
               {"entropy", d.entropy.item()},
               {predictor.metric_name(), tca.metric},
               {std::string("ca_") + predictor.metric_name(), leaf.metric}};
  if (trace) {
    trace_encoding(*trace, e, tree, d);
    trace->set_weights = set_weights;
    trace->pred_emb = decoder.query_attn.residual(e.q, e.qn, set_attn);
    trace->encoding = encoding;
    trace->leaf_pred_emb = decoder.query_attn.residual(e.q, e.qn, leaf_attn);
    trace->leaf_encoding = leaf_encoding;
    trace->leaf_weights = leaf_weights;
    trace->tca = tca;
    trace->leaf = leaf;
    trace->rl_reinforce = reinforce;
    trace->rl_loss = rl;
    trace->total = total;
  }
  return out;
}

LossOutput ReTreeverModel::loss(const Batch& batch, Rng& rng) { return train_forward(batch, rng); }

Predictions ReTreeverModel::infer(const Batch& batch, bool full, RetreeverTrace* trace) {
  NoGradGuard no_grad;
  Rng unused(0);
  Encoded e = encode(batch, unused, false);
  const int64_t B = batch.batch_size(), M = batch.num_targets(), D = cfg_.d_model;
  // Build once per context set, then answer all queries (tca.md 4.5). The root is never used.
  TcaTree tree = decoder.build_tree(e.E, unused, false, trace != nullptr);
  Predictions p;
  const TreeShape& s = tree.shape;
  Var attn;
  Descent d;
  if (full || s.k == 0) {
    attn = decoder.attend_leaves(tree, e.q_proj);
    const float n = static_cast<float>(batch.num_context());
    p.tokens_attended = Tensor::full({B, M}, n);
    p.tokens_unmasked = Tensor::full({B, M}, n);
  } else {
    Var qh = query_rows(e.q_proj);
    d = decoder.descend(tree, qh, M, DescentMode::greedy, unused);
    attn = ops::reshape(decoder.attend_set(tree, d, qh), {B, M, D});
    count_tokens(p, s, d.set_mask, B, M);
  }
  Var encoding = decoder.finish(e.q, e.qn, attn, unused, false);
  TaskOutput t = predictor.task(encoding, e.batch);
  fill_task(p, t);
  if (trace) {
    trace_encoding(*trace, e, tree, d);
    trace->pred_emb = decoder.query_attn.residual(e.q, e.qn, attn);
    trace->encoding = encoding;
    trace->tca = t;
  }
  return p;
}

TcaIndex ReTreeverModel::build_index(const Batch& context, bool with_root) {
  NoGradGuard no_grad;
  Rng unused(0);
  Batch ordered = cfg_.heuristic == "none" ? context : apply_context_order(context, context_order(context.xc, cfg_.heuristic));
  return index_from_encoded(encoder(context_embedder(context_tokens(ordered), unused, false), Tensor(), unused, false), with_root);
}

TcaIndex ReTreeverModel::index_from_encoded(const Var& encoded, bool with_root) const {
  return decoder.build_index(encoded.value(), with_root);
}

TcaIndex ReTreeverModel::index_from_memory(const TreeShape& shape, const Tensor& memory, const Tensor& memory_mask) {
  NoGradGuard no_grad;
  const int64_t B = memory.dim(0), Ntot = shape.memory_size(), D = cfg_.d_model;
  if (memory.rank() != 3 || memory.dim(1) != Ntot || memory.dim(2) != D || memory_mask.numel() != B * Ntot)
    throw ShapeError("index_from_memory: memory " + to_string(memory.shape()) + " does not fit a tree of " +
                     std::to_string(Ntot) + " rows of width " + std::to_string(D));
  TcaIndex index;
  index.shape = shape;
  index.batch = B;
  index.dim = D;
  index.memory = memory;
  index.memory_mask = memory_mask.reshape({B, Ntot});
  Var flat(memory.reshape({B * Ntot, D}));
  index.keys = decoder.query_attn.attn.project_k(flat).value();
  index.values = decoder.query_attn.attn.project_v(flat).value();
  return index;
}

Predictions ReTreeverModel::answer(const TcaIndex& index, const Batch& queries) {
  NoGradGuard no_grad;
  Rng unused(0);
  const int64_t B = queries.batch_size(), M = queries.num_targets(), D = cfg_.d_model;
  if (B != index.batch) throw ShapeError("answer: " + std::to_string(B) + " query sets for an index of " + std::to_string(index.batch));
  const TreeShape& s = index.shape;
  Var q = query_embedder(Var(queries.xt), unused, false);
  Var qn = decoder.query_attn.query_input(q);
  Var q_proj = decoder.query_attn.attn.project_q(qn);
  Predictions p;
  Var attn;
  if (s.k == 0) {
    // tca.md 4.1: with k = 0 the model answers from all N tokens (its L_CA branch).
    const auto& a = decoder.query_attn.attn;
    Var keys(index.keys.reshape({B, s.padded, D})), values(index.values.reshape({B, s.padded, D}));
    Var w = a.attention_weights(a.split_heads(q_proj), a.split_heads(keys), index.memory_mask.reshape({B, 1, 1, s.padded}));
    attn = a.output(a.merge_heads(ops::matmul(w, a.split_heads(values))));
    p.tokens_attended = Tensor::full({B, M}, static_cast<float>(s.n));
    p.tokens_unmasked = Tensor::full({B, M}, static_cast<float>(s.n));
  } else {
    Retrieval r = greedy_retrieve(index, q_proj.value().reshape({B * M, D}), cfg_.heads, M);
    attn = decoder.query_attn.attn.output(Var(r.attended.reshape({B, M, D})));
    count_tokens(p, s, r.set_mask, B, M);
  }
  Var encoding = decoder.finish(q, qn, attn, unused, false);
  fill_task(p, predictor.task(encoding, queries));
  return p;
}

Predictions ReTreeverModel::predict(const Batch& batch) { return answer(build_index(batch), batch); }

}  // namespace tca
