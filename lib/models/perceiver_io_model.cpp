#include "models/perceiver_io_model.hpp"

namespace tca {

static Tensor latent_init(int64_t L, int64_t D, Rng& rng) {
  Tensor t = Tensor::empty({L, D});
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = static_cast<float>(rng.normal(0.0, 0.02));
  return t;
}

PerceiverIoModel::PerceiverIoModel(const ModelConfig& cfg, Rng& init_rng)
    : Model(cfg, init_rng),
      encode_attn(cfg.d_model, cfg.heads, cfg.dropout, cfg.norm_first, init_rng),
      encode_ff(cfg.d_model, cfg.dim_feedforward, cfg.dropout, cfg.norm_first, init_rng),
      latent_encoder({cfg.d_model, cfg.heads, cfg.dim_feedforward, cfg.dropout, cfg.norm_first},
                     cfg.num_latent_layers, init_rng),
      decode_attn(cfg.d_model, cfg.heads, cfg.dropout, cfg.norm_first, init_rng),
      decode_ff(cfg.d_model, cfg.dim_feedforward, cfg.dropout, cfg.norm_first, init_rng) {
  latents = register_parameter("latents", latent_init(cfg.num_latents, cfg.d_model, init_rng));
  register_module("encode_attn", encode_attn);
  register_module("encode_ff", encode_ff);
  register_module("latent_encoder", latent_encoder);
  register_module("decode_attn", decode_attn);
  register_module("decode_ff", decode_ff);
}

Var PerceiverIoModel::encode(const Batch& batch, const nn::ForwardContext& ctx) const {
  return encode_embedded(context_embedder(context_tokens(batch), ctx), ctx);
}

Var PerceiverIoModel::encode_embedded(const Var& embedded, const nn::ForwardContext& ctx) const {
  const int64_t B = embedded.dim(0);
  // Broadcast the shared latents over the batch (the add's backward sums their gradient).
  Var z = ops::add(Var(Tensor::zeros({B, cfg_.num_latents, cfg_.d_model})), latents);
  z = encode_ff(encode_attn(z, embedded, Tensor(), ctx), ctx);
  return latent_encoder(z, Tensor(), ctx);
}

TaskOutput PerceiverIoModel::decode(const Var& z, const Batch& batch,
                                    const nn::ForwardContext& ctx) const {
  Var q = query_embedder(Var(batch.xt), ctx);
  Var u = decode_attn(q, z, Tensor(), ctx);
  return predictor.task(decode_ff(u, ctx), batch);
}

LossOutput PerceiverIoModel::loss(const Batch& batch, Rng& rng) {
  const auto ctx = nn::ForwardContext::training(rng);
  TaskOutput t = decode(encode(batch, ctx), batch, ctx);
  return {t.loss, {{"loss", t.loss.item()}, {predictor.metric_name(), t.metric}}};
}

Predictions PerceiverIoModel::predict(const Batch& batch) {
  NoGradGuard no_grad;
  const auto ctx = nn::ForwardContext::inference();
  TaskOutput t = decode(encode(batch, ctx), batch, ctx);
  Predictions p;
  fill_task(p, t);
  const int64_t B = batch.batch_size(), M = batch.num_targets();
  p.tokens_attended = Tensor::full({B, M}, static_cast<float>(cfg_.num_latents));
  p.tokens_unmasked = p.tokens_attended;
  return p;
}

}  // namespace tca
