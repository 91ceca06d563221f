#!/usr/bin/env bash
# input_file records on real files, checked byte for byte in the output: Java stack traces
# joined by Multiline.StartPattern (the last one flushed after FlushTimeoutSecs), JSON mode,
# unmatched lines discarded and counted, a partial last line completed 2 s later (one line, not
# two), a 50 MiB single line cut at MaxLineBytes without stalling the file, GBK and UTF-16 files
# turned into UTF-8.
set -euo pipefail
PT_NAME=test_tail_records
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PORT=$(free_port)
URL=http://127.0.0.1:$PORT
LOG=$T/petrel.log
mkdir -p "$T/conf" "$T/data" "$T/in"
cat >"$T/petrel.yaml" <<EOF
data_dir: $T/data
admin: {enable: true, host: 127.0.0.1, port: $PORT}
EOF
pipeline() { # NAME FILE EXTRA_INPUT_YAML
    cat >"$T/conf/$1.yaml" <<EOF
inputs:
  - Type: input_file
    FilePaths: [$T/in/$2]
$3
aggregators:
  - Type: aggregator_default
    TimeoutMs: 100
flushers:
  - Type: flusher_file
    FilePath: $T/out/$1.jsonl
    MaxFileSize: 0
EOF
}
pipeline ml java.log '    FlushTimeoutSecs: 1
    Multiline:
      StartPattern: \d{4}-\d{2}-\d{2} \d\d:\d\d:\d\d.*'
pipeline json obj.log '    Multiline: {Mode: JSON}'
pipeline disc d.log '    Multiline:
      StartPattern: "\\["
      UnmatchedContentTreatment: discard'
pipeline part part.log '    FlushTimeoutSecs: 3'
pipeline big big.log ''
pipeline gbk gbk.log '    FileEncoding: gbk'
pipeline u16 u16.log '    FileEncoding: utf16'

# contents FILE: the "content" values of FILE as a JSON list (one line).
contents() {
    python3 -c 'import json, sys, os
out = []
if os.path.exists(sys.argv[1]):
    for line in open(sys.argv[1], encoding="utf-8"):
        out.append(json.loads(line)["content"])
print(json.dumps(out, ensure_ascii=False))' "$1"
}
m() { metric "$URL/metrics" "$2{pipeline=\"$1\",plugin=\"input_file\"}"; }
has_n() { [ "$(count_lines "$1")" -ge "$2" ]; }

start_bg "$LOG" "$PETREL" run --agent-config "$T/petrel.yaml" --config-dir "$T/conf"
PID=$BG_PID
wait_until 10 eval '[ "$(http_code $URL/readyz)" == 200 ]' || true
check_eq "petrel is ready" 200 "$(http_code "$URL/readyz")"

# ---- Java stack traces --------------------------------------------------------------------
python3 - "$T/in/java.log" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("preamble without a date\n")
    f.write("2024-05-01 10:00:00 ERROR request failed\n"
            "java.lang.IllegalStateException: boom\n"
            "\tat com.example.Foo.bar(Foo.java:42)\n"
            "\tat com.example.Main.main(Main.java:7)\n"
            "Caused by: java.io.IOException: disk\n"
            "\t... 2 more\n")
    f.write("2024-05-01 10:00:01 INFO recovered\n")
    f.write("2024-05-01 10:00:02 ERROR again\n"
            "\tat com.example.Foo.baz(Foo.java:43)\n")
PY
check "multiline: the complete records arrive" wait_until 5 has_n "$T/out/ml.jsonl" 3
t0=$(date +%s%N)
check "multiline: the last record arrives after FlushTimeoutSecs" \
    wait_until 5 has_n "$T/out/ml.jsonl" 4
echo "# last record held for $((($(date +%s%N) - t0) / 1000000)) ms more"
check_eq "multiline: records joined exactly (unmatched preamble kept as its own line)" \
    '["preamble without a date", "2024-05-01 10:00:00 ERROR request failed\njava.lang.IllegalStateException: boom\n\tat com.example.Foo.bar(Foo.java:42)\n\tat com.example.Main.main(Main.java:7)\nCaused by: java.io.IOException: disk\n\t... 2 more", "2024-05-01 10:00:01 INFO recovered", "2024-05-01 10:00:02 ERROR again\n\tat com.example.Foo.baz(Foo.java:43)"]' \
    "$(contents "$T/out/ml.jsonl")"
check_eq "multiline: one unmatched line counted" 1 "$(m ml petrel_input_file_unmatched_lines_total)"

# ---- JSON mode ----------------------------------------------------------------------------
printf '{"a": 1}\n{\n  "b": "}{",\n  "c": [1, 2]\n}\nnot json\n' >"$T/in/obj.log"
check "json: objects arrive" wait_until 5 has_n "$T/out/json.jsonl" 3
check_eq "json: one event per object, however many lines" \
    '["{\"a\": 1}", "{\n  \"b\": \"}{\",\n  \"c\": [1, 2]\n}", "not json"]' \
    "$(contents "$T/out/json.jsonl")"

# ---- unmatched lines discarded --------------------------------------------------------------
printf 'noise 1\nnoise 2\n[1] first\n  more\n[2] second\n' >"$T/in/d.log"
sleep 0.3
printf '[3] third\n' >>"$T/in/d.log"
check "discard: records arrive" wait_until 5 has_n "$T/out/disc.jsonl" 2
check_eq "discard: unmatched lines are dropped" '["[1] first\n  more", "[2] second"]' \
    "$(contents "$T/out/disc.jsonl")"
check_eq "discard: and counted" 2 "$(m disc petrel_input_file_unmatched_lines_total)"

# ---- a partial last line completed 2 s later ------------------------------------------------
printf '{"seq":1,' >"$T/in/part.log"
sleep 2
printf '"x":2}\n' >>"$T/in/part.log"
check "partial: the completed line arrives" wait_until 5 has_n "$T/out/part.jsonl" 1
printf 'never completed' >>"$T/in/part.log"
check "partial: a line never completed arrives after FlushTimeoutSecs" \
    wait_until 6 has_n "$T/out/part.jsonl" 2
check_eq "partial: one line each, never split" '["{\"seq\":1,\"x\":2}", "never completed"]' \
    "$(contents "$T/out/part.jsonl")"
printf ' - and its tail\n' >>"$T/in/part.log"
check "partial: what follows a flushed partial line is a line of its own" \
    wait_until 5 has_n "$T/out/part.jsonl" 3

# ---- a 50 MiB single line -------------------------------------------------------------------
t0=$(date +%s%N)
python3 - "$T/in/big.log" <<'PY'
import sys
with open(sys.argv[1], "wb") as f:
    f.write(b"before\n")
    f.write(b"A" * (50 << 20) + b"\n")
    f.write(b"after\n")
PY
check "50 MiB line: the lines around it arrive" wait_until 20 has_n "$T/out/big.jsonl" 3
echo "# 50 MiB line handled in $((($(date +%s%N) - t0) / 1000000)) ms"
python3 - "$T/out/big.jsonl" <<'PY' && ok "50 MiB line: cut at MaxLineBytes (512 KiB) and flagged __truncated__" || not_ok "50 MiB line: cut and flagged"
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
assert [e["content"][:6] for e in ev] == ["before", "AAAAAA", "after"], ev
assert len(ev[1]["content"]) == 524288 and set(ev[1]["content"]) == {"A"}
assert ev[1]["__truncated__"] == "true" and "__truncated__" not in ev[0]
PY
check_eq "50 MiB line: counted" 1 "$(m big petrel_input_file_truncated_lines_total)"
printf 'later\n' >>"$T/in/big.log"
check "50 MiB line: the file goes on" wait_until 5 has_n "$T/out/big.jsonl" 4

# ---- GBK and UTF-16 -------------------------------------------------------------------------
python3 - "$T/in" <<'PY'
import sys
d = sys.argv[1]
with open(d + "/gbk.log", "wb") as f:
    f.write("中文日志 第1行\n".encode("gbk"))
    f.write("错误: 磁盘已满\n".encode("gbk"))
    f.write(b"bad \xff byte\n")
with open(d + "/u16.log", "wb") as f:
    f.write("héllo wörld\nzweite Zeile — 二\n".encode("utf-16"))  # BOM + little-endian
PY
check "gbk: lines arrive" wait_until 5 has_n "$T/out/gbk.jsonl" 3
check_eq "gbk: converted to UTF-8 (an invalid byte becomes U+FFFD)" \
    '["中文日志 第1行", "错误: 磁盘已满", "bad � byte"]' "$(contents "$T/out/gbk.jsonl")"
check "utf16: lines arrive" wait_until 5 has_n "$T/out/u16.jsonl" 2
check_eq "utf16: converted to UTF-8, BOM dropped" '["héllo wörld", "zweite Zeile — 二"]' \
    "$(contents "$T/out/u16.jsonl")"
python3 -c 'import sys; open(sys.argv[1], "ab").write("drei\n".encode("utf-16-le"))' \
    "$T/in/u16.log"
check "utf16: appended lines arrive" wait_until 5 has_n "$T/out/u16.jsonl" 3

stop_pid "$PID" TERM 10
check_eq "SIGTERM: exit 0" 0 "$STOP_RC"
check_eq "no sanitizer reports" "" "$(sanitizer_report "$LOG")"
finish
