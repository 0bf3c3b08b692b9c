#!/usr/bin/env bash
# build-images.sh builds the local server images the test kit uses by default,
# only when they are absent:
#
#   rwsplit/mysql:9.7      Debian sid's mysql-server (Oracle MySQL 9.7)
#   rwsplit/mariadb:10.11  Debian bookworm's mariadb-server
#
# Each is a debootstrap --variant=minbase root with the server package
# installed, imported with `docker import`. No image registry is contacted.
# The Debian mirror is read from this machine's apt sources at run time.
#
# Usage: build-images.sh [mysql|mariadb]...   (default: both, in parallel)
set -euo pipefail

log() { echo "build-images: $*" >&2; }

MYSQL_TAG=${RWSPLIT_LOCAL_MYSQL_IMAGE:-rwsplit/mysql:9.7}
MARIADB_TAG=${RWSPLIT_LOCAL_MARIADB_IMAGE:-rwsplit/mariadb:10.11}
WORK=${RWSPLIT_IMAGE_WORKDIR:-/var/tmp/rwsplit-images}

# mirror prints the first Debian archive URI this machine's apt is set up with
# (deb822 .sources files or one-line .list files), skipping security archives.
mirror() {
  local uri
  uri=$( { cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk 'tolower($1)=="uris:" {for (i=2;i<=NF;i++) print $i}';
           cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '$1=="deb" {for (i=2;i<=NF;i++) if ($i ~ /:\/\//) {print $i; break}}'; } |
         grep -v -- '-security' | head -n 1)
  if [ -z "$uri" ]; then
    log "no Debian archive found in /etc/apt/sources.list{,.d}; set RWSPLIT_DEBIAN_MIRROR"
    return 1
  fi
  echo "$uri"
}

build() { # build NAME SUITE PACKAGE TAG
  local name=$1 suite=$2 pkg=$3 tag=$4
  if docker image inspect "$tag" >/dev/null 2>&1; then
    log "$tag exists"
    return 0
  fi
  local m=${RWSPLIT_DEBIAN_MIRROR:-$(mirror)}
  local root="$WORK/$name"
  local start=$SECONDS
  log "building $tag: debootstrap $suite + $pkg (log: $WORK/$name.log)"
  rm -rf "$root"; mkdir -p "$root"
  {
    # Sid's Release may be signed by a key newer than this machine's keyring;
    # fall back to an unchecked bootstrap only for sid when verification fails.
    debootstrap --variant=minbase "$suite" "$root" "$m" ||
      { [ "$suite" = sid ] && rm -rf "$root" && mkdir -p "$root" &&
        debootstrap --no-check-gpg --variant=minbase "$suite" "$root" "$m"; }
    # Never start services inside the chroot while installing.
    printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
    chmod +x "$root/usr/sbin/policy-rc.d"
    chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$pkg" ||
      { sleep 2; chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$pkg"; }
    chroot "$root" apt-get clean
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/lib/mysql/* "$root/usr/sbin/policy-rc.d"
    tar -C "$root" -c . | docker import - "$tag"
    rm -rf "$root"
  } >"$WORK/$name.log" 2>&1 || { log "building $tag failed; last lines of $WORK/$name.log:"; tail -n 30 "$WORK/$name.log" >&2; return 1; }
  log "built $tag in $((SECONDS - start)) s"
}

mkdir -p "$WORK"
which=("$@")
if [ ${#which[@]} -eq 0 ]; then
  # Build only the images the test kit will use: an image chosen through
  # RWSPLIT_MYSQL_IMAGE / RWSPLIT_MARIADB_IMAGE is the user's to provide.
  [ "${RWSPLIT_MYSQL_IMAGE:-$MYSQL_TAG}" = "$MYSQL_TAG" ] && which+=(mysql)
  [ "${RWSPLIT_MARIADB_IMAGE:-$MARIADB_TAG}" = "$MARIADB_TAG" ] && which+=(mariadb)
fi
pids=()
for w in "${which[@]}"; do
  case "$w" in
    mysql)   build mysql sid mysql-server "$MYSQL_TAG" & pids+=($!) ;;
    mariadb) build mariadb bookworm mariadb-server "$MARIADB_TAG" & pids+=($!) ;;
    *) log "unknown image '$w' (want mysql or mariadb)"; exit 2 ;;
  esac
done
rc=0
for p in "${pids[@]}"; do wait "$p" || rc=1; done
exit $rc
