#!/usr/bin/env bash
# A processor chain on generated OpenClaw session transcripts, end to end in one-shot mode:
# input_file -> processor_parse_json_native -> processor_parse_timestamp_native ->
# processor_timestamp_filter_native -> processor_filter_regex_native -> processor_desensitize_native
# (x2: a constant over thinking signatures, MD5 over object etags) -> processor_rename ->
# processor_drop -> processor_add_fields -> flusher_file. The expected events are computed
# independently in Python from the source files and compared field by field, in order per file.
# Then bad configs through `petrel check`: invalid regex (PCRE2's message and offset), unknown
# Method, SourceKeys/DestKeys of different lengths, each with [file:line] and exit status 1.
#
# The timestamp steps need processor_parse_timestamp_native (issue 6, part A): while this build
# lacks it they are left out of the chain and said so; everything else still runs.
set -euo pipefail
PT_NAME=test_processor_chain
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# ---------------------------------------------------------------- corpus
"$LOGGEN" --out "$T/oc" --seed 11 --size 3M --quiet
mapfile -t SOURCES < <(find "$T/oc/.openclaw" -type f -name '*.jsonl' | sort)
check_ge "generator wrote session transcripts" 3 "${#SOURCES[@]}"
sig_count=$(cat "${SOURCES[@]}" | grep -o '"thinkingSignature":"[^"]' | wc -l | tr -d ' ')
etag_count=$(cat "${SOURCES[@]}" | grep -oE 'etag=[0-9a-f]{32}' | wc -l | tr -d ' ')
# The masks must have something to mask, or the test could not fail.
check_ge "corpus holds thinking signatures to mask" 5 "$sig_count"
check_ge "corpus holds etags to hash" 5 "$etag_count"

printf 'admin: {enable: false}\nprocessor_threads: 2\n' >"$T/agent.yaml"

# has_plugin NAME: true when this build of petrel has the plugin.
has_plugin() {
    mkdir -p "$T/probe"
    printf 'inputs:\n  - Type: input_file\n    FilePaths: [%s/none/*.log]\nprocessors:\n  - Type: %s\n    SourceKey: a\n    SourceFormat: "%%s"\nflushers:\n  - Type: flusher_blackhole\n' \
        "$T" "$1" >"$T/probe/$1.yaml"
    local out
    out=$("$PETREL" check "$T/probe/$1.yaml" 2>&1 || true)
    ! grep -q "is not available in this build" <<<"$out"
}

# A cut in the middle of the corpus's time span, for the timestamp filter.
LOWER=$(python3 - "${SOURCES[@]}" <<'EOF'
import json, sys, datetime
ts = []
for p in sys.argv[1:]:
    for line in open(p, encoding="utf-8"):
        t = json.loads(line).get("timestamp")
        if isinstance(t, str):
            ts.append(datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ")
                      .replace(tzinfo=datetime.timezone.utc).timestamp())
ts.sort()
print(int(ts[len(ts) // 3]))
EOF
)

if has_plugin processor_parse_timestamp_native; then
    WITH_TIME=1
    TIME_STEPS="  - Type: processor_parse_timestamp_native
    SourceKey: timestamp
    SourceFormat: '%Y-%m-%dT%H:%M:%S.%fZ'
    SourceTimezone: 'GMT+00:00'
  - Type: processor_timestamp_filter_native
    LowerBound: $LOWER"
else
    WITH_TIME=0
    TIME_STEPS=""
    echo "# processor_parse_timestamp_native is not in this build yet: the chain runs without" \
        "the timestamp steps (they join automatically once it is)"
fi

# ---------------------------------------------------------------- the chain
cat >"$T/chain.yaml" <<EOF
enable: true
inputs:
  - Type: input_file
    FilePaths: [$T/oc/.openclaw/agents/*/sessions/*.jsonl]
processors:
  - Type: processor_parse_json_native
    SourceKey: content
$TIME_STEPS
  - Type: processor_filter_regex_native
    FilterKey: [type]
    FilterRegex: ['message|custom']
  - Type: processor_desensitize_native
    SourceKey: message
    Method: const
    ReplacingString: '<redacted>'
    ContentPatternBeforeReplacedString: '"thinkingSignature":"'
    ReplacedContentPattern: '[^"]+'
  - Type: processor_desensitize_native
    SourceKey: message
    Method: md5
    ContentPatternBeforeReplacedString: 'etag='
    ReplacedContentPattern: '[0-9a-f]{32}'
  - Type: processor_rename
    SourceKeys: [id]
    DestKeys: [event_id]
  - Type: processor_drop
    DropKeys: [parentId]
  - Type: processor_add_fields
    Fields:
      pipeline: openclaw-chain
      sandbox: sbx-42
flushers:
  - Type: flusher_file
    FilePath: $T/out/chain.jsonl
    MaxFileSize: 0
EOF

"$PETREL" check "$T/chain.yaml" >"$T/check.out" 2>&1 && rc=0 || rc=$?
check_eq "petrel check accepts the chain" 0 "$rc"

rc=0
timeout 60 "$PETREL" run --agent-config "$T/agent.yaml" --config "$T/chain.yaml" \
    --data-dir "$T/data" --oneshot --log-level warn 2>"$T/run.log" || rc=$?
check_eq "one-shot run exits 0" 0 "$rc"
out_lines=$(count_lines "$T/out/chain.jsonl")
check_ge "output written" 1 "$out_lines"

# ---------------------------------------------------------------- field by field
cat >"$T/verify.py" <<'EOF'
import datetime, hashlib, json, re, sys

out_path, with_time, lower = sys.argv[1], sys.argv[2] == "1", int(sys.argv[3])
sources = sys.argv[4:]
DEC = json.JSONDecoder()
WS = " \t\r\n"

def members(line):
    """First-level (key, value) pairs: strings decoded, anything else as its exact JSON text."""
    i, out = 0, []
    while line[i] in WS:
        i += 1
    assert line[i] == "{"
    i += 1
    while True:
        while line[i] in WS:
            i += 1
        if line[i] == "}":
            return out
        key, i = json.decoder.scanstring(line, i + 1)
        while line[i] in WS:
            i += 1
        i += 1
        while line[i] in WS:
            i += 1
        val, end = DEC.raw_decode(line, i)
        out.append((key, val if isinstance(val, str) else line[i:end]))
        i = end
        while line[i] in WS:
            i += 1
        if line[i] == ",":
            i += 1

def md5(m):
    return m.group(1) + hashlib.md5(m.group(2).encode()).hexdigest().upper()

def expected(path):
    evs = []
    for line in open(path, encoding="utf-8"):
        fields = members(line.rstrip("\n"))
        d = dict(fields)
        if not re.fullmatch(r"message|custom", d.get("type", "\0")):
            continue
        secs = None
        if with_time:
            secs = int(datetime.datetime.strptime(d["timestamp"], "%Y-%m-%dT%H:%M:%S.%fZ")
                       .replace(tzinfo=datetime.timezone.utc).timestamp())
            if secs < lower:
                continue
        ev = []
        for k, v in fields:
            if k == "message":
                v = re.sub(r'("thinkingSignature":")[^"]+', r"\1<redacted>", v)
                v = re.sub(r"(etag=)([0-9a-f]{32})", md5, v)
            if k == "id":
                k = "event_id"
            if k == "parentId":
                continue
            ev.append((k, v))
        ev += [("pipeline", "openclaw-chain"), ("sandbox", "sbx-42")]
        evs.append((secs, ev))
    return evs

got = {}
for raw in open(out_path, encoding="utf-8"):
    o = json.loads(raw, object_pairs_hook=list)
    d = dict(o)
    path = d["__tag__:__path__"]
    fields = [(k, v) for k, v in o if k != "__time__" and not k.startswith("__tag__:")]
    got.setdefault(path, []).append((d["__time__"], fields))

bad = 0
total = 0
for p in sources:
    exp = expected(p)
    have = got.pop(p, [])
    total += len(exp)
    if len(exp) != len(have):
        print(f"{p}: expected {len(exp)} events, got {len(have)}")
        bad += 1
    for i, ((secs, ef), (t, hf)) in enumerate(zip(exp, have)):
        if ef != hf:
            diff = [(a, b) for a, b in zip(ef, hf) if a != b][:3]
            print(f"{p} event {i}: fields differ, first: {diff} (lengths {len(ef)}/{len(hf)})")
            bad += 1
            break
        if with_time and t != secs:
            print(f"{p} event {i}: __time__ {t}, expected {secs}")
            bad += 1
            break
for p in got:
    print(f"unexpected source in output: {p}")
    bad += 1
print(f"events={total} bad={bad}")
sys.exit(1 if bad else 0)
EOF
if result=$(python3 "$T/verify.py" "$T/out/chain.jsonl" "$WITH_TIME" "$LOWER" "${SOURCES[@]}" 2>&1); then
    ok "every event as computed independently from the sources, field by field, in order ($result)"
else
    not_ok "output differs from the expected events" "$result"
fi
check_eq "output has one line per expected event" "$(field events "$result")" "$out_lines"

# No secret survives, and the masks are really there.
leaked=$(python3 - "$T/out/chain.jsonl" "${SOURCES[@]}" <<'EOF'
import re, sys
out = open(sys.argv[1], encoding="utf-8").read()
secrets = set()
for p in sys.argv[2:]:
    text = open(p, encoding="utf-8").read()
    secrets.update(re.findall(r'"thinkingSignature":"([^"]+)"', text))
    secrets.update(re.findall(r"etag=([0-9a-f]{32})", text))
print(sum(1 for s in secrets if s in out))
EOF
)
check_eq "no thinking signature or etag from the sources appears in the output" 0 "$leaked"
check_ge "signatures replaced by the constant" 1 "$(grep -o 'thinkingSignature\\":\\"<redacted>' "$T/out/chain.jsonl" | wc -l | tr -d ' ')"
check_ge "etags replaced by upper-case MD5" 1 "$(grep -oE 'etag=[0-9A-F]{32}' "$T/out/chain.jsonl" | wc -l | tr -d ' ')"
if [ "$WITH_TIME" = 1 ]; then
    ok "timestamp steps included (lower bound $LOWER)"
fi
check_eq "no sanitizer report in the run log" "" "$(sanitizer_report "$T/run.log")"

# ---------------------------------------------------------------- bad configs
# bad NAME LINE_TEXT EXPECTED_MESSAGE CONFIG: `petrel check` must exit 1 and print
# "[file:line] bad-NAME/<message>", the line being the first one holding LINE_TEXT.
bad() {
    local name=$1 at=$2 msg=$3 f="$T/bad-$1.yaml" ln rc=0
    printf '%s\n' "$4" >"$f"
    timeout 20 "$PETREL" check "$f" >"$T/bad.out" 2>"$T/bad.err" || rc=$?
    check_eq "$name: petrel check exits 1" 1 "$rc"
    ln=$(grep -nF -- "$at" "$f" | head -n 1 | cut -d: -f1)
    check_contains "$name: [file:line] and the reason" "$(cat "$T/bad.err")" "[$f:$ln] bad-$name/$msg"
}

CFG_HEAD="inputs:
  - Type: input_file
    FilePaths: [$T/none/*.log]
flushers:
  - Type: flusher_blackhole
processors:"

bad regex "Type: processor_filter_regex_native" \
    "processor_filter_regex_native.FilterRegex[1]: invalid regex 'warn(ing': missing closing parenthesis at offset 8" \
    "$CFG_HEAD
  - Type: processor_filter_regex_native
    FilterKey: [level, msg]
    FilterRegex: ['(error|warn)', 'warn(ing']"

bad condition_regex "exp: 'a[b'" \
    "processor_filter_regex_native.ConditionExp.operands[1].exp: invalid regex 'a[b': missing terminating ] for character class at offset 3" \
    "$CFG_HEAD
  - Type: processor_filter_regex_native
    ConditionExp:
      operator: or
      operands:
        - {key: level, exp: error, type: regex}
        - key: msg
          exp: 'a[b'
          type: regex"

bad mask_regex "Type: processor_desensitize_native" \
    "processor_desensitize_native.ReplacedContentPattern: invalid regex 'sk-[A-Za-z0-9{20,}': missing terminating ] for character class at offset 18" \
    "$CFG_HEAD
  - Type: processor_desensitize_native
    SourceKey: content
    Method: const
    ReplacingString: '***'
    ContentPatternBeforeReplacedString: 'key='
    ReplacedContentPattern: 'sk-[A-Za-z0-9{20,}'"

bad method "Method: sha256" \
    "processor_desensitize_native.Method: must be one of: const, md5; got 'sha256'" \
    "$CFG_HEAD
  - Type: processor_desensitize_native
    SourceKey: content
    Method: sha256
    ContentPatternBeforeReplacedString: 'key='
    ReplacedContentPattern: '\\w+'"

bad rename_lengths "Type: processor_rename" \
    "processor_rename.DestKeys: has 1 entry but SourceKeys has 2; they must pair up one to one" \
    "$CFG_HEAD
  - Type: processor_rename
    SourceKeys: [a, b]
    DestKeys: [c]"

bad filter_lengths "Type: processor_filter_regex_native" \
    "processor_filter_regex_native.FilterRegex: has 1 entry but FilterKey has 2; they must pair up one to one" \
    "$CFG_HEAD
  - Type: processor_filter_regex_native
    FilterKey: [a, b]
    FilterRegex: ['x']"

bad precision "Type: processor_timestamp_filter_native" \
    "processor_timestamp_filter_native.TimestampPrecision: must be second, millisecond or nanosecond; got ms" \
    "$CFG_HEAD
  - Type: processor_timestamp_filter_native
    TimestampPrecision: ms"

finish
