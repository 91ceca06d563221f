#!/usr/bin/env bash
# flusher_otlp's native gRPC client against real petrel receivers: petrel A takes numbered log
# records over OTLP/HTTP (tests/integration/otlp_seq_send.py) and exports them over gRPC (h2c) to
# petrel B (service_otlp gRPC -> flusher_file), and B's files must hold every number.
#   (a) 2,500 Export calls share ONE connection (B's and A's connection counters), every record
#       arrives once;
#   (c) B's pipeline blocked: UNAVAILABLE with a 2 s RetryInfo, and A waits that long between
#       attempts although its own backoff is capped at 200 ms; once B drains, each record once;
#   (d) a 5 MiB Export message (far beyond the 64 KiB default windows) arrives intact;
#   (e) B allows 1 concurrent stream while A may have 8 requests in flight: A never opens more
#       (no refused stream, no protocol error, still one connection) and delivers everything;
#   (t) grpcs:// to a B that requires client certificates (a throwaway CA made with the openssl
#       CLI): name resolution and verification of "localhost", mutual TLS, one connection; a CA
#       that did not sign B's certificate fails the handshake, is retried and delivers nothing;
#       petrel check names an unreadable CA file.
# The failure cases (kill -9, deadline, GOAWAY) are in test_otlp_grpc_client_faults.sh.
set -euo pipefail
PT_NAME=test_otlp_grpc_client
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SEND=$PT_SOURCE_DIR/tests/integration/otlp_seq_send.py
AADM=$(free_port)
BADM=$(free_port)
CADM=$(free_port)
for v in PA1 PA3 PA4 PA5 PA6 PA7 PB1 PB3 PB4 PB5 PB6; do
    printf -v "$v" '%s' "$(free_port)"
done
mkdir -p "$T/a/conf" "$T/b/conf" "$T/c/conf" "$T/out"

cat >"$T/a/petrel.yaml" <<EOF
data_dir: $T/a/data
admin: {enable: true, host: 127.0.0.1, port: $AADM}
EOF
cat >"$T/b/petrel.yaml" <<EOF
data_dir: $T/b/data
admin: {enable: true, host: 127.0.0.1, port: $BADM}
EOF
# B for (c): the smallest queues, so that its blocked pipeline refuses soon.
cat >"$T/c/petrel.yaml" <<EOF
data_dir: $T/c/data
admin: {enable: true, host: 127.0.0.1, port: $CADM}
queue_high_bytes: 65536
sender_queue_bytes: 65536
EOF

# a_pipeline NAME HTTP_PORT FLUSHER_EXTRA...: A's pipeline NAME: OTLP/HTTP in, one Export call
# per request (aggregator cut at 1 record: each request is one group), flusher_otlp out.
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
EOF
        local line
        for line in "$@"; do
            echo "    $line"
        done
    } >"$T/a/conf/$name.yaml"
}
a_pipeline a "$PA1" "Endpoint: 127.0.0.1:$PB1"
a_pipeline c "$PA3" "Endpoint: 'grpc://127.0.0.1:$PB3'" \
    "Retry: {InitialDelayMs: 50, MaxDelayMs: 200}"
a_pipeline d "$PA4" "Logs: {Endpoint: 127.0.0.1:$PB4, Compression: none, Timeout: 20s}"
a_pipeline e "$PA5" "Endpoint: 127.0.0.1:$PB5" "Concurrency: 8"

# b_pipeline DIR NAME GRPC_PORT OUT [GRPC_EXTRA]
b_pipeline() {
    cat >"$T/$1/conf/$2.yaml" <<EOF
enable: true
inputs:
  - Type: service_otlp
    ${6:-}
    Protocals:
      GRPC: {Endpoint: 127.0.0.1:$3${5:+, $5}}
flushers:
  - Type: flusher_file
    FilePath: $4
    MaxFileSize: 0
EOF
}
b_pipeline b a "$PB1" "$T/out/a.jsonl"
b_pipeline b d "$PB4" "$T/out/d.jsonl"
b_pipeline b e "$PB5" "$T/out/e.jsonl" "MaxConcurrentStreams: 1"
# A throwaway CA, B's certificate for localhost and 127.0.0.1, A's client certificate, and a
# second CA that signed nothing of B's.
pki() {
    openssl "$@" >>"$T/pki.log" 2>&1
}
mkdir -p "$T/pki"
P=$T/pki
for ca in ca other; do
    pki req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj "/CN=petrel test $ca" -keyout "$P/$ca.key" -out "$P/$ca.pem"
done
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$P/srv.ext"
printf 'extendedKeyUsage=clientAuth\n' >"$P/cli.ext"
for who in srv cli; do
    pki req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=petrel $who" \
        -keyout "$P/$who.key" -out "$P/$who.csr"
    pki x509 -req -in "$P/$who.csr" -CA "$P/ca.pem" -CAkey "$P/ca.key" -CAcreateserial -days 2 \
        -extfile "$P/$who.ext" -out "$P/$who.pem"
done
cat >"$T/b/conf/t.yaml" <<EOF
enable: true
inputs:
  - Type: service_otlp
    TLS: {CertFile: $P/srv.pem, KeyFile: $P/srv.key, ClientCAFile: $P/ca.pem}
    Protocals:
      GRPC: {Endpoint: 127.0.0.1:$PB6}
flushers:
  - Type: flusher_file
    FilePath: $T/out/t.jsonl
EOF
a_pipeline t "$PA6" "Endpoint: 'grpcs://localhost:$PB6'" \
    "TLS: {CAFile: $P/ca.pem, CertFile: $P/cli.pem, KeyFile: $P/cli.key}"
a_pipeline u "$PA7" "Endpoint: 'grpcs://localhost:$PB6'" \
    "TLS: {CAFile: $P/other.pem, CertFile: $P/cli.pem, KeyFile: $P/cli.key}" \
    "Retry: {InitialDelayMs: 100, MaxDelayMs: 300}"
mkfifo "$T/blocked.fifo"
b_pipeline c c "$PB3" "$T/blocked.fifo" "" "RetryAfterSec: 2"
cat >"$T/reader.py" <<'EOF'
import os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
while not os.path.exists(sys.argv[2]):
    time.sleep(0.05)
with open(sys.argv[3], "wb") as out:
    while True:
        b = os.read(fd, 1 << 16)
        if not b:
            break
        out.write(b)
        out.flush()
EOF
start_bg "$T/reader.log" python3 "$T/reader.py" "$T/blocked.fifo" "$T/drain" "$T/out/c.jsonl"

start_bg "$T/b.log" "$PETREL" run --agent-config "$T/b/petrel.yaml" --config-dir "$T/b/conf"
BPID=$BG_PID
start_bg "$T/c.log" "$PETREL" run --agent-config "$T/c/petrel.yaml" --config-dir "$T/c/conf"
CPID=$BG_PID
start_bg "$T/a.log" "$PETREL" run --agent-config "$T/a/petrel.yaml" --config-dir "$T/a/conf"
APID=$BG_PID
check "A and both Bs listen" wait_until 10 eval \
    '! port_free $PA1 && ! port_free $PA5 && ! port_free $PB1 && ! port_free $PB5 && ! port_free $PB3'
AM=http://127.0.0.1:$AADM/metrics
BM=http://127.0.0.1:$BADM/metrics
CM=http://127.0.0.1:$CADM/metrics
am() { metric "$AM" "$1{pipeline=\"$2\",plugin=\"flusher_otlp\"}"; }
bm() { metric "$3" "$1{pipeline=\"$2\",plugin=\"service_otlp\"}"; }

# ------------------------------------------------------------- (a) one connection, 2,500 calls
out=$(python3 "$SEND" "$PA1" 0 2500 --per 2 --threads 2)
check_eq "(a) A took 2,500 requests of 2 records" "sent=2500 records=5000" "${out% retries=*}"
check "(a) B wrote records 0..4999" wait_until 30 have_seqs 0 4999 "$T/out/a.jsonl"
sleep 0.3
st=$(seqstat "$T/out/a.jsonl")
check_eq "(a) every record once" "lines=5000 bad=0 unique=5000 dups=0 min=0 max=4999" "$st"
calls=$(($(bm petrel_otlp_requests_total a "$BM") - $(bm petrel_otlp_requests_refused_total a "$BM")))
check_eq "(a) B accepted 2,500 Export calls (one per request)" 2500 "$calls"
check_eq "(a) B accepted ONE gRPC connection for them" 1 \
    "$(bm petrel_otlp_grpc_connections_total a "$BM")"
check_eq "(a) A opened ONE connection" 1 "$(am petrel_otlp_grpc_client_connections_total a)"
# A retry is allowed only when B said UNAVAILABLE (its queue full for a moment on a busy
# machine): none comes from the transport.
check_eq "(a) no stream refused; retries = B's UNAVAILABLE answers" \
    "0 $(bm petrel_otlp_requests_refused_total a "$BM")" \
    "$(am petrel_otlp_grpc_client_refused_streams_total a) $(am petrel_flusher_retries_total a)"

# ------------------------------------------------------------------ (d) a 5 MiB message
# 5,200 records of ~1 KiB: one request, one group, one Export message of ~5.3 MB, uncompressed.
out=$(python3 "$SEND" "$PA4" 100000 1 --per 5200 --pad 1000)
check_eq "(d) A took the 5,200-record request" "sent=1 records=5200" "${out% retries=*}"
check "(d) B wrote all 5,200 records" wait_until 30 have_seqs 100000 105199 "$T/out/d.jsonl"
sleep 0.3
check_eq "(d) every record once" "lines=5200 bad=0 unique=5200 dups=0 min=100000 max=105199" \
    "$(seqstat "$T/out/d.jsonl")"
intact=$(python3 -c '
import json, sys
ok = 0
for l in open(sys.argv[1]):
    body = json.loads(json.loads(l)["content"])
    ok += body["pad"] == "x" * 1000
print(ok)' "$T/out/d.jsonl")
check_eq "(d) every body arrived byte for byte" 5200 "$intact"
check_eq "(d) in one Export call" 1 "$(bm petrel_otlp_requests_total d "$BM")"
check_ge "(d) of more than 5 MiB (A's bytes out)" 5242880 \
    "$(am petrel_plugin_bytes_out_total d)"

# ----------------------------------------------------- (e) the server's stream limit is kept
out=$(python3 "$SEND" "$PA5" 200000 400 --threads 4)
check_eq "(e) A took 400 requests" "sent=400 records=400" "${out% retries=*}"
check "(e) B (MaxConcurrentStreams 1) wrote all 400" wait_until 30 have_seqs 200000 200399 \
    "$T/out/e.jsonl"
sleep 0.3
check_eq "(e) every record once" "lines=400 bad=0 unique=400 dups=0 min=200000 max=200399" \
    "$(seqstat "$T/out/e.jsonl")"
# Had A opened a second stream, B's nghttp2 would have refused it or ended the connection.
check_eq "(e) one connection, no refused stream, retries = B's UNAVAILABLE answers" \
    "1 0 $(bm petrel_otlp_requests_refused_total e "$BM")" \
    "$(bm petrel_otlp_grpc_connections_total e "$BM") $(am petrel_otlp_grpc_client_refused_streams_total e) $(am petrel_flusher_retries_total e)"
check_eq "(e) B accepted 400 calls" 400 \
    "$(($(bm petrel_otlp_requests_total e "$BM") - $(bm petrel_otlp_requests_refused_total e "$BM")))"

# --------------------------------------------------------------------- (t) gRPC over TLS
out=$(python3 "$SEND" "$PA6" 400000 300 --per 2 --threads 2)
check_eq "(t) A took 300 requests" "sent=300 records=600" "${out% retries=*}"
check "(t) B (mutual TLS) wrote all 600" wait_until 30 have_seqs 400000 400599 "$T/out/t.jsonl"
sleep 0.3
check_eq "(t) every record once" "lines=600 bad=0 unique=600 dups=0 min=400000 max=400599" \
    "$(seqstat "$T/out/t.jsonl")"
check_eq "(t) over one TLS connection; retries = B's UNAVAILABLE answers" \
    "1 1 $(bm petrel_otlp_requests_refused_total t "$BM")" \
    "$(bm petrel_otlp_grpc_connections_total t "$BM") $(am petrel_otlp_grpc_client_connections_total t) $(am petrel_flusher_retries_total t)"
out=$(python3 "$SEND" "$PA7" 500000 3)
check_eq "(t) the pipeline with the wrong CA took 3 requests" "sent=3 records=3" "${out% retries=*}"
u_retried() { [ "$(am petrel_flusher_retries_total u)" -ge 2 ] 2>/dev/null; }
check "(t) the wrong CA: the handshake fails, A retries" wait_until 20 u_retried
check_matches "(t) ... and says why" "$(grep 'u/flusher_otlp' "$T/a.log")" \
    "send failed, will retry: logs: localhost:$PB6: TLS: .*certificate verify failed"
check_eq "(t) ... and delivers nothing" 0 "$(count_lines "$T/out/u.jsonl")"
cat >"$T/badca.yaml" <<EOF
enable: true
inputs:
  - Type: service_otlp
    Protocals:
      HTTP: {Endpoint: 127.0.0.1:1}
flushers:
  - Type: flusher_otlp
    Endpoint: grpcs://localhost:4317
    TLS:
      CAFile: $T/no-such-ca.pem
EOF
rc=0
chk=$("$PETREL" check "$T/badca.yaml" 2>&1) || rc=$?
check_eq "(t) petrel check refuses an unreadable TLS.CAFile" 1 "$rc"
check_contains "(t) ... naming the key and the file" "$chk" \
    "badca/flusher_otlp.TLS.CAFile: cannot read $T/no-such-ca.pem"

# ------------------------------------------------- (c) UNAVAILABLE + RetryInfo is honoured
# 8 KB records: B's 64 KiB queues and the FIFO's buffer are full after a few dozen.
out=$(python3 "$SEND" "$PA3" 300000 40 --pad 8000)
check_eq "(c) A took 40 requests" "sent=40 records=40" "${out% retries=*}"
refused() { bm petrel_otlp_requests_refused_total c "$CM"; }
check "(c) B answers UNAVAILABLE while blocked" wait_until 20 eval '[ "$(refused)" -ge 1 ]'
sleep 1
r1=$(refused)
sleep 4
r2=$(refused)
# With RetryInfo's 2 s, A makes about two attempts in 4 s (one request each: throttling halves
# its concurrency); its own backoff (at most 200 ms) would make 20 or more.
check_le "(c) A waited RetryInfo's 2 s between attempts: $((r2 - r1)) refusals in 4 s" 6 \
    "$((r2 - r1))"
check_contains "(c) A logged the gRPC status" "$(cat "$T/a.log")" "gRPC status 14"
touch "$T/drain"
check "(c) once B drains, all 40 records arrive" wait_until 40 have_seqs 300000 300039 \
    "$T/out/c.jsonl"
sleep 0.5
check_eq "(c) each once" "lines=40 bad=0 unique=40 dups=0 min=300000 max=300039" \
    "$(seqstat "$T/out/c.jsonl")"

stop_pid "$APID" TERM 10
check_eq "A: SIGTERM exit status 0" 0 "$STOP_RC"
stop_pid "$BPID" TERM 10
check_eq "B: SIGTERM exit status 0" 0 "$STOP_RC"
stop_pid "$CPID" TERM 10
check_eq "B (c): SIGTERM exit status 0" 0 "$STOP_RC"
check_eq "no sanitizer reports" "" "$(sanitizer_report "$T/a.log" "$T/b.log" "$T/c.log")"
finish
