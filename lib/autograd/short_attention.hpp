// Multi-head attention over a few keys, forward only (gradients off): the TCA aggregator's
// self-attention over b children or P leaf tokens (tca.md 4.2), run on every group of a tree
// build. Through the general path each such step is three head-split permutes, two batched
// matmuls of [2 x 16] blocks, a masked softmax and a merge permute over the whole chunk; here one
// pass reads q, k and v in place (heads are column blocks of a row) and writes the head-merged
// result, ready for the output projection.
#pragma once
#include <cstdint>

#include "core/tensor.hpp"

namespace tca::ops {

// The most keys the kernel handles; beyond, the matmul path is the faster one.
constexpr int64_t kShortAttentionMaxKeys = 32;

// Whether short_attention takes these keys and this mask: keys <= kShortAttentionMaxKeys and the
// mask undefined or [B, 1, M, N] (the same for every head).
bool short_attention_applies(int64_t batch, int64_t queries, int64_t keys, const Tensor& mask);

// out[b, m, h dh + x] = sum_j softmax_j(scale <q[b, m, h], k[b, j, h]>) v[b, j, h dh + x], where
// q is [B, M, D] and k, v are [B, N, D] stored with rows `kv_stride` floats apart (k and v may be
// the two halves of one [B, N, 2D] projection); D = heads * dh. A mask entry 0 sets its logit to
// the most negative float, as ops::softmax does (a fully masked row is uniform, tca.md 1).
// Returns [B, M, D].
Tensor short_attention(const Tensor& q, const float* k, const float* v, int64_t keys, int64_t kv_stride,
                       const Tensor& mask, int64_t heads, float scale);

}  // namespace tca::ops
