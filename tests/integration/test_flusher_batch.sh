#!/usr/bin/env bash
# A flusher's Batch.MinCnt / Batch.MinSizeBytes bound its requests (the pipeline batches once,
# with the smallest limits of its flushers).
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
finish
