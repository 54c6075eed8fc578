// Collecting a sweep (lib/sweep/collect.hpp, result_tables.hpp) from hand-made run files: mean,
// sample std and n over seeds, training time across resumed segments, missing and failed runs
// listed and never averaged, the four table formats with the best entry in bold.
#include <doctest/doctest.h>

#include <cmath>
#include <filesystem>

#include "core/error.hpp"
#include "io/json_io.hpp"
#include "io/test_files.hpp"
#include "sweep/collect.hpp"
#include "sweep/paper_figures.hpp"
#include "sweep/result_tables.hpp"
#include "sweep/run_record.hpp"
#include "sweep_test_util.hpp"

using namespace tca;
using namespace tca::sweep;
using json = nlohmann::json;

namespace {

const char* kGrid =
    R"({"name": "t", "task": "copy", "model": ["ca", "tca"], "seeds": [0, 1, 2], "eval_sets": {"e": "e.h5"},
                        "curve_eval": "e"})";

// A finished run: status done, eval-e.json with this accuracy and tokens, metrics with two
// segments (a resume at 10 s of 20) and eval records at steps 5 and 10.
void finish_run(const Sweep& s, const PlannedRun& r, double accuracy, double tokens,
                double latency) {
  const std::string dir = s.run_dir(r);
  std::filesystem::create_directories(dir);
  io::write_json_atomically(dir + "/status.json",
                            {{"state", "done"}, {"exit_code", 0}, {"error", nullptr}});
  io::write_json_atomically(
      dir + "/" + eval_file_name("e"),
      {{"metrics", {{"loss", 1.0}, {"accuracy", accuracy}}},
       {"tokens_attended", {{"mean", tokens}, {"percent_of_n", 100.0 * tokens / 8.0}}},
       {"latency_us_per_query", latency},
       {"n_context", 8.0}});
  io::write_json_atomically(dir + "/sweep_run.json", {{"state", "done"}});
  test::write_bytes(dir + "/metrics.jsonl",
                    "{\"step\":5,\"split\":\"train\",\"wall_s\":30.0}\n"
                    "{\"step\":5,\"split\":\"eval\",\"accuracy\":" +
                        std::to_string(accuracy / 2) +
                        ",\"wall_s\":31.0}\n"
                        "{\"step\":10,\"split\":\"train\",\"wall_s\":20.0}\n"
                        "{\"step\":10,\"split\":\"eval\",\"accuracy\":" +
                        std::to_string(accuracy) + ",\"wall_s\":29.0}\n");
}

// Seeds 0 and 1 of both methods (index order: seed 0 (ca, tca), seed 1 (ca, tca), seed 2 ...):
// CA accuracy 0.5 and 0.7 at 8 tokens, TCA 0.9 and 0.8 at 4 tokens.
void finish_two_seeds(const Sweep& s) {
  finish_run(s, s.runs[0], 0.5, 8, 10);
  finish_run(s, s.runs[2], 0.7, 8, 12);
  finish_run(s, s.runs[1], 0.9, 4, 20);
  finish_run(s, s.runs[3], 0.8, 4, 22);
}

Sweep make_sweep(const test::TempDir& tmp) { return test_util::plan_sweep(tmp, kGrid); }

const TableRow& row_of(const Collected& c, const std::string& method) {
  for (const auto& r : c.tables.at(0).rows) {
    if (r.method == method) return r;
  }
  FAIL("no row for " << method);
  return c.tables.at(0).rows.at(0);
}

}  // namespace

TEST_CASE("aggregate: mean, sample standard deviation, n") {
  const Aggregate a = aggregate({1.0, 2.0, 3.0});
  CHECK(a.n == 3);
  CHECK(a.mean == doctest::Approx(2.0));
  CHECK(a.std == doctest::Approx(1.0));
  const Aggregate one = aggregate({4.0});
  CHECK(one.n == 1);
  CHECK(std::isnan(one.std));
  CHECK(aggregate({}).n == 0);
}

TEST_CASE("collect averages finished runs over seeds and lists missing and failed runs apart") {
  test::TempDir tmp;
  const Sweep s = make_sweep(tmp);
  finish_two_seeds(s);
  // Seed 2: CA failed, TCA half-way (not in the means).
  std::filesystem::create_directories(s.run_dir(s.runs[4]));
  io::write_json_atomically(s.run_dir(s.runs[4]) + "/status.json",
                            {{"state", "failed"}, {"exit_code", 1}, {"error", "loss is nan"}});
  std::filesystem::create_directories(s.run_dir(s.runs[5]));
  io::write_json_atomically(s.run_dir(s.runs[5]) + "/status.json",
                            {{"state", "running"}, {"exit_code", nullptr}, {"error", nullptr}});

  const Collected c = aggregate_sweep(s);
  REQUIRE(c.tables.size() == 1);
  const TableRow& ca = row_of(c, "ca");
  CHECK(ca.metric.n == 2);
  CHECK(ca.metric.mean == doctest::Approx(0.6));
  CHECK(ca.metric.std == doctest::Approx(std::sqrt(0.02)));
  CHECK(ca.tokens.mean == doctest::Approx(8));
  CHECK(ca.latency_us.mean == doctest::Approx(11));
  // 31 s + 29 s: two segments of the log (the clock restarts on resume), eval records included.
  CHECK(ca.train_minutes.mean == doctest::Approx(60.0 / 60.0));
  const TableRow& tca_row = row_of(c, "tca");
  CHECK(tca_row.metric.mean == doctest::Approx(0.85));
  CHECK(tca_row.percent_of_n.mean == doctest::Approx(50));
  REQUIRE(c.failed.size() == 1);
  CHECK(c.failed[0].run_id == s.runs[4].run_id);
  CHECK(c.failed[0].reason.find("loss is nan") != std::string::npos);
  REQUIRE(c.missing.size() == 1);
  CHECK(c.missing[0].run_id == s.runs[5].run_id);
  // Curves: the mean over the two seeds at each logged step.
  REQUIRE(c.curves.size() == 1);
  REQUIRE(c.curves[0].series.size() == 2);
  CHECK(c.curves[0].series[0].steps == std::vector<int64_t>{5, 10});
  CHECK(c.curves[0].series[0].values[1].mean == doctest::Approx(0.6));
}

TEST_CASE(
    "the tables: Markdown and LaTeX bold the best mean per column, CSV and JSON carry every "
    "aggregate") {
  test::TempDir tmp;
  const Sweep s = make_sweep(tmp);
  finish_two_seeds(s);
  const Collected c = aggregate_sweep(s);
  const std::string md = tables_markdown(c);
  CHECK(md.find("| Transformer + CA |  | 60.0 ± 14.1 | 2 | 8.00 | 100.0 | **11.0** |") !=
        std::string::npos);
  CHECK(md.find("| ReTreever (TCA) |  | **85.0 ± 7.1** | 2 | **4.00** | **50.0** | 21.0 |") !=
        std::string::npos);
  CHECK(md.find("missing `" + s.runs[4].run_id + "`: not finished") != std::string::npos);
  // The task line says which mean N is (over tasks) against the tokens columns (over queries).
  CHECK(md.find("Task copy, N = 8.0 context tokens on average over the eval set's tasks (the "
                "tokens columns average over queries).") != std::string::npos);
  const std::string tex = tables_latex(c);
  CHECK(tex.find("(task copy, mean $N$ over tasks = 8.0).") != std::string::npos);
  CHECK(tex.find("\\% of $N$ = mean over queries of tokens / $N$ (a mean of ratios).") !=
        std::string::npos);
  CHECK(tex.find("\\toprule") != std::string::npos);
  CHECK(tex.find("\\textbf{85.0 $\\pm$ 7.1}") != std::string::npos);
  CHECK(tex.find("\\% of $N$") != std::string::npos);
  const std::string csv = tables_csv(c);
  CHECK(csv.find("t,e,,copy,ca,,accuracy,0.6,0.141421,2,8,100,11,1.41421,") != std::string::npos);
  const json j = tables_json(c);
  CHECK(j["tables"][0]["rows"][1]["metric"]["mean"].get<double>() == doctest::Approx(0.85));
  CHECK(j["tables"][0]["best"]["metric"] == json::array({1}));
  CHECK(j["tables"][0]["best"]["latency_us_per_query"] == json::array({0}));
  CHECK(j["missing"].size() == 2);
}

TEST_CASE("collect writes the same bytes from the same run files") {
  test::TempDir tmp;
  const Sweep s = make_sweep(tmp);
  finish_run(s, s.runs[0], 0.5, 8, 10);
  finish_run(s, s.runs[1], 0.9, 4, 20);
  CollectOptions opt;
  const CollectResult a = collect(s, opt);
  std::string first;
  for (const auto& f : a.files) first += test::read_bytes(f);
  const CollectResult b = collect(s, opt);
  std::string second;
  for (const auto& f : b.files) second += test::read_bytes(f);
  CHECK(a.files.size() == 4);
  CHECK(first == second);
}

TEST_CASE("DIR/paper.json puts the paper's figures beside the rows they match, in every format") {
  test::TempDir tmp;
  const Sweep s = make_sweep(tmp);
  finish_two_seeds(s);
  // Without paper.json the tables have no such column.
  CHECK(tables_markdown(aggregate_sweep(s)).find("the paper") == std::string::npos);

  test::write_bytes(s.path("paper.json"), R"({
    "note": "quoted from paper-results.md",
    "figures": [
      {"method": "tca", "eval_set": "e", "value": "~1.25", "tag": "3p", "note": "N = 256"},
      {"method": "tca", "eval_set": "other", "value": "wrong eval set", "tag": "3p"},
      {"method": "ca", "setting": {"lr": 1}, "value": "wrong setting", "tag": "3p"},
      {"method": "ca", "group": {"seq_len": 9}, "value": "wrong group", "tag": "3p"}]})");
  const Collected c = aggregate_sweep(s);
  REQUIRE(c.with_paper);
  CHECK(c.tables.at(0).rows.at(0).paper.empty());  // CA: no figure matches
  CHECK(c.tables.at(0).rows.at(1).paper == "~1.25 [3p] (N = 256)");
  const std::string md = tables_markdown(c);
  CHECK(md.find("| training (min) | the paper |\n|---|---|---:|---:|---:|---:|---:|---:|---|") !=
        std::string::npos);
  CHECK(md.find("| 21.0 | **1.0** | ~1.25 [3p] (N = 256) |") != std::string::npos);
  CHECK(md.find("| **11.0** | **1.0** | — |") != std::string::npos);
  CHECK(md.find("_The paper: quoted from paper-results.md_") != std::string::npos);
  const std::string tex = tables_latex(c);
  CHECK(tex.find("{llrrrrrrl}") != std::string::npos);
  CHECK(tex.find("& \\textasciitilde{}1.25 [3p] (N = 256) \\\\") != std::string::npos);
  CHECK(tex.find("The paper: quoted from paper-results.md}") != std::string::npos);
  const std::string csv = tables_csv(c);
  CHECK(csv.find(",run_ids,paper\n") != std::string::npos);
  CHECK(csv.find(",~1.25 [3p] (N = 256)\n") != std::string::npos);
  const json j = tables_json(c);
  CHECK(j["tables"][0]["rows"][1]["paper"] == "~1.25 [3p] (N = 256)");
  CHECK(j["tables"][0]["rows"][0]["paper"].is_null());
  CHECK(j["paper_note"] == "quoted from paper-results.md");
}

TEST_CASE("a paper figure matches on its method, eval set, group values and exact setting") {
  PaperFigures p;
  PaperFigure f;
  f.method = "perceiver";
  f.eval_set = "copy";
  f.group = {{"seq_len", 256}};
  f.setting = {{"num_latents", "match-tca"}};
  f.value = "15.2";
  f.tag = "3p";
  p.figures.push_back(f);
  const json group = {{"seq_len", 256}, {"steps", 5000}};
  const json setting = {{"num_latents", "match-tca"}};
  CHECK(p.cell("copy", group, "perceiver", setting) == "15.2 [3p]");
  CHECK(p.cell("copy", {{"seq_len", 512}, {"steps", 8000}}, "perceiver", setting).empty());
  CHECK(p.cell("copy", {{"steps", 5000}}, "perceiver", setting).empty());  // group key absent
  CHECK(p.cell("other", group, "perceiver", setting).empty());
  CHECK(p.cell("copy", group, "tca", setting).empty());
  CHECK(p.cell("copy", group, "perceiver", {{"num_latents", 16}}).empty());
  CHECK(p.cell("copy", group, "perceiver", json::object()).empty());  // the plain row
}

TEST_CASE("a malformed paper.json is an error naming the file and the key") {
  test::TempDir tmp;
  const Sweep s = make_sweep(tmp);
  finish_two_seeds(s);
  test::write_bytes(s.path("paper.json"),
                    R"({"note": "n", "figures": [{"method": "tca", "value": 1.25, "tag": "3p"}]})");
  CHECK_THROWS_WITH_AS(aggregate_sweep(s), doctest::Contains("figures[0].value"), InputError);
  test::write_bytes(
      s.path("paper.json"),
      R"({"note": "n", "figures": [{"method": "tca", "value": "1", "tag": "3p", "sorce": "x"}]})");
  CHECK_THROWS_WITH_AS(aggregate_sweep(s), doctest::Contains("figures[0].sorce"), InputError);
  test::write_bytes(s.path("paper.json"), R"({"figures": []})");
  CHECK_THROWS_WITH_AS(aggregate_sweep(s), doctest::Contains("paper.json"), InputError);
}
