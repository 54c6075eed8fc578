#include "autograd/short_attention.hpp"

#include <cfloat>
#include <cmath>

#include "core/error.hpp"

namespace tca::ops {

bool short_attention_applies(int64_t batch, int64_t queries, int64_t keys, const Tensor& mask) {
  return keys >= 1 && keys <= kShortAttentionMaxKeys &&
         (!mask.defined() || mask.shape() == Shape{batch, 1, queries, keys});
}

Tensor short_attention(const Tensor& q, const float* k, const float* v, int64_t keys, int64_t kv_stride,
                       const Tensor& mask, int64_t heads, float scale) {
  if (q.rank() != 3 || heads <= 0 || q.dim(2) % heads != 0)
    throw ShapeError("short_attention: queries must be [B, M, heads * dh], found " + to_string(q.shape()));
  const int64_t B = q.dim(0), M = q.dim(1), D = q.dim(2), dh = D / heads, N = keys;
  if (!short_attention_applies(B, M, N, mask))
    throw ShapeError("short_attention: " + std::to_string(N) + " keys and mask " +
                     (mask.defined() ? to_string(mask.shape()) : std::string("(none)")) + " not supported");
  Tensor out = Tensor::empty({B, M, D});
  const float* pq = q.data();
  const float* pm = mask.defined() ? mask.data() : nullptr;
  float* po = out.data();
  // One (set, query) row per iteration; enough rows to be worth two threads only in big builds.
#pragma omp parallel for schedule(static) if (B * M * N * D >= (int64_t{1} << 16))
  for (int64_t r = 0; r < B * M; ++r) {
    const int64_t b = r / M;
    const float* qr = pq + r * D;
    const float* mr = pm ? pm + r * N : nullptr;
    float* o = po + r * D;
    float w[kShortAttentionMaxKeys];
    for (int64_t h = 0; h < heads; ++h) {
      const int64_t c0 = h * dh;
      float top = -FLT_MAX;
      for (int64_t j = 0; j < N; ++j) {
        const float* kr = k + (b * N + j) * kv_stride + c0;
        float s = 0;
#pragma omp simd reduction(+ : s)
        for (int64_t x = 0; x < dh; ++x) s += qr[c0 + x] * kr[x];
        w[j] = mr && mr[j] == 0.0f ? -FLT_MAX : s * scale;
        top = std::max(top, w[j]);
      }
      float sum = 0;
      for (int64_t j = 0; j < N; ++j) sum += (w[j] = std::exp(w[j] - top));
      const float inv = 1.0f / sum;
      float* oh = o + c0;
      for (int64_t x = 0; x < dh; ++x) oh[x] = 0;
      for (int64_t j = 0; j < N; ++j) {
        const float* vr = v + (b * N + j) * kv_stride + c0;
        const float wj = w[j] * inv;
#pragma omp simd
        for (int64_t x = 0; x < dh; ++x) oh[x] += wj * vr[x];
      }
    }
  }
  return out;
}

}  // namespace tca::ops
