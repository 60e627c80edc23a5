#!/usr/bin/env python3
"""S3 benchmark: staging and lake throughput on a local S3 server next to the local disk, same run.

usage: s3_bench.py BINLAKE STAGING_GEN WORKDIR [ROWS]
       S3_BENCH_QUICK=1: 100,000 rows, one run each (a smoke run)
       S3_BENCH_REPEAT=N: runs per measurement, the best is reported (default 3)
       S3_BENCH_PORT=P: the S3 server's port (default 9530; it also takes P+1..P+7)

Starts its own SeaweedFS (scripts/s3server.sh) in WORKDIR/s3, writes one object so it allocates
the bucket's volumes before anything is timed, and stops it at the end. Each run
writes the same data (staging_gen is deterministic) to a fresh folder and a fresh S3 prefix, the
local and the S3 step interleaved so both see the same machine:
1. staging: staging_gen writes the ROWS-row full load of bench.t, then one change file of 1% of
   the rows, through binlake's staging store, to WORKDIR/staging-N and to s3://BUCKET/staging-N;
2. lake: `binlake apply` of the LOAD files into a new Delta table (local staging -> local lake,
   S3 staging -> S3 lake), then of the change file;
3. both lakes are read back with the `deltalake` package and must hold the same rows.
Times are wall clock of the whole process; CPU is the process's user+sys and, for S3 runs, the
SeaweedFS server's (it runs on the same cores).
"""
import configparser
import dataclasses
import json
import os
import subprocess
import sys
import time

import pyarrow.fs

QUICK = os.environ.get("S3_BENCH_QUICK", "") not in ("", "0")
PORT = int(os.environ.get("S3_BENCH_PORT", "9530"))
BUCKET = "binlake-bench"
S3SERVER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts", "s3server.sh")


def fail(msg):
    sys.exit(f"s3_bench: {msg}")


def cpu_seconds(pid):
    """user + sys CPU seconds of a running process, from /proc."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclasses.dataclass
class Step:
    seconds: float  # wall clock of the whole process
    cpu: float  # its user + sys
    server_cpu: float  # the S3 server's user + sys meanwhile
    stdout: str
    stats: dict = dataclasses.field(default_factory=dict)


def timed(cmd, env, server_pid):
    """Runs cmd (it must succeed) and times it."""
    server_before = cpu_seconds(server_pid)
    children_before = os.times()
    t0 = time.perf_counter()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if p.returncode != 0:
        fail(f"{' '.join(cmd)} failed:\n{p.stderr[-4000:]}")
    after = os.times()
    cpu = (after.children_user - children_before.children_user
           + after.children_system - children_before.children_system)
    return Step(seconds, cpu, cpu_seconds(server_pid) - server_before, p.stdout)


def apply_stats(stdout):
    """`binlake apply` prints `commits=1 ... bytes_written=N`: the fields as ints."""
    return {k: int(v) for k, v in (f.split("=") for f in stdout.split())}


class Server:
    """The private SeaweedFS: started in DIR on PORT with BUCKET, its keys in DIR/credentials."""

    def __init__(self, work):
        self.dir = os.path.join(work, "s3")
        self.endpoint = f"http://127.0.0.1:{PORT}"

    def __enter__(self):
        print(f"s3_bench: starting SeaweedFS on {self.endpoint}...", file=sys.stderr)
        p = subprocess.run([S3SERVER, "start", self.dir, str(PORT), BUCKET], capture_output=True,
                           text=True)
        if p.returncode != 0:
            self.stop()
            fail(f"s3server.sh start failed:\n{p.stdout}{p.stderr}")
        with open(os.path.join(self.dir, "weed.pid")) as f:
            self.pid = int(f.read())
        creds = configparser.ConfigParser()
        creds.read(os.path.join(self.dir, "credentials"))
        self.key = creds["binlake"]["aws_access_key_id"]
        self.secret = creds["binlake"]["aws_secret_access_key"]
        # SeaweedFS allocates the bucket's volumes on its first write (a deferred allocation of
        # about 4 s): done here, so the first timed step does not pay for it.
        fs = self.filesystem()
        with fs.open_output_stream(f"{BUCKET}/warm-up") as f:
            f.write(b"warm-up")
        fs.delete_file(f"{BUCKET}/warm-up")
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        subprocess.run([S3SERVER, "stop", self.dir, str(PORT)], capture_output=True)

    def env(self, work):
        """The environment of every binlake / staging_gen process (local runs get it too)."""
        env = dict(os.environ)
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                     "AWS_ENDPOINT_URL_S3", "BINLAKE_STORE_FAULTS"):
            env.pop(name, None)
        env.update(AWS_SHARED_CREDENTIALS_FILE=os.path.join(self.dir, "credentials"),
                   AWS_PROFILE="binlake", AWS_ENDPOINT_URL=self.endpoint, AWS_REGION="us-east-1",
                   XDG_CACHE_HOME=os.path.join(work, "cache"))  # the S3 staging's spool folder
        return env

    def filesystem(self):
        return pyarrow.fs.S3FileSystem(access_key=self.key, secret_key=self.secret,
                                       endpoint_override=self.endpoint, scheme="http",
                                       region="us-east-1")

    def storage_options(self):
        return {"AWS_ENDPOINT_URL": self.endpoint, "AWS_ACCESS_KEY_ID": self.key,
                "AWS_SECRET_ACCESS_KEY": self.secret, "AWS_REGION": "us-east-1",
                "AWS_ALLOW_HTTP": "true"}


@dataclasses.dataclass
class Side:
    """Where one side keeps its staging and lakes: a local folder or the bucket."""
    root: str  # as binlake takes it: "/work/x" or "s3://bucket"
    fs: pyarrow.fs.FileSystem
    fs_root: str  # the same root as `fs` names it

    def staging(self, n):
        return f"{self.root}/staging-{n}"

    def lake(self, n):
        return f"{self.root}/lake-{n}"

    def staged_files(self, n):
        """{key: size} of every object in staging-n."""
        root = f"{self.fs_root}/staging-{n}"
        infos = self.fs.get_file_info(pyarrow.fs.FileSelector(root, recursive=True))
        return {i.path[len(root) + 1:]: i.size for i in infos
                if i.type == pyarrow.fs.FileType.File}


def change_file(files):
    names = [k for k in files if k.startswith("bench/t/") and k.endswith(".csv")
             and not k.startswith("bench/t/LOAD")]
    if len(names) != 1:
        fail(f"expected one change file in staging, found {names}")
    return names[0]


def read_lake(uri, storage_options=None):
    from deltalake import DeltaTable
    t = DeltaTable(uri, storage_options=storage_options).to_pyarrow_table()
    return t.sort_by("id")


def best(steps):
    return min(steps, key=lambda s: s.seconds)


def runs_text(steps):
    b = best(steps)
    text = f"{b.seconds:.2f} s"
    if len(steps) > 1:
        text += f" (runs {', '.join(f'{s.seconds:.2f}' for s in steps)})"
    return text


def main():
    if len(sys.argv) < 4:
        fail("usage: s3_bench.py BINLAKE STAGING_GEN WORKDIR [ROWS]")
    binlake, gen = (os.path.abspath(a) for a in sys.argv[1:3])
    work = os.path.abspath(sys.argv[3])
    rows = int(sys.argv[4]) if len(sys.argv) > 4 else (100_000 if QUICK else 1_000_000)
    repeat = int(os.environ.get("S3_BENCH_REPEAT", "1" if QUICK else "3"))
    changes = rows // 100
    subprocess.run(["rm", "-rf", work], check=True)
    os.makedirs(work)
    with Server(work) as server:
        env = server.env(work)
        sides = {"local": Side(work, pyarrow.fs.LocalFileSystem(), work),
                 "S3": Side(f"s3://{BUCKET}", server.filesystem(), BUCKET)}
        steps = {(side, what): [] for side in sides
                 for what in ("staging load", "staging changes", "lake load", "lake changes")}
        print(f"s3_bench: {rows:,} rows, {repeat} run(s) each...", file=sys.stderr)
        for n in range(1, repeat + 1):
            for side in sides:
                steps[side, "staging load"].append(
                    timed([gen, "load", sides[side].staging(n), str(rows)], env, server.pid))
            for side in sides:
                steps[side, "staging changes"].append(
                    timed([gen, "changes", sides[side].staging(n), str(rows), str(changes), "1"],
                          env, server.pid))
        # The lake steps all apply the first run's staging.
        files, s3_files = (s.staged_files(1) for s in sides.values())
        if files != s3_files:
            fail("the local and the S3 staging differ: "
                 f"{sorted(set(files.items()) ^ set(s3_files.items()))[:10]}")
        loads = sorted(k for k in files if k.startswith("bench/t/LOAD") and k.endswith(".csv"))
        change = change_file(files)
        load_bytes = sum(files[k] for k in loads)
        change_bytes = files[change]
        with open(os.path.join(work, "staging-1", "_binlake", "files", change + ".json")) as f:
            change_rows = json.load(f)["rows"]

        for n in range(1, repeat + 1):
            for what, names in (("lake load", loads), ("lake changes", [change])):
                for side in sides:
                    step = timed([binlake, "apply", "--lake", sides[side].lake(n),
                                  "--staging", sides[side].staging(1), *names], env, server.pid)
                    step.stats = apply_stats(step.stdout)
                    if step.stats["commits"] != 1:
                        fail(f"{what} on {side}: expected one commit: {step.stdout}")
                    if what == "lake load" and step.stats["rows_written"] != rows:
                        fail(f"{what} on {side} wrote {step.stats['rows_written']:,} rows")
                    steps[side, what].append(step)

        local = read_lake(sides["local"].lake(repeat) + "/bench/t")
        remote = read_lake(sides["S3"].lake(repeat) + "/bench/t", server.storage_options())
        if not local.equals(remote):
            fail(f"the lakes differ: local {local.num_rows:,} rows, S3 {remote.num_rows:,} rows")

    print(f"\nS3 (SeaweedFS on 127.0.0.1, same machine) vs local disk: {rows:,} rows of bench.t, "
          f"best of {repeat}")
    print(f"staging: full load {len(loads)} LOAD file(s), {load_bytes / 1e6:,.1f} MB CSV; "
          f"change file {change_rows:,} rows, {change_bytes / 1e6:,.1f} MB")
    load = steps["local", "lake load"][0].stats
    print(f"lake: {load['files_added']} buckets, {load['bytes_written'] / 1e6:,.1f} MB Parquet; "
          f"same rows in both lakes: {local.num_rows:,} rows, equal after sorting by id\n")
    header = f"{'step':<22}{'local':>30}{'S3':>30}{'S3/local':>10}"
    print(header)
    print("-" * len(header))
    results = []
    for what, volume, unit in (("staging load", load_bytes, "MB"),
                               ("staging changes", change_bytes, "MB"),
                               ("lake load", rows, "rows"),
                               ("lake changes", change_rows, "rows")):
        cells, row = [], {"step": what}
        for side in sides:
            b = best(steps[side, what])
            rate = volume / b.seconds
            rate_text = f"{rate / 1e6:,.1f} MB/s" if unit == "MB" else f"{rate:,.0f} rows/s"
            cells.append(f"{b.seconds:.2f} s, {rate_text}")
            row[side] = {"seconds": round(b.seconds, 3), "cpu_s": round(b.cpu, 2),
                         "server_cpu_s": round(b.server_cpu, 2)}
            if what.startswith("lake"):
                row[side]["mb_written"] = round(b.stats["bytes_written"] / 1e6, 1)
        ratio = best(steps["S3", what]).seconds / best(steps["local", what]).seconds
        row["ratio"] = round(ratio, 2)
        results.append(row)
        print(f"{what:<22}{cells[0]:>30}{cells[1]:>30}{ratio:>9.1f}x")
    print()
    for what in ("staging load", "staging changes", "lake load", "lake changes"):
        lb, sb = best(steps["local", what]), best(steps["S3", what])
        written = (f"; {lb.stats['bytes_written'] / 1e6:,.1f} MB written"
                   if what.startswith("lake") else "")
        print(f"{what}: local {runs_text(steps['local', what])}, CPU {lb.cpu:.2f} s; "
              f"S3 {runs_text(steps['S3', what])}, CPU {sb.cpu:.2f} s + SeaweedFS "
              f"{sb.server_cpu:.2f} s{written}")
    print("\n" + json.dumps(results))


if __name__ == "__main__":
    main()
