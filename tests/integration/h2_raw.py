#!/usr/bin/env python3
"""A few raw HTTP/2 (h2c) moves for the gRPC tests, on plain sockets (standard library only).

  h2_raw.py replay PORT CAPTURE    send a captured client byte stream (preface, SETTINGS, HPACK
                                   HEADERS, DATA) and summarise the server's frames for the stream:
                                   "headers=1 data=<hex> trailers=1 rst=0 goaway_error=0
                                    window_updates=N spans=S"
  h2_raw.py spans CAPTURE          write the capture's gRPC message (prefix stripped) to stdout
  h2_raw.py replay-count CAPTURE   the number of spans in the capture's message
  h2_raw.py streams PORT N         open N request streams at once (HEADERS without END_STREAM)
                                   and report how the server refuses the extra ones:
                                   "settings_max_streams=M refused=R goaway=(LAST, CODE)"
"""
import os
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from otlp_check import pb_spans  # noqa: E402

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, RST_STREAM, SETTINGS, GOAWAY, WINDOW_UPDATE = 0, 1, 3, 4, 7, 8
END_STREAM, END_HEADERS, ACK = 0x1, 0x4, 0x1


def frames(buf):
    """(type, flags, stream, payload) of each complete frame in buf, and the rest."""
    out = []
    while len(buf) >= 9:
        n = int.from_bytes(buf[:3], "big")
        if len(buf) < 9 + n:
            break
        ftype, flags = buf[3], buf[4]
        sid = int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF
        out.append((ftype, flags, sid, buf[9:9 + n]))
        buf = buf[9 + n:]
    return out, buf


def frame(ftype, flags, sid, payload=b""):
    return len(payload).to_bytes(3, "big") + bytes([ftype, flags]) + sid.to_bytes(4, "big") + payload


def capture_message(path):
    raw = open(path, "rb").read()
    assert raw.startswith(PREFACE)
    fr, _ = frames(raw[len(PREFACE):])
    body = b"".join(p for t, f, s, p in fr if t == DATA and s != 0)
    n = int.from_bytes(body[1:5], "big")
    assert len(body) == 5 + n, (len(body), n)
    return body[5:]


def replay(port, path):
    raw = open(path, "rb").read()
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(raw)
    buf = b""
    seen = []
    deadline = time.time() + 5
    done = False
    while not done and time.time() < deadline:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        buf += chunk
        fr, buf = frames(buf)
        for f in fr:
            seen.append(f)
            if f[0] == HEADERS and f[1] & END_STREAM and f[2] != 0:
                done = True
    s.close()
    stream_frames = [f for f in seen if f[2] != 0 and f[0] in (HEADERS, DATA)]
    headers = sum(1 for t, fl, sid, p in stream_frames if t == HEADERS and not fl & END_STREAM)
    trailers = sum(1 for t, fl, sid, p in stream_frames if t == HEADERS and fl & END_STREAM)
    data = b"".join(p for t, fl, sid, p in stream_frames if t == DATA)
    rst = sum(1 for t, fl, sid, p in seen if t == RST_STREAM)
    goaway_err = sum(1 for t, fl, sid, p in seen
                     if t == GOAWAY and int.from_bytes(p[4:8], "big") != 0)
    wu = sum(1 for t, fl, sid, p in seen if t == WINDOW_UPDATE)
    spans = len(pb_spans(capture_message(path)))
    print("headers=%d data=%s trailers=%d rst=%d goaway_error=%d window_updates=%d spans=%d"
          % (headers, data.hex(), trailers, rst, goaway_err, wu, spans))


def hpack_literal(name, value):
    """Literal header field without indexing, new name, no Huffman (RFC 7541 6.2.2)."""
    def s(b):
        assert len(b) < 127
        return bytes([len(b)]) + b
    return b"\x00" + s(name.encode()) + s(value.encode())


def streams(port, n):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(PREFACE + frame(SETTINGS, 0, 0))
    buf = b""
    max_streams = None
    deadline = time.time() + 5
    while max_streams is None and time.time() < deadline:
        buf += s.recv(65536)
        fr, buf = frames(buf)
        for t, fl, sid, p in fr:
            if t == SETTINGS and not fl & ACK:
                for i in range(0, len(p), 6):
                    ident, val = struct.unpack(">HI", p[i:i + 6])
                    if ident == 3:
                        max_streams = val
                s.sendall(frame(SETTINGS, ACK, 0))
    block = b"".join(hpack_literal(k, v) for k, v in [
        (":method", "POST"), (":scheme", "http"), (":authority", "127.0.0.1"),
        (":path", "/opentelemetry.proto.collector.logs.v1.LogsService/Export"),
        ("content-type", "application/grpc"), ("te", "trailers")])
    s.sendall(b"".join(frame(HEADERS, END_HEADERS, 2 * i + 1, block) for i in range(n)))
    refused = 0
    goaway = None
    deadline = time.time() + 2
    s.settimeout(0.2)
    while time.time() < deadline:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            continue
        if not chunk:
            break
        buf += chunk
        fr, buf = frames(buf)
        for t, fl, sid, p in fr:
            if t == RST_STREAM and int.from_bytes(p[:4], "big") == 7:  # REFUSED_STREAM
                refused += 1
            if t == GOAWAY:
                goaway = (int.from_bytes(p[:4], "big") & 0x7FFFFFFF, int.from_bytes(p[4:8], "big"))
    s.close()
    print("settings_max_streams=%s refused=%d goaway=%s" % (max_streams, refused, goaway))


def main():
    cmd = sys.argv[1]
    if cmd == "replay":
        replay(int(sys.argv[2]), sys.argv[3])
    elif cmd == "spans":
        sys.stdout.buffer.write(capture_message(sys.argv[2]))
    elif cmd == "replay-count":
        print(len(pb_spans(capture_message(sys.argv[2]))))
    elif cmd == "streams":
        streams(int(sys.argv[2]), int(sys.argv[3]))
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
