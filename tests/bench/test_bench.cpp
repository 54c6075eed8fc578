// `tca bench` (issue 12): a tiny quick run writes valid benchmark files with the fields of
// conventions.md "Benchmark files"; the encoded-context inference paths the benchmark times give
// the models' own predictions; the timing helper keeps the samples it is asked for. No test ever
// asserts a speed.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "bench/bench.hpp"
#include "bench/bench_setup.hpp"
#include "bench/inference_paths.hpp"
#include "core/error.hpp"
#include "core/rng.hpp"
#include "data/gp_task.hpp"
#include "io/json_io.hpp"

using namespace tca;
using nlohmann::json;

namespace {

std::string temp_dir() {
  char dir[] = "/tmp/tca_bench_XXXXXX";
  REQUIRE(mkdtemp(dir) != nullptr);
  return dir;
}

void require_number(const json& row, const char* key) {
  INFO("row " << row.dump() << " key " << key);
  REQUIRE(row.contains(key));
  REQUIRE(row[key].is_number());
  CHECK(std::isfinite(row[key].get<double>()));
}

void require_file_blocks(const json& f) {
  REQUIRE(f.is_object());
  for (const char* key : {"machine", "versions", "settings", "rows"}) REQUIRE(f.contains(key));
  CHECK(f["machine"]["threads"].get<int>() >= 1);
  CHECK(f["machine"]["isa"].is_string());
  CHECK(f["machine"]["cpu"].is_string());
  CHECK(f["versions"]["onednn"].is_string());
  REQUIRE(f["rows"].is_array());
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  REQUIRE(a.numel() == b.numel());
  double m = 0;
  for (int64_t i = 0; i < a.numel(); ++i)
    m = std::max(m, static_cast<double>(std::fabs(a[i] - b[i])));
  return m;
}

}  // namespace

TEST_CASE(
    "a tiny quick bench run writes train.json, infer.json and summary.md with the schema's "
    "fields") {
  bench::BenchOptions o;
  o.quick = true;
  o.repeats = 1;
  o.min_log2_n = o.max_log2_n = 8;
  o.queries = 16;
  o.train_tasks = {"gp"};
  const std::string dir = temp_dir() + "/bench";  // does not exist yet: created
  const std::vector<std::string> written = bench::run_bench(o, "all", dir);
  CHECK(written.size() == 3);

  const json train = io::read_json_file(dir + "/train.json");
  require_file_blocks(train);
  REQUIRE(train["rows"].size() == 3);  // ca, tca, perceiver on gp
  for (const json& r : train["rows"]) {
    CHECK(r["task"] == "gp");
    CHECK(r["seq_len"].is_null());
    CHECK(r["batch_size"] == 16);
    for (const char* key :
         {"ms_per_step", "steps_per_s", "forward_ms", "backward_ms", "clip_adam_ms", "peak_rss_mb"})
      require_number(r, key);
    CHECK(r["ms_per_step"].get<double>() > 0);
  }
  CHECK(train["rows"][1]["method"] == "tca");
  CHECK(train["rows"][2]["num_latents"] == 6);  // the tokens TCA attends to at N = 25: k = 4, P = 2

  const json infer = io::read_json_file(dir + "/infer.json");
  require_file_blocks(infer);
  int infer_rows = 0, matmul_rows = 0;
  for (const json& r : infer["rows"]) {
    if (r["kind"] == "infer") {
      ++infer_rows;
      CHECK((r["method"] == "ca" || r["method"] == "tca" || r["method"] == "perceiver"));
      CHECK(r["n"] == 256);
      CHECK(r["queries"] == 16);
      for (const char* key : {"us_per_query", "queries_per_s", "tokens_attended", "build_ms",
                              "memory_mb", "peak_rss_mb"})
        require_number(r, key);
      if (r["method"] == "tca") {
        CHECK(r["tokens_attended"] == 9);  // k = 7 levels (b - 1 = 1 sibling each) + P = 2
        require_number(r, "us_per_query_retrieval_kernel");
        require_number(r, "memory_ratio");
      }
      if (r["method"] == "ca") CHECK(r["tokens_attended"] == 256);
    } else {
      ++matmul_rows;
      CHECK(r["kind"] == "matmul");
      for (const char* key : {"m", "k", "n", "gflops", "peak_gflops"}) require_number(r, key);
    }
  }
  CHECK(infer_rows == 3);
  CHECK(matmul_rows >= 4);

  std::ifstream in(dir + "/summary.md");
  std::stringstream md;
  md << in.rdbuf();
  CHECK(md.str().find("| target | measured | reference | target | status |") != std::string::npos);
  CHECK(md.str().find("training step, TCA GP") != std::string::npos);
  CHECK(md.str().find("not measured") !=
        std::string::npos);  // copy T = 256 and N = 2^20 were not run
  std::filesystem::remove_all(std::filesystem::path(dir).parent_path());
}

TEST_CASE("a data-parallel train suite records the replicas in its rows, settings and summary") {
  bench::BenchOptions o;
  o.quick = true;
  o.repeats = 1;
  o.train_tasks = {"gp"};
  o.methods = {"ca"};
  o.data_parallel = 2;
  const std::string dir = temp_dir() + "/bench";
  bench::run_bench(o, "train", dir);
  const json train = io::read_json_file(dir + "/train.json");
  CHECK(train["settings"]["data_parallel"] == 2);
  REQUIRE(train["rows"].size() == 1);
  const json& r = train["rows"][0];
  CHECK(r["data_parallel"] == 2);
  for (const char* key : {"ms_per_step", "forward_ms", "backward_ms", "clip_adam_ms"})
    require_number(r, key);
  CHECK(r["forward_ms"].get<double>() > 0);
  std::ifstream in(dir + "/summary.md");
  std::stringstream md;
  md << in.rdbuf();
  CHECK(md.str().find("| ca | gp [data-parallel 2] | 16 |") != std::string::npos);
  std::filesystem::remove_all(std::filesystem::path(dir).parent_path());
}

TEST_CASE("bench rejects an unknown suite with a usage error") {
  bench::BenchOptions o;
  CHECK_THROWS_AS(bench::run_bench(o, "everything", "/tmp"), UsageError);
}

TEST_CASE("the benchmark's encoded-context inference paths give the models' own predictions") {
  Rng data_rng(7);
  data::GpTaskSampler sampler(data::GpKernel::rbf, 50);
  const Batch batch = sampler.sample_sized(2, 13, 5, data_rng);
  Rng init(3);
  ReTreeverModel tca(bench::infer_config("tca"), init);
  CrossAttentionModel ca(bench::infer_config("ca"), init);
  PerceiverIoModel pio(bench::infer_config("perceiver", 5), init);
  NoGradGuard no_grad;
  const auto inference = nn::ForwardContext::inference();

  SUBCASE("TCA index from encoded tokens equals build_index, and answers as predict") {
    const TcaIndex expected = tca.index(batch);
    const TcaIndex index =
        tca.decoder.build_index(tca.context_embedder(tca.context_tokens(batch), inference).value());
    CHECK(index.bytes() == expected.bytes());
    CHECK(max_abs_diff(index.memory, expected.memory) == 0.0);
    CHECK(max_abs_diff(index.keys, expected.keys) == 0.0);
    CHECK(max_abs_diff(index.values, expected.values) == 0.0);
    CHECK(max_abs_diff(tca.answer(index, batch).mean, tca.predict(batch).mean) == 0.0);
  }
  SUBCASE("CA over cached keys and values, in chunks of queries, equals predict") {
    const Var E = ca.context_embedder(ca.context_tokens(batch), inference);
    const bench::CaKeyValues kv = bench::ca_key_values(ca, E);
    CHECK(kv.keys.shape() == Shape{2, 4, 13, 16});
    const Tensor expected = ca.predict(batch).mean;
    CHECK(max_abs_diff(bench::ca_answer(ca, kv, batch).mean, expected) < 1e-5);
    // 2 queries per chunk: 4 heads x 13 tokens x 2 = 104 weights.
    CHECK(bench::ca_query_chunk(4, 13, 5, 104) == 2);
    CHECK(max_abs_diff(bench::ca_answer(ca, kv, batch, 104).mean, expected) < 1e-5);
  }
  SUBCASE("Perceiver IO latents from the context embeddings decode as predict") {
    const Var z =
        bench::perceiver_latents(pio, pio.context_embedder(pio.context_tokens(batch), inference));
    CHECK(z.shape() == Shape{2, 5, 64});
    CHECK(max_abs_diff(pio.decode(z, batch, inference).mean, pio.predict(batch).mean) == 0.0);
  }
}

TEST_CASE("time_calls keeps the requested samples and reports order statistics of them") {
  bench::TimingOptions t;
  t.warmup = 1;
  t.min_samples = t.max_samples = 4;
  t.min_sample_s = 0;  // one call per sample
  int calls = 0;
  const bench::TimingResult r = bench::time_calls([&] { ++calls; }, t);
  CHECK(r.samples == 4);
  CHECK(r.calls_per_sample == 1);
  CHECK(calls == 1 + 4 + r.discarded);
  CHECK(r.kept_s.size() == 4);
  CHECK(r.min_s <= r.p25_s);
  CHECK(r.p25_s <= r.median_s);
  CHECK(r.median_s <= r.p75_s);
  CHECK(r.others_cpu >= -1.0);  // -1 = unknown, else a share of the CPUs
  CHECK(r.others_cpu <= 1.0);
}

TEST_CASE(
    "the speed probe records the fastest probe, and samples in a slow phase are discarded, then "
    "flagged") {
  const double p = bench::speed_probe_s();
  CHECK(p > 0);
  CHECK(bench::fastest_speed_probe_s() > 0);
  CHECK(bench::fastest_speed_probe_s() <= p);
  bench::TimingOptions t;
  t.warmup = 0;
  t.call_s_hint = 1e-3;
  t.min_samples = t.max_samples = 3;
  t.min_sample_s = 0;
  t.max_discards = 1000;
  // A factor below 1 makes every sample look like one taken in a slow phase that never passes:
  // the first is discarded and the figure waits for the phase to pass, but only max_stall_wait_s
  // in all; after that slow samples are kept and the figure is flagged noisy.
  t.slow_phase_factor = 0.5;
  t.max_stall_wait_s = 0.3;
  int calls = 0;
  const double t0 = bench::now_s();
  bench::TimingResult r = bench::time_calls([&] { ++calls; }, t);
  CHECK(bench::now_s() - t0 < 5.0);
  CHECK(r.samples == 3);
  CHECK(r.slow_discarded >= 1);
  CHECK(r.slow_discarded <= r.discarded);
  CHECK(r.noisy);
  CHECK(calls == 3 + r.discarded);
  CHECK(r.speed_probe_ratio >= 1.0);
  CHECK(r.to_json().at("slow_discarded") == r.slow_discarded);
  // Turned off, nothing is discarded for speed.
  t.slow_phase_factor = 0;
  r = bench::time_calls([&] { ++calls; }, t);
  CHECK(r.slow_discarded == 0);
  CHECK(r.speed_probe_ratio == 1.0);
}

TEST_CASE("median and quantile interpolate between order statistics") {
  CHECK(bench::median({3.0, 1.0, 2.0}) == 2.0);
  CHECK(bench::median({4.0, 1.0, 2.0, 3.0}) == 2.5);
  CHECK(bench::quantile({0.0, 10.0}, 0.25) == 2.5);
  CHECK_THROWS_AS(bench::median({}), std::invalid_argument);
}

TEST_CASE("copy512 and copy1024 are selectable training cases, not in the default list") {
  const auto cases = bench::train_cases({"copy512", "copy1024"}, {"ca", "tca", "perceiver"});
  REQUIRE(cases.size() == 6);
  for (size_t i = 0; i < cases.size(); ++i) {
    const int64_t T = i < 3 ? 512 : 1024;
    CHECK(cases[i].task == "copy");
    CHECK(cases[i].seq_len == T);
    CHECK(cases[i].num_context == T / 2);
    CHECK(cases[i].num_targets == T / 2);
    CHECK(cases[i].batch_size == 128);
  }
  CHECK(cases[4].label() == "tca copy T=1024");
  CHECK(bench::BenchOptions().train_tasks == std::vector<std::string>{"gp", "copy128", "copy256"});
  CHECK_THROWS_AS(bench::train_cases({"copy300"}), UsageError);
  CHECK_THROWS_AS(bench::train_cases({"copy"}), UsageError);
}

TEST_CASE("the summary states issue 23's targets: met, missed, and not measured without rows") {
  // A full training row as tca bench writes it (the tables below the targets read every field).
  auto row = [](const std::string& method, const std::string& task, json seq_len, double ms,
                double rss) {
    json r = json::parse(R"({"kind": "train", "batch_size": 16, "data_parallel": 2,
        "forward_ms": 1.0, "backward_ms": 1.0, "clip_adam_ms": 0.1, "encoder_layers": 6,
        "floor_ms_at_raw_peak": 1.0, "loss_last": 0.5, "matmul_gflop_per_step": 1.0,
        "matmul_gflops": 100.0, "ms_min": 1.0, "ms_p25": 1.0, "ms_p75": 1.0, "num_context": 25,
        "num_targets": 20, "parameters": 1000, "raw_peak_gflops": 300.0, "reference_ms": 0.0,
        "steps_per_s": 1.0, "timing": {"calls_per_sample": 1, "cpu_per_wall": 2.0,
        "discarded": 0, "median_s": 0.001, "min_s": 0.001, "noisy": false, "others_cpu": 0.0,
        "p25_s": 0.001, "p75_s": 0.001, "samples": 5, "slow_discarded": 0,
        "speed_probe_ratio": 1.0}})");
    r["method"] = method;
    r["task"] = task;
    r["seq_len"] = seq_len;
    r["ms_per_step"] = ms;
    r["peak_rss_mb"] = rss;
    return r;
  };
  // Files without their machine, versions and settings sections are summarised all the same.
  const json infer = {{"rows", json::array()}};
  json train = {
      {"rows",
       json::array({row("tca", "gp", nullptr, 6.5, 60), row("ca", "gp", nullptr, 5.0, 50),
                    row("tca", "copy", 256, 200, 800), row("ca", "copy", 256, 90, 400),
                    row("tca", "copy", 1024, 1000, 3000), row("ca", "copy", 1024, 1440, 2000)})}};
  const std::string md = bench::bench_summary_markdown(train, infer);
  auto line_of = [&](const std::string& what) {
    const size_t at = md.find("| " + what);
    REQUIRE(at != std::string::npos);
    return md.substr(at, md.find('\n', at) - at);
  };
  CHECK(line_of("training step (issue 23), TCA GP").find("**met**") != std::string::npos);
  CHECK(line_of("training step (issue 23), TCA GP").find("6.50 ms (data-parallel 2)") !=
        std::string::npos);
  CHECK(line_of("training step (issue 23), CA GP").find("**missed**") != std::string::npos);
  CHECK(line_of("training step (issue 23), Perceiver IO GP").find("not measured") !=
        std::string::npos);
  CHECK(line_of("training step (issue 23), TCA copy T = 256").find("**missed**") !=
        std::string::npos);
  // TCA grows 5x from T = 256 to 1024, CA 16x: met.
  const std::string growth = line_of("copy step growth T = 256 → 1024");
  CHECK(growth.find("TCA 5.00x") != std::string::npos);
  CHECK(growth.find("CA 16.0x") != std::string::npos);
  CHECK(growth.find("**met**") != std::string::npos);
  CHECK(line_of("peak RSS of a TCA copy T = 1024 step").find("3000 MiB") != std::string::npos);
  CHECK(line_of("peak RSS of a TCA copy T = 1024 step").find("**met**") != std::string::npos);
  // Without the T = 1024 rows both are not measured.
  train["rows"].erase(4);
  const std::string md2 = bench::bench_summary_markdown(train, infer);
  const size_t at = md2.find("| peak RSS of a TCA copy T = 1024 step");
  REQUIRE(at != std::string::npos);
  CHECK(md2.substr(at, md2.find('\n', at) - at).find("not measured") != std::string::npos);
}
