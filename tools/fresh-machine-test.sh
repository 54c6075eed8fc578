#!/usr/bin/env bash
# Fresh-machine test (issue 17): does the README's quick start work on a new Debian 12 machine?
#
# A machine that has been used for development has packages on it that somebody installed by
# hand, so a green `make test` there proves nothing about a new user's machine (that is how a
# missing ocl-icd-opencl-dev went unnoticed). This script builds a bare Debian 12 root with
# mmdebstrap (--variant=apt: the essential packages and apt, nothing else), installs in it only
# what the README tells a new user to have (make and git), clones the repository into it and runs
# the README's two commands there, as root, in a chroot with a clean environment:
#     make test      then      make demo
# Everything else the build needs must come from tools/install-deps.sh (`make deps`, which both
# commands run first); a package missing from that list makes this test fail.
#
# Only the committed HEAD is tested: the root gets a `git clone` of the repository, so uncommitted
# changes in the work tree are not part of the test (the script says so when there are some).
#
# usage: sudo bash tools/fresh-machine-test.sh [--keep] [--no-cache] [--cache FILE]
#   --keep        on failure keep the root for inspection (`chroot ROOT bash`); default: remove it
#   --no-cache    build the root with mmdebstrap now, ignoring (and not writing) the cached base
#   --cache FILE  the cached base root tarball (default /var/cache/tca-fresh-machine/bookworm-apt.tar)
# environment (each the same as the flag, or a setting without a flag):
#   TCA_FRESH_KEEP=1, TCA_FRESH_NO_CACHE=1, TCA_FRESH_CACHE=FILE
#   TCA_FRESH_CACHE_MAX_DAYS   rebuild the cached base when older than this (default 30)
#   TCA_FRESH_WORKDIR          where the root is made (default /var/tmp; needs TCA_FRESH_MIN_FREE_GB)
#   TCA_FRESH_MIN_FREE_GB      free disk space required there (default 4; a root grows to about 2 GB)
#   TCA_FRESH_TMPFS=auto|1|0   the root in a tmpfs of TCA_FRESH_TMPFS_GB (default 4) GB inside the
#                              work dir: auto = when 6 GB of memory more than that are available
#   TCA_FRESH_OUT              where the log goes (default fresh-machine-out/ in the repository)
#   TCA_FRESH_STEP_TIMEOUT     seconds before a hung step is killed (default 2400)
#   TCA_FRESH_RETRIES, TCA_FRESH_RETRY_PAUSE   download attempts and the pause between (3, 20 s)
#
# Needs root (mount, chroot) and network access to the Debian mirror. Measured on 2 cores shared
# with other builds: 1046 s and 1965 s, nearly all of it the build and the demo (mmdebstrap about
# 70 s when the cached base is made). The full log is kept outside the root, and the last line
# printed is the one-line summary:
#     fresh-machine-test: PASS (make test 323/323, make demo ok) in 812 s, log ...
#     fresh-machine-test: FAIL at make test (see ...)
# shellcheck disable=SC2317  # cleanup and the helpers it calls run from the EXIT trap
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KEEP=${TCA_FRESH_KEEP:-0}
NO_CACHE=${TCA_FRESH_NO_CACHE:-0}
CACHE=${TCA_FRESH_CACHE:-/var/cache/tca-fresh-machine/bookworm-apt.tar}
CACHE_MAX_DAYS=${TCA_FRESH_CACHE_MAX_DAYS:-30}
WORK_PARENT=${TCA_FRESH_WORKDIR:-/var/tmp}
MIN_FREE_GB=${TCA_FRESH_MIN_FREE_GB:-4}
TMPFS=${TCA_FRESH_TMPFS:-auto}
TMPFS_GB=${TCA_FRESH_TMPFS_GB:-4}
OUT=${TCA_FRESH_OUT:-$REPO/fresh-machine-out}
STEP_TIMEOUT=${TCA_FRESH_STEP_TIMEOUT:-2400}
RETRIES=${TCA_FRESH_RETRIES:-3}
RETRY_PAUSE=${TCA_FRESH_RETRY_PAUSE:-20}

while [ $# -gt 0 ]; do
  case "$1" in
    --keep) KEEP=1 ;;
    --no-cache) NO_CACHE=1 ;;
    --cache) [ $# -ge 2 ] || { echo "fresh-machine-test: error: --cache needs a file" >&2; exit 2; }
             CACHE=$2; shift ;;
    -h|--help) sed -n '2,/^set -euo/{/^# shellcheck/d; /^set/d; s/^# \{0,1\}//; p}' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "fresh-machine-test: error: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

# What a Debian 12 installer writes into sources.list (main; the updates and security suites).
SOURCES=("deb http://deb.debian.org/debian bookworm main"
         "deb http://deb.debian.org/debian bookworm-updates main"
         "deb http://deb.debian.org/debian-security bookworm-security main")
# The clean environment the README's commands run in (what a root login has; nothing of ours).
CHROOT_ENV=(HOME=/root USER=root LOGNAME=root SHELL=/bin/bash
            PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)
SRC_IN_ROOT=/root/src/tca          # the clone; /root/src/shared beside it, as on CI

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
LOG=$OUT/fresh-machine-test.log
: >"$LOG"
START=$SECONDS
WORK=""             # the temporary directory holding the root (and nothing else of value)
ROOT=""
MOUNTED=()          # mount points we made, in mounting order; unmounted in reverse
STAGE="preflight"   # the step that is running: the summary names it on failure
REASON=""           # a one-line reason for a failure found by a check rather than a command
RESULT=""           # the PASS details, set when everything passed
TIMES=()            # "step N s" for the closing table

say() { printf '[fresh-machine %4d s] %s\n' $(( SECONDS - START )) "$*" | tee -a "$LOG"; }
fail() { REASON=$*; say "error: $*"; exit 1; }

# run CMD...: runs a command with its stdout and stderr appended to the log, each line stamped with
# the seconds since the step began; returns the command's status. The command runs in the
# background and we wait for it, so that Ctrl-C or SIGTERM reaches our trap (and the clean-up)
# at once instead of after the step; timeout kills a hung step with its whole process group.
run() {
  local rcfile=$WORK/.rc t0=$SECONDS
  rm -f "$rcfile"
  { rc=0; timeout --kill-after=60 "$STEP_TIMEOUT" "$@" </dev/null || rc=$?; echo "$rc" >"$rcfile"; } 2>&1 |
    while IFS= read -r line || [ -n "$line" ]; do
      printf '  [%4d s] %s\n' $(( SECONDS - t0 )) "$line"
    done >>"$LOG" &
  wait $!
  [ -f "$rcfile" ] || return 1
  local rc
  rc=$(cat "$rcfile")
  case "$rc" in 124|137) echo "  (killed: the step took more than $STEP_TIMEOUT s)" >>"$LOG" ;; esac
  return "$rc"
}

# retry CMD...: run, up to RETRIES attempts with a pause between (for steps that download).
retry() {
  local attempt
  for (( attempt = 1; ; attempt++ )); do
    run "$@" && return 0
    [ "$attempt" -lt "$RETRIES" ] || return 1
    say "attempt $attempt of $RETRIES failed; retrying in $RETRY_PAUSE s"
    sleep "$RETRY_PAUSE" & wait $!   # in the background: a signal reaches the trap at once
  done
}


step_begin() { STAGE=$1; STEP_T0=$SECONDS; say "$1..."; echo "=== $1" >>"$LOG"; }
step_end() {
  local took=$(( SECONDS - STEP_T0 ))
  TIMES+=("$STAGE ${took} s${1:+ ($1)}")
  say "$STAGE done in $took s${1:+ ($1)}"
}

mounts_under() {  # mount points at or below $1, deepest last (as /proc/self/mountinfo lists them)
  awk -v r="$1" '$5 == r || index($5, r "/") == 1 { print $5 }' /proc/self/mountinfo
}

bind() {  # bind SRC: mounts the host's SRC at the same place in the root, and records it
  mkdir -p "$ROOT$1"
  mount --bind "$1" "$ROOT$1"
  MOUNTED+=("$ROOT$1")
}

procs_under() {  # processes whose root directory is $1 or below it (chroots of this run)
  find /proc/[0-9]*/root -maxdepth 0 \( -lname "$1" -o -lname "$1/*" \) 2>/dev/null | cut -d/ -f3
}

umount_all_under() {  # unmounts everything at or below $1, deepest first (lazily if busy)
  local m
  for m in $(mounts_under "$1" | tac); do
    umount "$m" 2>>"$LOG" || { say "umount $m failed; detaching it lazily"; umount -l "$m" 2>>"$LOG"; }
  done
}

cleanup() {
  local rc=$? m i sig pids times keep=0 t0 left
  set +e
  trap '' INT TERM
  [ "$rc" -eq 0 ] || [ "$KEEP" != 1 ] || [ -z "$ROOT" ] || [ ! -d "$ROOT" ] || keep=1
  if [ -n "$WORK" ] && [ -d "$WORK" ]; then
    # Processes still running inside the root (a step killed half-way) keep the mounts busy: end
    # them, found by their root directory (only what this run started can live in its root).
    for sig in TERM KILL; do
      pids=$(procs_under "$WORK")
      [ -n "$pids" ] || break
      say "ending processes left in the root ($sig): ${pids//$'\n'/ }"
      # shellcheck disable=SC2086  # one argument per pid
      kill -s "$sig" $pids 2>/dev/null
      sleep 2
    done
  fi
  [ "$TMPFS" != 1 ] || [ -z "$ROOT" ] || ! mountpoint -q "$ROOT" ||
    say "the root's tmpfs holds $(df -Pm "$ROOT" | awk 'NR == 2 { print $3 }') MB"
  for (( i = ${#MOUNTED[@]} - 1; i >= 0; i-- )); do
    m=${MOUNTED[i]}
    [ "$keep" = 0 ] || [ "$m" != "$ROOT" ] || continue   # a kept root keeps its tmpfs
    umount "$m" 2>>"$LOG" || { say "umount $m failed; detaching it lazily"; umount -l "$m" 2>>"$LOG"; }
  done
  left=""   # mounts still under the work dir (a kept root's own tmpfs aside)
  [ -z "$WORK" ] || left=$(mounts_under "$WORK" | { if [ "$keep" = 1 ]; then grep -vxF "$ROOT"; else cat; fi; })
  if [ -z "$WORK" ] || [ ! -d "$WORK" ]; then
    :
  elif [ -n "$left" ]; then
    # Never remove a tree that still has the host's /dev or /sys mounted inside it.
    say "warning: still mounted under $WORK, so it is left in place: ${left//$'\n'/ }"
  elif [ "$keep" = 1 ]; then
    touch "$WORK/kept"
    say "root kept (--keep): chroot $ROOT bash; remove with: umount $ROOT (if a tmpfs); rm -rf --one-file-system $WORK"
  else
    t0=$SECONDS
    rm -rf --one-file-system "$WORK"
    [ "$TMPFS" = 1 ] || say "root removed in $(( SECONDS - t0 )) s"
  fi
  if [ "$rc" -eq 0 ] && [ -n "$RESULT" ]; then
    times=$(printf '%s; ' "${TIMES[@]}")
    say "times: ${times%; }"
    echo "fresh-machine-test: PASS ($RESULT) in $(( SECONDS - START )) s, log $LOG"
  else
    [ "$rc" -ne 0 ] || rc=1
    if grep -q '^  ' "$LOG"; then   # the failing command's own last lines
      echo "---- last output lines in $LOG ----"
      grep '^  ' "$LOG" | tail -n 40
      echo "----"
    fi
    echo "fresh-machine-test: FAIL at $STAGE${REASON:+: $REASON} (see $LOG)"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'REASON="interrupted"; exit 130' INT
trap 'REASON="terminated"; exit 143' TERM

# ---- preflight ----------------------------------------------------------------------------------
say "log: $LOG"
[ "$(id -u)" -eq 0 ] || fail "needs root (mount and chroot); run it with sudo"
for tool in git tar chroot mount umount timeout awk df; do
  command -v "$tool" >/dev/null || fail "$tool not found on this machine"
done
SHA=$(git -C "$REPO" rev-parse HEAD) || fail "$REPO is not a git repository"
say "testing commit $(git -C "$REPO" log -1 --format='%h %s' | cut -c1-100)"
dirty=$(git -C "$REPO" status --porcelain | wc -l)
[ "$dirty" -eq 0 ] ||
  say "note: $dirty uncommitted change(s) in $REPO are NOT tested (only the committed HEAD is cloned)"

mkdir -p "$WORK_PARENT"
# Roots left by runs that were killed before their clean-up (not --keep ones, not live runs).
for old in "$WORK_PARENT"/tca-fresh-machine.*; do
  if [ ! -f "$old/pid" ] || [ -e "$old/kept" ]; then continue; fi
  ! kill -0 "$(cat "$old/pid")" 2>/dev/null || continue
  say "removing $old, left by an earlier run that did not finish"
  umount_all_under "$old"
  if [ -z "$(mounts_under "$old")" ]; then
    rm -rf --one-file-system "$old"
  else
    say "warning: $old still has mounts; leaving it"
  fi
done
free_kb=$(df -Pk "$WORK_PARENT" | awk 'NR == 2 { print $4 }')
free_gb=$(awk -v k="$free_kb" 'BEGIN { printf "%.1f", k / 1048576 }')
if [ "$free_kb" -lt $(( MIN_FREE_GB * 1048576 )) ]; then
  fail "not enough disk space: $free_gb GB free in $WORK_PARENT, need $MIN_FREE_GB GB (set TCA_FRESH_WORKDIR to a roomier place)"
fi
say "$free_gb GB free in $WORK_PARENT (need $MIN_FREE_GB GB)"
# A tmpfs root: its removal is an unmount, and dpkg's fsyncs and the extraction cost nothing, where
# on this VM's busy disk removing a used root took up to 2 minutes.
mem_gb=$(awk '/^MemAvailable:/ { printf "%d", $2 / 1048576 }' /proc/meminfo)
if [ "$TMPFS" = auto ]; then
  if [ "$mem_gb" -ge $(( TMPFS_GB + 6 )) ]; then TMPFS=1; else TMPFS=0; fi
fi
if [ "$TMPFS" = 1 ]; then
  say "root in a $TMPFS_GB GB tmpfs ($mem_gb GB of memory available)"
else
  say "root on disk in $WORK_PARENT"
fi
# The root's path without symlinks, as /proc/PID/root shows it (the clean-up compares the two).
WORK=$(cd "$(mktemp -d "$WORK_PARENT/tca-fresh-machine.XXXXXX")" && pwd -P)
echo $$ >"$WORK/pid"
ROOT=$WORK/root
IN_ROOT=(chroot "$ROOT" /usr/bin/env -i "${CHROOT_ENV[@]}")   # a command inside, clean environment
mkdir "$ROOT"
if [ "$TMPFS" = 1 ]; then
  mount -t tmpfs -o "size=${TMPFS_GB}g,mode=0755" tmpfs "$ROOT"
  MOUNTED+=("$ROOT")
fi

# ---- the bare Debian 12 root --------------------------------------------------------------------
if ! command -v mmdebstrap >/dev/null; then
  step_begin "install mmdebstrap on this machine"
  command -v apt-get >/dev/null || fail "mmdebstrap is missing and this machine has no apt-get"
  export DEBIAN_FRONTEND=noninteractive
  APT=(apt-get -o DPkg::Lock::Timeout=600)   # wait for another apt-get on this machine to finish
  retry "${APT[@]}" install -y -q --no-install-recommends mmdebstrap ||
    { retry "${APT[@]}" update -q && retry "${APT[@]}" install -y -q --no-install-recommends mmdebstrap; } ||
    fail "could not install mmdebstrap"
  unset DEBIAN_FRONTEND
  step_end
fi

# The base root is always made as a tarball (mmdebstrap --variant=apt: essential packages and apt)
# and extracted into a new, empty root. With the cache (the default) the tarball is kept outside
# the repository and reused: each run still extracts it afresh, so what runs inside starts from
# the bare base every time, never from what an earlier run installed.
if [ "$NO_CACHE" = 1 ]; then
  BASE=$WORK/base.tar
else
  BASE=$CACHE
  if [ -f "$BASE" ] && [ -n "$(find "$BASE" -mtime +"$CACHE_MAX_DAYS")" ]; then
    say "cached base $BASE is older than $CACHE_MAX_DAYS days; making it again"
    rm -f "$BASE"
  fi
fi
for attempt in 1 2; do
  if [ ! -f "$BASE" ]; then
    step_begin "mmdebstrap"
    mkdir -p "$(dirname "$BASE")"
    # TMPDIR: mmdebstrap's working root goes inside our directory too (checked for space, and
    # for mounts left behind if it is killed).
    retry env TMPDIR="$WORK" mmdebstrap --variant=apt --mode=root --format=tar \
      bookworm "$BASE.tmp.$$" "${SOURCES[@]}" || { rm -f "$BASE.tmp.$$"; fail "mmdebstrap failed"; }
    mv -f "$BASE.tmp.$$" "$BASE"
    step_end "$(du -m "$BASE" | cut -f1) MB tarball"
    [ "$NO_CACHE" = 1 ] || say "base root cached as $BASE"
  fi
  step_begin "extract the base root"
  if run tar -C "$ROOT" --numeric-owner -xpf "$BASE"; then
    step_end
    break
  fi
  [ "$attempt" -eq 1 ] || fail "cannot extract $BASE"
  say "base root tarball $BASE is unreadable; making it again"
  find "$ROOT" -mindepth 1 -maxdepth 1 -exec rm -rf --one-file-system {} +
  rm -f "$BASE"
done
[ "$NO_CACHE" = 1 ] && rm -f "$BASE"

# ---- into the root: mounts, network, the clone --------------------------------------------------
STAGE="mount"
# The host's /proc, /sys and /dev (with its pts and shm mounts), as a booted machine has them.
for d in /proc /sys /dev /dev/pts /dev/shm; do
  if mountpoint -q "$d"; then bind "$d"; fi
done
# Name resolution for apt (a dangling resolv.conf symlink in the root must not be followed).
rm -f "$ROOT/etc/resolv.conf"
cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf"
# Network robustness only (no package changes): apt in the root retries a failed download, since
# the download of `make deps` inside `make test` cannot be retried from out here.
echo 'Acquire::Retries "3";' >"$ROOT/etc/apt/apt.conf.d/80fresh-machine-test-retries"

step_begin "clone"
SRC=$ROOT$SRC_IN_ROOT
mkdir -p "$(dirname "$SRC")"
run git clone -q --no-local "$REPO" "$SRC" || fail "git clone failed"
if [ "$(git -C "$SRC" rev-parse HEAD)" != "$SHA" ]; then   # the repository has a detached HEAD
  { run git -C "$SRC" fetch -q origin HEAD && run git -C "$SRC" checkout -q --detach FETCH_HEAD; } ||
    fail "cannot check out $SHA"
fi
# CI runs in a clone with a read-only copy of ../shared beside it: the same layout here. (The
# tests read their own copies in tests/data/reference, not ../shared; hooks/ is not the project's.)
if [ -d "$REPO/../shared" ]; then
  mkdir -p "$SRC/../shared"
  tar -C "$REPO/../shared" --exclude=./hooks -cf - . | tar -C "$SRC/../shared" -xf -
  chmod -R a-w "$SRC/../shared"
else
  say "note: no ../shared beside $REPO; the clone gets none either"
fi
step_end "$(git -C "$SRC" log -1 --format=%h)"

# ---- what the README asks a new user to have ----------------------------------------------------
step_begin "apt-get install make git"
retry "${IN_ROOT[@]}" apt-get update -q || fail "apt-get update failed in the root"
retry "${IN_ROOT[@]}" DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends make git ||
  fail "apt-get install make git failed"
step_end

# ---- the README's two commands, as a new user types them ----------------------------------------
step_begin "make test"
first_line=$(( $(wc -l <"$LOG") + 1 ))
status=0
run "${IN_ROOT[@]}" bash -c "cd $SRC_IN_ROOT && make test" || status=$?
# The ctest count and the phase times, from this step's part of the log (each line stamped with
# the seconds since the step began).
part=$(tail -n +"$first_line" "$LOG")
counts=$(sed -n 's/.*tests passed, \([0-9]*\) tests\{0,1\} failed out of \([0-9]*\).*/\1 \2/p' <<<"$part" | tail -n 1)
passed=""
[ -z "$counts" ] || passed="$(( ${counts#* } - ${counts% *} ))/${counts#* }"
stamp_of() { { grep -m1 -E "$1" <<<"$part" || true; } | sed -n 's/^  \[ *\([0-9]*\) s\].*/\1/p'; }
t_build=$(stamp_of '^  \[ *[0-9]+ s\] \[ *[0-9]+%\]')   # cmake --build's first "[  1%]" line
t_ctest=$(stamp_of 'Test project ')                       # ctest's first line
phases=""
if [ -n "$t_build" ] && [ -n "$t_ctest" ]; then
  phases="deps+configure $t_build s, build $(( t_ctest - t_build )) s, ctest $(( SECONDS - STEP_T0 - t_ctest )) s"
fi
if [ "$status" -ne 0 ]; then
  # Keep ctest's own log: the root, with the build tree in it, is removed at exit.
  cp "$SRC/build/Testing/Temporary/LastTest.log" "$OUT/LastTest.log" 2>/dev/null &&
    say "ctest's log copied to $OUT/LastTest.log"
  fail "exit status $status${passed:+, ctest $passed passed}"
fi
[ -n "$passed" ] || fail "make test printed no ctest summary"
step_end "$passed passed${phases:+; $phases}"

step_begin "make demo"
run "${IN_ROOT[@]}" bash -c "cd $SRC_IN_ROOT && make demo" || status=$?
if [ "$status" -ne 0 ]; then
  rm -rf "$OUT/demo-logs"
  cp -r "$SRC/demo-out/logs" "$OUT/demo-logs" 2>/dev/null && say "the demo's logs copied to $OUT/demo-logs"
  fail "exit status $status"
fi
step_end

RESULT="make test $passed, make demo ok"
exit 0
