// The fused attention's SIMD kernels (issue 23), used only by flash_attention.cpp: 8-float
// vectors on GCC vector extensions (AVX2 under -march=x86-64-v3, two SSE halves elsewhere; no
// AVX-512 assumed), a vectorised exp, and the two register-tiled matmul shapes of the forward and
// backward passes. Separate from the op so that flash_attention.cpp reads as the algorithm.
// Everything is static (internal linkage), as it was in the .cpp's unnamed namespace: as plain
// inline functions GCC 12 inlined the tiles differently, while static gives an object file whose
// functions are instruction for instruction those of the single-file version (objdump -d).
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>

namespace tca::ops::flash_kernels {

typedef float v8f __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));

static inline v8f vload(const float* p) {
  v8f v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
static inline void vstore(float* p, v8f v) { std::memcpy(p, &v, sizeof v); }
static inline v8f splat(float a) { return v8f{a, a, a, a, a, a, a, a}; }
static inline v8f vselect(v8i m, v8f a, v8f b) { return (v8f)(((v8i)a & m) | ((v8i)b & ~m)); }
static inline v8f vmax(v8f a, v8f b) { return vselect(a > b, a, b); }
static inline float hmax(v8f v) {
  float m = v[0];
  for (int i = 1; i < 8; ++i) m = std::max(m, v[i]);
  return m;
}
static inline float hsum(v8f v) {
  return ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7]));
}

// exp(x), Cephes expf: x = n ln2 + r, |r| <= ln2 / 2, a degree-6 polynomial in r, times 2^n.
// Below ln(FLT_MIN) the result is exactly 0 (masked logits: exp(-FLT_MAX - max) = 0, as oneDNN).
// Only called on x <= 0 (logits minus their row max); x is capped at 88 all the same.
static inline v8f vexp(v8f x) {
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
static void tile_abt(const float* a, int64_t lda, const float* bt, int64_t ldb, int64_t K, float* c,
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
static void tile_abt_rem(int rem, const float* a, int64_t lda, const float* bt, int64_t ldb,
                         int64_t K, float* c, int64_t ldc) {
  if (rem == R)
    tile_abt<R>(a, lda, bt, ldb, K, c, ldc);
  else if constexpr (R > 1)
    tile_abt_rem<R - 1>(rem, a, lda, bt, ldb, K, c, ldc);
}

// c [rows, cols] = a [rows, K] bt [K, cols]; cols a multiple of 16.
static inline void gemm_abt(const float* a, int64_t lda, int64_t rows, const float* bt, int64_t ldb,
                            int64_t K, int64_t cols, float* c, int64_t ldc) {
  constexpr int kR = 6;  // 12 accumulators
  for (int64_t j0 = 0; j0 < cols; j0 += 16)
    for (int64_t r0 = 0; r0 < rows; r0 += kR)
      tile_abt_rem<kR>(static_cast<int>(std::min<int64_t>(kR, rows - r0)), a + r0 * lda, lda,
                       bt + j0, ldb, K, c + r0 * ldc + j0, ldc);
}

// ---- kernel 2: c[r, 0:8 DV] (+)= sum_k a(r, k) b[k, 0:8 DV], a(r, k) = a[r ars + k aks] -----
template <int R, int DV>
static void tile_acc(const float* a, int64_t ars, int64_t aks, const float* b, int64_t ldb,
                     int64_t K, float* c, int64_t ldc, bool accumulate) {
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
static void tile_acc_rem(int rem, const float* a, int64_t ars, int64_t aks, const float* b,
                         int64_t ldb, int64_t K, float* c, int64_t ldc, bool accumulate) {
  if (rem == R)
    tile_acc<R, DV>(a, ars, aks, b, ldb, K, c, ldc, accumulate);
  else if constexpr (R > 1)
    tile_acc_rem<R - 1, DV>(rem, a, ars, aks, b, ldb, K, c, ldc, accumulate);
}

// c [rows, 8 DV] (+)= a(rows, K) b [K, 8 DV].
template <int DV>
static void gemm_acc(const float* a, int64_t ars, int64_t aks, int64_t rows, const float* b,
                     int64_t ldb, int64_t K, float* c, int64_t ldc, bool accumulate) {
  constexpr int kR = DV >= 7 ? 1 : DV >= 5 ? 2 : DV == 4 ? 3 : DV == 3 ? 4 : 6;  // <= 12 acc
  for (int64_t r0 = 0; r0 < rows; r0 += kR)
    tile_acc_rem<kR, DV>(static_cast<int>(std::min<int64_t>(kR, rows - r0)), a + r0 * ars, ars, aks,
                         b, ldb, K, c + r0 * ldc, ldc, accumulate);
}

using GemmAcc = void (*)(const float*, int64_t, int64_t, int64_t, const float*, int64_t, int64_t,
                         float*, int64_t, bool);

static inline GemmAcc gemm_acc_for(int64_t dv) {
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

}  // namespace tca::ops::flash_kernels
