#!/usr/bin/env python3
"""Capture benchmarks, each next to its peer in the same run.

usage: capture_bench.py BINLAKE MARIADB_DIR PORT [ROWS] [SECONDS]

1. Full load: a ROWS-row (default 5M) 8-column table, `binlake capture --migration-type full-load`
   next to `SELECT ... INTO OUTFILE` of the same table (the server's own export limit); ratio.
2. Latency: `binlake capture` (cdc, flush interval 1 s) while a writer commits ~400 single-row
   transactions per second for SECONDS (default 20); for each row, the time from its COMMIT
   returning to its change file appearing in staging (polled every 5 ms): p50 / p99 / max.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import pymysql

BINLAKE, DIR, PORT = sys.argv[1], sys.argv[2], int(sys.argv[3])
ROWS = int(sys.argv[4]) if len(sys.argv) > 4 else 5_000_000
SECONDS = int(sys.argv[5]) if len(sys.argv) > 5 else 20
SOCK = os.path.join(DIR, "mariadb.sock")


def conn(db=None, autocommit=True):
    return pymysql.connect(unix_socket=SOCK, user="root", database=db, autocommit=autocommit)


def config(path, staging, include, interval_ms=1000):
    with open(path, "w") as f:
        f.write(f"""[source]
port = {PORT}
user = "binlake"
password_file = "{DIR}/password"
server_id = 6100
heartbeat_ms = 100

[capture]
staging = "{staging}"
include = {json.dumps(include)}
min_retention_hours = 0

[capture.flush]
interval_ms = {interval_ms}
""")


def full_load(tmp):
    c = conn()
    cur = c.cursor()
    cur.execute("DROP DATABASE IF EXISTS benchload")
    cur.execute("CREATE DATABASE benchload")
    cur.execute("CREATE TABLE benchload.t8 (id BIGINT PRIMARY KEY, a INT, b BIGINT UNSIGNED, "
                "c VARCHAR(32), d DOUBLE, e DECIMAL(12,2), f DATETIME(6), g VARCHAR(64))")
    print(f"bench: writing {ROWS:,} rows...", file=sys.stderr)
    step = 500_000
    for lo in range(1, ROWS + 1, step):
        hi = min(ROWS, lo + step - 1)
        cur.execute(f"INSERT INTO benchload.t8 SELECT seq, seq % 100000, seq * 7, "
                    f"CONCAT('name-', seq), seq / 3, seq / 100, "
                    f"'2024-01-01 00:00:00' + INTERVAL seq SECOND, REPEAT('x', seq % 40) "
                    f"FROM mysql.seq_{lo}_to_{hi}")
    out = os.path.join(tmp, "outfile.csv")
    best_outfile = None
    for _ in range(2):
        if os.path.exists(out):
            os.remove(out)
        t0 = time.perf_counter()
        cur.execute(f"SELECT * INTO OUTFILE '{out}' FIELDS TERMINATED BY ',' "
                    f"OPTIONALLY ENCLOSED BY '\"' LINES TERMINATED BY '\\n' FROM benchload.t8")
        t = time.perf_counter() - t0
        best_outfile = t if best_outfile is None else min(best_outfile, t)
    best_binlake = None
    for i in range(2):
        staging = os.path.join(tmp, f"load{i}")
        cfg = os.path.join(tmp, f"load{i}.toml")
        config(cfg, staging, ["benchload.*"])
        t0 = time.perf_counter()
        p = subprocess.run([BINLAKE, "capture", "--config", cfg, "--migration-type", "full-load",
                            "--skip-preflight"], stderr=subprocess.PIPE)
        t = time.perf_counter() - t0
        if p.returncode:
            sys.exit("bench: binlake full load failed: " + p.stderr.decode()[-500:])
        best_binlake = t if best_binlake is None else min(best_binlake, t)
        shutil.rmtree(staging)
    cur.execute("DROP DATABASE benchload")
    print(f"full load, {ROWS:,} rows x 8 columns:")
    print(f"  SELECT ... INTO OUTFILE: {best_outfile:.2f} s ({ROWS / best_outfile:,.0f} rows/s)")
    print(f"  binlake full load:       {best_binlake:.2f} s ({ROWS / best_binlake:,.0f} rows/s)")
    print(f"  ratio binlake / INTO OUTFILE: {best_binlake / best_outfile:.2f}x (target <= 1.5x)")


def latency(tmp):
    c = conn()
    cur = c.cursor()
    cur.execute("DROP DATABASE IF EXISTS benchlat")
    cur.execute("CREATE DATABASE benchlat")
    cur.execute("CREATE TABLE benchlat.t (id BIGINT PRIMARY KEY, v VARCHAR(40))")
    staging = os.path.join(tmp, "lat")
    cfg = os.path.join(tmp, "lat.toml")
    config(cfg, staging, ["benchlat.*"], interval_ms=1000)
    proc = subprocess.Popen([BINLAKE, "capture", "--config", cfg, "--migration-type", "cdc",
                             "--skip-preflight"], stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    committed = {}
    seen = {}
    stop = threading.Event()

    def watch():
        d = os.path.join(staging, "benchlat", "t")
        known = set()
        while not stop.is_set():
            try:
                names = [n for n in os.listdir(d) if n.endswith(".csv") and not n.startswith(".")]
            except OSError:
                names = []
            now = time.time()
            for n in names:
                if n in known:
                    continue
                known.add(n)
                with open(os.path.join(d, n)) as f:
                    for line in f:
                        seen.setdefault(int(line.split(",")[1]), now)
            time.sleep(0.005)

    w = threading.Thread(target=watch, daemon=True)
    w.start()
    wc = conn("benchlat")
    wcur = wc.cursor()
    end = time.time() + SECONDS
    i = 0
    while time.time() < end:
        i += 1
        wcur.execute("INSERT INTO t VALUES (%s, %s)", (i, "x" * 20))
        committed[i] = time.time()
        time.sleep(0.0025)
    deadline = time.time() + 5
    while len(seen) < len(committed) and time.time() < deadline:
        time.sleep(0.05)
    stop.set()
    w.join()
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=20)
    lat = sorted(seen[k] - committed[k] for k in committed if k in seen)
    missing = len(committed) - len(lat)
    cur.execute("DROP DATABASE benchlat")
    if not lat:
        sys.exit("bench: no change was staged")
    p = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))]  # noqa: E731
    print(f"commit-to-staged latency, {len(committed):,} transactions over {SECONDS} s, flush "
          f"interval 1 s:")
    print(f"  p50 {p(0.5) * 1000:.0f} ms, p99 {p(0.99) * 1000:.0f} ms, max {lat[-1] * 1000:.0f} ms"
          f" (target p99 <= 1000 ms); not staged: {missing}")


def main():
    tmp = tempfile.mkdtemp(prefix="binlake-capture-bench-")
    os.chmod(tmp, 0o777)
    full_load(tmp)
    latency(tmp)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
