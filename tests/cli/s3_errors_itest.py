#!/usr/bin/env python3
"""Wrong credentials, a missing bucket and a wrong endpoint: each gives one clear line (naming the
thing and the fix, never the secret) and a non-zero exit from the binlake commands that use S3.

usage: s3_errors_itest.py BINLAKE   (the CTest fixture's SeaweedFS: BINLAKE_TEST_S3_PORT/_DIR/_BUCKET)
"""
import os
import subprocess
import sys
import tempfile

BINLAKE = sys.argv[1]
PORT = os.environ["BINLAKE_TEST_S3_PORT"]
DIR = os.environ["BINLAKE_TEST_S3_DIR"]
BUCKET = os.environ["BINLAKE_TEST_S3_BUCKET"]
ENDPOINT = f"http://127.0.0.1:{PORT}"


def config(tmp, staging, lake, endpoint=ENDPOINT):
    path = os.path.join(tmp, f"c{len(os.listdir(tmp))}.toml")
    with open(path, "w") as f:
        f.write(f'[source]\nport = 3306\nuser = "nobody"\nserver_id = 4242\n[capture]\nstaging = "{staging}"\n[lake]\npath = "{lake}"\n'
                f'[s3]\nendpoint = "{endpoint}"\nregion = "us-east-1"\nmax_retries = 1\n'
                f'connect_timeout_ms = 2000\n')
    return path


def run(args, env):
    p = subprocess.run([BINLAKE] + args, capture_output=True, text=True, env=env, timeout=120)
    return p.returncode, p.stderr.strip()


def main():
    failures = []
    good = dict(os.environ, AWS_SHARED_CREDENTIALS_FILE=os.path.join(DIR, "credentials"),
                AWS_PROFILE="binlake")
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_ENDPOINT_URL"):
        good.pop(k, None)
    secret = "wJalrXUtnFEMIK7MDENGbPxRfiCYzzSECRETzz"
    bad_keys = dict(good, AWS_ACCESS_KEY_ID="AKIANOTAREALKEY00000", AWS_SECRET_ACCESS_KEY=secret)
    with tempfile.TemporaryDirectory() as tmp:
        staging, lake = f"s3://{BUCKET}/errors/staging", f"s3://{BUCKET}/errors/lake"
        f = f"{staging}/db/t/LOAD00000001.csv"
        cases = [
            ("wrong credentials", bad_keys, config(tmp, staging, lake), ["AKIANOTAREALKEY00000"]),
            ("missing bucket", good, config(tmp, staging, "s3://no-such-bucket-binlake/lake"),
             ["no-such-bucket-binlake"]),
            ("wrong endpoint", good, config(tmp, staging, lake, "http://127.0.0.1:1"),
             ["127.0.0.1:1"]),
        ]
        for name, env, cfg, must in cases:
            for cmd in (["apply", "--config", cfg, f], ["trigger", "--config", cfg, "--once"]):
                rc, err = run(cmd, env)
                lines = err.splitlines()
                label = f"{name}: binlake {cmd[0]}"
                print(f"{label}: exit {rc}: {err}")
                if rc == 0:
                    failures.append(f"{label} exited 0")
                if len(lines) != 1:
                    failures.append(f"{label}: {len(lines)} lines, want one")
                if secret in err:
                    failures.append(f"{label}: the secret is in the message")
                for m in must:
                    if m not in err:
                        failures.append(f"{label}: the message does not name {m}")
    for f in failures:
        print("FAIL: " + f, file=sys.stderr)
    print(f"s3_errors: {len(failures)} failures")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
