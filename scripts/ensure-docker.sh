#!/usr/bin/env bash
# ensure-docker.sh makes sure a Docker engine answers on this machine.
#
# If none answers and we are root on Debian, it installs docker.io (and
# debootstrap, which scripts/build-images.sh needs) with apt and starts dockerd
# in the background. Otherwise it says exactly what is missing and fails.
set -euo pipefail

log() { echo "ensure-docker: $*" >&2; }

engine_ok() { docker info >/dev/null 2>&1; }

if command -v docker >/dev/null 2>&1 && engine_ok; then
  exit 0
fi

if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  log "no Docker engine answers (docker info failed) and this is not root on Debian,"
  log "so it cannot be installed automatically. Install and start Docker, or set"
  log "DOCKER_HOST to an engine you can reach, then run this again."
  exit 1
fi

apt_install() {
  # dpkg sometimes reports an archive that vanished mid-download: retry once.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >/dev/null ||
    { sleep 2; DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >/dev/null; }
}

need=()
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
command -v iptables >/dev/null 2>&1 || need+=(iptables)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]} with apt-get"
  apt-get update -q >/dev/null || { sleep 2; apt-get update -q >/dev/null; }
  apt_install "${need[@]}"
fi

# Where dockerd's log, its pid files and its network store are. The
# RWSPLIT_* overrides exist so the failure handling can be tried with a fake
# dockerd without touching a real engine; they default to the real paths.
DOCKERD_LOG=${RWSPLIT_DOCKERD_LOG:-/var/log/rwsplit-dockerd.log}
DOCKERD_PIDFILE=${RWSPLIT_DOCKERD_PIDFILE:-/var/run/docker.pid}
CONTAINERD_PIDFILE=${RWSPLIT_CONTAINERD_PIDFILE:-/var/run/docker/containerd/containerd.pid}
NETWORK_STORE=${RWSPLIT_DOCKER_NETWORK_STORE:-/var/lib/docker/network/files/local-kv.db}
DOCKERD_WAIT=${RWSPLIT_DOCKERD_WAIT:-60}
# dockerd starts its own containerd with this config; a containerd started
# any other way is not ours to stop.
CONTAINERD_CONFIG=/var/run/docker/containerd/containerd.toml

dockerd_pid=""  # the dockerd start_dockerd started, while it may still run
log_from=0      # lines of $DOCKERD_LOG written before the last start

# start_dockerd starts dockerd in the background and waits up to
# $DOCKERD_WAIT s for it to answer; it fails at once if dockerd exits first.
start_dockerd() {
  log "starting dockerd in the background (log: $DOCKERD_LOG)"
  log_from=$(wc -l <"$DOCKERD_LOG")
  nohup dockerd >>"$DOCKERD_LOG" 2>&1 &
  dockerd_pid=$!
  for _ in $(seq 1 "$DOCKERD_WAIT"); do
    engine_ok && return 0
    if ! kill -0 "$dockerd_pid" 2>/dev/null; then
      wait "$dockerd_pid" || true
      dockerd_pid="" # exited and reaped: nothing of it left to stop
      return 1
    fi
    sleep 1
  done
  engine_ok
}

# this_start_log prints what dockerd wrote to its log since the last start.
this_start_log() { tail -n +"$((log_from + 1))" "$DOCKERD_LOG"; }

# why_dockerd_failed prints the daemon's panic or fatal lines, not only its tail.
why_dockerd_failed() {
  log "dockerd did not come up; what it said:"
  this_start_log | grep -E -A3 '^panic:|level=fatal|failed to start daemon' | head -n 20 >&2 ||
    this_start_log | tail -n 20 >&2 || true
}

# live_pid prints the pid pidfile $1 names if that process runs.
live_pid() {
  local pid
  [ -f "$1" ] || return 1
  pid=$(tr -cd '0-9' <"$1")
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# stop_pid sends TERM to $1, waits up to 10 s, then KILL.
stop_pid() {
  kill -TERM "$1" 2>/dev/null || return 0
  for _ in $(seq 1 10); do
    kill -0 "$1" 2>/dev/null || return 0
    sleep 1
  done
  kill -KILL "$1" 2>/dev/null || true
}

# stop_what_we_started stops the dockerd start_dockerd started (if it still
# runs) and the containerd it left behind: the one the containerd pid file
# names, if that runs with dockerd's containerd config and no running dockerd
# is its parent. Nothing is stopped by name, so a system containerd or another
# engine's daemons are never touched. Pid files that name no live process go.
stop_what_we_started() {
  local pid ppid
  if [ -n "$dockerd_pid" ]; then
    if kill -0 "$dockerd_pid" 2>/dev/null; then
      log "stopping the dockerd this script started (pid $dockerd_pid)"
      stop_pid "$dockerd_pid"
    fi
    wait "$dockerd_pid" 2>/dev/null || true
    dockerd_pid=""
  fi
  if pid=$(live_pid "$CONTAINERD_PIDFILE"); then
    ppid=$(sed 's/^.*) //' /proc/"$pid"/stat 2>/dev/null | cut -d' ' -f2)
    if ! tr '\0' ' ' </proc/"$pid"/cmdline 2>/dev/null | grep -qF -- "--config $CONTAINERD_CONFIG"; then
      log "$CONTAINERD_PIDFILE names pid $pid, which is not dockerd's containerd: left alone"
    elif [ -n "$ppid" ] && [ "$(cat /proc/"$ppid"/comm 2>/dev/null)" = dockerd ]; then
      log "containerd (pid $pid) belongs to a running dockerd (pid $ppid): left alone"
    else
      log "stopping the containerd the failed dockerd left behind (pid $pid)"
      stop_pid "$pid"
    fi
  fi
  live_pid "$DOCKERD_PIDFILE" >/dev/null || rm -f "$DOCKERD_PIDFILE"
  live_pid "$CONTAINERD_PIDFILE" >/dev/null || rm -f "$CONTAINERD_PIDFILE"
}

if ! [ -S /var/run/docker.sock ] || ! engine_ok; then
  : >"$DOCKERD_LOG"
  if ! start_dockerd; then
    why_dockerd_failed
    stop_what_we_started
    # A dockerd killed while it created a network (a test run cut off) can
    # leave a network with no address pool in its store, and dockerd 20.10 then
    # panics at every start (libnetwork reservePools: index out of range).
    # Networks are scratch here (the tests make their own): only for that
    # panic, set the store aside and start once more. Any other failure fails.
    if ! this_start_log | grep -q 'reservePools'; then
      exit 1
    fi
    if [ -f "$NETWORK_STORE" ]; then
      log "dockerd panicked in libnetwork reservePools: setting the network store aside ($NETWORK_STORE.broken) and starting again"
      mv -f "$NETWORK_STORE" "$NETWORK_STORE.broken"
    else
      log "dockerd panicked in libnetwork reservePools but there is no network store at $NETWORK_STORE; starting again"
    fi
    if ! start_dockerd; then
      why_dockerd_failed
      stop_what_we_started
      exit 1
    fi
  fi
fi

if ! engine_ok; then
  why_dockerd_failed
  exit 1
fi
log "Docker engine is up ($(docker version --format '{{.Server.Version}}'))"
