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

if ! [ -S /var/run/docker.sock ] || ! engine_ok; then
  log "starting dockerd in the background (log: /var/log/rwsplit-dockerd.log)"
  nohup dockerd >/var/log/rwsplit-dockerd.log 2>&1 &
  for _ in $(seq 1 60); do
    engine_ok && break
    sleep 1
  done
fi

if ! engine_ok; then
  log "dockerd did not answer within 60 s; last lines of its log:"
  tail -n 20 /var/log/rwsplit-dockerd.log >&2 || true
  exit 1
fi
log "Docker engine is up ($(docker version --format '{{.Server.Version}}'))"
