// Matmul efficiency (issue 12 (e)): the raw oneDNN f32 matmul peak of this run (plain layouts,
// a primitive created once and executed directly: 2048^3 and [16384 x 64] x [64 x 256]), and the
// largest matmuls of the benchmarked workloads run through our op layer (ops::linear,
// ops::matmul: primitive cache, argument binding, output allocation included) with the
// workloads' exact shapes, forward and, for training shapes, forward + backward (3x the FLOPs).
// Each workload row also gets the raw oneDNN matmul of the same shape, which separates what our
// op layer loses from what the shape itself allows.
#include <fmt/format.h>

#include <algorithm>
#include <dnnl.hpp>

#include "autograd/ops.hpp"
#include "bench/bench.hpp"
#include "bench/inference_paths.hpp"
#include "core/dnnl_context.hpp"
#include "models/tree_cross_attention.hpp"

namespace tca::bench {

namespace {

struct RawResult {
  double gflops = 0;
  std::string impl;
  TimingResult timing;
};

double matmul_flops(int64_t batch, int64_t m, int64_t k, int64_t n) {
  return 2.0 * static_cast<double>(batch) * static_cast<double>(m) * static_cast<double>(k) *
         static_cast<double>(n);
}

// [batch, m, k] x [batch, k, n] (b given as [batch, n, k] transposed through strides when trans_b),
// plain row-major f32, one primitive executed directly.
RawResult raw_matmul(const BenchOptions& o, int64_t batch, int64_t m, int64_t k, int64_t n,
                     bool trans_b) {
  using dnnl::memory;
  dnnl::engine& eng = dnnl_engine();
  memory::desc a_md({batch, m, k}, memory::data_type::f32, memory::dims{m * k, k, 1});
  memory::desc b_md({batch, k, n}, memory::data_type::f32,
                    trans_b ? memory::dims{n * k, 1, k} : memory::dims{k * n, n, 1});
  memory::desc c_md({batch, m, n}, memory::data_type::f32, memory::dims{m * n, n, 1});
  dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a_md, b_md, c_md), eng);
  dnnl::matmul prim(pd);
  memory A(a_md, eng), B(b_md, eng), C(c_md, eng);
  auto fill = [](memory& mem, float v) {
    float* p = static_cast<float*>(mem.get_data_handle());
    const size_t count = mem.get_desc().get_size() / sizeof(float);
    for (size_t i = 0; i < count; ++i) p[i] = v * static_cast<float>(i % 17) - 0.5f;
  };
  fill(A, 0.03f);
  fill(B, 0.05f);
  RawResult r;
  r.impl = pd.impl_info_str();
  r.timing = measure_figure(o, [&] {
    prim.execute(dnnl_stream(), {{DNNL_ARG_SRC, A}, {DNNL_ARG_WEIGHTS, B}, {DNNL_ARG_DST, C}});
    dnnl_stream().wait();
  });
  r.gflops = matmul_flops(batch, m, k, n) / r.timing.median_s * 1e-9;
  return r;
}

Tensor filled(const Shape& s, float scale) {
  Tensor t = Tensor::empty(s);
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = scale * static_cast<float>(i % 13) - 0.3f;
  return t;
}

struct Workload {
  std::string name;  // what it is and where it runs
  std::string op;    // linear | matmul
  int64_t batch, m, k, n;
  bool trans_b;   // matmul: b stored [batch, n, k] (q k^T)
  bool backward;  // also time forward + backward
};

}  // namespace

double raw_matmul_peak_gflops(const BenchOptions& o) {
  const int64_t square = o.quick ? 1024 : 2048;
  return raw_matmul(o, 1, square, square, square, false).gflops;
}

nlohmann::json bench_matmul(const BenchOptions& o) {
  nlohmann::json rows = nlohmann::json::array();
  // The raw peak: the largest square shape, and the tall-skinny shape of the FF layers.
  const int64_t square = o.quick ? 1024 : 2048;
  double peak = 0;
  for (auto [m, k, n] :
       {std::array<int64_t, 3>{square, square, square}, std::array<int64_t, 3>{16384, 64, 256}}) {
    const RawResult r = raw_matmul(o, 1, m, k, n, false);
    peak = std::max(peak, r.gflops);
    rows.push_back({{"kind", "matmul"},
                    {"name", fmt::format("raw oneDNN matmul {}x{}x{}", m, k, n)},
                    {"op", "raw"},
                    {"pass", "fwd"},
                    {"batch", 1},
                    {"m", m},
                    {"k", k},
                    {"n", n},
                    {"us", 1e6 * r.timing.median_s},
                    {"gflops", r.gflops},
                    {"impl", r.impl},
                    {"timing", r.timing.to_json()}});
    o.say(fmt::format("matmul raw {}x{}x{}: {:.1f} GFLOP/s ({})", m, k, n, r.gflops, r.impl));
  }
  for (auto& row : rows) row["peak_gflops"] = peak;

  // The largest matmuls of each workload (shapes from tca.md 6 and the inference setup).
  const int64_t big_n = int64_t{1} << o.max_log2_n;
  const int64_t chunk =
      ca_query_chunk(4, big_n, o.queries, kCaBenchMaxWeights);  // bench_infer's CA chunk
  const std::string nn = fmt::format("2^{}", o.max_log2_n);
  std::vector<Workload> work = {
      {"train copy T=256: FF linear1 [B*N, 64] -> [B*N, 256]", "linear", 1, 128 * 128, 64, 256,
       false, true},
      {"train copy T=256: FF linear2 [B*N, 128] -> [B*N, 64]", "linear", 1, 128 * 128, 128, 64,
       false, true},
      {"train copy T=256: attention logits q k^T [B*H: 128x16 . 16x128]", "matmul", 128 * 4, 128,
       16, 128, true, true},
      {"train copy T=256: attention weights . v [B*H: 128x128 . 128x16]", "matmul", 128 * 4, 128,
       128, 16, false, true},
      {"train GP: FF linear1 [B*N, 64] -> [B*N, 256]", "linear", 1, 16 * 25, 64, 256, false, true},
      {"infer CA N=" + nn + ": logits q k^T [H: chunk x16 . 16xN]", "matmul", 4, chunk, 16, big_n,
       true, false},
      {"infer CA N=" + nn + ": weights . v [H: chunk xN . Nx16]", "matmul", 4, chunk, big_n, 16,
       false, false},
      {"infer build N=" + nn + ": key/value projection [N, 64] -> [N, 64]", "linear", 1, big_n, 64,
       64, false, false},
      // The TCA build runs its aggregator chunk by chunk (TreeCrossAttention::build_index).
      {fmt::format("infer TCA build: aggregator FF linear1 on one chunk [{0}, 64] -> [{0}, 256]",
                   kIndexBuildChunkRows),
       "linear", 1, kIndexBuildChunkRows, 64, 256, false, false},
  };
  if (o.quick) work.erase(work.begin() + 1);  // the quick run keeps one FF shape of the copy task
  for (const Workload& w : work) {
    // Operands as the op layer sees them: linear x [m, k], weight [n, k]; matmul a [batch, m, k],
    // b [batch, k, n] or [batch, n, k] (trans_b).
    Var a, b;
    if (w.op == "linear") {
      a = Var(filled({w.m, w.k}, 0.01f), true);
      b = Var(filled({w.n, w.k}, 0.02f), true);
    } else {
      a = Var(filled({w.batch, w.m, w.k}, 0.01f), true);
      b = Var(filled(w.trans_b ? Shape{w.batch, w.n, w.k} : Shape{w.batch, w.k, w.n}, 0.02f), true);
    }
    auto forward = [&] {
      return w.op == "linear" ? ops::linear(a, b) : ops::matmul(a, b, false, w.trans_b);
    };
    const double flops = matmul_flops(w.batch, w.m, w.k, w.n);
    const RawResult raw = raw_matmul(o, w.batch, w.m, w.k, w.n, w.trans_b || w.op == "linear");
    for (bool with_backward : {false, true}) {
      if (with_backward && !w.backward) continue;
      Tensor seed;
      const TimingResult t = measure_figure(o, [&] {
        if (!with_backward) {
          NoGradGuard no_grad;
          Var y = forward();
          return;
        }
        Var y = forward();
        if (!seed.defined()) seed = filled(y.shape(), 0.001f);
        y.backward(seed);
        a.zero_grad();
        b.zero_grad();
      });
      const double total = flops * (with_backward ? 3.0 : 1.0);
      const double gflops = total / t.median_s * 1e-9;
      rows.push_back({{"kind", "matmul"},
                      {"name", w.name},
                      {"op", w.op},
                      {"pass", with_backward ? "fwd+bwd" : "fwd"},
                      {"batch", w.batch},
                      {"m", w.m},
                      {"k", w.k},
                      {"n", w.n},
                      {"us", 1e6 * t.median_s},
                      {"gflops", gflops},
                      {"peak_gflops", peak},
                      {"fraction_of_peak", gflops / peak},
                      {"raw_same_shape_gflops", raw.gflops},
                      {"raw_impl", raw.impl},
                      {"timing", t.to_json()}});
      o.say(fmt::format("matmul {} ({}): {:.1f} GFLOP/s = {:.0f}% of peak (raw same shape {:.1f})",
                        w.name, with_backward ? "fwd+bwd" : "fwd", gflops, 100 * gflops / peak,
                        raw.gflops));
    }
  }
  return rows;
}

}  // namespace tca::bench
