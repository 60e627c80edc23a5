#!/usr/bin/env python3
"""`make demo`: prints each new version of the lake tables as `binlake run` commits it, read with an
independent reader (delta-rs), until the file STOP exists.

usage: demo_follow.py LAKE STOP TABLE...     (TABLE: schema/table)
"""
import json
import os
import sys
import time

from deltalake import DeltaTable

lake, stop, tables = sys.argv[1], sys.argv[2], sys.argv[3:]
seen = {t: -1 for t in tables}
t0 = time.monotonic()


def describe(path, version):
    """The operation and change counts of one commit, from its log entry."""
    entry = os.path.join(path, "_delta_log", "%020d.json" % version)
    op, adds, removes = "?", 0, 0
    with open(entry, encoding="utf-8") as f:
        for line in f:
            a = json.loads(line)
            op = a.get("commitInfo", {}).get("operation", op)
            adds += "add" in a
            removes += "remove" in a
    return op, adds, removes


while True:
    done = os.path.exists(stop)
    for t in tables:
        path = os.path.join(lake, t)
        if not os.path.isdir(os.path.join(path, "_delta_log")):
            continue
        try:
            dt = DeltaTable(path)
        except Exception:  # noqa: BLE001 - not created yet
            continue
        v = dt.version()
        if v == seen[t]:
            continue
        rows = dt.to_pyarrow_dataset().count_rows()
        for version in range(seen[t] + 1, v + 1):
            op, adds, removes = describe(path, version)
            print(f"  {time.monotonic() - t0:6.2f}s  {t:<16} v{version:<3} {op:<22} "
                  f"files +{adds} -{removes}" + (f"   -> {rows} rows" if version == v else ""),
                  flush=True)
        seen[t] = v
    if done:
        break
    time.sleep(0.1)
