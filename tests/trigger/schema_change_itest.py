#!/usr/bin/env python3
"""Schema changes under `binlake run` (docs/lake.md "Schema changes"): ADD, MODIFY (widening),
RENAME and DROP COLUMN, a changed primary key and a change of a table without one, each with
inserts, updates, deletes and key moves before and after, while the pipeline runs. After each step
the lake (read by delta-rs) equals the source, its Delta types are the widened ones, a dropped
column is kept with its old values; `binlake verify` exits 0; a change the lake cannot follow
(a narrowing) stops that table with one line and leaves its lake table unchanged; re-applying every
staging file changes nothing.

usage: schema_change_itest.py BINLAKE
"""
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testing"))
import pipeline  # noqa: E402

BINLAKE = sys.argv[1]
DB = "schemachg_%d" % os.getpid()
SERVER = pipeline.TestServer()
FAILS = []


def check(cond, msg):
    if not cond:
        FAILS.append(msg)
        print("FAIL: " + msg, file=sys.stderr)
    return cond


class Workload:
    """Random inserts, updates, key moves and deletes on a table with an integer key `id`."""

    def __init__(self, cur, rng):
        self.cur, self.rng = cur, rng
        self.ids = {}

    def run(self, table, n, insert_cols):
        ids = self.ids.setdefault(table, [])
        cur, rng = self.cur, self.rng
        for _ in range(n):
            r = rng.random()
            if r < 0.4 or len(ids) < 5:
                k = (max(ids) + 1) if ids else 1
                vals = [k] + [gen(rng) for gen in insert_cols.values()]
                marks = ", ".join(["%s"] * len(vals))
                cur.execute(f"INSERT INTO {DB}.{table} (id, {', '.join(insert_cols)}) "
                            f"VALUES ({marks})", vals)
                ids.append(k)
            elif r < 0.75:
                c = rng.choice(list(insert_cols))
                cur.execute(f"UPDATE {DB}.{table} SET {c} = %s WHERE id = %s",
                            (insert_cols[c](rng), rng.choice(ids)))
            elif r < 0.85:
                k, n2 = rng.choice(ids), max(ids) + 1
                cur.execute(f"UPDATE {DB}.{table} SET id = %s WHERE id = %s", (n2, k))
                ids.remove(k)
                ids.append(n2)
            else:
                k = rng.choice(ids)
                cur.execute(f"DELETE FROM {DB}.{table} WHERE id = %s", (k,))
                ids.remove(k)


def lake_schema(lake, table):
    dt = lake.table(table)
    return {f["name"]: f["type"] for f in json.loads(dt.schema().to_json())["fields"]}


def compare(cur, lake, table):
    """Differences between the source and the lake over the source's columns."""
    cols = pipeline.columns(cur, DB, table)
    dt = lake.table(table)
    if dt is None:
        return ["no lake table"]
    data = dt.to_pyarrow_table().select([c.name for c in cols])
    lists = [data.column(c.name).to_pylist() for c in cols]
    rows = [tuple(pipeline.norm_lake(c, v) for c, v in zip(cols, vals)) for vals in zip(*lists)]
    return pipeline.diff_rows(pipeline.source_rows(cur, DB, table, cols), rows, cols)


def wait_equal(cur, lake, tables, timeout=60):
    deadline = time.time() + timeout
    problems = []
    while time.time() < deadline:
        try:
            problems = [f"{t}: {p}" for t in tables for p in compare(cur, lake, t)]
        except Exception as e:  # noqa: BLE001 - a column not in the lake yet
            problems = [str(e)]
        if not problems:
            return []
        time.sleep(0.1)
    return problems


def main():
    rng = random.Random(int(os.environ.get("SEED", "11")))
    admin = SERVER.connect()
    cur = admin.cursor()
    cur.execute(f"DROP DATABASE IF EXISTS {DB}")
    cur.execute(f"CREATE DATABASE {DB}")
    cur.execute(f"CREATE TABLE {DB}.acct (id INT PRIMARY KEY, v INT, s VARCHAR(10), "
                f"d DECIMAL(6,2), f FLOAT, day DATE)")
    cur.execute(f"CREATE TABLE {DB}.nokey (a INT, b VARCHAR(8))")
    cur.execute(f"CREATE TABLE {DB}.narrow (id INT PRIMARY KEY, x VARCHAR(10))")
    cur.execute(f"CREATE TABLE {DB}.gone (id INT PRIMARY KEY, v INT)")
    cur.execute(f"INSERT INTO {DB}.gone VALUES (1, 1), (2, 2)")
    w = Workload(cur, rng)
    acct_cols = {"v": lambda r: r.randint(-1000, 1000), "s": lambda r: r.choice(["a", "bb", None]),
                 "d": lambda r: f"{r.randint(-9999, 9999) / 100:.2f}",
                 "f": lambda r: r.choice([0.5, -2.25, None]),
                 "day": lambda r: r.choice(["2024-02-29", None])}
    w.run("acct", 60, acct_cols)
    cur.execute(f"INSERT INTO {DB}.nokey VALUES (1,'x'),(1,'x'),(2,NULL),(3,'y')")
    cur.execute(f"INSERT INTO {DB}.narrow VALUES (1,'2024-01-01'),(2,'2024-01-02')")
    tables = ("acct", "nokey", "narrow", "gone")
    tmp = tempfile.mkdtemp(prefix="binlake-schemachg-")
    staging, lake_root = os.path.join(tmp, "staging"), os.path.join(tmp, "lake")
    cfg = pipeline.write_config(os.path.join(tmp, "run.toml"), port=SERVER.port,
                                password_file=SERVER.password_file,
                                server_id=9000 + os.getpid() % 1000, staging=staging,
                                lake=lake_root, include=[f"{DB}.*"], interval_ms=150, buckets=4)
    lake = pipeline.Lake(lake_root, DB)
    log_path = os.path.join(tmp, "run.log")
    log = open(log_path, "w")
    os.umask(0)  # binlake's files must be 0640 and its folders 0750 whatever the umask
    proc = pipeline.spawn([BINLAKE, "run", "--config", cfg], stderr=log)
    check(not wait_equal(cur, lake, tables), "the full load did not reach the lake")

    steps = [
        ("add a column", ["ALTER TABLE {db}.acct ADD COLUMN n BIGINT NULL AFTER v"],
         {"n": lambda r: r.randint(0, 1 << 40)}),
        ("widen three columns",
         ["ALTER TABLE {db}.acct MODIFY v BIGINT, MODIFY d DECIMAL(12,4), MODIFY f DOUBLE, "
          "MODIFY day DATETIME"], {}),
        ("rename a column", ["ALTER TABLE {db}.acct RENAME COLUMN s TO label"], {}),
        ("drop a column", ["ALTER TABLE {db}.acct DROP COLUMN n"], {}),
        ("change the primary key",
         ["ALTER TABLE {db}.acct DROP PRIMARY KEY, ADD PRIMARY KEY (id, v)"], {}),
        ("change a table without a key", ["ALTER TABLE {db}.nokey ADD COLUMN c INT"], {}),
        # Rows that existed get the default (read from information_schema), as in the source.
        ("add columns with defaults",
         ["ALTER TABLE {db}.acct ADD COLUMN z INT NOT NULL DEFAULT 7, "
          "ADD COLUMN w VARCHAR(8) DEFAULT 'it''s', ADD COLUMN q DECIMAL(5,2) NOT NULL"],
         {"q": lambda r: f"{r.randint(0, 9999) / 100:.2f}"}),
        # The kept n gives way: rows that existed hold NULL, as in the source.
        ("add a dropped column back", ["ALTER TABLE {db}.acct ADD COLUMN n INT NULL"],
         {"n": lambda r: r.randint(0, 100)}),
    ]
    kept_n = None
    for name, ddl, new_cols in steps:
        before = {k: v for k, v in acct_cols.items()}
        for q in ddl:
            cur.execute(q.format(db=DB))
        if name == "rename a column":
            acct_cols["label"] = acct_cols.pop("s")
        if name == "drop a column":
            # The lake keeps n: its values as they were for the rows not written since.
            acct_cols.pop("n")
            cur.execute(f"SELECT id FROM {DB}.acct ORDER BY id LIMIT 1")
            first = cur.fetchone()[0]
        acct_cols.update(new_cols)
        if name == "change a table without a key":
            cur.execute(f"INSERT INTO {DB}.nokey VALUES (1,'x',5),(4,'z',NULL)")
            cur.execute(f"DELETE FROM {DB}.nokey WHERE a = 1 AND c IS NULL LIMIT 1")
            cur.execute(f"UPDATE {DB}.nokey SET b = 'w' WHERE a = 2")
        else:
            if name == "drop a column":
                w.ids["acct"] = [i for i in w.ids["acct"] if i != first]
            w.run("acct", 80, acct_cols)
        problems = wait_equal(cur, lake, tables)
        check(not problems, f"after '{name}': the lake differs: {problems[:3]}")
        del before
        if name == "drop a column":
            dt = lake.table("acct")
            data = dt.to_pyarrow_table()
            check("n" in data.column_names, "the dropped column n is not kept in the lake")
            if "n" in data.column_names:
                ns = dict(zip(data.column("id").to_pylist(), data.column("n").to_pylist()))
                kept_n = ns.get(first, "missing")
    # An ALTER with no row change after it: the capture, at the server's last event, reads the
    # table from information_schema, so the lake follows without waiting for a row event.
    cur.execute(f"ALTER TABLE {DB}.acct ADD COLUMN solo VARCHAR(8) NOT NULL DEFAULT 'none'")
    deadline = time.time() + 30
    while time.time() < deadline and "solo" not in lake_schema(lake, "acct"):
        time.sleep(0.1)
    check("solo" in lake_schema(lake, "acct"),
          "an ALTER without a row change after it did not reach the lake in 30 s")
    problems = wait_equal(cur, lake, ("acct",))
    check(not problems, f"after an ALTER without rows: the lake differs: {problems[:3]}")
    check(any(f"schema of {DB}.acct changed" in line and "(from information_schema)" in line
              for line in open(log_path).read().splitlines()),
          "no log line of the schema version read from information_schema")
    # TRUNCATE, then rows; DROP TABLE empties the lake table; a new table of that name follows.
    cur.execute(f"TRUNCATE TABLE {DB}.nokey")
    cur.execute(f"INSERT INTO {DB}.nokey VALUES (7,'after',1),(7,'after',1)")
    cur.execute(f"DROP TABLE {DB}.gone")
    problems = wait_equal(cur, lake, ("nokey",))
    check(not problems, f"after TRUNCATE: the lake differs: {problems[:3]}")
    deadline = time.time() + 30
    while time.time() < deadline and lake.table("gone").to_pyarrow_table().num_rows:
        time.sleep(0.1)
    check(lake.table("gone").to_pyarrow_table().num_rows == 0,
          "DROP TABLE did not empty the lake table")
    cur.execute(f"CREATE TABLE {DB}.gone (id INT PRIMARY KEY, w VARCHAR(5))")
    cur.execute(f"INSERT INTO {DB}.gone VALUES (5, 'new')")
    problems = wait_equal(cur, lake, ("gone",))
    check(not problems, f"a table created again: the lake differs: {problems[:3]}")
    # A table created while the pipeline runs (CREATE ... SELECT logs its rows) is picked up.
    cur.execute(f"CREATE TABLE {DB}.fresh (id INT PRIMARY KEY, v VARCHAR(5)) "
                f"SELECT seq AS id, 'x' AS v FROM mysql.seq_1_to_50")
    cur.execute(f"UPDATE {DB}.fresh SET v = 'y' WHERE id < 10")
    problems = wait_equal(cur, lake, ("fresh",))
    check(not problems, f"a table created while running: the lake differs: {problems[:3]}")
    cur.execute(f"RENAME TABLE {DB}.gone TO {DB}.gone2")
    time.sleep(1.0)
    check(lake.table("gone").to_pyarrow_table().num_rows == 0,
          "RENAME TABLE did not empty the old name's lake table")
    # The new name is loaded from a snapshot taken right after the RENAME, then followed.
    problems = wait_equal(cur, lake, ("gone2",))
    check(not problems, f"a table renamed into the capture: the lake differs: {problems[:3]}")
    cur.execute(f"INSERT INTO {DB}.gone2 VALUES (6, 'six')")
    cur.execute(f"UPDATE {DB}.gone2 SET w = 'five' WHERE id = 5")
    problems = wait_equal(cur, lake, ("gone2",))
    check(not problems, f"changes after a rename: the lake differs: {problems[:3]}")
    renamed = [line for line in open(log_path).read().splitlines()
               if f"table {DB}.gone2 was renamed into the capture: full load of 1 rows" in line]
    check(len(renamed) == 1, f"RENAME TABLE's message: {renamed}")
    schema = lake_schema(lake, "acct")
    want = {"id": "integer", "v": "long", "label": "string", "d": "decimal(12,4)", "f": "double",
            "day": "timestamp_ntz", "n": "integer", "z": "integer", "w": "string",
            "q": "decimal(5,2)", "solo": "string"}
    check(schema == want, f"acct's lake schema {schema}, want {want}")
    check(kept_n != "missing", "the kept column lost a row")
    # A narrowing the lake cannot follow: that table stops with one line, its lake unchanged.
    narrow_version = lake.table("narrow").version()
    cur.execute(f"ALTER TABLE {DB}.narrow MODIFY x DATE")
    cur.execute(f"INSERT INTO {DB}.narrow VALUES (3, '2024-01-03')")
    w.run("acct", 30, acct_cols)
    check(not wait_equal(cur, lake, ("acct", "nokey")), "acct and nokey stopped following")
    time.sleep(1.0)
    log.flush()
    lines = [line for line in open(log_path).read().splitlines() if "narrow" in line and
             "stopped" in line]
    check(len(lines) == 1 and "changes from string to date" in lines[0] and
          "new full load" in lines[0], f"the narrowing's message: {lines}")
    check(lake.table("narrow").version() == narrow_version, "the narrowing changed the lake")
    schema_lines = [line for line in open(log_path).read().splitlines() if "schema change of" in line]
    print("\n".join(schema_lines))
    check(len(schema_lines) >= 6, f"{len(schema_lines)} schema change lines in the log")
    proc.send_signal(signal.SIGINT)
    rc = proc.wait(timeout=60)
    log.close()
    check(rc != 0, "binlake run exited 0 with a stopped table")
    cur.execute(f"DROP TABLE {DB}.narrow")
    cur.execute(f"DROP TABLE {DB}.gone2")
    v = subprocess.run([BINLAKE, "verify", "--config", cfg, "--table", f"{DB}.acct",
                        "--table", f"{DB}.nokey", "--table", f"{DB}.gone", "--table",
                        f"{DB}.fresh"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    check(v.returncode == 0, f"binlake verify exited {v.returncode}: {v.stdout[-1500:]}"
          f"{v.stderr[-500:]}")
    versions = {t: lake.table(t).version() for t in ("acct", "nokey")}
    files = [pipeline.join(staging, DB, t, n) for t in ("acct", "nokey")
             for n in sorted(pipeline.list_names(pipeline.join(staging, DB, t)))
             if n.endswith(".csv") and not n.startswith(".")]
    p = subprocess.run([BINLAKE, "apply", "--config", cfg] + files, stderr=subprocess.PIPE)
    check(p.returncode == 0, "re-applying every file failed: " + p.stderr.decode()[-300:])
    lake = pipeline.Lake(lake_root, DB)
    again = {t: lake.table(t).version() for t in ("acct", "nokey")}
    check(again == versions, f"re-applying every staging file changed the lake: {versions} -> {again}")
    modes = {}
    for base in (staging, lake_root):
        for d, dirs, names in os.walk(base):
            for n in dirs + names:
                m = os.stat(os.path.join(d, n)).st_mode & 0o777
                modes[oct(m)] = modes.get(oct(m), 0) + 1
    check(set(modes) <= {"0o640", "0o750"}, f"file and folder modes under umask 000: {modes}")
    cur.execute(f"DROP DATABASE {DB}")
    print(f"schema_change: modes {modes}; {len(steps)} schema changes followed, lake versions {versions}; "
          f"{len(FAILS)} failures")
    sys.exit(1 if FAILS else 0)


if __name__ == "__main__":
    main()
