// The sweep plots (lib/sweep/plots.hpp). Line styles: CA, TCA and Perceiver IO keep one style in
// every plot, and the further series of a plot (the ablations' eight settings of TCA, Perceiver
// IO's several L) never share a style while there are styles left. The latency-vs-N plot and the
// atomic pictures further below.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <set>

#include "core/error.hpp"
#include "io/test_files.hpp"
#include "sweep/plots.hpp"

using namespace tca::sweep;

TEST_CASE("plots: each method keeps its style, further series take distinct ones") {
  CHECK(series_styles({"ca", "tca", "perceiver"}) == std::vector<int>{1, 2, 3});
  CHECK(series_styles({"perceiver", "tca"}) == std::vector<int>{3, 2});
  // GP curves: Perceiver IO at L matched, 16 and 32.
  CHECK(series_styles({"ca", "tca", "perceiver", "perceiver", "perceiver"}) ==
        std::vector<int>{1, 2, 3, 4, 5});
  // The ablations' curves: eight settings of TCA, all apart.
  const std::vector<int> ablations = series_styles(std::vector<std::string>(8, "tca"));
  CHECK(ablations.front() == 2);
  CHECK(std::set<int>(ablations.begin(), ablations.end()).size() == 8);
  // An unknown method takes a further style; past seven further series they cycle.
  CHECK(series_styles({"other"}) == std::vector<int>{kFirstFurtherStyle});
  const std::vector<int> many = series_styles(std::vector<std::string>(9, "ca"));
  CHECK(many[1] == kFirstFurtherStyle);
  CHECK(many[8] == kFirstFurtherStyle);  // the eighth further series: the cycle starts again
  for (int s : many) CHECK((s >= 1 && s < kFirstFurtherStyle + kFurtherStyles));
}

// The latency-vs-N plot and the atomic pictures, from hand-made Collected values; a fake gnuplot
// (a shell script: collect's `-e "svg_out='...'; png_out='...'"` is valid sh as well) stands in
// for gnuplot where the pictures do not matter.
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

TableRow row(const std::string& method, const json& setting, double latency, double std, int n) {
  TableRow r;
  r.method = method;
  r.setting_json = setting;
  r.metric = {0.9, 0.01, n};
  r.tokens = {8, 0, n};
  r.latency_us = {latency, std, n};
  for (int s = 0; s < n; ++s) r.seeds.push_back(s);
  return r;
}

Table table(const std::string& eval_set, const json& group, double n_context,
            std::vector<TableRow> rows) {
  Table t;
  t.eval_set = eval_set;
  t.group = group;
  t.task = "copy";
  t.metric_name = "accuracy";
  t.n_context = n_context;
  t.rows = std::move(rows);
  return t;
}

const json kNone = json::object();
const json kMatched = {{"num_latents", "match-tca"}};

// The copy sweep's shape: seq_len 128 and 256 (N 64 and 128), CA, TCA and Perceiver IO at L
// matched to TCA; Perceiver IO at L = 16 without a latency; an eval set "iid" at one N.
Collected two_n() {
  Collected c;
  c.sweep_name = "copy";
  c.tables.push_back(table(
      "copy", {{"seq_len", 128}}, 64,
      {row("ca", kNone, 3.5, 1, 3), row("tca", kNone, 10, 2, 3),
       row("perceiver", kMatched, 6, 1.5, 3), row("perceiver", {{"num_latents", 16}}, 0, 0, 0)}));
  c.tables.push_back(table("iid", {{"seq_len", 128}}, 64, {row("ca", kNone, 1, 0, 3)}));
  c.tables.push_back(table("copy", {{"seq_len", 256}}, 128.02,
                           {row("ca", kNone, 3.25, 0.5, 3), row("tca", kNone, 6, 0.75, 3),
                            row("perceiver", kMatched, 4, NAN, 1)}));
  return c;
}

std::string fake_gnuplot(const tca::test::TempDir& tmp, const std::string& name,
                         const std::string& body) {
  const std::string path = tmp.file(name);
  tca::test::write_bytes(path, "#!/bin/sh\n[ \"$1\" = -e ] || exit 2\neval \"$2\"\n" + body);
  fs::permissions(path, fs::perms::owner_all);
  return path;
}

// Writes the pictures it was asked for, as gnuplot does.
std::string good_gnuplot(const tca::test::TempDir& tmp) {
  return fake_gnuplot(tmp, "good-gnuplot",
                      "printf 'new svg' > \"$svg_out\"\nprintf 'new png' > \"$png_out\"\n");
}

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

// Files in `dir` whose name has `part` in it.
std::vector<std::string> files_with(const std::string& dir, const std::string& part) {
  std::vector<std::string> found;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (contains(e.path().filename().string(), part)) found.push_back(e.path().filename());
  }
  return found;
}

}  // namespace

TEST_CASE("plots: latency against N, a series per method and setting across an eval set's groups") {
  tca::test::TempDir tmp;
  const std::string dir = tmp.file("plots");
  const auto files = write_plots(two_n(), dir, good_gnuplot(tmp));
  for (const char* ext : {".dat", ".gp", ".svg", ".png"}) {
    const std::string f = dir + "/copy-latency-vs-n" + ext;
    CHECK_MESSAGE(std::count(files.begin(), files.end(), f) == 1, f);
    CHECK_MESSAGE(fs::exists(f), f);
  }
  CHECK(files_with(dir, "iid-latency").empty());  // one N
  // x = N, y = latency mean and std (0 for one seed); Perceiver IO at L matched to TCA is one
  // line over N, at L = 16 (no latency) none; a comment names each point's group.
  CHECK(tca::test::read_bytes(dir + "/copy-latency-vs-n.dat") ==
        "# N  latency_us_mean  latency_us_std  (eval set copy; one block per series; a comment "
        "before each point names its table group)\n"
        "# Transformer + CA\n# seq_len = 128, 3 seeds\n64 3.5 1\n"
        "# seq_len = 256, 3 seeds\n128.02 3.25 0.5\n\n\n"
        "# ReTreever (TCA)\n# seq_len = 128, 3 seeds\n64 10 2\n"
        "# seq_len = 256, 3 seeds\n128.02 6 0.75\n\n\n"
        "# Perceiver IO, L matched to TCA\n# seq_len = 128, 3 seeds\n64 6 1.5\n"
        "# seq_len = 256, 1 seed\n128.02 4 0\n\n\n");
  const std::string gp = tca::test::read_bytes(dir + "/copy-latency-vs-n.gp");
  CHECK(contains(gp, "index 0 using 1:2:3 with yerrorlines ls 1 title 'Transformer + CA'"));
  CHECK(contains(gp, "index 1 using 1:2:3 with yerrorlines ls 2 title 'ReTreever (TCA)'"));
  CHECK(contains(
      gp, "index 2 using 1:2:3 with yerrorlines ls 3 title 'Perceiver IO, L matched to TCA'"));
  CHECK(contains(gp,
                 "set title 'copy: inference latency per query against context size N (eval "
                 "set copy)'\n"));
  CHECK(
      contains(gp, "set xlabel 'context tokens N (log scale)'\nset ylabel 'latency (µs/query)'\n"));
  CHECK(contains(gp, "set logscale x 2\n"));
  // The same script from the same Collected (committed scripts are compared with a fresh collect).
  write_plots(two_n(), dir, good_gnuplot(tmp));
  CHECK(tca::test::read_bytes(dir + "/copy-latency-vs-n.gp") == gp);

  // Two groups at one N (64 and 64.03: a mean over tasks): no latency plot.
  Collected one = two_n();
  one.tables.at(2).n_context = 64.03;
  const std::string dir1 = tmp.file("one-n");
  for (const auto& f : write_plots(one, dir1, good_gnuplot(tmp)))
    CHECK_MESSAGE(!contains(f, "latency"), f);
  CHECK(files_with(dir1, "latency").empty());
}

TEST_CASE(
    "plots: of several rows at one N, the latency plot takes the most seeds, else the first") {
  tca::test::TempDir tmp;
  // Copy's T = 512 at two step budgets (N 256 and 256.01): CA has 1 seed at 8000, 2 at 16000;
  // TCA 2 seeds at each.
  Collected c;
  c.sweep_name = "copy";
  c.tables.push_back(table("copy", {{"seq_len", 256}, {"steps", 5000}}, 128,
                           {row("ca", kNone, 3, 0.5, 3), row("tca", kNone, 6, 0.5, 3)}));
  c.tables.push_back(table("copy", {{"seq_len", 512}, {"steps", 8000}}, 256,
                           {row("ca", kNone, 8.8, NAN, 1), row("tca", kNone, 7, 1, 2)}));
  c.tables.push_back(table("copy", {{"seq_len", 512}, {"steps", 16000}}, 256.01,
                           {row("ca", kNone, 4.7, 0.5, 2), row("tca", kNone, 5, 1, 2)}));
  const std::string dir = tmp.file("plots");
  write_plots(c, dir, good_gnuplot(tmp));
  const std::string ca = "# Transformer + CA\n# seq_len = 256, steps = 5000, 3 seeds\n128 3 0.5\n";
  const std::string tca_ = "# ReTreever (TCA)\n# seq_len = 256, steps = 5000, 3 seeds\n128 6 0.5\n";
  std::string dat = tca::test::read_bytes(dir + "/copy-latency-vs-n.dat");
  CHECK(contains(dat, ca + "# seq_len = 512, steps = 16000, 2 seeds\n256.01 4.7 0.5\n\n\n"));
  CHECK(contains(dat, tca_ + "# seq_len = 512, steps = 8000, 2 seeds\n256 7 1\n\n\n"));

  // The other table order: CA keeps the 2 seeds, TCA's tie goes to the now first table.
  std::swap(c.tables[1], c.tables[2]);
  write_plots(c, dir, good_gnuplot(tmp));
  dat = tca::test::read_bytes(dir + "/copy-latency-vs-n.dat");
  CHECK(contains(dat, ca + "# seq_len = 512, steps = 16000, 2 seeds\n256.01 4.7 0.5\n\n\n"));
  CHECK(contains(dat, tca_ + "# seq_len = 512, steps = 16000, 2 seeds\n256.01 5 1\n\n\n"));
}

TEST_CASE("plots: gnuplot renders to temp names, renamed only after it succeeded") {
  tca::test::TempDir tmp;
  Collected c;
  c.sweep_name = "copy";
  c.tables.push_back(table("copy", kNone, 64, {row("ca", kNone, 3, 0.5, 3)}));
  const std::string dir = tmp.file("plots");
  fs::create_directories(dir);
  const std::string svg = dir + "/copy-metric-vs-tokens.svg",
                    png = dir + "/copy-metric-vs-tokens.png";
  tca::test::write_bytes(svg, "old svg");
  tca::test::write_bytes(png, "old png");

  // A gnuplot that fails half-way: the older pictures stay, its partial outputs go.
  const std::string bad = fake_gnuplot(tmp, "bad-gnuplot",
                                       "printf partial > \"$svg_out\"\nprintf partial > "
                                       "\"$png_out\"\necho 'line 3: error: boom' >&2\nexit 1\n");
  CHECK_THROWS_WITH_AS(write_plots(c, dir, bad), doctest::Contains("boom"), tca::RuntimeFailure);
  CHECK(tca::test::read_bytes(svg) == "old svg");
  CHECK(tca::test::read_bytes(png) == "old png");
  CHECK(files_with(dir, ".part").empty());
  // One that exits 0 without a picture is a failure too.
  CHECK_THROWS_WITH_AS(write_plots(c, dir, fake_gnuplot(tmp, "no-gnuplot", "exit 0\n")),
                       doctest::Contains("gnuplot wrote no copy-metric-vs-tokens.svg"),
                       tca::RuntimeFailure);
  CHECK(tca::test::read_bytes(svg) == "old svg");

  // A good one: the new pictures under the final names; a stale temp (a killed collect) is gone.
  tca::test::write_bytes(svg + ".part", "stale");
  write_plots(c, dir, good_gnuplot(tmp));
  CHECK(tca::test::read_bytes(svg) == "new svg");
  CHECK(tca::test::read_bytes(png) == "new png");
  CHECK(files_with(dir, ".part").empty());
  // The script names its outputs by variables, defaulting to the final names when run by hand.
  const std::string gp = tca::test::read_bytes(dir + "/copy-metric-vs-tokens.gp");
  CHECK(contains(gp, "if (!exists(\"svg_out\")) svg_out = 'copy-metric-vs-tokens.svg'\n"));
  CHECK(contains(gp, "if (!exists(\"png_out\")) png_out = 'copy-metric-vs-tokens.png'\n"));
  CHECK(contains(gp, "set output svg_out\n"));
  CHECK(contains(gp, "set output png_out\n"));
}

TEST_CASE("plots: with the real gnuplot, every picture is written and the scripts run by hand") {
  const std::string gnuplot = "/usr/bin/gnuplot";
  if (!fs::exists(gnuplot)) {
    WARN_MESSAGE(false, "no " << gnuplot << " (Debian package gnuplot-nox): not checked");
    return;
  }
  tca::test::TempDir tmp;
  const std::string dir = tmp.file("plots");
  fs::create_directories(dir);
  tca::test::write_bytes(dir + "/copy-latency-vs-n.svg", "old svg");
  const auto files = write_plots(two_n(), dir, gnuplot);
  CHECK(files.size() == 4 * 4);  // three tables' metric plots and copy's latency plot
  for (const auto& f : files) CHECK_MESSAGE(fs::file_size(f) > 100, f);
  const std::string svg = tca::test::read_bytes(dir + "/copy-latency-vs-n.svg");
  CHECK(contains(svg, "<svg"));
  CHECK(contains(svg, "latency (µs/query)"));
  CHECK(tca::test::read_bytes(dir + "/copy-latency-vs-n.png").substr(1, 3) == "PNG");
  CHECK(files_with(dir, ".part").empty());
  CHECK(files_with(dir, ".gnuplot.log").empty());

  // `gnuplot BASE.gp` by hand writes BASE.svg and BASE.png.
  fs::remove(dir + "/copy-latency-vs-n.svg");
  fs::remove(dir + "/copy-latency-vs-n.png");
  REQUIRE(std::system(("cd '" + dir + "' && " + gnuplot + " copy-latency-vs-n.gp").c_str()) == 0);
  CHECK(fs::file_size(dir + "/copy-latency-vs-n.svg") > 100);
  CHECK(tca::test::read_bytes(dir + "/copy-latency-vs-n.png").substr(1, 3) == "PNG");
}
