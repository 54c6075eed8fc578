#!/usr/bin/env bash
# The real Slurm test of `tca sweep` (issue 18, item 5): brings up a single-node Slurm on
# localhost (tests/slurm/slurm_cluster.sh), plans a 4-run sweep (copy task, CA and TCA, seeds 0
# and 1), submits DIR/sweep.sbatch with sbatch, waits for the array, checks every run finished
# and was scored, collects the tables and checks them. Then preempts one longer run with USR1
# (as Slurm's --signal does) and checks it was requeued, resumed and finished. Stops the
# daemons by their pids.
#
#   bash tests/slurm/sweep_slurm_test.sh [path/to/tca]   (default: the repo's build/tca; needs root)
#
# Where Slurm cannot start, or the binary has no `sweep`, it FAILS with the reason: never skips.
# One summary line at the end ("sweep_slurm_test: N passed, M failed (T s)"); exit 1 on failure.
# KEEP=1 keeps the temp dir on success too (it is always kept on failure).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/slurm/slurm_cluster.sh
source "$here/slurm_cluster.sh"

slurm_test_counters
summary() { echo "sweep_slurm_test: $passed passed, $failed failed ($((SECONDS - t0)) s)"; }
# A failure after which nothing else can be checked.
fatal() { fail "$*"; summary; exit 1; }

# Default: the repository's build/tca (wherever the script is run from).
tca=${1:-$here/../../build/tca}
[ -x "$tca" ] || fatal "tca binary not found or not executable: $tca (build it first: make)"
tca=$(cd "$(dirname "$tca")" && pwd)/$(basename "$tca")
if ! "$tca" sweep --help >/dev/null 2>&1; then
  fatal "$tca has no working 'sweep' command ('$tca sweep --help' failed): cannot test tca sweep on Slurm"
fi

# Short path: slurmd's step sockets live under the cluster dir (Unix socket paths are limited).
dir=$(mktemp -d /tmp/tca-sweep.XXXXXX) || fatal "mktemp failed"
sweep=$dir/sweep
psweep=$dir/preempt
# Test a snapshot of the binary: a rebuild of build/tca while the jobs run (seen: "cannot start
# build/tca: Permission denied" mid-test) must not break them. `tca sweep plan` writes the path
# of the binary it was run as into commands.txt and sweep.sbatch, so the jobs use the copy.
cp "$tca" "$dir/tca" || fatal "cannot copy $tca to $dir/tca"
tca=$dir/tca

slurm_exit_trap  # tears the cluster down however the test ends; keeps $dir when it failed

# On failure: the daemons' logs, the job outputs and each run's own record of what went wrong.
show_failure_context() {
  local f
  slurm_dump_logs
  for f in "$sweep"/logs/* "$sweep"/runs/*/sweep_run.json "$sweep"/runs/*/status.json \
           "$psweep"/logs/* "$psweep"/runs/*/sweep_run.json "$psweep"/runs/*/status.json; do
    [ -f "$f" ] || continue
    echo "===== $f (last 60 lines) ====="
    tail -n 60 "$f"
  done
  for j in ${job:-} ${pjob:-}; do
    scontrol -o show job "$j" 2>&1 | grep -o 'JobId=[^ ]* \|JobState=[^ ]*\|Restarts=[^ ]*\|ExitCode=[^ ]*' | tr '\n' ' '
    echo
  done
  squeue -a 2>&1 || true
}

slurm_up "$dir/cluster" || fatal "Slurm did not start (reason above)"
pass "single-node Slurm up ($((SECONDS - t0)) s incl. install check)"

# --- plan ---------------------------------------------------------------------------------------
cat >"$dir/grid.json" <<'EOF'
{"name": "slurm-test",
 "fixed": {"task": "copy", "seq_len": 16, "steps": 30, "batch_size": 8, "log_every": 10,
           "eval_every": 0, "checkpoint_every": 10},
 "eval_sets": {"copy16": {"make-dataset": "copy", "seq_len": 16, "count": 32, "seed": 0}},
 "runs": [{"model": ["ca", "tca"]}],
 "seeds": [0, 1]}
EOF
if ! "$tca" sweep plan --grid "$dir/grid.json" --out "$sweep" >"$dir/plan.log" 2>&1; then
  cat "$dir/plan.log"
  fatal "tca sweep plan failed"
fi

# index.jsonl: 4 lines, each an object with "index" (0..3), "run_id" and "config".
n_lines=$(grep -c . "$sweep/index.jsonl" 2>/dev/null)
bad=
for i in 0 1 2 3; do
  grep -Eq "\"index\" *: *${i}[,}]" "$sweep/index.jsonl" 2>/dev/null || bad="$bad index=$i"
done
grep -v '"run_id" *:' "$sweep/index.jsonl" 2>/dev/null | grep -q . && bad="$bad run_id"
grep -v '"config" *:' "$sweep/index.jsonl" 2>/dev/null | grep -q . && bad="$bad config"
if [ "$n_lines" = 4 ] && [ -z "$bad" ]; then
  pass "plan: index.jsonl has 4 runs with index, run_id, config"
else
  fail "plan: index.jsonl has ${n_lines:-no} lines (want 4); missing:$bad"
fi
n_cmds=$(grep -c . "$sweep/commands.txt" 2>/dev/null)
if [ "$n_cmds" = 4 ]; then
  pass "plan: commands.txt has 4 commands"
else
  fail "plan: commands.txt has ${n_cmds:-no} lines (want 4)"
fi

# sweep.sbatch: a 4-task array (optionally throttled), requeue-able, warned with USR1 before
# the time limit (B: or not), with an output file, running `tca sweep run DIR` on the task's index.
sb=$sweep/sweep.sbatch
missing=
grep -Eq '^#SBATCH +--array=0-3(%[0-9]+)?$' "$sb" 2>/dev/null || missing="$missing --array=0-3[%P]"
grep -Eq '^#SBATCH +--requeue$' "$sb" 2>/dev/null || missing="$missing --requeue"
grep -Eq '^#SBATCH +--signal=(B:)?USR1@[0-9]+$' "$sb" 2>/dev/null || missing="$missing --signal=[B:]USR1@S"
grep -Eq '^#SBATCH +--output=' "$sb" 2>/dev/null || missing="$missing --output="
grep -q 'sweep run' "$sb" 2>/dev/null || missing="$missing 'sweep run'"
grep -q 'SLURM_ARRAY_TASK_ID' "$sb" 2>/dev/null || missing="$missing SLURM_ARRAY_TASK_ID"
if [ -z "$missing" ]; then
  pass "plan: sweep.sbatch is a 4-task array ($(grep -E '^#SBATCH +--(array|signal)' "$sb" | sed 's/^#SBATCH *//' | tr '\n' ' '))"
else
  fail "plan: sweep.sbatch lacks:$missing"
  cat "$sb" 2>/dev/null
fi
[ -f "$sb" ] || fatal "no $sb to submit"

# --- submit and wait ----------------------------------------------------------------------------
# Submitted from the temp dir so that any relative default output lands there, not in the repo.
job=$(cd "$dir" && sbatch --parsable "$sb" 2>&1)
if ! [[ "$job" =~ ^[0-9]+$ ]]; then
  fatal "sbatch $sb failed: $job"
fi
pass "sbatch accepted the array (job $job)"
t_sub=$SECONDS
if slurm_wait_jobs "${SWEEP_TIMEOUT:-150}" "$job"; then
  pass "array finished in $((SECONDS - t_sub)) s"
else
  fail "array not finished after ${SWEEP_TIMEOUT:-150} s (or node down; see above)"
fi

# Every task COMPLETED with exit 0 (slurmctld keeps finished jobs for MinJobAge = 600 s).
states=$(scontrol -o show job "$job" 2>/dev/null | grep -o 'JobState=[A-Z_]* .*ExitCode=[0-9:]*' |
  sed 's/JobState=\([A-Z_]*\).*ExitCode=\([0-9:]*\)/\1:\2/' | sort | uniq -c | tr -s ' ' | tr '\n' ',')
if [ "$(scontrol -o show job "$job" 2>/dev/null | grep -c 'JobState=COMPLETED .*ExitCode=0:0')" = 4 ]; then
  pass "4 array tasks COMPLETED, exit 0"
else
  fail "array task states (count state:exit:signal): $states"
fi

# --- run directories ----------------------------------------------------------------------------
n_done=0
n_runs=0
for r in "$sweep"/runs/*/; do
  [ -d "$r" ] || continue
  n_runs=$((n_runs + 1))
  if grep -Eq '"state" *: *"done"' "$r/status.json" 2>/dev/null && [ -s "$r/eval-copy16.json" ]; then
    n_done=$((n_done + 1))
  else
    fail "run $(basename "$r"): status '$(grep -Eo '"state" *: *"[a-z_]*"' "$r/status.json" 2>/dev/null)', eval-copy16.json $([ -s "$r/eval-copy16.json" ] && echo present || echo missing)"
  fi
done
if [ "$n_runs" = 4 ] && [ "$n_done" = 4 ]; then
  pass "4 run directories with status done and eval-copy16.json"
else
  fail "$n_done of $n_runs run directories done and scored (want 4 of 4)"
fi

# --- collect ------------------------------------------------------------------------------------
if "$tca" sweep collect "$sweep" --format md,csv,json >"$dir/collect.log" 2>&1; then
  pass "tca sweep collect exit 0"
else
  fail "tca sweep collect exit $? (output below)"
  cat "$dir/collect.log"
fi
for f in results.md results.csv results.json; do
  [ -s "$sweep/tables/$f" ] || fail "collect: no $sweep/tables/$f"
done

# results.md: a Markdown table with a seed-count column (header cell "n" or "seeds") and a row
# for each method: its method cell names ca or tca as a word ("ca", "Transformer + CA", "TCA",
# "ReTreever (TCA)": case-insensitive), and its count cell is 2 (two seeds).
if [ -s "$sweep/tables/results.md" ]; then
  # Prints "METHOD N" for each table row that names ca or tca, N from the count column.
  rows=$(awk -F'|' '
    function trim(s) { gsub(/^[ \t*`_]+|[ \t*`_]+$/, "", s); return s }
    function word(c, w) { return c ~ ("(^|[^a-z])" w "([^a-z]|$)") }
    /^[ \t]*\|/ {
      if (!inside) {                        # header row: find the count column
        inside = 1; ncol = 0
        for (i = 2; i < NF; i++) { h = tolower(trim($i)); if (h == "n" || h == "seeds") ncol = i }
        next
      }
      if ($0 ~ /^[ \t]*\|[ \t:|-]*$/ || ncol == 0) next   # separator row, or no count column
      m = ""
      for (i = 2; i < NF && m == ""; i++) {
        c = tolower(trim($i))
        if (word(c, "tca")) m = "tca"; else if (word(c, "ca")) m = "ca"
      }
      if (m != "") print m, trim($ncol)
      next
    }
    { inside = 0 }                          # a non-table line ends a table
  ' "$sweep/tables/results.md")
  ok_ca=$(awk '$1 == "ca" && $2 == "2"' <<<"$rows" | wc -l)
  ok_tca=$(awk '$1 == "tca" && $2 == "2"' <<<"$rows" | wc -l)
  if [ "$ok_ca" -ge 1 ] && [ "$ok_tca" -ge 1 ]; then
    pass "results.md: rows for ca and tca with 2 seeds each"
  else
    fail "results.md: want a row for ca and for tca with n/seeds = 2; found (method n): $(tr '\n' ';' <<<"$rows")"
    cat "$sweep/tables/results.md"
  fi
fi

# results.csv: columns "method" and "seeds" (or "n"); rows method=ca and method=tca with 2.
if [ -s "$sweep/tables/results.csv" ]; then
  csv_rows=$(awk -F',' '
    NR == 1 { for (i = 1; i <= NF; i++) { if ($i == "method") mc = i; if ($i == "seeds" || $i == "n") nc = i }; next }
    mc && nc && ($mc == "ca" || $mc == "tca") { print $mc, $nc }
  ' "$sweep/tables/results.csv")
  if [ "$(awk '$1 == "ca" && $2 == "2"' <<<"$csv_rows" | wc -l)" -ge 1 ] &&
     [ "$(awk '$1 == "tca" && $2 == "2"' <<<"$csv_rows" | wc -l)" -ge 1 ]; then
    pass "results.csv: method ca and tca with 2 seeds each"
  else
    fail "results.csv: want method=ca and method=tca rows with seeds/n = 2; found: $(tr '\n' ';' <<<"$csv_rows")"
    head -n 5 "$sweep/tables/results.csv"
  fi
fi

# results.json: nothing missing or failed.
if [ -s "$sweep/tables/results.json" ]; then
  if grep -Eq '"missing" *: *\[ *\]' "$sweep/tables/results.json" &&
     grep -Eq '"failed" *: *\[ *\]' "$sweep/tables/results.json"; then
    pass "results.json: \"missing\": [] and \"failed\": []"
  else
    fail "results.json: want \"missing\": [] and \"failed\": []"
    grep -E -A3 '"(missing|failed)"' "$sweep/tables/results.json"
  fi
fi

# --- preemption: USR1 -> checkpoint -> requeue -> resume ---------------------------------------
# One longer CA run (6000 steps: 8-27 s at the 220-780 steps/s seen here). Once it has logged step 100,
# send USR1 the way Slurm does at `--signal`'s warning time: to the batch shell when the script
# asks for B:USR1, else to the job steps. The task must checkpoint, get requeued (it may start
# again cred_expire + 1 = 11 s later here), resume and finish: Restarts >= 1, COMPLETED, exit 0,
# state done, eval written, and training continued rather than restarted (step 10 logged once).
cat >"$dir/preempt.json" <<'EOF'
{"name": "slurm-preempt",
 "fixed": {"task": "copy", "seq_len": 16, "steps": 6000, "batch_size": 8, "log_every": 10,
           "eval_every": 0, "checkpoint_every": 1000, "model": "ca"},
 "eval_sets": {"copy16": {"make-dataset": "copy", "seq_len": 16, "count": 32, "seed": 0}},
 "seeds": [0]}
EOF
pjob=
if ! "$tca" sweep plan --grid "$dir/preempt.json" --out "$psweep" >"$dir/preempt-plan.log" 2>&1; then
  cat "$dir/preempt-plan.log"
  fail "preempt: tca sweep plan failed"
else
  pjob=$(cd "$dir" && sbatch --parsable "$psweep/sweep.sbatch" 2>&1)
  [[ "$pjob" =~ ^[0-9]+$ ]] || { fail "preempt: sbatch failed: $pjob"; pjob=; }
fi
if [ -n "$pjob" ]; then
  # Wait for step >= 100 in the run's metrics (up to 60 s). If the run ends before the signal,
  # scancel fails and so does the test: it never passes without a preemption.
  reached=
  for i in $(seq 1 300); do
    if grep -Eqs '"step" *: *([1-9][0-9]{2}|[0-9]{4})[,}]' "$psweep"/runs/*/metrics.jsonl; then
      reached=1
      break
    fi
    sleep 0.2
  done
  if [ -z "$reached" ]; then
    fail "preempt: the run did not reach step 100 within 60 s"
  else
    if grep -Eq '^#SBATCH +--signal=B:' "$psweep/sweep.sbatch"; then how=--batch; else how=; fi
    # shellcheck disable=SC2086 # $how is empty or one option
    if scancel --signal=USR1 $how "${pjob}_0" 2>"$dir/scancel.err"; then
      pass "preempt: USR1 sent at step >= 100 (scancel --signal=USR1 ${how:-(steps)})"
    else
      fail "preempt: scancel --signal=USR1 failed: $(cat "$dir/scancel.err")"
    fi
  fi
  slurm_wait_jobs "${PREEMPT_TIMEOUT:-120}" "$pjob" || fail "preempt: job not finished after ${PREEMPT_TIMEOUT:-120} s"
  pinfo=$(scontrol -o show job "$pjob" 2>/dev/null | head -n 1)
  prestarts=$(grep -o 'Restarts=[0-9]*' <<<"$pinfo" | cut -d= -f2)
  pruns=("$psweep"/runs/*/)
  prun=${pruns[0]}
  if [ "${prestarts:-0}" -ge 1 ] && grep -q 'JobState=COMPLETED .*ExitCode=0:0' <<<"$pinfo" &&
     grep -Eqs '"state" *: *"done"' "$prun/status.json" && [ -s "$prun/eval-copy16.json" ]; then
    pass "preempt: requeued (Restarts=$prestarts), resumed and finished: COMPLETED, done, scored"
  else
    fail "preempt: want Restarts >= 1, COMPLETED 0:0, state done, eval-copy16.json; got Restarts=${prestarts:-?} $(grep -o 'JobState=[^ ]*' <<<"$pinfo") $(grep -o 'ExitCode=[^ ]*' <<<"$pinfo"), status '$(grep -Eo '"state" *: *"[a-z_]*"' "$prun/status.json" 2>/dev/null)'"
  fi
  n10=$(grep -Ec '"step" *: *10[,}]' "$prun/metrics.jsonl" 2>/dev/null)
  if [ "${n10:-0}" = 1 ]; then
    pass "preempt: training resumed from the checkpoint (step 10 logged once)"
  else
    fail "preempt: step 10 logged ${n10:-0} times in metrics.jsonl (want 1: resumed, not restarted)"
  fi
fi

[ "$failed" -gt 0 ] && show_failure_context
slurm_down || fail "slurm_down did not stop every daemon"
alive=$(slurm_alive_pids)
[ -z "$alive" ] || fail "daemon pids still alive after slurm_down: $alive"
summary
[ "$failed" -eq 0 ]
