// ReTreever (tca.md 5): embedder -> Transformer encoder -> Tree Cross Attention decoder ->
// predictor, trained with loss = L_TCA + w_CA L_CA + w_RL L_RL (tca.md 4.4). The model composes
// its parts; the decoder's own steps (tree, descent, attention over S) are TreeCrossAttention's.
//
// Two paths, as the decoder has:
//   forward   training (and the checks): the autograd forward and every loss term, on a sampled,
//             forced or greedy path;
//   inference build the index of the context sets once (`index`), then answer any number of
//             query batches from it (`answer`); predict(batch) = answer(index(batch), batch).
#pragma once
#include <vector>

#include "models/model.hpp"
#include "models/tca_index.hpp"
#include "models/tree_cross_attention.hpp"

namespace tca {

// Every intermediate of one autograd forward, for the reference checks and debugging.
struct RetreeverTrace {
  Tensor order;  // i32 [B, N] context order applied
  Var context_embeddings, query_embeddings, encoder_output;
  std::vector<Var> encoder_layers;
  TcaForward decoder;    // the tree, the descent, the attention weights and the decoder outputs
  TaskOutput tca, leaf;  // predictor outputs of the two branches (the same when k = 0)
  Var rl_reinforce, rl_loss, total;
};

// What inference retrieved for a query batch (eval, visualisation): the greedy descent (S as rows
// of index.memory, its mask, the picks and the per-level policy); empty for ReTreever-Full and
// k = 0, where every query reads all N tokens.
struct RetreeverAnswerTrace {
  Retrieval retrieval;
};

class ReTreeverModel : public Model {
 public:
  ReTreeverModel(const ModelConfig& cfg, Rng& init_rng);
  // forward(batch, training context, sampled path).
  LossOutput loss(const Batch& batch, Rng& rng) override;
  // answer(index(batch), batch): the greedy descent.
  Predictions predict(const Batch& batch) override;

  // The autograd forward with every loss term (tca.md 4.4) on the path `path` picks; fills
  // `trace` when given (which also computes the root and keeps the attention weights).
  LossOutput forward(const Batch& batch, const nn::ForwardContext& ctx, const TcaPath& path,
                     RetreeverTrace* trace = nullptr);

  // Inference (tca.md 4.5). The index of a batch's context sets (xc, yc; ordered, embedded,
  // encoded, aggregated, projected), built once; with_root also keeps the root.
  TcaIndex index(const Batch& context, bool with_root = false) const;
  // The context sets' encoder output E [B, N, D], in the heuristic's order (no grad).
  Var encode_context(const Batch& context) const;
  // Answers the batch's queries (xt; and yt/labels for the loss and metric) about an index of
  // its context sets: the greedy descent, or all leaves with TcaReadout::full ("ReTreever-Full",
  // tca.md 4.3). `trace` receives what was retrieved.
  Predictions answer(const TcaIndex& index, const Batch& queries,
                     TcaReadout readout = TcaReadout::greedy,
                     RetreeverAnswerTrace* trace = nullptr) const;

  nn::Encoder encoder;
  TreeCrossAttention decoder;

 private:
  struct Encoded {
    Batch batch;  // context reordered
    Var ctx, q, E;
    std::vector<Var> layers;
    Tensor order;
  };
  Encoded encode(const Batch& batch, const nn::ForwardContext& ctx) const;
};

}  // namespace tca
