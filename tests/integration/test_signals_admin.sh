#!/usr/bin/env bash
# The admin endpoint (/healthz, /readyz, /metrics), SIGTERM (drain, checkpoint, exit 0 fast),
# restarts that honour the checkpoint, kill -9 without data loss, and the default `petrel run`
# with no arguments on the demo data set (and its OTLP receiver on 127.0.0.1:4318 and :4317).
set -euo pipefail
PT_NAME=test_signals_admin
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PORT=$(free_port)
URL=http://127.0.0.1:$PORT
LOG=$T/petrel.log
DATA=$T/data
IN=$T/in/a.log
OUT=$T/out/sig.jsonl
mkdir -p "$T/in" "$T/conf" "$DATA"
: >"$IN"

cat >"$T/petrel.yaml" <<EOF
data_dir: $DATA
admin: {enable: true, host: 127.0.0.1, port: $PORT}
EOF
# CheckpointIntervalMs at its default (2 s): kill -9 may lose up to that much committed progress,
# which must show up as duplicates, never as loss.
cat >"$T/conf/sig.yaml" <<EOF
enable: true
inputs:
  - Type: input_file
    FilePaths: [$T/in/*.log]
processors:
  - Type: processor_parse_json_native
    SourceKey: content
flushers:
  - Type: flusher_file
    FilePath: $OUT
EOF

append() { # START COUNT
    "$LOGGEN" --append "$IN" --count "$2" --start-seq "$1" --quiet
}

start_petrel() {
    echo "---- start" >>"$LOG"
    start_bg "$LOG" "$PETREL" run --agent-config "$T/petrel.yaml" --config-dir "$T/conf"
    PID=$BG_PID
    wait_until 10 eval '[ "$(http_code $URL/readyz)" == 200 ]'
}

file_size() { stat -c %s "$1"; }

# ckpt_offset FILE PATH: the committed offset recorded for PATH (empty if none).
ckpt_offset() {
    python3 -c 'import json, sys
doc = json.load(open(sys.argv[1]))
for f in doc.get("files", []):
    if f.get("path") == sys.argv[2]:
        print(f["offset"])' "$1" "$2" 2>/dev/null || true
}

# ---------------------------------------------------------------- (a) admin endpoint
check "petrel starts and /readyz answers 200" start_petrel
check_eq "(a) /healthz status 200" 200 "$(http_code "$URL/healthz")"
check_eq "(a) /healthz body ok" ok "$(http_body "$URL/healthz")"
check_eq "(a) /readyz status 200 while running" 200 "$(http_code "$URL/readyz")"
m=$(http_body "$URL/metrics")
check_matches "(a) /metrics has petrel_plugin_events_in_total with pipeline and plugin labels" \
    "$m" '^petrel_plugin_events_in_total\{pipeline="sig",plugin="input_file"\} [0-9]+$'
check_matches "(a) /metrics has process_resident_memory_bytes > 0" "$m" \
    '^process_resident_memory_bytes [1-9][0-9]*$'
check_eq "(a) unknown path is 404" 404 "$(http_code "$URL/nope")"

# ---------------------------------------------------------------- (b) events_in counts lines
N=500
append 1 "$N"
check "(b) $N lines arrive" wait_until 10 have_seqs 1 "$N" "$OUT"
check_eq "(b) input_file events_in == $N" "$N" \
    "$(metric "$URL/metrics" 'petrel_plugin_events_in_total{pipeline="sig",plugin="input_file"}')"
check_eq "(b) input_file bytes_in == input file size" "$(file_size "$IN")" \
    "$(metric "$URL/metrics" 'petrel_plugin_bytes_in_total{pipeline="sig",plugin="input_file"}')"
check "(b) flusher_file events_in reaches $N" wait_until 5 eval \
    '[ "$(metric "$URL/metrics" "petrel_plugin_events_in_total{pipeline=\"sig\",plugin=\"flusher_file\"}")" == "$N" ]'

# ---------------------------------------------------------------- (c) SIGTERM
stop_pid "$PID" TERM 5
check_eq "(c) SIGTERM: exit status 0" 0 "$STOP_RC"
check_le "(c) SIGTERM: gone within 2000 ms (took ${STOP_MS} ms)" 2000 "$STOP_MS"
CKPT=$DATA/checkpoints/sig.json
check "(c) checkpoint file exists" test -f "$CKPT"
check_eq "(c) checkpoint offset == input file size" "$(file_size "$IN")" \
    "$(ckpt_offset "$CKPT" "$IN")"
check_eq "(c) /healthz no longer answers" 000 "$(http_code "$URL/healthz")"

# ---------------------------------------------------------------- (d) restart honours it
append $((N + 1)) 200 # written while petrel is down
check "(d) petrel restarts" start_petrel
check "(d) lines written while down arrive" wait_until 10 have_seqs 1 $((N + 200)) "$OUT"
sleep 1.5 # a re-read would show up by now
s=$(seqstat "$OUT")
echo "# after restart: $s"
check_eq "(d) no line emitted twice" 0 "$(field dups "$s")"
check_eq "(d) exactly $((N + 200)) lines" $((N + 200)) "$(field lines "$s")"
check_eq "(d) events_in of this run counts only the new lines" 200 \
    "$(metric "$URL/metrics" 'petrel_plugin_events_in_total{pipeline="sig",plugin="input_file"}')"

# SIGTERM while a writer appends: the drain commits exactly what was delivered, so the restart
# neither repeats nor skips a line.
start_bg "$T/gen.log" "$LOGGEN" --append "$IN" --count 1000 --start-seq $((N + 201)) --rate 1000 \
    --quiet
GEN=$BG_PID
check "(d) lines flow from the writer" wait_until 10 have_seqs $((N + 201)) $((N + 300)) "$OUT"
stop_pid "$PID" TERM 5
check_eq "(d) SIGTERM mid-stream: exit status 0" 0 "$STOP_RC"
check_le "(d) SIGTERM mid-stream: gone within 2000 ms (took ${STOP_MS} ms)" 2000 "$STOP_MS"
check "(d) petrel restarts mid-stream" start_petrel
gen_rc=0
wait_until 20 is_gone "$GEN" || gen_rc=timeout
wait "$GEN" 2>/dev/null || gen_rc=$?
check_eq "(d) the writer finished" 0 "$gen_rc"
check "(d) every seq 1..$((N + 1200)) arrives" wait_until 10 have_seqs 1 $((N + 1200)) "$OUT"
sleep 1
s=$(seqstat "$OUT")
echo "# after SIGTERM mid-stream and restart: $s"
check_eq "(d) SIGTERM mid-stream: no line emitted twice" 0 "$(field dups "$s")"

# ---------------------------------------------------------------- (e) kill -9 mid-stream
FROM=$((N + 1201))
COUNT=2000
start_bg "$T/gen.log" "$LOGGEN" --append "$IN" --count "$COUNT" --start-seq "$FROM" --rate 500 \
    --quiet
GEN=$BG_PID
check "(e) lines flow before the kill" wait_until 10 have_seqs "$FROM" $((FROM + 299)) "$OUT"
sleep 0.5
stop_pid "$PID" KILL 5
check_eq "(e) kill -9 takes it down" 137 "$STOP_RC"
echo "# output at the kill: $(seqstat "$OUT"); checkpoint offset $(ckpt_offset "$CKPT" "$IN")"
gen_rc=0
wait_until 20 is_gone "$GEN" || gen_rc=timeout
wait "$GEN" 2>/dev/null || gen_rc=$?
check_eq "(e) the writer finished" 0 "$gen_rc"
LAST=$((FROM + COUNT - 1))
check "(e) petrel restarts after kill -9" start_petrel
check "(e) every seq 1..$LAST arrives after the restart" wait_until 20 have_seqs 1 "$LAST" "$OUT"
stop_pid "$PID" TERM 5
check_eq "(e) SIGTERM after the restart: exit status 0" 0 "$STOP_RC"
s=$(SEQ_LO=1 SEQ_HI=$LAST seqstat "$OUT")
echo "# after kill -9 and restart: $s"
echo "# duplicates caused by kill -9: $(field dups "$s")"
check_eq "(e) nothing lost" 0 "$(field missing "$s")"
check_eq "(e) every output line is a parsed event" 0 "$(field bad "$s")"
check_eq "(e) nothing beyond what was written" "$LAST" "$(field max "$s")"
check_eq "(e) checkpoint offset == input file size after the final stop" "$(file_size "$IN")" \
    "$(ckpt_offset "$CKPT" "$IN")"

# ---------------------------------------------------------------- (f) the default run
D=$T/default
mkdir -p "$D"
if ! port_free 9477 || ! port_free 4318 || ! port_free 4317; then
    echo "# SKIP (f): 127.0.0.1:9477, :4318 or :4317 is in use; the default run needs them"
else
    (cd "$D" && "$LOGGEN" --out demo --if-empty --size 1M --quiet)
    want=$(find "$D/demo" -type f \( -name '*.jsonl' -o -name '*.log' \) -exec cat {} + | wc -l)
    nfiles=$(find "$D/demo" -type f \( -name '*.jsonl' -o -name '*.log' \) | wc -l)
    check_ge "(f) loggen wrote several files" 2 "$nfiles"
    DLOG=$T/default.log
    (cd "$D" && exec "$PETREL" run >>"$DLOG" 2>&1) &
    DPID=$!
    PT_PIDS+=("$DPID")
    demo_count() { count_lines "$D/data/out/demo.jsonl"; }
    demo_full() { [ "$(demo_count)" -ge "$want" ]; }
    check "(f) data/out/demo.jsonl reaches $want lines" wait_until 20 demo_full
    sleep 1.5
    check_eq "(f) one output line per source line" "$want" "$(demo_count)"
    per_file=$(python3 - "$D" <<'EOF'
import collections, json, os, sys
d = sys.argv[1]
want = collections.Counter()
for root, _, files in os.walk(os.path.join(d, "demo")):
    for n in files:
        if n.endswith((".jsonl", ".log")):
            p = os.path.join(root, n)
            with open(p, "rb") as f:
                want[p] = sum(1 for _ in f)
got = collections.Counter()
bad = 0
with open(os.path.join(d, "data/out/demo.jsonl"), "rb") as f:
    for line in f:
        try:
            got[json.loads(line)["__tag__:__path__"]] += 1
        except Exception:
            bad += 1
diff = {p: (want[p], got[p]) for p in set(want) | set(got) if want[p] != got[p]}
print("ok" if not diff and not bad else "bad=%d diff=%r" % (bad, diff))
EOF
)
    check_eq "(f) per source file, output lines == source lines" ok "$per_file"
    check "(f) the default pipeline was written to data/default.d/demo.yaml" \
        test -f "$D/data/default.d/demo.yaml"
    check_eq "(f) default admin endpoint on 127.0.0.1:9477" 200 \
        "$(http_code http://127.0.0.1:9477/healthz)"
    # The second default pipeline receives OTLP on 127.0.0.1:4318.
    check "(f) the default OTLP pipeline was written to data/default.d/otlp.yaml" \
        test -f "$D/data/default.d/otlp.yaml"
    check_eq "(f) OTLP/HTTP on 127.0.0.1:4318 takes the SDK's traces" 200 \
        "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
            -H 'Content-Type: application/x-protobuf' \
            --data-binary "@$PT_SOURCE_DIR/tests/fixtures/otlp/traces.pb" \
            http://127.0.0.1:4318/v1/traces)"
    otlp_full() { [ "$(count_lines "$D/data/out/otlp.jsonl")" -ge 14 ]; }
    check "(f) data/out/otlp.jsonl gets the request's 14 spans" wait_until 10 otlp_full
    check_contains "(f) OTLP/gRPC on 127.0.0.1:4317 takes the SDK's logs" \
        "$(nghttp -v -t 5 -H ':method: POST' -H 'content-type: application/grpc' \
            -d "$PT_SOURCE_DIR/tests/fixtures/otlp/grpc/logs.grpc" \
            http://127.0.0.1:4317/opentelemetry.proto.collector.logs.v1.LogsService/Export 2>&1 |
            tr -d '\0')" "grpc-status: 0"
    otlp_full() { [ "$(count_lines "$D/data/out/otlp.jsonl")" -ge 37 ]; }
    check "(f) and its 23 log records" wait_until 10 otlp_full
    check_eq "(f) one line per record, the first span with its id" \
        "37 1" "$(count_lines "$D/data/out/otlp.jsonl") $(grep -c '"spanId":"ffa0453fd05d0552"' \
            "$D/data/out/otlp.jsonl")"
    stop_pid "$DPID" TERM 5
    check_eq "(f) SIGTERM: exit status 0" 0 "$STOP_RC"
fi

rep=$(sanitizer_report "$LOG" "$T/default.log")
check_eq "no sanitizer reports" "" "$rep"

finish
