#!/usr/bin/env python3
"""The Spark job (jobs/spark/binlake_apply.py, delta-spark in local mode) next to binlake's apply
on the same staging files of a random workload over every MySQL type (tests/trigger/
run_random_itest.py's tables, values and CSV dialects).

usage: spark_apply_itest.py BINLAKE [CHANGES] [SEED]

1. `binlake run` captures a random workload (a full load, then CHANGES row changes in phases) and
   applies it to lake A; the staging files stay for the rest.
2. Spark reads lake A: every table has the rows delta-rs reads and the Spark types docs/lake.md
   gives (the Arrow types of what Spark reads).
3. The Spark job applies the same staging files (its full-load job, then the change files) to
   lake B: B equals the source and holds the same rows and types as A.
4. Re-running the Spark job on applied files changes nothing: no new Delta version, same rows.
5. Lake C is advanced alternately: the Spark full load, then each round of change files (the
   k-th file of every table) by binlake and by the Spark job in turn; C equals the source and
   `binlake verify` finds no difference.
6. `binlake trigger --runner spark --once` (spark-submit, as the seed's Lambda starts Glue) fills
   lake D from the same staging; D equals the source, and a second run starts no Spark job.
"""
import collections
import datetime
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

os.environ["TZ"] = "UTC"  # pyspark hands TIMESTAMP values over as local-time datetimes
time.tzset()

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "testing"))
sys.path.insert(0, os.path.join(HERE, "..", "trigger"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "jobs", "spark"))
import binlake_apply as job  # noqa: E402
import pipeline  # noqa: E402
import run_random_itest as rr  # noqa: E402

BINLAKE = sys.argv[1]
CHANGES = int(sys.argv[2]) if len(sys.argv) > 2 else 400
SEED = int(sys.argv[3]) if len(sys.argv) > 3 else int(time.time() * 1000) % 1_000_000_007
DB = "spark_apply_%d" % os.getpid()
TABLES = rr.TABLES
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL: " + msg, file=sys.stderr, flush=True)


def run_job(*args):
    t0 = time.time()
    rc = job.main(list(args))
    print(f"spark_apply: job {' '.join(a for a in args if not a.startswith('/'))[:120]} -> "
          f"exit {rc} in {time.time() - t0:.1f} s", flush=True)
    if rc != 0:
        raise SystemExit(f"spark_apply: the Spark job failed (exit {rc}); seed {SEED}")


def binlake(*args, check=True):
    p = subprocess.run([BINLAKE, *args], capture_output=True, text=True)
    if check and p.returncode != 0:
        raise SystemExit(f"spark_apply: binlake {' '.join(args)} failed:\n{p.stderr}")
    return p


def norm(v):
    if isinstance(v, (bytearray, memoryview)):
        return bytes(v)
    if isinstance(v, datetime.datetime) and v.tzinfo is not None:
        return v.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return v


def deltalake_rows(path):
    from deltalake import DeltaTable
    data = DeltaTable(path).to_pyarrow_table()
    names = data.column_names
    return names, collections.Counter(
        tuple(norm(v) for v in r)
        for r in zip(*[data.column(n).to_pylist() for n in names]))


SPARK_TO_ARROW = {"tinyint": "int8", "smallint": "int16", "int": "int32", "bigint": "int64",
                  "float": "float", "double": "double", "date": "date32[day]",
                  "timestamp": "timestamp[us, tz=UTC]", "timestamp_ntz": "timestamp[us]",
                  "string": "string", "binary": "binary"}


def spark_arrow_type(simple):
    if simple.startswith("decimal"):
        p, s = simple[len("decimal("):-1].split(",")
        return f"decimal128({p}, {s})"
    return SPARK_TO_ARROW.get(simple, simple)


def check_spark_reads(spark, lake_root, cols):
    """Spark reads every table of lake_root with the rows and the types delta-rs reads."""
    for t in TABLES:
        path = os.path.join(lake_root, DB, t)
        if not os.path.isdir(path):
            continue
        df = spark.read.format("delta").load(path)
        names, want = deltalake_rows(path)
        if df.columns != names:
            fail(f"{t}: Spark reads columns {df.columns}, delta-rs {names}")
            continue
        by_name = {c.name: c for c in cols[t]}
        for f in df.schema.fields:
            got = spark_arrow_type(f.dataType.simpleString())
            doc = pipeline.expected_types(by_name[f.name])[1]
            if got != doc:
                fail(f"{t}.{f.name}: Spark reads {f.dataType.simpleString()} ({got}), "
                     f"docs/lake.md gives {doc}")
        got = collections.Counter(tuple(norm(v) for v in r) for r in df.collect())
        if got != want:
            extra = list((got - want).elements())[:3]
            missing = list((want - got).elements())[:3]
            fail(f"{t}: Spark reads other rows than delta-rs: {extra} not in delta-rs, "
                 f"{missing} not in Spark")


def same_tables(a_root, b_root, what):
    for t in TABLES:
        a, b = os.path.join(a_root, DB, t), os.path.join(b_root, DB, t)
        if not os.path.isdir(a) and not os.path.isdir(b):
            continue
        from deltalake import DeltaTable
        sa = DeltaTable(a).to_pyarrow_table().schema
        sb = DeltaTable(b).to_pyarrow_table().schema
        if [(f.name, str(f.type)) for f in sa] != [(f.name, str(f.type)) for f in sb]:
            fail(f"{what}: {t}: schemas differ: {sa} vs {sb}")
        if deltalake_rows(a)[1] != deltalake_rows(b)[1]:
            fail(f"{what}: {t}: rows differ")


def versions(lake_root):
    from deltalake import DeltaTable
    out = {}
    for t in TABLES:
        p = os.path.join(lake_root, DB, t)
        if os.path.isdir(p):
            out[t] = DeltaTable(p).version()
    return out


def with_lake(cfg, old_lake, lake, path, extra=""):
    text = open(cfg).read()
    assert f'path = "{old_lake}"' in text
    with open(path, "w") as f:
        f.write(text.replace(f'path = "{old_lake}"', f'path = "{lake}"') + extra)
    return path


def main():
    print(f"spark_apply: seed {SEED}, {CHANGES} changes (rerun: spark_apply_itest.py BINLAKE "
          f"{CHANGES} {SEED})", flush=True)
    rng = random.Random(SEED)
    rr.DB = DB
    server = pipeline.TestServer()
    admin = server.connect()
    cur = admin.cursor()
    cur.execute(f"DROP DATABASE IF EXISTS `{DB}`")
    cur.execute(f"CREATE DATABASE `{DB}` CHARACTER SET utf8mb4")
    work, load_changes = rr.start_workload(rng, server, cur)
    cols = {t: pipeline.columns(cur, DB, t) for t in TABLES}
    csv, buckets = rr.random_dialect(rng)
    print(f"spark_apply: CSV options {json.dumps(csv)}, {buckets} buckets", flush=True)
    tmp = tempfile.mkdtemp(prefix="binlake-spark-")
    staging = os.path.join(tmp, "staging")
    lake_a, lake_b, lake_c, lake_d = (os.path.join(tmp, n) for n in ("lakeA", "lakeB", "lakeC",
                                                                      "lakeD"))
    cfg = pipeline.write_config(os.path.join(tmp, "run.toml"), port=server.port,
                                password_file=server.password_file,
                                server_id=9000 + os.getpid() % 1000, staging=staging,
                                lake=lake_a, include=[f"{DB}.*"], interval_ms=200,
                                buckets=buckets, csv=csv)
    log_path = os.path.join(tmp, "run.log")

    def finish(code):
        sys.stdout.flush()
        sys.stderr.flush()
        if code == 0:
            cur.execute(f"DROP DATABASE `{DB}`")
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"spark_apply: FAILED, seed {SEED}; files in {tmp}", file=sys.stderr)
        os._exit(code)  # the JVM and delta-rs' threads can abort the interpreter's teardown

    # 1. The workload, captured and applied by binlake (lake A).
    with open(log_path, "w") as log:
        proc = pipeline.spawn([BINLAKE, "run", "--config", cfg], stderr=log)
        lake = pipeline.Lake(lake_a, DB)
        if not pipeline.wait_caught_up(cur, staging, lake, TABLES, timeout=120):
            fail(f"the full load did not reach lake A (log {log_path})")
            finish(1)
        phases = 0
        while work.stats["changes"] - load_changes < CHANGES:
            phases += 1
            work.refresh_keys()
            for _ in range(rng.randint(2, 20)):
                work.transaction()
            if not pipeline.wait_caught_up(cur, staging, lake, TABLES, timeout=60):
                fail(f"phase {phases}: lake A did not catch up (log {log_path})")
                finish(1)
        proc.send_signal(signal.SIGINT)
        if proc.wait(timeout=60) != 0:
            fail(f"binlake run exited {proc.returncode} (log {log_path})")
    _, problems = pipeline.compare_tables(cur, lake, cols)
    for p in problems:
        fail("lake A (binlake): " + p)
    files = {t: sorted(n for n in pipeline.list_names(os.path.join(staging, DB, t))
                       if pipeline.CHANGE_FILE.match(n)) for t in TABLES}
    loads = {t: sorted(n for n in pipeline.list_names(os.path.join(staging, DB, t))
                       if n.startswith("LOAD") and n.endswith(".csv")) for t in TABLES}
    print(f"spark_apply: {phases} phases, {work.stats['changes'] - load_changes} changes, "
          f"change files per table {({t: len(v) for t, v in files.items()})}", flush=True)

    # 3. The Spark job on the same staging files: lake B (first, so that it starts the session).
    run_job("--config", cfg, "--lake", lake_b)
    from pyspark.sql import SparkSession
    spark = SparkSession.builder.getOrCreate()
    _, problems = pipeline.compare_tables(cur, pipeline.Lake(lake_b, DB), cols)
    for p in problems:
        fail("lake B (Spark job): " + p)
    same_tables(lake_a, lake_b, "lake A (binlake) vs lake B (Spark job)")

    # 2. Spark reads binlake's tables.
    check_spark_reads(spark, lake_a, cols)

    # 4. Re-running the job on applied files changes nothing.
    before = versions(lake_b)
    every = [f"{DB}/{t}/{n}" for t in TABLES for n in loads[t] + files[t]]
    last = [f"{DB}/{t}/{files[t][-1]}" for t in TABLES if files[t]]
    run_job("--config", cfg, "--lake", lake_b, "--files", ",".join(last))
    run_job("--config", cfg, "--lake", lake_b, "--files", ",".join(every))
    if versions(lake_b) != before:
        fail(f"re-running the Spark job made new versions: {before} -> {versions(lake_b)}")
    same_tables(lake_a, lake_b, "lake B after the re-runs")

    # Bad input: one line naming the file, exit 1, the table unchanged.
    missing = f"{DB}/every/20990101-000000000-9999999999.csv"
    rc = job.main(["--config", cfg, "--lake", lake_b, "--files", missing])
    if rc != 1 or versions(lake_b) != before:
        fail(f"the job on a missing staging file: exit {rc} (expected 1), versions "
             f"{versions(lake_b)} (expected {before})")

    # 5. Lake C: the Spark full load, then rounds of change files by binlake and Spark in turn.
    cfg_c = with_lake(cfg, lake_a, lake_c, os.path.join(tmp, "lakeC.toml"))
    run_job("--config", cfg, "--lake", lake_c, "--files",
            ",".join(f"{DB}/{t}/{n}" for t in TABLES for n in loads[t]))
    rounds = max(len(v) for v in files.values())
    by = {"binlake": 0, "spark": 0}
    for k in range(rounds):
        batch = [os.path.join(staging, DB, t, files[t][k]) for t in TABLES if k < len(files[t])]
        if k % 2 == 0:
            binlake("apply", "--config", cfg_c, *batch)
            by["binlake"] += len(batch)
        else:
            run_job("--config", cfg, "--lake", lake_c, "--files", ",".join(batch))
            by["spark"] += len(batch)
    _, problems = pipeline.compare_tables(cur, pipeline.Lake(lake_c, DB), cols)
    for p in problems:
        fail("lake C (alternating): " + p)
    same_tables(lake_a, lake_c, "lake A (binlake) vs lake C (alternating)")
    v = binlake("verify", "--config", cfg_c, check=False)
    if v.returncode != 0:
        fail(f"binlake verify of lake C: exit {v.returncode}: {v.stdout[-2000:]}{v.stderr[-2000:]}")
    print(f"spark_apply: lake C: {by['binlake']} files by binlake, {by['spark']} by Spark",
          flush=True)
    spark.stop()

    # 6. binlake trigger --runner spark (spark-submit) into lake D.
    cfg_d = with_lake(cfg, lake_a, lake_d, os.path.join(tmp, "lakeD.toml"),
                      '\n[spark]\nargs = ["--shuffle-partitions", "4"]\n')
    t0 = time.time()
    p = binlake("trigger", "--config", cfg_d, "--runner", "spark", "--once", check=False)
    print(f"spark_apply: trigger --runner spark: exit {p.returncode} in {time.time() - t0:.1f} s",
          flush=True)
    if p.returncode != 0 or "spark job applied" not in p.stderr:
        fail(f"binlake trigger --runner spark: exit {p.returncode}:\n{p.stderr[-3000:]}")
    else:
        _, problems = pipeline.compare_tables(cur, pipeline.Lake(lake_d, DB), cols)
        for p_ in problems:
            fail("lake D (trigger --runner spark): " + p_)
        p = binlake("trigger", "--config", cfg_d, "--runner", "spark", "--once", check=False)
        if p.returncode != 0 or "spark job:" in p.stderr:
            fail(f"a second trigger --runner spark started a job or failed:\n{p.stderr[-2000:]}")
    # A failing job: one line naming it, a non-zero exit, nothing committed.
    lake_e = os.path.join(tmp, "lakeE")
    cfg_e = with_lake(cfg, lake_a, lake_e, os.path.join(tmp, "lakeE.toml"),
                      '\n[spark]\nsubmit = "false"\n')
    p = binlake("trigger", "--config", cfg_e, "--runner", "spark", "--once", check=False)
    made = [t for t in TABLES if os.path.isdir(os.path.join(lake_e, DB, t, "_delta_log"))]
    if p.returncode == 0 or "failed with exit 1" not in p.stderr or made:
        fail(f"a failing Spark job: exit {p.returncode}, tables made {made}:"
             f"\n{p.stderr[-2000:]}")
    print(f"spark_apply: seed {SEED}: failures {len(failures)}", flush=True)
    finish(1 if failures else 0)


if __name__ == "__main__":
    main()
