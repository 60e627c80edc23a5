#!/usr/bin/env bash
# Private MariaDB server for the demo and the tests: scripts/mariadb.sh start|stop|restart|status DIR PORT
# Binds 127.0.0.1 only, row-based binlog with full metadata; root has no password, and a `binlake`
# user (password in DIR/password, 0600) has the replication privileges binlake needs.
# MARIADB_EXTRA_ARGS adds server options (the TLS test uses it).
set -euo pipefail
cmd=${1:?usage: mariadb.sh start|stop|restart|status DIR PORT}
dir=${2:?DIR}
port=${3:-3317}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
data="$dir/data"
pidf="$dir/mariadb.pid"
sock="$dir/mariadb.sock"

find_bin() { command -v "$1" 2>/dev/null || { [ -x "/usr/sbin/$1" ] && echo "/usr/sbin/$1"; } || true; }
MARIADBD=$(find_bin mariadbd)
[ -n "$MARIADBD" ] || { echo "mariadb.sh: mariadbd not found; run scripts/install-deps.sh" >&2; exit 1; }

running() { [ -f "$pidf" ] && kill -0 "$(cat "$pidf")" 2>/dev/null; }

start() {
  if running; then echo "mariadb already running on 127.0.0.1:$port (pid $(cat "$pidf"))"; return 0; fi
  # Each server has its own tmpdir: bootstraps running side by side in a shared /tmp can trip
  # over each other's temporary tables. The system tables are made in a scratch folder that
  # becomes the datadir only when the install succeeded, so a failed one is redone next time.
  mkdir -p "$dir/tmp"
  if [ ! -d "$data/mysql" ]; then
    rm -rf "$data" "$data.installing"
    mkdir -p "$data.installing"
    if ! mariadb-install-db --no-defaults --datadir="$data.installing" --tmpdir="$dir/tmp" \
      --auth-root-authentication-method=normal --skip-test-db --user="$(id -un)" \
      >"$dir/install.log" 2>&1; then
      rm -rf "$data.installing"
      echo "mariadb.sh: mariadb-install-db failed, see $dir/install.log" >&2
      exit 1
    fi
    mv "$data.installing" "$data"
    rm -f "$dir/password"
  fi
  "$MARIADBD" --no-defaults --user="$(id -un)" --datadir="$data" --port="$port" \
    --bind-address=127.0.0.1 --socket="$sock" --pid-file="$pidf" --log-error="$dir/error.log" --tmpdir="$dir/tmp" \
    --log-bin="$data/binlog" --binlog-format=ROW --binlog-row-image=FULL --binlog-row-metadata=FULL \
    --server-id=1 --skip-name-resolve --max-allowed-packet=1G --innodb-buffer-pool-size=256M \
    --innodb-log-file-size=512M --max-binlog-size=1G --character-set-server=utf8mb4 \
    --collation-server=utf8mb4_general_ci ${MARIADB_EXTRA_ARGS:-} >/dev/null 2>&1 &
  # A loaded machine (two cores running the sanitizer build) can take well over 30 s to start one.
  ready=0
  for _ in $(seq 1 1800); do
    if mariadb --no-defaults -uroot -S "$sock" -e 'select 1' >/dev/null 2>&1; then ready=1; break; fi
    if ! kill -0 $! 2>/dev/null; then echo "mariadb.sh: mariadbd exited, see $dir/error.log" >&2; tail -5 "$dir/error.log" >&2; exit 1; fi
    sleep 0.1
  done
  [ "$ready" = 1 ] || { echo "mariadb.sh: mariadbd on port $port not ready after 180 s, see $dir/error.log" >&2; exit 1; }
  # The user is (re)made until its password file exists, so a start interrupted after the server
  # came up (or one that timed out) is mended by the next start rather than leaving no user.
  if [ ! -s "$dir/password" ]; then
    umask 077
    head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$dir/password.tmp"
    pw=$(cat "$dir/password.tmp")
    mariadb --no-defaults -uroot -S "$sock" <<SQL
CREATE OR REPLACE USER 'binlake'@'%' IDENTIFIED BY '$pw';
CREATE OR REPLACE USER 'binlake'@'localhost' IDENTIFIED BY '$pw';
GRANT ALL PRIVILEGES ON *.* TO 'binlake'@'%' WITH GRANT OPTION;
GRANT ALL PRIVILEGES ON *.* TO 'binlake'@'localhost' WITH GRANT OPTION;
SQL
    mv "$dir/password.tmp" "$dir/password"
  fi
  echo "mariadb running on 127.0.0.1:$port (datadir $data)"
}

stop() {
  if running; then
    pid=$(cat "$pidf")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidf"
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  restart) stop; start ;;
  status) if running; then echo running; else echo stopped; exit 1; fi ;;
  *) echo "usage: mariadb.sh start|stop|restart|status DIR PORT" >&2; exit 2 ;;
esac
