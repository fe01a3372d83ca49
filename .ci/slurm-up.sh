#!/usr/bin/env bash
# Starts a single-node Slurm cluster on localhost for the Slurm integration test (no systemd
# needed). Installs Debian's slurmctld, slurmd, slurm-client and munge when missing, writes
# /etc/slurm/slurm.conf (refusing to replace one it did not write), starts munged, slurmctld
# and slurmd, and waits until the node is idle. The PIDs it started are recorded in
# $MULTIBERTS_SLURM_DIR/pids for .ci/slurm-down.sh. See ../shared/notes/slurm.md for the keys.
set -euo pipefail

dir="${MULTIBERTS_SLURM_DIR:-/tmp/multiberts-slurm}"
conf=/etc/slurm/slurm.conf
marker="# written by multiberts .ci/slurm-up.sh"

if [ "$(id -u)" != 0 ]; then
  echo "slurm-up: needs root (it installs packages and runs the daemons)" >&2
  exit 1
fi

if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null \
  || ! command -v sbatch >/dev/null || ! command -v munged >/dev/null; then
  echo "slurm-up: installing slurmctld slurmd slurm-client munge"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null
fi

if [ -f "$dir/pids" ] && scontrol ping 2>/dev/null | grep -q UP; then
  echo "slurm-up: already up (started earlier; see $dir/pids)"
  exit 0
fi

if [ -f "$conf" ] && ! grep -qF "$marker" "$conf"; then
  echo "slurm-up: $conf exists and was not written by this script; not touching it" >&2
  exit 1
fi

mkdir -p "$dir/state" "$dir/spool"
: >"$dir/pids"
cpus="$(nproc)"
mkdir -p /etc/slurm
cat >"$conf" <<CONF
$marker
ClusterName=ci
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=cred_expire=10
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
MailProg=/bin/true
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$dir/jobcomp.txt
MinJobAge=86400
ReturnToService=2
SchedulerType=sched/backfill
SchedulerParameters=batch_sched_delay=0,bf_interval=1,sched_min_interval=0,sched_interval=2
KillWait=5
NodeName=localhost NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF

# munge: reuse a running munged (e.g. started by the package's init script), else start one.
install -d -o munge -g munge -m 0755 /run/munge
install -d -o munge -g munge -m 0700 /etc/munge
if [ ! -s /etc/munge/munge.key ]; then
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
chown munge:munge /etc/munge/munge.key
chmod 0400 /etc/munge/munge.key
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
  runuser -u munge -- /usr/sbin/munged
  for _ in $(seq 50); do
    [ -s /run/munge/munged.pid ] && break
    sleep 0.1
  done
  echo "munged $(cat /run/munge/munged.pid)" >>"$dir/pids"
fi
munge -n | unmunge | grep -q 'STATUS: *Success' || {
  echo "slurm-up: munge does not work" >&2
  exit 1
}

start() { # name, command...
  local name="$1"
  shift
  setsid nohup "$@" </dev/null >"$dir/$name.out" 2>&1 &
  echo "$name $!" >>"$dir/pids"
}

start slurmctld slurmctld -D -i
for _ in $(seq 100); do
  scontrol ping 2>/dev/null | grep -q UP && break
  sleep 0.1
done
scontrol ping | grep -q UP || {
  echo "slurm-up: slurmctld did not come up; see $dir/slurmctld.log" >&2
  exit 1
}

start slurmd slurmd -D -N localhost
state=""
for i in $(seq 100); do
  state="$(sinfo -h -n localhost -o %T 2>/dev/null || true)"
  [ "$state" = idle ] && break
  if [ "$i" = 30 ]; then
    scontrol update nodename=localhost state=resume 2>/dev/null || true
  fi
  sleep 0.2
done
if [ "$state" != idle ]; then
  echo "slurm-up: node localhost is '$state', not idle; see $dir/slurmd.log" >&2
  exit 1
fi
echo "slurm-up: single-node cluster up ($cpus CPUs, partition debug); state in $dir"
