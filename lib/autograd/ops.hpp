// The differentiable op set. Each op is a free function returning a Var and recording its
// backward (forward and backward side by side in one file per family, style.md).
// Shape letters: R rows, B batch, M/N/K matmul extents, D width.
#pragma once
#include <vector>

#include "autograd/variable.hpp"
#include "core/rng.hpp"

namespace dnnl {
enum class algorithm;  // dnnl.hpp; eltwise() below names one, and this header stays light
}

namespace tca::ops {

// ---- matmul.cpp ------------------------------------------------------------------------------
// Batched matmul: a [..., M, K] (trans_a: [..., K, M]), b [..., K, N] (trans_b: [..., N, K]).
// Batch extents must match, or one side's batch may be absent / all ones (broadcast). The product
// is multiplied by alpha inside the primitive (an output scale), which saves the separate pass
// over the result, and its backward, that mul_scalar would cost (attention logits).
Var matmul(const Var& a, const Var& b, bool trans_a = false, bool trans_b = false,
           float alpha = 1.0f);
// PyTorch-layout linear: x [..., in], weight [out, in], bias [out] (may be undefined): x W^T + b.
Var linear(const Var& x, const Var& weight, const Var& bias = Var());
// act(linear(x, weight, bias)) with the activation fused into the matmul (an eltwise post-op:
// no separate pass over the output forward; the backward takes f' from the output). elu has
// alpha 1.
enum class LinearActivation { none, relu, elu };
Var linear_act(const Var& x, const Var& weight, const Var& bias, LinearActivation act);

// ---- binary.cpp (elementwise, NumPy broadcasting) --------------------------------------------
Var add(const Var& a, const Var& b);
Var sub(const Var& a, const Var& b);
Var mul(const Var& a, const Var& b);
Var div(const Var& a, const Var& b);
Var add_scalar(const Var& a, float s);
Var mul_scalar(const Var& a, float s);
Var neg(const Var& a);

// ---- unary.cpp (elementwise) -----------------------------------------------------------------
// y = f(x) for a oneDNN eltwise algorithm; alpha/beta as in dnnl::eltwise_forward::desc: relu
// negative slope, elu alpha, linear alpha * x + beta; ignored by the others. The named ops below
// are each one algorithm.
Var eltwise(const Var& x, dnnl::algorithm alg, float alpha = 0.0f, float beta = 0.0f);
Var relu(const Var& x);
Var elu(const Var& x, float alpha = 1.0f);
Var gelu(const Var& x);  // exact erf form
Var exp(const Var& x);
Var log(const Var& x);
Var softplus(const Var& x);  // log(1 + e^x)
Var square(const Var& x);

// ---- geglu.cpp -------------------------------------------------------------------------------
// h [..., 2F] -> a * gelu(b) [..., F], a and b the first and second halves of the last axis (the
// same as mul(split(h)[0], gelu(split(h)[1])), fused).
Var geglu(const Var& h);

// ---- norm.cpp --------------------------------------------------------------------------------
// Over the last axis: (x - mean) / sqrt(var + eps) * gamma + beta (biased variance).
Var layer_norm(const Var& x, const Var& gamma, const Var& beta, float eps = 1e-5f);

// ---- softmax.cpp -----------------------------------------------------------------------------
// Softmax over the last axis. `mask` (optional, f32 0/1, broadcastable to x): where 0 the logit
// is replaced by -FLT_MAX (tca.md 1: a fully masked row becomes uniform, never NaN).
Var softmax(const Var& x, const Tensor& mask = Tensor());
Var log_softmax(const Var& x);

// ---- masked_softmax.cpp ----------------------------------------------------------------------
// Softmax over the last axis of x [Q, H, n] with one mask row per leading index, mask [Q, 1, n]
// or [Q, n] (optional, f32 0/1): the same result as softmax(x, mask) up to float rounding (masked
// logits -FLT_MAX: a fully masked row is uniform, a masked entry of any other row is exactly 0,
// and masked logits get exactly zero gradient), as one loop forward and one backward. For the
// few keys of TCA's policy and retrieved-set attention (tca.md 4.3), where oneDNN's softmax costs
// per row and the mask costs two broadcast binaries.
Var masked_softmax(const Var& x, const Tensor& mask);
// masked_softmax(x, mask) and its mean over the heads (axis 1) from the same pass: TCA's policy
// pi(child | q) = mean over heads of each head's weights (tca.md 4.3). weights [Q, H, n],
// policy [Q, n] (the same values as mean(weights, 1)); gradients reach x through both.
struct HeadPolicy {
  Var weights;
  Var policy;
};
HeadPolicy masked_softmax_head_mean(const Var& x, const Tensor& mask);

// ---- shape_ops.cpp ---------------------------------------------------------------------------
Var reshape(const Var& x, const Shape& shape);  // a view; one extent may be -1
Var transpose(const Var& x, int axis0, int axis1);
Var permute(const Var& x, const std::vector<int>& perm);
Var concat(const std::vector<Var>& xs, int axis);
Var slice(const Var& x, int axis, int64_t start, int64_t end);  // [start, end)
std::vector<Var> split(const Var& x, int axis, const std::vector<int64_t>& sizes);

// ---- short_attention.cpp ---------------------------------------------------------------------
// Multi-head attention over a few keys as one op (forward and backward): the TCA aggregator's
// self-attention over b children or P leaf tokens (tca.md 4.2), and the GP encoders' and decoders'
// attention over ~25 context points. Through the general path each such attention is three
// head-split permutes, two batched matmuls of tiny [M x 16] blocks, a masked softmax, dropout and
// a merge permute, forward and again backward; on small models that is mostly per-op cost
// (issue 12). Here one pass reads q, k and v in place (heads are column blocks of a row) and
// writes the head-merged result, ready for the output projection.
//
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
Var short_attention(const Var& q, const Var& kv, const Tensor& mask, int64_t heads, float scale,
                    float dropout, Rng& rng, bool training);

// ---- flash_attention.cpp ---------------------------------------------------------------------
// Multi-head attention over many keys as one op, forward and backward (flash style, issue 23): the
// encoders' self-attention and the cross-attention of CA and Perceiver IO ([B*H, M, N] weights
// with N in the hundreds or thousands on the copy task). The same contract as short_attention
// (q [B, M, D], kv [B, N, 2D] rows [key | value], D = heads * dh, output [B, M, D] head-merged),
// but the [B, H, M, N] weights never exist in memory: each thread works on one (batch, head) pair
// at a time, on tiles of [64, N] logits, keeping per query row its max and 1 / sum for the
// backward, which recomputes the weights from them. Masked logits are the most negative float as
// in ops::softmax (a fully masked row is uniform and passes no gradient into its logits).
// Dropout (p, training) takes one draw from rng, as ops::dropout over [B, H, M, N] would, and
// drops exactly the weights that op drops for that draw (dropout_stream.hpp), with the same
// scaling 1 / (1 - p). Results equal the general path's up to float rounding (summation order,
// a polynomial exp), and do not depend on the thread count.
// The widest head the op takes (dh up to 64: the model configurations use 16 to 64).
constexpr int64_t kFlashAttentionMaxHeadDim = 64;
// Whether flash_attention takes these extents and this mask: 1 <= dh <= the maximum, and the mask
// undefined or of rank <= 4 broadcastable to [B, H, M, N] (each extent 1 or the full one).
bool flash_attention_applies(int64_t batch, int64_t heads, int64_t queries, int64_t keys,
                             int64_t head_dim, const Tensor& mask);
Var flash_attention(const Var& q, const Var& kv, const Tensor& mask, int64_t heads, float scale,
                    float dropout, Rng& rng, bool training);

// ---- gathered_attention.cpp ------------------------------------------------------------------
// Attention of single queries over per-query sets of rows gathered from a shared table (the
// retrieval step of Tree Cross Attention, tca.md 4.3): instead of gathering [Q, n, D] copies,
// permuting them into heads and running Q tiny batched matmuls, these two ops read the rows in
// place. Q queries, H heads of width dh (D = H dh, head-major features), n rows per query.
//
// logits[q, h, j] = scale * <query[q, h*dh:(h+1)*dh], table[rows[q, j], h*dh:(h+1)*dh]>
// query [Q, D], table [R, D], rows i32 [Q, n] -> [Q, H, n]. Backward: into query and (scatter-add)
// into table.
Var gathered_dot(const Var& query, const Var& table, const Tensor& rows, int64_t heads,
                 float scale);
// out[q, h*dh + x] = sum_j weights[q, h, j] * table[rows[q, j], h*dh + x]
// weights [Q, H, n], table [R, D], rows i32 [Q, n] -> [Q, D]. Backward: into weights and
// (scatter-add) into table.
Var gathered_weighted_sum(const Var& weights, const Var& table, const Tensor& rows);

// ---- index.cpp -------------------------------------------------------------------------------
// Rows of x [R, ...] picked by index [K] (i32, values in [0, R)) -> [K, ...]; backward
// scatter-adds.
Var gather_rows(const Var& x, const Tensor& index);

// ---- reduce.cpp ------------------------------------------------------------------------------
Var sum(const Var& x, int axis, bool keepdim = false);
Var mean(const Var& x, int axis, bool keepdim = false);
Var sum_all(const Var& x);   // scalar
Var mean_all(const Var& x);  // scalar
// x [..., n, D], mask [..., n] (f32 0/1): sum_i m_i x_i / (sum_i m_i + eps) -> [..., D]
// (tca.md 4.2: the aggregator's masked mean; all-padding -> zero vector).
Var masked_mean(const Var& x, const Tensor& mask, float eps = 1e-9f);

// ---- loss.cpp --------------------------------------------------------------------------------
// logits [R, C], labels [R] i32 -> per-row cross-entropy [R] (logsumexp - logit[label]).
Var cross_entropy_per_row(const Var& logits, const Tensor& labels);
// Mean over rows of cross_entropy_per_row.
Var cross_entropy(const Var& logits, const Tensor& labels);
// Gaussian log-likelihood per row, summed over the last axis: mean, std, y [R, dy] -> [R]
// sum_d ( -(y - mean)^2 / (2 std^2) - log std - log sqrt(2 pi) ).
Var gaussian_log_likelihood_per_row(const Var& mean, const Var& std, const Tensor& y);
// Gaussian negative log-likelihood averaged over rows.
Var gaussian_nll(const Var& mean, const Var& std, const Tensor& y);
// Mean squared error over all elements.
Var mse(const Var& pred, const Tensor& y);

// ---- dropout.cpp -----------------------------------------------------------------------------
// Inverted dropout with the explicit generator; identity when !training or p == 0.
Var dropout(const Var& x, float p, Rng& rng, bool training);

}  // namespace tca::ops
