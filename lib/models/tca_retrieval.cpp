#include "models/tca_retrieval.hpp"

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <vector>

namespace tca {

namespace {

// Queries that descend together: a block goes level by level, its queries side by side, then
// attends. Blocks are dealt to the threads round-robin. Measured at N = 2^20, 2 threads, 256
// queries: 1.6 us per query, against 1.8 with one contiguous half per thread and 2.1 with blocks
// taken dynamically.
constexpr int64_t kBlock = 16;

// H softmaxes over n >= 1 entries stored entry-major (l[j * H + h]), in place, where masked
// entries are already -FLT_MAX (tca.md 1: a fully masked row is uniform). Per head, the
// arithmetic of the reference's masked softmax: the same maximum, exp(l - m), sum in index order,
// one reciprocal. The heads' sums run side by side instead of one long add chain after another.
// exp is skipped where its value is known exactly: exp(0) = 1 for the (first) maximum, and
// exp(-FLT_MAX - m) = 0 for a masked entry below a real maximum (glibc's expf takes a slow
// underflow path there).
void softmax_heads(float* l, int64_t n, int64_t H, float* sum) {
  for (int64_t h = 0; h < H; ++h) {
    int64_t top = 0;
    for (int64_t j = 1; j < n; ++j) top = l[j * H + h] > l[top * H + h] ? j : top;
    const float m = l[top * H + h];
    const bool real_max = m != -FLT_MAX;
    for (int64_t t = 0; t + 1 < n; ++t) {
      float& x = l[(t + (t >= top ? 1 : 0)) * H + h];  // every entry but `top`
      x = real_max && x == -FLT_MAX ? 0.0f : std::exp(x - m);
    }
    l[top * H + h] = 1.0f;
  }
  for (int64_t h = 0; h < H; ++h) sum[h] = 0;
  for (int64_t j = 0; j < n; ++j)
    for (int64_t h = 0; h < H; ++h) sum[h] += l[j * H + h];
  for (int64_t h = 0; h < H; ++h) sum[h] = 1.0f / sum[h];
  for (int64_t j = 0; j < n; ++j)
    for (int64_t h = 0; h < H; ++h) l[j * H + h] *= sum[h];
}

// Dot product over one head (dh floats); simd lets the compiler split the FMA chain.
float dot(const float* a, const float* b, int64_t n) {
  float s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

}  // namespace

Retrieval greedy_retrieve(const TcaIndex& index, const Tensor& q_proj, int64_t heads,
                          float logit_scale, int64_t per_task, bool with_policy) {
  const TreeShape& s = index.shape;
  const int64_t Q = q_proj.dim(0), D = index.dim, H = heads, dh = D / H;
  const int64_t b = s.b, k = s.k, P = s.leaf_size, L = s.set_slots(), Ntot = s.memory_size(),
                KB = k * b;
  const int64_t C = k * (b - 1) + P;  // the slots of S that can be unmasked
  const float scale = logit_scale;
  Retrieval r;
  r.attended = Tensor::zeros({Q, D});
  r.actions = Tensor::empty({Q, k}, DType::i32);
  r.set_rows = Tensor::empty({Q, L}, DType::i32);
  r.set_mask = Tensor::empty({Q, L});
  if (with_policy) r.policy = Tensor::empty({Q, k, b});
  float* policy = with_policy ? r.policy.data() : nullptr;
  const float* keys = index.keys.data();
  const float* values = index.values.data();
  const float* mmask = index.memory_mask.data();
  const float* qp = q_proj.data();
  int32_t* actions = r.actions.data_i32();
  int32_t* set_rows = r.set_rows.data_i32();
  float* set_mask = r.set_mask.data();
  std::vector<int64_t> parent(static_cast<size_t>(Q), 0);
  // Row of decision i's first child of node 0 (s.child_row(i, 0, 0)), i = 0..k-1, then of the
  // first leaf token (s.token_row(0, 0)): the per-query loops add parent * b (or * P).
  std::vector<int64_t> offset(static_cast<size_t>(k + 1));
  for (int64_t i = 0; i < k; ++i) offset[static_cast<size_t>(i)] = s.child_row(i, 0, 0);
  offset[static_cast<size_t>(k)] = s.token_row(0, 0);
  // The scaled logits of every scored child, per query, slot and head [Q, k b, H]: the final
  // attention over S needs exactly these for its node slots (same query, same keys), so they are
  // kept rather than recomputed, and the node keys are never read twice.
  std::vector<float> node_logits(static_cast<size_t>(Q * H * KB));
  // One parallel region, no barrier between levels: the levels of one query depend on each other
  // but no query depends on another (a barrier per level cost ~1 us each, and much more when the
  // other vCPU is busy).
#pragma omp parallel
  {
    // Per-thread scratch. b has no upper bound (any b >= 2, tca.md 4.1), so it is sized at run
    // time.
    std::vector<float> w_buffer(static_cast<size_t>(std::max(b, C) * H)),
        sum_buffer(static_cast<size_t>(H));
    std::vector<float> pi_buffer(static_cast<size_t>(b));
    std::vector<int64_t> slot_buffer(static_cast<size_t>(C));
    float* w = w_buffer.data();
    float* pi = pi_buffer.data();
    float* sum = sum_buffer.data();
    int64_t* slot = slot_buffer.data();
    auto memory_row = [&](int64_t q) { return (q / per_task) * Ntot; };

    // The decision of query q at level i: its parent's b children (adjacent rows) scored per head,
    // the argmax of the head-averaged policy picked, the b slots of S written.
    auto decide = [&](int64_t q, int64_t i) {
      const int64_t base =
          memory_row(q) + offset[static_cast<size_t>(i)] + parent[static_cast<size_t>(q)] * b;
      float* logits = node_logits.data() + (q * KB + s.node_slot(i, 0)) * H;
      for (int64_t j = 0; j < b; ++j) {
        const bool masked = mmask[base + j] == 0.0f;
        for (int64_t h = 0; h < H; ++h) {
          const float l = logits[j * H + h] =
              dot(qp + q * D + h * dh, keys + (base + j) * D + h * dh, dh) * scale;
          w[j * H + h] = masked ? -FLT_MAX : l;
        }
      }
      softmax_heads(w, b, H, sum);
      int64_t a = 0;  // heads summed in order; lowest index on ties
      for (int64_t j = 0; j < b; ++j) {
        pi[j] = 0;
        for (int64_t h = 0; h < H; ++h) pi[j] += w[j * H + h];
        a = pi[j] / static_cast<float>(H) > pi[a] / static_cast<float>(H) ? j : a;
      }
      if (policy)
        for (int64_t j = 0; j < b; ++j) policy[(q * k + i) * b + j] = pi[j] / static_cast<float>(H);
      actions[q * k + i] = static_cast<int32_t>(a);
      for (int64_t j = 0; j < b; ++j) {
        set_rows[q * L + s.node_slot(i, j)] = static_cast<int32_t>(base + j);
        set_mask[q * L + s.node_slot(i, j)] =
            j == a ? 0.0f : 1.0f;  // unpicked siblings, even all-padding ones
      }
      parent[static_cast<size_t>(q)] = parent[static_cast<size_t>(q)] * b + a;
    };

    // The picked leaf's P tokens complete S; then the attention of query q over S. It runs over
    // the C = k (b - 1) + P slots that can be unmasked, in slot order: a picked child's weight is
    // an exact 0, which adds nothing to the softmax sum or the output, so the result is the one
    // over all k b + P slots (a fully masked S, which would be uniform over all slots, cannot
    // occur: the unpicked siblings are always unmasked, and for k = 0 the C slots are all of S).
    auto attend = [&](int64_t q) {
      const int64_t base =
          memory_row(q) + offset[static_cast<size_t>(k)] + parent[static_cast<size_t>(q)] * P;
      int32_t* rows = set_rows + q * L;
      float* mask = set_mask + q * L;
      for (int64_t j = 0; j < P; ++j) {
        rows[s.token_slot(j)] = static_cast<int32_t>(base + j);
        mask[s.token_slot(j)] = mmask[base + j];
      }
      for (int64_t c = 0; c < C - P; ++c) {  // the c-th unpicked sibling
        const int64_t i = c / (b - 1), x = c % (b - 1);
        slot[c] = s.node_slot(i, x + (x >= actions[q * k + i] ? 1 : 0));
      }
      for (int64_t j = 0; j < P; ++j) slot[C - P + j] = s.token_slot(j);
      const float* logits = node_logits.data() + q * KB * H;
      for (int64_t c = 0; c < C - P; ++c) std::copy_n(logits + slot[c] * H, H, w + c * H);
      for (int64_t j = 0; j < P; ++j) {
        const bool masked = mask[s.token_slot(j)] == 0.0f;
        for (int64_t h = 0; h < H; ++h) {
          const float l = dot(qp + q * D + h * dh, keys + (base + j) * D + h * dh, dh) * scale;
          w[(C - P + j) * H + h] = masked ? -FLT_MAX : l;
        }
      }
      softmax_heads(w, C, H, sum);
      float* out = r.attended.data() + q * D;
      for (int64_t c = 0; c < C; ++c) {
        const float* v = values + rows[slot[c]] * D;
        for (int64_t h = 0; h < H; ++h) {
          const float wc = w[c * H + h];
          float* o = out + h * dh;
#pragma omp simd
          for (int64_t x = 0; x < dh; ++x) o[x] += wc * v[h * dh + x];
        }
      }
    };

    // Per block (kBlock): level by level, the queries side by side (their memory accesses are
    // independent and overlap), then the attention.
#pragma omp for schedule(static)
    for (int64_t q0 = 0; q0 < Q; q0 += kBlock) {
      const int64_t q1 = std::min(Q, q0 + kBlock);
      for (int64_t i = 0; i < k; ++i)
        for (int64_t q = q0; q < q1; ++q) decide(q, i);
      for (int64_t q = q0; q < q1; ++q) attend(q);
    }
  }  // omp parallel
  return r;
}

}  // namespace tca
