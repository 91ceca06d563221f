#!/usr/bin/env python3
"""Sends numbered log records to an OTLP/HTTP receiver (standard library only), for the gRPC
exporter tests: petrel A receives them and exports them to petrel B, and B's output must hold
every number.

  otlp_seq_send.py PORT FIRST COUNT [--per N] [--pad BYTES] [--rate REQ_PER_S] [--threads T]

COUNT requests go to http://127.0.0.1:PORT/v1/logs as OTLP/JSON, each one resource with N log
records whose bodies are the JSON text {"seq": S, "pad": "..."} for S = FIRST, FIRST+1, ...
A request the receiver answers 503 (its pipeline is full) or that fails on the connection is
sent again after a short wait, so that every record is accepted exactly once by the receiver.
Prints "sent=R records=N retries=K" at the end; exits 1 if a request got any other status.
"""
import argparse
import http.client
import json
import sys
import threading
import time


def body(first, per, pad):
    recs = []
    for s in range(first, first + per):
        text = json.dumps({"seq": s, "pad": "x" * pad})
        recs.append({"timeUnixNano": str(1700000000000000000 + s), "severityText": "INFO",
                     "body": {"stringValue": text}})
    return json.dumps({"resourceLogs": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "seqgen"}}]},
        "scopeLogs": [{"scope": {"name": "seqgen"}, "logRecords": recs}]}]}).encode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("first", type=int)
    ap.add_argument("count", type=int)
    ap.add_argument("--per", type=int, default=1)
    ap.add_argument("--pad", type=int, default=0)
    ap.add_argument("--rate", type=float, default=0)
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()
    stats = {"sent": 0, "retries": 0, "bad": 0}
    lock = threading.Lock()
    t0 = time.monotonic()

    def worker(k):
        conn = None
        for i in range(k, a.count, a.threads):
            if a.rate > 0:
                delay = t0 + i / a.rate - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            data = body(a.first + i * a.per, a.per, a.pad)
            while True:
                try:
                    if conn is None:
                        conn = http.client.HTTPConnection("127.0.0.1", a.port, timeout=60)
                    conn.request("POST", "/v1/logs", data, {"Content-Type": "application/json"})
                    r = conn.getresponse()
                    r.read()
                    status = r.status
                except (OSError, http.client.HTTPException):
                    conn = None
                    status = 0
                if status == 200:
                    break
                with lock:
                    stats["retries"] += 1
                if status not in (0, 503):
                    with lock:
                        stats["bad"] += 1
                    print("unexpected status %d" % status, file=sys.stderr)
                    break
                time.sleep(0.05)
            with lock:
                stats["sent"] += 1

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(a.threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print("sent=%d records=%d retries=%d" % (stats["sent"], stats["sent"] * a.per,
                                             stats["retries"]))
    return 1 if stats["bad"] else 0


if __name__ == "__main__":
    sys.exit(main())
