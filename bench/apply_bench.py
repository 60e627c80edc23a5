#!/usr/bin/env python3
"""Apply benchmark: binlake apply next to DuckDB on the same Parquet data, in the same run.

usage: apply_bench.py BINLAKE STAGING_GEN WORKDIR [ROWS]
       APPLY_BENCH_QUICK=1: 200,000 rows, one run each (a smoke run)
       APPLY_BENCH_REPEAT=N: runs per measurement, the best is reported (default 3)

1. Full load: staging_gen writes a ROWS-row (default 10M) table bench.t (BIGINT pk, INT,
   VARCHAR(64), DECIMAL(12,2), DATETIME(6), DOUBLE, nullable TEXT) as staging LOAD files through
   binlake's own staging store; `binlake apply` builds the Delta table (time, peak RSS).
2. Then for each case (1% of the rows changed; 0.01%; 0.01% as updates of 10 hot rows)
   staging_gen writes one change file (mostly updates, some keys twice, inserts, deletes, key
   moves as D+I; or only updates of the hot rows) and, starting from
   the same Parquet files (the table's latest Delta version) and the same change CSV:
   (A) `binlake apply` of the change file: reads the touched buckets' files, merges, writes one
       new ZSTD Parquet file per touched bucket (fsynced) and commits a Delta log version;
   (B) DuckDB (in-memory, all cores): loads every Parquet file of the table into a table with a
       PRIMARY KEY, reads the change CSV, keeps each key's last change (file order, so the result
       is that of applying the file in order), DELETEs the deleted keys, INSERT OR REPLACEs the
       rest, and COPYs the table to one ZSTD Parquet file (fsynced);
   (B') DuckDB without the index: an anti-join of the Parquet files with the changed keys UNION
       ALL the new rows, COPY to one ZSTD Parquet file (fsynced) - the faster way to do it there.
   Times are wall clock of the work (binlake: the whole process; DuckDB: from connect to fsync,
   the Python start and `import duckdb` left out), the best of APPLY_BENCH_REPEAT runs, binlake
   and DuckDB interleaved (the table is put back between binlake runs). Both results are then
   read by DuckDB and must hold exactly the same rows (EXCEPT ALL both ways is empty).
"""
import json
import os
import subprocess
import sys
import tempfile
import time

QUICK = os.environ.get("APPLY_BENCH_QUICK", "") not in ("", "0")
COLS = "id, qty, name, price, created, score, note"
CSV_COLUMNS = ("{'op': 'VARCHAR', 'id': 'BIGINT', 'qty': 'INTEGER', 'name': 'VARCHAR', "
               "'price': 'DECIMAL(12,2)', 'created': 'TIMESTAMP', 'score': 'DOUBLE', 'note': 'VARCHAR'}")


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed:\n{p.stderr}")


def measure(cmd, env=None):
    """(seconds, peak RSS MiB, stdout, stderr) of cmd. The RSS comes from /usr/bin/time: a child
    forked from this (bigger) python would report this process's RSS as its own peak."""
    with tempfile.TemporaryDirectory() as d:
        out, err, tv = (os.path.join(d, n) for n in ("out", "err", "time"))
        with open(out, "w") as fo, open(err, "w") as fe:
            t0 = time.perf_counter()
            rc = subprocess.call(["/usr/bin/time", "-f", "%M", "-o", tv, *cmd], stdout=fo,
                                 stderr=fe, env=env)
            seconds = time.perf_counter() - t0
        with open(out) as fo, open(err) as fe, open(tv) as ft:
            stdout, stderr, rss_kib = fo.read(), fe.read(), int(ft.read().split()[-1])
    if rc != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed:\n{stderr[-4000:]}")
    return seconds, rss_kib / 1024, stdout, stderr


def active_files():
    from deltalake import DeltaTable
    t = DeltaTable(TABLE)
    return t.version(), sorted(t.file_uris())


def last_commit(version):
    adds, removes = [], []
    with open(os.path.join(TABLE, "_delta_log", f"{version:020d}.json")) as f:
        for line in f:
            a = json.loads(line)
            if "add" in a:
                adds.append(a["add"])
            elif "remove" in a:
                removes.append(a["remove"])
    return adds, removes


def bucket(path):
    return path.split("/", 1)[0]


DUCK_PK = """
CREATE TABLE t (id BIGINT PRIMARY KEY, qty INTEGER, name VARCHAR, price DECIMAL(12,2),
                created TIMESTAMP, score DOUBLE, note VARCHAR);
INSERT INTO t SELECT {cols} FROM read_parquet({files});
CREATE TEMP TABLE c AS SELECT row_number() OVER () AS seq, * FROM read_csv('{csv}', header = false,
  auto_detect = false, delim = ',', quote = '"', escape = '"', nullstr = '',
  allow_quoted_nulls = false, columns = {csv_columns});
CREATE TEMP TABLE last AS SELECT * FROM c
  QUALIFY row_number() OVER (PARTITION BY id ORDER BY seq DESC) = 1;
DELETE FROM t WHERE id IN (SELECT id FROM last WHERE op = 'D');
INSERT OR REPLACE INTO t SELECT {cols} FROM last WHERE op <> 'D';
COPY t TO '{out}' (FORMAT parquet, COMPRESSION zstd);
"""

DUCK_DIRECT = """
CREATE TEMP TABLE c AS SELECT row_number() OVER () AS seq, * FROM read_csv('{csv}', header = false,
  auto_detect = false, delim = ',', quote = '"', escape = '"', nullstr = '',
  allow_quoted_nulls = false, columns = {csv_columns});
CREATE TEMP TABLE last AS SELECT * FROM c
  QUALIFY row_number() OVER (PARTITION BY id ORDER BY seq DESC) = 1;
COPY (SELECT {cols} FROM read_parquet({files}) p ANTI JOIN last USING (id)
      UNION ALL SELECT {cols} FROM last WHERE op <> 'D') TO '{out}' (FORMAT parquet, COMPRESSION zstd);
"""


def duck_worker(kind, files_json, csv, out):
    """Runs in a fresh process: one DuckDB variant, timed from connect to fsync."""
    import duckdb
    files = json.loads(files_json)
    sql = (DUCK_PK if kind == "pk" else DUCK_DIRECT).format(
        cols=COLS, files=json.dumps(files).replace('"', "'"), csv=csv, out=out,
        csv_columns=CSV_COLUMNS)
    t0 = time.perf_counter()
    con = duckdb.connect()
    con.execute(sql)
    fd = os.open(out, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    dfd = os.open(os.path.dirname(out), os.O_RDONLY)
    os.fsync(dfd)
    os.close(dfd)
    seconds = time.perf_counter() - t0
    con.close()
    print(json.dumps({"seconds": seconds}))


def duck(kind, files, csv, out):
    if os.path.exists(out):
        os.remove(out)
    _, rss, stdout, _ = measure([sys.executable, __file__, "--duck-worker", kind,
                                 json.dumps(files), csv, out])
    return json.loads(stdout)["seconds"], rss


def same_rows(a_files, b_files):
    """(count and hash sum of side A, of side B, whether both hold exactly the same rows): each
    side a Parquet file or a list of them (read by column name)."""
    import duckdb
    con = duckdb.connect()

    def scan(files):
        return f"read_parquet({json.dumps(files)}, union_by_name = true)".replace('"', "'")

    a, b = scan(a_files), scan(b_files)
    q = f"SELECT count(*), sum(hash({COLS})) FROM {{}}"
    ra = con.execute(q.format(a)).fetchone()
    rb = con.execute(q.format(b)).fetchone()
    d1 = con.execute(f"SELECT count(*) FROM (SELECT {COLS} FROM {a} EXCEPT ALL "
                     f"SELECT {COLS} FROM {b})").fetchone()[0]
    d2 = con.execute(f"SELECT count(*) FROM (SELECT {COLS} FROM {b} EXCEPT ALL "
                     f"SELECT {COLS} FROM {a})").fetchone()[0]
    return ra, rb, d1 == 0 and d2 == 0


def snapshot_table():
    """What a commit adds to the table folder: the state to return to before a repeated run."""
    log = os.path.join(TABLE, "_delta_log")
    last = os.path.join(log, "_last_checkpoint")
    files = set()
    for d, _, names in os.walk(TABLE):
        files.update(os.path.join(d, n) for n in names)
    return files, (open(last).read() if os.path.exists(last) else None)


def restore_table(state):
    files, last_checkpoint = state
    for d, _, names in os.walk(TABLE):
        for n in names:
            p = os.path.join(d, n)
            if p not in files:
                os.remove(p)
    if last_checkpoint is not None:
        with open(os.path.join(TABLE, "_delta_log", "_last_checkpoint"), "w") as f:
            f.write(last_checkpoint)


def runs_text(runs):
    return f"best of {len(runs)}: {min(runs):.2f} s" + (
        f" (runs {', '.join(f'{r:.2f}' for r in runs)})" if len(runs) > 1 else "")


def main():
    global BINLAKE, GEN, WORK, ROWS, STAGING, LAKE, TABLE
    BINLAKE, GEN, WORK = sys.argv[1], sys.argv[2], os.path.abspath(sys.argv[3])
    ROWS = int(sys.argv[4]) if len(sys.argv) > 4 else (200_000 if QUICK else 10_000_000)
    repeat = int(os.environ.get("APPLY_BENCH_REPEAT", "1" if QUICK else "3"))
    STAGING = os.path.join(WORK, "staging")
    LAKE = os.path.join(WORK, "lake")
    TABLE = os.path.join(LAKE, "bench", "t")
    subprocess.run(["rm", "-rf", WORK], check=True)
    os.makedirs(WORK)
    print(f"bench: writing {ROWS:,} rows of bench.t as staging LOAD files...", file=sys.stderr)
    run([GEN, "load", STAGING, str(ROWS)])
    loads = sorted(os.path.join(STAGING, "bench", "t", n)
                   for n in os.listdir(os.path.join(STAGING, "bench", "t")) if n.startswith("LOAD"))
    load_bytes = sum(os.path.getsize(p) for p in loads)
    load_runs, load_rss = [], 0
    for _ in range(repeat):
        subprocess.run(["rm", "-rf", LAKE], check=True)
        secs, rss, out, _ = measure([BINLAKE, "apply", "--lake", LAKE, loads[0]])
        load_runs.append(secs)
        load_rss = max(load_rss, rss)
    version, files = active_files()
    lake_bytes = sum(os.path.getsize(f) for f in files)
    print(f"full load: {ROWS:,} rows, {len(loads)} LOAD file(s), {load_bytes / 2**20:,.0f} MiB CSV "
          f"-> {len(files)} buckets, {lake_bytes / 2**20:,.0f} MiB Parquet")
    print(f"  binlake apply: {runs_text(load_runs)} ({ROWS / min(load_runs):,.0f} rows/s), "
          f"peak RSS {load_rss:,.0f} MiB")
    print(f"  ({out.strip()})")

    cases = [("1% of the rows", ROWS // 100, 0), ("0.01% of the rows", ROWS // 10000, 0),
             ("0.01%, on 10 hot rows", ROWS // 10000, 10)]
    results = []
    for case, (label, n, hot) in enumerate(cases, start=1):
        before_version, before_files = active_files()
        existing = set(os.listdir(os.path.join(STAGING, "bench", "t")))
        run([GEN, "changes", STAGING, str(ROWS), str(n), str(case)] + ([str(hot)] if hot else []))
        new = sorted(set(os.listdir(os.path.join(STAGING, "bench", "t"))) - existing)
        assert len(new) == 1, new
        csv = os.path.join(STAGING, "bench", "t", new[0])
        with open(os.path.join(STAGING, "_binlake", "files", "bench", "t", new[0] + ".json")) as f:
            m = json.load(f)
        duck_out = os.path.join(WORK, f"duck-{case}.parquet")
        direct_out = os.path.join(WORK, f"duck-direct-{case}.parquet")
        state = snapshot_table()
        b_runs, d_runs, dd_runs = [], [], []
        rss = d_rss = dd_rss = 0
        for rep in range(repeat):  # interleaved, so that both see the same machine
            if rep > 0:
                restore_table(state)
            secs, r, out, err = measure([BINLAKE, "apply", "--lake", LAKE, csv])
            b_runs.append(secs)
            rss = max(rss, r)
            secs, r = duck("pk", before_files, csv, duck_out)
            d_runs.append(secs)
            d_rss = max(d_rss, r)
            secs, r = duck("direct", before_files, csv, direct_out)
            dd_runs.append(secs)
            dd_rss = max(dd_rss, r)
        warnings = err.count("warning:")
        version, files = active_files()
        assert version == before_version + 1, (version, before_version)
        adds, removes = last_commit(version)
        rewritten = sum(a["size"] for a in adds)
        total_bytes = sum(os.path.getsize(f) for f in files)
        touched = len({bucket(r["path"]) for r in removes} | {bucket(a["path"]) for a in adds})
        all_buckets = len({bucket(os.path.relpath(f, TABLE)) for f in before_files})
        ra, rb, equal = same_rows(files, duck_out)
        rc, rd, equal2 = same_rows(files, direct_out)
        assert equal and equal2 and ra == rb == rd, (ra, rb, rd)
        secs, d_secs, dd_secs = min(b_runs), min(d_runs), min(dd_runs)
        print(f"\nchanges {label}: {m['rows']:,} change rows ({m['inserts']:,} I, "
              f"{m['updates']:,} U, {m['deletes']:,} D) on {ROWS:,} rows")
        print(f"  binlake apply: {runs_text(b_runs)}, peak RSS {rss:,.0f} MiB")
        print(f"    buckets touched {touched} / {all_buckets}; files rewritten {len(removes)} -> "
              f"{len(adds)}; bytes rewritten {rewritten / 2**20:,.1f} MiB of "
              f"{total_bytes / 2**20:,.1f} MiB{f'; {warnings} warnings' if warnings else ''}")
        print(f"  DuckDB, PRIMARY KEY table + DELETE + INSERT OR REPLACE + COPY: {runs_text(d_runs)}, "
              f"peak RSS {d_rss:,.0f} MiB; writes {os.path.getsize(duck_out) / 2**20:,.1f} MiB")
        print(f"  DuckDB, anti-join + UNION ALL + COPY: {runs_text(dd_runs)}, "
              f"peak RSS {dd_rss:,.0f} MiB")
        print(f"  same rows: {ra[0]:,} rows, checksum {ra[1]} (binlake) == {rb[1]} (DuckDB)")
        print(f"  ratio DuckDB(PK) / binlake: {d_secs / secs:.1f}x; "
              f"DuckDB(anti-join) / binlake: {dd_secs / secs:.1f}x")
        results.append({"case": label, "changes": m["rows"], "binlake_s": round(secs, 3),
                        "binlake_rss_mib": round(rss), "duckdb_pk_s": round(d_secs, 3),
                        "duckdb_direct_s": round(dd_secs, 3), "buckets_touched": touched,
                        "buckets": all_buckets, "bytes_rewritten": rewritten,
                        "table_bytes": total_bytes})
    print("\n" + json.dumps(results))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--duck-worker":
        duck_worker(*sys.argv[2:6])
    else:
        main()
