#!/usr/bin/env bash
# build-images.sh builds the local server images the test kit uses, only when
# they are absent:
#
#   mysql       rwsplit/mysql:9.7      Debian sid's mysql-server (Oracle MySQL 9.7)
#   mariadb     rwsplit/mariadb:10.11  Debian bookworm's mariadb-server
#   mariadb118  rwsplit/mariadb:11.8   Debian trixie's mariadb-server
#
# Each is a debootstrap --variant=minbase root with the server package
# installed, imported with `docker import`. No image registry is contacted.
# The Debian mirror is read from this machine's apt sources at run time
# (RWSPLIT_DEBIAN_MIRROR overrides it).
#
# Usage: build-images.sh [mysql|mariadb|mariadb118]...
#
# Without arguments it builds, in parallel, every local image the test kit is
# set to use: the defaults, or a local tag above named by RWSPLIT_MYSQL_IMAGE,
# RWSPLIT_MARIADB_IMAGE or RWSPLIT_MARIADB118_IMAGE. Any other image chosen
# through those variables is the user's to provide. It exits non-zero, with the
# end of the build log, when any build fails.
set -euo pipefail

log() { echo "build-images: $*" >&2; }

MYSQL_TAG=${RWSPLIT_LOCAL_MYSQL_IMAGE:-rwsplit/mysql:9.7}
MARIADB_TAG=${RWSPLIT_LOCAL_MARIADB_IMAGE:-rwsplit/mariadb:10.11}
MARIADB118_TAG=${RWSPLIT_LOCAL_MARIADB118_IMAGE:-rwsplit/mariadb:11.8}
WORK=${RWSPLIT_IMAGE_WORKDIR:-/var/tmp/rwsplit-images}

# spec NAME prints "SUITE PACKAGE TAG SERVER CLIENT" for an image name: the
# Debian suite and package, the image tag, and the server and client programs
# the image must hold (the kit's start.sh runs them).
spec() {
  case "$1" in
    mysql)      echo "sid mysql-server $MYSQL_TAG mysqld mysql" ;;
    mariadb)    echo "bookworm mariadb-server $MARIADB_TAG mariadbd mariadb" ;;
    mariadb118) echo "trixie mariadb-server $MARIADB118_TAG mariadbd mariadb" ;;
    *) return 1 ;;
  esac
}
NAMES="mysql mariadb mariadb118"

# mirror prints the first Debian archive URI this machine's apt is set up with
# (deb822 .sources files or one-line .list files), skipping security archives.
mirror() {
  local uri
  uri=$( { cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk 'tolower($1)=="uris:" {for (i=2;i<=NF;i++) print $i}';
           cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk '$1=="deb" {for (i=2;i<=NF;i++) if ($i ~ /:\/\//) {print $i; break}}'; } |
         grep -v -- '-security' | head -n 1) || true
  if [ -z "$uri" ]; then
    log "no Debian archive found in /etc/apt/sources.list{,.d}; set RWSPLIT_DEBIAN_MIRROR"
    return 1
  fi
  echo "$uri"
}

# steps builds image NAME into ROOT and imports it. It runs in a subshell with
# set -e in force (build calls it outside any if / || context, where bash
# would silently ignore set -e), so any failing step fails the build.
steps() { # steps NAME ROOT MIRROR SUITE PACKAGE TAG SERVER CLIENT
  local name=$1 root=$2 m=$3 suite=$4 pkg=$5 tag=$6 server=$7 client=$8
  rm -rf "$root"; mkdir -p "$root"
  # Sid's Release may be signed by a key newer than this machine's keyring;
  # fall back to an unchecked bootstrap only for sid when verification fails.
  if ! debootstrap --variant=minbase "$suite" "$root" "$m"; then
    [ "$suite" = sid ] || { echo "debootstrap $suite failed"; return 1; }
    echo "debootstrap $suite failed; retrying without signature checks (sid only)"
    rm -rf "$root"; mkdir -p "$root"
    debootstrap --no-check-gpg --variant=minbase "$suite" "$root" "$m"
  fi
  # Never start services inside the chroot while installing.
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
  chmod +x "$root/usr/sbin/policy-rc.d"
  apt_install() { chroot "$root" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$pkg"; }
  if ! apt_install && ! { echo "apt-get install failed; once more in 2 s"; sleep 2; apt_install; }; then
    # Sid's mysql-server postinst fails inside a chroot (DESIGN.md): its
    # binaries are installed all the same, and each container initialises its
    # own data directory. Accept that failure for sid only; the program check
    # below still has to pass.
    [ "$suite" = sid ] || { echo "apt-get install $pkg failed"; return 1; }
    echo "apt-get install $pkg failed on sid (known postinst failure in a chroot); checking its programs"
  fi
  local p
  for p in "$server" "$client"; do
    chroot "$root" sh -c "command -v $p" >/dev/null || { echo "$p is missing from the $suite root"; return 1; }
  done
  chroot "$root" apt-get clean
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/lib/mysql/* "$root/usr/sbin/policy-rc.d"
  tar -C "$root" -c . | docker import - "$tag"
  rm -rf "$root"
}

build() { # build NAME
  local name=$1 suite pkg tag server client
  read -r suite pkg tag server client <<<"$(spec "$name")"
  # One build per image at a time on this machine: a second `make images`
  # waits for the first, then finds the image there.
  local lock
  exec {lock}>"$WORK/$name.lock"
  if ! flock -n "$lock"; then
    log "$tag: another build is under way; waiting for it"
    flock "$lock"
  fi
  if docker image inspect "$tag" >/dev/null 2>&1; then
    log "$tag exists"
    return 0
  fi
  local m
  m=${RWSPLIT_DEBIAN_MIRROR:-$(mirror)}
  local start=$SECONDS rc=0
  log "building $tag: debootstrap $suite + $pkg (log: $WORK/$name.log)"
  set +e
  ( set -e; steps "$name" "$WORK/$name" "$m" "$suite" "$pkg" "$tag" "$server" "$client" ) >"$WORK/$name.log" 2>&1
  rc=$?
  set -e
  if [ $rc -ne 0 ]; then
    log "building $tag FAILED (exit $rc); last lines of $WORK/$name.log:"
    tail -n 30 "$WORK/$name.log" >&2
    return 1
  fi
  docker image inspect "$tag" >/dev/null 2>&1 || { log "building $tag FAILED: no image after import"; return 1; }
  log "built $tag in $((SECONDS - start)) s"
}

mkdir -p "$WORK"
which=("$@")
if [ ${#which[@]} -eq 0 ]; then
  # Build the local images the test kit will use: each default, unless its
  # variable names another image, and any local tag a variable names.
  want=" ${RWSPLIT_MYSQL_IMAGE:-$MYSQL_TAG} ${RWSPLIT_MARIADB_IMAGE:-$MARIADB_TAG} ${RWSPLIT_MARIADB118_IMAGE:-$MARIADB118_TAG} "
  for n in $NAMES; do
    read -r _ _ tag _ <<<"$(spec "$n")"
    case "$want" in *" $tag "*) which+=("$n") ;; esac
  done
fi
for w in "${which[@]}"; do
  spec "$w" >/dev/null || { log "unknown image '$w' (want one of: $NAMES)"; exit 2; }
done
pids=() names=()
for w in "${which[@]}"; do
  build "$w" & pids+=($!) names+=("$w")
done
rc=0 failed=()
for i in "${!pids[@]}"; do wait "${pids[$i]}" || { rc=1; failed+=("${names[$i]}"); }; done
if [ $rc -ne 0 ]; then
  log "FAILED: ${failed[*]} (see the logs above)"
fi
exit $rc
