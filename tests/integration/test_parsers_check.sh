#!/usr/bin/env bash
# The parsers through the real binary. (1) `petrel check` on bad parser configs: exit 1 and a
# "[file:line] pipeline/plugin.Key: reason" naming what is wrong (the pcre2 message and offset for
# an invalid regex, both counts for Keys vs capture groups, the separator, the quote, the zone,
# the format). (2) One end-to-end run: generated files -> input_file (--oneshot) -> each parser
# (regex + timestamp, delimiter + timestamp, JSON + timestamp) -> flusher_file; every output
# line is checked field by field, and __time__ against the time written in the line.
set -euo pipefail
PT_NAME=test_parsers_check
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# run_check PATH...: sets RC, OUT, ERR.
run_check() {
    RC=0
    timeout 20 "$PETREL" check "$@" >"$T/stdout" 2>"$T/stderr" || RC=$?
    OUT=$(cat "$T/stdout")
    ERR=$(cat "$T/stderr")
}

# line_of FILE TEXT: number of the first line of FILE containing TEXT.
line_of() {
    grep -nF -- "$2" "$1" | head -n 1 | cut -d: -f1
}

# bad NAME PROCESSOR_YAML: a pipeline with one processor (its lines indented by 4, first line
# "  - Type: ..."); checks exit 1 and sets BAD (path) and LN (line of the processor's Type).
mkdir -p "$T/bad"
bad() {
    BAD="$T/bad/$1.yaml"
    {
        echo "enable: true"
        echo "inputs:"
        echo "  - Type: input_file"
        echo "    FilePaths: [/var/log/app/*.log]"
        echo "processors:"
        printf '%s\n' "$2"
        echo "flushers:"
        echo "  - Type: flusher_file"
        echo "    FilePath: /tmp/out.jsonl"
    } >"$BAD"
    run_check "$BAD"
    check_eq "$1: exit status 1" 1 "$RC"
    check_contains "$1: the summary counts the error" "$OUT" "$BAD: 1 error(s)"
    LN=$(line_of "$BAD" "- Type: processor_")
}

# ------------------------------------------------------------------ (1) petrel check
bad invalid_regex "  - Type: processor_parse_regex_native
    SourceKey: content
    Regex: '(\\d+'
    Keys: [n]"
check_contains "invalid_regex: pcre2 message and offset at [file:line]" "$ERR" \
    "[$BAD:$LN] invalid_regex/processor_parse_regex_native.Regex: invalid regex at offset 4: missing closing parenthesis"

bad invalid_class "  - Type: processor_parse_regex_native
    SourceKey: content
    Regex: '([a-z]+) [z-a]'
    Keys: [w]"
check_contains "invalid_class: pcre2 message and offset" "$ERR" \
    "[$BAD:$LN] invalid_class/processor_parse_regex_native.Regex: invalid regex at offset 12: range out of order in character class"

bad keys_vs_groups "  - Type: processor_parse_regex_native
    SourceKey: content
    Regex: '(\\S+) (\\S+) (\\S+)'
    Keys: [a, b]"
check_contains "keys_vs_groups: both counts" "$ERR" \
    "[$BAD:$LN] keys_vs_groups/processor_parse_regex_native.Keys: 2 key(s) given but Regex has 3 capture group(s); they must be equal"

bad long_separator "  - Type: processor_parse_delimiter_native
    SourceKey: content
    Separator: '|||||'
    Keys: [a, b]"
check_contains "long_separator: [file:line] and the length" "$ERR" \
    "[$BAD:$LN] long_separator/processor_parse_delimiter_native.Separator: must be 1 to 4 characters, got 5"

bad empty_separator "  - Type: processor_parse_delimiter_native
    SourceKey: content
    Separator: ''
    Keys: [a, b]"
check_contains "empty_separator: [file:line]" "$ERR" \
    "[$BAD:$LN] empty_separator/processor_parse_delimiter_native.Separator: must not be empty"

bad long_quote "  - Type: processor_parse_delimiter_native
    SourceKey: content
    Separator: ','
    Quote: '\"\"'
    Keys: [a, b]"
check_contains "long_quote: [file:line]" "$ERR" \
    "[$BAD:$LN] long_quote/processor_parse_delimiter_native.Quote: must be a single character, got 2"

bad bad_overflow "  - Type: processor_parse_delimiter_native
    SourceKey: content
    Separator: ','
    Keys: [a, b]
    OverflowedFieldsTreatment: spill"
check_contains "bad_overflow: the allowed values" "$ERR" \
    "bad_overflow/processor_parse_delimiter_native.OverflowedFieldsTreatment: must be one of: extend, keep, discard"

bad bad_zone "  - Type: processor_parse_timestamp_native
    SourceKey: time
    SourceFormat: '%Y-%m-%d %H:%M:%S'
    SourceTimezone: Asia/Shanghai"
check_contains "bad_zone: [file:line] and the expected form" "$ERR" \
    "[$BAD:$LN] bad_zone/processor_parse_timestamp_native.SourceTimezone: expected GMT+HH:MM or GMT-HH:MM (e.g. GMT+08:00), got 'Asia/Shanghai'"

bad bad_format "  - Type: processor_parse_timestamp_native
    SourceKey: time
    SourceFormat: '%Y-%m-%d %H:%M:%K'"
check_contains "bad_format: the conversion and its offset" "$ERR" \
    "[$BAD:$LN] bad_format/processor_parse_timestamp_native.SourceFormat: unsupported conversion %K at offset 15"

# A good config with all of them: exit 0, nothing on stderr.
mkdir -p "$T/good"
cat >"$T/good/all.yaml" <<'EOF'
enable: true
inputs:
  - Type: input_file
    FilePaths: [/var/log/app/*.log]
processors:
  - Type: processor_parse_regex_native
    SourceKey: content
    Regex: '(\S+) (.*)'
    Keys: [first, rest]
  - Type: processor_parse_delimiter_native
    SourceKey: rest
    Separator: "\t"
    Keys: a,b
  - Type: processor_parse_timestamp_native
    SourceKey: a
    SourceFormat: '%Y-%m-%dT%H:%M:%S.%f%z'
    SourceTimezone: GMT-03:30
  - Type: processor_parse_json_native
    SourceKey: b
flushers:
  - Type: flusher_file
    FilePath: /tmp/out.jsonl
EOF
run_check "$T/good/all.yaml"
check_eq "all parsers: exit status 0" 0 "$RC"
check_eq "all parsers: nothing on stderr" "" "$ERR"

# ------------------------------------------------------------------ (2) end to end
mkdir -p "$T/in" "$T/out"
"$LOGGEN" --out "$T/oc" --seed 11 --size 512K --quiet
APPLOG=$(find "$T/oc/tmp/openclaw" -name '*.log' | head -n 1)
# Access-log lines for the regex, CSV lines for the delimiter; a few that must not parse.
python3 - "$T/in" <<'EOF'
import random, sys, datetime
d = sys.argv[1]
r = random.Random(5)
t0 = datetime.datetime(2026, 3, 14, 8, 0, 0)
mon = ["Jan","Feb","Mar","Apr","May","Jun","Jul","Aug","Sep","Oct","Nov","Dec"]
with open(d + "/access.log", "w", encoding="utf-8", newline="\n") as f:
    for i in range(3000):
        t = t0 + datetime.timedelta(seconds=i * 7)
        if i % 500 == 499:
            f.write("garbage line %d that the regex does not match\n" % i)
            continue
        ip = "10.%d.%d.%d" % (r.randrange(256), r.randrange(256), r.randrange(256))
        path = "/api/v1/sessions/%d?q=%s" % (r.randrange(10**6), r.choice(["a+b", "caf\u00e9", "x"]))
        f.write('%s - - [%02d/%s/%d:%02d:%02d:%02d +0800] "%s %s HTTP/1.1" %d %d\n' % (
            ip, t.day, mon[t.month - 1], t.year, t.hour, t.minute, t.second,
            r.choice(["GET", "POST"]), path, r.choice([200, 404, 500]), r.randrange(10**5)))
with open(d + "/events.csv", "w", encoding="utf-8", newline="\n") as f:
    for i in range(3000):
        t = t0 + datetime.timedelta(milliseconds=i * 1234)
        ts = t.strftime("%Y-%m-%d %H:%M:%S.") + "%03d" % (t.microsecond // 1000)
        msg = r.choice(['plain message', '"quoted, with comma"', '"she said ""hi"""', ''])
        extra = ",overflow" if i % 700 == 0 else ""
        f.write("%s,%s,%d,%s%s\n" % (ts, r.choice(["INFO", "WARN"]), i, msg, extra))
EOF

cat >"$T/regex.yaml" <<EOF
enable: true
inputs:
  - Type: input_file
    FilePaths: [$T/in/access.log]
processors:
  - Type: processor_parse_regex_native
    SourceKey: content
    Regex: '(\S+) \S+ \S+ \[([^\]]+)\] "(\S+) (\S+) [^"]*" (\d+) (\d+)'
    Keys: [ip, time, method, path, status, bytes]
    KeepingSourceWhenParseFail: true
    RenamedSourceKey: raw
  - Type: processor_parse_timestamp_native
    SourceKey: time
    SourceFormat: '%d/%b/%Y:%H:%M:%S %z'
flushers:
  - Type: flusher_file
    FilePath: $T/out/regex.jsonl
    MaxFileSize: 0
EOF
cat >"$T/delim.yaml" <<EOF
enable: true
inputs:
  - Type: input_file
    FilePaths: [$T/in/events.csv]
processors:
  - Type: processor_parse_delimiter_native
    SourceKey: content
    Separator: ','
    Keys: [ts, level, seq, msg]
  - Type: processor_parse_timestamp_native
    SourceKey: ts
    SourceFormat: '%Y-%m-%d %H:%M:%S.%f'
    SourceTimezone: GMT+08:00
flushers:
  - Type: flusher_file
    FilePath: $T/out/delim.jsonl
    MaxFileSize: 0
EOF
cat >"$T/json.yaml" <<EOF
enable: true
inputs:
  - Type: input_file
    FilePaths: [$APPLOG]
processors:
  - Type: processor_parse_json_native
    SourceKey: content
  - Type: processor_parse_timestamp_native
    SourceKey: time
    SourceFormat: '%Y-%m-%dT%H:%M:%S.%f%z'
flushers:
  - Type: flusher_file
    FilePath: $T/out/json.jsonl
    MaxFileSize: 0
EOF
printf 'admin: {enable: false}\n' >"$T/agent.yaml"

t_start=$(date +%s)
RC=0
timeout 50 "$PETREL" run --agent-config "$T/agent.yaml" --config "$T/regex.yaml" \
    --config "$T/delim.yaml" --config "$T/json.yaml" --data-dir "$T/data" --oneshot \
    --log-level warn 2>"$T/run.log" || RC=$?
t_end=$(($(date +%s) + 1))
check_eq "oneshot run exits 0" 0 "$RC"
check_eq "no warning or error logged" "" "$(grep -v 'line(s) not parsed' "$T/run.log" || true)"

# The checker prints one line per problem (at most 20) and a summary "checked N".
VERDICT=$(python3 - "$T" "$APPLOG" "$t_start" "$t_end" <<'EOF'
import json, re, sys, datetime, calendar
T, applog, t_start, t_end = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
problems = []
def problem(msg):
    if len(problems) < 20:
        problems.append(msg)
def load(path):
    out = []
    with open(path, "rb") as f:
        for raw in f:
            out.append(json.loads(raw))
    return out
def fields(ev):
    return {k: v for k, v in ev.items() if k != "__time__" and not k.startswith("__tag__:")}
mon = {m: i + 1 for i, m in enumerate(["Jan","Feb","Mar","Apr","May","Jun","Jul","Aug","Sep","Oct","Nov","Dec"])}

# regex + timestamp
lines = open(T + "/in/access.log", encoding="utf-8").read().split("\n")[:-1]
out = load(T + "/out/regex.jsonl")
if len(out) != len(lines):
    problem("regex: %d lines out for %d in" % (len(out), len(lines)))
rx = re.compile(r'(\S+) \S+ \S+ \[([^\]]+)\] "(\S+) (\S+) [^"]*" (\d+) (\d+)$')
for line, ev in zip(lines, out):
    m = rx.match(line)
    if m is None:
        want = {"raw": line}
        if not (t_start <= ev["__time__"] <= t_end):
            problem("regex: unparsed line keeps the read time, got %r" % ev["__time__"])
    else:
        want = dict(zip(["ip", "time", "method", "path", "status", "bytes"], m.groups()))
        d = re.match(r"(\d+)/(\w+)/(\d+):(\d+):(\d+):(\d+) \+0800", m.group(2))
        sec = calendar.timegm((int(d.group(3)), mon[d.group(2)], int(d.group(1)),
                               int(d.group(4)), int(d.group(5)), int(d.group(6)))) - 8 * 3600
        if ev["__time__"] != sec:
            problem("regex: __time__ %r, want %r for %r" % (ev["__time__"], sec, line))
    if fields(ev) != want:
        problem("regex: %r -> %r, want %r" % (line, fields(ev), want))
    if ev.get("__tag__:__path__") != T + "/in/access.log":
        problem("regex: path tag %r" % ev.get("__tag__:__path__"))

# delimiter + timestamp
import csv, io
lines = open(T + "/in/events.csv", encoding="utf-8").read().split("\n")[:-1]
out = load(T + "/out/delim.jsonl")
if len(out) != len(lines):
    problem("delimiter: %d lines out for %d in" % (len(out), len(lines)))
for line, ev in zip(lines, out):
    cols = next(csv.reader(io.StringIO(line)))
    want = dict(zip(["ts", "level", "seq", "msg"], cols))
    for i, extra in enumerate(cols[4:]):
        want["__column%d__" % (i + 4)] = extra
    if fields(ev) != want:
        problem("delimiter: %r -> %r, want %r" % (line, fields(ev), want))
    t = datetime.datetime.strptime(cols[0], "%Y-%m-%d %H:%M:%S.%f")
    sec = calendar.timegm(t.timetuple()) - 8 * 3600
    if ev["__time__"] != sec:
        problem("delimiter: __time__ %r, want %r" % (ev["__time__"], sec))

# json + timestamp
lines = open(applog, encoding="utf-8").read().split("\n")[:-1]
out = load(T + "/out/json.jsonl")
if len(out) != len(lines):
    problem("json: %d lines out for %d in" % (len(out), len(lines)))
for line, ev in zip(lines, out):
    obj = json.loads(line)
    for k, v in obj.items():
        got = ev.get(k)
        exp = v if isinstance(v, str) else None
        if exp is not None and got != exp:
            problem("json: field %r = %r, want %r" % (k, got, exp))
        if exp is None and (got is None or json.loads(got) != v):
            problem("json: field %r = %r, want JSON %r" % (k, got, v))
    sec = int(datetime.datetime.fromisoformat(obj["time"]).timestamp())
    if ev["__time__"] != sec:
        problem("json: __time__ %r, want %r (%s)" % (ev["__time__"], sec, obj["time"]))
for p in problems:
    print(p)
print("checked regex/delimiter/json")
EOF
)
check_eq "every output line: exact fields and __time__" "checked regex/delimiter/json" "$VERDICT"
check_eq "regex: 3000 lines out" 3000 "$(count_lines "$T/out/regex.jsonl")"
check_eq "regex: the 6 unmatched lines kept under raw" 6 \
    "$(grep -c '"raw":"garbage line' "$T/out/regex.jsonl" || true)"
check_contains "delimiter: an overflow column is named by its index" \
    "$(head -n 1 "$T/out/delim.jsonl")" '"__column4__":"overflow"'
check_contains "delimiter: doubled quotes unescaped" "$(cat "$T/out/delim.jsonl")" \
    '"msg":"she said \"hi\""'

if [ -n "$(sanitizer_report "$T/run.log")" ]; then
    not_ok "sanitizer findings" "$(sanitizer_report "$T/run.log")"
fi
finish
