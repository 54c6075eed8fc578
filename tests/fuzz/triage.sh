#!/usr/bin/env bash
# Re-runs every file libFuzzer kept under BUILD/findings/TARGET and prints one line each: the
# file, what happened (the sanitizer's or libFuzzer's verdict), the innermost frame and the first
# frame in our code (lib/, apps/). A finding whose innermost frames are all in libhdf5, reached
# from a read of ours that no check can precede, is documented in README.md ("Findings"); any
# other is a bug of ours.
# Usage: tests/fuzz/triage.sh BUILD TARGET [SECONDS_PER_FILE]
set -u
build=$1 target=$2 limit=${3:-20}
for f in "$build/findings/$target"/*; do
  [ -f "$f" ] || continue
  out=$(OMP_NUM_THREADS=1 ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 \
    timeout $((limit + 10)) "$build/$target" -timeout="$limit" -rss_limit_mb=2048 \
    -malloc_limit_mb=1024 -runs=1 "$f" 2>&1)
  rc=$?
  verdict=$(grep -m1 -oE "(ERROR: (AddressSanitizer|UndefinedBehaviorSanitizer|libFuzzer): [^(]*[^( ]|runtime error: [^(]*|fuzz: unexpected exception.*)" <<<"$out")
  [ -z "$verdict" ] && [ "$rc" -eq 124 ] && verdict="hang (killed after $((limit + 10)) s)"
  [ -z "$verdict" ] && verdict="no failure on re-run (exit $rc)"
  # Innermost frame past the sanitizer's interceptors, and the first frame in lib/ or apps/:
  # "function (library)" or "function file:line".
  frames=$(python3 -c '
import re, sys
inner = ours = "-"
for line in sys.stdin:
    m = re.match(r"\s+#\d+ 0x[0-9a-f]+ in (.*)$", line)
    if not m:
        continue
    text = re.sub(r" \(BuildId: [0-9a-f]+\)", "", m.group(1))
    fn, _, where = text.rpartition(" ")
    name = re.sub(r"\(.*", "", re.sub(r"\(anonymous namespace\)", "{anon}", fn))
    if inner == "-" and not re.search(r"^(__interceptor_|__asan|__ubsan|__sanitizer|__mem|fuzzer::|(malloc|calloc|realloc|free)$)", name) and "libc.so" not in where:
        inner = name + " " + re.sub(r"^\((.*/)?([^/+]*).*\)$", r"(\2)", where)
    if ours == "-" and re.search(r"/(lib|apps)/.*\.[ch]pp:\d+", where):
        ours = name + " " + re.sub(r".*/((lib|apps)/)", r"\1", where)
print(inner); print(ours)
' <<<"$out")
  inner=$(sed -n 1p <<<"$frames") ours=$(sed -n 2p <<<"$frames")
  printf '%s\n  %s\n  innermost: %s\n  ours: %s\n' "$(basename "$f")" "$verdict" "${inner:--}" "${ours:--}"
done
