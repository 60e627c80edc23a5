"""Staging files written as the capture writes them (docs/staging.md), for the tests that build a
staging folder by hand: a table `db.<table>` with one column of each kind the lake maps, its
schema version, CSV files with their manifests; and a fingerprint of every file under a folder
(what a failed command must leave unchanged)."""
import hashlib
import json
import os

COLS = [  # name, mysql_type, binlog_type, pk_position
    ("id", "int", 3, 0),
    ("amount", "decimal(10,2)", 246, -1),
    ("at", "datetime(6)", 18, -1),
    ("big", "bigint unsigned", 8, -1),
    ("raw", "varbinary(8)", 15, -1),
    ("name", "varchar(20)", 15, -1),
]


def pos(p):
    return {"file": "binlog.000001", "pos": p, "gtid": ""}


def row(i, name="n"):
    """The CSV record of row `i` in COLS' columns (no Op)."""
    return f"{i},{i}.25,2024-02-29 23:59:59.00000{i % 10},18446744073709551615,00FF{i:02X},{name}"


def manifest_for(name, kind, seq, data, table="t"):
    return {"name": name, "schema": "db", "table": table, "kind": kind, "sequence": seq,
            "schema_version": 1, "rows": data.count(b"\n"), "inserts": 0, "updates": 0,
            "deletes": 0, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(),
            "start": pos(4), "end": pos(4), "first_commit": "2024-01-01 00:00:00.000000",
            "last_commit": "2024-01-01 00:00:00.000000"}


def write_staged(staging, name, kind, seq, data, table="t", manifest=True):
    """A CSV file under `staging` and (unless manifest=False) its manifest; data: bytes or a list
    of records. Returns the file's path."""
    if isinstance(data, list):
        data = "".join(r + "\n" for r in data).encode()
    tdir = os.path.join(staging, "db", table)
    os.makedirs(tdir, exist_ok=True)
    if manifest:
        mdir = os.path.join(staging, "_binlake", "files", "db", table)
        os.makedirs(mdir, exist_ok=True)
        with open(os.path.join(mdir, name + ".json"), "w") as f:
            json.dump(manifest_for(name, kind, seq, data, table), f, indent=2)
    with open(os.path.join(tdir, name), "wb") as f:
        f.write(data)
    return os.path.join(tdir, name)


def write_schema(staging, table="t"):
    """Schema version 1 of db.<table>: COLS."""
    sdir = os.path.join(staging, "_binlake", "schemas", "db", table)
    os.makedirs(sdir, exist_ok=True)
    cols = [{"name": n, "mysql_type": t, "binlog_type": b, "binlog_meta": 0, "nullable": True,
             "unsigned": "unsigned" in t, "collation": 63, "enum_values": [], "pk_position": p}
            for n, t, b, p in COLS]
    with open(os.path.join(sdir, "00001.json"), "w") as f:
        json.dump({"schema": "db", "table": table, "version": 1, "since": pos(4),
                   "columns": cols}, f, indent=2)


def tree_hashes(root):
    """{path relative to root: sha256} of every file under a folder."""
    out = {}
    for d, _, files in os.walk(root):
        for f in files:
            p = os.path.join(d, f)
            with open(p, "rb") as fh:
                out[os.path.relpath(p, root)] = hashlib.sha256(fh.read()).hexdigest()
    return out
