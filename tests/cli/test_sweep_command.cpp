// End-to-end tests of `tca sweep plan|run|collect` (issue 18) on tiny copy-task runs: a grid of
// 3 methods x 2 settings x 3 seeds from plan to tables and plots; a failed run recorded without
// stopping the others (exit 3); a runner killed half-way and re-run completes only what was
// missing; two runners on one sweep never take the same run; --index / --index-env (also in a
// clone without the ignored data, logs and locks directories); a re-plan while a runner works.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <set>
#include <thread>

#include "cli_test_util.hpp"

using namespace tca::cli_test;
namespace test = tca::test;
namespace fs = std::filesystem;
using json = nlohmann::json;

namespace {

// 3 methods x 2 settings (d_model 8 / 16) x 3 seeds, tiny copy task; Perceiver IO matched to TCA.
std::string grid_json(int steps, const std::string& extra = "") {
  return R"({"name": "tiny", "fixed": {"task": "copy", "seq_len": 16, "batch_size": 8, "steps": )" +
         std::to_string(steps) +
         R"(, "log_every": 5, "eval_every": 10, "eval_batches": 2, "checkpoint_every": 5,
            "heads": 2, "dim_feedforward": 16, "emb_depth": 2, "num_latent_layers": 1)" +
         extra + R"(},
   "eval_sets": {"copy": {"make-dataset": "copy", "seq_len": "{seq_len}", "count": 32, "batch-size": 8, "seed": 0}},
   "curve_eval": "copy",
   "runs": [{"model": ["ca", "tca"]}, {"model": "perceiver", "num_latents": "match-tca"}],
   "d_model": [8, 16],
   "seeds": [0, 1, 2]})";
}

void write_file(const test::TempDir& dir, const std::string& name, const std::string& text) {
  test::write_bytes(dir.file(name), text);
}

std::vector<json> index_of(const test::TempDir& dir, const std::string& sweep) {
  return read_jsonl(dir.file(sweep + "/index.jsonl"));
}

std::string run_dir(const test::TempDir& dir, const std::string& sweep, const json& entry) {
  return dir.file(sweep + "/runs/" + entry["run_id"].get<std::string>());
}

}  // namespace

TEST_CASE("sweep: a 3 x 2 x 3 grid goes from plan to tables and plots with the local pool") {
  test::TempDir dir;
  write_file(dir, "grid.json", grid_json(20));
  const Run plan = run_tca(dir, "sweep plan --grid grid.json --out sw");
  REQUIRE_MESSAGE(plan.exit_code == 0, plan.err);
  CHECK(contains(plan.out, "18 runs (18 new"));
  CHECK(count_lines(slurp(dir.file("sw/commands.txt"))) == 18);
  // Re-planning the same grid changes nothing.
  const std::string index = slurp(dir.file("sw/index.jsonl"));
  REQUIRE(run_tca(dir, "sweep plan --grid grid.json --out sw").exit_code == 0);
  CHECK(slurp(dir.file("sw/index.jsonl")) == index);

  const Run run = run_tca(dir, "sweep run sw --all --jobs 2");
  REQUIRE_MESSAGE(run.exit_code == 0, run.err);
  CHECK(contains(run.err, "finished: 18/18 done, 0 failed"));
  for (const auto& e : index_of(dir, "sw")) {
    const std::string rd = run_dir(dir, "sw", e);
    CHECK(read_json(rd + "/status.json")["state"] == "done");
    CHECK(fs::exists(rd + "/eval-copy.json"));
    if (e.contains("match")) {
      // L = TCA's rounded mean tokens attended on the eval set (N = 8, b = 2: |S| = 2 + 2 = 4).
      CHECK(read_json(rd + "/config.json")["num_latents"] == 4);
      CHECK(read_json(rd + "/sweep_run.json")["num_latents"] == 4);
    }
  }
  const Run again = run_tca(dir, "sweep run sw --all --jobs 2");
  REQUIRE(again.exit_code == 0);
  CHECK(contains(again.err, "18 already done, 0 to run"));
  const Run status = run_tca(dir, "sweep status sw");
  REQUIRE_MESSAGE(status.exit_code == 0, status.err);
  CHECK(contains(status.out, "18 runs: 18 done, 0 running, 0 partial, 0 failed, 0 not started"));

  const Run col = run_tca(dir, "sweep collect sw --plots");
  REQUIRE_MESSAGE(col.exit_code == 0, col.err);
  const json t = read_json(dir.file("sw/tables/results.json"));
  REQUIRE(t["tables"].size() == 1);
  REQUIRE(t["tables"][0]["rows"].size() == 6);
  for (const auto& row : t["tables"][0]["rows"]) CHECK(row["metric"]["n"] == 3);
  CHECK(contains(col.out, "| Perceiver IO | d_model = 8, L matched to TCA (4) |"));
  for (const char* f : {"tables/results.md", "tables/results.tex", "tables/results.csv",
                        "plots/copy-metric-vs-tokens.svg", "plots/copy-metric-vs-tokens.png",
                        "plots/curves.svg", "plots/curves.png"}) {
    CHECK_MESSAGE(fs::file_size(dir.file(std::string("sw/") + f)) > 100, f);
  }
  CHECK(slurp(dir.file("sw/plots/curves.png")).substr(1, 3) == "PNG");
  // Metric against tokens: a series per method and setting other than L (never a line between
  // two d_model values), each setting in its own line style.
  const std::string dat = slurp(dir.file("sw/plots/copy-metric-vs-tokens.dat"));
  const std::string gp = slurp(dir.file("sw/plots/copy-metric-vs-tokens.gp"));
  for (const char* d : {"8", "16"}) {
    for (const char* m : {"Transformer + CA", "ReTreever (TCA)", "Perceiver IO"}) {
      const std::string label = std::string(m) + ", d_model = " + d;
      CHECK_MESSAGE(contains(dat, "# " + label + "\n"), label);
      CHECK_MESSAGE(contains(gp, "title '" + label + "'"), label);
    }
  }
  CHECK(count_lines(dat) == 1 + 6 * 4);  // header, then per series: label, one point, 2 blank
  std::set<std::string> styles;
  for (size_t at = gp.find(" ls "); at != std::string::npos; at = gp.find(" ls ", at + 1))
    styles.insert(gp.substr(at, gp.find(' ', at + 4) - at));
  CHECK(styles.size() == 6);
  // Tables and plots regenerate byte-identically from the same run files.
  const std::string before = slurp(dir.file("sw/tables/results.md")) +
                             slurp(dir.file("sw/plots/curves.svg")) +
                             slurp(dir.file("sw/plots/copy-metric-vs-tokens.png"));
  REQUIRE(run_tca(dir, "sweep collect sw --plots").exit_code == 0);
  CHECK(before == slurp(dir.file("sw/tables/results.md")) + slurp(dir.file("sw/plots/curves.svg")) +
                      slurp(dir.file("sw/plots/copy-metric-vs-tokens.png")));
}

TEST_CASE("sweep: a failed run is recorded, the others finish, exit 3, collect lists it") {
  test::TempDir dir;
  write_file(
      dir, "grid.json",
      R"({"name": "f", "fixed": {"task": "copy", "seq_len": 16, "batch_size": 8, "steps": 30, "clip": 0,
      "d_model": 8, "heads": 2, "dim_feedforward": 16, "emb_depth": 2},
      "eval_sets": {"copy": {"make-dataset": "copy", "seq_len": 16, "count": 16, "batch-size": 8}},
      "model": "ca", "lr": [0.0005, 1e30]})");
  REQUIRE(run_tca(dir, "sweep plan --grid grid.json --out sw").exit_code == 0);
  const Run run = run_tca(dir, "sweep run sw --all --jobs 2");
  CHECK_MESSAGE(run.exit_code == 3, run.err);
  CHECK(contains(run.err, "FAILED"));
  CHECK(contains(run.err, "finished: 1/2 done, 1 failed"));
  const auto idx = index_of(dir, "sw");
  const std::string failed = run_dir(dir, "sw", idx[1]["config"]["lr"] == 1e30 ? idx[1] : idx[0]);
  const json rec = read_json(failed + "/sweep_run.json");
  CHECK(rec["state"] == "failed");
  CHECK(rec["stage"] == "train");
  CHECK(contains(rec["error"].get<std::string>(),
                 "tca train: error: the "));  // training loss or gradient norm is nan
  const Run col = run_tca(dir, "sweep collect sw");
  REQUIRE(col.exit_code == 0);
  CHECK(contains(col.out, "FAILED `"));
  CHECK(contains(col.out, "| 1 |"));  // the good run alone, n = 1
  // One index alone (a Slurm array task) exits 3 as well when its run fails.
  REQUIRE(run_tca(dir, "sweep plan --grid grid.json --out one").exit_code == 0);
  const int bad = index_of(dir, "one")[0]["config"]["lr"] == 1e30 ? 0 : 1;
  const Run single = run_tca(dir, "sweep run one --index " + std::to_string(bad));
  CHECK_MESSAGE(single.exit_code == 3, single.err);
  CHECK(contains(single.err, "FAILED"));
}

TEST_CASE("sweep: --all over two sweeps shares one pool, and a match stays within its sweep") {
  test::TempDir dir;
  const std::string fixed =
      R"("fixed": {"task": "copy", "seq_len": 16, "batch_size": 8, "steps": 10, "d_model": 8,
         "heads": 2, "dim_feedforward": 16, "emb_depth": 2, "num_latent_layers": 1},
         "eval_sets": {"copy": {"make-dataset": "copy", "seq_len": 16, "count": 16, "batch-size": 8}})";
  write_file(dir, "a.json", R"({"name": "a", )" + fixed + R"(, "model": "ca", "seeds": [0, 1]})");
  write_file(
      dir, "b.json",
      R"({"name": "b", )" + fixed +
          R"(, "runs": [{"model": "tca"}, {"model": "perceiver", "num_latents": "match-tca"}]})");
  REQUIRE(run_tca(dir, "sweep plan --grid a.json --out a").exit_code == 0);
  REQUIRE(run_tca(dir, "sweep plan --grid b.json --out b").exit_code == 0);
  const Run run = run_tca(dir, "sweep run a b --all --jobs 2");
  REQUIRE_MESSAGE(run.exit_code == 0, run.err);
  CHECK(contains(run.err, "a: 2 runs, 0 already done, 2 to run"));
  CHECK(contains(run.err, "b: 2 runs, 0 already done, 2 to run"));
  CHECK(contains(run.err, "finished: 4/4 done, 0 failed"));
  for (const char* sweep : {"a", "b"}) {
    for (const auto& e : index_of(dir, sweep))
      CHECK(read_json(run_dir(dir, sweep, e) + "/sweep_run.json")["state"] == "done");
  }
  // The Perceiver IO run of b took its L from b's TCA run.
  const auto b = index_of(dir, "b");
  const json tca_eval = read_json(run_dir(dir, "b", b[0]) + "/eval-copy.json");
  const json perceiver = read_json(run_dir(dir, "b", b[1]) + "/config.json");
  CHECK(perceiver["num_latents"].get<double>() ==
        std::round(tca_eval["tokens_attended"]["mean"].get<double>()));
  // Again: everything is already done.
  const Run again = run_tca(dir, "sweep run b a --all");
  CHECK(again.exit_code == 0);
  CHECK(contains(again.err, "b: 2 runs, 2 already done, 0 to run"));
  const Run st = run_tca(dir, "sweep status a b");
  REQUIRE_MESSAGE(st.exit_code == 0, st.err);
  CHECK(contains(st.out, "a: 2 runs: 2 done"));
  CHECK(contains(st.out, "b: 2 runs: 2 done"));
  CHECK(contains(st.out, "All 2 sweeps: "));
  const Run stj = run_tca(dir, "sweep status a b --json");
  REQUIRE(stj.exit_code == 0);
  CHECK(json::parse(stj.out).size() == 2);
  check_usage_error(run_tca(dir, "sweep run a b --index 0"), "one sweep directory");
  check_usage_error(run_tca(dir, "sweep run a a --all"), "given twice");
}

TEST_CASE("sweep: a runner killed half-way, the re-run completes only what was missing") {
  test::TempDir dir;
  // Two runs at a time, each a few seconds: kill the runner (SIGKILL) while the first pair trains.
  write_file(dir, "grid.json",
             R"({"name": "k", "fixed": {"task": "copy", "seq_len": 16, "batch_size": 8, "steps": 40,
      "log_every": 5, "checkpoint_every": 5, "d_model": 8, "heads": 2, "dim_feedforward": 16, "emb_depth": 2},
      "eval_sets": {"copy": {"make-dataset": "copy", "seq_len": 16, "count": 16, "batch-size": 8}},
      "runs": [{"model": "ca", "steps": 3}, {"model": "tca", "steps": 3000}], "seeds": [0, 1]})");
  REQUIRE(run_tca(dir, "sweep plan --grid grid.json --out sw").exit_code == 0);
  const auto idx = index_of(dir, "sw");
  REQUIRE(idx.size() == 4);
  const std::string quick = run_dir(dir, "sw", idx[0]), slow = run_dir(dir, "sw", idx[1]);
  const std::string cmd = "cd '" + dir.path() + "' && exec '" + tca_binary() +
                          "' sweep run sw --all --jobs 2 > kill.out 2> kill.err";
  {
    BackgroundCommand runner(cmd);
    // Wait until the quick run is done and the slow one has a checkpoint (up to 2 min on a loaded
    // machine), then kill the runner.
    REQUIRE(wait_until(
        [&] {
          return fs::exists(quick + "/sweep_run.json") && fs::exists(slow + "/checkpoint.h5");
        },
        std::chrono::minutes(2)));
    runner.signal(SIGKILL);
    REQUIRE(runner.wait_for(std::chrono::minutes(1)));
  }
  // Its children get SIGTERM (PR_SET_PDEATHSIG), checkpoint and exit 75: "interrupted".
  REQUIRE(wait_until(
      [&] {
        return fs::exists(slow + "/status.json") &&
               read_json(slow + "/status.json")["state"] == "interrupted";
      },
      std::chrono::minutes(2)));
  const std::string quick_eval = slurp(quick + "/eval-copy.json");
  const int64_t slow_step = read_jsonl(slow + "/metrics.jsonl").back()["step"].get<int64_t>();
  CHECK(slow_step < 3000);

  const Run rerun = run_tca(dir, "sweep run sw --all --jobs 2");
  REQUIRE_MESSAGE(rerun.exit_code == 0, rerun.err);
  CHECK(contains(rerun.err, "1 already done, 3 to run"));
  CHECK_FALSE(contains(rerun.err, "start 1/4"));
  // Its start line says it resumes, and estimates only the steps after the checkpoint.
  CHECK(contains(rerun.err,
                 idx[1]["run_id"].get<std::string>() + " (index 1, resumes from its checkpoint"));
  CHECK(slurp(quick + "/eval-copy.json") == quick_eval);
  // The slow run was resumed from its checkpoint: its log continues and ends at the last step.
  CHECK(read_jsonl(slow + "/metrics.jsonl").back()["step"] == 3000);
  CHECK(contains(slurp(dir.file("sw/logs/" + idx[1]["run_id"].get<std::string>() + "/train.log")),
                 "resum"));
  for (const auto& e : idx)
    CHECK(read_json(run_dir(dir, "sw", e) + "/status.json")["state"] == "done");
}

TEST_CASE("sweep: two runners on one sweep never take the same run") {
  test::TempDir dir;
  write_file(dir, "grid.json",
             R"({"name": "l", "fixed": {"task": "copy", "seq_len": 16, "batch_size": 8, "steps": 30,
      "d_model": 8, "heads": 2, "dim_feedforward": 16, "emb_depth": 2},
      "eval_sets": {"copy": {"make-dataset": "copy", "seq_len": 16, "count": 16, "batch-size": 8}},
      "model": ["ca", "perceiver"], "seeds": [0, 1, 2]})");
  REQUIRE(run_tca(dir, "sweep plan --grid grid.json --out sw").exit_code == 0);
  const std::string a = "'" + tca_binary() + "' sweep run sw --all > a.out 2> a.err";
  const std::string b = "'" + tca_binary() + "' sweep run sw --all > b.out 2> b.err";
  REQUIRE(std::system(("cd '" + dir.path() + "' && (" + a + " & " + b + " & wait)").c_str()) == 0);
  const std::string err = slurp(dir.file("a.err")) + slurp(dir.file("b.err"));
  std::set<std::string> started;
  size_t starts = 0;
  for (const auto& e : index_of(dir, "sw")) {
    const std::string id = e["run_id"];
    size_t n = 0;
    for (size_t at = err.find("start "); at != std::string::npos; at = err.find("start ", at + 1)) {
      n += err.compare(err.find(' ', at + 6) + 1, id.size(), id) == 0;
    }
    CHECK_MESSAGE(n == 1, id << " started " << n << " times:\n" << err);
    starts += n;
    CHECK(read_json(run_dir(dir, "sw", e) + "/status.json")["state"] == "done");
  }
  CHECK(starts == 6);
}

TEST_CASE("sweep: --index and --index-env run one planned run, bad indices are usage errors") {
  test::TempDir dir;
  write_file(dir, "grid.json",
             R"({"name": "i", "fixed": {"task": "copy", "seq_len": 16, "batch_size": 8, "steps": 5,
      "d_model": 8, "heads": 2, "dim_feedforward": 16, "emb_depth": 2},
      "eval_sets": {"copy": {"make-dataset": "copy", "seq_len": 16, "count": 16, "batch-size": 8}}, "model": ["ca", "tca"]})");
  REQUIRE(run_tca(dir, "sweep plan --grid grid.json --out sw").exit_code == 0);
  const auto idx = index_of(dir, "sw");
  // As in a clone of a committed sweep: results/.gitignore leaves out data/, logs/ and locks/.
  for (const char* sub : {"data", "logs", "locks"})
    fs::remove_all(dir.file(std::string("sw/") + sub));
  const Run one = run_tca(dir, "sweep run sw --index 1");
  REQUIRE_MESSAGE(one.exit_code == 0, one.err);
  CHECK(fs::exists(run_dir(dir, "sw", idx[1]) + "/eval-copy.json"));
  CHECK_FALSE(fs::exists(run_dir(dir, "sw", idx[0])));
  const Run env = run_tca(dir, "sweep run sw --index-env MY_TASK_ID");
  check_usage_error(env, "MY_TASK_ID");
  REQUIRE(std::system(("cd '" + dir.path() + "' && MY_TASK_ID=0 '" + tca_binary() +
                       "' sweep run sw --index-env MY_TASK_ID 2>/dev/null")
                          .c_str()) == 0);
  CHECK(fs::exists(run_dir(dir, "sw", idx[0]) + "/eval-copy.json"));
  check_usage_error(run_tca(dir, "sweep run sw --index 7"), "--index 7");
  check_usage_error(run_tca(dir, "sweep run sw --all --jobs 64"), "oversubscribe");
  check_usage_error(run_tca(dir, "sweep run sw"), "exactly one of");
  check_usage_error(run_tca(dir, "sweep plan --grid grid.json"), "--out");
}

TEST_CASE(
    "sweep plan: an invalid train value or a grid that drops runs is refused before anything "
    "changes") {
  test::TempDir dir;
  write_file(dir, "bad.json", R"({"task": "copy", "model": ["ca", "tcaa"]})");
  const Run bad = run_tca(dir, "sweep plan --grid bad.json --out sw");
  check_usage_error(bad, "tcaa");
  CHECK_FALSE(fs::exists(dir.file("sw/index.jsonl")));
  write_file(dir, "unknown.json", R"({"task": "copy", "model": "ca", "branching": 2})");
  check_usage_error(run_tca(dir, "sweep plan --grid unknown.json --out sw"),
                    "unknown.json:branching");
  // A mistyped key names the closest train option or grid key, as a config file's does.
  write_file(dir, "typo.json", R"({"task": "copy", "model": "tca", "fixed": {"branch_factr": 4}})");
  check_usage_error(run_tca(dir, "sweep plan --grid typo.json --out sw"),
                    "found 'branch_factr' (did you mean 'branch_factor'?)");
  write_file(dir, "meta.json", R"({"task": "copy", "model": "ca", "eval_set": {}})");
  check_usage_error(run_tca(dir, "sweep plan --grid meta.json --out sw"),
                    "did you mean 'eval_sets'?");
  write_file(dir, "g.json", R"({"task": "copy", "model": ["ca", "tca"]})");
  REQUIRE(run_tca(dir, "sweep plan --grid g.json --out sw").exit_code == 0);
  write_file(dir, "g2.json", R"({"task": "copy", "model": ["ca"]})");
  check_usage_error(run_tca(dir, "sweep plan --grid g2.json --out sw"), "would drop planned runs");
  // Neither run has started, so --drop-unstarted may drop the TCA one; `sweep status` sees one.
  REQUIRE(run_tca(dir, "sweep plan --grid g2.json --out sw --drop-unstarted").exit_code == 0);
  const Run status = run_tca(dir, "sweep status sw --json");
  REQUIRE_MESSAGE(status.exit_code == 0, status.err);
  const json st = json::parse(status.out);
  CHECK(st["runs"].size() == 1);
  CHECK(st["counts"]["not_started"] == 1);
  check_usage_error(run_tca(dir, "sweep status nowhere"), "nowhere");
}

TEST_CASE("sweep: a runner does not start a run that a re-plan dropped, and names added runs") {
  test::TempDir dir;
  // One worker: the slow TCA run first, then the quick CA run, which the re-plan drops while the
  // runner is stopped (SIGSTOP) mid-way through the TCA run; a Perceiver IO run is added.
  const std::string fixed =
      R"("fixed": {"task": "copy", "seq_len": 16, "batch_size": 8, "log_every": 5, "checkpoint_every": 5,
      "d_model": 8, "heads": 2, "dim_feedforward": 16, "emb_depth": 2},
      "eval_sets": {"copy": {"make-dataset": "copy", "seq_len": 16, "count": 16, "batch-size": 8}})";
  write_file(dir, "g1.json",
             R"({"name": "r", )" + fixed +
                 R"(, "runs": [{"model": "tca", "steps": 600}, {"model": "ca", "steps": 3}]})");
  write_file(dir, "g2.json",
             R"({"name": "r", )" + fixed +
                 R"(, "runs": [{"model": "tca", "steps": 600},
                                 {"model": "perceiver", "num_latents": 4, "steps": 3}]})");
  REQUIRE(run_tca(dir, "sweep plan --grid g1.json --out sw").exit_code == 0);
  const auto before = index_of(dir, "sw");
  REQUIRE(before.size() == 2);
  const std::string slow = run_dir(dir, "sw", before[0]), dropped = run_dir(dir, "sw", before[1]);
  const std::string cmd = "cd '" + dir.path() + "' && exec '" + tca_binary() +
                          "' sweep run sw --all --jobs 1 > r.out 2> r.err";
  BackgroundCommand runner(cmd);  // killed and reaped however the test ends
  REQUIRE(wait_until([&] { return fs::exists(slow + "/config.json"); },
                     std::chrono::minutes(2)));  // up to 2 min on a loaded machine
  // Stopped, the runner cannot move on to the CA run even if the TCA run ends meanwhile.
  runner.signal(SIGSTOP);
  const Run replan = run_tca(dir, "sweep plan --grid g2.json --out sw --drop-unstarted");
  runner.signal(SIGCONT);
  // Up to 5 min, then fail (not hang).
  REQUIRE_MESSAGE(runner.wait_for(std::chrono::minutes(5)), slurp(dir.file("r.err")));
  REQUIRE_MESSAGE(replan.exit_code == 0, replan.err);
  const std::string err = slurp(dir.file("r.err"));
  REQUIRE_MESSAGE(WIFEXITED(runner.status()), err);
  CHECK_MESSAGE(runner.exit_code() == 0, err);
  const auto after = index_of(dir, "sw");
  REQUIRE(after.size() == 2);
  const std::string added = after[1]["run_id"];
  CHECK(read_json(slow + "/status.json")["state"] == "done");
  CHECK_FALSE(fs::exists(dropped));  // never started: no run directory
  CHECK_FALSE(fs::exists(dir.file("sw/locks/" + before[1]["run_id"].get<std::string>() + ".lock")));
  CHECK(contains(err, "not run: " + before[1]["run_id"].get<std::string>() + " was dropped"));
  CHECK(contains(err, "1 dropped by a re-plan"));
  CHECK(contains(err, "finished: 1/1 done"));
  CHECK(contains(err, "1 planned run(s) it did not run (" + added + ")"));
  // Run again, the runner picks up the added run.
  const Run again = run_tca(dir, "sweep run sw --all");
  REQUIRE_MESSAGE(again.exit_code == 0, again.err);
  CHECK(contains(again.err, "1 already done, 1 to run"));
  CHECK(read_json(run_dir(dir, "sw", after[1]) + "/status.json")["state"] == "done");
}
