// Multi-head attention over a few keys as one op (forward and backward): the TCA aggregator's
// self-attention over b children or P leaf tokens (tca.md 4.2), and the GP encoders' and decoders'
// attention over ~25 context points. Through the general path each such attention is three
// head-split permutes, two batched matmuls of tiny [M x 16] blocks, a masked softmax, dropout and a
// merge permute, forward and again backward; on small models that is mostly per-op cost (issue 12).
// Here one pass reads q, k and v in place (heads are column blocks of a row) and writes the
// head-merged result, ready for the output projection.
#pragma once
#include <cstdint>

#include "autograd/variable.hpp"
#include "core/rng.hpp"

namespace tca::ops {

// The most keys the op takes; beyond, the matmul path is the faster one.
constexpr int64_t kShortAttentionMaxKeys = 8;

// Whether short_attention takes these keys and this mask: keys <= kShortAttentionMaxKeys and the
// mask undefined or [B, 1, M, N] (the same for every head).
bool short_attention_applies(int64_t batch, int64_t queries, int64_t keys, const Tensor& mask);

// q [B, M, D], kv [B, N, 2D] (each row: the key, then the value; MultiHeadAttention::project_kv),
// D = heads * dh:
//   w[b, h, m, :] = softmax_j(scale <q[b, m, h], k[b, j, h]>)   (mask 0: the most negative float,
//                   as ops::softmax; a fully masked row is uniform, tca.md 1)
//   out[b, m, h dh + x] = sum_j dropout(w)[b, h, m, j] v[b, j, h dh + x]          -> [B, M, D]
// Dropout (p, training) draws its keep-mask through ops::dropout over [B, H, M, N], the general
// path's order. Backward into q and kv.
Var short_attention(const Var& q, const Var& kv, const Tensor& mask, int64_t heads, float scale, float dropout,
                    Rng& rng, bool training);

}  // namespace tca::ops
