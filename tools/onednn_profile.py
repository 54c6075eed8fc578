#!/usr/bin/env python3
"""Where the oneDNN time of a command goes: runs COMMAND with ONEDNN_VERBOSE=1 and sums the
execution times that oneDNN reports per primitive kind and per (kind, implementation, shape).

    tools/onednn_profile.py [--top N] -- build/tca bench --suite train --tasks copy256 --methods tca --repeats 3 --out /tmp/b

The remainder (wall time minus oneDNN time) is spent in our own loops, allocation and the tape.
Used to profile the misses of `tca bench` (issue 12); oneDNN's JIT kernels carry no symbols, so
perf alone cannot split them by op."""
import argparse
import collections
import os
import subprocess
import sys
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--top", type=int, default=25, help="rows of the per-shape table")
    ap.add_argument("command", nargs=argparse.REMAINDER, help="the command to run (after --)")
    args = ap.parse_args()
    cmd = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not cmd:
        ap.error("no command given")
    env = dict(os.environ, ONEDNN_VERBOSE="1")
    start = time.monotonic()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wall = time.monotonic() - start
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        sys.exit(f"command failed with exit code {proc.returncode}")
    by_kind = collections.Counter()
    calls_kind = collections.Counter()
    by_shape = collections.Counter()
    calls_shape = collections.Counter()
    for line in proc.stdout.splitlines():
        f = line.split(",")
        if len(f) < 11 or f[0] != "onednn_verbose" or f[1] != "exec":
            continue
        try:
            ms = float(f[-1])
        except ValueError:
            continue
        kind = f"{f[3]} {f[5]}"
        key = f"{kind} {f[4]} {f[-2]}"
        by_kind[kind] += ms
        calls_kind[kind] += 1
        by_shape[key] += ms
        calls_shape[key] += 1
    total = sum(by_kind.values()) / 1e3
    print(f"wall {wall:.2f} s, oneDNN execute {total:.2f} s ({100 * total / wall:.0f}%), "
          f"outside oneDNN {wall - total:.2f} s")
    print("\nby primitive kind:")
    for k, ms in by_kind.most_common():
        print(f"  {ms / 1e3:8.3f} s  {100 * ms / 1e3 / wall:5.1f}%  {calls_kind[k]:8d} calls  {k}")
    print(f"\ntop {args.top} by kind, implementation and shape:")
    for k, ms in by_shape.most_common(args.top):
        print(f"  {ms / 1e3:8.3f} s  {calls_shape[k]:7d} calls  {1e3 * ms / calls_shape[k]:9.1f} us/call  {k}")


if __name__ == "__main__":
    main()
