// Inference benchmark (issue 12 (b), (c), (d)): one context set of N tokens (N = 2^8, 2^10, ...,
// 2^20), D = 64, 4 heads, b = 2, random weights, 256 queries answered per call. The context is
// GP-like ([x, y] tokens, x sorted in [-2, 2]); its encoded tokens E are the context embedder's
// output, shared by all three methods ("encoded context given": no encoder layers run). For each
// method, the build once per context set (TCA: tree and index; CA: key/value cache; Perceiver IO:
// latents) and the per-query cost of answering, with what each keeps in memory
// (inference_paths.hpp). TCA also gets the pure retrieval kernel greedy_retrieve alone.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <memory>

#include "autograd/ops.hpp"
#include "bench/bench.hpp"
#include "bench/bench_reference.hpp"
#include "bench/bench_setup.hpp"
#include "bench/inference_paths.hpp"
#include "bench/memory_usage.hpp"
#include "models/tca_retrieval.hpp"

namespace tca::bench {

namespace {

constexpr double kMiB = 1024.0 * 1024.0;

// One context set of n tokens and m queries, GP-like: x ~ U[-2, 2] sorted, y = sin(3x) + noise.
Batch context_set(int64_t n, int64_t m, Rng& rng) {
  Batch b;
  std::vector<double> x(static_cast<size_t>(n));
  for (auto& v : x) v = rng.uniform(-2.0, 2.0);
  std::sort(x.begin(), x.end());
  b.xc = Tensor::empty({1, n, 1});
  b.yc = Tensor::empty({1, n, 1});
  for (int64_t i = 0; i < n; ++i) {
    b.xc[i] = static_cast<float>(x[static_cast<size_t>(i)]);
    b.yc[i] = static_cast<float>(std::sin(3.0 * x[static_cast<size_t>(i)]) + 0.1 * rng.normal());
  }
  b.xt = Tensor::empty({1, m, 1});
  b.yt = Tensor::empty({1, m, 1});
  for (int64_t i = 0; i < m; ++i) {
    const double xt = rng.uniform(-2.0, 2.0);
    b.xt[i] = static_cast<float>(xt);
    b.yt[i] = static_cast<float>(std::sin(3.0 * xt));
  }
  return b;
}

nlohmann::json base_row(const std::string& method, int64_t n, int log2_n, int64_t m,
                        const TimingResult& answer, int64_t tokens) {
  const double us = 1e6 * answer.median_s / static_cast<double>(m);
  return {{"kind", "infer"},
          {"method", method},
          {"n", n},
          {"log2_n", log2_n},
          {"queries", m},
          {"us_per_query", us},
          {"queries_per_s", 1e6 / us},
          {"us_per_query_p25", 1e6 * answer.p25_s / static_cast<double>(m)},
          {"us_per_query_p75", 1e6 * answer.p75_s / static_cast<double>(m)},
          {"tokens_attended", tokens},
          {"timing", answer.to_json()}};
}

}  // namespace

nlohmann::json bench_infer(const BenchOptions& o) {
  check_methods(o.methods);
  auto wanted = [&](const char* m) {
    return std::find(o.methods.begin(), o.methods.end(), m) != o.methods.end();
  };
  nlohmann::json rows = nlohmann::json::array();
  Rng init(o.seed);
  CrossAttentionModel ca(infer_config("ca"), init);
  ReTreeverModel tca(infer_config("tca"), init);
  const int64_t M = o.queries, D = tca.config().d_model, H = tca.config().heads;
  double sink = 0;  // results are consumed so that no call can be optimised away
  for (int log2_n = o.min_log2_n; log2_n <= o.max_log2_n; log2_n += 2) {
    const int64_t N = int64_t{1} << log2_n;
    Rng data_rng = Rng(o.seed).fork(static_cast<uint64_t>(100 + log2_n));
    const Batch data = context_set(N, M, data_rng);
    Var E;
    {
      NoGradGuard no_grad;
      E = tca.context_embedder(tca.context_tokens(data), nn::ForwardContext::inference());
    }
    const double encoded_mb = 4.0 * static_cast<double>(E.numel()) / kMiB;

    // ---- TCA: tree + index build, answering, and the retrieval kernel alone.
    if (wanted("tca")) {
      reset_peak_rss();
      auto index = std::make_unique<TcaIndex>();
      const TimingResult build = measure_figure(o, [&] {
        *index = TcaIndex();  // free the previous index first: at 2^20 it is ~1.5 GiB
        *index = tca.decoder.build_index(E.value());
      });
      const TimingResult answer = measure_figure(o, [&] { sink += tca.answer(*index, data).loss; });
      Tensor q_proj;
      {
        NoGradGuard no_grad;
        q_proj = tca.decoder.project_queries(
            tca.query_embedder(Var(data.xt), nn::ForwardContext::inference()));
      }
      const TimingResult kernel =
          measure_figure(o, [&] { sink += tca.decoder.retrieve(*index, q_proj, M).attended[0]; });
      const TreeShape& s = index->shape;
      const double nodes_mb = 4.0 * static_cast<double>(s.memory_offset(s.k + 1) * D) / kMiB;
      const double index_mb = static_cast<double>(index->bytes()) / kMiB;
      nlohmann::json row = base_row("tca", N, log2_n, M, answer, s.tokens_attended());
      row["us_per_query_retrieval_kernel"] = 1e6 * kernel.median_s / static_cast<double>(M);
      row["kernel_timing"] = kernel.to_json();
      row["depth"] = s.k;
      row["leaf_size"] = s.leaf_size;
      row["nodes_scored"] = s.nodes_scored();
      row["build_ms"] = 1e3 * build.median_s;
      row["build_timing"] = build.to_json();
      row["memory_mb"] = index_mb;
      row["encoded_mb"] = encoded_mb;
      row["node_embeddings_mb"] = nodes_mb;
      row["memory_ratio"] = index_mb / (encoded_mb + nodes_mb);
      row["peak_rss_mb"] = peak_rss_mb();
      if (double r = reference_infer_us("tca", log2_n); r > 0) row["reference_us_per_query"] = r;
      if (double r = reference_build_ms(log2_n); r > 0) row["reference_build_ms"] = r;
      o.say(
          fmt::format("infer tca       N=2^{:<2} {:10.2f} us/query (kernel {:.2f}), build {:.1f} "
                      "ms, index {:.1f} MiB "
                      "({:.2f}x E+nodes), {} tokens; {}/{}/{} discarded",
                      log2_n, row["us_per_query"].get<double>(),
                      row["us_per_query_retrieval_kernel"].get<double>(), 1e3 * build.median_s,
                      index_mb, row["memory_ratio"].get<double>(), s.tokens_attended(),
                      build.discarded, answer.discarded, kernel.discarded));
      rows.push_back(row);
    }

    // ---- CA: key/value cache of E, then attention of every query over all N tokens.
    if (wanted("ca")) {
      reset_peak_rss();
      CaKeyValues kv;
      const TimingResult build = measure_figure(o, [&] {
        kv = CaKeyValues();
        kv = ca_key_values(ca, E);
      });
      const TimingResult answer = measure_figure(
          o, [&] { sink += ca_answer(ca, kv, data, kCaBenchMaxWeights).loss.item(); });
      nlohmann::json row = base_row("ca", N, log2_n, M, answer, N);
      row["query_chunk"] = ca_query_chunk(H, N, M, kCaBenchMaxWeights);
      row["build_ms"] = 1e3 * build.median_s;
      row["build_timing"] = build.to_json();
      row["memory_mb"] = static_cast<double>(kv.bytes()) / kMiB;
      row["encoded_mb"] = encoded_mb;
      row["peak_rss_mb"] = peak_rss_mb();
      if (double r = reference_infer_us("ca", log2_n); r > 0) row["reference_us_per_query"] = r;
      o.say(
          fmt::format("infer ca        N=2^{:<2} {:10.2f} us/query, key/value build {:.1f} ms, "
                      "{:.1f} MiB; {}/{} discarded",
                      log2_n, row["us_per_query"].get<double>(), 1e3 * build.median_s,
                      row["memory_mb"].get<double>(), build.discarded, answer.discarded));
      rows.push_back(row);
    }

    // ---- Perceiver IO with L = the tokens TCA attends to at this N.
    if (wanted("perceiver")) {
      reset_peak_rss();
      const int64_t L = TreeShape(N, tca.config().branch_factor).tokens_attended();
      Rng pinit = Rng(o.seed).fork(3);
      PerceiverIoModel pio(infer_config("perceiver", L), pinit);
      Var z;
      const TimingResult build = measure_figure(o, [&] { z = perceiver_latents(pio, E); });
      const TimingResult answer = measure_figure(o, [&] {
        NoGradGuard no_grad;
        sink += pio.decode(z, data, nn::ForwardContext::inference()).loss.item();
      });
      nlohmann::json row = base_row("perceiver", N, log2_n, M, answer, L);
      row["num_latents"] = L;
      row["num_latent_layers"] = pio.config().num_latent_layers;
      row["build_ms"] = 1e3 * build.median_s;
      row["build_timing"] = build.to_json();
      row["memory_mb"] = 4.0 * static_cast<double>(z.numel()) / kMiB;
      row["encoded_mb"] = encoded_mb;
      row["peak_rss_mb"] = peak_rss_mb();
      o.say(
          fmt::format("infer perceiver N=2^{:<2} {:10.2f} us/query, latent build {:.1f} ms, L = "
                      "{}; {}/{} discarded",
                      log2_n, row["us_per_query"].get<double>(), 1e3 * build.median_s, L,
                      build.discarded, answer.discarded));
      rows.push_back(row);
    }
  }
  if (std::isnan(sink)) o.say("note: a benchmark call produced NaN");
  return rows;
}

}  // namespace tca::bench
