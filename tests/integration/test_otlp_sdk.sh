#!/usr/bin/env bash
# The real OpenTelemetry JS SDK (tests/otlp-client, pinned by its lockfile) sends traces, metrics
# and logs to service_otlp over http/protobuf and http/json (and grpc), plain and gzip. For each
# run, every span arrives once with its ids, parent, kind, typed attributes, events and status;
# every data point with its value; every log record with its body, attributes, severity and
# event name (tests/integration/otlp_sdk_check.py compares the client's manifest with the
# output of flusher_file).
set -euo pipefail
PT_NAME=test_otlp_sdk
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

CLIENT=$PT_SOURCE_DIR/tests/otlp-client
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    not_ok "node and npm are needed for the OpenTelemetry JS SDK (apt-get install nodejs npm)"
    finish
fi
if [ ! -d "$CLIENT/node_modules/@opentelemetry/sdk-trace-base" ]; then
    echo "# installing the pinned SDK (npm ci)"
    (cd "$CLIENT" && timeout 300 npm ci --no-audit --no-fund --loglevel=error) >"$T/npm.log" 2>&1 ||
        { not_ok "npm ci in tests/otlp-client" "$(tail -n 20 "$T/npm.log")"; finish; }
fi

ADMIN=$(free_port)
HP=$(free_port)
GP=$(free_port)
OUT=$T/out/otlp.jsonl
LOG=$T/petrel.log
mkdir -p "$T/conf" "$T/data"
cat >"$T/petrel.yaml" <<EOF
data_dir: $T/data
admin: {enable: true, host: 127.0.0.1, port: $ADMIN}
EOF
cat >"$T/conf/otlp.yaml" <<EOF
enable: true
inputs:
  - Type: service_otlp
    Protocals:
      HTTP:
        Endpoint: 127.0.0.1:$HP
      GRPC:
        Endpoint: 127.0.0.1:$GP
aggregators:
  - Type: aggregator_opentelemetry
    TimeoutMs: 100
flushers:
  - Type: flusher_file
    FilePath: $OUT
EOF
start_bg "$LOG" "$PETREL" run --agent-config "$T/petrel.yaml" --config-dir "$T/conf"
PID=$BG_PID
check "petrel starts and listens" wait_until 10 eval '! port_free $HP && ! port_free $GP'

# run NAME PROTOCOL COMPRESSION ENDPOINT [send.js options...]: one SDK process, then the check.
run() {
    local name=$1 proto=$2 comp=$3 ep=$4
    shift 4
    local rc=0
    timeout 60 node "$CLIENT/send.js" --protocol "$proto" --compression "$comp" --endpoint "$ep" \
        --run "$name" --manifest "$T/$name.json" "$@" >"$T/$name.log" 2>&1 || rc=$?
    check_eq "$name: every export succeeded" 0 "$rc"
    [ "$rc" == 0 ] || sed 's/^/#   /' "$T/$name.log" | head -n 20
    local res=""
    ready() {
        res=$(python3 "$PT_SOURCE_DIR/tests/integration/otlp_sdk_check.py" "$OUT" "$T/$name.json" 2>&1)
        [[ "$res" == *" ok" ]]
    }
    wait_until 10 ready || true
    check_matches "$name: spans, data points and logs arrive exactly" "$res" \
        "^spans=[0-9]+ points=8 logs=[0-9]+ ok$"
}

for proto in http/protobuf http/json; do
    for comp in none gzip; do
        run "${proto//\//_}-$comp" "$proto" "$comp" "http://127.0.0.1:$HP"
    done
done
# Larger than one export batch (512 spans) and several thousand log records.
run big-http_protobuf http/protobuf gzip "http://127.0.0.1:$HP" --spans 1200 --logs 3000
check_contains "big run: 1200 spans, 3000 logs" "$(python3 \
    "$PT_SOURCE_DIR/tests/integration/otlp_sdk_check.py" "$OUT" "$T/big-http_protobuf.json")" \
    "spans=1200 points=8 logs=3000 ok"

for comp in none gzip; do
    run "grpc-$comp" grpc "$comp" "http://127.0.0.1:$GP"
done
run big-grpc grpc gzip "http://127.0.0.1:$GP" --spans 1200 --logs 3000
check_contains "big gRPC run: 1200 spans, 3000 logs" "$(python3 \
    "$PT_SOURCE_DIR/tests/integration/otlp_sdk_check.py" "$OUT" "$T/big-grpc.json")" \
    "spans=1200 points=8 logs=3000 ok"

stop_pid "$PID" TERM 5
check_eq "SIGTERM: exit status 0" 0 "$STOP_RC"
check_eq "no sanitizer reports" "" "$(sanitizer_report "$LOG")"
finish
