#!/usr/bin/env python3
"""Checks what petrel's flusher_file wrote for OTLP input against the requests that were sent.

It re-implements, independently of petrel, the mapping from an OTLP/JSON request to the JSON
lines petrel writes (core/serialize.c), and compares the records as multisets: every record sent
must arrive exactly as many times as it was sent, with every field, and nothing else may arrive.

usage: otlp_check.py OUT.jsonl SIGNAL:REQUEST[:COUNT[:notime]] ...
  SIGNAL   traces | metrics | logs
  REQUEST  an OTLP/JSON body (.json, or .json.gz), or an OTLP protobuf body (.pb, .pb.gz) whose
           spans are checked by id and name only (decoded with the small wire reader below)
  COUNT    how many times it was sent (default 1)
  notime   metrics only: ignore data point timestamps (the protobuf twin of a JSON fixture was
           collected a millisecond apart)
Prints "ok" or what differs, and exits 0 or 1.
"""
import base64
import collections
import gzip
import json
import sys


def any_val(v):
    if not v:
        return None
    if "stringValue" in v:
        return v["stringValue"]
    if "intValue" in v:
        return int(v["intValue"])
    if "doubleValue" in v:
        d = v["doubleValue"]
        return d if isinstance(d, str) else float(d)
    if "boolValue" in v:
        return v["boolValue"]
    if "bytesValue" in v:
        return base64.b64encode(base64.b64decode(v["bytesValue"])).decode()
    if "arrayValue" in v:
        return [any_val(x) for x in v["arrayValue"].get("values", [])]
    if "kvlistValue" in v:
        return {kv["key"]: any_val(kv.get("value")) for kv in v["kvlistValue"].get("values", [])}
    return None


def attrs(lst):
    return {kv["key"]: any_val(kv.get("value")) for kv in lst or []}


def tag_text(v):
    """Tags are text: strings as they are, the rest as their JSON (doubles keep a '.')."""
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    return json.dumps(v, separators=(",", ":"))


def nz(d, k, v):
    if v:
        d[k] = v


def group_tags(resource, scope):
    tags = {"__tag__:" + k: tag_text(v) for k, v in attrs(resource.get("attributes")).items()}
    if scope:
        for k, v in attrs(scope.get("attributes")).items():
            tags["__tag__:otlp.scope." + k] = tag_text(v)
        nz(tags, "__tag__:otlp.scope.name", scope.get("name"))
        nz(tags, "__tag__:otlp.scope.version", scope.get("version"))
    return tags


def span_record(s):
    r = {
        "traceId": s["traceId"].lower(),
        "spanId": s["spanId"].lower(),
        "name": s.get("name", ""),
        "kind": int(s.get("kind", 0)),
        "startTimeNs": int(s.get("startTimeUnixNano", 0)),
        "endTimeNs": int(s.get("endTimeUnixNano", 0)),
        "attributes": attrs(s.get("attributes")),
        "status": int(s.get("status", {}).get("code", 0)),
    }
    nz(r, "parentSpanId", (s.get("parentSpanId") or "").lower())
    nz(r, "traceState", s.get("traceState"))
    nz(r, "flags", int(s.get("flags", 0)))
    nz(r, "droppedAttributesCount", int(s.get("droppedAttributesCount", 0)))
    nz(r, "droppedEventsCount", int(s.get("droppedEventsCount", 0)))
    nz(r, "droppedLinksCount", int(s.get("droppedLinksCount", 0)))
    nz(r, "statusMessage", s.get("status", {}).get("message"))
    events = []
    for e in s.get("events") or []:
        o = {"timeNs": int(e.get("timeUnixNano", 0)), "name": e.get("name", ""),
             "attributes": attrs(e.get("attributes"))}
        nz(o, "droppedAttributesCount", int(e.get("droppedAttributesCount", 0)))
        events.append(o)
    nz(r, "events", events)
    links = []
    for link in s.get("links") or []:
        o = {"traceId": link["traceId"].lower(), "spanId": link["spanId"].lower(),
             "attributes": attrs(link.get("attributes"))}
        nz(o, "traceState", link.get("traceState"))
        nz(o, "flags", int(link.get("flags", 0)))
        nz(o, "droppedAttributesCount", int(link.get("droppedAttributesCount", 0)))
        links.append(o)
    nz(r, "links", links)
    return r


def log_record(lr):
    r = {}
    body = lr.get("body")
    if body:
        r["content"] = any_val(body)
    r.update(attrs(lr.get("attributes")))
    nz(r, "__time_unix_nano__", int(lr.get("timeUnixNano", 0)))
    nz(r, "__observed_time_unix_nano__", int(lr.get("observedTimeUnixNano", 0)))
    nz(r, "__severity_number__", int(lr.get("severityNumber", 0)))
    nz(r, "__severity_text__", lr.get("severityText"))
    nz(r, "__event_name__", lr.get("eventName"))
    nz(r, "__trace_id__", (lr.get("traceId") or "").lower())
    nz(r, "__span_id__", (lr.get("spanId") or "").lower())
    nz(r, "__flags__", int(lr.get("flags", 0)))
    nz(r, "__dropped_attributes_count__", int(lr.get("droppedAttributesCount", 0)))
    return r


TEMPORALITY = {1: "delta", 2: "cumulative"}


def metric_records(m, notime):
    out = []
    kinds = [("gauge", "gauge"), ("sum", "sum"), ("histogram", "histogram"),
             ("exponentialHistogram", "exponential_histogram"), ("summary", "summary")]
    for key, mtype in kinds:
        if key not in m:
            continue
        data = m[key]
        for dp in data.get("dataPoints") or []:
            r = {"__name__": m["name"], "__type__": mtype}
            r.update(attrs(dp.get("attributes")))
            nz(r, "__unit__", m.get("unit"))
            nz(r, "__description__", m.get("description"))
            if not notime:
                r["__time_unix_nano__"] = int(dp.get("timeUnixNano", 0))
                nz(r, "__start_time_unix_nano__", int(dp.get("startTimeUnixNano", 0)))
            nz(r, "__temporality__", TEMPORALITY.get(int(data.get("aggregationTemporality", 0))))
            if mtype == "sum":
                r["__monotonic__"] = bool(data.get("isMonotonic", False))
            nz(r, "__flags__", int(dp.get("flags", 0)))
            if mtype in ("gauge", "sum"):
                r["__value__"] = int(dp["asInt"]) if "asInt" in dp else float(dp.get("asDouble", 0))
            else:
                r["__value__"] = float(dp.get("sum", 0))
                r["__count__"] = int(dp.get("count", 0))
                if "sum" in dp:
                    r["__sum__"] = float(dp["sum"])
                for k in ("min", "max"):
                    if k in dp and mtype != "summary":
                        r["__%s__" % k] = float(dp[k])
            if mtype == "histogram":
                r["__bucket_counts__"] = [int(x) for x in dp.get("bucketCounts", [])]
                r["__explicit_bounds__"] = [float(x) for x in dp.get("explicitBounds", [])]
            if mtype == "exponential_histogram":
                r["__scale__"] = int(dp.get("scale", 0))
                r["__zero_count__"] = int(dp.get("zeroCount", 0))
                nz(r, "__zero_threshold__", float(dp.get("zeroThreshold", 0)))
                for side in ("positive", "negative"):
                    b = dp.get(side) or {}
                    r["__%s__" % side] = {"offset": int(b.get("offset", 0)),
                                          "bucket_counts": [int(x) for x in b.get("bucketCounts", [])]}
            if mtype == "summary":
                r["__quantiles__"] = [{"quantile": float(q.get("quantile", 0)),
                                       "value": float(q.get("value", 0))}
                                      for q in dp.get("quantileValues", [])]
            out.append(r)
    return out


def expected_records(signal, doc, notime):
    """(record, tags) pairs of a request."""
    res_key, scope_key, rec_key = {
        "traces": ("resourceSpans", "scopeSpans", "spans"),
        "logs": ("resourceLogs", "scopeLogs", "logRecords"),
        "metrics": ("resourceMetrics", "scopeMetrics", "metrics"),
    }[signal]
    out = []
    for rs in doc.get(res_key) or []:
        for ss in rs.get(scope_key) or []:
            tags = group_tags(rs.get("resource") or {}, ss.get("scope"))
            for rec in ss.get(rec_key) or []:
                if signal == "traces":
                    out.append((span_record(rec), tags))
                elif signal == "logs":
                    out.append((log_record(rec), tags))
                else:
                    for r in metric_records(rec, notime):
                        out.append((r, tags))
    return out


# ---- a small protobuf wire reader: enough to list the spans of an ExportTraceServiceRequest ----

def pb_fields(buf):
    i = 0
    while i < len(buf):
        key, i = varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = varint(buf, i)
        elif wt == 1:
            v, i = buf[i:i + 8], i + 8
        elif wt == 5:
            v, i = buf[i:i + 4], i + 4
        elif wt == 2:
            n, i = varint(buf, i)
            v, i = buf[i:i + n], i + n
        else:
            raise ValueError("wire type %d" % wt)
        yield num, v


def varint(buf, i):
    r = shift = 0
    while True:
        b = buf[i]
        i += 1
        r |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return r, i


def pb_spans(body):
    """(span_id hex, name) of every span: request.resource_spans(1).scope_spans(2).spans(2)."""
    out = []
    for n1, rs in pb_fields(body):
        if n1 != 1:
            continue
        for n2, ss in pb_fields(rs):
            if n2 != 2:
                continue
            for n3, sp in pb_fields(ss):
                if n3 != 2:
                    continue
                f = {n: v for n, v in pb_fields(sp)}
                out.append((f[2].hex(), f.get(5, b"").decode()))
    return out


def notime_used(specs):
    return any(s.split(":")[3:4] == ["notime"] for s in specs)


def main():
    out_path = sys.argv[1]
    specs = sys.argv[2:]
    # One "notime" spec drops data point timestamps from every metric on both sides.
    metrics_notime = notime_used(specs)
    lines = []
    with open(out_path, "rb") as f:
        for raw in f:
            lines.append(json.loads(raw))
    got = collections.Counter()
    got_tags = {}
    spans_seen = collections.Counter()
    for ln in lines:
        tags = {k: v for k, v in ln.items()
                if k.startswith("__tag__:") and k != "__tag__:__logstore__"}
        rec = {k: v for k, v in ln.items() if not k.startswith("__tag__:") and k != "__time__"}
        if "spanId" in rec:
            spans_seen[(rec["spanId"], rec["name"])] += 1
        if metrics_notime and "__type__" in rec:
            rec.pop("__time_unix_nano__", None)
            rec.pop("__start_time_unix_nano__", None)
        key = json.dumps(rec, sort_keys=True)
        got[key] += 1
        got_tags.setdefault(key, tags)
    want = collections.Counter()
    want_tags = {}
    want_pb_spans = collections.Counter()
    for spec in specs:
        parts = spec.split(":")
        signal, path = parts[0], parts[1]
        times = int(parts[2]) if len(parts) > 2 and parts[2] else 1
        data = open(path, "rb").read()
        if path.endswith(".gz"):
            data = gzip.decompress(data)
        if ".pb" in path:
            for sid, name in pb_spans(data):
                want_pb_spans[(sid, name)] += times
            continue
        for rec, tags in expected_records(signal, json.loads(data), metrics_notime):
            key = json.dumps(rec, sort_keys=True)
            want[key] += times
            want_tags[key] = tags
    problems = []
    for key, n in want.items():
        if got[key] != n:
            problems.append("record sent %d time(s), arrived %d time(s): %s"
                            % (n, got[key], key[:600]))
        elif any(got_tags[key].get(k) != v for k, v in want_tags[key].items()):
            problems.append("tags differ: want %s got %s" % (want_tags[key], got_tags[key]))
    for key, n in got.items():
        rec = json.loads(key)
        pb_span = "spanId" in rec and (rec["spanId"], rec["name"]) in want_pb_spans
        if key not in want and not pb_span:
            problems.append("unexpected record (%d): %s" % (n, key[:600]))
    for sid, n in want_pb_spans.items():
        if spans_seen[sid] != n:
            problems.append("span %s sent %d time(s), arrived %d" % (sid, n, spans_seen[sid]))
    if problems:
        print("\n".join(problems[:20]))
        print("%d problem(s); %d lines checked" % (len(problems), len(lines)))
        return 1
    print("ok (%d lines)" % len(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
