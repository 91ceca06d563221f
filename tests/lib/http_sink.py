#!/usr/bin/env python3
"""A small HTTP sink for delivery tests: it stores every accepted request body (decoded from
gzip/zstd when a Content-Encoding says so) as lines appended to OUT, and answers according to a
mode file that the test rewrites while it runs:

    ok                  200 for everything (default)
    status CODE [SECS]  answer CODE, with Retry-After: SECS when given
    hang                read the request, then never answer (a stuck destination)

Each request is also logged to OUT.log as "<unix time> <status> <bytes> <lines stored>".
With SINK_REQ_DIR set, each accepted body is also written whole to SINK_REQ_DIR/<n>.body
(n counts from 1 in arrival order), for tests that check what one request carried.
usage: http_sink.py PORT OUT MODEFILE      (listens on 127.0.0.1 only)
"""
import gzip
import http.server
import os
import socketserver
import sys
import threading
import time

PORT, OUT, MODE = int(sys.argv[1]), sys.argv[2], sys.argv[3]
REQ_DIR = os.environ.get("SINK_REQ_DIR")
LOCK = threading.Lock()
NREQ = [0]


def mode():
    try:
        with open(MODE) as f:
            parts = f.read().split()
    except OSError:
        return ("ok",)
    return tuple(parts) if parts else ("ok",)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        m = mode()
        if m[0] == "hang":
            with LOCK:
                with open(OUT + ".log", "a") as f:
                    f.write(f"{time.time():.3f} hang {n}\n")
            time.sleep(3600)
        code = 200
        headers = []
        if m[0] == "status":
            code = int(m[1])
            if len(m) > 2:
                headers.append(("Retry-After", m[2]))
        if code == 200:
            enc = self.headers.get("Content-Encoding", "")
            if enc == "gzip":
                body = gzip.decompress(body)
            elif enc == "zstd":
                import subprocess
                body = subprocess.run(["zstd", "-dc"], input=body, capture_output=True,
                                      check=True).stdout
            with LOCK:
                with open(OUT, "ab") as f:
                    f.write(body)
                if REQ_DIR:
                    NREQ[0] += 1
                    with open(os.path.join(REQ_DIR, f"{NREQ[0]}.body"), "wb") as f:
                        f.write(body)
        with LOCK:
            with open(OUT + ".log", "a") as f:
                lines = body.count(b"\n") if code == 200 else 0
                f.write(f"{time.time():.3f} {code} {n} {lines}\n")
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", "0")
        self.end_headers()


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


Server(("127.0.0.1", PORT), Handler).serve_forever()
