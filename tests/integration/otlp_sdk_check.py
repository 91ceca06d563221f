#!/usr/bin/env python3
"""Compares what the OpenTelemetry JS SDK sent (the manifest tests/otlp-client/send.js writes)
with what petrel's flusher_file wrote for that run (lines tagged __tag__:test.run = the run id).

usage: otlp_sdk_check.py OUT.jsonl MANIFEST.json
Prints "spans=N points=N logs=N ok" or what differs; exits 0 or 1.
"""
import collections
import json
import sys

KIND = {0: 0, 1: 1, 2: 2, 3: 3, 4: 4, 5: 5}


def canon(v):
    return json.dumps(v, sort_keys=True)


def main():
    out_path, man_path = sys.argv[1], sys.argv[2]
    man = json.load(open(man_path))
    run = man["run"]
    spans, points, logs = [], [], []
    for raw in open(out_path, "rb"):
        ev = json.loads(raw)
        if ev.get("__tag__:test.run") != run:
            continue
        if "spanId" in ev:
            spans.append(ev)
        elif "__name__" in ev:
            points.append(ev)
        else:
            logs.append(ev)
    problems = []

    # Spans: each one once, with its ids, parent, name, kind, typed attributes, events, status.
    by_id = collections.defaultdict(list)
    for s in spans:
        by_id[s["spanId"]].append(s)
    if len(spans) != len(man["spans"]):
        problems.append("spans: sent %d, arrived %d" % (len(man["spans"]), len(spans)))
    for want in man["spans"]:
        got = by_id.get(want["spanId"], [])
        if len(got) != 1:
            problems.append("span %s arrived %d times" % (want["spanId"], len(got)))
            continue
        g = got[0]
        checks = {
            "traceId": (want["traceId"], g.get("traceId")),
            "parentSpanId": (want.get("parentSpanId"), g.get("parentSpanId")),
            "name": (want["name"], g.get("name")),
            "kind": (want["kind"], g.get("kind")),
            "attributes": (canon(want["attributes"]), canon(g.get("attributes"))),
            "events": (canon([[e["name"], e["attributes"]] for e in want["events"]]),
                       canon([[e["name"], e["attributes"]] for e in g.get("events", [])])),
            "status": (want["status"], g.get("status")),
        }
        for k, (a, b) in checks.items():
            if a != b:
                problems.append("span %s %s: sent %s, arrived %s" % (want["spanId"], k, a, b))

    # Data points: one per metric and attribute set, with the value the client recorded.
    got_points = {}
    for p in points:
        attrs = {k: v for k, v in p.items() if not k.startswith("__")}
        got_points.setdefault((p["__name__"], canon(attrs)), []).append(p)
    if len(points) != len(man["points"]):
        problems.append("data points: sent %d, arrived %d" % (len(man["points"]), len(points)))
    for want in man["points"]:
        got = got_points.get((want["name"], canon(want["attributes"])), [])
        if len(got) != 1:
            problems.append("point %s %s arrived %d times" % (want["name"], want["attributes"], len(got)))
            continue
        g = got[0]
        if g.get("__type__") != want["type"]:
            problems.append("point %s type %s != %s" % (want["name"], g.get("__type__"), want["type"]))
        if float(g.get("__value__")) != float(want["value"]):
            problems.append("point %s value %s != %s" % (want["name"], g.get("__value__"), want["value"]))
        if "count" in want and g.get("__count__") != want["count"]:
            problems.append("point %s count %s != %s" % (want["name"], g.get("__count__"), want["count"]))

    # Log records: body, attributes, severity and event name, as multisets.
    def log_key(body, attrs, sev_num, sev_text, event):
        return canon([body, attrs, sev_num, sev_text, event])
    want_logs = collections.Counter(
        log_key(l["body"], l["attributes"], l["severityNumber"], l["severityText"], l.get("eventName"))
        for l in man["logs"])
    got_logs = collections.Counter()
    for l in logs:
        attrs = {k: v for k, v in l.items()
                 if not k.startswith("__") and k != "content"}
        got_logs[log_key(l.get("content"), attrs, l.get("__severity_number__"),
                         l.get("__severity_text__"), l.get("__event_name__"))] += 1
    if want_logs != got_logs:
        missing = want_logs - got_logs
        extra = got_logs - want_logs
        problems.append("logs differ: %d missing %s; %d unexpected %s" % (
            sum(missing.values()), list(missing)[:2], sum(extra.values()), list(extra)[:2]))

    if problems:
        print("\n".join(problems[:15]))
        return 1
    print("spans=%d points=%d logs=%d ok" % (len(spans), len(points), len(logs)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
