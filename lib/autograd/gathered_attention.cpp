#include <omp.h>

#include "autograd/ops.hpp"
#include "core/error.hpp"

namespace tca::ops {
namespace {

void check_rows(const char* op, const Tensor& rows, int64_t Q, int64_t R) {
  check_dtype(op, rows, DType::i32);
  if (rows.rank() != 2 || rows.dim(0) != Q)
    throw ShapeError(std::string(op) + ": rows " + to_string(rows.shape()) + " for " +
                     std::to_string(Q) + " queries");
  const int32_t* r = rows.data_i32();
  for (int64_t i = 0; i < rows.numel(); ++i)
    if (r[i] < 0 || r[i] >= R)
      throw ShapeError(std::string(op) + ": row " + std::to_string(r[i]) +
                       " out of range for a table of " + std::to_string(R));
}

// The table gradient of a gather: add(q, j, row) for every pair whose row is rows[q, j]. Rows
// repeat (every query of a set visits its root's children), so instead of splitting the pairs,
// each thread owns a contiguous range of table rows and adds, in the serial (q, j) order, only
// the pairs that land in it: every row's sum is the serial one, bit for bit, at any thread count.
// The table holds the rows of all context sets one after the other, so the ranges share the work
// when there are several sets (training batches); with one set, the first range holds the top of
// the tree and does more of it.
template <class Add>
void scatter_to_rows(int64_t Q, int64_t n, const int32_t* rows, int64_t R, bool parallel, Add add) {
#pragma omp parallel if (parallel)
  {
    const int64_t T = omp_get_num_threads(), t = omp_get_thread_num();
    const int64_t lo = R * t / T, hi = R * (t + 1) / T;
    for (int64_t q = 0; q < Q; ++q)
      for (int64_t j = 0; j < n; ++j) {
        const int64_t row = rows[q * n + j];
        if (row >= lo && row < hi) add(q, j, row);
      }
  }
}

}  // namespace

Var gathered_dot(const Var& query, const Var& table, const Tensor& rows, int64_t heads,
                 float scale) {
  const int64_t Q = query.dim(0), D = query.dim(1), R = table.dim(0),
                n = rows.rank() == 2 ? rows.dim(1) : 0;
  if (query.rank() != 2 || table.rank() != 2 || table.dim(1) != D || heads <= 0 || D % heads)
    throw ShapeError("gathered_dot: query " + to_string(query.shape()) + ", table " +
                     to_string(table.shape()) + ", heads " + std::to_string(heads));
  check_rows("gathered_dot", rows, Q, R);
  const int64_t H = heads, dh = D / H;
  Tensor out = Tensor::empty({Q, H, n});
  const float* pq = query.value().data();
  const float* pt = table.value().data();
  const int32_t* pr = rows.data_i32();
  float* po = out.data();
#pragma omp parallel for schedule(static) if (Q * n * D > 65536)
  for (int64_t q = 0; q < Q; ++q)
    for (int64_t h = 0; h < H; ++h) {
      const float* qh = pq + q * D + h * dh;
      for (int64_t j = 0; j < n; ++j) {
        const float* t = pt + pr[q * n + j] * D + h * dh;
        float s = 0;
#pragma omp simd reduction(+ : s)
        for (int64_t x = 0; x < dh; ++x) s += qh[x] * t[x];
        po[(q * H + h) * n + j] = s * scale;
      }
    }
  return record(
      std::move(out), {query, table},
      [rows = grad_enabled() ? rows.clone() : Tensor(), Q, H, dh, D, n, scale](Node& self) {
        Node &nq = *self.inputs[0], &nt = *self.inputs[1];
        const float* g = self.grad.data();
        const int32_t* r = rows.data_i32();
        if (nq.requires_grad) {  // dq[q, h] = scale sum_j g[q,h,j] t[rows[q,j], h]
          float* dq = nq.grad_buffer().data();
          const float* t = nt.value.data();
#pragma omp parallel for schedule(static) if (Q * n * D > 65536)
          for (int64_t q = 0; q < Q; ++q)
            for (int64_t h = 0; h < H; ++h)
              for (int64_t j = 0; j < n; ++j) {
                const float gj = scale * g[(q * H + h) * n + j];
                const float* tr = t + r[q * n + j] * D + h * dh;
                float* d = dq + q * D + h * dh;
#pragma omp simd
                for (int64_t x = 0; x < dh; ++x) d[x] += gj * tr[x];
              }
        }
        if (nt.requires_grad) {  // dt[rows[q,j], h] += scale g[q,h,j] q[q, h]
          float* dt = nt.grad_buffer().data();
          const float* qv = nq.value.data();
          scatter_to_rows(Q, n, r, nt.value.dim(0), Q * n * D > 65536,
                          [&](int64_t q, int64_t j, int64_t row) {
                            float* d = dt + row * D;
                            for (int64_t h = 0; h < H; ++h) {
                              const float gj = scale * g[(q * H + h) * n + j];
                              const float* qh = qv + q * D + h * dh;
#pragma omp simd
                              for (int64_t x = 0; x < dh; ++x) d[h * dh + x] += gj * qh[x];
                            }
                          });
        }
      });
}

Var gathered_weighted_sum(const Var& weights, const Var& table, const Tensor& rows) {
  const int64_t Q = weights.dim(0), H = weights.dim(1), n = weights.dim(2), R = table.dim(0),
                D = table.dim(1);
  if (weights.rank() != 3 || table.rank() != 2 || D % H)
    throw ShapeError("gathered_weighted_sum: weights " + to_string(weights.shape()) + ", table " +
                     to_string(table.shape()));
  check_rows("gathered_weighted_sum", rows, Q, R);
  if (rows.dim(1) != n)
    throw ShapeError("gathered_weighted_sum: rows " + to_string(rows.shape()) + " vs weights " +
                     to_string(weights.shape()));
  const int64_t dh = D / H;
  Tensor out = Tensor::zeros({Q, D});
  const float* pw = weights.value().data();
  const float* pt = table.value().data();
  const int32_t* pr = rows.data_i32();
  float* po = out.data();
#pragma omp parallel for schedule(static) if (Q * n * D > 65536)
  for (int64_t q = 0; q < Q; ++q)
    for (int64_t j = 0; j < n; ++j) {
      const float* t = pt + pr[q * n + j] * D;
      for (int64_t h = 0; h < H; ++h) {
        const float w = pw[(q * H + h) * n + j];
#pragma omp simd
        for (int64_t x = 0; x < dh; ++x) po[q * D + h * dh + x] += w * t[h * dh + x];
      }
    }
  return record(std::move(out), {weights, table},
                [rows = grad_enabled() ? rows.clone() : Tensor(), Q, H, dh, D, n](Node& self) {
                  Node &nw = *self.inputs[0], &nt = *self.inputs[1];
                  const float* g = self.grad.data();
                  const int32_t* r = rows.data_i32();
                  if (nw.requires_grad) {  // dw[q,h,j] = <g[q, h], t[rows[q,j], h]>
                    float* dw = nw.grad_buffer().data();
                    const float* t = nt.value.data();
#pragma omp parallel for schedule(static) if (Q * n * D > 65536)
                    for (int64_t q = 0; q < Q; ++q)
                      for (int64_t j = 0; j < n; ++j) {
                        const float* tr = t + r[q * n + j] * D;
                        for (int64_t h = 0; h < H; ++h) {
                          float s = 0;
#pragma omp simd reduction(+ : s)
                          for (int64_t x = 0; x < dh; ++x)
                            s += g[q * D + h * dh + x] * tr[h * dh + x];
                          dw[(q * H + h) * n + j] += s;
                        }
                      }
                  }
                  if (nt.requires_grad) {  // dt[rows[q,j], h] += w[q,h,j] g[q, h]
                    float* dt = nt.grad_buffer().data();
                    const float* w = nw.value.data();
                    scatter_to_rows(Q, n, r, nt.value.dim(0), Q * n * D > 65536,
                                    [&](int64_t q, int64_t j, int64_t row) {
                                      float* d = dt + row * D;
                                      for (int64_t h = 0; h < H; ++h) {
                                        const float wj = w[(q * H + h) * n + j];
#pragma omp simd
                                        for (int64_t x = 0; x < dh; ++x)
                                          d[h * dh + x] += wj * g[q * D + h * dh + x];
                                      }
                                    });
                  }
                });
}

}  // namespace tca::ops
