#!/usr/bin/env python3
"""The cost of the status server (docs/operations.md): the same end-to-end workload through
`binlake run` with [ops] off and on, the "on" runs scraped like a Prometheus agent plus an open
dashboard (GET /metrics and /api/status every second), and the ratio printed.

usage: ops_bench.py BINLAKE MARIADB_DIR PORT [--rows N] [--small-txns N] [--rounds R]

Each run: an empty 8-column table, `binlake run` (fresh staging and lake), then the workload: N
rows inserted in 5,000-row transactions, then M single-row UPDATE transactions (the hooks work
once per transaction, so small transactions are their worst case). Measured from the first write
until the lake has everything (the capture checkpoint at SHOW MASTER STATUS and the table's Delta
txn at the newest staged change file): the wall time and the CPU time binlake used (utime + stime
from /proc). Off and on alternate, R rounds each; the medians and their ratio (on/off) are printed.
"""
import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import pymysql
from pymysql.constants import CLIENT

CHANGE = re.compile(r"^\d{8}-\d{9}-(\d{10})\.csv$")
TICKS = os.sysconf("SC_CLK_TCK")


def conn(sock):
    return pymysql.connect(unix_socket=sock, user="root", autocommit=True,
                           client_flag=CLIENT.MULTI_STATEMENTS)


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def master(cur):
    cur.execute("SHOW MASTER STATUS")
    r = cur.fetchone()
    return r[0], int(r[1])


def checkpoint(staging):
    try:
        with open(os.path.join(staging, "_binlake", "checkpoint.json")) as f:
            j = json.load(f)
        return j.get("full_load_done", False), (j["position"]["file"], int(j["position"]["pos"]))
    except (OSError, ValueError, KeyError):
        return False, None


def lake_txn(table_dir):
    """The txn version of the table's newest Delta commit (-1: none yet)."""
    log = os.path.join(table_dir, "_delta_log")
    try:
        versions = sorted(n for n in os.listdir(log) if n.endswith(".json") and n[0].isdigit())
    except OSError:
        return -1
    for name in reversed(versions):
        with open(os.path.join(log, name)) as f:
            for line in f:
                if '"txn"' in line:
                    return int(json.loads(line)["txn"]["version"])
    return -1


def newest_sequence(table_dir):
    seqs = [int(m.group(1)) for m in map(CHANGE.match, os.listdir(table_dir)) if m]
    return max(seqs) if seqs else 0


def run_once(args, sock, ops_on, round_no):
    work = tempfile.mkdtemp(prefix="binlake-ops-bench-")
    staging, lake = os.path.join(work, "staging"), os.path.join(work, "lake")
    c = conn(sock)
    cur = c.cursor()
    cur.execute("DROP DATABASE IF EXISTS benchops")
    cur.execute("CREATE DATABASE benchops")
    cur.execute("CREATE TABLE benchops.t8 (id BIGINT NOT NULL PRIMARY KEY, a INT, b BIGINT "
                "UNSIGNED, c VARCHAR(32), d DOUBLE, e DECIMAL(12,2), f DATETIME(6), g VARCHAR(64))")
    cfg = os.path.join(work, "run.toml")
    with open(cfg, "w") as f:
        f.write(f"""[source]
port = {args.port}
user = "binlake"
password_file = "{args.mariadb_dir}/password"
server_id = {6300 + round_no}

[capture]
staging = "{staging}"
include = ["benchops.*"]
min_retention_hours = 0

[lake]
path = "{lake}"
buckets = 16

[ops]
enabled = {"true" if ops_on else "false"}
listen = "127.0.0.1:0"
""")
    log_path = os.path.join(work, "run.log")
    proc = subprocess.Popen([args.binlake, "--log-format", "json", "run", "--config", cfg],
                            stdout=subprocess.DEVNULL, stderr=open(log_path, "w"))
    try:
        return measure(args, cur, proc, ops_on, staging, lake, log_path, work, c)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def measure(args, cur, proc, ops_on, staging, lake, log_path, work, c):
    deadline = time.time() + 60
    base = None
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"bench: binlake run exited (see {log_path})")
        done, _ = checkpoint(staging)
        if ops_on and base is None:
            m = re.search(r"status on (http://[0-9.:]+)/", open(log_path).read())
            base = m.group(1) if m else None
        if done and os.path.isdir(os.path.join(lake, "benchops", "t8", "_delta_log")) and \
                (base or not ops_on):
            break
        time.sleep(0.05)
    else:
        sys.exit(f"bench: the full load did not finish (see {log_path})")

    stop = threading.Event()
    scrapes = [0]

    def scraper():  # a Prometheus agent and an open dashboard page
        while not stop.wait(1.0):
            for path in ("/metrics", "/api/status"):
                with urllib.request.urlopen(base + path, timeout=5) as r:
                    r.read()
                scrapes[0] += 1

    th = threading.Thread(target=scraper) if ops_on else None
    if th:
        th.start()
    cpu0, t0 = cpu_seconds(proc.pid), time.time()
    batch = 5000
    for lo in range(1, args.rows + 1, batch):
        hi = min(args.rows, lo + batch - 1)
        cur.execute(f"INSERT INTO benchops.t8 SELECT seq, seq % 100000, seq * 7, CONCAT('name-', "
                    f"seq), seq / 3, seq / 100, '2024-01-01 00:00:00' + INTERVAL seq SECOND, "
                    f"REPEAT('x', seq % 40) FROM benchops.seq_{lo}_to_{hi}")
    per_call = 500
    for start in range(0, args.small_txns, per_call):
        stmts = ";".join(f"UPDATE benchops.t8 SET a = a + 1 WHERE id = {(start + k) % args.rows + 1}"
                         for k in range(min(per_call, args.small_txns - start)))
        cur.execute(stmts)
        while cur.nextset():
            pass
    target = master(cur)
    table_dir = os.path.join(staging, "benchops", "t8")
    lake_dir = os.path.join(lake, "benchops", "t8")
    deadline = time.time() + 600
    while time.time() < deadline:
        _, cp = checkpoint(staging)
        if cp is not None and cp >= target and lake_txn(lake_dir) == newest_sequence(table_dir):
            break
        time.sleep(0.02)
    else:
        sys.exit(f"bench: the lake did not catch up (see {log_path})")
    wall, cpu = time.time() - t0, cpu_seconds(proc.pid) - cpu0
    stop.set()
    if th:
        th.join()
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=120)
    cur.execute("DROP DATABASE benchops")
    c.close()
    shutil.rmtree(work, ignore_errors=True)
    return wall, cpu, scrapes[0]


def main():
    p = argparse.ArgumentParser()
    p.add_argument("binlake")
    p.add_argument("mariadb_dir")
    p.add_argument("port", type=int)
    p.add_argument("--rows", type=int, default=200000)
    p.add_argument("--small-txns", type=int, default=20000)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    sock = os.path.join(args.mariadb_dir, "mariadb.sock")
    results = {False: [], True: []}
    for r in range(args.rounds):
        for on in ((False, True) if r % 2 == 0 else (True, False)):
            wall, cpu, scrapes = run_once(args, sock, on, r * 2 + on)
            results[on].append((wall, cpu))
            print(f"ops bench round {r + 1}, dashboard {'on ' if on else 'off'}: {wall:.2f} s wall, "
                  f"{cpu:.2f} s CPU" + (f", {scrapes} scrapes" if on else ""), flush=True)
    med = {on: (statistics.median(w for w, _ in v), statistics.median(c for _, c in v))
           for on, v in results.items()}
    rows = args.rows + args.small_txns
    print(f"ops bench: {args.rows:,} rows in 5,000-row transactions + {args.small_txns:,} single-row "
          f"transactions, median of {args.rounds}:")
    for on in (False, True):
        print(f"  dashboard {'on ' if on else 'off'}: {med[on][0]:.2f} s wall "
              f"({rows / med[on][0]:,.0f} row changes/s), {med[on][1]:.2f} s CPU")
    print(f"  ratio on/off: wall {med[True][0] / med[False][0]:.3f}x, "
          f"CPU {med[True][1] / med[False][1]:.3f}x")


if __name__ == "__main__":
    main()
