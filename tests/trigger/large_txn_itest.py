#!/usr/bin/env python3
"""One transaction bigger than the memory budget through `binlake run` (docs/lake.md "Large
transactions"): a table is fully loaded, then a single transaction updates and deletes some of
its rows, inserts GIB gibibytes of new rows (about 1 KiB each) and updates some of those again.
The capture spills the transaction to its spool as it comes; the apply splits the change file by
key into parts on local disk and merges them part by part. Checks, with the lake read by delta-rs:
row count, sums of the key, of a counter and of the text lengths equal the source's, and the rows
the transaction updated or deleted among the loaded ones equal the source's exactly. Prints the
peak RSS of the `binlake run` process, which must stay under [lake] memory_mb.

To keep the disk needed near three times the transaction, once the capture has staged it the
test computes the source's sums, purges the binlog and drops the source table with sql_log_bin=0
(not captured), before the apply needs its spill space.

usage: large_txn_itest.py BINLAKE GIB [MEMORY_MB]   (BINLAKE_LARGE_TXN_GIB overrides GIB)
"""
import os
import resource
import shutil
import signal
import sys
import tempfile
import time

import pyarrow.compute as pc

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testing"))
import pipeline  # noqa: E402

BINLAKE = sys.argv[1]
GIB = float(os.environ.get("BINLAKE_LARGE_TXN_GIB") or (sys.argv[2] if len(sys.argv) > 2 else 0.25))
MEMORY_MB = int(sys.argv[3]) if len(sys.argv) > 3 else 256
DB = "bigtxn_%d" % os.getpid()
SERVER = pipeline.TestServer()
LOADED = 20000  # rows of the full load
ROW_BYTES = 1024  # about, in the binlog and in the change file
PAYLOAD = "REPEAT(MD5(%s), 31)"  # 992 characters


def peak_rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def main():
    new_rows = int(GIB * (1 << 30) / ROW_BYTES)
    tmp = tempfile.mkdtemp(prefix="binlake-bigtxn-")
    c = SERVER.connect()
    cur = c.cursor()
    cur.execute(f"CREATE DATABASE {DB}")
    # Compressed pages: the source table takes a fraction of the transaction's size on disk (the
    # binlog, the staging file and the spill still take it whole).
    cur.execute(f"CREATE TABLE {DB}.t (id BIGINT PRIMARY KEY, grp INT NOT NULL, "
                "payload VARCHAR(1000) NOT NULL) ROW_FORMAT=COMPRESSED")
    cur.execute(f"CREATE TABLE {DB}.n1000 (i INT PRIMARY KEY)")
    cur.execute(f"INSERT INTO {DB}.n1000 VALUES " + ",".join(f"({i})" for i in range(1000)))
    cur.execute(f"INSERT INTO {DB}.t SELECT a.i * 1000 + b.i + 1, 0, "
                f"{PAYLOAD % '(a.i * 1000 + b.i)'} FROM {DB}.n1000 a, {DB}.n1000 b "
                f"WHERE a.i * 1000 + b.i < {LOADED}")
    staging, lake_root = os.path.join(tmp, "staging"), os.path.join(tmp, "lake")
    cfg = pipeline.write_config(
        os.path.join(tmp, "binlake.toml"), port=SERVER.port, password_file=SERVER.password_file,
        server_id=4000 + os.getpid() % 1000, staging=staging, lake=lake_root,
        include=[f"{DB}.t"], buckets=16,
        lake_extra=f'memory_mb = {MEMORY_MB}\nspill_dir = "{os.path.join(tmp, "spill")}"\n')
    os.makedirs(os.path.join(tmp, "spill"))
    log = open(os.path.join(tmp, "run.log"), "w")
    run = pipeline.spawn([BINLAKE, "run", "--config", cfg], stdout=log, stderr=log)
    lake = pipeline.Lake(lake_root, DB)
    if not pipeline.wait_caught_up(cur, staging, lake, ["t"], timeout=120):
        sys.exit("FAIL: the full load did not reach the lake in 120 s")
    base_rss = peak_rss_kib(run.pid)

    # The transaction.
    start = time.time()
    before = pipeline.master_position(cur)
    cur.execute("BEGIN")
    cur.execute(f"UPDATE {DB}.t SET grp = grp + 1, payload = CONCAT('u', payload) "
                "WHERE id % 3 = 0")
    cur.execute(f"DELETE FROM {DB}.t WHERE id % 7 = 0")
    per = 1000 * 1000
    for first in range(0, new_rows, per):  # one INSERT ... SELECT per million rows
        n = min(per, new_rows - first)
        cur.execute(f"INSERT INTO {DB}.t SELECT {LOADED + first} + a.i * 1000 + b.i + 1, 1, "
                    f"{PAYLOAD % '(a.i * 1000 + b.i)'} FROM {DB}.n1000 a, {DB}.n1000 b "
                    f"WHERE a.i * 1000 + b.i < {n}")
    cur.execute(f"UPDATE {DB}.t SET grp = grp + 10 WHERE id > {LOADED} AND id % 1000 = 0")
    cur.execute("COMMIT")
    committed = time.time()
    target = pipeline.master_position(cur)
    cur.execute(f"SELECT COUNT(*), SUM(id), SUM(grp), SUM(CHAR_LENGTH(payload)) FROM {DB}.t")
    want = tuple(int(v) for v in cur.fetchone())
    cur.execute(f"SELECT id, grp, payload FROM {DB}.t WHERE id <= {LOADED} ORDER BY id")
    want_loaded = [tuple(r) for r in cur.fetchall()]
    cur.execute("SHOW BINARY LOGS")  # the transaction: from `before` to `target`, maybe rotated
    logs = [(r[0], int(r[1])) for r in cur.fetchall()]
    binlog_bytes = sum(size for name, size in logs if before[0] <= name < target[0])
    binlog_bytes += target[1] - before[1]
    print(f"transaction: {new_rows} rows inserted, {LOADED // 3} updated, {LOADED // 7} deleted; "
          f"{binlog_bytes / 2**30:.2f} GiB in the binlog; committed in {committed - start:.0f} s",
          flush=True)

    # Once staged: the source's space back (not captured: sql_log_bin = 0).
    deadline = time.time() + 7200
    published = None
    while time.time() < deadline:
        if published is None and pipeline.staged_sequences(staging, DB, "t"):
            published = time.time()
        cp = pipeline.checkpoint_position(staging)
        if cp is not None and cp >= target:
            break
        if run.poll() is not None:
            sys.exit(f"FAIL: binlake run exited {run.returncode}; see {tmp}/run.log")
        time.sleep(0.5)
    staged = time.time()
    published = published or staged
    print(f"change file published {published - committed:.0f} s after the commit, checkpoint "
          f"past it after {staged - committed:.0f} s", flush=True)
    cur.execute("FLUSH BINARY LOGS")
    cur.execute("PURGE BINARY LOGS BEFORE NOW() + INTERVAL 1 SECOND")
    cur.execute("SET sql_log_bin = 0")
    cur.execute(f"DROP TABLE {DB}.t")
    cur.execute("SET sql_log_bin = 1")

    # The lake catches up.
    while time.time() < deadline:
        if lake.txn_version("t") == pipeline.staged_sequences(staging, DB, "t")[-1]:
            break
        if run.poll() is not None:
            sys.exit(f"FAIL: binlake run exited {run.returncode}; see {tmp}/run.log")
        time.sleep(0.5)
    applied = time.time()
    rss = peak_rss_kib(run.pid)
    run.send_signal(signal.SIGINT)
    _, status, usage = os.wait4(run.pid, 0)
    run.returncode = os.waitstatus_to_exitcode(status)
    rss = max(rss, usage.ru_maxrss)
    log.close()
    print(f"in the lake {applied - committed:.0f} s after the commit ({applied - published:.0f} s "
          f"after the file was published); binlake run exited {run.returncode}", flush=True)

    fails = []
    dt = lake.table("t")
    count = ids = grps = chars = 0
    loaded = []
    for batch in dt.to_pyarrow_dataset().to_batches(columns=["id", "grp", "payload"]):
        count += batch.num_rows
        ids += pc.sum(batch["id"]).as_py() or 0
        grps += pc.sum(batch["grp"]).as_py() or 0
        chars += pc.sum(pc.utf8_length(batch["payload"])).as_py() or 0
        small = batch.filter(pc.less_equal(batch["id"], LOADED))
        loaded += zip(small["id"].to_pylist(), small["grp"].to_pylist(),
                      small["payload"].to_pylist())
    got = (count, ids, grps, chars)
    if got != want:
        fails.append(f"lake (rows, sum id, sum grp, sum chars) {got}, source {want}")
    if sorted(loaded) != want_loaded:
        fails.append(f"the loaded rows differ: {len(loaded)} in the lake, {len(want_loaded)} in "
                     "the source")
    if run.returncode != 0:
        fails.append(f"binlake run exited {run.returncode}")
    if os.listdir(os.path.join(tmp, "spill")):
        fails.append("the spill folder is not empty")
    files = len(dt.file_uris())
    print(f"lake: {count} rows in {files} files; peak RSS of binlake run {rss / 1024:.0f} MiB "
          f"(budget {MEMORY_MB} MiB; {base_rss / 1024:.0f} MiB after the full load)", flush=True)
    if rss > MEMORY_MB * 1024:
        fails.append(f"peak RSS {rss / 1024:.0f} MiB is over the {MEMORY_MB} MiB budget")
    for f in fails:
        print("FAIL: " + f, file=sys.stderr)
    cur.execute(f"DROP DATABASE {DB}")
    if fails:
        print(f"kept {tmp}", file=sys.stderr)
        sys.exit(1)
    shutil.rmtree(tmp, ignore_errors=True)
    print("large transaction: OK")


if __name__ == "__main__":
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    main()
