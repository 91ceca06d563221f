#!/usr/bin/env python3
"""Checks petrel's flusher_file output against the source files it tailed.

For every source line, the expected event is what processor_parse_json_native must produce:
first-level keys in order, string values decoded, every other value kept as its exact JSON text;
a line that is not a JSON object stays whole under "content". Output lines are grouped by their
"__tag__:__path__" and compared in order, so this asserts exactly-once, in order per file, and
field-by-field content.

usage: verify_jsonl.py OUTPUT.jsonl SOURCE_FILE...   (exit 0 when everything matches)
"""
import json
import sys

DEC = json.JSONDecoder()
WS = " \t\r\n"


def members(line):
    """The first-level members of a JSON object line as (key, value-text) pairs, or None."""
    try:
        json.loads(line)
    except ValueError:
        return None
    i = 0
    n = len(line)
    while i < n and line[i] in WS:
        i += 1
    if i >= n or line[i] != "{":
        return None
    i += 1
    out = []
    while True:
        while line[i] in WS:
            i += 1
        if line[i] == "}":
            return out
        key, i = json.decoder.scanstring(line, i + 1)
        while line[i] in WS:
            i += 1
        i += 1  # ':'
        while line[i] in WS:
            i += 1
        val, end = DEC.raw_decode(line, i)
        text = val if isinstance(val, str) else line[i:end]
        out.append((key, text))
        i = end
        while line[i] in WS:
            i += 1
        if line[i] == ",":
            i += 1


def expected_events(path):
    with open(path, "rb") as f:
        data = f.read().decode("utf-8", errors="replace")
    lines = data.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    exp = []
    for line in lines:
        m = members(line)
        if m is None:
            m = [("content", line)]
        else:
            # A repeated key keeps its last value, in the position of its first occurrence.
            d = {}
            for k, v in m:
                d[k] = v
            m = list(d.items())
        exp.append(m)
    return exp


def main():
    out_path, sources = sys.argv[1], sys.argv[2:]
    got = {}
    with open(out_path, encoding="utf-8") as f:
        for n, raw in enumerate(f, 1):
            obj = json.loads(raw, object_pairs_hook=list)
            path = None
            fields = []
            for k, v in obj:
                if k == "__tag__:__path__":
                    path = v
                elif k not in ("__time__",) and not k.startswith("__tag__:"):
                    fields.append((k, v))
            got.setdefault(path, []).append(fields)
    failed = 0
    total = 0
    for src in sources:
        exp = expected_events(src)
        g = got.pop(src, [])
        total += len(exp)
        if len(g) != len(exp):
            print(f"FAIL {src}: expected {len(exp)} events, got {len(g)}")
            failed += 1
            continue
        for i, (e, a) in enumerate(zip(exp, g)):
            if e != a:
                print(f"FAIL {src} line {i + 1}:\n  expected {e!r:.400}\n  got      {a!r:.400}")
                failed += 1
                break
    for path, g in got.items():
        print(f"FAIL unexpected output for {path}: {len(g)} events")
        failed += 1
    print(f"verified {total} events from {len(sources)} files: "
          f"{'ok' if failed == 0 else str(failed) + ' file(s) differ'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
