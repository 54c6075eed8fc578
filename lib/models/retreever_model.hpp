// ReTreever (tca.md 5): embedder -> Transformer encoder -> Tree Cross Attention decoder ->
// predictor, trained with loss = L_TCA + w_CA L_CA + w_RL L_RL (tca.md 4.4).
#pragma once
#include <vector>

#include "models/model.hpp"
#include "models/tca_index.hpp"
#include "models/tree_cross_attention.hpp"

namespace tca {

// Every intermediate of one forward, for the reference checks and debugging.
struct RetreeverTrace {
  Tensor order;  // i32 [B, N] context order applied
  Var context_embeddings, query_embeddings, encoder_output, query_normed;
  std::vector<Var> encoder_layers;
  TcaTree tree;
  Descent descent;
  Var set_weights;                   // [Q, H, 1, L]
  Var pred_emb, encoding;            // TCA branch [B, M, D] (pred_emb = attention block output)
  Var leaf_pred_emb, leaf_encoding;  // L_CA branch
  Var leaf_weights;                  // [B, H, M, Np]
  TaskOutput tca, leaf;
  Var rl_reinforce, rl_loss, total;
};

class ReTreeverModel : public Model {
 public:
  ReTreeverModel(const ModelConfig& cfg, Rng& init_rng);
  LossOutput loss(const Batch& batch, Rng& rng) override;
  Predictions predict(const Batch& batch) override;

  // The training forward (all loss terms) with the path sampled, or taken from `forced`
  // (i32 [B, M, k]) when given; fills `trace` when given.
  LossOutput train_forward(const Batch& batch, Rng& rng, const Tensor& forced = Tensor(),
                           RetreeverTrace* trace = nullptr);
  // The inference forward on the greedy path (or answering from all leaves with `full`,
  // tca.md 4.3 "ReTreever-Full"); fills `trace` when given.
  Predictions infer(const Batch& batch, bool full = false, RetreeverTrace* trace = nullptr);

  // Inference in two steps (tca.md 4.5). The index of a batch's context sets (xc, yc; ordered,
  // embedded, encoded, aggregated, projected), built once; with_root also keeps the root.
  TcaIndex build_index(const Batch& context, bool with_root = false);
  // The same from already encoded (and ordered) context tokens E [B, N, D].
  TcaIndex index_from_encoded(const Var& encoded, bool with_root = false) const;
  // An index from stored node embeddings (`tca build-tree --checkpoint`): memory [B, Ntot, D]
  // and its mask; the key/value projections are recomputed with this model's weights.
  TcaIndex index_from_memory(const TreeShape& shape, const Tensor& memory, const Tensor& memory_mask);
  // Answers the batch's queries (xt; and yt/labels for the loss and metric) about an index of
  // its context sets, descending greedily.
  Predictions answer(const TcaIndex& index, const Batch& queries);

  nn::Encoder encoder;
  TreeCrossAttention decoder;

 private:
  struct Encoded {
    Batch batch;  // context reordered
    Var ctx, q, E, qn, q_proj;
    std::vector<Var> layers;
    Tensor order;
  };
  Encoded encode(const Batch& batch, Rng& rng, bool training) const;
  // The trace fields both forwards share.
  static void trace_encoding(RetreeverTrace& trace, const Encoded& e, const TcaTree& tree, const Descent& d);
};

}  // namespace tca
