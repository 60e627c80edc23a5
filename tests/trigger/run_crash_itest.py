#!/usr/bin/env python3
"""Crash test of `binlake run`: kill -9 at random points under a write load, restart, and the lake
tables equal the source (`binlake verify` exits 0, and read by delta-rs); re-applying every staging
file changes nothing.

usage: run_crash_itest.py BINLAKE ROUNDS [SEED]
"""
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time

import pymysql
from deltalake import DeltaTable

BINLAKE = sys.argv[1]
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 5
SEED = int(sys.argv[3]) if len(sys.argv) > 3 else int(time.time())
PORT = int(os.environ["BINLAKE_TEST_MYSQL_PORT"])
DIR = os.environ["BINLAKE_TEST_MYSQL_DIR"]
SOCK = os.path.join(DIR, "mariadb.sock")
DB = "runcrash_%d" % os.getpid()
TABLES = ("acct", "note")


def writer(stop, rng, errors):
    try:
        c = pymysql.connect(unix_socket=SOCK, user="root", database=DB, autocommit=False)
        cur = c.cursor()
        n = 0
        live = {t: [] for t in TABLES}
        while not stop.is_set():
            for _ in range(rng.randint(1, 3)):
                t = rng.choice(TABLES)
                n += 1
                r = rng.random()
                if r < 0.5 or len(live[t]) < 5:
                    cur.execute(f"INSERT INTO {t} VALUES (%s, %s, %s)", (n, n, None if n % 7 else "x"))
                    live[t].append(n)
                elif r < 0.8:
                    cur.execute(f"UPDATE {t} SET v = %s WHERE id = %s", (n, rng.choice(live[t])))
                elif r < 0.9:
                    k = rng.choice(live[t])
                    cur.execute(f"UPDATE {t} SET id = %s WHERE id = %s", (n, k))  # key move
                    live[t].remove(k)
                    live[t].append(n)
                else:
                    k = rng.choice(live[t])
                    cur.execute(f"DELETE FROM {t} WHERE id = %s", (k,))
                    live[t].remove(k)
            c.commit()
            time.sleep(rng.random() * 0.005)
    except Exception as e:  # noqa: BLE001
        errors.append(e)


def lake_state(lake, t):
    path = os.path.join(lake, DB, t)
    if not os.path.exists(os.path.join(path, "_delta_log")):
        return None
    rows = DeltaTable(path).to_pyarrow_table().to_pylist()
    return sorted((r["id"], r["v"], r["s"]) for r in rows)


def main():
    rng = random.Random(SEED)
    print(f"run_crash: seed {SEED}, {ROUNDS} rounds")
    admin = pymysql.connect(unix_socket=SOCK, user="root", autocommit=True)
    cur = admin.cursor()
    cur.execute(f"DROP DATABASE IF EXISTS {DB}")
    cur.execute(f"CREATE DATABASE {DB}")
    for t in TABLES:
        cur.execute(f"CREATE TABLE {DB}.{t} (id BIGINT PRIMARY KEY, v BIGINT, s VARCHAR(8))")
        cur.execute(f"INSERT INTO {DB}.{t} SELECT seq, seq, NULL FROM mysql.seq_1000000_to_1000050")
    tmp = tempfile.mkdtemp(prefix="binlake-runcrash-")
    os.chmod(os.path.join(DIR, "password"), 0o600)
    staging, lake = os.path.join(tmp, "staging"), os.path.join(tmp, "lake")
    cfg = os.path.join(tmp, "run.toml")
    with open(cfg, "w") as f:
        f.write(f"""[source]
port = {PORT}
user = "binlake"
password_file = "{DIR}/password"
server_id = {8000 + os.getpid() % 1000}
heartbeat_ms = 100
max_reconnect_attempts = 3

[capture]
staging = "{staging}"
include = ["{DB}.*"]
min_retention_hours = 0

[capture.flush]
interval_ms = 150

[lake]
path = "{lake}"
buckets = 4
""")
    stop, errors = threading.Event(), []
    w = threading.Thread(target=writer, args=(stop, random.Random(SEED + 1), errors), daemon=True)
    w.start()
    failures = []
    log = open(os.path.join(tmp, "run.log"), "a")
    for r in range(ROUNDS):
        proc = subprocess.Popen([BINLAKE, "run", "--config", cfg], stderr=log)
        time.sleep(0.3 + rng.random() * 2.0)
        if r % 3 == 2:
            proc.send_signal(signal.SIGINT)
            if proc.wait(timeout=60) != 0:
                failures.append(f"round {r}: clean stop failed")
        else:
            proc.kill()
            proc.wait()
    stop.set()
    w.join()
    if errors:
        sys.exit(f"run_crash: the writer failed: {errors[0]}")
    proc = subprocess.Popen([BINLAKE, "run", "--config", cfg], stderr=log)
    # binlake verify waits for the restarted pipeline to catch up, then every table must be equal.
    v = subprocess.run([BINLAKE, "verify", "--config", cfg, "--wait-ms", "90000"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if v.returncode != 0:
        failures.append(f"binlake verify exited {v.returncode}: {v.stdout[-2000:]}{v.stderr[-500:]}")
    deadline = time.time() + 90
    source = {}
    for t in TABLES:
        cur.execute(f"SELECT id, v, s FROM {DB}.{t}")
        source[t] = sorted(cur.fetchall())
    equal = False
    while time.time() < deadline and not equal:
        equal = all(lake_state(lake, t) == source[t] for t in TABLES)
        time.sleep(0.2)
    if not equal:
        failures.append("the lake does not equal the source: " + ", ".join(
            f"{t}: lake {len(lake_state(lake, t) or [])} rows, source {len(source[t])}" for t in TABLES))
    proc.send_signal(signal.SIGINT)
    if proc.wait(timeout=60) != 0:
        failures.append("the final clean stop failed")
    log.close()
    versions = {t: DeltaTable(os.path.join(lake, DB, t)).version() for t in TABLES}
    files = [os.path.join(staging, DB, t, n) for t in TABLES
             for n in sorted(os.listdir(os.path.join(staging, DB, t)))
             if n.endswith(".csv") and not n.startswith(".")]
    p = subprocess.run([BINLAKE, "apply", "--lake", lake, "--staging", staging] + files,
                       stderr=subprocess.PIPE)
    if p.returncode != 0:
        failures.append("re-applying every file failed: " + p.stderr.decode()[-300:])
    again = {t: DeltaTable(os.path.join(lake, DB, t)).version() for t in TABLES}
    if again != versions:
        failures.append(f"re-applying every staging file changed the lake: {versions} -> {again}")
    cur.execute(f"DROP DATABASE {DB}")
    for f in failures:
        print("FAIL: " + f, file=sys.stderr)
    rows = sum(len(v) for v in source.values())
    print(f"run_crash: rounds {ROUNDS}, {len(files)} staging files, rows checked {rows}, "
          f"differences {0 if equal else 'SOME'}, lake versions {versions}, verify exit {v.returncode}")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(1 if failures else 0)


if __name__ == "__main__":
    main()
