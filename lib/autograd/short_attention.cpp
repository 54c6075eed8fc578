
#include <algorithm>
#include <cfloat>
#include <cmath>

#include "autograd/grad_sink.hpp"
#include "autograd/ops.hpp"
#include "core/error.hpp"

namespace tca::ops {

bool short_attention_applies(int64_t batch, int64_t queries, int64_t keys, const Tensor& mask) {
  return keys >= 1 && keys <= kShortAttentionMaxKeys &&
         (!mask.defined() || mask.shape() == Shape{batch, 1, queries, keys});
}

namespace {

// Rows (b, m) per parallel loop: two threads only when a pass has enough work to pay the fork/join.
bool worth_threads(int64_t B, int64_t M, int64_t N, int64_t D) {
  return B * M * N * D >= (int64_t{1} << 16);
}

}  // namespace

Var short_attention(const Var& q, const Var& kv, const Tensor& mask, int64_t heads, float scale,
                    float dropout, Rng& rng, bool training) {
  if (q.rank() != 3 || kv.rank() != 3 || heads <= 0 || q.dim(2) % heads != 0 ||
      kv.dim(0) != q.dim(0) || kv.dim(2) != 2 * q.dim(2))
    throw ShapeError(
        "short_attention: q must be [B, M, heads * dh] and kv [B, N, 2 heads dh], found " +
        to_string(q.shape()) + " and " + to_string(kv.shape()));
  const int64_t B = q.dim(0), M = q.dim(1), D = q.dim(2), N = kv.dim(1), H = heads, dh = D / H;
  if (!short_attention_applies(B, M, N, mask))
    throw ShapeError("short_attention: " + std::to_string(N) + " keys and mask " +
                     (mask.defined() ? to_string(mask.shape()) : std::string("(none)")) +
                     " not supported");
  if (mask.defined()) check_dtype("short_attention mask", mask, DType::f32);
  const bool recording = needs_recording({q, kv});
  // Keep-mask of the attention dropout, [B, H, M, N] (0 or 1/(1-p)).
  const Tensor keep =
      training && dropout > 0.0f
          ? ops::dropout(Var(Tensor::full({B, H, M, N}, 1.0f)), dropout, rng, true).value()
          : Tensor();
  Tensor weights = recording ? Tensor::empty({B, H, M, N}) : Tensor();  // softmax, before dropout
  Tensor out = Tensor::empty({B, M, D});
  const float* pq = q.value().data();
  const float* pkv = kv.value().data();
  const float* pm = mask.defined() ? mask.data() : nullptr;
  const float* pk = keep.defined() ? keep.data() : nullptr;
  float* pw = recording ? weights.data() : nullptr;
  float* po = out.data();
#pragma omp parallel for schedule(static) if (worth_threads(B, M, N, D))
  for (int64_t r = 0; r < B * M; ++r) {
    const int64_t b = r / M, m = r % M;
    const float* qr = pq + r * D;
    const float* mr = pm ? pm + r * N : nullptr;
    float w[kShortAttentionMaxKeys];
    for (int64_t h = 0; h < H; ++h) {
      const int64_t c0 = h * dh, wr = ((b * H + h) * M + m) * N;
      float top = -FLT_MAX;
      for (int64_t j = 0; j < N; ++j) {
        const float* kr = pkv + (b * N + j) * 2 * D + c0;
        float s = 0;
#pragma omp simd reduction(+ : s)
        for (int64_t x = 0; x < dh; ++x) s += qr[c0 + x] * kr[x];
        w[j] = mr && mr[j] == 0.0f ? -FLT_MAX : s * scale;
        top = std::max(top, w[j]);
      }
      float sum = 0;
      for (int64_t j = 0; j < N; ++j) sum += (w[j] = std::exp(w[j] - top));
      const float inv = 1.0f / sum;
      float* o = po + r * D + c0;
      for (int64_t x = 0; x < dh; ++x) o[x] = 0;
      for (int64_t j = 0; j < N; ++j) {
        w[j] *= inv;
        if (pw) pw[wr + j] = w[j];
        const float wj = pk ? w[j] * pk[wr + j] : w[j];
        const float* vr = pkv + (b * N + j) * 2 * D + D + c0;
#pragma omp simd
        for (int64_t x = 0; x < dh; ++x) o[x] += wj * vr[x];
      }
    }
  }
  return record(std::move(out), {q, kv},
                [weights, keep, mask = recording && mask.defined() ? mask.clone() : Tensor(), B, M,
                 N, D, H, dh, scale](Node& self) {
                  Node &nq = *self.inputs[0], &nkv = *self.inputs[1];
                  const float* g = self.grad.data();
                  const float* bq = nq.value.data();
                  const float* bkv = nkv.value.data();
                  const float* bw = weights.data();
                  const float* bk = keep.defined() ? keep.data() : nullptr;
                  const float* bm = mask.defined() ? mask.data() : nullptr;
                  GradTarget tq = nq.requires_grad ? grad_target(nq) : GradTarget{};
                  GradTarget tkv = nkv.requires_grad ? grad_target(nkv) : GradTarget{};
                  if (tq.data && !tq.accumulate) std::fill(tq.data, tq.data + B * M * D, 0.0f);
                  if (tkv.data && !tkv.accumulate)
                    std::fill(tkv.data, tkv.data + B * N * 2 * D, 0.0f);
      // Per (b, h, m): dv_j += w'_j g; dw_j = keep_j <g, v_j>; ds_j = w_j (dw_j - sum_i w_i dw_i),
      // zero where masked (ops::softmax's backward multiplies by the mask too); dq += scale ds_j
      // k_j; dk_j += scale ds_j q. Rows of one set b write the same k, v rows: parallel over sets
      // only.
#pragma omp parallel for schedule(static) if (worth_threads(B, M, N, D) && B > 1)
                  for (int64_t b = 0; b < B; ++b) {
                    float ds[kShortAttentionMaxKeys];
                    for (int64_t m = 0; m < M; ++m) {
                      const int64_t r = b * M + m;
                      const float* gr = g + r * D;
                      const float* qr = bq + r * D;
                      const float* mr = bm ? bm + r * N : nullptr;
                      for (int64_t h = 0; h < H; ++h) {
                        const int64_t c0 = h * dh, wr = ((b * H + h) * M + m) * N;
                        float dot_wdw = 0;
                        for (int64_t j = 0; j < N; ++j) {
                          const float* vr = bkv + (b * N + j) * 2 * D + D + c0;
                          float s = 0;
#pragma omp simd reduction(+ : s)
                          for (int64_t x = 0; x < dh; ++x) s += gr[c0 + x] * vr[x];
                          ds[j] = bk ? s * bk[wr + j] : s;  // dw_j
                          dot_wdw += bw[wr + j] * ds[j];
                          if (tkv.data) {
                            const float wj = bk ? bw[wr + j] * bk[wr + j] : bw[wr + j];
                            float* dv = tkv.data + (b * N + j) * 2 * D + D + c0;
#pragma omp simd
                            for (int64_t x = 0; x < dh; ++x) dv[x] += wj * gr[c0 + x];
                          }
                        }
                        for (int64_t j = 0; j < N; ++j) {
                          const float dsj =
                              mr && mr[j] == 0.0f ? 0.0f : scale * bw[wr + j] * (ds[j] - dot_wdw);
                          if (dsj == 0.0f) continue;
                          const float* kr = bkv + (b * N + j) * 2 * D + c0;
                          if (tq.data) {
                            float* dq = tq.data + r * D + c0;
#pragma omp simd
                            for (int64_t x = 0; x < dh; ++x) dq[x] += dsj * kr[x];
                          }
                          if (tkv.data) {
                            float* dk = tkv.data + (b * N + j) * 2 * D + c0;
#pragma omp simd
                            for (int64_t x = 0; x < dh; ++x) dk[x] += dsj * qr[c0 + x];
                          }
                        }
                      }
                    }
                  }
                });
}

}  // namespace tca::ops
