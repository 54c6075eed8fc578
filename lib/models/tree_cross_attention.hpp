// Tree Cross Attention (tca.md 4; reference README 4.3-4.4): the tree of node embeddings built
// bottom-up by a learned aggregator, the policy-guided descent that collects the retrieved set S,
// and the attention over S (or over all leaves for the L_CA branch).
//
// Implementation note: one attention module (query_attn) scores children, attends over S and over
// the leaves. Its key/value projections are linear per row, so we project every node and leaf
// token once per tree ("memory" keys/values) and gather the projected rows per query, which is
// the same arithmetic as projecting the gathered embeddings (and what makes inference O(log N)).
#pragma once
#include <vector>

#include "models/model_config.hpp"
#include "models/tca_index.hpp"
#include "models/tree_shape.hpp"
#include "nn/encoder_layer.hpp"

namespace tca {

struct TcaTree {
  TreeShape shape;
  int64_t batch = 0;
  Var leaves;          // [B, Np, D] encoder outputs then padding
  Tensor leaves_mask;  // [B, Np] 1 real, 0 padding
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

// The tree search for Q = B*M queries (query q belongs to task q / M).
struct Descent {
  Tensor actions;     // i32 [Q, k] child position picked at each decision
  Tensor set_rows;    // i32 [Q, L] rows of the memory in S (L = k b + P slots, reference order)
  Tensor set_mask;    // f32 [Q, L] (node slots: 1 except the picked child; token slots: token mask)
  Var log_prob;       // [Q] sum over the k decisions of log pi(picked child)
  Var entropy;        // scalar: mean over queries, heads, levels of each head's entropy
  std::vector<Var> policy;           // per decision: pi [Q, b] (head-averaged)
  std::vector<Var> policy_per_head;  // per decision: [Q, H, b] (each head's weights)
};

class TreeCrossAttention : public nn::Module {
 public:
  TreeCrossAttention(const ModelConfig& cfg, Rng& rng);

  // Node embeddings over encoded context [B, N, D] (tca.md 4.2), and the memory projections.
  TcaTree build_tree(const Var& encoded, Rng& rng, bool training, bool with_root) const;

  // The inference index over encoded context [B, N, D] (tca.md 4.5): build_tree's arithmetic with
  // gradients off, written straight into the index's buffers level by level, a chunk of about
  // `chunk_rows` children at a time. No activation larger than a chunk is ever allocated: build_tree
  // on 2^20 tokens materialises every level's layer activations (GBs of fresh pages, most of its
  // time in page faults), this stays in cache. The root (level 0) only when `with_root` and k > 0.
  TcaIndex build_index(const Tensor& encoded, bool with_root, int64_t chunk_rows = kIndexBuildChunkRows) const;

  // The descent of the queries whose projected queries are q_rows [Q, D] (query q belongs to context
  // set q / queries_per_task; tca.md 4.3). `forced` (i32 [Q, k]) gives the picks in
  // DescentMode::forced.
  Descent descend(const TcaTree& tree, const Var& q_rows, int64_t queries_per_task, DescentMode mode,
                  Rng& rng, const Tensor& forced = Tensor()) const;

  // Attention of the projected queries q_rows [Q, D] over their S, output-projected: [Q, D];
  // `weights` receives the per-head weights [Q, H, L].
  Var attend_set(const TcaTree& tree, const Descent& d, const Var& q_rows, Var* weights = nullptr) const;
  // Attention of the queries [B, M, D] (projected) over all leaf tokens (the L_CA branch): [B, M, D].
  Var attend_leaves(const TcaTree& tree, const Var& q_proj, Var* weights = nullptr) const;
  // From the attention output to the decoder output: u = q + LN_a(q) + attn (pre-norm; the
  // query enters twice), encoding = query_ff(u) (tca.md 4.3).
  Var finish(const Var& q, const Var& q_normed, const Var& attn_out, Rng& rng, bool training) const;

  nn::Encoder aggregator;
  nn::AttentionBlock query_attn;
  nn::FeedForwardBlock query_ff;

 private:
  // One aggregation level: children [G, c, D] with masks [G, c] -> nodes [G, D].
  Var aggregate(const Var& children, const Tensor& mask, Rng& rng, bool training) const;
  ModelConfig cfg_;
};

}  // namespace tca
