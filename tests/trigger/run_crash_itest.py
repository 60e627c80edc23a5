#!/usr/bin/env python3
"""Fault test of `binlake run`: kill -9 (and SIGINT) at random points across capture, trigger and
apply under a random workload with DDL mixed in (ADD COLUMN, a widening MODIFY, a text-length
change, TRUNCATE). After each round a restarted pipeline catches up and `binlake verify` must show
zero differences; at the end the Delta logs show no staging file applied twice (each table's txn
versions strictly increase) and re-applying every staging file changes nothing. Prints the totals:
rounds, rows checked, lost, duplicated.

usage: run_crash_itest.py BINLAKE ROUNDS [SEED]
"""
import os
import json
import random
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testing"))
import pipeline  # noqa: E402

BINLAKE = sys.argv[1]
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 5
SEED = int(sys.argv[3]) if len(sys.argv) > 3 else int(time.time())
DB = "runcrash_%d" % os.getpid()
TABLES = ("acct", "note")
SERVER = pipeline.TestServer()
DDL = os.environ.get("BINLAKE_TEST_NO_DDL") is None


def writer(stop, pause, paused, rng, errors, ddl_log):
    """Random transactions; now and then a DDL statement. While `pause` is set it waits between
    transactions (with `paused` set)."""
    try:
        c = SERVER.connect(DB, autocommit=False)
        cur = c.cursor()
        n = 0
        live = {t: [] for t in TABLES}
        added = {t: 0 for t in TABLES}
        widened = set()
        while not stop.is_set():
            if pause.is_set():
                paused.set()
                time.sleep(0.01)
                continue
            paused.clear()
            if DDL and rng.random() < 0.004:
                t = rng.choice(TABLES)
                r = rng.random()
                if r < 0.4 and added[t] < 3:
                    added[t] += 1
                    q = f"ALTER TABLE {t} ADD COLUMN c{added[t]} INT NULL"
                elif r < 0.6 and t not in widened:
                    widened.add(t)
                    q = f"ALTER TABLE {t} MODIFY v DECIMAL(30,0)"
                elif r < 0.92:
                    q = f"ALTER TABLE {t} MODIFY s VARCHAR({rng.choice([8, 16, 32])})"
                else:
                    q = f"TRUNCATE TABLE {t}"
                    live[t] = []
                cur.execute(q)
                ddl_log.append(q)
                # A capture behind the source (restarted after a kill) sees a table's new
                # columns with its next row change (TABLE_MAP), so one comes right after it.
                n += 1
                cols = "id, v, s" + "".join(f", c{k}" for k in range(1, added[t] + 1))
                vals = [n, n, None] + [n % 100] * added[t]
                cur.execute(f"INSERT INTO {t} ({cols}) VALUES ({', '.join(['%s'] * len(vals))})",
                            vals)
                live[t].append(n)
                c.commit()
                continue
            for _ in range(rng.randint(1, 3)):
                t = rng.choice(TABLES)
                n += 1
                r = rng.random()
                if r < 0.5 or len(live[t]) < 5:
                    cols = "id, v, s" + "".join(f", c{k}" for k in range(1, added[t] + 1))
                    vals = [n, n, None if n % 7 else "x"] + [n % 100] * added[t]
                    cur.execute(f"INSERT INTO {t} ({cols}) VALUES ({', '.join(['%s'] * len(vals))})",
                                vals)
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


def verify(cfg, env):
    """`binlake verify --json` after the pipeline caught up: (exit code, rows, lost, duplicated,
    text for a failure)."""
    v = subprocess.run([BINLAKE, "verify", "--config", cfg, "--wait-ms", "90000", "--json"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        report = json.loads(v.stdout)
    except ValueError:
        return v.returncode, 0, 0, 0, v.stdout[-1500:] + v.stderr[-500:]
    rows = lost = dup = 0
    for t in report.get("tables", []):
        rows += max(t.get("source_rows") or 0, 0)
        for d in t.get("diffs", []):
            lost += d.get("kind") == "missing_in_lake"
            dup += d.get("kind") == "extra_in_lake"
    return v.returncode, rows, lost, dup, v.stdout[-1500:] + v.stderr[-500:]


def txn_versions(lake_root, table):
    """(txn version, whether the commit is a full load) of a table's Delta commits, in order."""
    log = pipeline.join(lake_root, DB, table, "_delta_log")
    out = []
    for name in sorted(n for n in pipeline.list_names(log) if re.fullmatch(r"\d{20}\.json", n)):
        actions = [json.loads(line) for line in
                   (pipeline.read_text(pipeline.join(log, name)) or "").splitlines()]
        load = any(a.get("commitInfo", {}).get("operation") in ("WRITE", "CREATE TABLE AS SELECT")
                   for a in actions)
        for a in actions:
            if "txn" in a and a["txn"]["appId"] == f"binlake:{DB}.{table}":
                out.append((a["txn"]["version"], load))
    return out


def main():
    rng = random.Random(SEED)
    print(f"run_crash: seed {SEED}, {ROUNDS} rounds")
    admin = SERVER.connect()
    cur = admin.cursor()
    cur.execute(f"DROP DATABASE IF EXISTS {DB}")
    cur.execute(f"CREATE DATABASE {DB}")
    for t in TABLES:
        cur.execute(f"CREATE TABLE {DB}.{t} (id BIGINT PRIMARY KEY, v BIGINT, s VARCHAR(8))")
        cur.execute(f"INSERT INTO {DB}.{t} SELECT seq, seq, NULL FROM mysql.seq_1000000_to_1000050")
    tmp = tempfile.mkdtemp(prefix="binlake-runcrash-")
    p = pipeline.Placement(tmp, DB, "run_crash")
    s3, staging, lake_root = p.s3, p.staging, p.lake
    env, extra, lake_extra = p.env, p.extra, p.lake_extra
    # With BINLAKE_TEST_STORE_FAULTS (e.g. "rate=0.01"): the killed runs' stores fail that share
    # of their operations after the S3 client's own retries (src/store/fault_store.h), before or
    # after doing them; the last run and the checks go without faults.
    faulty_env = env
    if os.environ.get("BINLAKE_TEST_STORE_FAULTS"):
        faulty_env = dict(env or os.environ)
        faulty_env["BINLAKE_STORE_FAULTS"] = (os.environ["BINLAKE_TEST_STORE_FAULTS"] +
                                              f",seed={SEED}")
        print(f"run_crash: injected store faults {faulty_env['BINLAKE_STORE_FAULTS']}")
    cfg = pipeline.write_config(os.path.join(tmp, "run.toml"), port=SERVER.port,
                                password_file=SERVER.password_file,
                                server_id=8000 + os.getpid() % 1000, staging=staging,
                                lake=lake_root, include=[f"{DB}.*"], interval_ms=150, buckets=4,
                                source_extra="max_reconnect_attempts = 3\n",
                                lake_extra=lake_extra, extra=extra)
    lake = pipeline.Lake(lake_root, DB)
    stop, pause, paused, errors, ddl = (threading.Event(), threading.Event(), threading.Event(),
                                        [], [])
    w = threading.Thread(target=writer, args=(stop, pause, paused, random.Random(SEED + 1), errors,
                                              ddl), daemon=True)
    w.start()
    failures = []
    log = open(os.path.join(tmp, "run.log"), "a")
    rows_checked = lost = duplicated = 0
    for r in range(ROUNDS):
        proc = pipeline.spawn([BINLAKE, "run", "--config", cfg], stderr=log, env=faulty_env)
        time.sleep(0.3 + rng.random() * 2.0)
        if r % 3 == 2:
            proc.send_signal(signal.SIGINT)
            pause.set()  # the writer stops at its next transaction boundary
            # A clean stop applies what the capture flushed last; with injected store faults it
            # gives up after 45 s of retries (the next start applies the rest).
            if proc.wait(timeout=60 if faulty_env is env else 240) != 0 and faulty_env is env:
                failures.append(f"round {r}: clean stop failed")
        else:
            proc.kill()
            proc.wait()
        # The writer pauses; a restarted pipeline catches up; the lake must equal the source.
        pause.set()
        while not paused.wait(0.1) and w.is_alive():
            pass
        proc = pipeline.spawn([BINLAKE, "run", "--config", cfg], stderr=log, env=env)
        rc, rows, lo, du, text = verify(cfg, env)
        rows_checked += rows
        lost += lo
        duplicated += du
        if rc != 0:
            failures.append(f"round {r}: binlake verify exited {rc}: {text}")
        proc.send_signal(signal.SIGINT)
        if proc.wait(timeout=90) != 0:
            failures.append(f"round {r}: the catch-up run did not stop cleanly")
        pause.clear()
        if failures:
            break
    stop.set()
    w.join()
    if errors:
        sys.exit(f"run_crash: the writer failed: {errors[0]}")
    proc = pipeline.spawn([BINLAKE, "run", "--config", cfg], stderr=log, env=env)
    rc, rows, lo, du, text = verify(cfg, env)
    rows_checked += rows
    lost += lo
    duplicated += du
    if rc != 0:
        failures.append(f"binlake verify exited {rc}: {text}")
    cols = {t: pipeline.columns(cur, DB, t) for t in TABLES}
    deadline = time.time() + 90
    source = {t: pipeline.source_rows(cur, DB, t, cols[t]) for t in TABLES}
    equal, problems = False, []
    while time.time() < deadline and not equal:
        problems = [f"{t}: {line}" for t in TABLES
                    for line in pipeline.diff_rows(source[t], pipeline.lake_rows(lake, t, cols[t]),
                                                   cols[t])]
        equal = not problems
        time.sleep(0.2)
    if not equal:
        failures.append("the lake does not equal the source: " + "; ".join(problems))
    proc.send_signal(signal.SIGINT)
    if proc.wait(timeout=60) != 0:
        failures.append("the final clean stop failed")
    log.close()
    # No staging file applied twice: each table's txn versions strictly increase (a full load
    # taken again, after a kill during the first one, may repeat the version before it).
    for t in TABLES:
        seen = txn_versions(lake_root, t)
        if any(b < a or (b == a and not load) for (a, _), (b, load) in zip(seen, seen[1:])):
            failures.append(f"{t}: a txn version repeats or goes back (a file applied twice): "
                            f"{seen}")
    lake = pipeline.Lake(lake_root, DB)
    versions = {t: lake.table(t).version() for t in TABLES}
    files = [pipeline.join(staging, DB, t, n) for t in TABLES
             for n in sorted(pipeline.list_names(pipeline.join(staging, DB, t)))
             if n.endswith(".csv") and not n.startswith(".")]
    # Every file again, by `binlake apply --config` (the same [s3] and [lake] settings).
    p = subprocess.run([BINLAKE, "apply", "--config", cfg] + files, stderr=subprocess.PIPE, env=env)
    if p.returncode != 0:
        failures.append("re-applying every file failed: " + p.stderr.decode()[-300:])
    lake = pipeline.Lake(lake_root, DB)
    again = {t: lake.table(t).version() for t in TABLES}
    if s3:
        lines = open(os.path.join(tmp, "run.log")).read().splitlines()
        events = sum(int(m.group(1)) for m in map(re.compile(r".*; (\d+) bucket notifications$").match, lines) if m)
        faults = sum("injected fault" in line for line in lines)
        print(f"run_crash: {events} bucket notifications in the cleanly stopped runs; "
              f"{faults} injected store faults reported")
        s3.stop()
    if again != versions:
        failures.append(f"re-applying every staging file changed the lake: {versions} -> {again}")
    cur.execute(f"DROP DATABASE {DB}")
    print(f"run_crash: {len(ddl)} DDL statements: " + "; ".join(ddl[:12]))
    print(f"run_crash: rounds {ROUNDS}, rows checked {rows_checked}, lost {lost}, "
          f"duplicated {duplicated}")
    for f in failures:
        print("FAIL: " + f, file=sys.stderr)
    rows = sum(len(v) for v in source.values())
    print(f"run_crash: rounds {ROUNDS}, {len(files)} staging files, rows checked {rows}, "
          f"differences {0 if equal else 'SOME'}, lake versions {versions}, verify exit {rc}")
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(1 if failures else 0)


if __name__ == "__main__":
    main()
