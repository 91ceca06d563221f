#!/usr/bin/env python3
"""Writers and rotators for input_file's integration tests (standard library only).

  logtorture.py writer PATH --count N --rate R [--start S] [--pad B] [--check-ms M]
      Appends N numbered JSON lines {"seq":i,"w":"...pad..."} to PATH with one write(2) per
      line, at R lines/s. Like an application that reopens its log when it notices the path
      changed (renamed away, deleted): it checks every M ms, so lines keep going to the old
      file for a moment after a rotation, as with real loggers.
  logtorture.py rotator PATH --mode rename|copytruncate|delete --interval SEC --keep K
                        --stop-file F
      Rotates PATH every SEC seconds until F exists, then prints "rotations=N".
        rename:       PATH.K-1 -> PATH.K ... PATH -> PATH.1 (logrotate "create"), PATH.K deleted
        copytruncate: copy PATH to PATH.1, then truncate PATH (logrotate "copytruncate")
        delete:       unlink PATH (the writer creates a new one)
  logtorture.py lines PATH --count N [--start S] [--pad B]     writes N lines at once
  logtorture.py partial PATH TEXT                                appends TEXT (no newline)
"""
import argparse
import json
import os
import shutil
import sys
import time


def line(seq, pad):
    return (json.dumps({"seq": seq, "w": "x" * pad}, separators=(",", ":")) + "\n").encode()


def open_append(path):
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)


def writer(a):
    fd = open_append(a.path)
    ino = os.fstat(fd).st_ino
    period = 1.0 / a.rate if a.rate > 0 else 0.0
    t0 = time.monotonic()
    last_check = t0
    reopens = 0
    for i in range(a.count):
        now = time.monotonic()
        if now - last_check >= a.check_ms / 1000.0:
            last_check = now
            try:
                cur = os.stat(a.path).st_ino
            except FileNotFoundError:
                cur = None
            if cur != ino:
                os.close(fd)
                fd = open_append(a.path)
                ino = os.fstat(fd).st_ino
                reopens += 1
        os.write(fd, line(a.start + i, a.pad))
        if period:
            # Pace in small batches: sleeping per line costs more than the line.
            due = t0 + (i + 1) * period
            ahead = due - time.monotonic()
            if ahead > 0.002:
                time.sleep(ahead)
    os.close(fd)
    print("wrote=%d reopens=%d" % (a.count, reopens), flush=True)


def rotator(a):
    n = 0
    while not os.path.exists(a.stop_file):
        time.sleep(a.interval)
        if os.path.exists(a.stop_file):
            break
        try:
            if a.mode == "rename":
                last = "%s.%d" % (a.path, a.keep)
                if os.path.exists(last):
                    os.unlink(last)
                for k in range(a.keep - 1, 0, -1):
                    src = "%s.%d" % (a.path, k)
                    if os.path.exists(src):
                        os.rename(src, "%s.%d" % (a.path, k + 1))
                os.rename(a.path, a.path + ".1")
            elif a.mode == "copytruncate":
                shutil.copyfile(a.path, a.path + ".1")
                with open(a.path, "r+b") as f:
                    f.truncate(0)
            elif a.mode == "delete":
                os.unlink(a.path)
            n += 1
        except FileNotFoundError:
            pass  # the writer has not recreated it yet
    print("rotations=%d" % n, flush=True)


def lines(a):
    with open(a.path, "ab") as f:
        for i in range(a.count):
            f.write(line(a.start + i, a.pad))


def partial(a):
    with open(a.path, "ab") as f:
        f.write(a.text.encode())


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("writer")
    w.add_argument("path")
    w.add_argument("--count", type=int, required=True)
    w.add_argument("--rate", type=float, default=0)
    w.add_argument("--start", type=int, default=0)
    w.add_argument("--pad", type=int, default=60)
    w.add_argument("--check-ms", type=float, default=1.0)
    r = sub.add_parser("rotator")
    r.add_argument("path")
    r.add_argument("--mode", choices=["rename", "copytruncate", "delete"], required=True)
    r.add_argument("--interval", type=float, default=0.1)
    r.add_argument("--keep", type=int, default=5)
    r.add_argument("--stop-file", required=True)
    l = sub.add_parser("lines")
    l.add_argument("path")
    l.add_argument("--count", type=int, required=True)
    l.add_argument("--start", type=int, default=0)
    l.add_argument("--pad", type=int, default=60)
    q = sub.add_parser("partial")
    q.add_argument("path")
    q.add_argument("text")
    a = p.parse_args()
    {"writer": writer, "rotator": rotator, "lines": lines, "partial": partial}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
