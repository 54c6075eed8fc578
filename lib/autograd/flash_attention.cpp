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
// The two matmul shapes are small register-tiled kernels on GCC vector extensions (8 floats: AVX2
// under -march=x86-64-v3, two SSE halves elsewhere; no AVX-512 assumed), exp is a vectorised
// Cephes polynomial (about 2 ulp). Everything inside a pair runs on one thread in a fixed order,
// so results do not depend on the thread count.
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>
#include <vector>

#include "autograd/dropout_stream.hpp"
#include "autograd/flop_counter.hpp"
#include "autograd/grad_sink.hpp"
#include "autograd/ops.hpp"
#include "core/error.hpp"

namespace tca::ops {
namespace {

typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));

constexpr int64_t kBlockRows = 64;  // queries per tile: S, P, dS tiles are [64, N] floats

inline v8f vload(const float* p) {
  v8f v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void vstore(float* p, v8f v) { std::memcpy(p, &v, sizeof v); }
inline v8f splat(float a) { return v8f{a, a, a, a, a, a, a, a}; }
inline v8f vselect(v8i m, v8f a, v8f b) { return (v8f)(((v8i)a & m) | ((v8i)b & ~m)); }
inline v8f vmax(v8f a, v8f b) { return vselect(a > b, a, b); }
inline float hmax(v8f v) {
  float m = v[0];
  for (int i = 1; i < 8; ++i) m = std::max(m, v[i]);
  return m;
}
inline float hsum(v8f v) {
  return ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7]));
}

// exp(x), Cephes expf: x = n ln2 + r, |r| <= ln2 / 2, a degree-6 polynomial in r, times 2^n.
// Below ln(FLT_MIN) the result is exactly 0 (masked logits: exp(-FLT_MAX - max) = 0, as oneDNN).
// Only called on x <= 0 (logits minus their row max); x is capped at 88 all the same.
inline v8f vexp(v8f x) {
  const v8f lo = splat(-87.33654475f);
  const v8i under = x < lo;
  x = vselect(x > splat(88.0f), splat(88.0f), x);
  x = vselect(under, lo, x);
  const v8f magic = splat(12582912.0f);  // 1.5 * 2^23: adding it rounds to an integer
  const v8f n = (x * splat(1.44269504088896341f) + magic) - magic;
  v8f r = x - n * splat(0.693359375f);
  r = r - n * splat(-2.12194440e-4f);
  v8f y = splat(1.9875691500e-4f);
  y = y * r + splat(1.3981999507e-3f);
  y = y * r + splat(8.3334519073e-3f);
  y = y * r + splat(4.1665795894e-2f);
  y = y * r + splat(1.6666665459e-1f);
  y = y * r + splat(5.0000001201e-1f);
  y = y * (r * r) + r + splat(1.0f);
  const v8i e = (__builtin_convertvector(n, v8i) + 127) << 23;
  y = y * (v8f)e;
  return (v8f)((v8i)y & ~under);
}

// ---- kernel 1: c[r, j] = sum_x a[r, x] bt[x, j], 16 columns at a time --------------------------
template <int R>
void tile_abt(const float* a, int64_t lda, const float* bt, int64_t ldb, int64_t K, float* c,
              int64_t ldc) {
  v8f acc[R][2];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) acc[r][0] = acc[r][1] = v8f{};
  for (int64_t x = 0; x < K; ++x) {
    const v8f b0 = vload(bt + x * ldb), b1 = vload(bt + x * ldb + 8);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const v8f av = splat(a[r * lda + x]);
      acc[r][0] += av * b0;
      acc[r][1] += av * b1;
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r) {
    vstore(c + r * ldc, acc[r][0]);
    vstore(c + r * ldc + 8, acc[r][1]);
  }
}

template <int R>
void tile_abt_rem(int rem, const float* a, int64_t lda, const float* bt, int64_t ldb, int64_t K,
                  float* c, int64_t ldc) {
  if (rem == R)
    tile_abt<R>(a, lda, bt, ldb, K, c, ldc);
  else if constexpr (R > 1)
    tile_abt_rem<R - 1>(rem, a, lda, bt, ldb, K, c, ldc);
}

// c [rows, cols] = a [rows, K] bt [K, cols]; cols a multiple of 16.
void gemm_abt(const float* a, int64_t lda, int64_t rows, const float* bt, int64_t ldb, int64_t K,
              int64_t cols, float* c, int64_t ldc) {
  constexpr int kR = 6;  // 12 accumulators
  for (int64_t j0 = 0; j0 < cols; j0 += 16)
    for (int64_t r0 = 0; r0 < rows; r0 += kR)
      tile_abt_rem<kR>(static_cast<int>(std::min<int64_t>(kR, rows - r0)), a + r0 * lda, lda,
                       bt + j0, ldb, K, c + r0 * ldc + j0, ldc);
}

// ---- kernel 2: c[r, 0:8 DV] (+)= sum_k a(r, k) b[k, 0:8 DV], a(r, k) = a[r ars + k aks]
// ----------
template <int R, int DV>
void tile_acc(const float* a, int64_t ars, int64_t aks, const float* b, int64_t ldb, int64_t K,
              float* c, int64_t ldc, bool accumulate) {
  v8f acc[R][DV];
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int v = 0; v < DV; ++v) acc[r][v] = accumulate ? vload(c + r * ldc + 8 * v) : v8f{};
  for (int64_t k = 0; k < K; ++k) {
    v8f bv[DV];
#pragma GCC unroll 8
    for (int v = 0; v < DV; ++v) bv[v] = vload(b + k * ldb + 8 * v);
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) {
      const v8f av = splat(a[r * ars + k * aks]);
#pragma GCC unroll 8
      for (int v = 0; v < DV; ++v) acc[r][v] += av * bv[v];
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < R; ++r)
#pragma GCC unroll 8
    for (int v = 0; v < DV; ++v) vstore(c + r * ldc + 8 * v, acc[r][v]);
}

template <int R, int DV>
void tile_acc_rem(int rem, const float* a, int64_t ars, int64_t aks, const float* b, int64_t ldb,
                  int64_t K, float* c, int64_t ldc, bool accumulate) {
  if (rem == R)
    tile_acc<R, DV>(a, ars, aks, b, ldb, K, c, ldc, accumulate);
  else if constexpr (R > 1)
    tile_acc_rem<R - 1, DV>(rem, a, ars, aks, b, ldb, K, c, ldc, accumulate);
}

// c [rows, 8 DV] (+)= a(rows, K) b [K, 8 DV].
template <int DV>
void gemm_acc(const float* a, int64_t ars, int64_t aks, int64_t rows, const float* b, int64_t ldb,
              int64_t K, float* c, int64_t ldc, bool accumulate) {
  constexpr int kR = DV >= 7 ? 1 : DV >= 5 ? 2 : DV == 4 ? 3 : DV == 3 ? 4 : 6;  // <= 12 acc
  for (int64_t r0 = 0; r0 < rows; r0 += kR)
    tile_acc_rem<kR, DV>(static_cast<int>(std::min<int64_t>(kR, rows - r0)), a + r0 * ars, ars, aks,
                         b, ldb, K, c + r0 * ldc, ldc, accumulate);
}

using GemmAcc = void (*)(const float*, int64_t, int64_t, int64_t, const float*, int64_t, int64_t,
                         float*, int64_t, bool);

GemmAcc gemm_acc_for(int64_t dv) {
  switch (dv) {
    case 1:
      return gemm_acc<1>;
    case 2:
      return gemm_acc<2>;
    case 3:
      return gemm_acc<3>;
    case 4:
      return gemm_acc<4>;
    case 5:
      return gemm_acc<5>;
    case 6:
      return gemm_acc<6>;
    case 7:
      return gemm_acc<7>;
    default:
      return gemm_acc<8>;
  }
}

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
