// Tree Cross Attention (tca.md 4; reference README 4.3-4.4): the tree of node embeddings built
// bottom-up by a learned aggregator, the policy-guided descent that collects the retrieved set S,
// and the attention over S (or over all leaves for the L_CA branch).
//
// Two calls, one per use:
//   forward  the autograd forward of training (tca.md 4.4): the tree on autograd values, the
//            descent with its path sampled, forced or greedy, the attention over S and over all
//            leaves; returns the inputs of the loss terms (and every intermediate, for checks);
//   answer   inference (tca.md 4.5) from a TcaIndex built once per context set by build_index:
//            the greedy descent over the index (tca_retrieval.hpp) or ReTreever-Full.
// Both share the aggregation step, the padding, the tree shape (slot order of S, memory offsets)
// and query_attn's logit scale.
//
// Implementation note: one attention module (query_attn) scores children, attends over S and over
// the leaves. Its key/value projections are linear per row, so we project every node and leaf
// token once per tree ("memory" keys/values) and gather the projected rows per query, which is
// the same arithmetic as projecting the gathered embeddings (and what makes inference O(log N)).
#pragma once
#include <vector>

#include "core/tree_shape.hpp"
#include "models/model_config.hpp"
#include "models/tca_index.hpp"
#include "models/tca_retrieval.hpp"
#include "nn/encoder_layer.hpp"

namespace tca {

struct TcaTree {
  TreeShape shape;
  int64_t batch = 0;
  Var leaves;                       // [B, Np, D] encoder outputs then padding
  Tensor leaves_mask;               // [B, Np] 1 real, 0 padding
  std::vector<Var> levels;          // l = 0..k: [B, b^l, D]; levels[0] (root) only when asked for
  std::vector<Tensor> level_masks;  // l = 0..k: [B, b^l]
  Var memory;          // [B, memory_size, D]: the embeddings of levels 1..k, then the leaf tokens
  Var keys, values;    // [B * memory_size, D]: query_attn's projections of `memory`
  Tensor memory_mask;  // [B * memory_size]
};

// Children per chunk of TreeCrossAttention::build_index: 4096 rows of width 64 keep a chunk's layer
// activations (the widest is [4096, 256]) within L2/L3; measured at 2^18 tokens, 2048 to 16384
// differ by about 10%.
inline constexpr int64_t kIndexBuildChunkRows = 4096;

enum class DescentMode { sample, greedy, forced };

// How the autograd forward picks its path (tca.md 4.3): sampled from pi (training), the argmax
// (greedy, lowest index on ties), or given picks i32 [B, M, k] (the reference checks replay the
// reference's sampled path).
struct TcaPath {
  DescentMode mode = DescentMode::sample;
  Tensor forced;

  static TcaPath sampled() { return {}; }
  static TcaPath greedy() { return {DescentMode::greedy, Tensor()}; }
  static TcaPath forced_picks(const Tensor& actions) { return {DescentMode::forced, actions}; }
  // The picks `actions` when defined, else sampled.
  static TcaPath given(const Tensor& actions) {
    return actions.defined() ? forced_picks(actions) : sampled();
  }
};

// The tree search for Q = B*M queries (query q belongs to task q / M).
struct Descent {
  Tensor actions;   // i32 [Q, k] child position picked at each decision
  Tensor set_rows;  // i32 [Q, L] rows of the memory in S (L = k b + P slots, reference order)
  Tensor set_mask;  // f32 [Q, L] (node slots: 1 except the picked child; token slots: token mask)
  Var log_prob;     // [Q] sum over the k decisions of log pi(picked child)
  Var entropy;      // scalar: mean over queries, heads, levels of each head's entropy
  std::vector<Var> policy;           // per decision: pi [Q, b] (head-averaged)
  std::vector<Var> policy_per_head;  // per decision: [Q, H, b] (each head's weights)
};

// What TreeCrossAttention::forward returns: the inputs of the loss terms (tca.md 4.4), then the
// intermediates the reference checks and tests read.
struct TcaForward {
  Var encoding;       // [B, M, D] decoder output from S along the path (-> L_TCA); the L_CA
                      // branch's when k = 0 (tca.md 4.1)
  Var leaf_encoding;  // [B, M, D] decoder output from all leaf tokens (-> L_CA)
  Var log_prob;       // [B*M] sum over the k decisions of log pi(picked child) (-> L_RL); k > 0
  Var entropy;        // scalar H_mean (-> L_RL's bonus); k > 0

  Var query_normed;  // query_attn's query input, LN_a(q) (pre-norm) or q
  TcaTree tree;
  Descent descent;              // k > 0
  Var pred_emb, leaf_pred_emb;  // query_attn block outputs (before + q and query_ff)
  Var set_weights;              // [Q, H, 1, L] per-head weights over S (with_weights, k > 0)
  Var leaf_weights;             // [B, H, M, Np] per-head weights over the leaves (with_weights)
};

// How inference reads the tree: the greedy descent, or all leaf tokens ("ReTreever-Full",
// tca.md 4.3; also what k = 0 always does, tca.md 4.1).
enum class TcaReadout { greedy, full };

struct TcaAnswer {
  Var encoding;         // [B, M, D] decoder output
  Retrieval retrieval;  // the greedy descent (S, picks, per-level policy when traced); empty for
                        // the full readout and for k = 0
};

class TreeCrossAttention : public nn::Module {
 public:
  TreeCrossAttention(const ModelConfig& cfg, Rng& rng);

  // The autograd forward of queries [B, M, D] (query embeddings) over encoded context [B, N, D]
  // (tca.md 4.2-4.4). Random draws in this order: aggregator dropout, the L_CA branch's query_ff
  // dropout, the path (when sampled), the L_TCA branch's query_ff dropout. `trace` also keeps the
  // root and the per-head attention weights.
  TcaForward forward(const Var& encoded, const Var& queries, const nn::ForwardContext& ctx,
                     const TcaPath& path, bool trace = false) const;

  // Node embeddings over encoded context [B, N, D] (tca.md 4.2), and the memory projections.
  TcaTree build_tree(const Var& encoded, const nn::ForwardContext& ctx, bool with_root) const;

  // The inference index over encoded context [B, N, D] (tca.md 4.5): build_tree's arithmetic with
  // gradients off, written straight into the index's buffers level by level, a chunk of about
  // `chunk_rows` children at a time. No activation larger than a chunk is ever allocated:
  // build_tree on 2^20 tokens materialises every level's layer activations (GBs of fresh pages,
  // most of its time in page faults), this stays in cache. The root (level 0) only when `with_root`
  // and k > 0.
  TcaIndex build_index(const Tensor& encoded, bool with_root = false,
                       int64_t chunk_rows = kIndexBuildChunkRows) const;
  // An index from stored node embeddings (`tca build-tree --checkpoint`): memory [B, Ntot, D] and
  // its mask; the key/value projections are recomputed with this module's weights.
  TcaIndex index_from_memory(const TreeShape& shape, const Tensor& memory,
                             const Tensor& memory_mask) const;

  // Inference: queries [B, M, D] (query embeddings) answered from `index`; `trace` also records
  // the per-level policy of the greedy descent.
  TcaAnswer answer(const TcaIndex& index, const Var& queries,
                   TcaReadout readout = TcaReadout::greedy, bool trace = false) const;
  // The steps of `answer` on their own (benchmarks, tests): query_attn's projected queries
  // [B*M, D], and the greedy descent of those rows over `index` (tca_retrieval.hpp).
  Tensor project_queries(const Var& queries) const;
  Retrieval retrieve(const TcaIndex& index, const Tensor& q_rows, int64_t queries_per_task,
                     bool trace = false) const;

  nn::Encoder aggregator;
  nn::AttentionBlock query_attn;
  nn::FeedForwardBlock query_ff;

 private:
  struct Level {
    Var nodes;         // [G, D]
    Tensor node_mask;  // [G]: 1 if any child is real
  };
  // One aggregation step (tca.md 4.2): children [G, c, D] with masks [G, c] -> their G parents.
  Level aggregate(const Var& children, const Tensor& mask, const nn::ForwardContext& ctx) const;
  // The descent of the queries whose projected queries are q_rows [Q, D] (query q belongs to
  // context set q / queries_per_task; tca.md 4.3).
  Descent descend(const TcaTree& tree, const Var& q_rows, int64_t queries_per_task,
                  const TcaPath& path, const nn::ForwardContext& ctx) const;
  // Attention of the projected queries q_rows [Q, D] over their S, output-projected: [Q, D].
  Var attend_set(const TcaTree& tree, const Descent& d, const Var& q_rows, Var* weights) const;
  // Attention of projected queries q_proj [B, M, D] over the P b^k leaf tokens of each context
  // set, given the keys/values of the whole memory [B * memory_size, D] and the leaf mask [B, Np]
  // (the L_CA branch, ReTreever-Full, k = 0): [B, M, D].
  Var attend_leaves(const TreeShape& s, const Var& keys, const Var& values,
                    const Tensor& leaves_mask, const Var& q_proj, Var* weights) const;
  // From the attention output to the decoder output: pred_emb = the query_attn block output, and
  // encoding = query_ff(pred_emb + q) (pre-norm; the query enters twice) or query_ff(pred_emb)
  // (post-norm) (tca.md 4.3).
  struct Finished {
    Var pred_emb, encoding;
  };
  Finished finish(const Var& q, const Var& q_normed, const Var& attn_out,
                  const nn::ForwardContext& ctx) const;
  ModelConfig cfg_;
};

}  // namespace tca
