# shellcheck shell=bash
# A throw-away single-node Slurm cluster on localhost, for tests (issue 18, item 5).
#
#   source tests/slurm/slurm_cluster.sh
#   trap slurm_cleanup EXIT
#   slurm_up "$dir"          # installs slurm-wlm + munge if missing, starts munged, slurmctld, slurmd
#   sbatch ...; squeue ...   # SLURM_CONF is exported, so the clients talk to this cluster
#   slurm_down               # cancels leftover jobs, stops the daemons by their pids
#
# Everything (key, sockets, state, spool, pid files, logs) lives under DIR, so nothing clashes
# with a system munged or Slurm, and DIR can be inspected after a failure. Needs root: slurmd
# runs jobs as their submitting user and SlurmUser=root (no slurm account needed). Every step
# that cannot be done fails loudly with the reason; nothing here skips.
#
# Facts this relies on (Slurm 22.05.8 and munge 0.5.15 on Debian 12, see README.md):
# - ProctrackType=proctrack/linuxproc + TaskPlugin=task/none + JobAcctGatherType=none: no
#   cgroups needed (here proctrack/cgroup fails every job: "cgroup namespace 'freezer' not
#   mounted", and the node is drained).
# - A requeued job may start again only cred_expire + 1 s later (default 121 s): cred_expire=10
#   in AuthInfo makes a requeue test take 11 s.
# - AuthInfo=socket=PATH in slurm.conf points auth/munge AND cred/munge (daemons and clients) at
#   our own munged socket; no MUNGE env variable is needed.
# - SlurmctldHost=localhost is accepted by slurmctld whatever the machine's hostname is; slurmd
#   is told its node name with -N, and NodeAddr=127.0.0.1, so name resolution does not matter.
# - Ports are picked free at start (defaults 6817/6818 may be taken by a real Slurm).

# Globals (set by slurm_up, read by slurm_down / slurm_dump_logs).
SLURM_TEST_DIR=${SLURM_TEST_DIR:-}
SLURM_TEST_NODE=${SLURM_TEST_NODE:-}
# Daemon pids, read from their pid files once each daemon is up (the daemons remove the pid
# files when they exit, so the pids are kept here to stop and to check them afterwards).
SLURM_TEST_MUNGED_PID=${SLURM_TEST_MUNGED_PID:-}
SLURM_TEST_SLURMCTLD_PID=${SLURM_TEST_SLURMCTLD_PID:-}
SLURM_TEST_SLURMD_PID=${SLURM_TEST_SLURMD_PID:-}

_slurm_log() { printf '[slurm-cluster] %s\n' "$*" >&2; }
_slurm_fail() { printf '[slurm-cluster] FAILED: %s\n' "$*" >&2; return 1; }

# Install the Debian packages only when a binary is missing (root here and on CI). Not part of
# tools/install-deps.sh: users of tca do not need Slurm.
slurm_install() {
  local missing=0 b
  for b in slurmctld slurmd sbatch squeue sinfo scontrol scancel munged mungekey; do
    command -v "$b" >/dev/null 2>&1 || missing=1
  done
  [ "$missing" = 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    _slurm_fail "slurm-wlm/munge not installed and not root: cannot apt-get install them"
    return 1
  fi
  _slurm_log "installing slurm-wlm and munge with apt-get"
  local log
  log=$(mktemp)
  # policy-rc.d (if any) keeps the packages' own services from starting; that is fine, we start
  # our own daemons. Retry once after 'apt-get update' in case the package lists are stale/empty.
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      slurm-wlm munge >"$log" 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$log" 2>&1 || true
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        slurm-wlm munge >>"$log" 2>&1; then
      tail -n 30 "$log" >&2
      rm -f "$log"
      _slurm_fail "apt-get install slurm-wlm munge failed (output above)"
      return 1
    fi
  fi
  rm -f "$log"
  for b in slurmctld slurmd sbatch munged mungekey; do
    command -v "$b" >/dev/null 2>&1 || { _slurm_fail "$b still missing after install"; return 1; }
  done
}

# True when something listens on 127.0.0.1:$1 (bash's /dev/tcp; no ss/netstat needed).
_slurm_port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# First free port pair p, p+1 from $1 upwards.
_slurm_free_ports() {
  local p=$1
  while [ "$p" -lt $(($1 + 200)) ]; do
    if ! _slurm_port_busy "$p" && ! _slurm_port_busy $((p + 1)); then
      echo "$p"
      return 0
    fi
    p=$((p + 2))
  done
  return 1
}

# Wait until file $1 exists and holds a live pid; print the pid. $2 = timeout in seconds.
_slurm_wait_pidfile() {
  local f=$1 t=$2 i=0 pid
  while [ "$i" -lt $((t * 10)) ]; do
    if [ -s "$f" ]; then
      pid=$(tr -dc '0-9' <"$f")
      if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        echo "$pid"
        return 0
      fi
    fi
    sleep 0.1
    i=$((i + 1))
  done
  return 1
}

# Print the tails of every daemon log (called on failure).
slurm_dump_logs() {
  local d=${1:-$SLURM_TEST_DIR} f
  [ -n "$d" ] || return 0
  for f in "$d"/munge/munged.log "$d"/slurm/slurmctld.log "$d"/slurm/slurmd.log \
           "$d"/munge/munged.out "$d"/slurm/slurmctld.out "$d"/slurm/slurmd.out; do
    [ -s "$f" ] || continue
    printf '===== %s (last 40 lines) =====\n' "$f" >&2
    tail -n 40 "$f" >&2
  done
}

# Start munged with its own key, socket, pid file and log under $1/munge.
_slurm_start_munge() {
  local m=$1/munge
  if ! { mkdir -p "$m" && chmod 0700 "$m"; }; then _slurm_fail "cannot create $m"; return 1; fi
  # mungekey writes a 1024-bit random key with mode 0600 (munged refuses group/other-readable keys).
  mungekey --create --keyfile="$m/munge.key" >/dev/null 2>&1 ||
    { _slurm_fail "mungekey --create --keyfile=$m/munge.key failed"; return 1; }
  # --force: munged otherwise refuses some "insecure" setups (e.g. a world-writable /tmp
  # ancestor without sticky bit); all our files are in a 0700 directory owned by root.
  # stdout/stderr to a file so the daemon never holds the caller's pipes (CI would hang).
  munged --force --socket="$m/munge.socket" --key-file="$m/munge.key" \
    --pid-file="$m/munged.pid" --log-file="$m/munged.log" --seed-file="$m/munged.seed" \
    </dev/null >"$m/munged.out" 2>&1 ||
    { slurm_dump_logs "$1"; _slurm_fail "munged did not start (logs above)"; return 1; }
  SLURM_TEST_MUNGED_PID=$(_slurm_wait_pidfile "$m/munged.pid" 10) ||
    { slurm_dump_logs "$1"; _slurm_fail "munged wrote no live pid file in 10 s"; return 1; }
  # A credential round trip through our socket proves the key and socket work.
  if ! munge --socket="$m/munge.socket" -n 2>/dev/null |
       unmunge --socket="$m/munge.socket" >/dev/null 2>&1; then
    slurm_dump_logs "$1"
    _slurm_fail "munge/unmunge round trip through $m/munge.socket failed"
    return 1
  fi
}

# Write $1/slurm/slurm.conf for this machine. Ports in $2 (slurmctld) and $2+1 (slurmd).
_slurm_write_conf() {
  local d=$1 s=$1/slurm port=$2 hw cpus sockets cores threads mem
  # slurmd -C reports what slurmd itself will detect; declaring exactly that keeps the node from
  # being drained for "Low RealMemory" / CPU count mismatch.
  hw=$(slurmd -C 2>/dev/null | head -n 1)
  cpus=$(sed -n 's/.* CPUs=\([0-9]*\).*/\1/p' <<<"$hw")
  sockets=$(sed -n 's/.* SocketsPerBoard=\([0-9]*\).*/\1/p' <<<"$hw")
  cores=$(sed -n 's/.* CoresPerSocket=\([0-9]*\).*/\1/p' <<<"$hw")
  threads=$(sed -n 's/.* ThreadsPerCore=\([0-9]*\).*/\1/p' <<<"$hw")
  mem=$(sed -n 's/.* RealMemory=\([0-9]*\).*/\1/p' <<<"$hw")
  if [ -z "$cpus" ] || [ -z "$mem" ]; then
    _slurm_fail "slurmd -C gave no CPUs/RealMemory: '$hw'"
    return 1
  fi
  cat >"$s/slurm.conf" <<EOF
# Generated by tests/slurm/slurm_cluster.sh for a throw-away single-node test cluster.
ClusterName=tcatest
SlurmctldHost=localhost
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# Our own munged (the system one, if any, has another key and socket). cred_expire (default
# 120 s) is also how long a requeued job waits before it may start again (BeginTime = requeue
# time + cred_expire + 1): short here so a requeue test does not wait two minutes.
AuthInfo=socket=$d/munge/munge.socket,cred_expire=${SLURM_TEST_CRED_EXPIRE:-10}
StateSaveLocation=$s/state
SlurmdSpoolDir=$s/spool
SlurmctldPidFile=$s/slurmctld.pid
SlurmdPidFile=$s/slurmd.pid
SlurmctldLogFile=$s/slurmctld.log
SlurmdLogFile=$s/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No cgroups: these work in containers and VMs as root.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
MailProg=/bin/true
# Two 1-CPU array tasks side by side.
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
# A node that registers (again) with valid config comes back idle by itself.
ReturnToService=2
# Start jobs fast and keep finished ones visible to scontrol for 10 minutes.
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2,sched_min_interval=100000,bf_interval=1
MinJobAge=600
KillWait=5
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
MessageTimeout=10
NodeName=$SLURM_TEST_NODE NodeAddr=127.0.0.1 CPUs=$cpus SocketsPerBoard=${sockets:-1} CoresPerSocket=${cores:-$cpus} ThreadsPerCore=${threads:-1} RealMemory=$mem State=UNKNOWN
PartitionName=test Nodes=$SLURM_TEST_NODE Default=YES MaxTime=INFINITE State=UP
EOF
  # For experiments: extra lines (later keys override earlier ones), e.g.
  # SLURM_TEST_EXTRA_CONF='ProctrackType=proctrack/cgroup'.
  if [ -n "${SLURM_TEST_EXTRA_CONF:-}" ]; then
    printf '%s\n' "$SLURM_TEST_EXTRA_CONF" >>"$s/slurm.conf"
  fi
}

# slurm_up DIR: bring the cluster up under DIR (created if missing; keep it short: Unix socket
# paths are limited to 107 bytes). Exports SLURM_CONF. Returns non-zero with the reason.
slurm_up() {
  local d=${1:?slurm_up DIR}
  local t0=$SECONDS port i state
  if [ "$(id -u)" != 0 ]; then
    _slurm_fail "must run as root (SlurmUser=root, slurmd starts jobs as their user)"
    return 1
  fi
  mkdir -p "$d" || { _slurm_fail "cannot create $d"; return 1; }
  d=$(cd "$d" && pwd)
  # slurmd's per-step sockets are SlurmdSpoolDir/NODE_JOBID.STEPID: keep room for them.
  if [ "${#d}" -gt 60 ]; then
    _slurm_fail "directory path too long for Unix sockets (${#d} > 60 chars): $d"
    return 1
  fi
  SLURM_TEST_DIR=$d
  slurm_install || return 1
  SLURM_TEST_NODE=$(hostname -s 2>/dev/null || echo node0)
  [ -n "$SLURM_TEST_NODE" ] || SLURM_TEST_NODE=node0
  if ! { mkdir -p "$d/slurm/state" "$d/slurm/spool" && chmod 0755 "$d/slurm"; }; then
    _slurm_fail "cannot create $d/slurm"
    return 1
  fi

  _slurm_start_munge "$d" || return 1

  port=$(_slurm_free_ports "${SLURM_TEST_PORT:-16817}") ||
    { _slurm_fail "no free TCP port pair found for slurmctld/slurmd"; return 1; }
  _slurm_write_conf "$d" "$port" || return 1
  export SLURM_CONF=$d/slurm/slurm.conf
  # Variables a caller's own Slurm job might have set would confuse sbatch/squeue here.
  unset SLURM_JOB_ID SLURM_JOBID SLURM_ARRAY_JOB_ID SLURM_CLUSTERS

  # -c: no state recovery (fresh cluster). Daemons fork and write their pid files.
  slurmctld -c -f "$SLURM_CONF" </dev/null >"$d/slurm/slurmctld.out" 2>&1 ||
    { slurm_dump_logs "$d"; _slurm_fail "slurmctld exited at start (logs above)"; return 1; }
  SLURM_TEST_SLURMCTLD_PID=$(_slurm_wait_pidfile "$d/slurm/slurmctld.pid" 15) ||
    { slurm_dump_logs "$d"; _slurm_fail "slurmctld not running after 15 s (logs above)"; return 1; }
  slurmd -c -N "$SLURM_TEST_NODE" -f "$SLURM_CONF" </dev/null >"$d/slurm/slurmd.out" 2>&1 ||
    { slurm_dump_logs "$d"; _slurm_fail "slurmd exited at start (logs above)"; return 1; }
  SLURM_TEST_SLURMD_PID=$(_slurm_wait_pidfile "$d/slurm/slurmd.pid" 15) ||
    { slurm_dump_logs "$d"; _slurm_fail "slurmd not running after 15 s (logs above)"; return 1; }

  # Wait for the node to register and be idle.
  state=
  for i in $(seq 1 "${SLURM_UP_TIMEOUT:-60}"); do
    state=$(sinfo -h -N -n "$SLURM_TEST_NODE" -o '%T' 2>/dev/null | head -n 1)
    [ "$state" = idle ] && break
    sleep 1
  done
  if [ "$state" != idle ]; then
    slurm_dump_logs "$d"
    scontrol show node "$SLURM_TEST_NODE" >&2 2>&1 || true
    _slurm_fail "node $SLURM_TEST_NODE not idle after ${SLURM_UP_TIMEOUT:-60} s (state '$state')"
    return 1
  fi
  _slurm_log "up in $((SECONDS - t0)) s: node $SLURM_TEST_NODE idle, ports $port/$((port + 1)), dir $d"
}

# Stop one daemon by pid ($2 names it): TERM, wait up to $3 s, then KILL.
_slurm_stop_pid() {
  local pid=$1 name=$2 t=${3:-10} i
  [ -n "$pid" ] || return 0
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 $((t * 10))); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  _slurm_log "$name (pid $pid) ignored TERM for $t s: KILL"
  kill -KILL "$pid" 2>/dev/null || true
  sleep 0.2
  ! kill -0 "$pid" 2>/dev/null
}

# Pids of the daemons that are still alive (empty when all are gone).
slurm_alive_pids() {
  local p
  for p in "$SLURM_TEST_SLURMD_PID" "$SLURM_TEST_SLURMCTLD_PID" "$SLURM_TEST_MUNGED_PID"; do
    [ -n "$p" ] && kill -0 "$p" 2>/dev/null && printf '%s ' "$p"
  done
  return 0
}

# Pids of this cluster's slurmstepd processes: they keep SlurmdLogFile open (fd 3) and have no
# marker in their environment or command line, so the open log file is how to tell them from
# another cluster's. Empty when none is left.
_slurm_stepd_pids() {
  local log=$SLURM_TEST_DIR/slurm/slurmd.log f p
  # One find over every process's fds (no fork per fd).
  find /proc/[0-9]*/fd -maxdepth 1 -lname "$log" 2>/dev/null | while read -r f; do
    p=${f#/proc/}
    p=${p%%/*}
    [ "$p" = "$SLURM_TEST_SLURMD_PID" ] || echo "$p"
  done | sort -u | tr '\n' ' '
}

# All descendants of the given pids (through the ppid in /proc/PID/stat; bash builtins only).
_slurm_descendants() {
  local todo=" $* " out="" st p line rest changed=1
  while [ "$changed" = 1 ]; do
    changed=0
    for st in /proc/[0-9]*/stat; do
      p=${st#/proc/}
      p=${p%/stat}
      case "$todo$out" in *" $p "*) continue ;; esac
      read -r line <"$st" 2>/dev/null || continue
      # Fields after the command name "(...)": state, ppid, ...
      rest=${line##*) }
      rest=${rest#* }
      case "$todo$out" in *" ${rest%% *} "*) out="$out$p "; changed=1 ;; esac
    done
  done
  printf '%s' "$out"
}

# slurm_down [--remove]: cancel leftover jobs, stop slurmd, slurmctld, munged by their pids.
# Leaves DIR for inspection unless --remove. Safe to call twice or after a partial slurm_up.
slurm_down() {
  local d=$SLURM_TEST_DIR i rc=0
  [ -n "$d" ] || return 0
  # Leftover jobs: cancel them while the daemons still run, so their slurmstepd and job
  # processes end too (stopping slurmd alone leaves running jobs behind).
  if [ -n "$SLURM_TEST_SLURMCTLD_PID" ] && kill -0 "$SLURM_TEST_SLURMCTLD_PID" 2>/dev/null &&
     [ -n "${SLURM_CONF:-}" ]; then
    local left
    left=$(squeue -h -o %A 2>/dev/null | sort -u | tr '\n' ' ')
    if [ -n "${left// /}" ]; then
      _slurm_log "cancelling leftover jobs: $left"
      # shellcheck disable=SC2086 # one argument per job id
      scancel --full $left 2>/dev/null || true
      for i in $(seq 1 40); do
        [ -z "$(squeue -h -o %A 2>/dev/null)" ] && break
        sleep 0.5
      done
    fi
  fi
  _slurm_stop_pid "$SLURM_TEST_SLURMD_PID" slurmd 10 || rc=1
  _slurm_stop_pid "$SLURM_TEST_SLURMCTLD_PID" slurmctld 10 || rc=1
  _slurm_stop_pid "$SLURM_TEST_MUNGED_PID" munged 5 || rc=1
  # Jobs that could not be cancelled (slurmctld already dead) keep running under their
  # slurmstepd after slurmd stops: end those process trees by pid.
  local stepds tree
  stepds=$(_slurm_stepd_pids)
  if [ -n "$stepds" ]; then
    # shellcheck disable=SC2086 # one argument per pid
    tree="$(_slurm_descendants $stepds)$stepds"
    _slurm_log "killing leftover job processes (slurmstepd $stepds): $tree"
    # shellcheck disable=SC2086
    kill -KILL $tree 2>/dev/null || true
  fi
  if [ "${1:-}" = --remove ]; then
    rm -rf "$d"
  fi
  SLURM_TEST_DIR=
  return "$rc"
}

# For `trap slurm_cleanup EXIT`: keeps the caller's exit status.
slurm_cleanup() {
  local rc=$?
  slurm_down "$@" || true
  return "$rc"
}

# slurm_wait_jobs TIMEOUT JOBID...: poll squeue until none of the jobs (array tasks included) is
# pending/running/completing. Returns 1 on timeout or when the node goes down/drained.
slurm_wait_jobs() {
  local t=$1 start=$SECONDS left node
  shift
  while :; do
    left=$(squeue -h -o %i -j "$(IFS=,; echo "$*")" 2>/dev/null)
    [ -z "$left" ] && return 0
    # A drained/down node never runs the rest: say why at once instead of timing out.
    node=$(sinfo -h -N -n "$SLURM_TEST_NODE" -o '%T|%E' 2>/dev/null | head -n 1)
    case "${node%%|*}" in
      down* | drain* | fail*)
        _slurm_log "node $SLURM_TEST_NODE is ${node%%|*} (reason: ${node#*|}); jobs left: $(echo "$left" | tr '\n' ' ')"
        return 1
        ;;
    esac
    if [ $((SECONDS - start)) -ge "$t" ]; then
      _slurm_log "still queued/running after $t s: $(echo "$left" | tr '\n' ' ')"
      return 1
    fi
    sleep 1
  done
}

# For the tests: on exit (also after Ctrl-C or a CI timeout, through the EXIT trap) stop the
# cluster, then keep the test's directory $dir for inspection when the test failed ($failed > 0
# or a non-zero exit) and remove it otherwise (unless KEEP is set).
_slurm_finish() {
  local rc=$?
  slurm_down || true
  if [ "${failed:-0}" -gt 0 ] || [ "$rc" -ne 0 ]; then
    echo "kept for inspection: $dir"
  elif [ -z "${KEEP:-}" ]; then
    rm -rf "$dir"
  fi
}
slurm_exit_trap() {
  trap _slurm_finish EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# For the tests: PASS/FAIL lines and their counts ($passed, $failed), timed from $t0.
slurm_test_counters() {
  t0=$SECONDS
  passed=0
  failed=0
}
pass() { passed=$((passed + 1)); echo "PASS: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
