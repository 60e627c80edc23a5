#!/usr/bin/env python3
"""The status server of `binlake run` under a randomized workload: /metrics is scraped while
inserts, updates and deletes of known counts run (in transactions over two tables), and its
counters must end equal to the changes made; /api/status agrees, and so does `binlake status`
(from the checkpoint, manifests and Delta logs) after the run stops. Also: the log is JSON lines
(--log-format json), and an address in use is one line naming it and [ops] listen.

usage: metrics_itest.py BINLAKE [CHANGES]
"""
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ops_common  # noqa: E402
from ops_common import pipeline  # noqa: E402

BINLAKE = sys.argv[1]
CHANGES = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
DB = "ops_metrics_%d" % os.getpid()
TABLES = ("acct", "events")
OPS = ("insert", "update", "delete")
FAILS = []


def check(cond, msg):
    if not cond:
        FAILS.append(msg)
        print("FAIL: " + msg, file=sys.stderr, flush=True)


def rows_total(samples, table, op):
    return samples.get(("binlake_rows_total", (("op", op), ("table", f"{DB}.{table}"))), -1)


def workload(cur, rng, counts, n):
    """Random transactions of 1-4 statements (single and multi-row) until about n row changes;
    counts[table][op] gets each statement's affected rows as the server reports them. Halfway, one
    ALTER TABLE adds a column to `events` (a DDL and a schema change)."""
    next_id = {"acct": 1001, "events": 1001}
    made, altered = 0, False
    while made < n:
        if not altered and made >= n // 2:
            cur.execute(f"ALTER TABLE {DB}.events ADD COLUMN extra INT DEFAULT 5")
            altered = True
        cur.execute("BEGIN")
        for _ in range(rng.randint(1, 4)):
            t = rng.choice(TABLES)
            r = rng.random()
            if r < 0.45:
                k = rng.randint(1, 3)
                ids = list(range(next_id[t], next_id[t] + k))
                next_id[t] += k
                vals = ", ".join(f"({i}, {rng.randint(0, 99)}, 'n{i}')" for i in ids)
                cur.execute(f"INSERT INTO {DB}.{t} (id, v, note) VALUES {vals}")
                op = "insert"
            elif r < 0.8:
                lo = rng.randint(1, next_id[t])
                cur.execute(f"UPDATE {DB}.{t} SET v = v + 1, note = 'u' WHERE id BETWEEN %s AND %s",
                            (lo, lo + rng.randint(0, 2)))
                op = "update"
            else:
                lo = rng.randint(1, next_id[t])
                cur.execute(f"DELETE FROM {DB}.{t} WHERE id BETWEEN %s AND %s", (lo, lo + 1))
                op = "delete"
            counts[t][op] += cur.rowcount
            made += cur.rowcount
        cur.execute("COMMIT")
        if rng.random() < 0.05:
            time.sleep(0.05)


def main():
    t0 = time.time()
    rng = random.Random(int(os.environ.get("BINLAKE_TEST_SEED", "8")))
    server = pipeline.TestServer()
    db = server.connect()
    cur = db.cursor()
    cur.execute(f"DROP DATABASE IF EXISTS {DB}")
    cur.execute(f"CREATE DATABASE {DB}")
    initial = {"acct": 300, "events": 120}
    for t in TABLES:
        cur.execute(f"CREATE TABLE {DB}.{t} (id INT PRIMARY KEY, v INT, note VARCHAR(20))")
        vals = ", ".join(f"({i}, {i % 7}, 'x')" for i in range(1, initial[t] + 1))
        cur.execute(f"INSERT INTO {DB}.{t} VALUES {vals}")
    tmp = tempfile.mkdtemp(prefix="binlake-ops-")
    cfg = ops_common.write_run_config(tmp, server, DB)
    log_path = os.path.join(tmp, "run.log")
    proc, base = ops_common.start_run(BINLAKE, cfg, log_path)
    print(f"status server at {base}", flush=True)

    # The full load shows in the metrics.
    deadline = time.time() + 60
    loaded = False
    while time.time() < deadline and not loaded:
        s = ops_common.parse_prometheus(ops_common.get(base + "/metrics")[2])
        loaded = all(s.get(("binlake_full_load_rows", (("table", f"{DB}.{t}"),))) == initial[t]
                     for t in TABLES)
        time.sleep(0.1)
    check(loaded, "binlake_full_load_rows did not reach the full load's rows")

    # Scrape while the workload runs: every scrape parses and no counter goes down.
    scrapes, stop = [], threading.Event()

    def scraper():
        last = {}
        while not stop.is_set():
            status, ctype, text = ops_common.get(base + "/metrics")
            try:
                s = ops_common.parse_prometheus(text)
            except ValueError as e:
                check(False, str(e))
                return
            check(status == 200 and ctype.startswith("text/plain; version=0.0.4"),
                  f"/metrics answered {status} {ctype}")
            for k, v in s.items():
                if k[0].endswith("_total") and v < last.get(k, 0):
                    check(False, f"counter {k} went down from {last[k]} to {v}")
            last = s
            scrapes.append(s)
            time.sleep(0.2)

    th = threading.Thread(target=scraper)
    th.start()
    counts = {t: {op: 0 for op in OPS} for t in TABLES}
    workload(cur, rng, counts, CHANGES)
    print(f"workload: {json.dumps(counts)}", flush=True)

    # The counters end equal to the changes made.
    deadline = time.time() + 60
    s = {}
    while time.time() < deadline:
        s = ops_common.parse_prometheus(ops_common.get(base + "/metrics")[2])
        if all(rows_total(s, t, op) == counts[t][op] for t in TABLES for op in OPS):
            break
        time.sleep(0.2)
    stop.set()
    th.join()
    for t in TABLES:
        for op in OPS:
            check(rows_total(s, t, op) == counts[t][op],
                  f"{t} {op}: /metrics says {rows_total(s, t, op)}, the workload made "
                  f"{counts[t][op]}")
    check(len(scrapes) >= 3, f"only {len(scrapes)} scrapes during the workload")
    check(any(0 < rows_total(x, "acct", "insert") < counts["acct"]["insert"] for x in scrapes),
          "no scrape saw the workload in progress")
    lake_lag = s.get(("binlake_lag_seconds", (("stage", "lake"),)), -1)
    staged_lag = s.get(("binlake_lag_seconds", (("stage", "staged"),)), -1)
    check(0 <= staged_lag < 30 and 0 <= lake_lag < 30,
          f"lags out of range: staged {staged_lag}, lake {lake_lag}")
    check(s.get(("binlake_lake_commits_total", ()), 0) > 0, "no lake commits counted")
    check(s.get(("binlake_staged_bytes_total", ()), 0) > 0, "no staged bytes counted")
    check(s.get(("binlake_errors_total", ())) == 0, "errors counted")
    ckpt = s.get(("binlake_last_checkpoint_timestamp_seconds", ()), 0)
    check(abs(time.time() - ckpt) < 60, f"last checkpoint time {ckpt} is not recent")
    check(any(k[0] == "binlake_rows_per_second" for k in s), "no rows_per_second gauges")
    ddl = {t: s.get(("binlake_ddl_total", (("table", f"{DB}.{t}"),))) for t in TABLES}
    check(ddl == {"acct": 0, "events": 1}, f"per-table DDL counters {ddl}")
    check(s.get(("binlake_ddl_total", (("table", ""),)), 0) >= 1, "the ALTER TABLE was not counted")

    # /api/status agrees, table by table, once the lake has everything (the files-pending gauge is
    # the trigger's last listing: a file staged after it is not in it yet).
    staging = os.path.join(tmp, "staging")
    check(pipeline.wait_caught_up(cur, staging, pipeline.Lake(os.path.join(tmp, "lake"), DB),
                                  TABLES), "the lake did not catch up")
    newest = {}
    for t in TABLES:
        seq = pipeline.staged_sequences(staging, DB, t)[-1]
        newest[t] = [n for n in os.listdir(os.path.join(staging, DB, t))
                     if n.endswith(f"-{seq:010d}.csv")][0]
    deadline = time.time() + 10
    while True:
        status, ctype, text = ops_common.get(base + "/api/status")
        st = json.loads(text)
        by_name = {t["table"]: t for t in st["tables"]}
        if time.time() > deadline or all(
                by_name.get(f"{DB}.{t}", {}).get("last_applied_file") == newest[t] and
                by_name[f"{DB}.{t}"]["files_pending"] == 0 for t in TABLES):
            break
        time.sleep(0.1)
    check(status == 200 and ctype.startswith("application/json"), f"/api/status: {status} {ctype}")
    for t in TABLES:
        row = by_name.get(f"{DB}.{t}")
        check(row is not None, f"/api/status has no row for {t}")
        if row is None:
            continue
        check(row["state"] == "replicating", f"{t} state {row['state']}")
        check(row["ddl"] == (1 if t == "events" else 0), f"{t} ddl {row['ddl']}")
        check(row["full_load"] == {"rows": initial[t], "estimated": row["full_load"]["estimated"],
                                   "done": True}, f"{t} full load {row['full_load']}")
        for op, key in zip(OPS, ("inserts", "updates", "deletes")):
            check(row[key] == counts[t][op], f"{t} {key}: {row[key]} != {counts[t][op]}")
        check(row["last_applied_file"] == newest[t],
              f"{t} last applied {row['last_applied_file']}, newest staged {newest[t]}")
        check(row["files_pending"] == 0, f"{t} files pending {row['files_pending']}")
    check(len(st["history"]) >= 2, "no lag history")
    s = ops_common.parse_prometheus(ops_common.get(base + "/metrics")[2])
    check(s.get(("binlake_files_pending_sum", ())) == 0, "files still pending at the end")

    # `binlake status` after the run stops: the same numbers from the durable state.
    proc.send_signal(signal.SIGINT)
    check(proc.wait(timeout=60) == 0, f"binlake run exited {proc.returncode}")
    problems = ops_common.check_json_log(log_path)
    check(not problems, "; ".join(problems[:3]))
    out = subprocess.run([BINLAKE, "status", "--config", cfg, "--json"], capture_output=True,
                         text=True, timeout=60)
    check(out.returncode == 0, f"binlake status exited {out.returncode}: {out.stderr}")
    offline = {t["table"]: t for t in json.loads(out.stdout or "{}").get("tables", [])}
    for t in TABLES:
        row = offline.get(f"{DB}.{t}", {})
        want = {"state": "replicating", "full_load_rows": initial[t],
                "inserts": counts[t]["insert"], "updates": counts[t]["update"],
                "deletes": counts[t]["delete"], "files_pending": 0}
        got = {k: row.get(k) for k in want}
        check(got == want, f"binlake status {t}: {got} != {want}")
        check(row.get("last_applied_file") == row.get("last_staged_file") != "",
              f"binlake status {t}: last applied {row.get('last_applied_file')} != last staged "
              f"{row.get('last_staged_file')}")
    text_out = subprocess.run([BINLAKE, "status", "--config", cfg], capture_output=True,
                              text=True, timeout=60)
    check(text_out.returncode == 0 and f"{DB}.acct" in text_out.stdout,
          f"binlake status (text): {text_out.stdout} {text_out.stderr}")

    # An address in use: one line naming it and the key, exit 1, before anything runs.
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen(1)
    port = blocker.getsockname()[1]
    cfg2 = ops_common.write_run_config(tmp, server, DB, listen=f"127.0.0.1:{port}")
    busy = subprocess.run([BINLAKE, "run", "--config", cfg2], capture_output=True, text=True,
                          timeout=60)
    blocker.close()
    lines = busy.stderr.strip().splitlines()
    check(busy.returncode == 1 and len(lines) == 1 and f"127.0.0.1:{port}" in lines[0] and
          "in use" in lines[0] and "[ops] listen" in lines[0],
          f"address in use: exit {busy.returncode}, {busy.stderr!r}")

    cur.execute(f"DROP DATABASE {DB}")
    if not FAILS:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"metrics: {sum(sum(c.values()) for c in counts.values())} row changes, "
          f"{len(scrapes)} scrapes, {time.time() - t0:.1f} s", flush=True)
    if FAILS:
        print(f"{len(FAILS)} failures; files kept in {tmp}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
