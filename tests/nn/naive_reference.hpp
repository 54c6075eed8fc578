// Independent naive double-precision versions of the nn blocks (tca.md 1; reference README 4),
// written from the formulas, not from lib/: plain loops over row-major matrices. The nn and model
// tests compare the float32 library against them.
#pragma once
#include <doctest/doctest.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <vector>

#include "autograd/variable.hpp"
#include "core/rng.hpp"
#include "nn/module.hpp"

namespace tca::naive {

using Vec = std::vector<double>;

// A row-major matrix of doubles.
struct Mat {
  int64_t rows = 0, cols = 0;
  Vec v;
  Mat() = default;
  Mat(int64_t r, int64_t c, double fill = 0.0)
      : rows(r), cols(c), v(static_cast<size_t>(r * c), fill) {}
  double& operator()(int64_t r, int64_t c) { return v[static_cast<size_t>(r * cols + c)]; }
  double operator()(int64_t r, int64_t c) const { return v[static_cast<size_t>(r * cols + c)]; }
};

// Rows [row0, row0 + rows) of a tensor viewed as [*, cols].
inline Mat to_mat(const Tensor& t, int64_t rows, int64_t cols, int64_t row0 = 0) {
  Mat m(rows, cols);
  for (int64_t i = 0; i < rows * cols; ++i) m.v[static_cast<size_t>(i)] = t[row0 * cols + i];
  return m;
}
inline Mat to_mat(const Var& x, int64_t rows, int64_t cols, int64_t row0 = 0) {
  return to_mat(x.value(), rows, cols, row0);
}
inline Vec to_vec(const Var& x) {
  Vec out(static_cast<size_t>(x.numel()));
  for (int64_t i = 0; i < x.numel(); ++i) out[static_cast<size_t>(i)] = x.value()[i];
  return out;
}
// A Linear's weight [out, in] as a matrix.
inline Mat weight_of(const Var& w) { return to_mat(w, w.dim(0), w.dim(1)); }

// y = x W^T + b (W [out, in], b [out] or empty).
inline Mat linear(const Mat& x, const Mat& W, const Vec& b = {}) {
  Mat y(x.rows, W.rows);
  for (int64_t r = 0; r < x.rows; ++r)
    for (int64_t o = 0; o < W.rows; ++o) {
      double s = b.empty() ? 0.0 : b[static_cast<size_t>(o)];
      for (int64_t i = 0; i < x.cols; ++i) s += x(r, i) * W(o, i);
      y(r, o) = s;
    }
  return y;
}

// (x - mean) / sqrt(biased var + eps) * gain + bias over each row.
inline Mat layer_norm(const Mat& x, const Vec& gain, const Vec& bias, double eps = 1e-5) {
  Mat y(x.rows, x.cols);
  for (int64_t r = 0; r < x.rows; ++r) {
    double mean = 0, var = 0;
    for (int64_t c = 0; c < x.cols; ++c) mean += x(r, c);
    mean /= static_cast<double>(x.cols);
    for (int64_t c = 0; c < x.cols; ++c) var += (x(r, c) - mean) * (x(r, c) - mean);
    var /= static_cast<double>(x.cols);
    for (int64_t c = 0; c < x.cols; ++c)
      y(r, c) = (x(r, c) - mean) / std::sqrt(var + eps) * gain[static_cast<size_t>(c)] +
                bias[static_cast<size_t>(c)];
  }
  return y;
}

template <class F>
Mat map(const Mat& x, F f) {
  Mat y = x;
  for (auto& e : y.v) e = f(e);
  return y;
}
inline double relu(double x) { return x > 0 ? x : 0.0; }
inline double elu(double x) { return x > 0 ? x : std::expm1(x); }
inline double gelu(double x) { return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0))); }

inline Mat add(const Mat& a, const Mat& b) {
  Mat y = a;
  for (size_t i = 0; i < y.v.size(); ++i) y.v[i] += b.v[i];
  return y;
}

// Multi-head attention (tca.md 1): per head h, weights = softmax over keys of q_h . k_h / sqrt(dh)
// with masked logits = -DBL_MAX (a fully masked row is uniform), out = concat_h(weights v_h) Wo^T
// + bo. mask [M, N] (1 keep) or empty. weights[h] is [M, N].
struct AttentionOut {
  Mat out;
  std::vector<Mat> weights;
};
inline AttentionOut attention(const Mat& q_in, const Mat& kv_in, const Mat& Wq, const Mat& Wk,
                              const Mat& Wv, const Mat& Wo, const Vec& bo, int64_t H,
                              const Mat* mask = nullptr) {
  const Mat q = linear(q_in, Wq), k = linear(kv_in, Wk), v = linear(kv_in, Wv);
  const int64_t M = q.rows, N = k.rows, D = q.cols, dh = D / H;
  Mat concat(M, D);
  AttentionOut res;
  for (int64_t h = 0; h < H; ++h) {
    Mat w(M, N);
    for (int64_t i = 0; i < M; ++i) {
      Vec logit(static_cast<size_t>(N));
      for (int64_t j = 0; j < N; ++j) {
        double s = 0;
        for (int64_t c = 0; c < dh; ++c) s += q(i, h * dh + c) * k(j, h * dh + c);
        const bool keep = !mask || (*mask)(i, j) != 0.0;
        logit[static_cast<size_t>(j)] = keep ? s / std::sqrt(static_cast<double>(dh)) : -DBL_MAX;
      }
      const double mx = *std::max_element(logit.begin(), logit.end());
      double total = 0;
      for (int64_t j = 0; j < N; ++j)
        total += (w(i, j) = std::exp(logit[static_cast<size_t>(j)] - mx));
      for (int64_t j = 0; j < N; ++j) w(i, j) /= total;
      for (int64_t c = 0; c < dh; ++c) {
        double s = 0;
        for (int64_t j = 0; j < N; ++j) s += w(i, j) * v(j, h * dh + c);
        concat(i, h * dh + c) = s;
      }
    }
    res.weights.push_back(w);
  }
  res.out = linear(concat, Wo, bo);
  return res;
}

// GEGLU feed-forward: h = x W1^T + b1 (2F wide), a = h[:F], g = h[F:], y = (a * gelu(g)) W2^T + b2.
inline Mat feed_forward(const Mat& x, const Mat& W1, const Vec& b1, const Mat& W2, const Vec& b2) {
  const Mat h = linear(x, W1, b1);
  const int64_t F = h.cols / 2;
  Mat z(x.rows, F);
  for (int64_t r = 0; r < x.rows; ++r)
    for (int64_t c = 0; c < F; ++c) z(r, c) = h(r, c) * gelu(h(r, F + c));
  return linear(z, W2, b2);
}

// max |x - ref| / max |ref| (scale-relative error of a whole tensor).
inline double relative_error(const Mat& ref, const Tensor& x, int64_t offset = 0) {
  double diff = 0, scale = 0;
  for (size_t i = 0; i < ref.v.size(); ++i) {
    diff = std::max(diff,
                    std::abs(static_cast<double>(x[offset + static_cast<int64_t>(i)]) - ref.v[i]));
    scale = std::max(scale, std::abs(ref.v[i]));
  }
  return scale > 0 ? diff / scale : diff;
}

// Every parameter of a module set to U(lo, hi) (LayerNorm gains and biases included, so that an
// ignored LayerNorm parameter shows).
inline void randomize_parameters(const nn::Module& m, Rng& rng, double lo = -1.0, double hi = 1.0) {
  for (auto& [name, p] : m.named_parameters()) {
    Tensor& t = Var(p).mutable_value();
    for (int64_t i = 0; i < t.numel(); ++i) t[i] = static_cast<float>(rng.uniform(lo, hi));
  }
}

inline Tensor random_tensor(const Shape& s, Rng& rng, double lo = -1.0, double hi = 1.0) {
  Tensor t = Tensor::empty(s);
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = static_cast<float>(rng.uniform(lo, hi));
  return t;
}

}  // namespace tca::naive
