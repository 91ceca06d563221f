#!/usr/bin/env bash
# service_otlp over gRPC (HTTP/2 cleartext): the SDK's gRPC messages (plain and grpc-encoding
# gzip) sent with nghttp decode into exactly the records they carry; the raw h2c captures of the
# JS exporter replayed on a socket get HEADERS, an empty Export response and grpc-status 0,
# including the 231 KB message that needs WINDOW_UPDATEs past the 64 KiB initial window; and the
# status codes of the OTLP spec: UNIMPLEMENTED, INVALID_ARGUMENT, RESOURCE_EXHAUSTED,
# UNAUTHENTICATED, HTTP 415 for non-gRPC requests, and nothing served past MaxConcurrentStreams.
set -euo pipefail
PT_NAME=test_otlp_grpc
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FX=$PT_SOURCE_DIR/tests/fixtures/otlp
CHECK="python3 $PT_SOURCE_DIR/tests/integration/otlp_check.py"
H2="python3 $PT_SOURCE_DIR/tests/integration/h2_raw.py"
ADMIN=$(free_port)
GP=$(free_port)
G2=$(free_port)
OUT=$T/out/otlp.jsonl
LOG=$T/petrel.log
mkdir -p "$T/conf" "$T/data"
printf 'grpc-token-%s\n' "$RANDOM" >"$T/token"
TOKEN=$(head -n 1 "$T/token")
cat >"$T/petrel.yaml" <<EOF
data_dir: $T/data
admin: {enable: true, host: 127.0.0.1, port: $ADMIN}
EOF
cat >"$T/conf/otlp.yaml" <<EOF
enable: true
inputs:
  - Type: service_otlp
    Protocals:
      GRPC:
        Endpoint: 127.0.0.1:$GP
        MaxRecvMsgSizeMiB: 1
        MaxConcurrentStreams: 4
flushers:
  - Type: flusher_file
    FilePath: $OUT
EOF
cat >"$T/conf/tok.yaml" <<EOF
enable: true
inputs:
  - Type: service_otlp
    BearerTokenFile: $T/token
    Protocals:
      GRPC:
        Endpoint: 127.0.0.1:$G2
flushers:
  - Type: flusher_file
    FilePath: $T/out/tok.jsonl
EOF
start_bg "$LOG" "$PETREL" run --agent-config "$T/petrel.yaml" --config-dir "$T/conf"
PID=$BG_PID
check "petrel starts and listens" wait_until 10 eval '! port_free $GP && ! port_free $G2'

SVC=/opentelemetry.proto.collector
path_of() {
    case $1 in
    traces) echo "$SVC.trace.v1.TraceService/Export" ;;
    metrics) echo "$SVC.metrics.v1.MetricsService/Export" ;;
    logs) echo "$SVC.logs.v1.LogsService/Export" ;;
    esac
}
# grpc PORT PATH FILE [HEADER...]: one call with nghttp; prints "grpc-status <n> [grpc-message]".
grpc() {
    local port=$1 path=$2 file=$3
    shift 3
    local args=()
    local h
    for h in "$@"; do args+=(-H "$h"); done
    nghttp -v -t 10 -H ':method: POST' -H 'content-type: application/grpc' -H 'te: trailers' \
        "${args[@]}" -d "$file" "http://127.0.0.1:$port$path" 2>&1 | tr -d '\0' |
        sed -n 's/.*recv (stream_id=[0-9]*) \(grpc-status\|grpc-message\|:status\): \(.*\)$/\1 \2/p' |
        tr '\n' ' ' | sed 's/ $//'
}

# ---------------------------------------------------------------- (a) the SDK's gRPC messages
for sig in traces metrics logs; do
    check_eq "(a) grpc/$sig.grpc: grpc-status 0" ":status 200 grpc-status 0" \
        "$(grpc "$GP" "$(path_of $sig)" "$FX/grpc/$sig.grpc")"
    check_eq "(a) grpc/$sig.gzip.grpc (grpc-encoding gzip): grpc-status 0" \
        ":status 200 grpc-status 0" \
        "$(grpc "$GP" "$(path_of $sig)" "$FX/grpc/$sig.gzip.grpc" 'grpc-encoding: gzip')"
done
sent=$((2 * (14 + 19 + 23)))

# ---------------------------------------------------------------- (b) raw h2c captures
for cap in h2c-grpc-traces h2c-grpc-traces-500spans; do
    res=$($H2 replay "$GP" "$FX/wire/$cap.c2s" 2>&1 || true)
    check_matches "(b) $cap: HEADERS, empty Export response, trailers; no reset" "$res" \
        '^headers=1 data=0000000000 trailers=1 rst=0 goaway_error=0 window_updates=[0-9]+ spans=[0-9]+$'
    n=$(sed -n 's/.*spans=\([0-9]*\)$/\1/p' <<<"$res")
    sent=$((sent + ${n:-0}))
    $H2 spans "$FX/wire/$cap.c2s" >"$T/$cap.pb"
done
check_contains "(b) the 500-span capture carries 500 spans" \
    "$($H2 replay-count "$FX/wire/h2c-grpc-traces-500spans.c2s")" "500"
check "(a, b) every record arrives" wait_until 10 eval '[ "$(count_lines $OUT)" -ge $sent ]'
sleep 0.5
check_eq "(a, b) exactly $sent records" "$sent" "$(count_lines "$OUT")"
res=$($CHECK "$OUT" traces:"$FX/traces.json" traces:"$FX/traces.json.gz" \
    logs:"$FX/logs.json" logs:"$FX/logs.json.gz" \
    metrics:"$FX/metrics.json":1:notime metrics:"$FX/metrics.json.gz" \
    traces:"$T/h2c-grpc-traces.pb" traces:"$T/h2c-grpc-traces-500spans.pb" 2>&1 || true)
check_eq "(a, b) every span, data point and log record with every field" "ok ($sent lines)" "$res"

# ---------------------------------------------------------------- (c) status codes
check_eq "(c) unknown method: UNIMPLEMENTED" \
    ":status 200 grpc-status 12 grpc-message unknown method: OTLP/gRPC serves the Export methods of TraceService, MetricsService and LogsService" \
    "$(grpc "$GP" "$SVC.trace.v1.TraceService/Nope" "$FX/grpc/traces.grpc")"
head -c 3000 "$FX/grpc/logs.grpc" >"$T/trunc.grpc"
check_eq "(c) truncated message: INVALID_ARGUMENT" \
    ":status 200 grpc-status 3 grpc-message the gRPC length prefix does not match the data" \
    "$(grpc "$GP" "$(path_of logs)" "$T/trunc.grpc")"
python3 - "$FX/grpc/logs.grpc" "$T/bad.grpc" <<'EOF'
import sys
msg = open(sys.argv[1], "rb").read()[5:]
bad = msg[:-7]  # a protobuf cut inside a field, with a prefix that matches its length
open(sys.argv[2], "wb").write(b"\0" + len(bad).to_bytes(4, "big") + bad)
EOF
check_matches "(c) malformed protobuf: INVALID_ARGUMENT with the reason" \
    "$(grpc "$GP" "$(path_of logs)" "$T/bad.grpc")" \
    '^:status 200 grpc-status 3 grpc-message invalid protobuf at byte [0-9]+: truncated'
python3 -c 'import sys; n = 1536 * 1024; sys.stdout.buffer.write(b"\0" + n.to_bytes(4, "big") + b"\x0a" * n)' \
    >"$T/big.grpc"
check_eq "(c) 1.5 MiB message against a 1 MiB cap: RESOURCE_EXHAUSTED" \
    ":status 200 grpc-status 8 grpc-message the message is larger than the limit of 1048576 bytes" \
    "$(grpc "$GP" "$(path_of logs)" "$T/big.grpc")"
check_eq "(c) grpc-encoding snappy: UNIMPLEMENTED" \
    ":status 200 grpc-status 12 grpc-message unsupported grpc-encoding: use gzip or identity" \
    "$(grpc "$GP" "$(path_of logs)" "$FX/grpc/logs.gzip.grpc" 'grpc-encoding: snappy')"
check_eq "(c) compressed flag without grpc-encoding: INVALID_ARGUMENT" \
    ":status 200 grpc-status 3 grpc-message compressed gRPC message without grpc-encoding" \
    "$(grpc "$GP" "$(path_of logs)" "$FX/grpc/logs.gzip.grpc")"
res=$(nghttp -v -t 10 -H ':method: POST' -H 'content-type: application/json' \
    -d "$FX/logs.json" "http://127.0.0.1:$GP$(path_of logs)" 2>&1 | tr -d '\0' |
    sed -n 's/.*recv (stream_id=[0-9]*) :status: \(.*\)$/\1/p')
check_eq "(c) not application/grpc: HTTP 415" 415 "$res"
check_eq "(c) no bearer token: UNAUTHENTICATED" \
    ":status 200 grpc-status 16 grpc-message missing or wrong bearer token" \
    "$(grpc "$G2" "$(path_of logs)" "$FX/grpc/logs.grpc")"
check_eq "(c) right bearer token: OK" ":status 200 grpc-status 0" \
    "$(grpc "$G2" "$(path_of logs)" "$FX/grpc/logs.grpc" "authorization: Bearer $TOKEN")"
check "(c) its records arrive" wait_until 5 eval '[ "$(count_lines $T/out/tok.jsonl)" == 23 ]'

# ---------------------------------------------------------------- (d) concurrent streams
# A client that ignores the advertised limit breaks the protocol: nghttp2 answers with GOAWAY
# (PROTOCOL_ERROR) whose last stream id, 7, keeps the first four streams and drops the rest.
check_eq "(d) 10 streams at once against MaxConcurrentStreams 4: streams past the 4th refused" \
    "settings_max_streams=4 refused=0 goaway=(7, 1)" "$($H2 streams "$GP" 10 2>&1 || true)"
check_eq "(d) petrel still serves after that" ":status 200 grpc-status 0" \
    "$(grpc "$GP" "$(path_of logs)" "$FX/grpc/logs.grpc")"

check_eq "the token never appears in the log" 0 "$(grep -c -- "$TOKEN" "$LOG" || true)"
stop_pid "$PID" TERM 5
check_eq "SIGTERM: exit status 0" 0 "$STOP_RC"
check_eq "no sanitizer reports" "" "$(sanitizer_report "$LOG")"
finish
