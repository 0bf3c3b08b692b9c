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

# start_dockerd starts dockerd in the background and waits up to 60 s for it
# to answer; it fails at once if dockerd exits first.
start_dockerd() {
  log "starting dockerd in the background (log: /var/log/rwsplit-dockerd.log)"
  nohup dockerd "$@" >>/var/log/rwsplit-dockerd.log 2>&1 &
  local pid=$!
  for _ in $(seq 1 60); do
    engine_ok && return 0
    kill -0 "$pid" 2>/dev/null || { wait "$pid" || true; return 1; }
    sleep 1
  done
  engine_ok
}

# why_dockerd_failed prints the daemon's panic or fatal lines, not only its tail.
why_dockerd_failed() {
  log "dockerd did not come up; what it said:"
  grep -E -A3 '^panic:|level=fatal|failed to start daemon' /var/log/rwsplit-dockerd.log | head -n 20 >&2 ||
    tail -n 20 /var/log/rwsplit-dockerd.log >&2 || true
}

if ! [ -S /var/run/docker.sock ] || ! engine_ok; then
  : >/var/log/rwsplit-dockerd.log
  if ! start_dockerd; then
    why_dockerd_failed
    # A dockerd killed while it created a network (a test run cut off) can
    # leave a network with no address pool in its store, and dockerd 20.10 then
    # panics at every start (libnetwork reservePools: index out of range).
    # Networks are scratch here (the tests make their own): set the store
    # aside, stop what is left of the daemon, and start once more.
    pkill -x dockerd 2>/dev/null || true
    pkill -x containerd 2>/dev/null || true
    sleep 2
    store=/var/lib/docker/network/files/local-kv.db
    if [ -f "$store" ]; then
      log "setting the network store aside ($store.broken) and starting again"
      mv -f "$store" "$store.broken"
    fi
    rm -f /var/run/docker.pid /var/run/docker/containerd/containerd.pid
    start_dockerd || true
  fi
fi

if ! engine_ok; then
  why_dockerd_failed
  exit 1
fi
log "Docker engine is up ($(docker version --format '{{.Server.Version}}'))"
