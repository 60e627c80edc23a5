#!/usr/bin/env python3
"""`binlake run` end to end: source -> capture -> staging -> trigger -> apply -> Delta tables,
checked with an independent reader (delta-rs `deltalake`) against the source's SELECT; then the
same staging files into a CSV lake (`binlake trigger` with format = "csv"), read with `csv`.

usage: run_e2e_itest.py BINLAKE
"""
import csv
import datetime
import decimal
import glob
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

from deltalake import DeltaTable

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testing"))
import pipeline  # noqa: E402

BINLAKE = sys.argv[1]
DB = "run_e2e_%d" % os.getpid()
FAILS = []


def check(cond, msg):
    if not cond:
        FAILS.append(msg)
        print("FAIL: " + msg, file=sys.stderr)


def norm(v):
    if isinstance(v, (decimal.Decimal, int)) and not isinstance(v, bool):
        return str(v)
    if isinstance(v, datetime.datetime):
        return v.replace(tzinfo=None).isoformat()
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).hex()
    return v


def source_rows(cur, table, cols):
    cur.execute(f"SELECT {', '.join(cols)} FROM {DB}.{table}")
    return sorted(tuple(norm(v) for v in r) for r in cur.fetchall())


def csv_lake_rows(lake, table, cols):
    """The CSV lake's rows (format = "csv"), as a glob of its bucket files reads them."""
    rows = []
    for path in glob.glob(os.path.join(lake, DB, table, "bucket=*", "*.csv")):
        with open(path, newline="") as f:
            reader = csv.reader(f)
            assert next(reader) == cols, path
            for r in reader:
                vals = []
                for c, v in zip(cols, r):
                    if v == "":
                        vals.append(None)  # no empty strings in this workload: "" is NULL
                    elif c == "at":
                        vals.append(datetime.datetime.strptime(v, "%Y-%m-%d %H:%M:%S.%f"))
                    elif c == "raw":
                        vals.append(bytes.fromhex(v))
                    else:
                        vals.append(v)
                rows.append(tuple(norm(v) for v in vals))
    return sorted(rows)


def main():
    rng = random.Random(7)
    server = pipeline.TestServer()
    db = server.connect()
    cur = db.cursor()
    cur.execute(f"DROP DATABASE IF EXISTS {DB}")
    cur.execute(f"CREATE DATABASE {DB}")
    cur.execute(f"CREATE TABLE {DB}.acct (id BIGINT UNSIGNED PRIMARY KEY, name VARCHAR(40), "
                f"bal DECIMAL(12,2), at DATETIME(6), raw VARBINARY(16))")
    cur.execute(f"CREATE TABLE {DB}.views (who INT, path VARCHAR(20))")
    tables = ("acct", "views")
    for i in range(1, 201):
        cur.execute(f"INSERT INTO {DB}.acct VALUES (%s, %s, %s, %s, %s)",
                    (i, f"n{i}", i * 1.5, f"2024-01-01 00:00:{i % 60:02d}.{i:06d}", bytes([i % 256]) * 3))
    cur.execute(f"INSERT INTO {DB}.views VALUES (1,'/'),(1,'/'),(2,'/a')")
    cols = {t: pipeline.columns(cur, DB, t) for t in tables}
    tmp = tempfile.mkdtemp(prefix="binlake-run-")
    staging, lake_root = os.path.join(tmp, "staging"), os.path.join(tmp, "lake")
    cfg = pipeline.write_config(os.path.join(tmp, "run.toml"), port=server.port,
                                password_file=server.password_file,
                                server_id=7000 + os.getpid() % 1000, staging=staging,
                                lake=lake_root, include=[f"{DB}.*"], interval_ms=300, buckets=4)
    lake = pipeline.Lake(lake_root, DB)
    log = open(os.path.join(tmp, "run.log"), "w")
    proc = pipeline.spawn([BINLAKE, "run", "--config", cfg], stderr=log)

    def wait_equal(timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if not pipeline.compare_tables(cur, lake, cols)[1]:
                return True
            time.sleep(0.1)
        return False

    check(wait_equal(60), "the lake did not reach the full load")
    ids = list(range(1, 201))
    for _ in range(300):
        r = rng.random()
        if r < 0.4:
            n = max(ids) + 1
            ids.append(n)
            cur.execute(f"INSERT INTO {DB}.acct VALUES (%s, 'new', 0.01, NOW(6), NULL)", (n,))
        elif r < 0.75:
            cur.execute(f"UPDATE {DB}.acct SET bal = bal + 1, name = %s WHERE id = %s",
                        (f"u{rng.randint(0, 99)}", rng.choice(ids)))
        elif r < 0.85:
            k = rng.choice(ids)
            n = max(ids) + 1
            cur.execute(f"UPDATE {DB}.acct SET id = %s WHERE id = %s", (n, k))  # key move
            ids.remove(k)
            ids.append(n)
        elif r < 0.95:
            k = rng.choice(ids)
            cur.execute(f"DELETE FROM {DB}.acct WHERE id = %s", (k,))
            ids.remove(k)
        else:
            cur.execute(f"INSERT INTO {DB}.views VALUES (%s, '/x')", (rng.randint(1, 3),))
            cur.execute(f"DELETE FROM {DB}.views WHERE who = 1 AND path = '/' LIMIT 1")
    t0 = time.time()
    cur.execute(f"UPDATE {DB}.acct SET name = 'last' WHERE id = %s", (ids[0],))
    ok = wait_equal(30)
    latency = time.time() - t0
    check(ok, "the lake does not equal the source after the workload")
    check(latency < 3.0, f"the last change took {latency:.2f} s to reach the lake")
    proc.send_signal(signal.SIGINT)
    rc = proc.wait(timeout=30)
    log.close()
    check(rc == 0, f"binlake run exited {rc} after SIGINT (log {log.name})")
    versions = {t: DeltaTable(lake.path(t)).version() for t in cols}
    # Applying again (a repeated trigger) changes nothing.
    p = subprocess.run([BINLAKE, "trigger", "--config", cfg, "--once"], stderr=subprocess.PIPE)
    check(p.returncode == 0, "trigger --once: " + p.stderr.decode()[-300:])
    again = {t: DeltaTable(lake.path(t)).version() for t in cols}
    check(again == versions, f"a repeated trigger changed the lake: {versions} -> {again}")
    # The same staging files into a CSV lake ([lake] format = "csv"), by the trigger.
    csv_lake = os.path.join(tmp, "csvlake")
    csv_cfg = os.path.join(tmp, "csv.toml")
    with open(cfg) as f, open(csv_cfg, "w") as g:
        g.write(f.read().replace(f'path = "{lake_root}"', f'path = "{csv_lake}"\nformat = "csv"'))
    p = subprocess.run([BINLAKE, "trigger", "--config", csv_cfg, "--once"], stderr=subprocess.PIPE)
    check(p.returncode == 0, "trigger --once into a CSV lake: " + p.stderr.decode()[-300:])
    for t, c in cols.items():
        names = [col.name for col in c]
        check(csv_lake_rows(csv_lake, t, names) == source_rows(cur, t, names),
              f"the CSV lake's {t} does not equal the source")
    # --exec hands each file over once, and not again after a restart.
    out = os.path.join(tmp, "exec.log")
    for _ in range(2):
        p = subprocess.run([BINLAKE, "trigger", "--config", cfg, "--once", "--exec",
                            f"echo >>{out}"], stderr=subprocess.PIPE)
        check(p.returncode == 0, "trigger --exec: " + p.stderr.decode()[-300:])
    lines = open(out).read().split("\n")
    handed = [l for l in lines if l.strip()]
    csvs = sum(1 for t in cols for f in os.listdir(os.path.join(staging, DB, t)) if f.endswith(".csv") and not f.startswith("."))
    check(len(handed) == csvs and len(set(handed)) == len(handed),
          f"--exec handed {len(handed)} lines for {csvs} files")
    cur.execute(f"DROP DATABASE {DB}")
    print(f"run_e2e: lake equals the source; last change visible after {latency:.2f} s; "
          f"versions {versions}; {len(FAILS)} failures")
    sys.stdout.flush()
    sys.stderr.flush()
    # delta-rs' runtime threads can abort the interpreter's teardown: leave without it.
    os._exit(1 if FAILS else 0)


if __name__ == "__main__":
    main()
