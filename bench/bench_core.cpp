// bench_core [--out DIR] [--quick] [--threads T] [--windows N] [--window-ms MS]
// The op layer's cost against raw oneDNN (issue 2, item 11), written as DIR/core.json
// (conventions.md "Benchmark files": {"machine", "versions", "rows"}):
//  - "matmul" rows: ops::linear / ops::matmul under NoGradGuard (and while recording the tape)
//    against the same primitive executed directly on preallocated buffers, for the model sizes
//    (m rows x 64 -> 64/128/256, m = 64 ... 16384), with GFLOP/s and the machine's practical peak
//    (the best raw f32 matmul throughput of the run: a 1024^3 matmul or a raw row);
//  - "per_op" rows: the fixed cost of one small op (64 floats) without and with tape recording,
//    and forward+backward, against a raw loop or the raw primitive;
//  - "crossover" rows: loop vs primitive for elementwise ops by size and thread count (the
//    measurement behind elementwise_kernels.hpp's kLoopMaxElements*).
// Timing: interleaved_timing.hpp (windows hit by a vCPU stall are dropped or taken again).
#include <fmt/format.h>
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "autograd/bound_primitive.hpp"
#include "autograd/elementwise_kernels.hpp"
#include "autograd/ops.hpp"
#include "core/atomic_file.hpp"
#include "core/error.hpp"
#include "core/system_info.hpp"
#include "interleaved_timing.hpp"
#include "io/system_json.hpp"

namespace {

using namespace tca;
using json = nlohmann::json;
using bench_timing::Timed;
using dnnl::memory;

struct Args {
  std::string out = "results/bench";
  bool quick = false;
  int threads = 0;
  int windows = 7;
  double window_s = 0.2;
};

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw UsageError("bench_core: " + k + " needs a value");
      return argv[++i];
    };
    try {
      if (k == "--out")
        a.out = value();
      else if (k == "--quick")
        a.quick = true;
      else if (k == "--threads")
        a.threads = std::stoi(value());
      else if (k == "--windows")
        a.windows = std::stoi(value());
      else if (k == "--window-ms")
        a.window_s = std::stod(value()) / 1000.0;
      else if (k == "--help" || k == "-h") {
        std::puts(
            "bench_core [--out DIR] [--quick] [--threads T] [--windows N] [--window-ms MS]\n"
            "Writes DIR/core.json: op-layer overhead against raw oneDNN (issue 2 item 11).");
        std::exit(0);
      } else {
        throw UsageError("bench_core: unknown option " + k + " (see --help)");
      }
    } catch (const std::logic_error&) {  // stoi/stod
      throw UsageError("bench_core: " + k + " expects a number");
    }
  }
  if (a.windows < 1 || a.window_s <= 0 || a.threads < 0)
    throw UsageError("bench_core: --windows and --window-ms must be positive, --threads >= 0");
  if (a.quick) a.windows = std::min(a.windows, 3);
  return a;
}

Timed time_interleaved(const std::vector<std::function<void()>>& fns, const Args& a) {
  return bench_timing::time_interleaved(fns, a.windows, a.window_s);
}

Tensor random_tensor(const Shape& s, Rng& rng) {
  Tensor t = Tensor::empty(s);
  for (int64_t i = 0; i < t.numel(); ++i) t[i] = static_cast<float>(rng.uniform(-1.0, 1.0));
  return t;
}

// A raw primitive on preallocated buffers, argument map built once: the floor the op layer is
// compared with.
struct Raw {
  dnnl::primitive prim;
  std::unordered_map<int, memory> args;
  std::vector<Tensor> buffers;
  void add(int arg, const memory::desc& md, const Tensor& t) {
    buffers.push_back(t);
    args.emplace(arg, memory(md, tca::dnnl_engine(), const_cast<void*>(buffers.back().raw())));
  }
  void operator()() {
    prim.execute(tca::dnnl_stream(), args);
    tca::dnnl_stream().wait();
  }
};

double peak_gflops(const Args& a) {
  const int64_t n = 1024;
  Rng rng(1);
  memory::desc md({1, n, n}, memory::data_type::f32, memory::format_tag::abc);
  Raw raw;
  raw.prim = dnnl::matmul(
      dnnl::matmul::primitive_desc(dnnl::matmul::desc(md, md, md), tca::dnnl_engine()));
  raw.add(DNNL_ARG_SRC, md, random_tensor({n, n}, rng));
  raw.add(DNNL_ARG_WEIGHTS, md, random_tensor({n, n}, rng));
  raw.add(DNNL_ARG_DST, md, Tensor::empty({n, n}));
  Args b = a;
  b.window_s = std::max(a.window_s, 0.3);
  const Timed t = time_interleaved({[&] { raw(); }}, b);
  return 2.0 * n * n * n / t.best_us[0] / 1e3;  // a peak: the best window, not the median
}

json matmul_rows(const Args& a) {
  json rows = json::array();
  const std::vector<int64_t> ms = a.quick ? std::vector<int64_t>{64, 1024, 16384}
                                          : std::vector<int64_t>{64, 256, 1024, 4096, 16384};
  const int64_t k = 64;
  for (int64_t m : ms)
    for (int64_t n : {64, 128, 256}) {
      Rng rng(static_cast<uint64_t>(m * 1000 + n));
      Tensor x = random_tensor({m, k}, rng), w = random_tensor({n, k}, rng),
             bias = random_tensor({n}, rng);
      Tensor bm = random_tensor({k, n}, rng);
      Var xv(x), wv(w), bv(bias), bmv(bm), xp = parameter(x), wp = parameter(w),
                                           bp = parameter(bias);
      // raw inner_product forward_training, as ops::linear creates it
      memory::desc src({m, k}, memory::data_type::f32, memory::format_tag::nc),
          wd({n, k}, memory::data_type::f32, memory::format_tag::oi),
          bd({n}, memory::data_type::f32, memory::format_tag::x),
          dst({m, n}, memory::data_type::f32, memory::format_tag::nc);
      Raw lin;
      lin.prim = dnnl::inner_product_forward(dnnl::inner_product_forward::primitive_desc(
          dnnl::inner_product_forward::desc(dnnl::prop_kind::forward_training, src, wd, bd, dst),
          tca::dnnl_engine()));
      lin.add(DNNL_ARG_SRC, src, x);
      lin.add(DNNL_ARG_WEIGHTS, wd, w);
      lin.add(DNNL_ARG_BIAS, bd, bias);
      lin.add(DNNL_ARG_DST, dst, Tensor::empty({m, n}));
      // raw matmul [1, m, k] x [1, k, n], as ops::matmul creates it
      memory::desc a3({1, m, k}, memory::data_type::f32, memory::format_tag::abc),
          b3({1, k, n}, memory::data_type::f32, memory::format_tag::abc),
          c3({1, m, n}, memory::data_type::f32, memory::format_tag::abc);
      Raw mm;
      mm.prim = dnnl::matmul(
          dnnl::matmul::primitive_desc(dnnl::matmul::desc(a3, b3, c3), tca::dnnl_engine()));
      mm.add(DNNL_ARG_SRC, a3, x);
      mm.add(DNNL_ARG_WEIGHTS, b3, bm);
      mm.add(DNNL_ARG_DST, c3, Tensor::empty({m, n}));
      const double flop = 2.0 * static_cast<double>(m * k * n);
      struct Variant {
        const char* op;
        std::function<void()> no_grad, recording;
        Raw* raw;
      };
      std::vector<Variant> variants = {{"linear",
                                        [&] {
                                          NoGradGuard g;
                                          ops::linear(xv, wv, bv);
                                        },
                                        [&] { ops::linear(xp, wp, bp); }, &lin},
                                       {"matmul",
                                        [&] {
                                          NoGradGuard g;
                                          ops::matmul(xv, bmv);
                                        },
                                        [&] { ops::matmul(xp, bmv); }, &mm}};
      for (auto& v : variants) {
        const Timed t = time_interleaved({v.no_grad, [&] { (*v.raw)(); }, v.recording}, a);
        json row = {{"kind", "matmul"},
                    {"op", v.op},
                    {"m", m},
                    {"k", k},
                    {"n", n},
                    {"us", t.us[0]},
                    {"us_raw", t.us[1]},
                    {"us_recording", t.us[2]},
                    {"overhead_pct", 100.0 * (t.us[0] - t.us[1]) / t.us[1]},
                    {"gflops", flop / t.us[0] / 1e3},
                    {"gflops_raw", flop / t.us[1] / 1e3},
                    {"windows_kept", t.windows_kept},
                    {"windows", t.windows},
                    {"windows_retried", t.windows_retried}};
        std::printf(
            "%-6s m=%5lld k=%lld n=%3lld  op %9.2f us  raw %9.2f us  overhead %+6.1f%%  recording "
            "%9.2f us  %6.1f GF/s\n",
            v.op, static_cast<long long>(m), static_cast<long long>(k), static_cast<long long>(n),
            t.us[0], t.us[1], row["overhead_pct"].get<double>(), t.us[2],
            row["gflops"].get<double>());
        std::fflush(stdout);
        rows.push_back(row);
      }
    }
  return rows;
}

// A raw oneDNN primitive of one op on 64 floats, for the per-op rows.
Raw raw_eltwise(dnnl::algorithm alg, const Tensor& x, const Tensor& y) {
  const auto md = ops::plain_md({x.numel()});
  Raw r;
  r.prim = dnnl::eltwise_forward(dnnl::eltwise_forward::primitive_desc(
      dnnl::eltwise_forward::desc(dnnl::prop_kind::forward_training, alg, md, 0.0f, 0.0f),
      tca::dnnl_engine()));
  r.add(DNNL_ARG_SRC, md, x);
  r.add(DNNL_ARG_DST, md, y);
  return r;
}

json per_op_rows(const Args& a) {
  json rows = json::array();
  Rng rng(3);
  const int64_t C = 64;
  Tensor x = random_tensor({1, C}, rng), y = random_tensor({1, C}, rng),
         out = Tensor::empty({1, C});
  Tensor gamma = Tensor::full({C}, 1.0f), beta = Tensor::zeros({C}), w = random_tensor({C, C}, rng),
         seed = random_tensor({1, C}, rng);
  Var xv(x), yv(y), xp = parameter(x), yp = parameter(y), gp = parameter(gamma),
                    bp = parameter(beta), wp = parameter(w);
  auto loop_add = [&] {
    const float *p = x.data(), *q = y.data();
    float* o = out.data();
    for (int64_t i = 0; i < C; ++i) o[i] = p[i] + q[i];
    asm volatile("" : : "r"(o) : "memory");
  };
  auto loop_relu = [&] {
    const float* p = x.data();
    float* o = out.data();
    for (int64_t i = 0; i < C; ++i) o[i] = p[i] > 0.0f ? p[i] : 0.0f;
    asm volatile("" : : "r"(o) : "memory");
  };
  Raw gelu_raw = raw_eltwise(dnnl::algorithm::eltwise_gelu_erf, x, out);
  const auto md2 = ops::plain_md({1, C}), mdc = ops::plain_md({C}), mds = ops::plain_md({1});
  Raw softmax_raw;
  softmax_raw.prim = dnnl::softmax_v2_forward(dnnl::softmax_v2_forward::primitive_desc(
      dnnl::softmax_v2_forward::desc(dnnl::prop_kind::forward_training,
                                     dnnl::algorithm::softmax_accurate, md2, md2, 1),
      tca::dnnl_engine()));
  softmax_raw.add(DNNL_ARG_SRC, md2, x);
  softmax_raw.add(DNNL_ARG_DST, md2, out);
  Raw ln_raw;
  ln_raw.prim = dnnl::layer_normalization_forward(dnnl::layer_normalization_forward::primitive_desc(
      dnnl::layer_normalization_forward::desc(
          dnnl::prop_kind::forward_training, md2, mds, 1e-5f,
          dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift),
      tca::dnnl_engine()));
  ln_raw.add(DNNL_ARG_SRC, md2, x);
  ln_raw.add(DNNL_ARG_SCALE, mdc, gamma);
  ln_raw.add(DNNL_ARG_SHIFT, mdc, beta);
  ln_raw.add(DNNL_ARG_DST, md2, out);
  ln_raw.add(DNNL_ARG_MEAN, mds, Tensor::empty({1}));
  ln_raw.add(DNNL_ARG_VARIANCE, mds, Tensor::empty({1}));
  Raw lin_raw;
  {
    memory::desc src({1, C}, memory::data_type::f32, memory::format_tag::nc),
        wd({C, C}, memory::data_type::f32, memory::format_tag::oi);
    lin_raw.prim = dnnl::inner_product_forward(dnnl::inner_product_forward::primitive_desc(
        dnnl::inner_product_forward::desc(dnnl::prop_kind::forward_training, src, wd, src),
        tca::dnnl_engine()));
    lin_raw.add(DNNL_ARG_SRC, src, x);
    lin_raw.add(DNNL_ARG_WEIGHTS, wd, w);
    lin_raw.add(DNNL_ARG_DST, src, out);
  }
  struct Op {
    const char* name;
    const char* raw_kind;
    std::function<Var(const Var&)> f;  // applied to x (and y / parameters through captures)
    std::function<void()> raw;
  };
  std::vector<Op> list = {
      {"add", "loop", [&](const Var& v) { return ops::add(v, v.requires_grad() ? yp : yv); },
       loop_add},
      {"relu", "loop", [](const Var& v) { return ops::relu(v); }, loop_relu},
      {"gelu", "primitive", [](const Var& v) { return ops::gelu(v); }, [&] { gelu_raw(); }},
      {"softmax", "primitive", [](const Var& v) { return ops::softmax(v); },
       [&] { softmax_raw(); }},
      {"layer_norm", "primitive", [&](const Var& v) { return ops::layer_norm(v, gp, bp); },
       [&] { ln_raw(); }},
      {"linear", "primitive", [&](const Var& v) { return ops::linear(v, wp); }, [&] { lin_raw(); }},
  };
  for (auto& op : list) {
    const Timed t = time_interleaved({[&] {
                                        NoGradGuard g;
                                        op.f(xv);
                                      },
                                      [&] { op.f(xp); }, op.raw, [&] { op.f(xp).backward(seed); }},
                                     a);
    rows.push_back({{"kind", "per_op"},
                    {"op", op.name},
                    {"elements", C},
                    {"us_no_grad", t.us[0]},
                    {"us_recording", t.us[1]},
                    {"us_raw", t.us[2]},
                    {"raw", op.raw_kind},
                    {"us_forward_backward", t.us[3]},
                    {"windows_kept", t.windows_kept},
                    {"windows", t.windows},
                    {"windows_retried", t.windows_retried}});
    std::printf(
        "%-10s 64 floats: no-grad %6.2f us  recording %6.2f us  raw %s %6.2f us  fwd+bwd %6.2f "
        "us\n",
        op.name, t.us[0], t.us[1], op.raw_kind, t.us[2], t.us[3]);
    std::fflush(stdout);
  }
  return rows;
}

json crossover_rows(const Args& a) {
  json rows = json::array();
  std::vector<int> thread_counts = {1};
  if (omp_get_max_threads() > 1) thread_counts.push_back(omp_get_max_threads());
  const int restore = omp_get_max_threads();
  const std::vector<int64_t> sizes =
      a.quick ? std::vector<int64_t>{64, 2048, 16384}
              : std::vector<int64_t>{64, 1024, 4096, 16384, 32768, 65536, 131072, 262144};
  for (int threads : thread_counts) {
    omp_set_num_threads(threads);
    for (int64_t n : sizes) {
      Rng rng(static_cast<uint64_t>(n));
      Tensor x = random_tensor({n}, rng), y = random_tensor({n}, rng), out = Tensor::empty({n});
      const auto md = ops::plain_md({n});
      Raw add_raw;
      add_raw.prim = dnnl::binary(dnnl::binary::primitive_desc(
          dnnl::binary::desc(dnnl::algorithm::binary_add, md, md, md), tca::dnnl_engine()));
      add_raw.add(DNNL_ARG_SRC_0, md, x);
      add_raw.add(DNNL_ARG_SRC_1, md, y);
      add_raw.add(DNNL_ARG_DST, md, out);
      Raw relu_raw = raw_eltwise(dnnl::algorithm::eltwise_relu, x, out);
      auto add_loop = [&] {  // the op layer's loop (elementwise_kernels.cpp), vectorised
        const float *p = x.data(), *q = y.data();
        float* o = out.data();
#pragma omp simd
        for (int64_t i = 0; i < n; ++i) o[i] = p[i] + q[i];
        asm volatile("" : : "r"(o) : "memory");
      };
      auto relu_loop = [&] {
        const float* p = x.data();
        float* o = out.data();
#pragma omp simd
        for (int64_t i = 0; i < n; ++i) o[i] = p[i] > 0.0f ? p[i] : 0.0f;
        asm volatile("" : : "r"(o) : "memory");
      };
      const Timed t =
          time_interleaved({add_loop, [&] { add_raw(); }, relu_loop, [&] { relu_raw(); }}, a);
      for (int k = 0; k < 2; ++k) {
        rows.push_back({{"kind", "crossover"},
                        {"op", k ? "relu" : "add"},
                        {"threads", threads},
                        {"elements", n},
                        {"us_loop", t.us[2 * k]},
                        {"us_primitive", t.us[2 * k + 1]},
                        {"windows_kept", t.windows_kept},
                        {"windows", t.windows},
                        {"windows_retried", t.windows_retried}});
        std::printf("crossover %-4s %d thr n=%6lld  loop %8.2f us  primitive %8.2f us\n",
                    k ? "relu" : "add", threads, static_cast<long long>(n), t.us[2 * k],
                    t.us[2 * k + 1]);
      }
      std::fflush(stdout);
    }
  }
  omp_set_num_threads(restore);
  return rows;
}

// /proc/loadavg's 1/5/15-minute averages: other processes on the 2 vCPUs slow every figure.
std::vector<double> load_average() {
  std::vector<double> v(3, 0.0);
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf %lf %lf", &v[0], &v[1], &v[2]) != 3) v.assign(3, 0.0);
    std::fclose(f);
  }
  return v;
}

int run(int argc, char** argv) {
  const Args a = parse_args(argc, argv);
  if (a.threads > 0) omp_set_num_threads(a.threads);
  const SystemInfo info = system_info();
  std::printf("bench_core: %d threads, ISA %s, oneDNN %s, CPU %s\n", info.threads, info.isa.c_str(),
              info.onednn_version.c_str(), info.cpu_model.c_str());
  const std::vector<double> load_before = load_average();
  const double peak_square = peak_gflops(a);
  std::printf("raw 1024^3 matmul, best window: %.1f GFLOP/s\n", peak_square);
  json matmuls = matmul_rows(a);
  // The practical peak: the best raw f32 matmul throughput seen in this run (the 1024^3 matmul
  // or any raw row; one figure alone can land in a busy second of a shared machine).
  double peak = peak_square;
  for (auto& r : matmuls) peak = std::max(peak, r["gflops_raw"].get<double>());
  for (auto& r : matmuls) r["peak_gflops"] = peak;
  std::printf("practical peak: %.1f GFLOP/s\n", peak);
  json rows = json::array();
  for (json part : {matmuls, per_op_rows(a), crossover_rows(a)})
    for (auto& r : part) rows.push_back(r);
  json doc = {
      {"machine", io::machine_json(info)},
      {"versions", io::versions_json(info)},
      {"method",
       fmt::format("interleaved calls, {} windows of {:.0f} ms, windows hit by a stall dropped; "
                   "medians per call in microseconds; peak_gflops = the best raw f32 matmul "
                   "throughput of the "
                   "run (1024^3 best window, or a raw row)",
                   a.windows, a.window_s * 1e3)},
      {"raw_1024_cubed_gflops", peak_square},
      {"load_average", {{"before", load_before}, {"after", load_average()}}},
      {"rows", rows}};
  std::error_code ec;
  std::filesystem::create_directories(a.out, ec);
  if (ec)
    throw RuntimeFailure("bench_core: cannot create the output directory " + a.out + ": " +
                         ec.message());
  write_text_atomically(a.out + "/core.json", doc.dump(2) + "\n");
  std::printf("wrote %s/core.json\n", a.out.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const tca::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return e.exit_code();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_core: %s\n", e.what());
    return tca::kExitFailure;
  }
}
