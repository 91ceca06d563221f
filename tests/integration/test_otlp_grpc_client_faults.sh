#!/usr/bin/env bash
# flusher_otlp's native gRPC client when the receiver fails. Petrel A takes numbered log records
# over OTLP/HTTP (otlp_seq_send.py) and exports them over gRPC, one Export call per request.
#   (b) petrel B (DurableAck: it answers only once the records are written, so a kill loses
#       nothing it acknowledged) is killed with SIGKILL mid-stream and restarted on the same
#       port: A reconnects and every record arrives (duplicates allowed, nothing missing);
#   (g) B is stopped with SIGTERM mid-stream (GOAWAY, then it drains and exits 0) and restarted:
#       A counts the GOAWAY and loses nothing;
#   (f) deadlines: a server that completes the HTTP/2 handshake but never answers (node's
#       http2): each call is reset (RST_STREAM CANCEL) after Timeout, grpc-timeout says so, the
#       connection is kept (it answers PINGs), the data waits in the spool and reaches a real
#       receiver started later on that port; a server that accepts TCP and never speaks HTTP/2,
#       and one that drops the connection when a request arrives: retried, nothing delivered,
#       and petrel stays responsive.
set -euo pipefail
PT_NAME=test_otlp_grpc_client_faults
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SEND=$PT_SOURCE_DIR/tests/integration/otlp_seq_send.py
STUB=$PT_SOURCE_DIR/tests/integration/grpc_stub_server.js
AADM=$(free_port)
for v in PAB PAG PAF PAM PAR PB PG PS PM PR; do
    printf -v "$v" '%s' "$(free_port)"
done
mkdir -p "$T/a/conf" "$T/b/conf" "$T/g/conf" "$T/s/conf" "$T/out"

cat >"$T/a/petrel.yaml" <<EOF
data_dir: $T/a/data
admin: {enable: true, host: 127.0.0.1, port: $AADM}
EOF
# a_pipeline NAME HTTP_PORT FLUSHER_EXTRA...
a_pipeline() {
    local name=$1 port=$2
    shift 2
    {
        cat <<EOF
enable: true
inputs:
  - Type: service_otlp
    Protocals:
      HTTP: {Endpoint: 127.0.0.1:$port}
aggregators:
  - Type: aggregator_default
    MaxLogCount: 1
flushers:
  - Type: flusher_otlp
    Retry: {InitialDelayMs: 100, MaxDelayMs: 500}
EOF
        local line
        for line in "$@"; do
            echo "    $line"
        done
    } >"$T/a/conf/$name.yaml"
}
a_pipeline b "$PAB" "Endpoint: 127.0.0.1:$PB" "Timeout: 3s"
a_pipeline g "$PAG" "Endpoint: 127.0.0.1:$PG" "Timeout: 3s"
a_pipeline f "$PAF" "Endpoint: 127.0.0.1:$PS" "Timeout: 1s" "Concurrency: 2"
a_pipeline m "$PAM" "Endpoint: 127.0.0.1:$PM" "Timeout: 1s"
a_pipeline r "$PAR" "Endpoint: 127.0.0.1:$PR" "Timeout: 1s"

# b_config DIR PORT OUT: a receiving petrel (own process, data dir and output file).
b_config() {
    cat >"$T/$1/petrel.yaml" <<EOF
data_dir: $T/$1/data
admin: {enable: false}
shutdown_timeout_ms: 3000
EOF
    cat >"$T/$1/conf/$1.yaml" <<EOF
enable: true
inputs:
  - Type: service_otlp
    DurableAck: true
    Protocals:
      GRPC: {Endpoint: 127.0.0.1:$2}
flushers:
  - Type: flusher_file
    FilePath: $3
    MaxFileSize: 0
EOF
}
b_config b "$PB" "$T/out/b.jsonl"
b_config g "$PG" "$T/out/g.jsonl"
b_config s "$PS" "$T/out/f.jsonl"
start_b() {
    start_bg "$T/$1.log" "$PETREL" run --agent-config "$T/$1/petrel.yaml" --config-dir "$T/$1/conf"
}

start_b b
BPID=$BG_PID
start_b g
GPID=$BG_PID
start_bg "$T/stub-silent.out" node "$STUB" "$PS" silent "$T/silent.jsonl"
SILENT=$BG_PID
start_bg "$T/stub-reset.out" node "$STUB" "$PR" reset "$T/reset.jsonl"
cat >"$T/mute.py" <<'EOF'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(16)
keep = []
while True:
    c, _ = s.accept()
    keep.append(c)  # never read, never write
    with open(sys.argv[2], "a") as f:
        f.write("accepted\n")
EOF
start_bg "$T/mute.out" python3 "$T/mute.py" "$PM" "$T/mute.log"
start_bg "$T/a.log" "$PETREL" run --agent-config "$T/a/petrel.yaml" --config-dir "$T/a/conf"
APID=$BG_PID
check "A, both Bs and the stubs listen" wait_until 10 eval \
    '! port_free $PAB && ! port_free $PAR && ! port_free $PB && ! port_free $PG && ! port_free $PS && ! port_free $PM && ! port_free $PR'
AM=http://127.0.0.1:$AADM/metrics
am() { metric "$AM" "$1{pipeline=\"$2\",plugin=\"flusher_otlp\"}"; }

# ------------------------------------------------------------ (b) kill -9 B mid-stream
N=3000
start_bg "$T/send-b.log" python3 "$SEND" "$PAB" 0 $N --rate 500 --threads 2
SENDB=$BG_PID
check "(b) B is receiving" wait_until 20 eval '[ "$(count_lines $T/out/b.jsonl)" -ge 600 ]'
stop_pid "$BPID" KILL 5
killed_at=$(count_lines "$T/out/b.jsonl")
sleep 1
start_b b
BPID=$BG_PID
check "(b) the generator finished" wait_until 30 is_gone "$SENDB"
check_contains "(b) A took all $N requests" "$(cat "$T/send-b.log")" "sent=$N records=$N"
check "(b) after the restart, every record 0..$((N - 1)) arrived" wait_until 30 have_seqs 0 \
    $((N - 1)) "$T/out/b.jsonl"
st=$(SEQ_LO=0 SEQ_HI=$((N - 1)) seqstat "$T/out/b.jsonl")
check_eq "(b) nothing missing, nothing else (killed after $killed_at lines; $st)" "0 0 $N" \
    "$(field missing "$st") $(field bad "$st") $(field unique "$st")"
check_ge "(b) A reconnected" 2 "$(am petrel_otlp_grpc_client_connections_total b)"
check_matches "(b) A said why it retried" "$(grep 'b/flusher_otlp' "$T/a.log")" \
    "send failed, will retry: logs: 127.0.0.1:$PB: (the server closed the connection|connection reset by peer|cannot connect: connection refused)"

# ------------------------------------------------------------ (g) GOAWAY: SIGTERM B mid-stream
start_bg "$T/send-g.log" python3 "$SEND" "$PAG" 10000 $N --rate 500 --threads 2
SENDG=$BG_PID
check "(g) B is receiving" wait_until 20 eval '[ "$(count_lines $T/out/g.jsonl)" -ge 600 ]'
stop_pid "$GPID" TERM 10
check_eq "(g) B drained and exited 0 on SIGTERM" 0 "$STOP_RC"
check_ge "(g) A got B's GOAWAY" 1 "$(am petrel_otlp_grpc_client_goaways_total g)"
sleep 0.5
start_b g
GPID=$BG_PID
check "(g) the generator finished" wait_until 30 is_gone "$SENDG"
check_contains "(g) A took all $N requests" "$(cat "$T/send-g.log")" "sent=$N records=$N"
check "(g) after the restart, every record arrived" wait_until 30 have_seqs 10000 \
    $((10000 + N - 1)) "$T/out/g.jsonl"
st=$(SEQ_LO=10000 SEQ_HI=$((10000 + N - 1)) seqstat "$T/out/g.jsonl")
check_eq "(g) nothing missing, nothing else ($st)" "0 0 $N" \
    "$(field missing "$st") $(field bad "$st") $(field unique "$st")"

# ------------------------------------------------------------ (f) deadlines
out=$(python3 "$SEND" "$PAF" 600000 3)
check_eq "(f) A took 3 requests for the silent server" "sent=3 records=3" "${out% retries=*}"
out=$(python3 "$SEND" "$PAM" 700000 2)
check_eq "(f) A took 2 requests for the mute server" "sent=2 records=2" "${out% retries=*}"
out=$(python3 "$SEND" "$PAR" 800000 2)
check_eq "(f) A took 2 requests for the resetting server" "sent=2 records=2" "${out% retries=*}"
cancels() { grep -c '"rst":8' "$T/silent.jsonl" 2>/dev/null || true; }
check "(f) the silent server saw 4 calls reset with CANCEL (retries included)" wait_until 20 \
    eval '[ "$(cancels)" -ge 4 ]'
res=$(python3 - "$T/silent.jsonl" <<'EOF'
import json, sys
ev = [json.loads(l) for l in open(sys.argv[1])]
opened = {e["id"]: e for e in ev if e["ev"] == "stream"}
closed = [e for e in ev if e["ev"] == "close" and e["rst"] == 8]
h = opened[closed[0]["id"]]["headers"]
tmo = h.get("grpc-timeout", "")
ok_tmo = tmo.endswith("m") and tmo[:-1].isdigit() and 900 <= int(tmo[:-1]) <= 1000
lat = sorted(c["t"] - opened[c["id"]]["t"] for c in closed)
print("conns=%d path=%s ct=%s te=%s enc=%s timeout_ok=%s reset_after_ok=%s" % (
    sum(1 for e in ev if e["ev"] == "conn"), h.get(":path"), h.get("content-type"),
    h.get("te"), h.get("grpc-encoding"), ok_tmo, 800 <= lat[0] and lat[-1] <= 1600))
EOF
)
check_eq "(f) the calls as the server saw them: headers, grpc-timeout ~1000m, reset after ~1 s, one connection" \
    "conns=1 path=/opentelemetry.proto.collector.logs.v1.LogsService/Export ct=application/grpc te=trailers enc=gzip timeout_ok=True reset_after_ok=True" \
    "$res"
check_contains "(f) A logged the deadline" "$(grep 'f/flusher_otlp' "$T/a.log")" \
    "deadline exceeded: no answer from 127.0.0.1:$PS within 1000 ms"
check_ge "(f) the batches wait in A's spool" 1 "$(am petrel_spool_writes_total f)"
check_eq "(f) A stays responsive" 200 "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 \
    "http://127.0.0.1:$AADM/healthz")"
mute_tries() { [ "$(count_lines "$T/mute.log")" -ge 2 ]; }
check "(f) the mute server: A gives up on the connection and connects again" wait_until 20 \
    mute_tries
check_matches "(f) ... saying why" "$(grep 'm/flusher_otlp' "$T/a.log")" \
    "send failed, will retry: logs: (deadline exceeded|127.0.0.1:$PM: no HTTP/2 SETTINGS)"
reset_tries() { [ "$(grep -c '"ev": *"stream"' "$T/reset.jsonl" 2>/dev/null || echo 0)" -ge 2 ]; }
check "(f) the resetting server: A sends again on a new connection" wait_until 20 reset_tries
check_matches "(f) ... saying why" "$(grep 'r/flusher_otlp' "$T/a.log")" \
    "send failed, will retry: logs: 127.0.0.1:$PR: (the server closed the connection|connection reset by peer)"
check_eq "(f) A is still responsive" 200 "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 \
    "http://127.0.0.1:$AADM/healthz")"
# The silent server goes away and a real receiver takes its port: the spooled batches arrive.
stop_pid "$SILENT" KILL 5
start_b s
check "(f) once a real receiver listens there, the 3 records arrive" wait_until 30 have_seqs \
    600000 600002 "$T/out/f.jsonl"

stop_pid "$APID" TERM 10
check_eq "A: SIGTERM exit status 0" 0 "$STOP_RC"
check_eq "no sanitizer reports" "" "$(sanitizer_report "$T"/*.log)"
finish
