#!/usr/bin/env python3
"""HTTPS to S3 with certificate verification (docs/security.md): a SeaweedFS serving S3 over TLS
with a certificate from a private CA. `binlake apply` to an s3:// lake works with `[s3] ca_file`
(or AWS_CA_BUNDLE) naming that CA, and fails at once with one line naming the endpoint and the
fix without it, with another CA, or with an unreadable CA file; the lake is unchanged by the
failures, and the secret key appears in no output.

usage: s3_https_itest.py BINLAKE   (BINLAKE_TEST_HTTPS_S3_PORT: the server's ports PORT..PORT+8)
"""
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cli"))
import bad_input_itest as staged  # noqa: E402 - its staging-file writers

SOURCE_DIR = staged.SOURCE_DIR
BINLAKE = staged.BINLAKE
PORT = int(os.environ.get("BINLAKE_TEST_HTTPS_S3_PORT", "9430"))
FAILS = []


def check(cond, msg):
    if not cond:
        FAILS.append(msg)
        print("FAIL: " + msg, file=sys.stderr)


def main():
    tmp = tempfile.mkdtemp(prefix="binlake-https-")
    certs, s3dir = os.path.join(tmp, "certs"), os.path.join(tmp, "s3")
    subprocess.run([os.path.join(SOURCE_DIR, "scripts", "tls-certs.sh"), certs], check=True)
    env = dict(os.environ, S3_TLS_DIR=certs)
    server = [os.path.join(SOURCE_DIR, "scripts", "s3server.sh")]
    subprocess.run(server + ["start", s3dir, str(PORT), "lakes"], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    try:
        run_cases(tmp, certs, s3dir)
    finally:
        subprocess.run(server + ["stop", s3dir, str(PORT)], check=False, stdout=subprocess.DEVNULL)
    print(f"s3_https: {5 - len(FAILS)} of 5 checks passed")
    sys.exit(1 if FAILS else 0)


def run_cases(tmp, certs, s3dir):
    root = os.path.join(tmp, "root")
    staged.write_schema(root)
    files = [
        staged.write_staged(root, "LOAD00000001.csv", "load", 1,
                            [staged.row(i) for i in range(1, 21)]),
        staged.write_staged(root, "20240101-000000000-0000000001.csv", "cdc", 1,
                            ["U," + staged.row(3, "three"), "D," + staged.row(4)]),
    ]
    endpoint = f"https://127.0.0.1:{PORT + 8}"
    secret = open(os.path.join(s3dir, "credentials")).read().split("aws_secret_access_key = ")[1]
    secret = secret.split()[0]
    env = dict(os.environ, AWS_SHARED_CREDENTIALS_FILE=os.path.join(s3dir, "credentials"),
               AWS_PROFILE="binlake", AWS_REGION="us-east-1")
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_CA_BUNDLE"):
        env.pop(k, None)

    def apply(ca_line, extra_env=None, prefix="lake"):
        cfg = os.path.join(tmp, "c.toml")
        with open(cfg, "w") as f:
            f.write(f'[source]\nserver_id = 1\n[capture]\nstaging = "{root}/staging"\n'
                    f'[lake]\npath = "s3://lakes/{prefix}"\nbuckets = 4\n'
                    f'[s3]\nendpoint = "{endpoint}"\nregion = "us-east-1"\n{ca_line}\n'
                    f'max_retries = 2\n')
        t0 = time.time()
        p = subprocess.run([BINLAKE, "apply", "--config", cfg] + files, capture_output=True,
                           text=True, env=dict(env, **(extra_env or {})), timeout=120)
        out = p.stdout + p.stderr
        check(secret not in out, "the secret key appears in binlake's output")
        return p.returncode, p.stderr.strip().splitlines(), time.time() - t0

    ca = os.path.join(certs, "ca.pem")
    rc, err, _ = apply("")  # the system's CAs only
    want = f"TLS with the S3 endpoint {endpoint} failed"
    check(rc != 0 and len(err) == 1 and want in err[0] and "set [s3] ca_file (or AWS_CA_BUNDLE)"
          in err[0], f"without the CA: exit {rc}, {err}")
    rc, err, secs = apply(f'ca_file = "{os.path.join(certs, "other-ca.pem")}"')
    check(rc != 0 and len(err) == 1 and want in err[0] and secs < 20,
          f"another CA: exit {rc} after {secs:.1f} s, {err}")
    rc, err, _ = apply(f'ca_file = "{tmp}/nope.pem"')
    check(rc != 0 and len(err) == 1 and "nope.pem ([s3] ca_file or AWS_CA_BUNDLE) cannot be read"
          in err[0], f"an unreadable CA file: exit {rc}, {err}")
    rc, err, _ = apply(f'ca_file = "{ca}"')
    check(rc == 0, f"with [s3] ca_file: exit {rc}, {err}")
    rc, err, _ = apply("", {"AWS_CA_BUNDLE": ca}, prefix="lake2")
    check(rc == 0, f"with AWS_CA_BUNDLE: exit {rc}, {err}")


if __name__ == "__main__":
    main()
