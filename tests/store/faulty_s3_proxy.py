#!/usr/bin/env python3
"""A fault-injecting HTTP proxy in front of an S3 server, for the S3 retry tests (stdlib only).

Forwards each request byte for byte (the same Host header, so SigV4 signatures still verify) and,
per a seeded draw, answers 503 SlowDown or 500 InternalError itself, drops the connection, stalls
past the client's timeout, or forwards and then drops the answer (the request took effect but the
client saw an error). Prints "PORT <n>" once listening.

  faulty_s3_proxy.py --upstream-port 9400 [--port 0] [--seed 1] [--rate 0.2] [--delay 3]
                     [--lose-response-for SUBSTR] [--ignore-conditions]
"""
import argparse
import http.client
import http.server
import random
import signal
import socket
import sys
import threading
import time

FAULTS = ["slowdown", "internal", "drop", "delay", "lost"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--upstream-port", type=int, required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--rate", type=float, default=0.0)
    ap.add_argument("--delay", type=float, default=3.0)
    ap.add_argument("--lose-response-for", default="")
    ap.add_argument("--ignore-conditions", action="store_true")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    lock = threading.Lock()
    lost_once = set()
    counts = {f: 0 for f in FAULTS}

    def draw(method, path):
        with lock:
            if (args.lose_response_for and method == "PUT" and args.lose_response_for in path
                    and args.lose_response_for not in lost_once):
                lost_once.add(args.lose_response_for)
                counts["lost"] += 1
                return "lost"
            if rng.random() < args.rate:
                f = rng.choice(FAULTS)
                counts[f] += 1
                return f
            return None

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):
            pass

        def hang_up(self):
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

        def error(self, status, code):
            body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code>'
                    f"<Message>injected by faulty_s3_proxy</Message></Error>").encode()
            self.send_response_only(status)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def handle_any(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            fault = draw(self.command, self.path)
            print(f"{self.command} {self.path[:80]} {fault or ''}", file=sys.stderr, flush=True)
            if fault == "slowdown":
                return self.error(503, "SlowDown")
            if fault == "internal":
                return self.error(500, "InternalError")
            if fault == "drop":
                return self.hang_up()
            if fault == "delay":
                time.sleep(args.delay)
                return self.hang_up()
            up = http.client.HTTPConnection("127.0.0.1", args.upstream_port, timeout=120)
            up.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for k, v in self.headers.items():
                up.putheader(k, v)
            up.endheaders(body if body else None)
            resp = up.getresponse()
            data = resp.read()
            headers = resp.getheaders()
            up.close()
            if fault == "lost":
                return self.hang_up()
            status, reason = resp.status, resp.reason
            if (args.ignore_conditions and status == 412 and self.headers.get("If-None-Match")):
                # Pretend the store ignored the condition (the object is not changed, though).
                status, reason, data = 200, "OK", b""
                headers = [("ETag", '"ignored"'), ("Content-Length", "0")]
            self.send_response_only(status, reason)
            has_length = False
            for k, v in headers:
                if k.lower() in ("transfer-encoding", "connection"):
                    continue
                has_length = has_length or k.lower() == "content-length"
                self.send_header(k, v)
            if not has_length:
                self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any

    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"PORT {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    finally:
        print(f"faults: {counts}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
