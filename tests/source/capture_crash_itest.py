#!/usr/bin/env python3
"""Crash test of `binlake capture`: kill -9 at random points under a write load, restart, and the
union of the change files equals the source's change history exactly.

usage: capture_crash_itest.py BINLAKE ROUNDS [SEED]

A single writer (so statement order is commit order) runs transactions of 1-4 statements against
two tables; every statement takes the next value of a counter, written into the row it inserts or
updates. The capture is killed with SIGKILL at a random moment in each round (every third round it
gets SIGINT instead and must exit 0), then restarted; after the last round the writer stops and a
final run stages everything and stops cleanly. Then:
  - the counters in I/U change rows are exactly the writer's counters after the snapshot (a suffix
    of the history): none missing (no gap), none twice (no duplicate);
  - the deletes staged are exactly the writer's deletes after the snapshot;
  - replaying LOAD + change files gives the source tables' rows;
  - every CSV has a manifest and change-file sequences are unique and increase with the names.
"""
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time

import pymysql

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "testing"))
from staging_reader import Staging  # noqa: E402

BINLAKE = sys.argv[1]
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 5
SEED = int(sys.argv[3]) if len(sys.argv) > 3 else int(time.time())
PORT = int(os.environ["BINLAKE_TEST_MYSQL_PORT"])
DIR = os.environ["BINLAKE_TEST_MYSQL_DIR"]
SOCK = os.path.join(DIR, "mariadb.sock")
DB = "crash_%d" % os.getpid()


def connect():
    return pymysql.connect(unix_socket=SOCK, user="root", database=DB, autocommit=False)


class Writer(threading.Thread):
    """One connection, so commit order is statement order. Every transaction writes at least one
    insert or update, so each one is known to be before or after the snapshot."""

    def __init__(self, rng):
        super().__init__(daemon=True)
        self.rng = rng
        self.stop = threading.Event()
        self.counter = 0
        self.transactions = []  # committed: (upserts [(table, n)], deletes [(table, id, v)])
        self.error = None

    def run(self):
        try:
            conn = connect()
            cur = conn.cursor()
            live = {"acct": {}, "note": {}}  # id -> v
            while not self.stop.is_set():
                upserts, deletes = [], []
                staged = {k: dict(v) for k, v in live.items()}
                k = self.rng.randint(1, 4)
                for i in range(k):
                    table = self.rng.choice(["acct", "note"])
                    self.counter += 1
                    n = self.counter
                    rows = staged[table]
                    r = self.rng.random()
                    must_write = i == k - 1 and not upserts
                    if r < 0.5 or len(rows) < 5:
                        cur.execute(f"INSERT INTO {table} (id, v, pad) VALUES (%s, %s, %s)",
                                    (n, n, "p" * (n % 50)))
                        rows[n] = n
                        upserts.append((table, n))
                    elif r < 0.85 or must_write:
                        rid = self.rng.choice(list(rows))
                        cur.execute(f"UPDATE {table} SET v = %s WHERE id = %s", (n, rid))
                        rows[rid] = n
                        upserts.append((table, n))
                    else:
                        rid = self.rng.choice(list(rows))
                        cur.execute(f"DELETE FROM {table} WHERE id = %s", (rid,))
                        deletes.append((table, rid, rows.pop(rid)))
                conn.commit()
                live = staged
                self.transactions.append((upserts, deletes))
                time.sleep(self.rng.random() * 0.004)
            conn.close()
        except Exception as e:  # noqa: BLE001 - reported by the main thread
            self.error = e


def write_config(path, staging):
    os.chmod(os.path.join(DIR, "password"), 0o600)
    with open(path, "w") as f:
        f.write(f"""[source]
port = {PORT}
user = "binlake"
password_file = "{DIR}/password"
server_id = {5000 + os.getpid() % 1000}
heartbeat_ms = 100
max_reconnect_attempts = 3

[capture]
staging = "{staging}"
include = ["{DB}.*"]
min_retention_hours = 0

[capture.flush]
interval_ms = 150
""")


def master_pos(cur):
    cur.execute("SHOW MASTER STATUS")
    f, p = cur.fetchone()[:2]
    return f, int(p)


def wait_staged(staging, target, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with open(os.path.join(staging, "_binlake", "checkpoint.json")) as f:
                pos = json.load(f).get("position") or {}
            if (pos.get("file", ""), int(pos.get("pos", 0))) >= target:
                return True
        except (OSError, ValueError):
            pass
        time.sleep(0.1)
    return False


def main():
    rng = random.Random(SEED)
    print(f"capture_crash: seed {SEED}, {ROUNDS} rounds")
    admin = pymysql.connect(unix_socket=SOCK, user="root", autocommit=True)
    cur = admin.cursor()
    cur.execute(f"DROP DATABASE IF EXISTS {DB}")
    cur.execute(f"CREATE DATABASE {DB}")
    for t in ("acct", "note"):
        cur.execute(f"CREATE TABLE {DB}.{t} (id BIGINT PRIMARY KEY, v BIGINT, pad VARCHAR(64))")
    tmp = tempfile.mkdtemp(prefix="binlake-crash-")
    staging = os.path.join(tmp, "staging")
    cfg = os.path.join(tmp, "capture.toml")
    # The staging as a store URI (the capture writes through the ObjectStore); read as a folder.
    write_config(cfg, "file://" + staging)

    writer = Writer(random.Random(SEED + 1))
    writer.start()
    time.sleep(0.3)
    failures = []
    log = open(os.path.join(tmp, "capture.log"), "a")
    for r in range(ROUNDS):
        proc = subprocess.Popen([BINLAKE, "capture", "--config", cfg], stderr=log)
        time.sleep(0.2 + rng.random() * 2.0)
        if r % 3 == 2:
            proc.send_signal(signal.SIGINT)
            rc = proc.wait(timeout=30)
            if rc != 0:
                failures.append(f"round {r}: clean stop exited {rc}")
        else:
            proc.kill()
            proc.wait()
        if writer.error:
            break
    writer.stop.set()
    writer.join()
    if writer.error:
        sys.exit(f"capture_crash: the writer failed: {writer.error}")
    target = master_pos(cur)
    proc = subprocess.Popen([BINLAKE, "capture", "--config", cfg], stderr=log)
    if not wait_staged(staging, target):
        failures.append("the final run did not stage everything within 60 s")
    proc.send_signal(signal.SIGINT)
    rc = proc.wait(timeout=30)
    if rc != 0:
        failures.append(f"final clean stop exited {rc}")
    log.close()

    st = Staging(staging)
    cp = st.checkpoint()
    rows_checked = 0
    seqs = []
    staged_u, staged_d = {}, {}
    for table in ("acct", "note"):
        loads, changes = st.files(DB, table)
        for name in loads + changes:
            try:
                m = st.manifest(DB, table, name)
                if m.get("kind") == "cdc":
                    seqs.append((name, int(m["sequence"])))
            except OSError:
                failures.append(f"{table}/{name}: no manifest")
        u = [int(row[1]) for _, op, row in st.changes(DB, table) if op in ("I", "U")]
        d = [(int(row[0]), int(row[1])) for _, op, row in st.changes(DB, table) if op == "D"]
        for name, values in (("changes", u), ("deletes", d)):
            if len(values) != len(set(values)):
                failures.append(f"{table}: {len(values) - len(set(values))} {name} staged twice")
        staged_u[table], staged_d[table] = set(u), set(d)
        state = st.replay(DB, table, [0])
        cur.execute(f"SELECT id, v, pad FROM {DB}.{table}")
        source = {(str(i),): [str(i), str(v), p] for i, v, p in cur.fetchall()}
        if state != source:
            diff = set(state) ^ set(source)
            failures.append(f"{table}: replayed {len(state)} rows, source {len(source)}; "
                            f"differing keys {sorted(diff)[:5]}")
        rows_checked += len(source)
    # Each transaction is wholly before the snapshot (nothing staged) or wholly after (everything
    # staged), and all the "after" ones come after all the "before" ones.
    after_seen, lost, partial, out_of_order, made = False, 0, 0, 0, 0
    for upserts, deletes in writer.transactions:
        staged = [n in staged_u[t] for t, n in upserts] + [(i, v) in staged_d[t]
                                                           for t, i, v in deletes]
        made += len(staged)
        if any(staged):
            after_seen = True
            if not all(staged):
                partial += 1
                lost += staged.count(False)
        elif after_seen:
            out_of_order += 1
            lost += len(staged)
    if lost or partial or out_of_order:
        failures.append(f"{lost} changes never staged ({partial} transactions partly, "
                        f"{out_of_order} wholly after the snapshot)")
    extra = sum(len(staged_u[t]) + len(staged_d[t]) for t in staged_u) - sum(
        1 for ups, dels in writer.transactions for t, n in ups if n in staged_u[t]) - sum(
        1 for ups, dels in writer.transactions for t, i, v in dels if (i, v) in staged_d[t])
    if extra:
        failures.append(f"{extra} staged changes the writer never made")
    print(f"capture_crash: {len(writer.transactions)} transactions, {made} changes made, "
          f"{sum(len(x) for x in staged_u.values()) + sum(len(x) for x in staged_d.values())} "
          f"staged after the snapshot")
    by_name = [s for _, s in sorted(seqs)]
    if len(set(by_name)) != len(by_name) or by_name != sorted(by_name):
        failures.append("change-file sequences are not unique and increasing in name order")
    cur.execute(f"DROP DATABASE {DB}")
    for f in failures:
        print("FAIL: " + f, file=sys.stderr)
    print(f"capture_crash: rounds {ROUNDS}, rows checked {rows_checked}, lost "
          f"{0 if not any('never staged' in f for f in failures) else 'SOME'}, duplicated "
          f"{0 if not any('twice' in f or 'never made' in f for f in failures) else 'SOME'}, "
          f"checkpoint {cp.get('position')}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
