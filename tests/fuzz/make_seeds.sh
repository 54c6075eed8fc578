#!/usr/bin/env bash
# Regenerates the seed corpus (corpus/TARGET/) with a built tca: small valid inputs of each kind,
# so that the fuzzers start from files that pass every check and mutate from there.
# Usage: tests/fuzz/make_seeds.sh path/to/tca
set -euo pipefail
tca=$(realpath "$1")
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
for t in fuzz_task_file fuzz_trees_file fuzz_checkpoint fuzz_config fuzz_timeseries_csv; do mkdir -p "$here/corpus/$t"; done
"$tca" make-dataset copy --split eval --seq-len 4 --num-chars 2 --count 4 --batch-size 2 --progress none --out copy.h5 >/dev/null
"$tca" make-dataset gp --split eval --max-points 8 --count 4 --batch-size 2 --progress none --out gp.h5 >/dev/null
cp copy.h5 gp.h5 "$here/corpus/fuzz_task_file/"
"$tca" build-tree --data gp.h5 --out trees.h5 >/dev/null
# The checkpoint matches fuzz_checkpoint.cpp's fixed model (CA, copy with 2 symbols, D 8).
"$tca" train --model ca --task copy --seq-len 4 --num-chars 2 --d-model 8 --heads 2 --dim-feedforward 8 --emb-depth 1 \
  --steps 1 --batch-size 2 --progress none --out run >/dev/null
"$tca" build-tree --data copy.h5 --checkpoint run --out trees_nodes.h5 >/dev/null 2>&1 || true
cp trees.h5 "$here/corpus/fuzz_trees_file/"
[ -f trees_nodes.h5 ] && cp trees_nodes.h5 "$here/corpus/fuzz_trees_file/"
cp run/checkpoint.h5 "$here/corpus/fuzz_checkpoint/"
cp run/config.json "$here/corpus/fuzz_config/run_config.json"
printf '{"lr": 0.001, "batch_size": 4, "d_model": 32, "heads": 4, "task": "gp", "betas": null}\n' >"$here/corpus/fuzz_config/flags.json"
printf 'sequence_id,t,f1,f2,label\na,0,1.5,-2,0\na,1,1e-3,4,1\nb,0,0,0,1\nb,0.5,2,1e-310,0\n' >"$here/corpus/fuzz_timeseries_csv/small.csv"
ls -l "$here"/corpus/*/
