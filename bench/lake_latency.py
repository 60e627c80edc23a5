#!/usr/bin/env python3
"""Commit-to-lake latency of `binlake run` under a sustained write load (target: p50 <= 1 s,
p99 <= 3 s).

usage: lake_latency.py BINLAKE MARIADB_DIR PORT [--quick] [--seconds S] [--rates R,R]
                       [--intervals MS,MS] [--initial-rows N]

For each flush interval (default: 1000 ms, the default, and 500 ms) and each rate (default: 1,000
and 5,000 rows/s): a table (empty, or N rows loaded first), `binlake run` (16 buckets), and a writer
that commits transactions of 5 (10 above 2,000 rows/s) inserted rows at that fixed rate for S
seconds (default 30), each row carrying its id; a row's commit time is taken right after COMMIT
returns. A watcher process follows the table's Delta log (polled every 2 ms): when
`_delta_log/<version>.json` appears it reads the id column of the Parquet files that version adds,
and the ids it sees for the first time became visible then. A second watcher notes when each id's
change file appeared in staging, which splits the latency into capture (commit -> staged) and
apply (staged -> lake).

No peer runs here: no other tool installable on this machine turns a MySQL binlog into Delta tables
(the seed's Glue/Spark job is not), so the figures are printed as ratios to the target.
--quick: 1,000 rows/s for 10 s at the default interval only.
"""
import argparse
import json
import multiprocessing
import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pymysql

TARGET_P50, TARGET_P99 = 1.0, 3.0


def conn(sock, db=None):
    return pymysql.connect(unix_socket=sock, user="root", database=db, autocommit=True)


def write_config(path, port, mariadb_dir, staging, lake, interval_ms):
    with open(path, "w") as f:
        f.write(f"""[source]
port = {port}
user = "binlake"
password_file = "{mariadb_dir}/password"
server_id = 6200

[capture]
staging = "{staging}"
include = ["benchlake.*"]
min_retention_hours = 0

[capture.flush]
interval_ms = {interval_ms}

[lake]
path = "{lake}"
""")


def full_load_done(staging):
    try:
        with open(os.path.join(staging, "_binlake", "checkpoint.json")) as f:
            return json.load(f).get("full_load_done", False)
    except (OSError, ValueError):
        return False


def watch_lake(table_dir, stop, count, out):
    """Follows `<table>/_delta_log/`: when version N appears, the ids in the files it adds that were
    not seen before became visible then. Runs in its own process (no GIL shared with the writer)."""
    log = os.path.join(table_dir, "_delta_log")
    seen, version, newest = {}, 0, 0
    while not stop.is_set():
        try:
            with open(os.path.join(log, "%020d.json" % version)) as f:
                text = f.read()
        except OSError:
            time.sleep(0.002)
            continue
        now = time.time()
        for line in text.splitlines():
            add = json.loads(line).get("add")
            if add:
                # Rewritten buckets carry old rows too: one writer commits ids in increasing
                # order, so only ids above the newest one seen are new (preloaded ids are < 1).
                ids = pq.read_table(os.path.join(table_dir, add["path"]), columns=["id"])["id"]
                for i in pc.filter(ids, pc.greater(ids, newest)).to_pylist():
                    seen.setdefault(i, now)
        newest = max(seen, default=0)
        version += 1
        count.value = len(seen)
    with open(out, "wb") as f:
        pickle.dump((seen, version), f)


def watch_staging(table_dir, stop, out):
    """When each id's change file appeared in staging (polled every 2 ms), in its own process."""
    seen, known = {}, set()
    while not stop.is_set():
        try:
            names = [n for n in os.listdir(table_dir)
                     if n.endswith(".csv") and not n.startswith(".") and n not in known]
        except OSError:
            names = []
        now = time.time()
        for n in sorted(names):
            known.add(n)
            with open(os.path.join(table_dir, n)) as f:
                for line in f:
                    if line.startswith("I,"):
                        seen.setdefault(int(line.split(",", 2)[1]), now)
        time.sleep(0.002)
    with open(out, "wb") as f:
        pickle.dump(seen, f)


def pct(sorted_values, q):
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def run_one(args, tmp, sock, rate, interval_ms, seconds):
    admin = conn(sock)
    cur = admin.cursor()
    cur.execute("DROP DATABASE IF EXISTS benchlake")
    cur.execute("CREATE DATABASE benchlake")
    cur.execute("CREATE TABLE benchlake.t (id BIGINT PRIMARY KEY, account INT, amount "
                "DECIMAL(12,2), note VARCHAR(40), at DATETIME(6))")
    for lo in range(1, args.initial_rows + 1, 500_000):  # ids -1, -2, ...: the full load
        hi = min(args.initial_rows, lo + 499_999)
        cur.execute(f"INSERT INTO benchlake.t SELECT -seq, seq % 997, seq % 100000 + 0.25, "
                    f"CONCAT('old-', seq), NOW(6) FROM mysql.seq_{lo}_to_{hi}")
    work = os.path.join(tmp, f"r{rate}-i{interval_ms}")
    staging, lake = os.path.join(work, "staging"), os.path.join(work, "lake")
    os.makedirs(work)
    cfg = os.path.join(work, "run.toml")
    write_config(cfg, args.port, args.mariadb_dir, staging, lake, interval_ms)
    log = open(os.path.join(work, "run.log"), "w")
    proc = subprocess.Popen([args.binlake, "run", "--config", cfg], stderr=log)
    table_dir = os.path.join(lake, "benchlake", "t")
    deadline = time.time() + 60
    while not full_load_done(staging):  # an empty table has no LOAD file: wait for the stream
        if time.time() > deadline + args.initial_rows / 50_000 or proc.poll() is not None:
            sys.exit(f"bench: the capture did not start (see {work}/run.log)")
        time.sleep(0.05)
    while args.initial_rows and not os.path.exists(os.path.join(table_dir, "_delta_log",
                                                                "%020d.json" % 0)):
        if proc.poll() is not None:
            sys.exit(f"bench: binlake run stopped (see {work}/run.log)")
        time.sleep(0.05)
    stop, count = multiprocessing.Event(), multiprocessing.Value("q", 0)
    lake_out, staging_out = os.path.join(work, "lake.pickle"), os.path.join(work, "staging.pickle")
    lw = multiprocessing.Process(target=watch_lake, args=(table_dir, stop, count, lake_out))
    sw = multiprocessing.Process(target=watch_staging,
                                 args=(os.path.join(staging, "benchlake", "t"), stop, staging_out))
    lw.start()
    sw.start()

    rows_per_txn = 5 if rate <= 2000 else 10
    txn_rate = rate / rows_per_txn
    w = conn(sock, "benchlake")
    wcur = w.cursor()
    committed = {}
    next_id = 1
    start = time.time()
    end = start + seconds
    k = 0
    while True:
        due = start + k / txn_rate
        now = time.time()
        if due >= end:
            break
        if due > now:
            time.sleep(due - now)
        ids = range(next_id, next_id + rows_per_txn)
        next_id += rows_per_txn
        values = ", ".join(f"({i}, {i % 997}, {i % 100000}.25, 'note-{i}', NOW(6))" for i in ids)
        wcur.execute("BEGIN")
        wcur.execute(f"INSERT INTO t VALUES {values}")
        wcur.execute("COMMIT")
        t = time.time()
        for i in ids:
            committed[i] = t
        k += 1
    wrote = time.time() - start
    deadline = time.time() + 30
    while count.value < len(committed) and time.time() < deadline:
        time.sleep(0.05)
    stop.set()
    lw.join()
    sw.join()
    with open(lake_out, "rb") as f:
        lake_seen, versions = pickle.load(f)
    with open(staging_out, "rb") as f:
        staged = pickle.load(f)
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    log.close()
    lat = sorted(lake_seen[i] - committed[i] for i in committed if i in lake_seen)
    cap = sorted(staged[i] - committed[i] for i in committed if i in staged)
    app = sorted(lake_seen[i] - staged[i] for i in committed if i in lake_seen and i in staged)
    missing = len(committed) - len(lat)
    cur.execute("DROP DATABASE benchlake")
    if not lat:
        sys.exit(f"bench: no row reached the lake (see {work}/run.log)")
    shutil.rmtree(work, ignore_errors=True)
    return {
        "rate": rate, "interval_ms": interval_ms, "rows": len(committed),
        "rows_per_txn": rows_per_txn, "achieved": len(committed) / wrote,
        "p50": pct(lat, 0.5), "p99": pct(lat, 0.99), "max": lat[-1],
        "cap_p50": pct(cap, 0.5) if cap else float("nan"),
        "cap_p99": pct(cap, 0.99) if cap else float("nan"),
        "app_p50": pct(app, 0.5) if app else float("nan"),
        "app_p99": pct(app, 0.99) if app else float("nan"),
        "versions": versions, "missing": missing,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("binlake")
    ap.add_argument("mariadb_dir")
    ap.add_argument("port", type=int)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--rates", default="1000,5000")
    ap.add_argument("--intervals", default="1000,500")
    ap.add_argument("--initial-rows", type=int, default=0,
                    help="rows in the table before binlake starts (the full load)")
    args = ap.parse_args()
    if args.quick:
        args.seconds, args.rates, args.intervals = 10, "1000", "1000"
    sock = os.path.join(args.mariadb_dir, "mariadb.sock")
    os.chmod(os.path.join(args.mariadb_dir, "password"), 0o600)
    tmp = tempfile.mkdtemp(prefix="binlake-lake-latency-")
    results = []
    for interval in (int(x) for x in args.intervals.split(",")):
        for rate in (int(x) for x in args.rates.split(",")):
            print(f"bench: {rate:,} rows/s for {args.seconds:g} s, flush interval {interval} ms...",
                  file=sys.stderr)
            results.append(run_one(args, tmp, sock, rate, interval, args.seconds))
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"commit-to-lake latency (binlake run, 16 buckets, insert transactions, "
          f"{args.seconds:g} s each, {args.initial_rows:,} rows before the load; "
          f"no peer in this run: ratios are to the target "
          f"p50 {TARGET_P50:g} s, p99 {TARGET_P99:g} s):")
    for r in results:
        print(f"  interval {r['interval_ms']:>4} ms, target {r['rate']:>5,} rows/s: achieved "
              f"{r['achieved']:,.0f} rows/s ({r['rows']:,} rows, {r['rows_per_txn']} per "
              f"transaction, {r['versions']} lake versions); p50 {r['p50'] * 1000:.0f} ms "
              f"({r['p50'] / TARGET_P50:.2f}x target), p99 {r['p99'] * 1000:.0f} ms "
              f"({r['p99'] / TARGET_P99:.2f}x target), max {r['max'] * 1000:.0f} ms; "
              f"commit->staged p50/p99 {r['cap_p50'] * 1000:.0f}/{r['cap_p99'] * 1000:.0f} ms, "
              f"staged->lake p50/p99 {r['app_p50'] * 1000:.0f}/{r['app_p99'] * 1000:.0f} ms; "
              f"not visible: {r['missing']}")
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
