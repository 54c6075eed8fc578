#!/usr/bin/env bash
# Self-test of tests/slurm/slurm_cluster.sh: brings a single-node Slurm up in a temp dir and
# checks what `tca sweep`'s job array relies on:
#   1. a 4-task job array with a %2 throttle, --requeue and --signal=USR1@120 runs every task;
#   2. a --requeue job that requeues itself (scontrol requeue) runs again with
#      SLURM_RESTART_COUNT=1 (what a checkpoint-and-requeue on USR1 needs);
#   3. --signal=B:USR1@55 reaches a program the batch script `exec`s;
#   4. --signal=USR1@55 (no B:) reaches a program started with `srun` (a job step).
# (Plain --signal=USR1 does NOT reach processes the batch script starts without srun; see
# README.md.) Tears down by pid, prints one summary line, exits non-zero on any failure.
# Needs root (installs slurm-wlm and munge with apt-get if missing). Never skips.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=tests/slurm/slurm_cluster.sh
source "$here/slurm_cluster.sh"

slurm_test_counters

# Short path: slurmd's step sockets live under it (Unix socket paths are limited).
dir=$(mktemp -d /tmp/tca-slurm.XXXXXX) || { echo "cluster_selftest: 0 passed, 1 failed"; exit 1; }
jobs=$dir/jobs
mkdir -p "$jobs"

slurm_exit_trap  # tears the cluster down however the test ends; keeps $dir when it failed

show_failure_context() {
  slurm_dump_logs
  local f
  for f in "$jobs"/*.out "$jobs"/*.log; do
    [ -e "$f" ] || continue
    echo "===== $f ====="
    cat "$f"
  done
  squeue -a 2>&1 || true
}

if ! slurm_up "$dir"; then
  fail "slurm_up: the cluster did not start (reason above)"
  echo "cluster_selftest: $passed passed, $failed failed ($((SECONDS - t0)) s)"
  exit 1
fi
pass "slurm_up ($((SECONDS - t0)) s)"

# --- 1. job array -------------------------------------------------------------------------------
cat >"$jobs/array.sh" <<'EOF'
#!/bin/bash
echo "task ${SLURM_ARRAY_TASK_ID} of ${SLURM_ARRAY_JOB_ID} on $(hostname)" >"$OUT/task-${SLURM_ARRAY_TASK_ID}.txt"
sleep 1
EOF
# --export=ALL is sbatch's default; spelled out because the job reads $OUT from it.
array_id=$(OUT=$jobs sbatch --parsable --export=ALL --array=0-3%2 --requeue --signal=USR1@120 \
  --job-name=selftest-array --output="$jobs/array-%A_%a.out" "$jobs/array.sh" 2>&1)
if [[ "$array_id" =~ ^[0-9]+$ ]]; then
  pass "sbatch --array=0-3%2 --requeue --signal=USR1@120 accepted (job $array_id)"
else
  fail "sbatch of the array: $array_id"
  array_id=
fi

# --- 2. self-requeue ----------------------------------------------------------------------------
# First run: requeue itself and wait to be killed. Second run (SLURM_RESTART_COUNT=1): record.
cat >"$jobs/requeue.sh" <<'EOF'
#!/bin/bash
echo "run restart=${SLURM_RESTART_COUNT:-0}" >>"$OUT/requeue.log"
if [ "${SLURM_RESTART_COUNT:-0}" = 0 ]; then
  scontrol requeue "$SLURM_JOB_ID"
  sleep 60
  echo "not requeued" >>"$OUT/requeue.log"
  exit 1
fi
EOF
requeue_id=$(OUT=$jobs sbatch --parsable --requeue --signal=USR1@120 --job-name=selftest-requeue \
  --output="$jobs/requeue-%j.out" --open-mode=append "$jobs/requeue.sh" 2>&1)
[[ "$requeue_id" =~ ^[0-9]+$ ]] || { fail "sbatch --requeue: $requeue_id"; requeue_id=; }

# --- 3./4. warning signals ----------------------------------------------------------------------
# With a 1-minute limit, USR1@55 is due 5 s after the start; slurmctld checks time limits only
# every ~30 s, so it can come later. Each handler records the signal and exits 0.
cat >"$jobs/sig-exec.sh" <<'EOF'
#!/bin/bash
exec bash -c 'trap "echo got-USR1 >$OUT/sig-exec.log; exit 0" USR1; for i in $(seq 240); do sleep 0.25; done'
EOF
cat >"$jobs/sig-srun.sh" <<'EOF'
#!/bin/bash
srun bash -c 'trap "echo got-USR1 >$OUT/sig-srun.log; exit 0" USR1; for i in $(seq 240); do sleep 0.25; done'
EOF
sig_exec_id=$(OUT=$jobs sbatch --parsable --time=1 --signal=B:USR1@55 --job-name=selftest-sigb \
  --output="$jobs/sig-exec-%j.out" "$jobs/sig-exec.sh" 2>&1)
[[ "$sig_exec_id" =~ ^[0-9]+$ ]] || { fail "sbatch --signal=B:USR1@55: $sig_exec_id"; sig_exec_id=; }
sig_srun_id=$(OUT=$jobs sbatch --parsable --time=1 --signal=USR1@55 --job-name=selftest-sigs \
  --output="$jobs/sig-srun-%j.out" "$jobs/sig-srun.sh" 2>&1)
[[ "$sig_srun_id" =~ ^[0-9]+$ ]] || { fail "sbatch --signal=USR1@55: $sig_srun_id"; sig_srun_id=; }

# --- wait for everything ------------------------------------------------------------------------
ids=()
for id in "$array_id" "$requeue_id" "$sig_exec_id" "$sig_srun_id"; do [ -n "$id" ] && ids+=("$id"); done
if [ "${#ids[@]}" -gt 0 ] && ! slurm_wait_jobs "${SELFTEST_TIMEOUT:-120}" "${ids[@]}"; then
  fail "jobs did not all finish (timeout ${SELFTEST_TIMEOUT:-120} s or node down; see above)"
fi

# Job state as slurmctld has it (kept MinJobAge=600 s; no accounting database, so no sacct).
job_state() { scontrol -o show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | sort -u | tr '\n' ' '; }

if [ -n "$array_id" ]; then
  missing=
  for i in 0 1 2 3; do [ -s "$jobs/task-$i.txt" ] || missing="$missing $i"; done
  st=$(job_state "$array_id")
  if [ -z "$missing" ] && [ "$st" = "JobState=COMPLETED " ]; then
    pass "job array: 4 task outputs, all COMPLETED"
  else
    fail "job array: missing outputs [$missing ], states: $st"
  fi
fi
if [ -n "$requeue_id" ]; then
  if grep -q 'run restart=0' "$jobs/requeue.log" 2>/dev/null &&
     grep -q 'run restart=1' "$jobs/requeue.log" 2>/dev/null &&
     ! grep -q 'not requeued' "$jobs/requeue.log" && [ "$(job_state "$requeue_id")" = "JobState=COMPLETED " ]; then
    pass "--requeue job requeued itself and ran again with SLURM_RESTART_COUNT=1"
  else
    fail "requeue: log '$(tr '\n' ';' <"$jobs/requeue.log" 2>/dev/null)', $(job_state "$requeue_id")"
  fi
fi
if [ -n "$sig_exec_id" ]; then
  if grep -q got-USR1 "$jobs/sig-exec.log" 2>/dev/null; then
    pass "--signal=B:USR1@55 reached the exec'd program"
  else
    fail "--signal=B:USR1@55 did not reach the exec'd program; $(job_state "$sig_exec_id")"
  fi
fi
if [ -n "$sig_srun_id" ]; then
  if grep -q got-USR1 "$jobs/sig-srun.log" 2>/dev/null; then
    pass "--signal=USR1@55 reached the srun step"
  else
    fail "--signal=USR1@55 did not reach the srun step; $(job_state "$sig_srun_id")"
  fi
fi

[ "$failed" -gt 0 ] && show_failure_context
t_down=$SECONDS
slurm_down || fail "slurm_down"
alive=$(slurm_alive_pids)
[ -z "$alive" ] || fail "daemon pids still alive after slurm_down: $alive"
echo "teardown: $((SECONDS - t_down)) s"
echo "cluster_selftest: $passed passed, $failed failed ($((SECONDS - t0)) s)"
[ "$failed" -eq 0 ]
