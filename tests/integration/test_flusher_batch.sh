#!/usr/bin/env bash
# A flusher's Batch.MinCnt / Batch.MinSizeBytes bound its requests (the pipeline batches once,
# with the smallest limits of its flushers), and Batch.MaxSizeBytes caps them: a group that
# would take a batch past it starts the next one.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
SINK_PORT=$(free_port)
mkdir -p "$T/logs" "$T/sink"
echo ok > "$T/sink/mode"
start_bg "$T/sink/stderr" python3 "$PT_SOURCE_DIR/tests/lib/http_sink.py" "$SINK_PORT" \
    "$T/sink/out.jsonl" "$T/sink/mode"
wait_until 5 curl -s -o /dev/null -X POST --max-time 1 "http://127.0.0.1:$SINK_PORT/" || true
: > "$T/logs/a.log"
cat > "$T/p.yaml" <<YAML
inputs:
  - Type: input_file
    FilePaths: [$T/logs/*.log]
flushers:
  - Type: flusher_http
    RemoteURL: http://127.0.0.1:$SINK_PORT/ingest
    Convert: {Protocol: raw}
    Batch: {MinCnt: 100, TimeoutSecs: 30}
YAML
printf 'admin: {enable: false}\nshutdown_timeout_ms: 2000\n' > "$T/agent.yaml"
start_bg "$T/petrel.log" "$PETREL" run --agent-config "$T/agent.yaml" --config "$T/p.yaml" \
    --data-dir "$T/data"
PID=$BG_PID
sleep 0.5
"$LOGGEN" --append "$T/logs/a.log" --count 1000 --rate 500 --prefix a > /dev/null 2>&1
sleep 0.5
stop_pid "$PID" TERM 5
check_eq "SIGTERM exits 0" 0 "$STOP_RC"
st=$(SEQ_LO=0 SEQ_HI=999 seqstat "$T/sink/out.jsonl")
check_contains "all 1000 lines arrived once" "$st" "unique=1000 dups=0"
nreq=$(awk '$2 == 200 && $4 > 0' "$T/sink/out.jsonl.log" | wc -l)
small=$(awk '$2 == 200 && $4 > 0' "$T/sink/out.jsonl.log" | head -n -1 | awk '$4 < 100' | wc -l)
echo "# $nreq requests: $(awk '$2 == 200 && $4 > 0 {printf "%s ", $4}' "$T/sink/out.jsonl.log")"
check_ge "Batch.MinCnt 100 splits 1000 slowly written lines into several requests" 5 "$nreq"
check_eq "every request but the shutdown flush holds at least 100 lines" 0 "$small"

# Batch.MaxSizeBytes 4000 with MinCnt 1000 and a 30 s batch timeout: lines written slowly
# (small groups) go out in requests of at most 4000 bytes, long before 1000 lines or the timeout
# (all but the last batch's lines arrive before the stop).
: > "$T/sink/out.jsonl"
: > "$T/sink/out.jsonl.log"
sed -i 's/Batch: {MinCnt: 100, TimeoutSecs: 30}/Batch: {MinCnt: 1000, MaxSizeBytes: 4000}/' \
    "$T/p.yaml"
printf 'aggregators:\n  - Type: aggregator_default\n    TimeoutMs: 30000\n' >> "$T/p.yaml"
rm -rf "$T/data" "$T/logs/a.log"
: > "$T/logs/b.log"
start_bg "$T/petrel2.log" "$PETREL" run --agent-config "$T/agent.yaml" --config "$T/p.yaml" \
    --data-dir "$T/data"
PID=$BG_PID
sleep 0.5
"$LOGGEN" --append "$T/logs/b.log" --count 600 --start-seq 1000 --rate 300 --prefix b \
    > /dev/null 2>&1
wait_until 5 test "$(wc -l < "$T/sink/out.jsonl")" -ge 560 || true
arrived_before_stop=$(wc -l < "$T/sink/out.jsonl")
stop_pid "$PID" TERM 5
st=$(SEQ_LO=1000 SEQ_HI=1599 seqstat "$T/sink/out.jsonl")
check_contains "MaxSizeBytes: all 600 lines arrived once" "$st" "unique=600 dups=0"
check_ge "MaxSizeBytes: all but the last batch arrived without waiting for MinCnt or the timeout" \
    560 "$arrived_before_stop"
nreq=$(awk '$2 == 200 && $4 > 0' "$T/sink/out.jsonl.log" | wc -l)
big=$(awk '$2 == 200 && $3 > 4000' "$T/sink/out.jsonl.log" | wc -l)
most=$(awk '$2 == 200 {if ($3 > m) m = $3} END {print m + 0}' "$T/sink/out.jsonl.log")
echo "# $nreq requests, largest $most bytes"
check_ge "MaxSizeBytes: 600 lines (~57 KB) take at least 14 requests" 14 "$nreq"
check_eq "MaxSizeBytes: no request over 4000 bytes" 0 "$big"
finish
