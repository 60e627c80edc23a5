#!/usr/bin/env python3
"""The dashboard in a real browser: headless Chromium (Debian's chromium package) driven by
playwright-core (npm) opens the page of a running `binlake run` while a workload runs, checks the
per-table rows and that the lag chart updates, and saves a screenshot (tests/ops/dashboard_check.js).
Without chromium or playwright-core the test is skipped (exit 77), except under CI=true where it
fails: scripts/install-deps.sh installs both.

usage: dashboard_itest.py BINLAKE SCREENSHOT
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ops_common  # noqa: E402
from ops_common import pipeline  # noqa: E402

BINLAKE, SCREENSHOT = sys.argv[1], sys.argv[2]
DB = "ops_dash_%d" % os.getpid()
HERE = os.path.dirname(os.path.abspath(__file__))
CHROMIUM = os.environ.get("BINLAKE_CHROMIUM", "/usr/bin/chromium")


def node_modules():
    """Where install-deps.sh put playwright-core (BINLAKE_NODE_MODULES overrides)."""
    tools = os.environ.get("BINLAKE_TOOLS",
                           os.path.expanduser("~/.local/share/binlake-tools"))
    return os.environ.get("BINLAKE_NODE_MODULES", os.path.join(tools, "playwright", "node_modules"))


def missing():
    what = []
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        what.append(f"chromium ({CHROMIUM}; apt-get install chromium)")
    if shutil.which("node") is None:
        what.append("node (apt-get install nodejs)")
    if not os.path.isdir(os.path.join(node_modules(), "playwright-core")):
        what.append(f"playwright-core (npm install, into {node_modules()})")
    return what


def main():
    gone = missing()
    if gone:
        msg = "dashboard test needs " + ", ".join(gone) + ": run scripts/install-deps.sh"
        if os.environ.get("CI") == "true":
            print("FAIL: " + msg, file=sys.stderr)
            sys.exit(1)
        print("SKIP: " + msg, file=sys.stderr)
        sys.exit(77)
    t0 = time.time()
    server = pipeline.TestServer()
    db = server.connect()
    cur = db.cursor()
    cur.execute(f"DROP DATABASE IF EXISTS {DB}")
    cur.execute(f"CREATE DATABASE {DB}")
    tables = ["orders", "customers"]
    for t in tables:
        cur.execute(f"CREATE TABLE {DB}.{t} (id INT PRIMARY KEY, v INT)")
        cur.execute(f"INSERT INTO {DB}.{t} VALUES " + ", ".join(f"({i}, 0)" for i in range(1, 201)))
    tmp = tempfile.mkdtemp(prefix="binlake-dash-")
    cfg = ops_common.write_run_config(tmp, server, DB)
    proc, base = ops_common.start_run(BINLAKE, cfg, os.path.join(tmp, "run.log"))

    stop = threading.Event()

    def writer():
        c = server.connect().cursor()
        i = 1000
        while not stop.is_set():
            i += 1
            for t in tables:
                c.execute(f"INSERT INTO {DB}.{t} VALUES (%s, 1)", (i,))
                c.execute(f"UPDATE {DB}.{t} SET v = v + 1 WHERE id = %s", (i % 200 + 1,))
                if i % 5 == 0:
                    c.execute(f"DELETE FROM {DB}.{t} WHERE id = %s", (i - 3,))
            time.sleep(0.05)

    th = threading.Thread(target=writer)
    th.start()
    env = dict(os.environ, NODE_PATH=node_modules())
    try:
        out = subprocess.run(["node", os.path.join(HERE, "dashboard_check.js"), base + "/",
                              json.dumps([f"{DB}.{t}" for t in tables]), SCREENSHOT],
                             capture_output=True, text=True, timeout=180, env=env)
    finally:
        stop.set()
        th.join()
    print(out.stdout.strip(), flush=True)
    if out.stderr.strip():
        print(out.stderr.strip()[-2000:], file=sys.stderr)
    proc.send_signal(signal.SIGINT)
    rc = proc.wait(timeout=60)
    ok = out.returncode == 0 and rc == 0 and os.path.getsize(SCREENSHOT) > 10000
    cur.execute(f"DROP DATABASE {DB}")
    print(f"dashboard: {'ok' if ok else 'FAILED'}, screenshot {SCREENSHOT}, "
          f"{time.time() - t0:.1f} s", flush=True)
    if not ok:
        print(f"node exit {out.returncode}, binlake exit {rc}; files kept in {tmp}", file=sys.stderr)
        sys.exit(1)
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
