#!/usr/bin/env bash
# `make demo`: the seed's pipeline end to end on a laptop. A private MariaDB under .binlake/ with a
# sample shop dataset, `binlake run` (full load, then the binlog -> staging change files -> Delta
# Lake tables), a burst of changes the lake follows live, and `binlake verify` against the source.
set -euo pipefail
cd "$(dirname "$0")/.."
BINLAKE=${1:-build/binlake}
DIR=$PWD/.binlake/mariadb
PORT=${BINLAKE_DEMO_PORT:-3316}
STAGING=$PWD/.binlake/staging
LAKE=$PWD/.binlake/lake
TABLES=(shop/customers shop/products shop/orders shop/page_views)
scripts/mariadb.sh start "$DIR" "$PORT"
chmod 600 "$DIR/password"
sql() { mariadb --no-defaults -uroot -S "$DIR/mariadb.sock" "$@"; }
CONF=.binlake/demo.toml
cat >"$CONF" <<TOML
# Written by scripts/demo.sh: the demo's private MariaDB, staging and lake folders. Keys: docs/config.md
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

[lake]
path = "$LAKE"
TOML
echo "demo: 1. the sample dataset (scripts/sql/demo_dataset.sql): shop.customers, products, orders, page_views"
sql <scripts/sql/demo_dataset.sql
rm -rf "$STAGING" "$LAKE" .binlake/follow.stop
echo "demo: 2. binlake check --config $CONF"
"$BINLAKE" check --config "$CONF" || true
echo "demo: 3. binlake run --config $CONF (full load, then the binlog; its log: .binlake/run.log)"
"$BINLAKE" run --config "$CONF" 2>.binlake/run.log &
RUN=$!
python3 scripts/demo_follow.py "$LAKE" .binlake/follow.stop "${TABLES[@]}" &
FOLLOW=$!
cleanup() {
  kill "$RUN" "$FOLLOW" 2>/dev/null || true
  scripts/mariadb.sh stop "$DIR" "$PORT"
}
trap cleanup EXIT
for t in "${TABLES[@]}"; do
  for _ in $(seq 1 600); do
    [ -e "$LAKE/$t/_delta_log/00000000000000000000.json" ] && break
    kill -0 "$RUN" 2>/dev/null || { cat .binlake/run.log; exit 1; }
    sleep 0.1
  done
done
echo "demo: 4. a burst of changes (scripts/sql/demo_changes.sql), one step a second; the lake follows:"
awk -v dir=.binlake '/^-- step:/ { n++; f = sprintf("%s/step%d.sql", dir, n);
                                   print "SET NAMES utf8mb4; USE shop;" > f; next }
                     n > 0 { print >> f }' scripts/sql/demo_changes.sql
for f in .binlake/step*.sql; do
  sql <"$f"
  rm -f "$f"
  sleep 1
done
# Wait until the lake has caught up with the source, then stop the pipeline as an operator would.
"$BINLAKE" verify --config "$CONF" --wait-ms 30000 >/dev/null || true
touch .binlake/follow.stop
wait "$FOLLOW" || true
kill -INT "$RUN"
wait "$RUN"
echo "demo: 5. binlake run stopped on SIGINT ($(tail -n 1 .binlake/run.log | sed 's/^binlake: //'))"
echo "demo: 6. binlake verify --config $CONF (row counts, a checksum over every column, the first differing keys)"
"$BINLAKE" verify --config "$CONF"
echo
echo "demo: the lake tables (Delta Lake: Parquet files + _delta_log/) are under $LAKE:"
for t in "${TABLES[@]}"; do echo "  $LAKE/$t"; done
echo "demo: query one with DuckDB (the Delta log says which Parquet files are current):"
echo "  python3 -c \"import duckdb, deltalake; orders = deltalake.DeltaTable('$LAKE/shop/orders').to_pyarrow_dataset(); print(duckdb.sql('SELECT count(*), sum(total) FROM orders'))\""
echo "demo: resume the pipeline any time with: $BINLAKE run --config $CONF"
