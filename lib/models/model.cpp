#include "models/model.hpp"

#include "core/error.hpp"
#include "models/cross_attention_model.hpp"
#include "models/perceiver_io_model.hpp"
#include "models/retreever_model.hpp"

namespace tca {

Model::Model(const ModelConfig& cfg, Rng& init_rng)
    : context_embedder(cfg.context_in(), cfg, init_rng),
      query_embedder(cfg.dim_x, cfg, init_rng),
      predictor(cfg, init_rng),
      cfg_(cfg) {
  register_module("context_embedder", context_embedder);
  register_module("query_embedder", query_embedder);
  register_module("predictor", predictor);
}

Var Model::context_tokens(const Batch& batch) const {
  if (batch.xc.dim(2) != cfg_.dim_x)
    throw InputError("batch context inputs have dim_x = " + std::to_string(batch.xc.dim(2)) +
                     ", the model expects " + std::to_string(cfg_.dim_x));
  if (!cfg_.is_metalearning) return Var(batch.xc);
  return ops::concat({Var(batch.xc), Var(batch.yc)}, -1);
}

void Model::fill_task(Predictions& p, const TaskOutput& t) {
  p.logits = t.logits;
  p.mean = t.mean;
  p.std = t.std;
  p.loss = t.loss.item();
  p.metric = t.metric;
}

std::unique_ptr<Model> make_model(const ModelConfig& cfg, Rng& init_rng) {
  cfg.validate();
  if (cfg.model == ModelKind::ca) return std::make_unique<CrossAttentionModel>(cfg, init_rng);
  if (cfg.model == ModelKind::perceiver) return std::make_unique<PerceiverIoModel>(cfg, init_rng);
  return std::make_unique<ReTreeverModel>(cfg, init_rng);
}

}  // namespace tca
