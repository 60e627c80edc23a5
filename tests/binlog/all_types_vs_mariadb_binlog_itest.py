#!/usr/bin/env python3
"""Every MariaDB column type through binlake, checked against mariadb-binlog and against SELECT.

usage: all_types_vs_mariadb_binlog_itest.py BINLAKE

Needs the test server CTest starts (fixture `mariadb`): BINLAKE_TEST_MYSQL_DIR holds its socket
(mariadb.sock; root without password). Steps:
  1. FLUSH BINARY LOGS, run tests/binlog/all_types.sql (tables with every type; multi-row INSERTs,
     UPDATEs incl. primary-key changes, DELETEs), FLUSH BINARY LOGS again;
  2. compare_mariadb_binlog.py on the binlog file(s) written, with the tables' column charsets and
     types from information_schema (--columns);
  3. replay binlake's row changes per table (keyed by `id`) and compare the final after-images with
     SELECT output (time_zone '+00:00'; strings as HEX(CONVERT(col USING utf8mb4)), binary and
     spatial columns as HEX(col), ENUM/SET/BIT as col+0, FLOAT as CAST(col AS DOUBLE)).
Any difference fails with a line naming table, id, column and both values.
"""
import base64
import json
import math
import os
import struct
import subprocess
import sys
import tempfile
from decimal import Decimal, InvalidOperation

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA = "binlake_alltypes"
INT_TYPES = {"tinyint", "smallint", "mediumint", "int", "bigint"}
TEXT_TYPES = {"char", "varchar", "tinytext", "text", "mediumtext", "longtext"}
BINARY_TYPES = {"binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"}
GEO_TYPES = {"geometry", "point", "linestring", "polygon", "multipoint", "multilinestring",
             "multipolygon", "geometrycollection"}
TEMPORAL_TYPES = {"date", "datetime", "timestamp", "time"}


def fail_env(msg):
    print(f"all_types_vs_mariadb_binlog: {msg}", file=sys.stderr)
    sys.exit(2)


class Server:
    def __init__(self, sock):
        self.base = ["mariadb", "--no-defaults", "-uroot", "-S", sock]

    def query(self, sql, db=None):
        cmd = self.base + ["-B", "-N"] + ([db] if db else []) + ["-e", sql]
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if p.returncode != 0:
            fail_env(f"query failed: {sql[:200]}: {p.stderr.decode(errors='replace').strip()}")
        return [line.split("\t") for line in p.stdout.decode("utf-8").split("\n") if line != ""]

    def run_file(self, path):
        with open(path, "rb") as f:
            p = subprocess.run(self.base, stdin=f, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if p.returncode != 0:
            fail_env(f"{path} failed: {p.stderr.decode(errors='replace').strip()}")


def select_expr(col):
    name, dt = f"`{col['name']}`", col["data_type"]
    if dt in TEXT_TYPES:
        return f"HEX(CONVERT({name} USING utf8mb4))"
    if dt in BINARY_TYPES or dt in GEO_TYPES:
        return f"HEX({name})"
    if dt in ("enum", "set", "bit"):
        return f"{name}+0"
    if dt == "float":
        return f"CAST({name} AS DOUBLE)"
    return name


def compare_cell(col, server_text, bv):
    """Returns None when equal, else a reason."""
    dt = col["data_type"]
    if server_text == "NULL" or bv is None:
        return None if server_text == "NULL" and bv is None else "NULL on one side only"
    if dt in INT_TYPES or dt in ("enum", "set", "bit"):
        if not isinstance(bv, int) or isinstance(bv, bool):
            return "binlake value is not an integer"
        return None if int(server_text) == bv else "integer differs"
    if dt == "year":
        return None if int(server_text) == bv else "YEAR differs"
    if dt == "decimal":
        try:
            return None if Decimal(server_text) == Decimal(bv) else "decimal differs"
        except (InvalidOperation, TypeError):
            return "decimal unreadable"
    if dt == "float":
        b = struct.unpack("<f", struct.pack("<f", float(bv)))[0]
        if float(server_text) == b:
            return None
        return None if math.isclose(float(server_text), b, rel_tol=1e-6) else "float differs"
    if dt == "double":
        return None if float(server_text) == float(bv) else "double differs"
    if dt in TEMPORAL_TYPES:
        return None if server_text == bv else "temporal text differs"
    if dt in TEXT_TYPES:
        if not isinstance(bv, str) or bv.startswith("base64:"):
            return f"{col['charset']} text column: binlake did not print a string"
        text = bytes.fromhex(server_text).decode("utf-8")
        return None if text == bv else f"{col['charset']} text differs (server: {json.dumps(text)})"
    if dt in BINARY_TYPES:
        if not isinstance(bv, str) or not bv.startswith("base64:"):
            return "binary column: binlake did not print base64:<bytes>"
        return None if base64.b64decode(bv[7:]) == bytes.fromhex(server_text) else "bytes differ"
    if dt in GEO_TYPES:
        if not isinstance(bv, dict):
            return "binlake GEOMETRY is not {srid, wkb}"
        mine = struct.pack("<I", bv["srid"]) + bytes.fromhex(bv["wkb"])
        return None if mine == bytes.fromhex(server_text) else "geometry bytes differ"
    return f"no comparison for data type {dt}"


def short(v, limit=200):
    s = v if isinstance(v, str) else json.dumps(v, default=str)
    return s if len(s) <= limit else s[:limit] + f"...({len(s)} chars)"


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    binlake = argv[1]
    tdir = os.environ.get("BINLAKE_TEST_MYSQL_DIR")
    if not tdir:
        fail_env("BINLAKE_TEST_MYSQL_DIR is not set (run through ctest, fixture mariadb)")
    srv = Server(os.path.join(tdir, "mariadb.sock"))

    # 1. Write the binlog.
    srv.query("FLUSH BINARY LOGS")
    start = srv.query("SHOW MASTER STATUS")[0][0]
    basename = srv.query("SELECT @@log_bin_basename")[0][0]
    srv.run_file(os.path.join(HERE, "all_types.sql"))
    srv.query("FLUSH BINARY LOGS")
    names = [r[0] for r in srv.query("SHOW BINARY LOGS")]
    files = [os.path.join(os.path.dirname(basename), n) for n in names[names.index(start):-1]]
    print(f"binlog files written: {' '.join(files)}")

    # Column types and charsets.
    columns = {}
    for table, name, ctype, dtype, charset in srv.query(
            "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, DATA_TYPE, IFNULL(CHARACTER_SET_NAME, '') "
            f"FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '{SCHEMA}' "
            "ORDER BY TABLE_NAME, ORDINAL_POSITION"):
        if dtype in BINARY_TYPES:
            charset = "binary"
        columns.setdefault(f"{SCHEMA}.{table}", []).append(
            {"name": name, "column_type": ctype, "data_type": dtype, "charset": charset or None})

    failures = []

    # 2. binlake vs mariadb-binlog.
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(columns, f)
        colfile = f.name
    try:
        p = subprocess.run([sys.executable, os.path.join(HERE, "compare_mariadb_binlog.py"),
                            "--columns", colfile, "--max-report", "200", binlake] + files)
    finally:
        os.unlink(colfile)
    if p.returncode != 0:
        failures.append(f"compare_mariadb_binlog.py failed (exit {p.returncode}), see above")

    # 3. binlake's final after-images vs SELECT.
    p = subprocess.run([binlake, "binlog-dump", "--enum-as-number"] + files,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        failures.append(f"binlake binlog-dump failed (exit {p.returncode}): "
                        f"{p.stderr.decode(errors='replace').strip()}")
    state = {t: {} for t in columns}
    for line in p.stdout.decode("utf-8").splitlines():
        ev = json.loads(line, parse_float=Decimal)
        key = f"{ev['schema']}.{ev['table']}"
        if key not in state:
            continue
        if ev["op"] in ("U", "D"):
            state[key].pop(ev["before"]["id"], None)
        if ev["op"] in ("I", "U"):
            state[key][ev["after"]["id"]] = ev["after"]

    rows_cmp = values_cmp = 0
    before_state = len(failures)
    for key, cols in sorted(columns.items()):
        table = key.split(".", 1)[1]
        sel = ", ".join(select_expr(c) for c in cols)
        server_rows = {int(r[0]): r for r in srv.query(
            f"SET time_zone = '+00:00'; SELECT {sel} FROM `{table}` ORDER BY id", db=SCHEMA)}
        mine = state[key]
        for missing in sorted(set(server_rows) - set(mine)):
            failures.append(f"{table} id={missing}: row in the table, no after-image from binlake")
        for extra in sorted(set(mine) - set(server_rows)):
            failures.append(f"{table} id={extra}: binlake has an after-image, the table has no row")
        for rid in sorted(set(server_rows) & set(mine)):
            rows_cmp += 1
            srow, brow = server_rows[rid], mine[rid]
            for c, stext in zip(cols, srow):
                if c["name"] not in brow:
                    failures.append(f"{table} id={rid} {c['name']}: missing in binlake's after-image")
                    continue
                values_cmp += 1
                why = compare_cell(c, stext, brow[c["name"]])
                if why:
                    failures.append(f"{table} id={rid} {c['name']} ({c['column_type']}"
                                    f"{' ' + c['charset'] if c['charset'] else ''}): {why}\n"
                                    f"      binlake: {short(brow[c['name']])}\n"
                                    f"      SELECT:  {short(stext)}")
    print(f"final state vs SELECT: {len(columns)} tables, rows compared {rows_cmp}, "
          f"values compared {values_cmp}, mismatches {len(failures) - before_state}")
    for f in failures:
        print(f"FAIL: {f}")
    if failures:
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
