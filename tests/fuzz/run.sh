#!/usr/bin/env bash
# make fuzz: runs each libFuzzer target for SECONDS from a scratch copy of its seed corpus
# (tests/fuzz/corpus/TARGET; the repository's seeds are never modified) with memory limits, and
# keeps crashes, leaks, timeouts and out-of-memory inputs under BUILD/findings/TARGET.
# Usage: tests/fuzz/run.sh BUILD SECONDS TARGET...
set -u
build=$1 seconds=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
status=0
for target in "$@"; do
  corpus="$build/corpus/$target" findings="$build/findings/$target"
  mkdir -p "$corpus" "$findings"
  cp -n "$here/corpus/$target"/* "$corpus"/ 2>/dev/null || true
  echo "== $target: ${seconds}s"
  # -rss_limit_mb / -malloc_limit_mb (conventions.md "Fuzzing and hostile files"): an input that
  # makes a reader (or libhdf5 under it) allocate without bound is a finding, not a hung machine.
  # -fork=1 -ignore_timeouts=1 -ignore_crashes=1: a hang or crash inside libhdf5 (README.md here,
  # "Findings"; the task, trees and checkpoint readers meet one within seconds) is kept as a
  # finding but does not end the run, so the time goes on looking for the next one. Every file
  # under findings/ is then triaged (README.md here, "Triage").
  OMP_NUM_THREADS=1 ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 \
    "$build/$target" "$corpus" -max_total_time="$seconds" -rss_limit_mb=2048 -malloc_limit_mb=1024 \
    -timeout=30 -artifact_prefix="$findings/" -print_final_stats=1 \
    -fork=1 -ignore_timeouts=1 -ignore_crashes=1 2>"$build/$target.log"
  rc=$?
  tail -n 12 "$build/$target.log" | grep -E "^(stat::|Done|==[0-9]+==ERROR|SUMMARY|#[0-9]+)" || true
  found=$(ls "$findings" 2>/dev/null | wc -l)
  echo "== $target: exit $rc, $found finding(s) in $findings"
  [ "$rc" -ne 0 ] && status=1
done
exit $status
