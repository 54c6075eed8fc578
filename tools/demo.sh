#!/usr/bin/env bash
# `make demo` (issue 5): small copy-task and GP evaluation sets, CA, TCA and Perceiver IO trained
# briefly on each task, each scored on the same fixed eval file, and the comparison table
# (method, metric, tokens attended, % of N, latency per query) on stdout. About 5 minutes on 2
# cores: the two tasks run side by side, one OpenMP thread each (platform.md: these small models
# are faster and steadier on one thread). Perceiver IO gets L = TCA's mean tokens attended on the
# task's eval set, as in the paper. Everything goes to demo-out/ (re-running replaces it).
#
# usage: tools/demo.sh [path/to/tca]      (environment: DEMO_OUT=dir to write elsewhere)
set -euo pipefail

TCA=${1:-build/tca}
OUT=${DEMO_OUT:-demo-out}
[ -x "$TCA" ] || { echo "demo: error: $TCA is not an executable (run make build first)" >&2; exit 2; }
export OMP_NUM_THREADS=1

# Sizes: at T = 32 (N = 16 context tokens) CA and TCA learn the copy task (accuracy 1.0) in
# 3000 steps of 32 sequences while Perceiver IO with L = 5 latents cannot (about 0.24); GP
# regression with the paper's model (6 encoder layers, batch 16) reaches a clearly positive target
# log-likelihood in 2400 steps. The whole demo is about 300 CPU-seconds (two lanes: about 2.5
# minutes of wall time on an idle 2-core machine).
COPY_T=32
COPY_STEPS=3000
COPY_BATCH=32
GP_STEPS=2400

# Re-running replaces the previous demo output, and only that: a directory without our marker is
# left alone.
if [ -e "$OUT" ] && [ ! -e "$OUT/.tca-demo" ] && [ -n "$(ls -A "$OUT" 2>/dev/null)" ]; then
  echo "demo: error: $OUT exists and was not written by the demo; remove it or set DEMO_OUT" >&2
  exit 2
fi
rm -rf "$OUT"
mkdir -p "$OUT/logs"
touch "$OUT/.tca-demo"
LOGS="$OUT/logs"
start=$(date +%s)
say() { printf '[demo %3ds] %s\n' "$(( $(date +%s) - start ))" "$*" >&2; }

say "datasets: copy T=$COPY_T (20 batches of 16) and GP rbf (32 batches of 16), seed 0"
"$TCA" make-dataset copy --seq-len "$COPY_T" --split eval --count 320 --seed 0 --out "$OUT/copy_eval.h5" \
  --progress none >"$LOGS/datasets.log"
"$TCA" make-dataset gp --kernel rbf --split eval --count 512 --seed 0 --out "$OUT/gp_eval.h5" \
  --progress none >>"$LOGS/datasets.log"

# train_eval TASK MODEL STEPS [train options...]: trains into $OUT/TASK/MODEL and writes its eval.json.
train_eval() {
  local task=$1 model=$2 steps=$3
  shift 3
  local run="$OUT/$task/$model" t0
  t0=$(date +%s)
  "$TCA" train --model "$model" --task "$task" --steps "$steps" --out "$run" --progress lines \
    --eval-every 0 --log-every 50 "$@" >"$LOGS/$task-$model-train.log" 2>&1 ||
    { echo "demo: error: training $model on $task failed; see $LOGS/$task-$model-train.log" >&2; return 1; }
  "$TCA" eval --run "$run" --data "$OUT/${task}_eval.h5" >"$LOGS/$task-$model-eval.log" 2>&1 ||
    { echo "demo: error: evaluating $run failed; see $LOGS/$task-$model-eval.log" >&2; return 1; }
  say "$task: $model trained ($steps steps) and evaluated in $(( $(date +%s) - t0 ))s"
}

# TCA first: Perceiver IO's L is TCA's rounded mean tokens attended on the eval set. Then TCA's
# trees with their node embeddings are stored once and queries answered from them.
lane() {
  local task=$1 steps=$2
  shift 2
  train_eval "$task" tca "$steps" "$@"
  local latents
  latents=$(printf '%.0f' "$("$TCA" report --get tokens_attended.mean "$OUT/$task/tca")")
  train_eval "$task" perceiver "$steps" --num-latents "$latents" "$@"
  train_eval "$task" ca "$steps" "$@"
  "$TCA" build-tree --data "$OUT/${task}_eval.h5" --checkpoint "$OUT/$task/tca" --out "$OUT/${task}_trees.h5" \
    --progress none >"$LOGS/$task-build-tree.log" 2>&1 &&
    "$TCA" eval --run "$OUT/$task/tca" --data "$OUT/${task}_eval.h5" --trees "$OUT/${task}_trees.h5" \
      --out "$OUT/$task/tca-stored-trees.json" >"$LOGS/$task-eval-trees.log" 2>&1 ||
    { echo "demo: error: stored trees for $task failed; see $LOGS/$task-*trees.log" >&2; return 1; }
  say "$task: done"
}

say "training CA, TCA and Perceiver IO on both tasks (logs in $LOGS/)"
lane copy "$COPY_STEPS" --seq-len "$COPY_T" --batch-size "$COPY_BATCH" &
copy_lane=$!
lane gp "$GP_STEPS" &
gp_lane=$!
failed=0
wait "$copy_lane" || failed=1
wait "$gp_lane" || failed=1
[ "$failed" -eq 0 ] || exit 1

# What the queries looked at (issue 22): one picture per task, and the tree of one context set.
say "drawing the retrievals (tca show)"
"$TCA" show --run "$OUT/copy/tca" --compare "$OUT/copy/ca" --data "$OUT/copy_eval.h5" --out "$OUT/copy-retrieval.png" \
  --tree-out "$OUT/copy-tree.png" >"$LOGS/show.log" 2>&1 &&
  "$TCA" show --run "$OUT/gp/tca" --compare "$OUT/gp/ca" "$OUT/gp/perceiver" --data "$OUT/gp_eval.h5" \
    --out "$OUT/gp-retrieval.png" --tree-out "$OUT/gp-tree.png" >>"$LOGS/show.log" 2>&1 ||
  { echo "demo: error: tca show failed; see $LOGS/show.log" >&2; exit 1; }

say "finished in $(( $(date +%s) - start ))s"
echo
echo "Copy task (T = $COPY_T: N = $(( COPY_T / 2 )) context tokens, $COPY_STEPS steps) and GP regression (rbf, N = 3..46, $GP_STEPS steps);"
echo "one thread per run; latency = inference time per query (TCA: tree built per context set, greedy descent)."
echo
"$TCA" report "$OUT/copy/ca" "$OUT/copy/tca" "$OUT/copy/tca-stored-trees.json" "$OUT/copy/perceiver" \
  "$OUT/gp/ca" "$OUT/gp/tca" "$OUT/gp/tca-stored-trees.json" "$OUT/gp/perceiver"
echo
echo "Run directories (config.json, metrics.jsonl, checkpoint.h5, eval.json, status.json): $OUT/<task>/<method>"
echo "What each query attended to (tca show): $OUT/copy-retrieval.png $OUT/gp-retrieval.png; trees: $OUT/copy-tree.png $OUT/gp-tree.png"
