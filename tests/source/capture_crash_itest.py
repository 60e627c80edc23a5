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
    def __init__(self, rng):
        super().__init__(daemon=True)
        self.rng = rng
        self.stop = threading.Event()
        self.counter = 0
        self.upserts = []   # (table, counter) of committed inserts/updates, in commit order
        self.deletes = []   # (table, counter) of committed deletes
        self.error = None

    def run(self):
        try:
            conn = connect()
            cur = conn.cursor()
            live = {"acct": [], "note": []}
            while not self.stop.is_set():
                pending_u, pending_d = [], []
                staged_live = {k: list(v) for k, v in live.items()}
                for _ in range(self.rng.randint(1, 4)):
                    table = self.rng.choice(["acct", "note"])
                    self.counter += 1
                    n = self.counter
                    ids = staged_live[table]
                    r = self.rng.random()
                    if r < 0.5 or len(ids) < 5:
                        cur.execute(f"INSERT INTO {table} (id, v, pad) VALUES (%s, %s, %s)",
                                    (n, n, "p" * (n % 50)))
                        ids.append(n)
                        pending_u.append((table, n))
                    elif r < 0.85:
                        rid = self.rng.choice(ids)
                        cur.execute(f"UPDATE {table} SET v = %s WHERE id = %s", (n, rid))
                        pending_u.append((table, n))
                    else:
                        rid = self.rng.choice(ids)
                        cur.execute(f"DELETE FROM {table} WHERE id = %s", (rid,))
                        ids.remove(rid)
                        pending_d.append((table, n))
                conn.commit()
                live = staged_live
                self.upserts.extend(pending_u)
                self.deletes.extend(pending_d)
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
    write_config(cfg, staging)

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
    for table in ("acct", "note"):
        loads, changes = st.files(DB, table)
        for name in loads + changes:
            try:
                m = st.manifest(DB, table, name)
                if m.get("kind") == "cdc":
                    seqs.append((name, int(m["sequence"])))
            except OSError:
                failures.append(f"{table}/{name}: no manifest")
        # history: I/U counters form the suffix of the writer's history after the snapshot
        staged = [int(row[1]) for _, op, row in st.changes(DB, table) if op in ("I", "U")]
        dels = sum(1 for _, op, _ in st.changes(DB, table) if op == "D")
        dupes = len(staged) - len(set(staged))
        if dupes:
            failures.append(f"{table}: {dupes} changes staged twice")
        history = [n for t, n in writer.upserts if t == table]
        staged_set = set(staged)
        first = next((i for i, n in enumerate(history) if n in staged_set), len(history))
        suffix = history[first:]
        missing = [n for n in suffix if n not in staged_set]
        extra = staged_set - set(history)
        if missing:
            failures.append(f"{table}: {len(missing)} changes never staged (first {missing[:5]})")
        if extra:
            failures.append(f"{table}: {len(extra)} staged changes the writer never made")
        snapshot_counter = history[first - 1] if first > 0 else 0
        want_dels = sum(1 for t, n in writer.deletes if t == table and n > snapshot_counter)
        if dels != want_dels:
            failures.append(f"{table}: {dels} deletes staged, {want_dels} made after the snapshot")
        # state
        state = st.replay(DB, table, [0])
        cur.execute(f"SELECT id, v, pad FROM {DB}.{table}")
        source = {(str(i),): [str(i), str(v), p] for i, v, p in cur.fetchall()}
        if state != source:
            diff = set(state) ^ set(source)
            failures.append(f"{table}: replayed {len(state)} rows, source {len(source)}; "
                            f"differing keys {sorted(diff)[:5]}")
        rows_checked += len(source)
        print(f"capture_crash: {table}: {len(history)} changes made, {len(staged)} staged after "
              f"the snapshot, {dels} deletes, {len(source)} rows")
    by_name = [s for _, s in sorted(seqs)]
    if len(set(by_name)) != len(by_name) or by_name != sorted(by_name):
        failures.append("change-file sequences are not unique and increasing in name order")
    cur.execute(f"DROP DATABASE {DB}")
    for f in failures:
        print("FAIL: " + f, file=sys.stderr)
    print(f"capture_crash: rounds {ROUNDS}, rows checked {rows_checked}, lost "
          f"{0 if not any('never staged' in f for f in failures) else 'SOME'}, duplicated "
          f"{0 if not any('twice' in f for f in failures) else 'SOME'}, checkpoint "
          f"{cp.get('position')}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
