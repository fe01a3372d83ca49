#!/usr/bin/env bash
# Stops what .ci/slurm-up.sh started: cancels every job first (job steps survive a daemon
# stop), then kills the recorded PIDs of slurmd, slurmctld and munged, and only those.
set -uo pipefail

dir="${MULTIBERTS_SLURM_DIR:-/tmp/multiberts-slurm}"
pids="$dir/pids"
if [ ! -f "$pids" ]; then
  echo "slurm-down: nothing recorded in $pids; nothing to stop"
  exit 0
fi

if scontrol ping 2>/dev/null | grep -q UP; then
  scancel --full --quiet $(squeue -h -o %A | sort -u) 2>/dev/null || true
  for _ in $(seq 50); do
    [ -z "$(squeue -h -t running,completing -o %i 2>/dev/null)" ] && break
    sleep 0.2
  done
fi

# slurmd first, munged last (the others authenticate through it).
for name in slurmd slurmctld munged; do
  pid="$(awk -v n="$name" '$1 == n { print $2 }' "$pids")"
  [ -n "$pid" ] || continue
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill -9 "$pid" 2>/dev/null || true
  fi
  echo "slurm-down: stopped $name ($pid)"
done
rm -f "$pids"
