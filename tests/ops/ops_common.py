"""Helpers of the ops tests: a `binlake run` with the status server ([ops]) on a free port, its
address read from its JSON log lines, and a small Prometheus text parser."""
import json
import os
import re
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "testing"))
import pipeline  # noqa: E402

SAMPLE = re.compile(r'^([a-z_]+)(?:\{(.*)\})? (-?[0-9.e+]+)$')
LABEL = re.compile(r'([a-z_]+)="((?:[^"\\]|\\.)*)"')


def parse_prometheus(text):
    """{(name, ((label, value), ...)): float}; raises on a line that is not the text format."""
    out = {}
    for line in text.splitlines():
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            continue
        m = SAMPLE.match(line)
        if not m:
            raise ValueError(f"not a Prometheus sample line: {line!r}")
        labels = tuple(sorted(LABEL.findall(m.group(2) or "")))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.status, r.headers.get("Content-Type", ""), r.read().decode()


def start_run(binlake, cfg, log_path, env=None):
    """`binlake --log-format json run` with [ops] listen on port 0; returns (process, base URL)
    once the server answers. Every log line must be a JSON object (checked by check_json_log)."""
    log = open(log_path, "w")
    proc = pipeline.spawn([binlake, "--log-format", "json", "run", "--config", cfg], stderr=log,
                          env=env)
    deadline = time.time() + 30
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"binlake run exited {proc.returncode}: {open(log_path).read()}")
        with open(log_path) as f:
            for line in f:
                try:
                    msg = json.loads(line)["msg"]
                except (ValueError, KeyError):
                    continue
                m = re.search(r"status on (http://[0-9.]+:[0-9]+)/", msg)
                if m:
                    return proc, m.group(1)
        time.sleep(0.05)
    raise RuntimeError("binlake run did not announce its status server: " + open(log_path).read())


def check_json_log(log_path):
    """Problems with the JSON log lines: each line one object with ts, level and msg."""
    problems = []
    with open(log_path) as f:
        for i, line in enumerate(f, 1):
            try:
                j = json.loads(line)
            except ValueError:
                problems.append(f"log line {i} is not JSON: {line!r}")
                continue
            if set(j) != {"ts", "level", "msg"} or j["level"] not in ("info", "warning", "error"):
                problems.append(f"log line {i} has unexpected fields: {line!r}")
    return problems


def write_run_config(tmp, server, db, listen="127.0.0.1:0", enabled=True, server_id=None):
    ops = f'[ops]\nenabled = {"true" if enabled else "false"}\nlisten = "{listen}"\n'
    return pipeline.write_config(
        os.path.join(tmp, "run.toml"), port=server.port, password_file=server.password_file,
        server_id=server_id or 8100 + os.getpid() % 1000, staging=os.path.join(tmp, "staging"),
        lake=os.path.join(tmp, "lake"), include=[f"{db}.*"], interval_ms=200, buckets=4,
        extra=ops)
