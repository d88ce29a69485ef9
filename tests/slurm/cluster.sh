#!/usr/bin/env bash
# run: bash tests/slurm/cluster.sh start DIR | stop DIR    (a one-node SLURM cluster for `make test-slurm`)
# Installs slurm-wlm and munge from Debian's packages when missing (needs root), keeps all state in DIR.
set -euo pipefail
action=$1 dir=$2
host=$(hostname -s)

start() {
  if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
  fi
  mkdir -p "$dir"/{state,spool,log} /run/munge
  chown munge:munge /run/munge 2>/dev/null || true
  [ -f /etc/munge/munge.key ] || mungekey -c
  pgrep -x munged >/dev/null || munged --force
  local mem; mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 2048 ))
  cat > "$dir/slurm.conf" <<CONF
ClusterName=mixft
SlurmctldHost=$host
SlurmUser=root
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
MpiDefault=none
NodeName=$host CPUs=$(nproc) RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
  slurmctld -f "$dir/slurm.conf"
  slurmd -f "$dir/slurm.conf"
  for _ in $(seq 60); do
    SLURM_CONF="$dir/slurm.conf" sinfo -h -o %t 2>/dev/null | grep -q idle && return 0
    sleep 1
  done
  echo "the SLURM node did not come up; see $dir/log" >&2
  return 1
}

stop() {
  local pids=""
  for pidfile in "$dir/slurmd.pid" "$dir/slurmctld.pid"; do
    [ -f "$pidfile" ] && pids="$pids $(cat "$pidfile")"
  done
  [ -n "$pids" ] && kill $pids 2>/dev/null || true
  for _ in $(seq 20); do
    alive=0
    for pid in $pids; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.5
  done
  rm -rf "$dir"
}

"$action"
