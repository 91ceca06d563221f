#!/usr/bin/env bash
# service_otlp over TLS, with a throwaway CA made by the openssl CLI: HTTPS with curl (verified
# against the CA, refused without it, plaintext to the TLS port closed and counted), mutual TLS
# (no client certificate, one from another CA, the right one), gRPC over TLS with nghttp (ALPN
# h2; HTTP/1.1-only and cleartext clients refused), an 8 MiB body and pipelined requests on one
# keep-alive TLS connection, the handshake timeout, the real OpenTelemetry JS SDK over https for
# http/protobuf and gRPC, and `petrel check` on broken TLS files with the exact messages.
set -euo pipefail
PT_NAME=test_otlp_tls
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FX=$PT_SOURCE_DIR/tests/fixtures/otlp
CLIENT=$PT_SOURCE_DIR/tests/otlp-client
SVC=/opentelemetry.proto.collector
TRACE=688d719691e250c2922370d6639842c0 # 6 of the 14 spans in traces.pb and grpc/traces.grpc
ADMIN=$(free_port)
HP=$(free_port)
GP=$(free_port)
MHP=$(free_port)
MGP=$(free_port)
OUT=$T/out/tls.jsonl
MOUT=$T/out/mtls.jsonl
LOG=$T/petrel.log
M=http://127.0.0.1:$ADMIN/metrics
mkdir -p "$T/conf" "$T/data" "$T/pki"

# ---------------------------------------------------------------- certificates
P=$T/pki
pki() {
    openssl "$@" >>"$T/pki.log" 2>&1
}
# leaf NAME CA SUBJECT EXTENSIONS: a P-256 key and a certificate signed by CA.
leaf() {
    pki req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$P/$1.key" \
        -out "$P/$1.csr" -subj "/CN=$3"
    printf '%b' "$4" >"$P/$1.ext"
    pki x509 -req -in "$P/$1.csr" -CA "$P/$2.pem" -CAkey "$P/$2.key" -CAcreateserial \
        -out "$P/$1.pem" -days 2 -extfile "$P/$1.ext"
}
for ca in ca other-ca; do
    pki req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$P/$ca.key" \
        -out "$P/$ca.pem" -days 2 -subj "/CN=petrel test $ca"
done
leaf server ca localhost \
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n'
leaf client ca sandbox-agent 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n'
leaf other-client other-ca sandbox-agent 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n'
pki genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$P/wrong.key"
echo "not a certificate" >"$P/notpem.txt"
check "throwaway CA, server and client certificates made" \
    pki verify -CAfile "$P/ca.pem" "$P/server.pem" "$P/client.pem"

# ---------------------------------------------------------------- petrel
cat >"$T/petrel.yaml" <<EOF
data_dir: $T/data
admin: {enable: true, host: 127.0.0.1, port: $ADMIN}
EOF
cat >"$T/conf/tls.yaml" <<EOF
enable: true
inputs:
  - Type: service_otlp
    Protocals:
      HTTP:
        Endpoint: 127.0.0.1:$HP
      GRPC:
        Endpoint: 127.0.0.1:$GP
    TLS:
      CertFile: $P/server.pem
      KeyFile: $P/server.key
aggregators:
  - Type: aggregator_opentelemetry
    TimeoutMs: 100
flushers:
  - Type: flusher_file
    FilePath: $OUT
    MaxFileSize: 0
EOF
cat >"$T/conf/mtls.yaml" <<EOF
enable: true
inputs:
  - Type: service_otlp
    Protocals:
      HTTP:
        Endpoint: 127.0.0.1:$MHP
        ReadTimeoutSec: 1
      GRPC:
        Endpoint: 127.0.0.1:$MGP
        ReadTimeoutSec: 1
    TLS:
      CertFile: $P/server.pem
      KeyFile: $P/server.key
      ClientCAFile: $P/ca.pem
aggregators:
  - Type: aggregator_opentelemetry
    TimeoutMs: 100
flushers:
  - Type: flusher_file
    FilePath: $MOUT
EOF
start_bg "$LOG" "$PETREL" run --agent-config "$T/petrel.yaml" --config-dir "$T/conf" \
    --log-level debug
PID=$BG_PID
check "petrel starts and listens on four TLS ports" \
    wait_until 10 eval '! port_free $HP && ! port_free $GP && ! port_free $MHP && ! port_free $MGP'
check_contains "the log says the servers speak TLS" "$(cat "$LOG")" \
    "OTLP/HTTP listening on 127.0.0.1:$HP (TLS)"

# spans FILE: complete lines, and lines of trace $TRACE, as "N/M" (FILE and its rotations).
spans() {
    python3 - "$1" "$TRACE" <<'EOF'
import glob, json, sys
n = m = 0
for path in glob.glob(sys.argv[1]) + glob.glob(sys.argv[1] + ".[0-9]*"):
    for raw in open(path, "rb"):
        if raw.endswith(b"\n"):
            n += 1
            m += json.loads(raw).get("traceId") == sys.argv[2]
print("%d/%d" % (n, m))
EOF
}
# post PORT [curl options...]: POST traces.pb to /v1/traces; prints "<http code> <curl exit>".
post() {
    local port=$1
    shift
    local code rc=0
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$@" \
        -H 'Content-Type: application/x-protobuf' --data-binary "@$FX/traces.pb" \
        "https://127.0.0.1:$port/v1/traces") || rc=$?
    echo "$code $rc"
}
hs_fail() {
    metric "$M" "petrel_http_tls_handshake_failures_total{server=\"$1/service_otlp\"}"
}
grpc_fail() {
    metric "$M" "petrel_otlp_grpc_tls_handshake_failures_total{pipeline=\"$1\",plugin=\"service_otlp\"}"
}
# check_metric DESC EXPECTED FUNCTION ARG: the server may take the client's last bytes (an
# alert) just after the client has exited, so the count is awaited.
check_metric() {
    local desc=$1 want=$2 fn=$3 arg=$4 got=""
    wait_until 5 eval 'got=$($fn "$arg"); [ "$got" == "$want" ]' || true
    check_eq "$desc" "$want" "$got"
}

# ---------------------------------------------------------------- (a) HTTPS with curl
check_eq "(a) curl --cacert: 200" "200 0" "$(post "$HP" --cacert "$P/ca.pem")"
check "(a) the 14 spans arrive, 6 of them in trace $TRACE" wait_until 10 eval \
    '[ "$(spans "$OUT")" == 14/6 ]'
check_eq "(a) a name in the certificate works too (https://localhost)" "200" \
    "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 --cacert "$P/ca.pem" \
        -H 'Content-Type: application/x-protobuf' --data-binary "@$FX/traces.pb" \
        "https://localhost:$HP/v1/traces" || true)"
check_eq "(a) curl without the CA: certificate error, exit 60" "000 60" "$(post "$HP")"
check_metric "(a) the refused certificate counts as a failed handshake" 1 hs_fail tls
res=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 \
    -H 'Content-Type: application/x-protobuf' --data-binary "@$FX/traces.pb" \
    "http://127.0.0.1:$HP/v1/traces" 2>&1 || echo " exit $?")
check_eq "(a) plaintext HTTP to the TLS port: no answer, connection closed (curl 52)" \
    "000 exit 52" "$res"
check_metric "(a) ... counted as a failed handshake" 2 hs_fail tls
check_contains "(a) ... logged at debug with the peer and OpenSSL's reason" "$(cat "$LOG")" \
    "http server tls/service_otlp: TLS handshake with 127.0.0.1:"
# A burst of 50 plaintext clients: each counted, but the debug log does not get 50 lines.
logged=$(grep -c "TLS handshake with" "$LOG" || true)
python3 - "$HP" <<'EOF'
import socket, sys
for _ in range(50):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    s.recv(100)
    s.close()
EOF
check_metric "(a) a burst of 50 plaintext clients: each counted" 52 hs_fail tls
check_le "(a) ... and logged at most once a second (with a count of the others)" \
    $((logged + 3)) "$(grep -c "TLS handshake with" "$LOG" || true)"
check_eq "(a) petrel still serves the next good request" "200 0" \
    "$(post "$HP" --cacert "$P/ca.pem")"
# A TLS 1.1 client, even one willing to use weak ciphers, finds no common version.
res=$(python3 - "$HP" <<'EOF' 2>&1 || true
import socket, ssl, sys
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
ctx.minimum_version = ssl.TLSVersion.TLSv1
ctx.maximum_version = ssl.TLSVersion.TLSv1_1
try:
    ctx.wrap_socket(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5))
    print("handshake completed")
except ssl.SSLError as e:
    print("refused:", e.reason)
EOF
)
check_matches "(a) TLS 1.1 refused" "$res" '^refused: (TLSV1_ALERT_PROTOCOL_VERSION|UNSUPPORTED_PROTOCOL|NO_PROTOCOLS_AVAILABLE)'
wait_until 5 eval '[ "$(spans "$OUT")" == 42/18 ]' || true
check_eq "(a) exactly the accepted requests arrived (3 x 14 spans)" "42/18" "$(spans "$OUT")"

# ---------------------------------------------------------------- (b) mutual TLS
res=$(post "$MHP" --cacert "$P/ca.pem")
check_matches "(b) no client certificate: refused in the handshake" "$res" '^000 (35|56)$'
res=$(post "$MHP" --cacert "$P/ca.pem" --cert "$P/other-client.pem" --key "$P/other-client.key")
check_matches "(b) a client certificate from another CA: refused" "$res" '^000 (35|56)$'
check_eq "(b) the right client certificate: 200" "200 0" \
    "$(post "$MHP" --cacert "$P/ca.pem" --cert "$P/client.pem" --key "$P/client.key")"
check "(b) its spans arrive (and only its)" wait_until 10 eval '[ "$(spans "$MOUT")" == 14/6 ]'
check_metric "(b) both refusals counted" 2 hs_fail mtls
check_contains "(b) the log names the reason" "$(cat "$LOG")" \
    "TLS handshake with 127.0.0.1:"

# A client that connects and says nothing is dropped after ReadTimeoutSec (1 s), and counted.
res=$(python3 - "$MHP" "$MGP" <<'EOF'
import socket, sys, time
out = []
for port in sys.argv[1:]:
    s = socket.create_connection(("127.0.0.1", int(port)))
    s.settimeout(6)
    t0 = time.monotonic()
    try:
        data = s.recv(100)
    except OSError:
        data = None
    dt = time.monotonic() - t0
    out.append("closed" if data == b"" and 0.9 <= dt < 4 else "open %r %.1f" % (data, dt))
print(" ".join(out))
EOF
)
check_eq "(b) a silent client is closed after the handshake timeout (HTTP, gRPC)" \
    "closed closed" "$res"
check_metric "(b) ... counted (HTTP)" 3 hs_fail mtls
check_metric "(b) ... counted (gRPC)" 1 grpc_fail mtls

# ---------------------------------------------------------------- (c) gRPC over TLS
# grpc PORT PATH FILE [nghttp options...]: one call with nghttp over https (ALPN h2); prints
# "grpc-status <n>" or nghttp's complaint.
grpc() {
    local port=$1 path=$2 file=$3
    shift 3
    nghttp -v -t 10 "$@" -H ':method: POST' -H 'content-type: application/grpc' \
        -H 'te: trailers' -d "$file" "https://127.0.0.1:$port$path" 2>&1 | tr -d '\0' |
        sed -n 's/.*recv (stream_id=[0-9]*) \(grpc-status\|:status\): \(.*\)$/\1 \2/p' |
        tr '\n' ' ' | sed 's/ $//'
}
check_eq "(c) nghttp over TLS: grpc-status 0" ":status 200 grpc-status 0" \
    "$(grpc "$GP" "$SVC.trace.v1.TraceService/Export" "$FX/grpc/traces.grpc")"
check_eq "(c) grpc-encoding gzip: grpc-status 0" ":status 200 grpc-status 0" \
    "$(grpc "$GP" "$SVC.logs.v1.LogsService/Export" "$FX/grpc/logs.gzip.grpc" \
        -H 'grpc-encoding: gzip')"
check "(c) the spans and log records arrive" wait_until 10 eval \
    '[ "$(spans "$OUT")" == 79/24 ]'
g0=$(grpc_fail tls)
res=$(curl -s -o /dev/null -w '%{http_code}' --http1.1 --max-time 5 --cacert "$P/ca.pem" \
    "https://127.0.0.1:$GP/" 2>&1 || echo " exit $?")
check_eq "(c) an HTTP/1.1-only TLS client on the gRPC port: refused in the handshake" \
    "000 exit 35" "$res"
res=$(nghttp -t 5 "http://127.0.0.1:$GP/" 2>&1 || true)
check_contains "(c) cleartext h2c on the TLS gRPC port: no response" "$res" \
    "Some requests were not processed"
check_metric "(c) both refusals counted" $((g0 + 2)) grpc_fail tls
check_contains "(c) the ALPN refusal is logged with its reason" "$(cat "$LOG")" \
    "the client offered no ALPN protocol this server speaks (h2)"
check_eq "(c) mutual TLS over gRPC: the right certificate, grpc-status 0" \
    ":status 200 grpc-status 0" \
    "$(grpc "$MGP" "$SVC.trace.v1.TraceService/Export" "$FX/grpc/traces.grpc" \
        --cert "$P/client.pem" --key "$P/client.key")"
check_eq "(c) mutual TLS over gRPC: no certificate, no response" "" \
    "$(grpc "$MGP" "$SVC.trace.v1.TraceService/Export" "$FX/grpc/traces.grpc")"
check "(c) only the authenticated call's spans arrive" wait_until 10 eval \
    '[ "$(spans "$MOUT")" == 28/12 ]'

# ---------------------------------------------------------------- (d) large and pipelined
python3 "$PT_SOURCE_DIR/perf/otlp_gen.py" "$T/gen" --spans 21100 --logs 10 >/dev/null
BIG=$T/gen/traces-21100.pb
check_ge "(d) the big request is over 8 MiB" 8388608 "$(stat -c %s "$BIG")"
before=$(spans "$OUT" | cut -d/ -f1)
# A client on one keep-alive TLS connection: four requests in one write, the 8 MiB one last, are
# answered in order; once their records are out, one more request goes on the same connection.
# The client reads its commands from a FIFO so the test can wait in between.
mkfifo "$T/cmd"
cat >"$T/pipelined.py" <<'EOF'
import socket, ssl, sys
port, ca, small, big, logs = int(sys.argv[1]), sys.argv[2], *[open(p, "rb").read() for p in sys.argv[3:]]
cmd = open(0)
ctx = ssl.create_default_context(cafile=ca)
s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=20),
                    server_hostname="127.0.0.1")
f = s.makefile("rb")
def req(path, body):
    return (b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-protobuf\r\n"
            b"Content-Length: %d\r\n\r\n" % (path.encode(), len(body))) + body
def response():
    status = f.readline().split()[1].decode()
    length, close = 0, False
    while True:
        line = f.readline()
        if line in (b"\r\n", b""):
            break
        k, _, v = line.decode().partition(":")
        if k.lower() == "content-length":
            length = int(v)
        if k.lower() == "connection" and "close" in v.lower():
            close = True
    f.read(length)
    return status + ("(close)" if close else "")
s.sendall(req("/v1/traces", small) + req("/v1/logs", logs) + req("/v1/traces", small) +
          req("/v1/traces", big))
print(" ".join(response() for _ in range(4)), s.version(), flush=True)
cmd.readline()
s.sendall(req("/v1/traces", small))
print(response(), flush=True)
EOF
python3 "$T/pipelined.py" "$HP" "$P/ca.pem" "$FX/traces.pb" "$BIG" "$FX/logs.pb" <"$T/cmd" \
    >"$T/pipelined.out" 2>&1 &
CLI=$!
PT_PIDS+=("$CLI")
exec 7>"$T/cmd"
want=$((before + 14 + 23 + 14 + 21100))
wait_until 20 eval '[ "$(spans "$OUT" | cut -d/ -f1)" == $want ]' || true
check_eq "(d) 4 pipelined requests (the last of 8 MiB) on one TLS connection: 200 in order" \
    "200 200 200 200 TLSv1.3" "$(head -n 1 "$T/pipelined.out")"
check_eq "(d) every span and log record of them arrives" "$want" \
    "$(spans "$OUT" | cut -d/ -f1)"
echo go >&7
exec 7>&-
wait_until 10 eval '[ "$(wc -l <"$T/pipelined.out")" -ge 2 ]' || true
check_eq "(d) the same keep-alive connection then serves one more request" "200" \
    "$(sed -n 2p "$T/pipelined.out")"
check "(d) ... whose spans arrive too" wait_until 10 eval \
    '[ "$(spans "$OUT" | cut -d/ -f1)" == $((want + 14)) ]'

# ---------------------------------------------------------------- (e) the OpenTelemetry JS SDK
if ! command -v node >/dev/null || [ ! -d "$CLIENT/node_modules/@opentelemetry/sdk-trace-base" ]; then
    not_ok "(e) node and tests/otlp-client/node_modules are needed (run .ci/deps)"
else
    # sdk NAME PROTOCOL ENDPOINT [env...]: one SDK process over https, then its records checked.
    sdk() {
        local name=$1 proto=$2 ep=$3
        shift 3
        local rc=0
        env "$@" timeout 40 node "$CLIENT/send.js" --protocol "$proto" --endpoint "$ep" \
            --run "$name" --manifest "$T/$name.json" --spans 60 --logs 40 >"$T/$name.log" 2>&1 ||
            rc=$?
        echo "$rc"
    }
    sdk_ok() {
        res=$(python3 "$PT_SOURCE_DIR/tests/integration/otlp_sdk_check.py" "$OUT" "$T/$1.json" 2>&1)
        [[ "$res" == *" ok" ]]
    }
    for p in http/protobuf grpc; do
        port=$HP
        [ "$p" == grpc ] && port=$GP
        name=sdk-${p//\//_}
        rc=$(sdk "$name" "$p" "https://127.0.0.1:$port" OTEL_EXPORTER_OTLP_CERTIFICATE="$P/ca.pem")
        check_eq "(e) SDK $p over https with OTEL_EXPORTER_OTLP_CERTIFICATE: every export succeeded" \
            0 "$rc"
        [ "$rc" == 0 ] || sed 's/^/#   /' "$T/$name.log" | head -n 20
        res=""
        wait_until 10 sdk_ok "$name" || true
        check_eq "(e) SDK $p over https: spans, data points and logs arrive exactly" \
            "spans=60 points=8 logs=40 ok" "$res"
    done
    rc=$(sdk sdk-untrusted http/protobuf "https://127.0.0.1:$HP" OTEL_BSP_EXPORT_TIMEOUT=3000)
    check_eq "(e) SDK without the CA: its exports fail" 1 "$rc"
    check_contains "(e) ... on the certificate" "$(cat "$T/sdk-untrusted.log")" \
        "unable to verify the first certificate"
fi

# ---------------------------------------------------------------- (f) petrel check
# cfg NAME TLS-MAP: `petrel check` on a service_otlp config; prints "<exit> <stderr>".
cfg() {
    printf 'enable: true\ninputs:\n  - Type: service_otlp\n    Protocals: {HTTP: {}, GRPC: {}}\n    TLS: %s\nflushers:\n  - Type: flusher_blackhole\n' \
        "$2" >"$T/$1.yaml"
    local rc=0 err
    err=$("$PETREL" check "$T/$1.yaml" 2>&1 >/dev/null) || rc=$?
    echo "$rc $err"
}
check_eq "(f) missing key file" \
    "1 [$T/nokey.yaml:3] nokey/service_otlp.TLS.KeyFile: cannot read $P/missing.key: No such file or directory" \
    "$(cfg nokey "{CertFile: $P/server.pem, KeyFile: $P/missing.key}")"
check_eq "(f) a key that does not match the certificate" \
    "1 [$T/mismatch.yaml:3] mismatch/service_otlp.TLS.KeyFile: $P/wrong.key: key does not match the certificate" \
    "$(cfg mismatch "{CertFile: $P/server.pem, KeyFile: $P/wrong.key}")"
check_eq "(f) a certificate file that is not PEM" \
    "1 [$T/notpem.yaml:3] notpem/service_otlp.TLS.CertFile: $P/notpem.txt: no PEM certificate found" \
    "$(cfg notpem "{CertFile: $P/notpem.txt, KeyFile: $P/server.key}")"
check_eq "(f) a certificate where the key should be" \
    "1 [$T/certkey.yaml:3] certkey/service_otlp.TLS.KeyFile: $P/server.pem: no PEM private key found" \
    "$(cfg certkey "{CertFile: $P/server.pem, KeyFile: $P/server.pem}")"
check_eq "(f) a client CA file that is not PEM" \
    "1 [$T/badca.yaml:3] badca/service_otlp.TLS.ClientCAFile: $P/notpem.txt: no PEM certificate found" \
    "$(cfg badca "{CertFile: $P/server.pem, KeyFile: $P/server.key, ClientCAFile: $P/notpem.txt}")"
check_eq "(f) a client CA without a certificate" \
    "1 [$T/caonly.yaml:3] caonly/service_otlp.TLS.CertFile: TLS needs both CertFile and KeyFile (ClientCAFile is optional)" \
    "$(cfg caonly "{ClientCAFile: $P/ca.pem}")"
check_eq "(f) a good TLS section passes" "0 " \
    "$(cfg good "{CertFile: $P/server.pem, KeyFile: $P/server.key, ClientCAFile: $P/ca.pem}")"

# ---------------------------------------------------------------- the end
stop_pid "$PID" TERM 5
check_eq "SIGTERM: exit status 0" 0 "$STOP_RC"
check_contains "the rate-limited log line says how many it left out" "$(cat "$LOG")" \
    "more since the last message)"
check_eq "no sanitizer reports" "" "$(sanitizer_report "$LOG")"
finish
