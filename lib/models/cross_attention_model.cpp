#include "models/cross_attention_model.hpp"

namespace tca {

static nn::TransformerConfig transformer_config(const ModelConfig& c) {
  return {c.d_model, c.heads, c.dim_feedforward, c.dropout, c.norm_first};
}

CrossAttentionModel::CrossAttentionModel(const ModelConfig& cfg, Rng& init_rng)
    : Model(cfg, init_rng),
      encoder(transformer_config(cfg), cfg.num_layers, init_rng),
      cross_attn(cfg.d_model, cfg.heads, cfg.dropout, cfg.norm_first, init_rng),
      cross_ff(cfg.d_model, cfg.dim_feedforward, cfg.dropout, cfg.norm_first, init_rng) {
  register_module("encoder", encoder);
  register_module("decoder.cross_attn", cross_attn);
  register_module("decoder.cross_ff", cross_ff);
}

TaskOutput CrossAttentionModel::forward(const Batch& batch, const nn::ForwardContext& mode,
                                        CrossAttentionTrace* trace) {
  Var ctx = context_embedder(context_tokens(batch), mode);
  Var q = query_embedder(Var(batch.xt), mode);
  std::vector<Var> layers = encoder.forward_all(ctx, Tensor(), mode);
  Var E = layers.empty() ? ctx : layers.back();
  Var q_in = cross_attn.query_input(q);
  nn::AttentionResult a = cross_attn.attn(q_in, E, Tensor(), mode, trace != nullptr);
  Var u = cross_attn.residual(q, q_in, a.out);
  Var encoding = cross_ff(u, mode);
  if (trace) *trace = {ctx, q, E, q_in, u, encoding, layers, a.weights_per_head};
  return predictor.task(encoding, batch);
}

LossOutput CrossAttentionModel::loss(const Batch& batch, Rng& rng) {
  TaskOutput t = forward(batch, nn::ForwardContext::training(rng));
  return {t.loss, {{"loss", t.loss.item()}, {predictor.metric_name(), t.metric}}};
}

Predictions CrossAttentionModel::predict(const Batch& batch) {
  NoGradGuard no_grad;
  TaskOutput t = forward(batch, nn::ForwardContext::inference());
  Predictions p;
  fill_task(p, t);
  const int64_t B = batch.batch_size(), M = batch.num_targets();
  p.tokens_attended = Tensor::full({B, M}, static_cast<float>(batch.num_context()));
  p.tokens_unmasked = p.tokens_attended;
  return p;
}

}  // namespace tca
