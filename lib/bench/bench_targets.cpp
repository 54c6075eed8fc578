// The target rows of `tca bench`'s summary.md: issue 12's reference figures and targets
// (bench_reference.hpp) and issue 23's absolute training-step targets, each with what this run
// measured and whether it met the target. Read from train.json and infer.json only.
#include <fmt/format.h>

#include "bench/bench_reference.hpp"
#include "bench/summary_text.hpp"

namespace tca::bench::summary {

std::vector<TargetLine> bench_targets(const json& train, const json& infer) {
  std::vector<TargetLine> lines;
  auto train_target = [&](const std::string& method, const std::string& task, int64_t T,
                          double target, const std::string& why) {
    const json* r = train_row(train, method, task, T);
    const double ref = reference_train_ms(method, task, static_cast<long>(T));
    const std::string what =
        fmt::format("training step, {} {}", method_label(method), task_label(task, T));
    TargetLine l{what, "", plain(ref) + " ms", fmt::format("≤ {} ms ({})", plain(target), why),
                 status(std::nullopt)};
    if (r) {
      const double ms = (*r)["ms_per_step"].get<double>();
      l.measured = fmt::format("{} ms ({} than the reference){}", num(ms), speed_text(ref, ms),
                               busy_note(r));
      if (r->contains("floor_ms_at_raw_peak"))
        l.measured += fmt::format(
            "; its {} GFLOP of matmuls alone take {} ms at this run's raw oneDNN peak ({} GFLOP/s)",
            num((*r)["matmul_gflop_per_step"].get<double>()),
            num((*r)["floor_ms_at_raw_peak"].get<double>()),
            num((*r)["raw_peak_gflops"].get<double>()));
      l.status = status(ms <= target);
    }
    lines.push_back(l);
  };
  train_target("tca", "gp", 0, kTargetTcaGpMs, "10x");
  train_target("tca", "copy", 256, kTargetTcaCopy256Ms, "10x");
  train_target("ca", "copy", 256, kTargetCaCopy256Ms, "10x");
  train_target("ca", "gp", 0, kTargetCaGpMs, "5x; ~2 ms is the floor here");
  // Issue 23: the absolute step targets. A row that misses states the floor that bounds it: its
  // matmul work at the run's raw oneDNN rate.
  auto speed_target = [&](const std::string& method, const std::string& task, int64_t T,
                          double target) {
    const json* r = train_row(train, method, task, T);
    TargetLine l{
        fmt::format("training step (issue 23), {} {}", method_label(method), task_label(task, T)),
        "", "—", fmt::format("≤ {} ms", plain(target)), status(std::nullopt)};
    if (r) {
      const double ms = (*r)["ms_per_step"].get<double>();
      l.measured = fmt::format("{} ms{}", num(ms), data_parallel_note(*r));
      if (r->contains("floor_ms_at_raw_peak"))
        l.measured += fmt::format("; floor {} ms (its matmuls at the raw peak)",
                                  num((*r)["floor_ms_at_raw_peak"].get<double>()));
      l.measured += busy_note(r);
      l.status = status(ms <= target);
    }
    lines.push_back(l);
  };
  speed_target("tca", "gp", 0, kSpeedTargetTcaGpMs);
  speed_target("ca", "gp", 0, kSpeedTargetCaGpMs);
  speed_target("perceiver", "gp", 0, kSpeedTargetPerceiverGpMs);
  speed_target("tca", "copy", 256, kSpeedTargetTcaCopy256Ms);
  speed_target("ca", "copy", 256, kSpeedTargetCaCopy256Ms);
  {
    // The copy rows at T = 1024 are not in the default list (`--tasks copy256 copy1024`).
    const json *t256 = train_row(train, "tca", "copy", 256),
               *t1024 = train_row(train, "tca", "copy", 1024);
    const json *c256 = train_row(train, "ca", "copy", 256),
               *c1024 = train_row(train, "ca", "copy", 1024);
    TargetLine g{"copy step growth T = 256 → 1024 (issue 23), TCA against CA", "", "—",
                 "TCA's ≤ CA's", status(std::nullopt)};
    if (t256 && t1024 && c256 && c1024) {
      const double tg =
          (*t1024)["ms_per_step"].get<double>() / (*t256)["ms_per_step"].get<double>();
      const double cg =
          (*c1024)["ms_per_step"].get<double>() / (*c256)["ms_per_step"].get<double>();
      g.measured = fmt::format("TCA {}x ({} → {} ms), CA {}x ({} → {} ms)", num(tg),
                               num((*t256)["ms_per_step"].get<double>()),
                               num((*t1024)["ms_per_step"].get<double>()), num(cg),
                               num((*c256)["ms_per_step"].get<double>()),
                               num((*c1024)["ms_per_step"].get<double>()));
      g.status = status(tg <= cg);
    }
    lines.push_back(g);
    TargetLine m{"peak RSS of a TCA copy T = 1024 step (issue 23)", "", "—",
                 fmt::format("≤ {} MiB", plain(kSpeedTargetTcaCopy1024RssMib)),
                 status(std::nullopt)};
    if (t1024 && t1024->contains("peak_rss_mb")) {
      const double mib = (*t1024)["peak_rss_mb"].get<double>();
      m.measured = fmt::format("{} MiB{}", num(mib), data_parallel_note(*t1024));
      m.status = status(mib <= kSpeedTargetTcaCopy1024RssMib);
    }
    lines.push_back(m);
  }

  {
    const json* r = infer_row(infer, "tca", kTargetTcaLargeLog2N);
    TargetLine l{fmt::format("TCA inference per query, N = 2^{}, {} batched queries",
                             kTargetTcaLargeLog2N, r ? (*r)["queries"].get<int64_t>() : 256),
                 "", "93 µs at 2^18", fmt::format("≤ {} µs", plain(kTargetTcaUsAtLargeN)),
                 status(std::nullopt)};
    if (r) {
      const double us = (*r)["us_per_query"].get<double>();
      l.measured =
          fmt::format("{} (retrieval kernel alone {}){}", us_text(us),
                      us_text((*r)["us_per_query_retrieval_kernel"].get<double>()), busy_note(r));
      l.status = status(us <= kTargetTcaUsAtLargeN);
    }
    lines.push_back(l);
  }
  {
    const json* lo = infer_row(infer, "tca", 10);
    const json* hi = infer_row(infer, "tca", 20);
    TargetLine l{"TCA per-query growth from N = 2^10 to 2^20", "",
                 "93 / 37 µs = 2.5x from 2^12 to 2^18",
                 fmt::format("≤ {}x", plain(kTargetTcaGrowth)), status(std::nullopt)};
    if (lo && hi) {
      const double a = (*lo)["us_per_query"].get<double>(), b = (*hi)["us_per_query"].get<double>();
      l.measured = fmt::format("{}x ({} → {}){}{}", num(b / a), us_text(a), us_text(b),
                               busy_note(lo), busy_note(hi));
      l.status = status(b / a <= kTargetTcaGrowth);
    }
    lines.push_back(l);
  }
  {
    const json* t = infer_row(infer, "tca", kTargetSpeedupLog2N);
    const json* c = infer_row(infer, "ca", kTargetSpeedupLog2N);
    const double ref = reference_infer_us("ca", kTargetSpeedupLog2N) /
                       reference_infer_us("tca", kTargetSpeedupLog2N);
    TargetLine l{fmt::format("TCA speed-up over our CA per query, N = 2^{}", kTargetSpeedupLog2N),
                 "", fmt::format("{}x (1.15 ms / 58 µs)", num(ref)),
                 fmt::format("≥ {}x", plain(kTargetTcaOverCaSpeedup)), status(std::nullopt)};
    if (t && c) {
      const double s = (*c)["us_per_query"].get<double>() / (*t)["us_per_query"].get<double>();
      l.measured =
          fmt::format("{}x ({} vs {}){}{}", num(s), us_text((*c)["us_per_query"].get<double>()),
                      us_text((*t)["us_per_query"].get<double>()), busy_note(c), busy_note(t));
      l.status = status(s >= kTargetTcaOverCaSpeedup);
    }
    lines.push_back(l);
  }
  for (int log2_n : {12, 16, 18}) {
    const json* c = infer_row(infer, "ca", log2_n);
    const double ref = reference_infer_us("ca", log2_n);
    TargetLine l{fmt::format("our CA per query, N = 2^{}", log2_n), "", us_text(ref),
                 "≤ the reference", status(std::nullopt)};
    if (c) {
      const double us = (*c)["us_per_query"].get<double>();
      l.measured = fmt::format("{} ({} than the reference){}", us_text(us), speed_text(ref, us),
                               busy_note(c));
      l.status = status(us <= ref);
    }
    lines.push_back(l);
  }
  {
    const json* r = infer_row(infer, "tca", kTargetTcaLargeLog2N);
    TargetLine l{fmt::format("TCA tree build (aggregation + key/value projections), N = 2^{}",
                             kTargetTcaLargeLog2N),
                 "", "390 ms at 2^16, 2.07 s at 2^18",
                 fmt::format("≤ {} ms", plain(kTargetBuildMsAtLargeN)), status(std::nullopt)};
    if (r) {
      const double ms = (*r)["build_ms"].get<double>();
      l.measured = num(ms) + " ms" + busy_note(r);
      l.status = status(ms <= kTargetBuildMsAtLargeN);
    }
    lines.push_back(l);
  }
  {
    // Memory: the worst ratio over the measured N, and the figures at the largest N.
    const json* worst = nullptr;
    const json* largest = nullptr;
    if (infer.is_object())
      for (const json& r : rows_of(infer)) {
        if (r.value("kind", "") != "infer" || r.value("method", "") != "tca") continue;
        if (!worst || r["memory_ratio"].get<double>() > (*worst)["memory_ratio"].get<double>())
          worst = &r;
        if (!largest || r["n"].get<int64_t>() > (*largest)["n"].get<int64_t>()) largest = &r;
      }
    TargetLine l{"TCA inference memory / (encoded tokens + node embeddings), worst N", "", "—",
                 fmt::format("≤ {}x", plain(kTargetMemoryRatio)), status(std::nullopt)};
    if (worst && largest) {
      l.measured =
          fmt::format("{}x at N = 2^{} (at 2^{}: {} MiB kept vs {} + {} MiB)",
                      num((*worst)["memory_ratio"].get<double>()), (*worst)["log2_n"].get<int>(),
                      (*largest)["log2_n"].get<int>(), num((*largest)["memory_mb"].get<double>()),
                      num((*largest)["encoded_mb"].get<double>()),
                      num((*largest)["node_embeddings_mb"].get<double>()));
      l.status = status((*worst)["memory_ratio"].get<double>() <= kTargetMemoryRatio);
    }
    lines.push_back(l);
  }
  double peak = 0;
  if (infer.is_object())
    for (const json& r : rows_of(infer))
      if (r.value("kind", "") == "matmul" && r.value("op", "") != "raw") {
        peak = r["peak_gflops"].get<double>();
        const double f = r["fraction_of_peak"].get<double>();
        lines.push_back({fmt::format("matmul {} ({})", r["name"].get<std::string>(),
                                     r["pass"].get<std::string>()),
                         fmt::format("{} GFLOP/s = {}% of {} (raw oneDNN, same shape: {}){}",
                                     num(r["gflops"].get<double>()), num(100 * f), num(peak),
                                     num(r["raw_same_shape_gflops"].get<double>()), busy_note(&r)),
                         fmt::format("peak ≈ {} GFLOP/s", plain(kReferencePeakGflops)),
                         fmt::format("≥ {}% of the peak", plain(100 * kTargetMatmulFractionOfPeak)),
                         status(f >= kTargetMatmulFractionOfPeak)});
      }
  return lines;
}

}  // namespace tca::bench::summary
