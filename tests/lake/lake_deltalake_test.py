#!/usr/bin/env python3
"""The lake written by `binlake apply`, read back by an independent reader (delta-rs `deltalake`).

Writes staging files directly (docs/staging.md): a LOAD file and change files with their
manifests and schema, applies them, and checks exact rows and types, idempotence and bucket reuse;
then a table of 250 commits: binlake's log checkpoints read by delta-rs (with the JSON log before
them deleted), the txn version delta-rs sees, and a delta-rs checkpoint read by binlake.
usage: lake_deltalake_test.py BINLAKE
"""
import decimal
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile

import deltalake
import pyarrow as pa

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testing"))
from staged_files import row, write_schema  # noqa: E402
from staged_files import write_staged as write  # noqa: E402

BINLAKE = sys.argv[1]


def apply(lake, files):
    out = subprocess.run([BINLAKE, "apply", "--lake", lake, "--buckets", "8", *files],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out.stdout


def types_and_idempotence():
    with tempfile.TemporaryDirectory() as d:
        staging, lake = os.path.join(d, "staging"), os.path.join(d, "lake")
        write_schema(staging)
        load = write(staging, "LOAD00000001.csv", "load", 1, [row(i, "n") for i in range(1, 21)])
        c1 = write(staging, "20240101-000000000-0000000001.csv", "cdc", 1,
                   ["U," + row(3, "three"), "D," + row(4, "n")])
        c2 = write(staging, "20240101-000001000-0000000002.csv", "cdc", 2,
                   ["I," + row(21, "new"), "I,22,,,,,"])
        apply(lake, [load])
        table = os.path.join(lake, "db", "t")
        files_after_load = set(deltalake.DeltaTable(table).file_uris())
        apply(lake, [c1])
        dt = deltalake.DeltaTable(table)
        touched = files_after_load - set(dt.file_uris())
        assert 1 <= len(touched) <= 2, touched  # keys 3 and 4: at most two buckets rewritten
        apply(lake, [c2])
        version = deltalake.DeltaTable(table).version()
        apply(lake, [c1, c2, load])  # all already applied
        dt = deltalake.DeltaTable(table)
        assert dt.version() == version, (dt.version(), version)
        t = dt.to_pyarrow_table().sort_by("id")
        schema = t.schema
        assert schema.field("id").type == pa.int32(), schema
        assert schema.field("amount").type == pa.decimal128(10, 2), schema
        assert schema.field("at").type == pa.timestamp("us"), schema
        assert schema.field("big").type == pa.decimal128(20, 0), schema
        assert schema.field("raw").type in (pa.binary(), pa.large_binary(), pa.binary_view()), schema
        rows = t.to_pylist()
        assert [r["id"] for r in rows] == [i for i in range(1, 23) if i != 4], rows
        r3 = next(r for r in rows if r["id"] == 3)
        assert r3["name"] == "three" and r3["amount"] == decimal.Decimal("3.25"), r3
        assert r3["at"] == datetime.datetime(2024, 2, 29, 23, 59, 59, 3), r3
        assert r3["big"] == decimal.Decimal(18446744073709551615), r3
        assert r3["raw"] == b"\x00\xff\x03", r3
        r22 = rows[-1]
        assert r22["id"] == 22 and r22["name"] is None and r22["amount"] is None, r22
        print("ok: %d rows, version %d" % (len(rows), dt.version()))


def change_name(seq):
    return "20240101-000000000-%010d.csv" % seq


def names_by_id(dt):
    return {r["id"]: r["name"] for r in dt.to_pyarrow_table().to_pylist()}


def log_files(table):
    return sorted(os.listdir(os.path.join(table, "_delta_log")))


def checkpoints():
    with tempfile.TemporaryDirectory() as d:
        staging, lake = os.path.join(d, "staging"), os.path.join(d, "lake")
        write_schema(staging)
        expected = {i: "n" for i in range(1, 21)}
        files = [write(staging, "LOAD00000001.csv", "load", 1, [row(i, "n") for i in range(1, 21)])]
        for seq in range(1, 251):  # versions 1..250: updates, inserts and deletes
            if seq % 10 == 0:
                line, expected[20 + seq // 10] = "I," + row(20 + seq // 10, "i%d" % seq), "i%d" % seq
            elif seq % 10 == 5 and seq > 10:
                line = "D," + row(20 + seq // 10, "x")
                del expected[20 + seq // 10]
            else:
                line, expected[seq % 20 + 1] = "U," + row(seq % 20 + 1, "v%d" % seq), "v%d" % seq
            files.append(write(staging, change_name(seq), "cdc", seq, [line]))
        out = apply(lake, files)
        assert "commits=251 " in out, out
        table = os.path.join(lake, "db", "t")
        logs = log_files(table)
        cps = [f for f in logs if "checkpoint" in f]
        assert cps == ["%020d.checkpoint.parquet" % 100, "%020d.checkpoint.parquet" % 200,
                       "_last_checkpoint"], cps
        with open(os.path.join(table, "_delta_log", "_last_checkpoint")) as f:
            assert json.load(f)["version"] == 200
        dt = deltalake.DeltaTable(table)
        assert dt.version() == 250, dt.version()
        assert dt.transaction_version("binlake:db.t") == 250
        assert names_by_id(dt) == expected

        # delta-rs reads binlake's checkpoint: the JSON log before it deleted (a metadata cleanup).
        copy = os.path.join(d, "copy")
        shutil.copytree(table, copy)
        for v in range(200):
            os.remove(os.path.join(copy, "_delta_log", "%020d.json" % v))
        dc = deltalake.DeltaTable(copy)
        assert dc.version() == 250, dc.version()
        assert dc.transaction_version("binlake:db.t") == 250
        assert names_by_id(dc) == expected

        # binlake reads delta-rs's checkpoint: only it and the last commit are left.
        dt.create_checkpoint()
        for f in log_files(table):
            if f.endswith(".json") and f != "%020d.json" % 250 or f.startswith("%020d" % 200) \
                    or f.startswith("%020d" % 100):
                os.remove(os.path.join(table, "_delta_log", f))
        assert [f for f in log_files(table) if "checkpoint" in f] == [
            "%020d.checkpoint.parquet" % 250, "_last_checkpoint"], log_files(table)
        out = apply(lake, files)  # the txn in delta-rs's checkpoint: every file already applied
        assert "commits=0 skipped=251 " in out, out
        files.append(write(staging, change_name(251), "cdc", 251, ["U," + row(3, "last")]))
        expected[3] = "last"
        out = apply(lake, files)
        assert "commits=1 skipped=251 " in out, out
        dt = deltalake.DeltaTable(table)
        assert dt.version() == 251 and dt.transaction_version("binlake:db.t") == 251
        assert names_by_id(dt) == expected
        print("ok: checkpoints at 100 and 200 read by delta-rs; delta-rs's at 250 read by binlake")


if __name__ == "__main__":
    types_and_idempotence()
    checkpoints()
