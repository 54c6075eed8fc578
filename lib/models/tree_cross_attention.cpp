#include "models/tree_cross_attention.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "autograd/ops.hpp"
#include "core/error.hpp"

namespace tca {

TreeCrossAttention::TreeCrossAttention(const ModelConfig& cfg, Rng& rng)
    : aggregator({cfg.d_model, cfg.heads, cfg.dim_feedforward, cfg.dropout, cfg.norm_first},
                 cfg.aggregation_layers, rng),
      // The query_model has attention dropout 0 (tca.md 1, reference README 9.12).
      query_attn(cfg.d_model, cfg.heads, 0.0f, cfg.norm_first, rng),
      query_ff(cfg.d_model, cfg.dim_feedforward, cfg.dropout, cfg.norm_first, rng),
      cfg_(cfg) {
  register_module("aggregator", aggregator);
  register_module("query_attn", query_attn);
  register_module("query_ff", query_ff);
}

TreeCrossAttention::Level TreeCrossAttention::aggregate(const Var& children, const Tensor& mask,
                                                        const nn::ForwardContext& ctx) const {
  // tca.md 4.2: encoder layer(s) over the children with key mask m_i m_j, then the masked mean;
  // a node is real if any child is.
  const int64_t G = children.dim(0), c = children.dim(1);
  Tensor pair_mask = Tensor::empty({G, 1, c, c});
  for (int64_t g = 0; g < G; ++g)
    for (int64_t i = 0; i < c; ++i)
      for (int64_t j = 0; j < c; ++j)
        pair_mask[(g * c + i) * c + j] = mask[g * c + i] * mask[g * c + j];
  // bptt = false: the aggregator's input is a constant for gradients (tca.md 4.2).
  Var x = cfg_.bptt ? children : children.detach();
  Level level;
  level.nodes = ops::masked_mean(aggregator(x, pair_mask, ctx), mask);
  level.node_mask = Tensor::empty({G});
  for (int64_t g = 0; g < G; ++g) {
    float any = 0;
    for (int64_t i = 0; i < c; ++i) any = std::max(any, mask[g * c + i] != 0.0f ? 1.0f : 0.0f);
    level.node_mask[g] = any;
  }
  return level;
}

// Padding of one context set's N tokens [N, D] up to `count` more rows: like the reference, copies
// of the first tokens + 1e-5 (never reaching an output: masked everywhere).
static void write_padding(const float* tokens, int64_t N, int64_t count, int64_t D, float* dst) {
  for (int64_t j = 0; j < count; ++j)
    for (int64_t d = 0; d < D; ++d) dst[j * D + d] = tokens[(j % N) * D + d] + 1e-5f;
}

TcaTree TreeCrossAttention::build_tree(const Var& encoded, const nn::ForwardContext& ctx,
                                       bool with_root) const {
  const int64_t B = encoded.dim(0), N = encoded.dim(1), D = encoded.dim(2);
  TcaTree t;
  t.shape = TreeShape(N, cfg_.branch_factor);
  t.batch = B;
  const TreeShape& s = t.shape;
  const int64_t Np = s.padded, b = s.b, k = s.k, P = s.leaf_size;
  // Pad to P b^k tokens. Padding never reaches an output (masked everywhere); like the reference
  // we fill it with copies of the first tokens + 1e-5, as constants.
  t.leaves = encoded;
  t.leaves_mask = Tensor::empty({B, Np});
  for (int64_t bi = 0; bi < B; ++bi)
    for (int64_t i = 0; i < Np; ++i) t.leaves_mask[bi * Np + i] = i < N ? 1.0f : 0.0f;
  if (Np > N) {
    Tensor pad = Tensor::empty({B, Np - N, D});
    const float* e = encoded.value().data();
    for (int64_t bi = 0; bi < B; ++bi)
      write_padding(e + bi * N * D, N, Np - N, D, pad.data() + bi * (Np - N) * D);
    t.leaves = ops::concat({encoded, Var(pad)}, 1);
  }
  t.levels.assign(static_cast<size_t>(k + 1), Var());
  t.level_masks.assign(static_cast<size_t>(k + 1), Tensor());
  // Bottom-up: leaf nodes from their P tokens, then each level from its b children.
  for (int64_t l = k; l >= (with_root ? 0 : 1); --l) {
    const int64_t nodes = s.nodes_at(l), c = l == k ? P : b;
    Var children = l == k ? t.leaves : t.levels[static_cast<size_t>(l + 1)];
    const Tensor& child_mask = l == k ? t.leaves_mask : t.level_masks[static_cast<size_t>(l + 1)];
    Tensor m = child_mask.reshape({B * nodes, c});
    const Level level = aggregate(ops::reshape(children, {B * nodes, c, D}), m, ctx);
    t.levels[static_cast<size_t>(l)] = ops::reshape(level.nodes, {B, nodes, D});
    t.level_masks[static_cast<size_t>(l)] = level.node_mask.reshape({B, nodes});
  }
  // Memory = levels 1..k then the leaf tokens; project keys and values once.
  std::vector<Var> parts;
  for (int64_t l = 1; l <= k; ++l) parts.push_back(t.levels[static_cast<size_t>(l)]);
  parts.push_back(t.leaves);
  t.memory = parts.size() == 1 ? parts[0] : ops::concat(parts, 1);
  const int64_t Ntot = s.memory_size();
  Var flat = ops::reshape(t.memory, {B * Ntot, D});
  t.keys = query_attn.attn.project_k(flat);
  t.values = query_attn.attn.project_v(flat);
  t.memory_mask = Tensor::empty({B * Ntot});
  for (int64_t bi = 0; bi < B; ++bi) {
    int64_t off = bi * Ntot;
    for (int64_t l = 1; l <= k; ++l) {
      const Tensor& m = t.level_masks[static_cast<size_t>(l)];
      const int64_t nodes = s.nodes_at(l);
      for (int64_t i = 0; i < nodes; ++i) t.memory_mask[off++] = m[bi * nodes + i];
    }
    for (int64_t i = 0; i < Np; ++i) t.memory_mask[off++] = t.leaves_mask[bi * Np + i];
  }
  return t;
}

TcaIndex TreeCrossAttention::build_index(const Tensor& encoded, bool with_root,
                                         int64_t chunk_rows) const {
  if (encoded.rank() != 3 || encoded.dim(2) != cfg_.d_model)
    throw ShapeError("build_index: encoded context must be [B, N, " + std::to_string(cfg_.d_model) +
                     "], found " + to_string(encoded.shape()));
  NoGradGuard no_grad;
  const int64_t B = encoded.dim(0), N = encoded.dim(1), D = encoded.dim(2);
  TcaIndex index;
  index.shape = TreeShape(N, cfg_.branch_factor);
  index.batch = B;
  index.dim = D;
  const TreeShape& s = index.shape;
  const int64_t Ntot = s.memory_size(), Np = s.padded, k = s.k, P = s.leaf_size;
  // The index is written by serial copies; its pages are faulted in by all threads first.
  index.memory = Tensor::empty_prefaulted({B, Ntot, D});
  index.memory_mask = Tensor::empty({B, Ntot});
  float* mem = index.memory.data();
  float* mem_mask = index.memory_mask.data();
  const Tensor rows = index.memory.reshape({B * Ntot, D});
  auto row = [&](int64_t bi, int64_t r) { return mem + (bi * Ntot + r) * D; };

  // The leaf tokens, then the padding (as build_tree).
  const int64_t leaf_off = s.memory_offset(k + 1);
  const float* e = encoded.data();
  for (int64_t bi = 0; bi < B; ++bi) {
    std::memcpy(row(bi, leaf_off), e + bi * N * D, static_cast<size_t>(N * D) * sizeof(float));
    write_padding(e + bi * N * D, N, Np - N, D, row(bi, leaf_off + N));
    for (int64_t i = 0; i < Np; ++i) mem_mask[bi * Ntot + leaf_off + i] = i < N ? 1.0f : 0.0f;
  }

  // Bottom-up (tca.md 4.2): level l's node g aggregates rows g c .. g c + c - 1 of level l + 1.
  // Groups of one context set are adjacent rows, so a chunk inside one set is a view; a chunk that
  // spans sets (small trees, many sets) is gathered.
  if (with_root && k > 0) index.root = Tensor::empty({B, D});
  const int64_t lowest = with_root && k > 0 ? 0 : 1;
  for (int64_t l = k; l >= lowest; --l) {
    const int64_t c = l == k ? P : s.b, nodes = s.nodes_at(l);
    const int64_t child_off = l == k ? leaf_off : s.memory_offset(l + 1);
    const int64_t per_chunk = std::max<int64_t>(1, chunk_rows / c);
    const int64_t node_off = l > 0 ? s.memory_offset(l) : 0;
    auto node_row = [&](int64_t bi, int64_t g) {
      return l == 0 ? index.root.data() + bi * D : row(bi, node_off + g);
    };
    for (int64_t g0 = 0; g0 < B * nodes; g0 += per_chunk) {
      const int64_t G = std::min(per_chunk, B * nodes - g0);
      const bool one_set = g0 / nodes == (g0 + G - 1) / nodes;
      Tensor children, mask = Tensor::empty({G, c});
      if (one_set) {
        const int64_t bi = g0 / nodes, first = bi * Ntot + child_off + (g0 % nodes) * c;
        children = rows.narrow0(first, G * c).reshape({G, c, D});
      } else {
        children = Tensor::empty({G, c, D});
        for (int64_t g = 0; g < G; ++g) {
          const int64_t bi = (g0 + g) / nodes, node = (g0 + g) % nodes;
          std::memcpy(children.data() + g * c * D, row(bi, child_off + node * c),
                      static_cast<size_t>(c * D) * sizeof(float));
        }
      }
      for (int64_t g = 0; g < G; ++g) {
        const int64_t bi = (g0 + g) / nodes, node = (g0 + g) % nodes;
        for (int64_t i = 0; i < c; ++i)
          mask[g * c + i] = mem_mask[bi * Ntot + child_off + node * c + i];
      }
      const Level level = aggregate(Var(children), mask, nn::ForwardContext::inference());
      const Tensor& out = level.nodes.value();
      const Tensor& any = level.node_mask;
      for (int64_t g = 0; g < G; ++g) {
        const int64_t bi = (g0 + g) / nodes, node = (g0 + g) % nodes;
        std::memcpy(node_row(bi, node), out.data() + g * D, static_cast<size_t>(D) * sizeof(float));
        if (l > 0) mem_mask[bi * Ntot + node_off + node] = any[g];
      }
    }
  }

  // query_attn's key/value projections of every memory row, once (tca.md 4.5), chunk by chunk.
  index.keys = Tensor::empty_prefaulted({B * Ntot, D});
  index.values = Tensor::empty_prefaulted({B * Ntot, D});
  for (int64_t r0 = 0; r0 < B * Ntot; r0 += chunk_rows) {
    const int64_t n = std::min(chunk_rows, B * Ntot - r0);
    const Tensor kv =
        query_attn.attn.project_kv(Var(rows.narrow0(r0, n))).value();  // [n, 2D]: k | v
    float* keys = index.keys.data() + r0 * D;
    float* values = index.values.data() + r0 * D;
    for (int64_t i = 0; i < n; ++i) {
      std::memcpy(keys + i * D, kv.data() + i * 2 * D, static_cast<size_t>(D) * sizeof(float));
      std::memcpy(values + i * D, kv.data() + i * 2 * D + D,
                  static_cast<size_t>(D) * sizeof(float));
    }
  }
  return index;
}

TcaIndex TreeCrossAttention::index_from_memory(const TreeShape& shape, const Tensor& memory,
                                               const Tensor& memory_mask) const {
  NoGradGuard no_grad;
  const int64_t B = memory.dim(0), Ntot = shape.memory_size(), D = cfg_.d_model;
  if (memory.rank() != 3 || memory.dim(1) != Ntot || memory.dim(2) != D ||
      memory_mask.numel() != B * Ntot)
    throw ShapeError("index_from_memory: memory " + to_string(memory.shape()) +
                     " does not fit a tree of " + std::to_string(Ntot) + " rows of width " +
                     std::to_string(D));
  TcaIndex index;
  index.shape = shape;
  index.batch = B;
  index.dim = D;
  index.memory = memory;
  index.memory_mask = memory_mask.reshape({B, Ntot});
  Var flat(memory.reshape({B * Ntot, D}));
  index.keys = query_attn.attn.project_k(flat).value();
  index.values = query_attn.attn.project_v(flat).value();
  return index;
}

Descent TreeCrossAttention::descend(const TcaTree& tree, const Var& q_rows,
                                    int64_t queries_per_task, const TcaPath& path,
                                    const nn::ForwardContext& ctx) const {
  const TreeShape& s = tree.shape;
  const int64_t Q = q_rows.dim(0), H = query_attn.attn.heads(), b = s.b, k = s.k, P = s.leaf_size;
  const int64_t Ntot = s.memory_size(), L = s.set_slots();
  const float scale = query_attn.attn.logit_scale();
  const DescentMode mode = path.mode;
  if (mode == DescentMode::forced && (!path.forced.defined() || path.forced.numel() != Q * k))
    throw ShapeError("descend: forced actions must be [" + std::to_string(Q) + ", " +
                     std::to_string(k) + "]");
  const Tensor forced = mode == DescentMode::forced ? path.forced.reshape({Q, k}) : Tensor();
  Descent d;
  d.actions = Tensor::empty({Q, k}, DType::i32);
  d.set_rows = Tensor::empty({Q, L}, DType::i32);
  d.set_mask = Tensor::empty({Q, L});
  std::vector<int64_t> parent(static_cast<size_t>(Q), 0);
  Var entropy_sum;
  for (int64_t i = 0; i < k; ++i) {
    Tensor rows = Tensor::empty({Q, b}, DType::i32);
    Tensor child_mask = Tensor::empty({Q, 1, b});
    Tensor picked = Tensor::empty({Q}, DType::i32);
    for (int64_t q = 0; q < Q; ++q) {
      const int64_t base =
          (q / queries_per_task) * Ntot + s.child_row(i, parent[static_cast<size_t>(q)], 0);
      for (int64_t j = 0; j < b; ++j) {
        rows.data_i32()[q * b + j] = static_cast<int32_t>(base + j);
        child_mask[q * b + j] = tree.memory_mask[base + j];
      }
    }
    // pi(child | q) = mean over heads of softmax(q k_child / sqrt(dh)) with padding masked (4.3).
    const ops::HeadPolicy policy = ops::masked_softmax_head_mean(
        ops::gathered_dot(q_rows, tree.keys, rows, H, scale), child_mask);
    const Var& w = policy.weights;
    const Var& pi = policy.policy;
    d.policy.push_back(pi);
    d.policy_per_head.push_back(w);
    const float* pp = pi.value().data();
    for (int64_t q = 0; q < Q; ++q) {
      int64_t a = 0;
      if (mode == DescentMode::forced) {
        a = forced.data_i32()[q * k + i];
        if (a < 0 || a >= b)
          throw ShapeError("descend: forced action " + std::to_string(a) + " out of range");
      } else if (mode == DescentMode::sample) {
        a = ctx.rng().categorical(pp + q * b, b);
      } else {
        for (int64_t j = 1; j < b; ++j)  // argmax, lowest index on ties
          if (pp[q * b + j] > pp[q * b + a]) a = j;
      }
      d.actions.data_i32()[q * k + i] = static_cast<int32_t>(a);
      picked.data_i32()[q] = static_cast<int32_t>(q * b + a);
      // S gets the b children of this decision; the picked one's slot is masked. Unpicked
      // all-padding siblings stay unmasked (reference quirk kept, tca.md 4.3).
      for (int64_t j = 0; j < b; ++j) {
        d.set_rows.data_i32()[q * L + s.node_slot(i, j)] = rows.data_i32()[q * b + j];
        d.set_mask[q * L + s.node_slot(i, j)] = j == a ? 0.0f : 1.0f;
      }
      parent[static_cast<size_t>(q)] = parent[static_cast<size_t>(q)] * b + a;
    }
    // log pi(picked), natural log, no epsilon (4.4).
    Var lp = ops::reshape(ops::log(ops::gather_rows(ops::reshape(pi, {Q * b, 1}), picked)), {Q});
    d.log_prob = d.log_prob.defined() ? ops::add(d.log_prob, lp) : lp;
    // Each head's own entropy -sum_c w log(w + 1e-9) (4.4).
    Var ent = ops::sum_all(ops::mul(w, ops::log(ops::add_scalar(w, 1e-9f))));
    entropy_sum = entropy_sum.defined() ? ops::add(entropy_sum, ent) : ent;
  }
  // The picked leaf's P tokens with their real/padding masks.
  for (int64_t q = 0; q < Q; ++q) {
    const int64_t base =
        (q / queries_per_task) * Ntot + s.token_row(parent[static_cast<size_t>(q)], 0);
    for (int64_t t = 0; t < P; ++t) {
      d.set_rows.data_i32()[q * L + s.token_slot(t)] = static_cast<int32_t>(base + t);
      d.set_mask[q * L + s.token_slot(t)] = tree.memory_mask[base + t];
    }
  }
  if (k > 0) d.entropy = ops::mul_scalar(entropy_sum, -1.0f / static_cast<float>(Q * H * k));
  return d;
}

Var TreeCrossAttention::attend_set(const TcaTree& tree, const Descent& d, const Var& q_rows,
                                   Var* weights) const {
  const int64_t Q = q_rows.dim(0), L = d.set_rows.dim(1), H = query_attn.attn.heads();
  const float scale = query_attn.attn.logit_scale();
  Var w = ops::masked_softmax(ops::gathered_dot(q_rows, tree.keys, d.set_rows, H, scale),
                              d.set_mask.reshape({Q, 1, L}));
  if (weights) *weights = w;
  return query_attn.attn.output(ops::gathered_weighted_sum(w, tree.values, d.set_rows));
}

Var TreeCrossAttention::attend_leaves(const TreeShape& s, const Var& keys, const Var& values,
                                      const Tensor& leaves_mask, const Var& q_proj,
                                      Var* weights) const {
  const int64_t B = q_proj.dim(0), Ntot = s.memory_size(), Np = s.padded, D = keys.dim(1);
  const auto& attn = query_attn.attn;
  // k = 0: the memory is the leaf tokens alone, taken as they are.
  auto leaf_rows = [&](const Var& m) {
    Var all = ops::reshape(m, {B, Ntot, D});
    return Ntot == Np ? all : ops::slice(all, 1, Ntot - Np, Ntot);
  };
  const Tensor mask = leaves_mask.reshape({B, 1, 1, Np});
  if (!weights &&
      ops::flash_attention_applies(B, attn.heads(), q_proj.dim(1), Np, attn.head_dim(), mask)) {
    // The fused op never stores the [B, H, M, Np] weights (issue 23: at copy T = 1024 the general
    // path below kept two 512 MiB tensors of them per step). query_model's attention dropout is
    // 0 (tca.md 4.3), so no generator is drawn from.
    Rng no_dropout(0);
    return attn.output(
        ops::flash_attention(q_proj, ops::concat({leaf_rows(keys), leaf_rows(values)}, 2), mask,
                             attn.heads(), attn.logit_scale(), 0.0f, no_dropout, false));
  }
  Var w = attn.attention_weights(attn.split_heads(q_proj), attn.split_heads(leaf_rows(keys)), mask);
  if (weights) *weights = w;
  return attn.output(attn.merge_heads(ops::matmul(w, attn.split_heads(leaf_rows(values)))));
}

TreeCrossAttention::Finished TreeCrossAttention::finish(const Var& q, const Var& q_normed,
                                                        const Var& attn_out,
                                                        const nn::ForwardContext& ctx) const {
  Finished f;
  f.pred_emb = query_attn.residual(q, q_normed, attn_out);
  // Pre-norm TCA adds the raw query again before the FF block (reference README 4.4 step 4).
  f.encoding = query_ff(query_attn.norm_first() ? ops::add(f.pred_emb, q) : f.pred_emb, ctx);
  return f;
}

// q_proj [B, M, D] -> [B*M, D]: one row per query.
static Var query_rows(const Var& q_proj) {
  return ops::reshape(q_proj, {q_proj.dim(0) * q_proj.dim(1), q_proj.dim(2)});
}

TcaForward TreeCrossAttention::forward(const Var& encoded, const Var& queries,
                                       const nn::ForwardContext& ctx, const TcaPath& path,
                                       bool trace) const {
  const int64_t B = queries.dim(0), M = queries.dim(1), D = queries.dim(2);
  TcaForward out;
  out.query_normed = query_attn.query_input(queries);
  const Var q_proj = query_attn.attn.project_q(out.query_normed);
  out.tree = build_tree(encoded, ctx, trace);
  const TcaTree& tree = out.tree;
  // L_CA: query_model over all (padded, masked) leaf tokens; not detached, so it trains the
  // encoder (tca.md 4.4).
  Var leaf_attn = attend_leaves(tree.shape, tree.keys, tree.values, tree.leaves_mask, q_proj,
                                trace ? &out.leaf_weights : nullptr);
  Finished leaf = finish(queries, out.query_normed, leaf_attn, ctx);
  out.leaf_pred_emb = leaf.pred_emb;
  out.leaf_encoding = leaf.encoding;
  if (tree.shape.k == 0) {
    // tca.md 4.1: with k = 0 the model answers with its L_CA branch.
    out.encoding = out.leaf_encoding;
    return out;
  }
  const Var qh = query_rows(q_proj);
  out.descent = descend(tree, qh, M, path, ctx);
  Var set_attn = ops::reshape(attend_set(tree, out.descent, qh, trace ? &out.set_weights : nullptr),
                              {B, M, D});
  Finished set = finish(queries, out.query_normed, set_attn, ctx);
  out.pred_emb = set.pred_emb;
  out.encoding = set.encoding;
  out.log_prob = out.descent.log_prob;
  out.entropy = out.descent.entropy;
  return out;
}

Tensor TreeCrossAttention::project_queries(const Var& queries) const {
  NoGradGuard no_grad;
  return query_rows(query_attn.attn.project_q(query_attn.query_input(queries))).value();
}

Retrieval TreeCrossAttention::retrieve(const TcaIndex& index, const Tensor& q_rows,
                                       int64_t queries_per_task, bool trace) const {
  return greedy_retrieve(index, q_rows, query_attn.attn.heads(), query_attn.attn.logit_scale(),
                         queries_per_task, trace);
}

TcaAnswer TreeCrossAttention::answer(const TcaIndex& index, const Var& queries, TcaReadout readout,
                                     bool trace) const {
  NoGradGuard no_grad;
  const int64_t B = queries.dim(0), M = queries.dim(1), D = queries.dim(2);
  if (B != index.batch)
    throw ShapeError("answer: " + std::to_string(B) + " query sets for an index of " +
                     std::to_string(index.batch));
  const TreeShape& s = index.shape;
  const auto ctx = nn::ForwardContext::inference();
  const Var qn = query_attn.query_input(queries);
  const Var q_proj = query_attn.attn.project_q(qn);
  TcaAnswer a;
  Var attn;
  if (readout == TcaReadout::full || s.k == 0) {
    // All P b^k leaf tokens of each set (ReTreever-Full; k = 0 always, tca.md 4.1).
    const int64_t Ntot = s.memory_size(), leaf_off = s.token_row(0, 0);
    Tensor leaves_mask = Tensor::empty({B, s.padded});
    for (int64_t bi = 0; bi < B; ++bi)
      for (int64_t i = 0; i < s.padded; ++i)
        leaves_mask[bi * s.padded + i] = index.memory_mask[bi * Ntot + leaf_off + i];
    attn = attend_leaves(s, Var(index.keys), Var(index.values), leaves_mask, q_proj, nullptr);
  } else {
    a.retrieval = retrieve(index, query_rows(q_proj).value(), M, trace);
    attn = query_attn.attn.output(Var(a.retrieval.attended.reshape({B, M, D})));
  }
  a.encoding = finish(queries, qn, attn, ctx).encoding;
  return a;
}

}  // namespace tca
