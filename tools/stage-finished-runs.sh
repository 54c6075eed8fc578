#!/usr/bin/env bash
# Stages a sweep's committable files for git (issue 19: commit each finished run as it completes):
# the plan (index.jsonl, sweep.json, grid.json, commands.txt, sweep.sbatch), the paper's figures
# (paper.json, when there is one), the collected tables and
# plots, and the small files of every run whose sweep_run.json says done or failed. Runs still under
# way are left out (a clean clone's `tca sweep run` starts them afresh; their checkpoints are
# git-ignored anyway). Run `tca sweep collect DIR --plots` first, so that the tables match.
# When a README.md sits beside the sweep directory (results/README.md), its copies of the tables
# are refreshed with tools/embed-tables.sh and staged too.
#
# usage: tools/stage-finished-runs.sh results/gp [results/copy ...]
set -euo pipefail
for dir in "$@"; do
  [ -f "$dir/index.jsonl" ] || { echo "stage-finished-runs: error: $dir is not a sweep directory (no index.jsonl)" >&2; exit 2; }
  git add -- "$dir/index.jsonl" "$dir/sweep.json" "$dir/grid.json" "$dir/commands.txt" "$dir/sweep.sbatch"
  [ -f "$dir/paper.json" ] && git add -- "$dir/paper.json"
  for sub in tables plots; do
    [ -d "$dir/$sub" ] && git add -A -- "$dir/$sub"
  done
  staged=0
  for run in "$dir"/runs/*/; do
    [ -f "$run/sweep_run.json" ] || continue
    if grep -Eq '"state": "(done|failed)"' "$run/sweep_run.json"; then
      git add -- "$run"
      staged=$((staged + 1))
    fi
  done
  echo "stage-finished-runs: $dir: $staged finished run(s) staged"
done
for readme in $(for dir in "$@"; do echo "$(dirname "$dir")/README.md"; done | sort -u); do
  if [ -f "$readme" ] && grep -q '^<!-- tables: ' "$readme"; then
    bash "$(dirname "$0")/embed-tables.sh" "$readme"
    git add -- "$readme"
  fi
done
