#!/usr/bin/env bash
# `make demo`: the seed's pipeline up to the staging bucket, on a laptop. A private MariaDB under
# .binlake/ with a sample shop dataset, `binlake capture` doing the full load and following the
# binlog, a burst of changes, then a listing of the staging files and a check against the source.
set -euo pipefail
cd "$(dirname "$0")/.."
BINLAKE=${1:-build/binlake}
DIR=$PWD/.binlake/mariadb
PORT=${BINLAKE_DEMO_PORT:-3316}
STAGING=$PWD/.binlake/staging
scripts/mariadb.sh start "$DIR" "$PORT"
chmod 600 "$DIR/password"
sql() { mariadb --no-defaults -uroot -S "$DIR/mariadb.sock" "$@"; }
CONF=.binlake/demo.toml
cat >"$CONF" <<TOML
# Written by scripts/demo.sh: the demo's private MariaDB and staging folder. Keys: docs/config.md
[source]
host = "127.0.0.1"
port = $PORT
user = "binlake"
password_file = "$DIR/password"
server_id = 4242
heartbeat_ms = 250

[capture]
staging = "$STAGING"
migration_type = "full-load-and-cdc"
include = ["shop.*"]
min_retention_hours = 0

[capture.csv]
timestamp_column = "commit_ts"

[capture.flush]
interval_ms = 500
TOML
echo "demo: loading the sample dataset (scripts/sql/demo_dataset.sql): shop.customers, products, orders, page_views"
sql <scripts/sql/demo_dataset.sql
rm -rf "$STAGING"
echo "demo: binlake check --config $CONF"
"$BINLAKE" check --config "$CONF" || true
echo "demo: binlake capture --config $CONF (full load, then the binlog)"
"$BINLAKE" capture --config "$CONF" &
CAP=$!
trap 'kill $CAP 2>/dev/null || true; scripts/mariadb.sh stop "$DIR" "$PORT"' EXIT
for _ in $(seq 1 600); do
  grep -q '"full_load_done": *true' "$STAGING/_binlake/checkpoint.json" 2>/dev/null && break
  sleep 0.1
done
echo "demo: a burst of changes (scripts/sql/demo_changes.sql)"
sql <scripts/sql/demo_changes.sql
read -r FILE POS _ < <(sql -N -B -e 'SHOW MASTER STATUS')
python3 - "$STAGING" "$FILE" "$POS" <<'PY'
import json, sys, time
root, f, p = sys.argv[1], sys.argv[2], int(sys.argv[3])
for _ in range(300):
    try:
        pos = json.load(open(root + "/_binlake/checkpoint.json")).get("position") or {}
        if (pos.get("file", ""), int(pos.get("pos", 0))) >= (f, p):
            break
    except (OSError, ValueError):
        pass
    time.sleep(0.1)
PY
kill -INT $CAP
wait $CAP
trap 'scripts/mariadb.sh stop "$DIR" "$PORT"' EXIT
python3 scripts/demo_summary.py "$STAGING" "$DIR/mariadb.sock"
