#!/usr/bin/env bash
# The OTLP/gRPC receiver's listener (core/tcp_listen.c, shared with the HTTP server): an IPv6
# literal endpoint and "localhost" are served; past MaxConnections connections are accepted and
# closed at once, counted, and the server goes on serving; a port already taken is reported with
# the endpoint and the reason while the other pipelines run.
set -euo pipefail
PT_NAME=test_otlp_grpc_listener
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FX=$PT_SOURCE_DIR/tests/fixtures/otlp
ADMIN=$(free_port)
G6=$(free_port)
GL=$(free_port)
GM=$(free_port)
GB=$(free_port)
LOG=$T/petrel.log
M=http://127.0.0.1:$ADMIN/metrics
mkdir -p "$T/conf" "$T/data"
cat >"$T/petrel.yaml" <<EOF
data_dir: $T/data
admin: {enable: true, host: 127.0.0.1, port: $ADMIN}
EOF
# pipeline NAME ENDPOINT [EXTRA GRPC KEYS]: a receiver writing what it takes to out/NAME.jsonl.
pipeline() {
    cat >"$T/conf/$1.yaml" <<EOF
enable: true
inputs:
  - Type: service_otlp
    Protocals:
      GRPC:
        Endpoint: '$2'
${3:-}
flushers:
  - Type: flusher_file
    FilePath: $T/out/$1.jsonl
EOF
}
pipeline v6 "[::1]:$G6"
pipeline lh "localhost:$GL"
pipeline max "127.0.0.1:$GM" '        MaxConnections: 4'
pipeline busy "127.0.0.1:$GB"

# Something else holds GB (listening) for the whole test.
python3 -c 'import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(1)
time.sleep(120)' "$GB" &
PT_PIDS+=("$!")
wait_until 5 eval '! port_free $GB' || true

start_bg "$LOG" "$PETREL" run --agent-config "$T/petrel.yaml" --config-dir "$T/conf"
PID=$BG_PID
check "petrel starts and listens" wait_until 10 eval '! port_free $GL && ! port_free $GM'

SVC=/opentelemetry.proto.collector
LOGS_PATH=$SVC.logs.v1.LogsService/Export
# grpc URL: one Export call of the logs fixture; prints ":status S grpc-status G".
grpc() {
    nghttp -v -t 10 -H ':method: POST' -H 'content-type: application/grpc' -H 'te: trailers' \
        -d "$FX/grpc/logs.grpc" "$1$LOGS_PATH" 2>&1 | tr -d '\0' |
        sed -n 's/.*recv (stream_id=[0-9]*) \(grpc-status\|:status\): \(.*\)$/\1 \2/p' |
        tr '\n' ' ' | sed 's/ $//'
}

# ---------------------------------------------------------------- (a) addresses
check_contains "(a) the IPv6 endpoint is logged as configured" "$(cat "$LOG")" \
    "[v6/service_otlp] OTLP/gRPC listening on [::1]:$G6"
check_eq "(a) an Export call over [::1]: OK" ":status 200 grpc-status 0" "$(grpc "http://[::1]:$G6")"
check "(a) its 23 records arrive" wait_until 5 eval '[ "$(count_lines $T/out/v6.jsonl)" == 23 ]'
check_eq "(a) localhost is served on 127.0.0.1" ":status 200 grpc-status 0" \
    "$(grpc "http://127.0.0.1:$GL")"

# ---------------------------------------------------------------- (b) MaxConnections
flood=$(python3 - "$GM" <<'EOF'
import socket, sys, time
socks = []
for _ in range(40):
    try:
        socks.append(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2))
    except OSError:
        pass
time.sleep(0.3)
closed = 0
for s in socks:
    s.settimeout(0.05)
    try:
        if s.recv(1) == b"":
            closed += 1
    except (socket.timeout, BlockingIOError):
        pass
    except OSError:
        closed += 1
print(len(socks), closed)
for s in socks:
    s.close()
EOF
)
check_eq "(b) 40 connections: all but MaxConnections (4) closed at once" "40 36" "$flood"
check_eq "(b) rejected connections are counted" 36 \
    "$(metric "$M" 'petrel_otlp_grpc_connections_rejected_total{pipeline="max",plugin="service_otlp"}')"
check_eq "(b) accepted connections are counted" 4 \
    "$(metric "$M" 'petrel_otlp_grpc_connections_total{pipeline="max",plugin="service_otlp"}')"
# The four accepted connections close when the client does; then a new client is served.
res=""
check "(b) after the flood a client is served" wait_until 10 eval \
    'res=$(grpc "http://127.0.0.1:$GM"); [ "$res" == ":status 200 grpc-status 0" ]'

# ---------------------------------------------------------------- (c) port taken
check_contains "(c) a taken port is reported with the endpoint and the reason" "$(cat "$LOG")" \
    "[busy/service_otlp] cannot listen on 127.0.0.1:$GB (gRPC): address already in use"
check "(c) petrel keeps running" is_running "$PID"

stop_pid "$PID" TERM 5
check_eq "SIGTERM: exit status 0" 0 "$STOP_RC"
check_eq "no sanitizer reports" "" "$(sanitizer_report "$LOG")"
finish
