#!/usr/bin/env bash
# Benchmarks (docs/benchmarks.md). Decoder: builds a binlog of N 8-column row events on a private MariaDB, then decodes it
# with binlake (from the file, and from the server socket) and with python-mysql-replication (from
# the socket) in the same run, and prints the ratios.   usage: scripts/bench.sh [ROWS] [PEER_ROWS]
# Then the capture (bench/capture_bench.py), the apply next to DuckDB (bench/apply_bench.py) and the
# commit-to-lake latency (bench/lake_latency.py; LAKE_LATENCY_QUICK=1: its quick mode), and the
# staging and lake throughput on a private S3 server vs local disk (bench/s3_bench.py).
# BENCH_ONLY=lake runs only the lake latency, BENCH_ONLY=s3 only the S3 benchmark, BENCH_ONLY=spark
# only binlake's apply vs the Spark job (bench/spark_bench.py), BENCH_ONLY=ops only the end-to-end
# run with the status server off and on (bench/ops_bench.py; OPS_BENCH_ROUNDS, default 3).
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS=${1:-${BENCH_ROWS:-2000000}}
PEER_ROWS=${2:-${BENCH_PEER_ROWS:-200000}}
BUILD=${BUILD:-build}
# S3 vs local disk: S3_BENCH_ROWS rows (default 1M), its own SeaweedFS on S3_BENCH_PORT (9530..9537);
# S3_BENCH_QUICK=1 for a 100,000-row smoke run. Needs no MariaDB.
s3_bench() {
  python3 bench/s3_bench.py "$BUILD/binlake" "$BUILD/staging_gen" "$PWD/$BUILD/s3-bench" ${S3_BENCH_ROWS:+"$S3_BENCH_ROWS"}
}
if [ "${BENCH_ONLY:-}" = s3 ]; then s3_bench; exit; fi
# binlake's apply vs the Spark job (bench/spark_bench.py) on a 10M-row table (SPARK_BENCH_ROWS),
# 1% changed; SPARK_BENCH_QUICK=1 for a 200,000-row smoke run. Needs no MariaDB.
spark_bench() {
  python3 bench/spark_bench.py "$BUILD/binlake" "$BUILD/staging_gen" "$PWD/$BUILD/spark-bench" ${SPARK_BENCH_ROWS:+"$SPARK_BENCH_ROWS"}
}
if [ "${BENCH_ONLY:-}" = spark ]; then spark_bench; exit; fi
DIR=$PWD/$BUILD/bench-mariadb
PORT=${BENCH_PORT:-3319}
scripts/mariadb.sh start "$DIR" "$PORT" >/dev/null
trap 'scripts/mariadb.sh stop "$DIR" "$PORT"' EXIT
sql() { mariadb --no-defaults -uroot -S "$DIR/mariadb.sock" -N -B -D mysql -e "$1"; }
lake_latency() {
  python3 bench/lake_latency.py "$BUILD/binlake" "$DIR" "$PORT" ${LAKE_LATENCY_QUICK:+--quick}
}
if [ "${BENCH_ONLY:-}" = lake ]; then lake_latency; exit; fi
ops_bench() {
  python3 bench/ops_bench.py "$BUILD/binlake" "$DIR" "$PORT" --rounds "${OPS_BENCH_ROUNDS:-3}"
}
if [ "${BENCH_ONLY:-}" = ops ]; then ops_bench; exit; fi

make_binlog() {  # make_binlog ROWS -> prints the binlog file name holding exactly those rows
  local n=$1
  sql "DROP DATABASE IF EXISTS bench; CREATE DATABASE bench; CREATE TABLE bench.t8 (
    id BIGINT NOT NULL PRIMARY KEY, a INT, b BIGINT UNSIGNED, c VARCHAR(32), d DOUBLE,
    e DECIMAL(12,2), f DATETIME(6), g VARCHAR(64)) ENGINE=InnoDB; FLUSH BINARY LOGS;" >/dev/null
  local file
  file=$(sql "SHOW MASTER STATUS" | cut -f1)
  local batch=10000 done=0
  while [ "$done" -lt "$n" ]; do
    local k=$(( n - done < batch ? n - done : batch ))
    sql "INSERT INTO bench.t8 SELECT seq, seq % 100000, seq * 7, CONCAT('name-', seq), seq / 3,
         seq / 100, '2024-01-01 00:00:00' + INTERVAL seq SECOND, REPEAT('x', seq % 40)
         FROM seq_$((done + 1))_to_$((done + k))" >/dev/null
    done=$((done + k))
  done
  sql "FLUSH BINARY LOGS" >/dev/null
  echo "$file"
}

echo "bench: writing a binlog of $ROWS 8-column row events..." >&2
big=$(make_binlog "$ROWS")
size=$(stat -c %s "$DIR/data/$big")
echo "bench: $big, $((size / 1048576)) MiB" >&2
file_json=$($BUILD/decode_bench --repeat 3 "$DIR/data/$big")
echo "binlake (file, 1 core):   $file_json"

# The socket comparison on the same, smaller file for both (the peer is slow).
small=$(make_binlog "$PEER_ROWS")
cat >"$DIR/bench.toml" <<TOML
[source]
host = "127.0.0.1"
port = $PORT
user = "binlake"
password_file = "$DIR/password"
server_id = 77002
TOML
chmod 600 "$DIR/password"
now() { python3 -c "import time; print(time.time())"; }
t0=$(now)
n=$($BUILD/binlake tail --config "$DIR/bench.toml" --from "$small:4" --until-end --output /dev/null --count)
t1=$(now)
sock_secs=$(python3 -c "print($t1 - $t0)")
echo "binlake (socket, JSON out): {\"rows\": $n, \"seconds\": $(printf %.3f "$sock_secs")}"
peer_json=$(python3 bench/pymysqlrepl_peer.py "$PORT" "$DIR/password" "$small")
echo "python-mysql-replication:  $peer_json"

python3 - "$file_json" "$n" "$sock_secs" "$peer_json" <<'PY'
import json, sys
f = json.loads(sys.argv[1]); n = int(sys.argv[2]); s = float(sys.argv[3]); p = json.loads(sys.argv[4])
peer_rate = p["rows"] / p["seconds"]
print(f"binlake file decode: {f['rows_per_second']:,.0f} row events/s (target 1,000,000)")
print(f"binlake socket+JSON: {n / s:,.0f} row events/s")
print(f"python-mysql-replication socket: {peer_rate:,.0f} row events/s")
print(f"ratio binlake/python (socket, same file): {(n / s) / peer_rate:.1f}x")
print(f"ratio binlake file decode/python: {f['rows_per_second'] / peer_rate:.1f}x")
PY

# Capture: full load vs SELECT ... INTO OUTFILE, and commit-to-staged latency.
python3 bench/capture_bench.py "$BUILD/binlake" "$DIR" "$PORT" "${CAPTURE_ROWS:-5000000}" \
  "${LATENCY_SECONDS:-20}"

# Apply: a 10M-row table (APPLY_ROWS) applied by binlake and by DuckDB on the same Parquet data;
# APPLY_BENCH_QUICK=1 for a 200,000-row smoke run. Needs no server.
python3 bench/apply_bench.py "$BUILD/binlake" "$BUILD/staging_gen" "$PWD/$BUILD/apply-bench" ${APPLY_ROWS:+"$APPLY_ROWS"}
# The lake: commit-to-lake latency of `binlake run` under a sustained write load.
lake_latency
# The same pipeline with the status server off and on: its cost as a ratio.
ops_bench
# Staging and lake on S3 vs local disk.
s3_bench
# binlake vs the Spark job on the same staging files and table.
spark_bench
