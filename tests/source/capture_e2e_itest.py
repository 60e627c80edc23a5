#!/usr/bin/env python3
"""`binlake capture` end to end against the test MariaDB, checked against the source.

usage: capture_e2e_itest.py BINLAKE

1. Tables of every type (tests/binlog/all_types.sql's schema, renamed), a composite-key table and a
   table without a primary key, with rows before the capture starts.
2. `binlake capture` (full-load-and-cdc) runs while a workload inserts, updates (moving keys too),
   deletes, and alters a table in the middle; then SIGINT: exit 0.
3. Replaying LOAD and change files per table gives the same rows as a fresh full load of the source
   (the full-load path is itself checked against SELECT by the Snapshot tests); key moves and
   updates without a key come out as D+I; the ALTER made a second schema version; every CSV has a
   manifest.
4. `binlake check` reports binlog_format=STATEMENT as an error; inserts-only mode keeps only I rows;
   `--from-binlog-files` over the server's binlogs gives the same final rows as the live capture.
"""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "testing"))
from staging_reader import Staging  # noqa: E402

BINLAKE = sys.argv[1]
PORT = int(os.environ["BINLAKE_TEST_MYSQL_PORT"])
DIR = os.environ["BINLAKE_TEST_MYSQL_DIR"]
SOCK = os.path.join(DIR, "mariadb.sock")
DB = "cap_e2e_%d" % os.getpid()
TYPES_DB = "cap_types_%d" % os.getpid()
FAILS = []


def check(cond, msg):
    if not cond:
        FAILS.append(msg)
        print("FAIL: " + msg, file=sys.stderr)


def sql(q, db=None):
    cmd = ["mariadb", "--no-defaults", "-uroot", "-S", SOCK, "-B", "-N"] + ([db] if db else [])
    p = subprocess.run(cmd + ["-e", q], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        sys.exit("capture_e2e: SQL failed: %s: %s" % (q[:200], p.stderr.decode().strip()))
    return [line.split("\t") for line in p.stdout.decode().split("\n") if line]


def master_pos():
    f, p = sql("SHOW MASTER STATUS")[0][:2]
    return f, int(p)


def write_config(path, staging, include, extra=""):
    os.chmod(os.path.join(DIR, "password"), 0o600)
    with open(path, "w") as f:
        f.write(f"""[source]
port = {PORT}
user = "binlake"
password_file = "{DIR}/password"
server_id = {4000 + os.getpid() % 1000}
heartbeat_ms = 100

[capture]
staging = "{staging}"
include = {json.dumps(include)}
min_retention_hours = 0

[capture.flush]
interval_ms = 200
{extra}
""")


def wait_staged(staging, timeout=30):
    """Until the checkpoint reaches the server's current binlog position."""
    target = master_pos()
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with open(os.path.join(staging, "_binlake", "checkpoint.json")) as f:
                cp = json.load(f)
            pos = cp.get("position") or {}
            if (pos.get("file", ""), int(pos.get("pos", 0))) >= target:
                return True
        except (OSError, ValueError):
            pass
        time.sleep(0.1)
    return False


def key_columns(st, schema, table):
    return st.key_columns(schema, table)


def main():
    tmp = tempfile.mkdtemp(prefix="binlake-capture-e2e-")
    # 1. the source
    with open(os.path.join(HERE, "..", "binlog", "all_types.sql")) as f:
        types_sql = f.read().replace("binlake_alltypes", TYPES_DB)
    p = subprocess.run(["mariadb", "--no-defaults", "-uroot", "-S", SOCK],
                       input=types_sql.encode(), stderr=subprocess.PIPE)
    if p.returncode:
        sys.exit("capture_e2e: all_types.sql failed: " + p.stderr.decode())
    sql(f"DROP DATABASE IF EXISTS {DB}; CREATE DATABASE {DB}")
    sql("CREATE TABLE multi (k1 INT, k2 VARCHAR(10), v INT, note TEXT, PRIMARY KEY (k1, k2))", DB)
    sql("CREATE TABLE nopk (a INT, b VARCHAR(10))", DB)
    sql("INSERT INTO multi VALUES (1,'a',1,'x'),(1,'b',2,NULL),(2,'a',3,'with,comma'),"
        "(3,'q',4,'quote\"d'),(4,'nl',5,'line\\nbreak'),(5,'e',6,'')", DB)
    sql("INSERT INTO nopk VALUES (1,'x'),(1,'x'),(2,'y'),(NULL,NULL)", DB)

    staging = os.path.join(tmp, "staging")
    cfg = os.path.join(tmp, "capture.toml")
    write_config(cfg, staging, [f"{DB}.*", f"{TYPES_DB}.*"])

    # 2. capture while the workload runs
    log = open(os.path.join(tmp, "capture.log"), "w")
    proc = subprocess.Popen([BINLAKE, "capture", "--config", cfg], stderr=log)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with open(os.path.join(staging, "_binlake", "checkpoint.json")) as f:
                if json.load(f).get("full_load_done"):
                    break
        except (OSError, ValueError):
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    check(proc.poll() is None, "capture exited during the full load (see %s)" % log.name)
    for i in range(20):
        sql(f"INSERT INTO multi VALUES ({100 + i}, 'w', {i}, REPEAT('z', {i}))", DB)
    sql("UPDATE multi SET v = v + 100 WHERE k1 < 3", DB)
    sql("UPDATE multi SET k2 = 'moved' WHERE k1 = 3", DB)  # a key move
    sql("DELETE FROM multi WHERE k1 = 4", DB)
    sql("UPDATE nopk SET b = 'changed' WHERE a = 2", DB)  # no key: D+I
    sql("DELETE FROM nopk WHERE a IS NULL", DB)
    sql("BEGIN; INSERT INTO nopk VALUES (7,'t'); UPDATE multi SET note = NULL WHERE k1 = 5;"
        " COMMIT", DB)
    sql("ALTER TABLE multi ADD COLUMN extra VARCHAR(5) NULL", DB)
    sql("INSERT INTO multi VALUES (200, 'after', 1, 'ddl', 'new')", DB)
    sql("UPDATE multi SET extra = 'upd' WHERE k1 = 100", DB)
    sql(f"UPDATE t_int SET id = id + 1000 WHERE id = 1", TYPES_DB)
    check(wait_staged(staging), "changes not staged within 30 s")
    proc.send_signal(signal.SIGINT)
    try:
        rc = proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        rc = "timeout"
    log.close()
    check(rc == 0, f"capture exit code {rc} after SIGINT (log {log.name})")

    # 3. replay == a fresh full load of the source
    st = Staging(staging)
    verify = os.path.join(tmp, "verify")
    vcfg = os.path.join(tmp, "verify.toml")
    write_config(vcfg, verify, [f"{DB}.*", f"{TYPES_DB}.*"])
    p = subprocess.run([BINLAKE, "capture", "--config", vcfg, "--migration-type", "full-load"],
                       stderr=subprocess.PIPE)
    check(p.returncode == 0, "verification full load failed: " + p.stderr.decode()[-500:])
    vs = Staging(verify)
    tables = st.tables()
    check(len(tables) >= 3, f"staged tables: {tables}")
    rows_checked = 0
    for schema, table in tables:
        keys = key_columns(st, schema, table)
        state = st.replay(schema, table, keys)
        expected = list(vs.load_rows(schema, table))
        if keys:
            got = sorted(state.values())
            exp = sorted(expected)
            # rows untouched since an ADD COLUMN keep the old width: compare their prefix
            got_fixed = []
            for row, full in zip(got, exp):
                got_fixed.append(row + full[len(row):] if len(row) < len(full) else row)
            check(len(got) == len(exp), f"{schema}.{table}: {len(got)} rows replayed, source has "
                  f"{len(exp)}")
            for g, e in zip(got_fixed, exp):
                if g != e:
                    check(False, f"{schema}.{table}: replayed {g} != source {e}")
                    break
            rows_checked += len(exp)
        else:
            exp = {}
            for row in expected:
                exp[tuple(row)] = exp.get(tuple(row), 0) + 1
            check(state == exp, f"{schema}.{table}: replayed {state} != source {exp}")
            rows_checked += len(expected)
        loads, changes = st.files(schema, table)
        for name in loads + changes:
            try:
                st.manifest(schema, table, name)
            except OSError:
                check(False, f"{schema}/{table}/{name} has no manifest")
    ops = [(op, row[:2]) for _, op, row in st.changes(DB, "multi")]
    check(("D", ["3", "q"]) in ops and ("I", ["3", "moved"]) in ops,
          f"the key move of multi (3,'q') is not D+I: {ops}")
    nopk_ops = [op for _, op, _ in st.changes(DB, "nopk")]
    check("U" not in nopk_ops, f"an update of the table without a key was written as U: {nopk_ops}")
    check(os.path.exists(os.path.join(staging, "_binlake", "schemas", DB, "multi", "00002.json")),
          "ALTER TABLE did not make schema version 2 of multi")

    # 4a. check
    p = subprocess.run([BINLAKE, "check", "--config", cfg], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    out = p.stdout.decode()
    check(p.returncode == 0, f"binlake check on a good server: exit {p.returncode}: {out}")
    check("warning" in out and "nopk" in out, f"check does not warn about nopk: {out}")
    sql("SET GLOBAL binlog_format = 'STATEMENT'")
    try:
        p = subprocess.run([BINLAKE, "check", "--config", cfg], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
    finally:
        sql("SET GLOBAL binlog_format = 'ROW'")
    out = p.stdout.decode()
    check(p.returncode == 1 and "binlog_format" in out,
          f"check with binlog_format=STATEMENT: exit {p.returncode}: {out}")

    # 4b. inserts-only replay of the server's binlog files, and the full replay
    datadir = os.path.join(DIR, "data")
    for mode, name in (("inserts-only", "ins"), ("all", "replay")):
        d = os.path.join(tmp, name)
        c = os.path.join(tmp, name + ".toml")
        write_config(c, d, [f"{DB}.*"], extra=f'[capture.csv]\ncdc_mode = "{mode}"\n')
        p = subprocess.run([BINLAKE, "capture", "--config", c, "--migration-type", "cdc",
                            "--from-binlog-files", datadir], stderr=subprocess.PIPE)
        check(p.returncode == 0, f"--from-binlog-files ({mode}) failed: {p.stderr.decode()[-400:]}")
        r = Staging(d)
        if mode == "inserts-only":
            ops = {op for t in r.tables() for _, op, _ in r.changes(*t)}
            check(ops == {"I"}, f"inserts-only wrote ops {ops}")
        else:
            for table in ("multi", "nopk"):
                keys = key_columns(st, DB, table)
                live = st.replay(DB, table, keys)
                replayed = r.replay(DB, table, keys)
                check(live == replayed, f"{DB}.{table}: --from-binlog-files state differs from the "
                      f"live capture")

    sql(f"DROP DATABASE {DB}; DROP DATABASE {TYPES_DB}")
    print(f"capture_e2e: {len(tables)} tables, {rows_checked} rows checked, "
          f"{len(FAILS)} failures")
    sys.exit(1 if FAILS else 0)


if __name__ == "__main__":
    main()
