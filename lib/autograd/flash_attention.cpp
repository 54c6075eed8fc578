// Fused multi-head attention over many keys (flash style, issue 23), forward and backward, with
// the key mask and the attention dropout. See ops.hpp for the contract.
//
// Work is split over (b, h) pairs, one per OpenMP iteration; each thread packs its pair's keys and
// values once (K^T [dh, N] and V [N, dh], zero-padded to multiples of 8 features and 16 keys)
// and then walks blocks of kBlockRows queries:
//   forward:  S = q K^T (one [rows, N] tile), scale, mask, exact softmax per row (the row fits
//             the tile), dropout multipliers from the dropout op's own stream, O = P V.
//             Kept for the backward: per query row its max and 1 / sum (8 bytes a row), never P.
//   backward: S and P again from the same code (bit-identical P), dP = dO V^T, then
//   FlashAttention-2:
//             dS = P (z dP - <dO, O>) scale, dV += (z P)^T dO, dK += dS^T q, dq = dS K, with dK and
//             dV accumulated in the thread's buffers for the whole pair (no races, no atomics).
// The two matmul shapes are small register-tiled kernels on 8-float vectors and exp is a
// vectorised Cephes polynomial (about 2 ulp), in flash_kernels.hpp. Everything inside a pair runs
// on one thread in a fixed order, so results do not depend on the thread count.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <vector>

#include "autograd/dropout_stream.hpp"
#include "autograd/flash_kernels.hpp"
#include "autograd/flop_counter.hpp"
#include "autograd/grad_sink.hpp"
#include "autograd/ops.hpp"
#include "core/error.hpp"

namespace tca::ops {
namespace {

using namespace flash_kernels;

constexpr int64_t kBlockRows = 64;  // queries per tile: S, P, dS tiles are [64, N] floats

// The mask broadcast to [B, H, M, N] as strides (0 on broadcast axes).
struct MaskView {
  const float* data = nullptr;
  int64_t sb = 0, sh = 0, sm = 0, sn = 0;
  const float* row(int64_t b, int64_t h, int64_t m) const {
    return data ? data + b * sb + h * sh + m * sm : nullptr;
  }
};

MaskView mask_view(const Tensor& mask, const Shape& full) {
  MaskView v;
  if (!mask.defined()) return v;
  v.data = mask.data();
  const Shape& s = mask.shape();
  int64_t strides[4] = {0, 0, 0, 0}, stride = 1;
  for (size_t k = s.size(); k-- > 0;) {
    const size_t axis = k + 4 - s.size();
    strides[axis] = s[k] == 1 && full[axis] != 1 ? 0 : stride;
    stride *= s[k];
  }
  v.sb = strides[0], v.sh = strides[1], v.sm = strides[2], v.sn = strides[3];
  return v;
}

struct Dims {
  int64_t B, M, N, D, H, dh, dhp, Np;
};

// s [Np] raw dot products of one query row -> logits: scale * s, the most negative float where
// masked (ops::softmax's masked_fill) and in the padding columns.
void logits_row(float* s, const Dims& d, float scale, const float* mrow, int64_t sn) {
  const int64_t N = d.N;
  if (!mrow || (sn == 0 && mrow[0] != 0.0f)) {
    for (int64_t j = 0; j < d.Np; j += 8) vstore(s + j, vload(s + j) * splat(scale));
  } else if (sn == 0) {
    std::fill(s, s + N, -FLT_MAX);
  } else if (sn == 1) {
    int64_t j = 0;
    for (; j + 8 <= N; j += 8)
      vstore(s + j,
             vselect(vload(mrow + j) != splat(0.0f), vload(s + j) * splat(scale), splat(-FLT_MAX)));
    for (; j < N; ++j) s[j] = mrow[j] != 0.0f ? s[j] * scale : -FLT_MAX;
  } else {
    for (int64_t j = 0; j < N; ++j) s[j] = mrow[j * sn] != 0.0f ? s[j] * scale : -FLT_MAX;
  }
  std::fill(s + N, s + d.Np, -FLT_MAX);
}

// p [Np] = exp(s - top) * inv, zero in the padding columns (a fully masked row has top =
// -FLT_MAX and would otherwise give its padding weight).
void probabilities_row(float* p, const Dims& d, float top, float inv) {
  for (int64_t j = 0; j < d.Np; j += 8) vstore(p + j, vexp(vload(p + j) - splat(top)) * splat(inv));
  std::fill(p + d.N, p + d.Np, 0.0f);
}

// Per-thread buffers for one (b, h) pair.
struct Workspace {
  std::vector<float> kt, vt, kp, vp, qb, gb, ob, s, pd, g, z, dk, dv;
  explicit Workspace(const Dims& d, bool backward) {
    const auto kv = static_cast<size_t>(d.dhp * d.Np);
    const auto rows = static_cast<size_t>(kBlockRows * d.dhp);
    const auto tile = static_cast<size_t>(kBlockRows * d.Np);
    kt.resize(kv), qb.resize(rows), ob.resize(rows), s.resize(tile), pd.resize(tile);
    z.resize(static_cast<size_t>(d.Np));
    if (backward) {
      vt.resize(kv), kp.resize(kv), gb.resize(rows), g.resize(tile), dk.resize(kv), dv.resize(kv);
    } else {
      vp.resize(kv);
    }
  }
};

// dst[0:n] = src[0:n] in vectors (a std::copy of 16 floats is a library call per row).
inline void copy_floats(float* dst, const float* src, int64_t n) {
  int64_t x = 0;
  for (; x + 8 <= n; x += 8) vstore(dst + x, vload(src + x));
  for (; x < n; ++x) dst[x] = src[x];
}

// Packs column block [c0, c0 + dh) of rows 0..n-1 of x (row stride ld) into dst [n, dhp]
// (transpose: dst [dhp, Np]); padding stays zero.
void pack_rows(const float* x, int64_t ld, int64_t n, int64_t dh, float* dst, int64_t dhp) {
  for (int64_t j = 0; j < n; ++j) {
    copy_floats(dst + j * dhp, x + j * ld, dh);
    std::fill(dst + j * dhp + dh, dst + (j + 1) * dhp, 0.0f);
  }
}
void pack_transposed(const float* x, int64_t ld, const Dims& d, float* dst) {
  std::fill(dst, dst + d.dhp * d.Np, 0.0f);
  for (int64_t j0 = 0; j0 < d.N; j0 += 8) {  // 8 rows at a time: 8 floats per column write
    const int64_t n = std::min<int64_t>(8, d.N - j0);
    for (int64_t c = 0; c < d.dh; ++c)
      for (int64_t j = 0; j < n; ++j) dst[c * d.Np + j0 + j] = x[(j0 + j) * ld + c];
  }
}

bool worth_threads(const Dims& d) { return d.B * d.H > 1 && d.B * d.M * d.N * d.D >= (1 << 16); }

}  // namespace

bool flash_attention_applies(int64_t batch, int64_t heads, int64_t queries, int64_t keys,
                             int64_t head_dim, const Tensor& mask) {
  if (batch < 1 || heads < 1 || queries < 1 || keys < 1 || head_dim < 1 ||
      head_dim > kFlashAttentionMaxHeadDim)
    return false;
  if (!mask.defined()) return true;
  const Shape& s = mask.shape();
  if (s.size() > 4) return false;
  const int64_t full[4] = {batch, heads, queries, keys};
  for (size_t k = 0; k < s.size(); ++k) {
    const int64_t want = full[k + 4 - s.size()];
    if (s[k] != 1 && s[k] != want) return false;
  }
  return true;
}

Var flash_attention(const Var& q, const Var& kv, const Tensor& mask, int64_t heads, float scale,
                    float dropout, Rng& rng, bool training) {
  if (q.rank() != 3 || kv.rank() != 3 || heads <= 0 || q.dim(2) % heads != 0 ||
      kv.dim(0) != q.dim(0) || kv.dim(2) != 2 * q.dim(2))
    throw ShapeError(
        "flash_attention: q must be [B, M, heads * dh] and kv [B, N, 2 heads dh], found " +
        to_string(q.shape()) + " and " + to_string(kv.shape()));
  Dims d{};
  d.B = q.dim(0), d.M = q.dim(1), d.D = q.dim(2), d.N = kv.dim(1), d.H = heads;
  d.dh = d.D / d.H, d.dhp = (d.dh + 7) / 8 * 8, d.Np = (d.N + 15) / 16 * 16;
  if (!flash_attention_applies(d.B, d.H, d.M, d.N, d.dh, mask))
    throw ShapeError("flash_attention: head width " + std::to_string(d.dh) + ", " +
                     std::to_string(d.N) + " keys and mask " +
                     (mask.defined() ? to_string(mask.shape()) : std::string("(none)")) +
                     " not supported");
  if (mask.defined()) check_dtype("flash_attention mask", mask, DType::f32);
  if (dropout >= 1.0f)
    throw ShapeError("flash_attention: dropout must be < 1, found " + std::to_string(dropout));
  const bool drop = training && dropout > 0.0f;
  // One draw, as ops::dropout takes for the general path's [B, H, M, N] weights: the same seed,
  // hence the same dropped weights (dropout_stream.hpp).
  const uint64_t seed = drop ? rng.next_u64() : 0;
  const uint32_t threshold = drop ? dropout_threshold(dropout) : 0;
  const float keep_scale = drop ? 1.0f / (1.0f - dropout) : 1.0f;
  const bool recording = needs_recording({q, kv});
  const MaskView mv = mask_view(mask, {d.B, d.H, d.M, d.N});
  Tensor out = Tensor::empty({d.B, d.M, d.D});
  Tensor stats = recording ? Tensor::empty({d.B * d.H * d.M * 2}) : Tensor();  // max, 1 / sum
  const float* pq = q.value().data();
  const float* pkv = kv.value().data();
  float* po = out.data();
  float* pst = recording ? stats.data() : nullptr;
  const GemmAcc gemm_rows = gemm_acc_for(d.dhp / 8);
  count_matmul_flops(4 * d.B * d.H * d.M * d.N * d.dh);
#pragma omp parallel if (worth_threads(d))
  {
    Workspace ws(d, false);
    DropoutStream stream(seed, threshold, keep_scale);
#pragma omp for schedule(static)
    for (int64_t bh = 0; bh < d.B * d.H; ++bh) {
      const int64_t b = bh / d.H, h = bh % d.H;
      const float* kb = pkv + b * d.N * 2 * d.D + h * d.dh;
      pack_transposed(kb, 2 * d.D, d, ws.kt.data());
      pack_rows(kb + d.D, 2 * d.D, d.N, d.dh, ws.vp.data(), d.dhp);
      for (int64_t m0 = 0; m0 < d.M; m0 += kBlockRows) {
        const int64_t rows = std::min(kBlockRows, d.M - m0);
        pack_rows(pq + (b * d.M + m0) * d.D + h * d.dh, d.D, rows, d.dh, ws.qb.data(), d.dhp);
        float* s = ws.s.data();
        gemm_abt(ws.qb.data(), d.dhp, rows, ws.kt.data(), d.Np, d.dhp, d.Np, s, d.Np);
        if (drop) stream.seek((bh * d.M + m0) * d.N);
        for (int64_t i = 0; i < rows; ++i) {
          float* si = s + i * d.Np;
          logits_row(si, d, scale, mv.row(b, h, m0 + i), mv.sn);
          v8f mx = splat(-FLT_MAX);
          for (int64_t j = 0; j < d.Np; j += 8) mx = vmax(mx, vload(si + j));
          const float top = hmax(mx);
          for (int64_t j = 0; j < d.Np; j += 8) vstore(si + j, vexp(vload(si + j) - splat(top)));
          // Padding columns out (in a fully masked row, top = -FLT_MAX, they would count as 1
          // like the N real ones: a uniform row, as ops::softmax gives).
          std::fill(si + d.N, si + d.Np, 0.0f);
          v8f sum = v8f{};
          for (int64_t j = 0; j < d.Np; j += 8) sum += vload(si + j);
          const float total = hsum(sum);
          const float inv = 1.0f / total;
          if (pst) pst[(bh * d.M + m0 + i) * 2] = top, pst[(bh * d.M + m0 + i) * 2 + 1] = inv;
          if (drop) {
            stream.fill(ws.z.data(), d.N);  // the padding of z stays 0
            const float* z = ws.z.data();
            for (int64_t j = 0; j < d.Np; j += 8)
              vstore(si + j, vload(si + j) * vload(z + j) * splat(inv));
          } else {
            for (int64_t j = 0; j < d.Np; j += 8) vstore(si + j, vload(si + j) * splat(inv));
          }
        }
        gemm_rows(s, d.Np, 1, rows, ws.vp.data(), d.dhp, d.N, ws.ob.data(), d.dhp, false);
        for (int64_t i = 0; i < rows; ++i)
          copy_floats(po + (b * d.M + m0 + i) * d.D + h * d.dh, ws.ob.data() + i * d.dhp, d.dh);
      }
    }
  }
  if (!recording) return Var(std::move(out));
  return record(
      std::move(out), {q, kv},
      [stats, mask = mask.defined() ? mask.clone() : Tensor(), d, scale, drop, seed, threshold,
       keep_scale, gemm_rows](Node& self) {
        Node &nq = *self.inputs[0], &nkv = *self.inputs[1];
        const GradTarget tq = nq.requires_grad ? grad_target(nq) : GradTarget{};
        const GradTarget tkv = nkv.requires_grad ? grad_target(nkv) : GradTarget{};
        if (!tq.data && !tkv.data) return;
        const float* bq = nq.value.data();
        const float* bkv = nkv.value.data();
        const float* bo = self.value.data();
        const float* bg = self.grad.data();
        const float* bst = stats.data();
        const MaskView bm = mask_view(mask, {d.B, d.H, d.M, d.N});
        count_matmul_flops(10 * d.B * d.H * d.M * d.N * d.dh);  // S again, dP, dV, dK, dq
        auto put = [](float* dst, const float* src, int64_t n, bool accumulate) {
          if (accumulate)
            for (int64_t x = 0; x < n; ++x) dst[x] += src[x];
          else
            copy_floats(dst, src, n);
        };
#pragma omp parallel if (worth_threads(d))
        {
          Workspace ws(d, true);
          DropoutStream stream(seed, threshold, keep_scale);
          std::vector<float> di(static_cast<size_t>(kBlockRows));
#pragma omp for schedule(static)
          for (int64_t bh = 0; bh < d.B * d.H; ++bh) {
            const int64_t b = bh / d.H, h = bh % d.H;
            const float* kb = bkv + b * d.N * 2 * d.D + h * d.dh;
            pack_transposed(kb, 2 * d.D, d, ws.kt.data());
            pack_transposed(kb + d.D, 2 * d.D, d, ws.vt.data());
            pack_rows(kb, 2 * d.D, d.N, d.dh, ws.kp.data(), d.dhp);
            std::fill(ws.dk.begin(), ws.dk.end(), 0.0f);
            std::fill(ws.dv.begin(), ws.dv.end(), 0.0f);
            for (int64_t m0 = 0; m0 < d.M; m0 += kBlockRows) {
              const int64_t rows = std::min(kBlockRows, d.M - m0);
              const int64_t r0 = b * d.M + m0;  // first row of q, out, grad
              pack_rows(bq + r0 * d.D + h * d.dh, d.D, rows, d.dh, ws.qb.data(), d.dhp);
              pack_rows(bg + r0 * d.D + h * d.dh, d.D, rows, d.dh, ws.gb.data(), d.dhp);
              for (int64_t i = 0; i < rows; ++i) {  // <dO, O> per row: sum_j P dP with dropout
                const float* gi = ws.gb.data() + i * d.dhp;
                const float* oi = bo + (r0 + i) * d.D + h * d.dh;
                v8f acc = v8f{};
                int64_t x = 0;
                for (; x + 8 <= d.dh; x += 8) acc += vload(gi + x) * vload(oi + x);
                float s = hsum(acc);
                for (; x < d.dh; ++x) s += gi[x] * oi[x];
                di[static_cast<size_t>(i)] = s;
              }
              float* p = ws.s.data();
              float* pd = drop ? ws.pd.data() : p;
              float* g = ws.g.data();
              gemm_abt(ws.qb.data(), d.dhp, rows, ws.kt.data(), d.Np, d.dhp, d.Np, p, d.Np);
              gemm_abt(ws.gb.data(), d.dhp, rows, ws.vt.data(), d.Np, d.dhp, d.Np, g, d.Np);
              if (drop) stream.seek((bh * d.M + m0) * d.N);
              for (int64_t i = 0; i < rows; ++i) {
                float* pi = p + i * d.Np;
                float* gi = g + i * d.Np;
                const float top = bst[(bh * d.M + m0 + i) * 2];
                const float inv = bst[(bh * d.M + m0 + i) * 2 + 1];
                logits_row(pi, d, scale, bm.row(b, h, m0 + i), bm.sn);
                probabilities_row(pi, d, top, inv);
                const float dii = di[static_cast<size_t>(i)];
                if (top == -FLT_MAX) {
                  // Fully masked row: uniform weights, no gradient into the logits (the general
                  // path multiplies the softmax gradient by the mask).
                  std::fill(gi, gi + d.Np, 0.0f);
                  if (drop) {
                    stream.fill(ws.z.data(), d.N);
                    float* pdi = pd + i * d.Np;
                    for (int64_t j = 0; j < d.N; ++j) pdi[j] = pi[j] * ws.z[static_cast<size_t>(j)];
                    std::fill(pdi + d.N, pdi + d.Np, 0.0f);
                  }
                  continue;
                }
                if (drop) {
                  stream.fill(ws.z.data(), d.N);
                  std::fill(ws.z.begin() + d.N, ws.z.end(), 0.0f);
                  float* pdi = pd + i * d.Np;
                  const float* z = ws.z.data();
                  for (int64_t j = 0; j < d.Np; j += 8) {
                    const v8f pv = vload(pi + j), zv = vload(z + j);
                    vstore(pdi + j, pv * zv);
                    vstore(gi + j, pv * (vload(gi + j) * zv - splat(dii)) * splat(scale));
                  }
                } else {
                  for (int64_t j = 0; j < d.Np; j += 8) {
                    const v8f pv = vload(pi + j);
                    vstore(gi + j, pv * (vload(gi + j) - splat(dii)) * splat(scale));
                  }
                }
              }
              // dV += Pd^T dO, dK += dS^T q over this block's rows; dq = dS K.
              if (tkv.data) {
                gemm_rows(pd, 1, d.Np, d.N, ws.gb.data(), d.dhp, rows, ws.dv.data(), d.dhp, true);
                gemm_rows(g, 1, d.Np, d.N, ws.qb.data(), d.dhp, rows, ws.dk.data(), d.dhp, true);
              }
              if (tq.data) {
                gemm_rows(g, d.Np, 1, rows, ws.kp.data(), d.dhp, d.N, ws.ob.data(), d.dhp, false);
                for (int64_t i = 0; i < rows; ++i)
                  put(tq.data + (r0 + i) * d.D + h * d.dh, ws.ob.data() + i * d.dhp, d.dh,
                      tq.accumulate);
              }
            }
            if (tkv.data)
              for (int64_t j = 0; j < d.N; ++j) {
                float* row = tkv.data + (b * d.N + j) * 2 * d.D + h * d.dh;
                put(row, ws.dk.data() + j * d.dhp, d.dh, tkv.accumulate);
                put(row + d.D, ws.dv.data() + j * d.dhp, d.dh, tkv.accumulate);
              }
          }
        }
      });
}

}  // namespace tca::ops
