#!/usr/bin/env python3
"""Writes realistic OTLP export requests for the benchmarks, as an OpenClaw agent's SDK sends
them: ExportTraceServiceRequest with N spans (agent turns, LLM calls with gen_ai.* attributes
and a first-token event, tool calls) and ExportLogsServiceRequest with N log records (gateway
lines with severities, trace context and a few attributes), both under one resource and scope
like the JS SDK's. Protobuf is encoded by hand (standard library only); deterministic by seed.

usage: otlp_gen.py OUTDIR [--spans 512] [--logs 1000] [--seed 1]
writes OUTDIR/traces-<N>.pb, logs-<N>.pb and their gRPC frames (.grpc: 5-byte prefix).
"""
import argparse
import os
import random
import struct


def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def key(field, wt):
    return varint(field << 3 | wt)


def ld(field, payload):
    return key(field, 2) + varint(len(payload)) + payload


def s(field, text):
    return ld(field, text.encode())


def u(field, n):
    return key(field, 0) + varint(n)


def f64(field, n):
    return key(field, 1) + struct.pack("<Q", n)


def f32(field, n):
    return key(field, 5) + struct.pack("<I", n)


def dbl(field, x):
    return key(field, 1) + struct.pack("<d", x)


def anyv(v):
    if isinstance(v, bool):
        return u(2, int(v))
    if isinstance(v, int):
        return u(3, v)
    if isinstance(v, float):
        return dbl(4, v)
    if isinstance(v, list):
        return ld(5, b"".join(ld(1, anyv(x)) for x in v))
    return s(1, v)


def kv(k, v):
    return s(1, k) + ld(2, anyv(v))


def attrs(field, d):
    return b"".join(ld(field, kv(k, v)) for k, v in d.items())


RESOURCE = ld(1, attrs(1, {
    "service.name": "openclaw-gateway", "service.namespace": "openclaw",
    "service.version": "2026.1.29", "service.instance.id": "openclaw-sbx-7f9c4d-0",
    "host.name": "openclaw-sbx-7f9c4d", "k8s.namespace.name": "agents",
    "k8s.pod.name": "openclaw-sbx-7f9c4d", "k8s.container.name": "openclaw",
    "openclaw.agent.id": "main", "telemetry.sdk.language": "nodejs",
    "telemetry.sdk.name": "opentelemetry", "telemetry.sdk.version": "2.12.1"}))

MODELS = ["claude-sonnet-4-5", "gpt-5-mini", "claude-haiku-4-5"]
TOOLS = ["exec", "read", "write", "web_search", "browser"]


def spans(rng, n, t0):
    out = []
    trace = parent = None
    for i in range(n):
        if i % 8 == 0:
            trace = rng.getrandbits(128).to_bytes(16, "big")
            parent = rng.getrandbits(64).to_bytes(8, "big")
            body = (ld(1, trace) + ld(2, parent) + s(5, "agent.turn") + u(6, 2) +
                    attrs(9, {"openclaw.session.id": "sess-%04x" % rng.getrandbits(16),
                              "openclaw.turn": i // 8}))
            sid = parent
        else:
            sid = rng.getrandbits(64).to_bytes(8, "big")
            if i % 3:
                model = rng.choice(MODELS)
                a = {"gen_ai.system": "anthropic", "gen_ai.provider.name": "anthropic",
                     "gen_ai.operation.name": "chat", "gen_ai.request.model": model,
                     "gen_ai.response.model": model, "gen_ai.request.max_tokens": 8192,
                     "gen_ai.request.temperature": 0.7,
                     "gen_ai.usage.input_tokens": rng.randint(1000, 40000),
                     "gen_ai.usage.output_tokens": rng.randint(50, 2000),
                     "gen_ai.response.finish_reasons": ["tool_use"], "llm.streaming": True}
                ev = f64(1, t0 + i * 1000000 + 400000) + s(2, "gen_ai.first_token") + attrs(
                    3, {"gen_ai.server.time_to_first_token_ms": rng.randint(200, 2000)})
                body = (ld(1, trace) + ld(2, sid) + ld(4, parent) + s(5, "llm.call") + u(6, 3) +
                        attrs(9, a) + ld(11, ev))
            else:
                tool = rng.choice(TOOLS)
                body = (ld(1, trace) + ld(2, sid) + ld(4, parent) + s(5, "tool.call") + u(6, 1) +
                        attrs(9, {"gen_ai.tool.name": tool, "tool.name": tool,
                                  "gen_ai.tool.call.id": "toolu_%05d" % rng.randint(0, 99999),
                                  "openclaw.session.id": "sess-%04x" % rng.getrandbits(16)}))
        start = t0 + i * 1000000
        body += f64(7, start) + f64(8, start + rng.randint(1000000, 5000000000)) + f32(16, 257)
        out.append(ld(2, body))
    return b"".join(out)


def logs(rng, n, t0):
    sev = [(9, "INFO"), (5, "DEBUG"), (13, "WARN"), (17, "ERROR")]
    out = []
    for i in range(n):
        num, text = sev[0] if i % 3 else sev[i % 4]
        body = ("embedded run tool end: runId=%08x tool=%s toolCallId=toolu_%05d durationMs=%d"
                % (rng.getrandbits(32), rng.choice(TOOLS), rng.randint(0, 99999),
                   rng.randint(1, 9000)))
        rec = (f64(1, t0 + i * 100000) + f64(11, t0 + i * 100000 + 20000) + u(2, num) +
               s(3, text) + ld(5, anyv(body)) +
               attrs(6, {"openclaw.subsystem": "agent/embedded", "log.index": i,
                         "code.filepath": "dist/agents/pi-embedded-runner.js"}) + f32(8, 1) +
               ld(9, rng.getrandbits(128).to_bytes(16, "big")) +
               ld(10, rng.getrandbits(64).to_bytes(8, "big")))
        out.append(ld(2, rec))
    return b"".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--spans", type=int, default=512)
    ap.add_argument("--logs", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    t0 = 1795314393000000000
    scope = ld(1, s(1, "openclaw.agent") + s(2, "2026.1.29"))
    traces = ld(1, RESOURCE + ld(2, scope + spans(rng, a.spans, t0)))
    scope = ld(1, s(1, "openclaw.gateway") + s(2, "2026.1.29"))
    logreq = ld(1, RESOURCE + ld(2, scope + logs(rng, a.logs, t0)))
    os.makedirs(a.outdir, exist_ok=True)
    for name, body in (("traces-%d" % a.spans, traces), ("logs-%d" % a.logs, logreq)):
        with open(os.path.join(a.outdir, name + ".pb"), "wb") as f:
            f.write(body)
        with open(os.path.join(a.outdir, name + ".grpc"), "wb") as f:
            f.write(b"\0" + struct.pack(">I", len(body)) + body)


if __name__ == "__main__":
    main()
