#!/usr/bin/env bash
# service_otlp DurableAck: a 200 / grpc-status 0 is sent only once every flusher delivered the
# request's records or wrote them to its spool, so a kill -9 right after the answer loses
# nothing. Without it the answer means "queued in memory". The destination is flusher_http to
# a local sink (tests/lib/http_sink.py) that can be up, hanging or down.
#   (a) sink up: the records are at the sink by the time the client has its 200, and the
#       answer does not wait for the batch timeout; without DurableAck they are not there yet.
#   (b) sink hanging, Spool on_failure, Timeout 2s: the 200 waits for the timeout and the
#       spool write; kill -9 at once; restarted with the sink up, the records arrive.
#   (c) sink down, Spool always, gRPC: grpc-status 0, kill -9 at once, restart: every record of
#       the SDK's logs request arrives.
#   (d) SIGTERM while a durable call waits on a hanging sink: petrel spools, answers 200 and
#       exits 0 within the grace period; the next start delivers the records.
#   (e) the same over gRPC: the stopping server lets the waiting stream finish (GOAWAY, then
#       grpc-status 0) before it closes the connection.
#   (f) load: 10 clients x 2 requests of 20 resources x 30 records into a 64 KiB process queue
#       (calls wait for room, others get 503) with the sink hanging; kill -9 once every client
#       has its answer; after a restart, every record of every request answered 200 arrives.
set -euo pipefail
PT_NAME=test_otlp_durable
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FX=$PT_SOURCE_DIR/tests/fixtures/otlp
SP=$(free_port)
HP=$(free_port)
GP=$(free_port)
mkdir -p "$T/sink"
echo ok > "$T/sink/mode"

start_sink() {
    start_bg "$T/sink/stderr" python3 "$PT_SOURCE_DIR/tests/lib/http_sink.py" "$SP" \
        "$T/sink/out.jsonl" "$T/sink/mode"
    SINK=$BG_PID
    wait_until 5 curl -s -o /dev/null --max-time 1 -X POST "http://127.0.0.1:$SP/" || true
    : > "$T/sink/out.jsonl"
}

# config NAME DURABLE SPOOL_MODE
config() {
    mkdir -p "$T/$1/data"
    cat > "$T/$1/p.yaml" <<YAML
inputs:
  - Type: service_otlp
    DurableAck: $2
    Protocals:
      HTTP: {Endpoint: 127.0.0.1:$HP}
      GRPC: {Endpoint: 127.0.0.1:$GP}
flushers:
  - Type: flusher_http
    RemoteURL: http://127.0.0.1:$SP/ingest
    Convert: {Protocol: jsonline}
    Timeout: 2s
    Spool: {Mode: $3}
    Retry: {InitialDelayMs: 200, MaxDelayMs: 500}
YAML
    printf 'admin: {enable: false}\nshutdown_timeout_ms: 800\n%s' "${AGENT_EXTRA:-}" \
        > "$T/$1/agent.yaml"
}

run_petrel() {
    start_bg "$T/$1/petrel.log" "$PETREL" run --agent-config "$T/$1/agent.yaml" \
        --config "$T/$1/p.yaml" --data-dir "$T/$1/data"
    PID=$BG_PID
    wait_until 5 curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$HP/v1/logs" || true
}

# logs_body MARKER: an OTLP/JSON logs request with one record whose body is MARKER
logs_body() {
    printf '{"resourceLogs":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"durable-test"}}]},"scopeLogs":[{"logRecords":[{"timeUnixNano":"1700000000000000000","body":{"stringValue":"%s"}}]}]}]}' "$1"
}

# post MARKER: prints "<http code> <milliseconds>"
post() {
    local t0 t1 code
    t0=$(date +%s%N)
    code=$(logs_body "$1" | curl -s -o /dev/null -w '%{http_code}' --max-time 10 \
        -H 'Content-Type: application/json' --data-binary @- "http://127.0.0.1:$HP/v1/logs")
    t1=$(date +%s%N)
    echo "$code $(((t1 - t0) / 1000000))"
}

at_sink() { grep -c -- "$1" "$T/sink/out.jsonl" 2>/dev/null || true; }

start_sink

# ---------------------------------------------------------------- (a) sink up
config nodur false on_failure
run_petrel nodur
read -r code ms <<<"$(post marker-a0)"
n=$(at_sink marker-a0)
check_eq "(a) without DurableAck: 200" 200 "$code"
check_eq "(a) without DurableAck: the 200 comes before the record reached the sink" 0 "$n"
stop_pid "$PID" TERM 5

config dur true on_failure
run_petrel dur
read -r code ms <<<"$(post marker-a1)"
n=$(at_sink marker-a1)
echo "# (a) durable answer after $ms ms"
check_eq "(a) DurableAck: 200" 200 "$code"
check_eq "(a) DurableAck: the record is at the sink when the client has its 200" 1 "$n"
check_le "(a) DurableAck: the answer does not wait for the 1 s batch timeout (ms)" 900 "$ms"

# ---------------------------------------------------------------- (b) sink hanging
echo hang > "$T/sink/mode"
read -r code ms <<<"$(post marker-b)"
kill -9 "$PID"
wait "$PID" 2>/dev/null || true
echo "# (b) durable answer after $ms ms with the sink hanging"
check_eq "(b) hanging sink: 200 once spooled" 200 "$code"
check_ge "(b) hanging sink: the answer waited for the 2 s send timeout (ms)" 1800 "$ms"
kill "$SINK" 2>/dev/null || true
wait "$SINK" 2>/dev/null || true
echo ok > "$T/sink/mode"
start_sink
run_petrel dur
wait_until 10 test "$(at_sink marker-b)" -ge 1 || true
check_ge "(b) killed -9 after the 200: the record arrives after restart" 1 "$(at_sink marker-b)"
stop_pid "$PID" TERM 5

# ---------------------------------------------------------------- (c) sink down, gRPC
kill "$SINK" 2>/dev/null || true
wait "$SINK" 2>/dev/null || true
config always true always
run_petrel always
path=/opentelemetry.proto.collector.logs.v1.LogsService/Export
res=$(nghttp -v -t 10 -H ':method: POST' -H 'content-type: application/grpc' -H 'te: trailers' \
    -d "$FX/grpc/logs.grpc" "http://127.0.0.1:$GP$path" 2>&1 | tr -d '\0' |
    sed -n 's/.*recv (stream_id=[0-9]*) grpc-status: \(.*\)$/\1/p')
kill -9 "$PID"
wait "$PID" 2>/dev/null || true
check_eq "(c) sink down, Spool always: grpc-status 0" 0 "$res"
want=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(sum(len(s["logRecords"]) for r in d["resourceLogs"] for s in r["scopeLogs"]))' "$FX/logs.json")
start_sink
run_petrel always
wait_until 10 test "$(wc -l < "$T/sink/out.jsonl")" -ge "$want" || true
check_eq "(c) killed -9 after grpc-status 0: all $want records arrive after restart" "$want" \
    "$(wc -l < "$T/sink/out.jsonl")"
stop_pid "$PID" TERM 5

# ---------------------------------------------------------------- (d) SIGTERM while waiting
echo hang > "$T/sink/mode"
run_petrel dur
post marker-d > "$T/d.out" &
POSTER=$!
sleep 0.5
t0=$(date +%s%N)
stop_pid "$PID" TERM 5
t1=$(date +%s%N)
wait "$POSTER" || true
read -r code ms < "$T/d.out"
check_eq "(d) SIGTERM: exit 0" 0 "$STOP_RC"
check_le "(d) SIGTERM: exits within the 1 s grace period (ms)" 1000 $(((t1 - t0) / 1000000))
check_eq "(d) SIGTERM: the waiting call is answered 200 once spooled" 200 "$code"
kill "$SINK" 2>/dev/null || true
wait "$SINK" 2>/dev/null || true
echo ok > "$T/sink/mode"
start_sink
run_petrel dur
wait_until 10 test "$(at_sink marker-d)" -ge 1 || true
check_ge "(d) the next start delivers the spooled record" 1 "$(at_sink marker-d)"
stop_pid "$PID" TERM 5

# ---------------------------------------------------------------- (e) SIGTERM, gRPC
echo hang > "$T/sink/mode"
rm -rf "$T/dur/data"
run_petrel dur
: > "$T/sink/out.jsonl"
(nghttp -v -t 10 -H ':method: POST' -H 'content-type: application/grpc' -H 'te: trailers' \
    -d "$FX/grpc/logs.grpc" "http://127.0.0.1:$GP$path" 2>&1 | tr -d '\0' |
    sed -n 's/.*recv (stream_id=[0-9]*) grpc-status: \(.*\)$/\1/p' > "$T/e.out") &
POSTER=$!
sleep 0.5
stop_pid "$PID" TERM 5
wait "$POSTER" || true
check_eq "(e) gRPC, SIGTERM: exit 0" 0 "$STOP_RC"
check_eq "(e) gRPC, SIGTERM: the waiting stream gets grpc-status 0 once spooled" 0 \
    "$(cat "$T/e.out")"
echo ok > "$T/sink/mode"
run_petrel dur
wait_until 10 test "$(wc -l < "$T/sink/out.jsonl")" -ge "$want" || true
check_eq "(e) the next start delivers all $want records" "$want" "$(wc -l < "$T/sink/out.jsonl")"
stop_pid "$PID" TERM 5

# ---------------------------------------------------------------- (f) load, kill -9
echo hang > "$T/sink/mode"
AGENT_EXTRA=$'queue_high_bytes: 65536\nprocessor_threads: 1\n' config load true on_failure
sed -i 's/Timeout: 2s/Timeout: 1s/' "$T/load/p.yaml"
run_petrel load
: > "$T/sink/out.jsonl"
mkdir -p "$T/f"
python3 - "$T/f" <<'PY'
import json, os, sys
for c in range(10):
    for k in range(2):
        rl = [{"resource": {"attributes": [{"key": "service.name",
                                            "value": {"stringValue": "svc%d" % r}}]},
               "scopeLogs": [{"logRecords": [
                   {"timeUnixNano": "1700000000000000000",
                    "body": {"stringValue": "f-c%d-k%d-r%d-i%d %s" % (c, k, r, i, "x" * 150)}}
                   for i in range(30)]}]} for r in range(20)]
        with open(os.path.join(sys.argv[1], "c%d-k%d.json" % (c, k)), "w") as f:
            json.dump({"resourceLogs": rl}, f)
PY
CLIENTS=()
for c in $(seq 0 9); do
    (for k in 0 1; do
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 \
            -H 'Content-Type: application/json' --data-binary @"$T/f/c$c-k$k.json" \
            "http://127.0.0.1:$HP/v1/logs")
        echo "c$c-k$k $code"
    done > "$T/f/codes.$c") &
    CLIENTS+=($!)
done
wait "${CLIENTS[@]}"
kill -9 "$PID"
wait "$PID" 2>/dev/null || true
cat "$T/f"/codes.* > "$T/f/codes"
n200=$(awk '$2 == 200' "$T/f/codes" | wc -l)
nother=$(awk '$2 != 200 && $2 != 503' "$T/f/codes" | wc -l)
echo "# (f) answers: $(awk '{print $2}' "$T/f/codes" | sort | uniq -c | tr '\n' ' ')"
check_ge "(f) some requests answered 200 under load" 1 "$n200"
check_eq "(f) every request answered 200 or 503 (none hung or failed)" 0 "$nother"
echo ok > "$T/sink/mode"
run_petrel load
wait_until 20 test "$(wc -l < "$T/sink/out.jsonl")" -ge $((n200 * 600)) || true
stop_pid "$PID" TERM 5
missing=$(python3 - "$T/f/codes" "$T/sink/out.jsonl" <<'PY'
import re, sys
want = [l.split()[0] for l in open(sys.argv[1]) if l.split()[1] == "200"]
seen = {}
for m in re.finditer(rb"f-(c\d+-k\d+)-r\d+-i\d+", open(sys.argv[2], "rb").read()):
    seen.setdefault(m.group(1).decode(), set()).add(m.group(0))
print(sum(600 - len(seen.get(w, ())) for w in want))
PY
)
check_eq "(f) killed -9 after the answers: no record of a request answered 200 is missing" 0 \
    "$missing"
finish
