#!/bin/sh
# rwsplittest start script: copied into every node container and run as its
# entrypoint, so the kit works the same with its own Debian-built images and
# with the official mysql / mariadb images (whose entrypoints it bypasses).
#
# Environment: RWSPLIT_FLAVOR (mysql|mariadb). Arguments: server options, then
# those of /rwsplit/role.args when it exists.
# The first start initialises the data directory, gives a MySQL node a random
# server_uuid, starts the server and runs /rwsplit/bootstrap.sql over the
# socket with binary logging off; every start prints "rwsplit: ready".
set -eu

DATADIR=/var/lib/rwsplit
SOCK=$DATADIR/mysqld.sock

first() { for b in "$@"; do if command -v "$b" >/dev/null 2>&1; then echo "$b"; return 0; fi; done; return 1; }

if [ "${RWSPLIT_FLAVOR:-}" = mariadb ]; then
  SERVER=$(first mariadbd mysqld)
  CLIENT=$(first mariadb mysql)
else
  SERVER=$(first mysqld)
  CLIENT=$(first mysql)
fi

mkdir -p "$DATADIR"
chown mysql:mysql "$DATADIR"

if [ ! -d "$DATADIR/mysql" ]; then
  echo "rwsplit: initialising $DATADIR"
  if [ "${RWSPLIT_FLAVOR:-}" = mariadb ]; then
    INSTALL=$(first mariadb-install-db mysql_install_db)
    "$INSTALL" --no-defaults --user=mysql --datadir="$DATADIR" --skip-test-db \
      --auth-root-authentication-method=socket >/tmp/rwsplit-init.log 2>&1 ||
      { cat /tmp/rwsplit-init.log; exit 1; }
  else
    "$SERVER" --no-defaults --initialize-insecure --user=mysql --datadir="$DATADIR" \
      --log-error=/tmp/rwsplit-init.log || { cat /tmp/rwsplit-init.log; exit 1; }
    # Containers initialised at the same moment can get the same server_uuid,
    # and replication refuses to start between them: pick one at random.
    printf '[auto]\nserver-uuid=%s\n' "$(cat /proc/sys/kernel/random/uuid)" >"$DATADIR/auto.cnf"
    chown mysql:mysql "$DATADIR/auto.cnf"
  fi
fi

# After a promotion the kit writes the node's new role (read-only or not, its
# semi-sync side) to role.args; those options come last, so they win.
if [ -f /rwsplit/role.args ]; then
  # shellcheck disable=SC2046 # one option per word, none with spaces
  set -- "$@" $(cat /rwsplit/role.args)
fi

# A server killed (Node.Kill, or a stop that outlasted its grace) leaves its
# socket lock file, which names its pid; in the restarted container another
# process may have that pid (a client of the loop below), and the server
# then refuses to start ("Another process with pid N is using unix socket
# file"). No server runs here yet: the files are stale.
rm -f "$SOCK" "$SOCK.lock" /var/run/mysqld/mysqlx.sock /var/run/mysqld/mysqlx.sock.lock

"$SERVER" --no-defaults --user=mysql --datadir="$DATADIR" --socket="$SOCK" \
  --pid-file="$DATADIR/mysqld.pid" "$@" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid; exit 0' TERM INT

i=0
until "$CLIENT" --no-defaults -uroot --socket="$SOCK" -e 'SELECT 1' >/dev/null 2>&1; do
  if ! kill -0 "$pid" 2>/dev/null; then echo "rwsplit: server exited during start"; exit 1; fi
  i=$((i + 1))
  if [ $i -gt 1200 ]; then echo "rwsplit: server did not answer in 120 s"; exit 1; fi
  sleep 0.1
done

if [ ! -f "$DATADIR/rwsplit-bootstrapped" ]; then
  "$CLIENT" --no-defaults -uroot --socket="$SOCK" </rwsplit/bootstrap.sql
  touch "$DATADIR/rwsplit-bootstrapped"
fi

echo "rwsplit: ready"
wait $pid
