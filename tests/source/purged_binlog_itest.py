#!/usr/bin/env python3
"""The checkpoint's binlog purged (issue 7): a restart stops with one line and changes nothing;
`--resnapshot` (and `[capture] when_purged = "resnapshot"`) takes a new full load and continues,
and the lake ends equal to the source, the change files staged before the re-load never applied
on top of it (README "When the binlog was purged", docs/staging.md "Re-load").

Round 1: `binlake run`, stop, more changes, FLUSH + PURGE BINARY LOGS; `binlake capture` and
`binlake run` both fail with the exact line, staging and lake byte for byte unchanged; then
`binlake run --resnapshot`. Round 2: `binlake capture` alone (its change files never applied),
stop, changes, purge; `binlake run` with the config policy. Round 3: `binlake capture
--resnapshot` under a `binlake trigger` that keeps running (it must hand the re-written LOAD
files over again). Each round ends with `binlake verify` exit 0 and every staging file applied
again changing nothing.

usage: purged_binlog_itest.py BINLAKE
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testing"))
import pipeline  # noqa: E402
from staged_files import tree_hashes  # noqa: E402

BINLAKE = sys.argv[1]
DB = "purged_%d" % os.getpid()
FAILS = []


def check(cond, msg):
    if not cond:
        FAILS.append(msg)
        print("FAIL: " + msg, file=sys.stderr, flush=True)
    return cond


def checkpoint(staging):
    with open(os.path.join(staging, "_binlake", "checkpoint.json")) as f:
        return json.load(f)


def stop(proc, what):
    proc.send_signal(signal.SIGINT)
    rc = proc.wait(timeout=30)
    check(rc == 0, f"{what} exited {rc} after SIGINT")


def workload(cur, base, n):
    """Inserts, updates of rows loaded and inserted before, deletes, a key move; a keyless table."""
    for i in range(n):
        k = base + i
        cur.execute(f"INSERT INTO {DB}.acct VALUES (%s, %s, %s)", (k, f"n{k}", k))
        cur.execute(f"UPDATE {DB}.acct SET name = CONCAT(name, '+'), bal = bal + 1 "
                    f"WHERE id IN (%s, %s)", (1 + (k * 7) % 40, k))
        cur.execute(f"INSERT INTO {DB}.log VALUES (%s, 'x')", (k % 5,))
    cur.execute(f"DELETE FROM {DB}.acct WHERE id = %s", (base + 1,))
    cur.execute(f"UPDATE {DB}.acct SET id = %s WHERE id = %s", (base + 1000, base + 2))
    cur.execute(f"DELETE FROM {DB}.log WHERE who = %s LIMIT 1", (base % 5,))


def purge(cur):
    """Every binlog but a new one gone: the checkpoint's file is purged. The newest's name."""
    cur.execute("FLUSH BINARY LOGS")
    newest = pipeline.master_position(cur)[0]
    # MariaDB keeps a binlog until its binlog checkpoint (and while a dump thread reads it): retry.
    deadline = time.time() + 20
    while True:
        cur.execute(f"PURGE BINARY LOGS TO '{newest}'")
        cur.execute("SHOW WARNINGS")
        warnings = cur.fetchall()
        cur.execute("SHOW BINARY LOGS")
        logs = [r[0] for r in cur.fetchall()]
        if logs == [newest] or time.time() > deadline:
            break
        time.sleep(0.1)
    if not check(logs == [newest], f"PURGE left {logs}, not only {newest}: {warnings}"):
        sys.exit(1)
    return newest


def expected_line(command, staging, oldest):
    p = checkpoint(staging)["position"]
    needs = f"{p['file']}:{p['pos']}" + (f" (GTID {p['gtid']})" if p["gtid"] else "")
    return (f"binlake: {command}: the binlog the capture must resume from is gone: the checkpoint "
            f"needs {needs}, but the oldest binlog the server still has is {oldest} (SHOW BINARY "
            f"LOGS; the ones before it were purged). Recover with --resnapshot (or [capture] "
            f"when_purged = \"resnapshot\"): a new full load of every captured table, then the "
            f"changes from there")


def main():
    started = time.time()
    server = pipeline.TestServer()
    db = server.connect()
    cur = db.cursor()
    cur.execute(f"DROP DATABASE IF EXISTS {DB}")
    cur.execute(f"CREATE DATABASE {DB}")
    cur.execute(f"CREATE TABLE {DB}.acct (id INT PRIMARY KEY, name VARCHAR(200), bal BIGINT)")
    cur.execute(f"CREATE TABLE {DB}.log (who INT, what VARCHAR(10))")
    for i in range(1, 41):
        cur.execute(f"INSERT INTO {DB}.acct VALUES (%s, %s, %s)", (i, f"n{i}", i))
    tables = ("acct", "log")
    cols = {t: pipeline.columns(cur, DB, t) for t in tables}
    tmp = tempfile.mkdtemp(prefix="binlake-purged-")
    staging, lake_root = os.path.join(tmp, "staging"), os.path.join(tmp, "lake")
    cfg = pipeline.write_config(os.path.join(tmp, "run.toml"), port=server.port,
                                password_file=server.password_file,
                                server_id=7300 + os.getpid() % 500, staging=staging,
                                lake=lake_root, include=[f"{DB}.*"], interval_ms=100, buckets=4)
    with open(cfg) as f:
        text = f.read()
    policy_cfg = os.path.join(tmp, "policy.toml")
    with open(policy_cfg, "w") as f:
        f.write(text.replace("min_retention_hours = 0\n",
                             "min_retention_hours = 0\nwhen_purged = \"resnapshot\"\n"))
    lake = pipeline.Lake(lake_root, DB)
    logs = open(os.path.join(tmp, "binlake.log"), "w")

    def caught_up(what):
        ok = pipeline.wait_caught_up(cur, staging, lake, tables, timeout=30)
        check(ok, f"{what}: the lake did not catch up (log {logs.name})")
        problems = pipeline.compare_tables(cur, lake, cols)[1]
        check(not problems, f"{what}: lake differs from the source: {problems[:3]}")

    def verify_and_reapply(what):
        p = subprocess.run([BINLAKE, "verify", "--config", cfg], capture_output=True, text=True)
        check(p.returncode == 0, f"{what}: binlake verify exited {p.returncode}: {p.stdout[-500:]}"
                                 f"{p.stderr[-500:]}")
        before = tree_hashes(lake_root)
        files = sorted(os.path.join(staging, DB, t, n) for t in tables
                       for n in os.listdir(os.path.join(staging, DB, t)) if n.endswith(".csv"))
        p = subprocess.run([BINLAKE, "apply", "--config", cfg] + files, capture_output=True,
                           text=True)
        check(p.returncode == 0, f"{what}: apply of every staging file: {p.stderr[-500:]}")
        check(tree_hashes(lake_root) == before,
              f"{what}: applying every staging file again changed the lake")

    # ---- round 1: the pipeline runs, stops; the binlogs it needs are purged
    proc = pipeline.spawn([BINLAKE, "run", "--config", cfg], stderr=logs)
    caught_up("first full load")
    workload(cur, 100, 20)
    caught_up("first changes")
    stop(proc, "binlake run")
    seq_before = max(pipeline.staged_sequences(staging, DB, "acct") +
                     pipeline.staged_sequences(staging, DB, "log"))
    workload(cur, 200, 20)  # lost with the purged binlogs: only a new full load has them
    oldest = purge(cur)

    # (a) a restart stops at once with one line; staging and lake unchanged
    staged, laked = tree_hashes(staging), tree_hashes(lake_root)
    for command in ("capture", "run"):
        p = subprocess.run([BINLAKE, command, "--config", cfg], capture_output=True, text=True,
                           timeout=30)
        check(p.returncode != 0, f"{command} with a purged checkpoint exited 0")
        lines = p.stderr.splitlines()
        want = expected_line(command if command == "capture" else "run: capture", staging, oldest)
        check(lines == [want], f"{command}: stderr is not the one line\n  want: {want}\n"
                               f"  got:  {lines}")
        check(tree_hashes(staging) == staged, f"{command} with a purged checkpoint changed staging")
        check(tree_hashes(lake_root) == laked,
              f"{command} with a purged checkpoint changed the lake")

    # a purged start GTID (cdc without a checkpoint): the server's error 1236, the same line
    p = subprocess.run([BINLAKE, "capture", "--config", cfg, "--migration-type", "cdc", "--gtid",
                        "0-1-1", "--staging", os.path.join(tmp, "gtid-staging")],
                       capture_output=True, text=True, timeout=30)
    lines = p.stderr.splitlines()
    check(p.returncode != 0 and lines and lines[-1].startswith(
        "binlake: capture: the binlog the capture must resume from is gone: the start needs GTID "
        f"0-1-1, but the oldest binlog the server still has is {oldest} (SHOW BINARY LOGS;"),
        f"a purged start GTID: exit {p.returncode}, {lines}")

    # (b) --resnapshot: a new full load after every staged change file, then the changes
    proc = pipeline.spawn([BINLAKE, "run", "--config", cfg, "--resnapshot"], stderr=logs)
    caught_up("after --resnapshot")
    for t in tables:
        with open(os.path.join(staging, "_binlake", "files", DB, t, "LOAD00000001.csv.json")) as f:
            after = json.load(f)["after_sequence"]
        check(after == seq_before, f"{t}: LOAD after_sequence {after}, want {seq_before}")
        check(lake.txn_version(t) >= seq_before, f"{t}: txn {lake.txn_version(t)} went back")
    workload(cur, 300, 20)
    caught_up("changes after the re-load")
    stop(proc, "binlake run --resnapshot")
    verify_and_reapply("round 1")

    # ---- round 2: the capture alone (its files not applied), purge, the config's policy
    proc = pipeline.spawn([BINLAKE, "capture", "--config", cfg], stderr=logs)
    workload(cur, 400, 20)
    target = pipeline.master_position(cur)
    deadline = time.time() + 30
    while time.time() < deadline and (pipeline.checkpoint_position(staging) or ("", 0)) < target:
        time.sleep(0.05)
    stop(proc, "binlake capture")
    unapplied = [s for s in pipeline.staged_sequences(staging, DB, "acct")
                 if s > lake.txn_version("acct")]
    check(unapplied, "round 2: the capture staged no change file the lake lacks")
    workload(cur, 500, 20)
    oldest = purge(cur)
    proc = pipeline.spawn([BINLAKE, "run", "--config", policy_cfg], stderr=logs)
    caught_up("after when_purged = resnapshot")
    workload(cur, 600, 10)
    caught_up("changes after the second re-load")
    stop(proc, "binlake run (when_purged = resnapshot)")
    verify_and_reapply("round 2")

    # ---- round 3: a long-running `binlake trigger` that handed the old LOAD files over already;
    # no change after the re-load, so only the re-load's LOAD files bring the lake up to date
    trig = pipeline.spawn([BINLAKE, "trigger", "--config", cfg], stderr=logs)
    proc = pipeline.spawn([BINLAKE, "capture", "--config", cfg], stderr=logs)
    workload(cur, 700, 10)
    caught_up("round 3 changes")
    stop(proc, "binlake capture")
    workload(cur, 800, 10)
    purge(cur)
    proc = pipeline.spawn([BINLAKE, "capture", "--config", cfg, "--resnapshot"], stderr=logs)
    caught_up("round 3 re-load under a running trigger")
    workload(cur, 900, 5)
    caught_up("round 3 changes after the re-load")
    stop(proc, "binlake capture --resnapshot")
    stop(trig, "binlake trigger")
    verify_and_reapply("round 3")

    logs.close()
    cur.execute(f"DROP DATABASE {DB}")
    print(f"purged binlog: {time.time() - started:.1f} s, {len(FAILS)} failures", flush=True)
    if FAILS:
        with open(logs.name) as f:
            print(f.read()[-3000:], file=sys.stderr)
        sys.exit(1)
    shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
