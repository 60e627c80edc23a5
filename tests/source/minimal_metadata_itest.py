#!/usr/bin/env python3
"""Schema changes without binlog_row_metadata=FULL (docs/lake.md "Schema changes"): the TABLE_MAP
carries column types but no names, so a changed table is read from information_schema when its
columns there have exactly the TABLE_MAP's types. The capture is stopped while the source changes,
so it lags behind and cannot take the DDL's own moment:

1. ADD COLUMN ... DEFAULT, then rows: the new version comes from information_schema at the first
   TABLE_MAP, the lake gets the column (the default in the rows that existed) and equals the
   source; `binlake verify` exits 0.
2. ADD COLUMN twice with rows in between: at the first TABLE_MAP information_schema already shows
   the second column too, so the types differ and the capture stops with one line that asks for
   binlog_row_metadata=FULL, and stages nothing of those rows.

binlog_row_metadata is set back to FULL at the end, however the test ends.

usage: minimal_metadata_itest.py BINLAKE
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testing"))
import pipeline  # noqa: E402

BINLAKE = sys.argv[1]
DB = "minimal_%d" % os.getpid()
SERVER = pipeline.TestServer()
FAILS = []


def check(cond, msg):
    if not cond:
        FAILS.append(msg)
        print("FAIL: " + msg, file=sys.stderr)
    return cond


def run_until_caught_up(cfg, cur, staging, lake, log_path):
    """`binlake run` until the lake has everything committed so far; False if it did not."""
    with open(log_path, "a") as log:
        p = pipeline.spawn([BINLAKE, "run", "--config", cfg], stdout=log, stderr=log)
        ok = pipeline.wait_caught_up(cur, staging, lake, ["t"], timeout=60)
        p.send_signal(signal.SIGINT)
        p.wait(timeout=60)
    return ok


def main():
    tmp = tempfile.mkdtemp(prefix="binlake-minimal-")
    c = SERVER.connect()
    cur = c.cursor()
    cur.execute(f"CREATE DATABASE {DB}")
    cur.execute(f"CREATE TABLE {DB}.t (id INT PRIMARY KEY, v VARCHAR(10))")
    cur.execute(f"INSERT INTO {DB}.t VALUES (1, 'a'), (2, 'b')")
    staging, lake_root = os.path.join(tmp, "staging"), os.path.join(tmp, "lake")
    cfg = pipeline.write_config(
        os.path.join(tmp, "binlake.toml"), port=SERVER.port, password_file=SERVER.password_file,
        server_id=5000 + os.getpid() % 1000, staging=staging, lake=lake_root,
        include=[f"{DB}.t"])
    log_path = os.path.join(tmp, "run.log")
    lake = pipeline.Lake(lake_root, DB)
    try:
        check(run_until_caught_up(cfg, cur, staging, lake, log_path), "the full load did not land")
        cur.execute("SET GLOBAL binlog_row_metadata = 'MINIMAL'")
        c2 = SERVER.connect()  # a session started after the change
        cur2 = c2.cursor()
        cur2.execute(f"ALTER TABLE {DB}.t ADD COLUMN n INT NOT NULL DEFAULT 5")
        cur2.execute(f"INSERT INTO {DB}.t VALUES (3, 'c', 7)")
        cur2.execute(f"UPDATE {DB}.t SET v = 'bb' WHERE id = 2")
        check(run_until_caught_up(cfg, cur, staging, lake, log_path),
              "the rows after ADD COLUMN did not land")
        cols = pipeline.columns(cur, DB, "t")
        diff = pipeline.diff_rows(pipeline.source_rows(cur, DB, "t", cols),
                                  pipeline.lake_rows(lake, "t", cols), cols)
        check(not diff, f"after ADD COLUMN without names: the lake differs: {diff[:3]}")
        log = open(log_path).read()
        check("(from information_schema: the binlog carries no column names)" in log,
              "no log line of the version read from information_schema")
        v = subprocess.run([BINLAKE, "verify", "--config", cfg], capture_output=True, text=True)
        check(v.returncode == 0, f"verify exited {v.returncode}: {v.stdout[-300:]}{v.stderr[-300:]}")

        # Two ALTERs with rows in between, read late: the types no longer match.
        cur2.execute(f"ALTER TABLE {DB}.t ADD COLUMN m INT NULL")
        cur2.execute(f"INSERT INTO {DB}.t VALUES (4, 'd', 8, 1)")
        cur2.execute(f"ALTER TABLE {DB}.t ADD COLUMN k VARCHAR(3) NULL")
        cur2.execute(f"INSERT INTO {DB}.t VALUES (5, 'e', 9, 2, 'x')")
        before = pipeline.staged_sequences(staging, DB, "t")
        with open(log_path, "a") as out:
            p = subprocess.run([BINLAKE, "run", "--config", cfg], stdout=out, stderr=out,
                               timeout=60)
        lines = open(log_path).read().splitlines()
        check(p.returncode != 0, "binlake run went on past a TABLE_MAP it cannot name")
        check(any("the binlog carries no column names and the columns no longer match" in ln and
                  "set binlog_row_metadata=FULL" in ln for ln in lines),
              "no one-line error asking for binlog_row_metadata=FULL")
        check(pipeline.staged_sequences(staging, DB, "t") == before,
              "change files were staged for rows the capture could not name")
    finally:
        cur.execute("SET GLOBAL binlog_row_metadata = 'FULL'")
        cur.execute(f"DROP DATABASE IF EXISTS {DB}")
    if FAILS:
        print(f"kept {tmp}", file=sys.stderr)
        sys.exit(1)
    shutil.rmtree(tmp, ignore_errors=True)
    print("minimal metadata: OK")


if __name__ == "__main__":
    main()
