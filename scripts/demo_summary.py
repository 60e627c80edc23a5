#!/usr/bin/env python3
"""The end of `make demo`: lists the staging files and checks them against the source.

usage: demo_summary.py STAGING SOCKET
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "testing"))
from staging_reader import Staging  # noqa: E402

root, sock = sys.argv[1], sys.argv[2]
st = Staging(root, timestamp_column=True)


def count(schema, table):
    out = subprocess.run(["mariadb", "--no-defaults", "-uroot", "-S", sock, "-N", "-B", "-e",
                          f"SELECT COUNT(*) FROM `{schema}`.`{table}`"],
                         stdout=subprocess.PIPE, check=True).stdout.decode()
    return int(out.strip())


print("\ndemo: the staging folder", root)
ok = True
totals = {"I": 0, "U": 0, "D": 0}
for schema, table in st.tables():
    loads, changes = st.files(schema, table)
    print(f"  {schema}/{table}/")
    for name in loads + changes:
        m = st.manifest(schema, table, name)
        size = os.path.getsize(os.path.join(root, schema, table, name))
        detail = (f"{m['rows']:>6} rows" if m["kind"] == "load" else
                  f"I {m['inserts']:>4} U {m['updates']:>4} D {m['deletes']:>4}")
        print(f"    {name:<40} {size:>9} bytes  {detail}  schema v{m['schema_version']}  "
              f"{m['start']['file']}:{m['start']['pos']}..{m['end']['pos']}")
        if m["kind"] == "cdc":
            for k, key in (("I", "inserts"), ("U", "updates"), ("D", "deletes")):
                totals[k] += m[key]
    keys = st.key_columns(schema, table)
    state = st.replay(schema, table, keys)
    replayed = len(state) if keys else sum(state.values())
    source = count(schema, table)
    ok &= replayed == source
    print(f"    -> replaying LOAD + changes gives {replayed} rows; the source has {source}"
          f" {'(equal)' if replayed == source else '(DIFFERENT)'}")
first_change = next((os.path.join(root, s, t, c[0]) for s, t in st.tables()
                     for c in [st.files(s, t)[1]] if c), None)
if first_change:
    print(f"\ndemo: the first lines of {os.path.relpath(first_change, root)}:")
    with open(first_change, encoding="utf-8") as f:
        for line in f.readlines()[:4]:
            print("    " + line.rstrip("\n")[:150])
print(f"\ndemo summary: changes staged: {totals['I']} inserts, {totals['U']} updates, "
      f"{totals['D']} deletes; checkpoint {st.checkpoint().get('position')}")
print("  config: .binlake/demo.toml; run `build/binlake capture --config .binlake/demo.toml` to resume")
sys.exit(0 if ok else 1)
