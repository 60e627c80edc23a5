#!/usr/bin/env python3
"""binlake's apply next to the Spark job (jobs/spark/binlake_apply.py, delta-spark MERGE) on the
same staging files and the same starting table, in the same run.

usage: spark_bench.py BINLAKE STAGING_GEN WORKDIR [ROWS] [CHANGED_PERCENT]
       SPARK_BENCH_QUICK=1: 200,000 rows (a smoke run)
       SPARK_BENCH_SUBMIT: the command that starts the job (default: spark-submit with
       delta-spark from Maven Central, local[*], --driver-memory 8g)

1. staging_gen writes a ROWS-row (default 10M) table bench.t (BIGINT pk, INT, VARCHAR(64),
   DECIMAL(12,2), DATETIME(6), DOUBLE, nullable TEXT) as staging LOAD files; `binlake apply`
   builds the Delta table T0 once.
2. staging_gen writes one change file touching CHANGED_PERCENT (default 1) of the rows (mostly
   updates, some keys twice, inserts, deletes, key moves as D+I).
3. Two copies of T0 (hard links of the Parquet files, copies of the log): (A) `binlake apply` of
   the change file; (B) the Spark job (`spark-submit ... binlake_apply.py --files <file>`), both
   from the same Delta version, the same files, the same change CSV. Both commit one Delta version
   with txn = the file's sequence.
4. Times: binlake's whole process; Spark's whole spark-submit (JVM start, session, MERGE,
   commit) and the job's own time after its session was up (the MERGE and commit alone, which a
   warm cluster would pay). Both tables are then read back (delta-rs file lists, DuckDB over
   the Parquet files) and must hold exactly the same rows (EXCEPT ALL both ways is empty).
   Printed: both times and the ratios.
"""
import json
import os
import shutil
import subprocess
import sys

from apply_bench import measure, same_rows  # shared with binlake's apply benchmark

QUICK = os.environ.get("SPARK_BENCH_QUICK", "") not in ("", "0")
HERE = os.path.dirname(os.path.abspath(__file__))
JOB = os.path.join(HERE, "..", "jobs", "spark", "binlake_apply.py")


def clone_table(src, dst):
    """A copy of a Delta table that shares the (immutable) Parquet files: hard links for data
    files, real copies of the log, so that both copies commit independently."""
    for d, _, names in os.walk(src):
        rel = os.path.relpath(d, src)
        os.makedirs(os.path.join(dst, rel), exist_ok=True)
        for n in names:
            s, t = os.path.join(d, n), os.path.join(dst, rel, n)
            if "_delta_log" in rel.split(os.sep):
                shutil.copy2(s, t)
            else:
                os.link(s, t)


def active_files(table):
    from deltalake import DeltaTable
    t = DeltaTable(table)
    return t.version(), sorted(t.file_uris()), t.transaction_version("binlake:bench.t")


def main():
    binlake, gen, work = sys.argv[1], sys.argv[2], os.path.abspath(sys.argv[3])
    rows = int(sys.argv[4]) if len(sys.argv) > 4 else (200_000 if QUICK else 10_000_000)
    percent = float(sys.argv[5]) if len(sys.argv) > 5 else 1.0
    submit = os.environ.get("SPARK_BENCH_SUBMIT",
                            "spark-submit --master local[*] --driver-memory 8g "
                            "--packages io.delta:delta-spark_4.2_2.13:4.4.0").split()
    staging, base = os.path.join(work, "staging"), os.path.join(work, "base")
    subprocess.run(["rm", "-rf", work], check=True)
    os.makedirs(work)
    print(f"bench: writing {rows:,} rows of bench.t as staging LOAD files...", file=sys.stderr)
    subprocess.run([gen, "load", staging, str(rows)], check=True)
    folder = os.path.join(staging, "bench", "t")
    loads = sorted(os.path.join(folder, n) for n in os.listdir(folder) if n.startswith("LOAD"))
    secs, _, _, _ = measure([binlake, "apply", "--lake", base, loads[0]])
    _, base_files, _ = active_files(os.path.join(base, "bench", "t"))
    table_bytes = sum(os.path.getsize(f) for f in base_files)
    print(f"table: {rows:,} rows in {len(base_files)} Parquet files, "
          f"{table_bytes / 2**20:,.0f} MiB (binlake full load {secs:.1f} s)")
    existing = set(os.listdir(folder))
    n = max(1, int(rows * percent / 100))
    subprocess.run([gen, "changes", staging, str(rows), str(n), "1"], check=True)
    new = sorted(set(os.listdir(folder)) - existing)
    assert len(new) == 1, new
    csv = os.path.join(folder, new[0])
    with open(os.path.join(staging, "_binlake", "files", "bench", "t", new[0] + ".json")) as f:
        m = json.load(f)
    print(f"change file: {m['rows']:,} change rows ({m['inserts']:,} I, {m['updates']:,} U, "
          f"{m['deletes']:,} D), {percent:g}% of {rows:,} rows")

    lake_a, lake_b = os.path.join(work, "lakeA"), os.path.join(work, "lakeB")
    clone_table(os.path.join(base, "bench", "t"), os.path.join(lake_a, "bench", "t"))
    clone_table(os.path.join(base, "bench", "t"), os.path.join(lake_b, "bench", "t"))

    b_secs, b_rss, _, _ = measure([binlake, "apply", "--lake", lake_a, csv])
    env = dict(os.environ, BINLAKE_SPARK_LOG_LEVEL="ERROR")
    s_secs, s_rss, out, _ = measure(submit + [JOB, "--staging", staging, "--lake", lake_b,
                                              "--files", f"bench/t/{new[0]}"], env=env)
    summary = json.loads(out.strip().splitlines()[-1])
    job_secs = summary["seconds"]

    va, fa, ta = active_files(os.path.join(lake_a, "bench", "t"))
    vb, fb, tb = active_files(os.path.join(lake_b, "bench", "t"))
    assert va == vb and ta == tb == m["sequence"], (va, vb, ta, tb, m["sequence"])
    ra, rb, equal = same_rows(fa, fb)
    assert equal and ra == rb, (ra, rb)
    print(f"  binlake apply: {b_secs:.2f} s, peak RSS {b_rss:,.0f} MiB")
    print(f"  Spark job (spark-submit, local[*] on {os.cpu_count()} cores): {s_secs:.2f} s in "
          f"all, {job_secs:.2f} s after the session was up (MERGE + commit); "
          f"driver peak RSS {s_rss:,.0f} MiB")
    print(f"  same rows: {ra[0]:,} rows, checksum {ra[1]} (binlake) == {rb[1]} (Spark); "
          f"both at Delta version {va}, txn {ta}")
    print(f"  ratio Spark / binlake: {s_secs / b_secs:.1f}x (whole run), "
          f"{job_secs / b_secs:.1f}x (MERGE + commit only)")
    print(json.dumps({"rows": rows, "changes": m["rows"], "binlake_s": round(b_secs, 3),
                      "spark_s": round(s_secs, 3), "spark_merge_s": round(job_secs, 3),
                      "table_bytes": table_bytes, "cores": os.cpu_count()}))


if __name__ == "__main__":
    main()
