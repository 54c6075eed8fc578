#!/usr/bin/env bash
# Same-run before/after benchmark (README "Performance"): builds the `tca` binary of a base
# revision in a temporary git worktree, then runs `tca bench` alternately with the base and with
# the current build, ROUNDS times each, so that both see the same machine state (on this VM the
# speed of the same binary drifts by up to 1.5x over minutes; only alternating runs compare).
# Prints one line per figure: the base runs' values, then the current runs' values.
#
# usage: tools/bench-ab.sh BASE_REV [tca bench options...]
#   e.g. tools/bench-ab.sh 5de5d70 --suite train --tasks gp
#        tools/bench-ab.sh HEAD~1 --suite infer --methods tca --skip-matmuls
# environment: BUILD (current build dir, default build), ROUNDS (default 2),
#              BASE_BIN (a tca binary already built from BASE_REV: skips the base build, e.g.
#              to build it before a quiet window; its `tca version` must name BASE_REV),
#              AB_OUT (output directory, default /tmp/tca-ab; a previous A/B output there is
#              replaced, any other non-empty directory is refused),
#              BASE_ARGS / CUR_ARGS (extra tca bench options for the base / current runs only,
#              e.g. CUR_ARGS="--data-parallel 2" to compare today's 2-thread step with the
#              data-parallel one; BASE_REV=HEAD with BASE_BIN=build/tca compares two settings of
#              one binary)
set -euo pipefail

[ $# -ge 1 ] || { sed -n '2,18p' "$0" >&2; exit 2; }
BASE_REV=$1
shift
BUILD=${BUILD:-build}
ROUNDS=${ROUNDS:-2}
OUT=${AB_OUT:-/tmp/tca-ab}
CUR=$BUILD/tca
[ -x "$CUR" ] || { echo "bench-ab: error: $CUR is not an executable (run make build first)" >&2; exit 2; }
SHA=$(git rev-parse --verify "$BASE_REV^{commit}" 2>/dev/null) ||
  { echo "bench-ab: error: '$BASE_REV' is not a revision of this repository" >&2; exit 2; }

WT=$OUT/base-src
if [ -e "$OUT" ] && [ ! -e "$OUT/.tca-bench-ab" ] && [ -n "$(ls -A "$OUT" 2>/dev/null)" ]; then
  echo "bench-ab: error: $OUT exists and was not written by bench-ab; remove it or set AB_OUT" >&2
  exit 2
fi
rm -rf "$OUT"
mkdir -p "$OUT"
touch "$OUT/.tca-bench-ab"
if [ -n "${BASE_BIN:-}" ]; then
  [ -x "$BASE_BIN" ] || { echo "bench-ab: error: BASE_BIN $BASE_BIN is not an executable" >&2; exit 2; }
  "$BASE_BIN" version 2>/dev/null | grep -q "${SHA:0:12}" ||
    { echo "bench-ab: error: BASE_BIN $BASE_BIN was not built from ${SHA:0:12} (tca version)" >&2; exit 2; }
  cp "$BASE_BIN" "$OUT/tca-base"
else
  git worktree add -q --detach "$WT" "$SHA"
  trap 'git worktree remove --force "$WT" 2>/dev/null || true' EXIT
  echo "bench-ab: building base ${SHA:0:10} in $WT" >&2
  cmake -S "$WT" -B "$WT/build" -DCMAKE_BUILD_TYPE=Release > "$OUT/base-build.log" 2>&1
  cmake --build "$WT/build" -j "$(nproc)" --target tca >> "$OUT/base-build.log" 2>&1 ||
    { echo "bench-ab: error: the base revision does not build; see $OUT/base-build.log" >&2; exit 1; }
  cp "$WT/build/tca" "$OUT/tca-base"
fi

for i in $(seq 1 "$ROUNDS"); do
  for v in base current; do
    bin=$OUT/tca-base
    extra=${BASE_ARGS:-}
    [ "$v" = current ] && bin=$CUR && extra=${CUR_ARGS:-}
    echo "bench-ab: round $i, $v" >&2
    # shellcheck disable=SC2086 # the extra options are words
    "$bin" bench --out "$OUT/$v-$i" "$@" $extra > "$OUT/$v-$i.log" 2>&1 ||
      { echo "bench-ab: error: tca bench failed; see $OUT/$v-$i.log" >&2; exit 1; }
  done
done

# The per-figure lines of tca bench's log ("train ca gp  8.01 ms/step ...", "infer tca N=2^20
# 2.44 us/query ..."): label, then the value of every base run and every current run.
python3 - "$OUT" "$ROUNDS" <<'EOF'
import re, sys
out, rounds = sys.argv[1], int(sys.argv[2])
def figures(path):
    res = {}
    for line in open(path):
        m = re.match(r'^(train .+?|infer \S+\s+N=2\^\d+)\s+([\d.]+) (ms/step|us/query)', line)
        if m:
            res[re.sub(r'\s+', ' ', m.group(1))] = (float(m.group(2)), m.group(3))
    return res
runs = {v: [figures(f"{out}/{v}-{i}.log") for i in range(1, rounds + 1)] for v in ("base", "current")}
print(f"{'figure':32s} {'base':>22s} {'current':>22s}  unit")
for label in runs["base"][0]:
    unit = runs["base"][0][label][1]
    b = " ".join(f"{r[label][0]:10.2f}" for r in runs["base"] if label in r)
    c = " ".join(f"{r[label][0]:10.2f}" for r in runs["current"] if label in r)
    print(f"{label:32s} {b:>22s} {c:>22s}  {unit}")
EOF
