#!/usr/bin/env python3
"""The CSV lake ([lake] format = "csv") read back by DuckDB and Python's csv module, and
`binlake apply --config` reading staging files in the config's [capture.csv] dialect.

Writes staging files directly (docs/staging.md) in a non-default dialect (delimiter `|`, NULL
token `NULL`, header row, a timestamp column), applies them with `binlake apply --config` (CSV
lake and Delta lake) and `binlake trigger --once` (CSV lake), and checks the rows exactly.
usage: lake_csv_test.py BINLAKE
"""
import csv
import glob
import hashlib
import json
import os
import subprocess
import sys
import tempfile

import deltalake
import duckdb

BINLAKE = sys.argv[1]
COLS = [("id", "int", 3, 0), ("name", "varchar(20)", 15, -1), ("note", "text", 252, -1),
        ("amount", "decimal(10,2)", 246, -1)]
TS = "2024-01-01 00:00:00.000000"


def pos(p):
    return {"file": "binlog.000001", "pos": p, "gtid": ""}


def field(v):
    """One field in the test dialect: NULL unquoted, anything special quoted."""
    if v is None:
        return "NULL"
    if v == "NULL" or any(c in v for c in '|"\n\r') or v == "":
        return '"' + v.replace('"', '""') + '"'
    return v


def write(staging, name, kind, seq, rows):
    tdir = os.path.join(staging, "db", "t")
    mdir = os.path.join(staging, "_binlake", "files", "db", "t")
    os.makedirs(tdir, exist_ok=True)
    os.makedirs(mdir, exist_ok=True)
    names = [c[0] for c in COLS]
    head = ["ts"] + names if kind == "load" else ["Op", "ts"] + names
    lines = ["|".join(head)]
    for r in rows:
        lead = [TS] if kind == "load" else [r[0], TS]
        cells = r if kind == "load" else r[1:]
        lines.append("|".join([field(x) for x in lead + list(cells)]))
    data = "".join(l + "\n" for l in lines).encode()
    manifest = {"name": name, "schema": "db", "table": "t", "kind": kind, "sequence": seq,
                "schema_version": 1, "rows": len(rows), "inserts": 0, "updates": 0,
                "deletes": 0, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(),
                "start": pos(4), "end": pos(4), "first_commit": TS, "last_commit": TS}
    with open(os.path.join(mdir, name + ".json"), "w") as f:
        json.dump(manifest, f, indent=2)
    with open(os.path.join(tdir, name), "wb") as f:
        f.write(data)
    return os.path.join(tdir, name)


def run(*args):
    out = subprocess.run([BINLAKE, *args], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout


def duckdb_rows(table):
    con = duckdb.connect()
    rel = con.execute(
        "SELECT id, name, note, amount FROM read_csv(?, delim='|', header=true, "
        "nullstr='NULL', allow_quoted_nulls=false, all_varchar=true, quote='\"', escape='\"')",
        [os.path.join(table, "bucket=*", "*.csv")])
    return {int(r[0]): tuple(r) for r in rel.fetchall()}


def csv_module_rows(table):
    rows = {}
    for path in sorted(glob.glob(os.path.join(table, "bucket=*", "*.csv"))):
        with open(path, newline="") as f:
            reader = csv.reader(f, delimiter="|")
            assert next(reader) == [c[0] for c in COLS], path
            for r in reader:
                r = [None if x == "NULL" else x for x in r]  # no value here is the string NULL
                assert int(r[0]) not in rows, r
                rows[int(r[0])] = tuple(r)
    return rows


def main():
    with tempfile.TemporaryDirectory() as d:
        staging = os.path.join(d, "staging")
        sdir = os.path.join(staging, "_binlake", "schemas", "db", "t")
        os.makedirs(sdir)
        cols = [{"name": n, "mysql_type": t, "binlog_type": b, "binlog_meta": 0, "nullable": True,
                 "unsigned": False, "collation": 63, "enum_values": [], "pk_position": p}
                for n, t, b, p in COLS]
        with open(os.path.join(sdir, "00001.json"), "w") as f:
            json.dump({"schema": "db", "table": "t", "version": 1, "since": pos(4),
                       "columns": cols}, f, indent=2)
        os.makedirs(os.path.join(staging, "_binlake"), exist_ok=True)
        with open(os.path.join(staging, "_binlake", "checkpoint.json"), "w") as f:
            json.dump({"full_load_done": True}, f)  # what the trigger waits for before LOADs

        want = {i: (str(i), "n%d" % i, "x", "%d.50" % i) for i in range(1, 31)}
        files = [write(staging, "LOAD00000001.csv", "load", 1, list(want.values()))]
        changes = [
            [("U", "3", "three|pipe", 'say "hi"\nbye', "3.50")],  # quoting, a line break
            [("U", "4", "", None, None), ("D", "5", "n5", "x", "5.50")],  # "" and NULL
            [("I", "31", "NULL", "the string NULL", "0.01")],  # a value equal to the token
            [("D", "6", "n6", "x", "6.50"), ("I", "60", "moved", "x", "6.50")],  # a key move
        ]
        for seq, rows in enumerate(changes, 1):
            for r in rows:
                if r[0] == "D":
                    del want[int(r[1])]
                else:
                    want[int(r[1])] = r[1:]
            files.append(write(staging, "20240101-000000000-%010d.csv" % seq, "cdc", seq, rows))

        def config(lake, fmt):
            path = os.path.join(d, fmt + ".toml")
            with open(path, "w") as f:
                f.write(f"""[source]
server_id = 1

[capture]
staging = "{staging}"

[capture.csv]
delimiter = "|"
null_value = "NULL"
header = true
timestamp_column = "ts"

[lake]
path = "{lake}"
format = "{fmt}"
buckets = 4
""")
            return path

        # binlake apply --config: the CSV lake in the staging dialect.
        lake = os.path.join(d, "csvlake")
        cfg = config(lake, "csv")
        out = run("apply", "--config", cfg, *files)
        assert out.startswith("commits=5 "), out
        out = run("apply", "--config", cfg, *files)
        assert out.startswith("commits=0 skipped=5 "), out
        table = os.path.join(lake, "db", "t")
        assert duckdb_rows(table) == want, (duckdb_rows(table), want)
        plain = {k: v for k, v in want.items() if k != 31}
        got = {k: v for k, v in csv_module_rows(table).items() if k != 31}
        assert got == plain, got
        with open(os.path.join(table, "_binlake_state.json")) as f:
            state = json.load(f)
        assert state["sequence"] == 4, state
        on_disk = {os.path.relpath(p, table) for p in glob.glob(os.path.join(table, "*", "*.csv"))}
        assert on_disk == set(state["files"].values()), (on_disk, state)

        # binlake trigger --once with format = "csv" applies the same table.
        lake2 = os.path.join(d, "csvlake2")
        cfg2 = config(lake2, "csv")
        p = subprocess.run([BINLAKE, "trigger", "--config", cfg2, "--once"],
                           capture_output=True, text=True)
        assert p.returncode == 0, p.stderr
        assert duckdb_rows(os.path.join(lake2, "db", "t")) == want

        # binlake apply --config into Delta reads the same dialect (it ignored it before).
        delta = os.path.join(d, "delta")
        out = run("apply", "--config", config(delta, "delta"), *files)
        assert out.startswith("commits=5 "), out
        rows = deltalake.DeltaTable(os.path.join(delta, "db", "t")).to_pyarrow_table().to_pylist()
        got = {r["id"]: (str(r["id"]), r["name"], r["note"],
                         None if r["amount"] is None else str(r["amount"])) for r in rows}
        assert got == want, got
        print("ok: CSV lake of %d rows read by DuckDB and csv; Delta from the same config"
              % len(want))
    sys.stdout.flush()
    os._exit(0)  # delta-rs' runtime threads can abort the interpreter's teardown


if __name__ == "__main__":
    main()
