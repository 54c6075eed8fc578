#include "models/tca_retrieval.hpp"

#include <cfloat>
#include <cmath>
#include <vector>

namespace tca {

namespace {

// Softmax over n logits where mask[j] == 0 means -FLT_MAX (tca.md 1: a fully masked row is uniform).
void masked_softmax(float* logits, const float* mask, int64_t n) {
  float m = -FLT_MAX;
  for (int64_t j = 0; j < n; ++j) {
    if (mask[j] == 0.0f) logits[j] = -FLT_MAX;
    m = std::max(m, logits[j]);
  }
  float s = 0;
  for (int64_t j = 0; j < n; ++j) s += (logits[j] = std::exp(logits[j] - m));
  const float inv = 1.0f / s;
  for (int64_t j = 0; j < n; ++j) logits[j] *= inv;
}

// Dot product over one head (dh floats); simd lets the compiler split the FMA chain.
float dot(const float* a, const float* b, int64_t n) {
  float s = 0;
#pragma omp simd reduction(+ : s)
  for (int64_t i = 0; i < n; ++i) s += a[i] * b[i];
  return s;
}

}  // namespace

Retrieval greedy_retrieve(const TcaIndex& index, const Tensor& q_proj, int64_t heads, int64_t per_task) {
  const TreeShape& s = index.shape;
  const int64_t Q = q_proj.dim(0), D = index.dim, H = heads, dh = D / H;
  const int64_t b = s.b, k = s.k, P = s.leaf_size, L = s.set_slots(), Ntot = s.memory_size();
  const float scale = 1.0f / std::sqrt(static_cast<float>(dh));
  Retrieval r;
  r.attended = Tensor::zeros({Q, D});
  r.actions = Tensor::empty({Q, k}, DType::i32);
  r.set_rows = Tensor::empty({Q, L}, DType::i32);
  r.set_mask = Tensor::empty({Q, L});
  const float* keys = index.keys.data();
  const float* values = index.values.data();
  const float* mmask = index.memory_mask.data();
  const float* qp = q_proj.data();
  std::vector<int64_t> parent(static_cast<size_t>(Q), 0);
  // Level by level over all queries: the b children of a query are adjacent rows.
  for (int64_t i = 0; i < k; ++i) {
    const int64_t level_off = s.memory_offset(i + 1);
#pragma omp parallel
    {
    // Scratch for the b children's weights, one per thread. b has no upper bound (any b >= 2,
    // tca.md 4.1), so it is sized at run time (fixed float[64] arrays overflowed for b > 64).
    std::vector<float> w_buffer(static_cast<size_t>(b)), pi_buffer(static_cast<size_t>(b));
    float* w = w_buffer.data();
    float* pi = pi_buffer.data();
#pragma omp for schedule(static)
    for (int64_t q = 0; q < Q; ++q) {
      const int64_t base = (q / per_task) * Ntot + level_off + parent[static_cast<size_t>(q)] * b;
      for (int64_t j = 0; j < b; ++j) pi[j] = 0;
      for (int64_t h = 0; h < H; ++h) {
        for (int64_t j = 0; j < b; ++j) w[j] = dot(qp + q * D + h * dh, keys + (base + j) * D + h * dh, dh) * scale;
        masked_softmax(w, mmask + base, b);
        for (int64_t j = 0; j < b; ++j) pi[j] += w[j];
      }
      int64_t a = 0;  // argmax of the head-averaged policy, lowest index on ties
      for (int64_t j = 1; j < b; ++j)
        if (pi[j] / static_cast<float>(H) > pi[a] / static_cast<float>(H)) a = j;
      r.actions.data_i32()[q * k + i] = static_cast<int32_t>(a);
      for (int64_t j = 0; j < b; ++j) {
        r.set_rows.data_i32()[q * L + i * b + j] = static_cast<int32_t>(base + j);
        r.set_mask[q * L + i * b + j] = j == a ? 0.0f : 1.0f;  // unpicked siblings, even all-padding ones
      }
      parent[static_cast<size_t>(q)] = parent[static_cast<size_t>(q)] * b + a;
    }
    }  // omp parallel
  }
  const int64_t leaf_off = s.memory_offset(k + 1);
#pragma omp parallel
  {
  std::vector<float> w_buffer(static_cast<size_t>(L));  // per-thread scratch, not per query
  float* w = w_buffer.data();
#pragma omp for schedule(static)
  for (int64_t q = 0; q < Q; ++q) {
    const int64_t base = (q / per_task) * Ntot + leaf_off + parent[static_cast<size_t>(q)] * P;
    int32_t* rows = r.set_rows.data_i32() + q * L;
    float* mask = r.set_mask.data() + q * L;
    for (int64_t t = 0; t < P; ++t) {
      rows[k * b + t] = static_cast<int32_t>(base + t);
      mask[k * b + t] = mmask[base + t];
    }
    float* out = r.attended.data() + q * D;
    for (int64_t h = 0; h < H; ++h) {
      for (int64_t j = 0; j < L; ++j) w[j] = dot(qp + q * D + h * dh, keys + rows[j] * D + h * dh, dh) * scale;
      masked_softmax(w, mask, L);
      float* o = out + h * dh;
      for (int64_t j = 0; j < L; ++j) {
        const float* v = values + rows[j] * D + h * dh;
        const float wj = w[j];
#pragma omp simd
        for (int64_t x = 0; x < dh; ++x) o[x] += wj * v[x];
      }
    }
  }
  }  // omp parallel
  return r;
}

}  // namespace tca
