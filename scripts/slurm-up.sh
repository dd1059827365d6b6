#!/usr/bin/env bash
# Bring up a single-node Slurm on this machine (munged, slurmctld, slurmd), for the test suite.
#
# Needs root and Debian's slurmctld slurmd slurm-client munge (scripts/setup.sh --system installs them).
# Idempotent: daemons already running are left alone; pid files and sockets left by a killed earlier
# run are normal (munged --force, slurmctld -c). Exits 0 once `sinfo` shows the node idle; otherwise
# exits 1 and the last line on stderr says why ("slurm-up: ..."), which is what the tests' skip shows.
# `scripts/slurm-up.sh --down` stops the daemons this script started and removes their state.
set -uo pipefail

CONF=/etc/slurm/slurm.conf
MARK="# written by simdask scripts/slurm-up.sh"
NODE=$(hostname -s)
DEADLINE_S=${SLURM_UP_TIMEOUT:-60}
LOG_DIR=/var/log/slurm

say() { echo "slurm-up: $*" >&2; }
fail() { say "$*"; exit 1; }

alive() {  # alive PIDFILE NAME: the pid in PIDFILE is a running NAME (not a zombie, not a recycled pid)
  local pid
  pid=$(cat "$1" 2>/dev/null) || return 1
  [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] &&
    [ "$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$pid/status" 2>/dev/null)" != Z ]
}

node_state() { sinfo -h -n "$NODE" -o %T 2>/dev/null | head -1; }

down() {
  local f
  for f in /run/slurmd.pid:slurmd /run/slurmctld.pid:slurmctld /run/munge/munged.pid:munged; do
    if alive "${f%%:*}" "${f##*:}"; then kill "$(cat "${f%%:*}")"; fi
  done
  for _ in $(seq 50); do
    alive /run/slurmd.pid slurmd || alive /run/slurmctld.pid slurmctld || alive /run/munge/munged.pid munged || break
    sleep 0.1
  done
  rm -rf /var/spool/slurmctld /var/spool/slurmd /run/slurmd.pid /run/slurmctld.pid
  say "stopped; state removed"
}

if [ "${1:-}" = "--down" ]; then down; exit 0; fi

[ "$(id -u)" = 0 ] || fail "not root: the Slurm daemons must be started as root (run the tests as root)"
for cmd in munged munge slurmctld slurmd sinfo sbatch; do
  command -v "$cmd" >/dev/null || fail "$cmd is not installed (as root, scripts/setup.sh --system installs slurmctld slurmd slurm-client munge slurm-wlm-torque)"
done

if [ -e "$CONF" ] && ! grep -qF "$MARK" "$CONF"; then  # a site's Slurm: use it if it answers, never touch it
  sinfo -h >/dev/null 2>&1 && exit 0
  fail "$CONF was not written by simdask and sinfo does not answer: not touching a site's Slurm"
fi

# munge: the package created the key; the daemon runs as the munge user.
[ -s /etc/munge/munge.key ] || runuser -u munge -- mungekey --create >/dev/null 2>&1 || fail "no /etc/munge/munge.key and mungekey could not create one"
mkdir -p /run/munge && chown munge:munge /run/munge && chmod 0755 /run/munge
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  runuser -u munge -- /usr/sbin/munged --force || fail "munged did not start (see /var/log/munge/munged.log)"
  for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
  munge -n 2>/dev/null | unmunge >/dev/null 2>&1 || fail "munged runs but munge -n | unmunge fails (see /var/log/munge/munged.log)"
fi

# The node declares at least 8 CPUs (config_overrides): on a 2-core machine a store, a model's ranks and
# Dask workers must all run at once. Memory a bit below what slurmd sees, else the node is drained.
cpus=$(nproc); [ "$cpus" -lt 8 ] && cpus=8
mem=$(slurmd -C 2>/dev/null | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p'); mem=$(( ${mem:-4096} * 9 / 10 ))
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd "$LOG_DIR"
cat > "$CONF.new" <<EOF
$MARK: a single-node test cluster
ClusterName=simdask
SlurmctldHost=localhost
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
DefMemPerCPU=512
SlurmdParameters=config_overrides
ReturnToService=2
MailProg=/bin/true
KillWait=5
SchedulerParameters=batch_sched_delay=0,sched_min_interval=0
MinJobAge=300
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=$LOG_DIR/slurmctld.log
SlurmdLogFile=$LOG_DIR/slurmd.log
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
changed=0
if cmp -s "$CONF.new" "$CONF"; then rm -f "$CONF.new"; else mv "$CONF.new" "$CONF"; changed=1; fi

if [ "$changed" = 1 ] && alive /run/slurmctld.pid slurmctld; then
  scontrol reconfigure >/dev/null 2>&1 || say "scontrol reconfigure failed: daemons keep the previous $CONF"
fi
if ! alive /run/slurmctld.pid slurmctld; then
  rm -f /run/slurmctld.pid
  slurmctld -c || fail "slurmctld did not start: $(tail -n 3 $LOG_DIR/slurmctld.log 2>/dev/null | tr '\n' ' ')"
fi
if ! alive /run/slurmd.pid slurmd; then
  rm -f /run/slurmd.pid
  slurmd -N "$NODE" || fail "slurmd did not start: $(tail -n 3 $LOG_DIR/slurmd.log 2>/dev/null | tr '\n' ' ')"
fi

end=$(( $(date +%s) + DEADLINE_S ))
while [ "$(date +%s)" -lt "$end" ]; do
  state=$(node_state)
  case "$state" in
    idle*|mixed*|allocated*) exit 0 ;;
    down*|drain*) scontrol update nodename="$NODE" state=resume >/dev/null 2>&1 ;;
  esac
  alive /run/slurmctld.pid slurmctld || fail "slurmctld died: $(tail -n 3 $LOG_DIR/slurmctld.log 2>/dev/null | tr '\n' ' ')"
  alive /run/slurmd.pid slurmd || fail "slurmd died: $(tail -n 3 $LOG_DIR/slurmd.log 2>/dev/null | tr '\n' ' ')"
  sleep 0.2
done
fail "node $NODE not idle after ${DEADLINE_S}s (state: ${state:-unknown}; see $LOG_DIR/slurmctld.log and slurmd.log)"
