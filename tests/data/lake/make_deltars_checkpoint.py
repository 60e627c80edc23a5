#!/usr/bin/env python3
"""Writes tests/data/lake/deltars_checkpoint/_delta_log: a small table written by `binlake apply`
(a LOAD and five change files, 2 buckets) and then checkpointed by delta-rs
(`DeltaTable.create_checkpoint()`, deltalake 1.6.6). The data files are left out: the test reads
only the log. usage: make_deltars_checkpoint.py BINLAKE
"""
import os
import shutil
import subprocess
import sys
import tempfile

import deltalake

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "lake"))
import lake_deltalake_test as L  # noqa: E402  (the staging writer)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "deltars_checkpoint", "_delta_log")


def main():
    with tempfile.TemporaryDirectory() as d:
        staging, lake = os.path.join(d, "staging"), os.path.join(d, "lake")
        L.write_schema(staging)
        files = [L.write(staging, "LOAD00000001.csv", "load", 1,
                         [L.row(i, "n") for i in range(1, 11)])]
        changes = [["U," + L.row(3, "three")], ["D," + L.row(4, "n")], ["I," + L.row(11, "new")],
                   ["U," + L.row(7, "seven"), "D," + L.row(8, "n")], ["I,12,,,,,"]]
        for seq, lines in enumerate(changes, 1):
            files.append(L.write(staging, "20240101-000000000-%010d.csv" % seq, "cdc", seq, lines))
        subprocess.run([sys.argv[1], "apply", "--lake", lake, "--buckets", "2", *files], check=True)
        table = os.path.join(lake, "db", "t")
        deltalake.DeltaTable(table).create_checkpoint()
        shutil.rmtree(OUT, ignore_errors=True)
        shutil.copytree(os.path.join(table, "_delta_log"), OUT)


if __name__ == "__main__":
    main()
