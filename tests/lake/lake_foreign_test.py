#!/usr/bin/env python3
"""binlake's Delta tables also written by another engine (delta-rs: append and MERGE), then
merged by `binlake apply` exactly, read back by delta-rs and DuckDB (docs/lake.md "Files written
by other engines"); and a Spark-like log: a classic checkpoint whose add struct has Spark's extra
fields, `.crc` files and a `_staged_commits/` folder.
usage: lake_foreign_test.py BINLAKE
"""
import datetime
import decimal
import json
import os
import sys
import tempfile

import deltalake
import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lake_deltalake_test as base  # noqa: E402 (staging files, the binlake call)


def arrow_rows(ids, name):
    """Rows as delta-rs writes them, with other Arrow types than binlake's (large strings)."""
    return pa.table({
        "id": pa.array(ids, pa.int32()),
        "amount": pa.array([decimal.Decimal("%d.25" % i) for i in ids], pa.decimal128(10, 2)),
        "at": pa.array([datetime.datetime(2024, 2, 29, 23, 59, 59, i % 10) for i in ids],
                       pa.timestamp("us")),
        "big": pa.array([decimal.Decimal(18446744073709551615)] * len(ids), pa.decimal128(20, 0)),
        "raw": pa.array([b"\x00\xff" + bytes([i]) for i in ids], pa.large_binary()),
        "name": pa.array([name(i) for i in ids], pa.large_string()),
    })


def lake_rows(table):
    dt = deltalake.DeltaTable(table)
    rows = sorted((r["id"], r["name"]) for r in dt.to_pyarrow_table().to_pylist())
    ds = dt.to_pyarrow_dataset()  # DuckDB over the files delta-rs names
    via_duckdb = sorted(duckdb.sql("SELECT id, name FROM ds").fetchall())
    assert rows == via_duckdb, (rows, via_duckdb)
    for r in dt.to_pyarrow_table().to_pylist():  # every column still exact
        assert r["amount"] == decimal.Decimal("%d.25" % r["id"]), r
        assert r["raw"] == b"\x00\xff" + bytes([r["id"] % 256]), r
    return rows


def foreign_files(table):
    paths = deltalake.DeltaTable(table).get_add_actions(flatten=True).column("path").to_pylist()
    return sorted(p for p in paths if not p.startswith("bucket="))


def change(staging, seq, lines):
    return base.write(staging, base.change_name(seq), "cdc", seq, lines)


def row(i, name):
    return "%d,%d.25,2024-02-29 23:59:59.00000%d,18446744073709551615,00FF%02X,%s" % (
        i, i, i % 10, i, name)


def delta_rs_writes():
    with tempfile.TemporaryDirectory() as d:
        staging, lake = os.path.join(d, "staging"), os.path.join(d, "lake")
        table = os.path.join(lake, "db", "t")
        base.write_schema(staging)
        files = [base.write(staging, "LOAD00000001.csv", "load", 1,
                            [row(i, "n") for i in range(1, 21)])]
        base.apply(lake, files)
        expected = {i: "n" for i in range(1, 21)}

        # delta-rs appends rows 21..26 and merges an update of 3 (in a bucket file: delta-rs
        # rewrites that file at the root) and 21 (in its own file), and an insert of 27.
        deltalake.write_deltalake(table, arrow_rows(range(21, 27), lambda i: "a%d" % i),
                                  mode="append")
        expected.update({i: "a%d" % i for i in range(21, 27)})
        (deltalake.DeltaTable(table)
         .merge(arrow_rows([3, 21, 27], lambda i: "m%d" % i), "t.id = s.id",
                source_alias="s", target_alias="t")
         .when_matched_update_all().when_not_matched_insert_all().execute())
        expected.update({3: "m3", 21: "m21", 27: "m27"})
        assert lake_rows(table) == sorted(expected.items())
        before = foreign_files(table)
        assert before, "delta-rs wrote no root-level files"

        # binlake: update, delete, key move and insert of keys that live only in delta-rs files;
        # 3 (rewritten by delta-rs together with its bucket's other rows) updated again.
        files.append(change(staging, 1, ["U," + row(3, "b3"), "U," + row(21, "b21"),
                                         "D," + row(22, "x"), "D," + row(23, "x"),
                                         "I," + row(123, "moved"), "I," + row(24, "b24"),
                                         "U," + row(7, "b7")]))
        out = base.apply(lake, files)
        assert "commits=1 " in out, out
        expected.update({3: "b3", 21: "b21", 123: "moved", 24: "b24", 7: "b7"})
        del expected[22], expected[23]
        assert lake_rows(table) == sorted(expected.items())
        dt = deltalake.DeltaTable(table)
        assert dt.transaction_version("binlake:db.t") == 1
        version = dt.version()
        out = base.apply(lake, files)  # applied: skipped by its txn
        assert "commits=0 " in out, out
        assert deltalake.DeltaTable(table).version() == version

        # A change of binlake's keys only leaves delta-rs's files alone.
        after = foreign_files(table)
        files.append(change(staging, 2, ["U," + row(8, "b8")]))
        base.apply(lake, files)
        expected[8] = "b8"
        assert foreign_files(table) == after
        # delta-rs's checkpoint (its add struct, with stats_parsed), then more changes.
        deltalake.DeltaTable(table).create_checkpoint()
        files.append(change(staging, 3, ["D," + row(25, "x"), "U," + row(26, "b26")]))
        base.apply(lake, files)
        del expected[25]
        expected[26] = "b26"
        assert lake_rows(table) == sorted(expected.items())
        print("ok: delta-rs append + MERGE, then binlake changes: %d rows, %d foreign files" %
              (len(expected), len(foreign_files(table))))
        spark_like_log(staging, lake, table, files, expected)


def spark_like_log(staging, lake, table, files, expected):
    """Spark's log: NNN.crc files, _staged_commits/, and a classic checkpoint whose add struct
    carries extra fields; the JSON commits before it deleted."""
    log = os.path.join(table, "_delta_log")
    version = deltalake.DeltaTable(table).version()
    deltalake.DeltaTable(table).create_checkpoint()
    cp = os.path.join(log, "%020d.checkpoint.parquet" % version)
    t = pq.read_table(cp)
    add = t.column("add").combine_chunks()
    n = len(add)
    extra = {
        "tags": pa.array([None] * n, pa.map_(pa.string(), pa.string())),
        "deletionVector": pa.array([None] * n, pa.struct([
            ("storageType", pa.string()), ("pathOrInlineDv", pa.string()),
            ("offset", pa.int32()), ("sizeInBytes", pa.int32()), ("cardinality", pa.int64())])),
        "baseRowId": pa.array([None] * n, pa.int64()),
        "defaultRowCommitVersion": pa.array([None] * n, pa.int64()),
        "clusteringProvider": pa.array([None] * n, pa.string()),
    }
    if "stats_parsed" not in add.type.names:
        extra["stats_parsed"] = pa.array([None] * n, pa.struct([("numRecords", pa.int64())]))
    fields = [add.field(i) for i in range(add.type.num_fields)]
    names = list(add.type.names)
    for k, v in extra.items():
        if k in names:
            continue
        fields.append(v)
        names.append(k)
    new_add = pa.StructArray.from_arrays(fields, names=names, mask=add.is_null())
    t = t.set_column(t.schema.get_field_index("add"), "add", new_add)
    pq.write_table(t, cp)
    with open(os.path.join(log, "_last_checkpoint"), "w") as f:
        json.dump({"version": version, "size": t.num_rows}, f)
    for v in range(version):
        p = os.path.join(log, "%020d.json" % v)
        if os.path.exists(p):
            os.remove(p)
    for v in range(version + 1):
        with open(os.path.join(log, "%020d.crc" % v), "w") as f:
            json.dump({"tableSizeBytes": 0, "numFiles": 0}, f)
    os.makedirs(os.path.join(log, "_staged_commits"))
    with open(os.path.join(log, "_staged_commits", "%020d.abc.json" % (version + 1)), "w") as f:
        f.write("not a commit of this table\n")
    files.append(change(staging, 4, ["U," + row(24, "c24"), "D," + row(26, "x")]))
    out = base.apply(lake, files)
    assert "commits=1 " in out, out
    expected[24] = "c24"
    del expected[26]
    assert lake_rows(table) == sorted(expected.items())
    out = base.apply(lake, files)
    assert "commits=0 " in out, out
    print("ok: Spark-like checkpoint with extra add fields, .crc files and _staged_commits/")


if __name__ == "__main__":
    delta_rs_writes()
