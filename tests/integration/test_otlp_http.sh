#!/usr/bin/env bash
# service_otlp over HTTP/1.1 with curl and raw sockets: every request body the OpenTelemetry JS
# SDK sent (tests/fixtures/otlp: protobuf, JSON, gzip, chunked like the SDK sends them, and the
# raw HTTP/1.1 capture) decodes into exactly the spans, data points and log records it carried,
# routed per signal by aggregator_opentelemetry; and every status-code path: 404, 405, 415, 400
# (truncated protobuf, invalid JSON, wrong shape, with a google.rpc.Status body), 413 for a gzip
# bomb with memory flat, partial success, 401 without the bearer token, 408 for slow clients, and
# a connection flood.
set -euo pipefail
PT_NAME=test_otlp_http
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FX=$PT_SOURCE_DIR/tests/fixtures/otlp
CHECK="python3 $PT_SOURCE_DIR/tests/integration/otlp_check.py"
ADMIN=$(free_port)
P1=$(free_port)
P2=$(free_port)
U=http://127.0.0.1:$P1
V=http://127.0.0.1:$P2
OUT=$T/out/otlp.jsonl
LOG=$T/petrel.log
mkdir -p "$T/conf" "$T/data"
printf 's3cr3t-token-%s\n' "$RANDOM" >"$T/token"
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
      HTTP:
        Endpoint: '127.0.0.1:$P1'
        ReadTimeoutSec: 10
        ShutdownTimeoutSec: 5
        MaxRecvMsgSizeMiB: 8
aggregators:
  - Type: aggregator_opentelemetry
    MetricsLogstore: otel-metrics
    TraceLogstore: otel-traces
    LogLogstore: otel-logs
    TimeoutMs: 200
flushers:
  - Type: flusher_file
    FilePath: $OUT
EOF
# A second receiver with a bearer token, a short read timeout and few connections.
cat >"$T/conf/tok.yaml" <<EOF
enable: true
inputs:
  - Type: service_otlp
    BearerTokenFile: $T/token
    Protocals:
      HTTP:
        Endpoint: '127.0.0.1:$P2'
        ReadTimeoutSec: 1
        MaxConnections: 16
flushers:
  - Type: flusher_file
    FilePath: $T/out/tok.jsonl
EOF

start_bg "$LOG" "$PETREL" run --agent-config "$T/petrel.yaml" --config-dir "$T/conf"
PID=$BG_PID
check "petrel starts and listens" wait_until 10 eval \
    '[ "$(http_code http://127.0.0.1:$ADMIN/readyz)" == 200 ] && ! port_free $P1 && ! port_free $P2'

# post PATH CONTENT-TYPE FILE [EXTRA CURL ARGS...]: prints "STATUS BODY-AS-HEX"; the body is sent
# chunked, as the JS SDK sends it.
post() {
    local path=$1 ct=$2 file=$3
    shift 3
    curl -s -o "$T/resp" -D "$T/resp.h" -w '%{http_code}' --max-time 10 -H "Content-Type: $ct" \
        -H 'Transfer-Encoding: chunked' "$@" --data-binary "@$file" "$U$path" || true
}

lines() { count_lines "$OUT"; }

# ---------------------------------------------------------------- (a) every fixture body
sent=0
for sig in traces metrics logs; do
    check_eq "(a) $sig.pb: 200" 200 "$(post /v1/$sig application/x-protobuf "$FX/$sig.pb")"
    check_eq "(a) $sig.pb: empty Export${sig^}ServiceResponse" 0 "$(stat -c %s "$T/resp")"
    check_contains "(a) $sig.pb: answered as protobuf" "$(cat "$T/resp.h")" \
        "Content-Type: application/x-protobuf"
    check_eq "(a) $sig.json: 200 {}" "200{}" \
        "$(post /v1/$sig application/json "$FX/$sig.json")$(cat "$T/resp")"
    check_eq "(a) $sig.pb.gz: 200" 200 \
        "$(post /v1/$sig application/x-protobuf "$FX/$sig.pb.gz" -H 'Content-Encoding: gzip')"
    check_eq "(a) $sig.json.gz: 200" 200 \
        "$(post /v1/$sig application/json "$FX/$sig.json.gz" -H 'Content-Encoding: gzip')"
done
sent=$((4 * (14 + 19 + 23)))

# The raw HTTP/1.1 bytes the SDK wrote, replayed on a socket: the same answer as the capture.
wire=$(python3 - "$P1" "$FX/wire/http1-traces-pb.c2s" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
s.sendall(open(sys.argv[2], "rb").read())
buf = b""
while b"\r\n\r\n" not in buf:
    buf += s.recv(4096)
head = buf.split(b"\r\n\r\n")[0].decode()
lines = head.split("\r\n")
hdrs = {l.split(":")[0].lower(): l.split(":", 1)[1].strip() for l in lines[1:]}
print(lines[0], hdrs.get("content-type"), hdrs.get("content-length"), hdrs.get("connection", "keep-alive"))
EOF
)
check_eq "(a) raw HTTP/1.1 capture: same answer as the capture" \
    "HTTP/1.1 200 OK application/x-protobuf 0 keep-alive" "$wire"
# Its body, de-chunked, for the checker (one agent turn: its own spans).
python3 - "$FX/wire/http1-traces-pb.c2s" "$T/wire.pb" <<'EOF'
import sys
raw = open(sys.argv[1], "rb").read()
body, rest = b"", raw.split(b"\r\n\r\n", 1)[1]
while True:
    size, rest = rest.split(b"\r\n", 1)
    n = int(size, 16)
    if n == 0:
        break
    body, rest = body + rest[:n], rest[n + 2:]
open(sys.argv[2], "wb").write(body)
EOF
wire_spans=$(python3 -c '
import sys
sys.path.insert(0, sys.argv[1])
from otlp_check import pb_spans
print(len(pb_spans(open(sys.argv[2], "rb").read())))' "$PT_SOURCE_DIR/tests/integration" "$T/wire.pb")
check_eq "(a) the capture carries one turn: 4 spans" 4 "$wire_spans"
sent=$((sent + wire_spans))
check "(a) all $sent records arrive" wait_until 10 eval '[ "$(lines)" -ge $sent ]'
sleep 0.5
check_eq "(a) exactly $sent records" "$sent" "$(lines)"
res=$($CHECK "$OUT" traces:"$FX/traces.json":2 traces:"$FX/traces.json.gz":2 \
    traces:"$T/wire.pb" \
    logs:"$FX/logs.json":2 logs:"$FX/logs.json.gz":2 \
    metrics:"$FX/metrics.json":2:notime metrics:"$FX/metrics.json.gz":2 2>&1 || true)
check_eq "(a) every span, data point and log record arrives with every field" "ok ($sent lines)" \
    "$res"

# aggregator_opentelemetry: each line tagged with its signal's destination.
routes=$(python3 - "$OUT" <<'EOF'
import collections, json, sys
c = collections.Counter()
for raw in open(sys.argv[1], "rb"):
    ev = json.loads(raw)
    kind = "span" if "spanId" in ev else "metric" if "__name__" in ev else "log"
    c["%s:%s" % (kind, ev.get("__tag__:__logstore__"))] += 1
print(" ".join("%s=%d" % kv for kv in sorted(c.items())))
EOF
)
check_eq "(a) aggregator_opentelemetry routes by signal" \
    "log:otel-logs=92 metric:otel-metrics=76 span:otel-traces=60" "$routes"

m=$(http_body "http://127.0.0.1:$ADMIN/metrics")
check_contains "(a) events_in counts every record" "$m" \
    "petrel_plugin_events_in_total{pipeline=\"otlp\",plugin=\"service_otlp\"} $sent"

# ---------------------------------------------------------------- (b) status codes
code=$(curl -s -o "$T/resp" -w '%{http_code}' -H 'Content-Type: application/json' -d '{}' "$U/v1/spans")
check_eq "(b) unknown path: 404" 404 "$code"
code=$(curl -s -o "$T/resp" -D "$T/resp.h" -w '%{http_code}' "$U/v1/traces")
check_eq "(b) GET: 405" 405 "$code"
check_contains "(b) 405 names the method to use" "$(cat "$T/resp.h")" "Allow: POST"
code=$(post /v1/traces text/plain "$FX/traces.json")
check_eq "(b) text/plain: 415" 415 "$code"
check_eq "(b) 415 body is a JSON google.rpc.Status" \
    '{"code":3,"message":"unsupported content type '"'"'text/plain'"'"': use application/x-protobuf or application/json"}' \
    "$(cat "$T/resp")"
code=$(post /v1/traces application/json "$FX/traces.json" -H 'Content-Encoding: br')
check_eq "(b) Content-Encoding br: 415" 415 "$code"

head -c 3000 "$FX/traces.pb" >"$T/trunc.pb"
code=$(post /v1/traces application/x-protobuf "$T/trunc.pb")
check_eq "(b) truncated protobuf: 400" 400 "$code"
status=$(python3 -c '
import sys
sys.path.insert(0, "'"$PT_SOURCE_DIR"'/tests/integration")
from otlp_check import pb_fields
f = dict(pb_fields(open(sys.argv[1], "rb").read()))
print(f.get(1), f.get(2, b"").decode())' "$T/resp")
check_eq "(b) 400 body is a protobuf google.rpc.Status" \
    "3 invalid protobuf at byte 0: truncated length-delimited field" "$status"
printf '{"resourceSpans":[{"scopeSpans":[' >"$T/bad.json"
code=$(post /v1/traces application/json "$T/bad.json")
check_eq "(b) invalid JSON: 400 with the offset" '400 {"code":3,"message":"invalid JSON at byte 33"}' \
    "$code $(cat "$T/resp")"
printf '{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"severityNumber":"LOUD"}]}]}]}' >"$T/bad.json"
code=$(post /v1/logs application/json "$T/bad.json")
check_eq "(b) wrong shape: 400 naming the field" \
    "400 {\"code\":3,\"message\":\"resourceLogs[0].scopeLogs[0].logRecords[0].severityNumber: unknown SeverityNumber value 'LOUD'\"}" \
    "$code $(cat "$T/resp")"

# Partial success: two spans with bad ids are refused, the good one goes through.
cat >"$T/partial.json" <<'EOF'
{"resourceSpans":[{"scopeSpans":[{"spans":[
 {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","name":"good"},
 {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"","name":"no-id"},
 {"traceId":"00000000000000000000000000000000","spanId":"eee19b7ec3c1b175","name":"zero"}]}]}]}
EOF
code=$(post /v1/traces application/json "$T/partial.json")
check_eq "(b) partial success: 200 with rejectedSpans" \
    '200 {"partialSuccess":{"rejectedSpans":"2","errorMessage":"2 spans rejected: span_id must be 8 bytes, not all zero"}}' \
    "$code $(cat "$T/resp")"
check "(b) the good span of the partial request arrives" wait_until 5 grep -q '"name":"good"' "$OUT"
check_eq "(b) the refused spans do not" 0 "$(grep -c '"name":"no-id"\|"name":"zero"' "$OUT" || true)"

# A gzip bomb: 1 GiB of zeros in about 1 MiB, against an 8 MiB cap.
head -c 1073741824 /dev/zero | gzip -1 >"$T/bomb.gz"
rss_before=$(awk '/VmRSS/ {print $2}' "/proc/$PID/status")
code=$(post /v1/logs application/x-protobuf "$T/bomb.gz" -H 'Content-Encoding: gzip')
check_eq "(b) gzip bomb: 413" 413 "$code"
check_contains "(b) 413 says why" "$(cat "$T/resp")" "inflates past the limit of 8388608 bytes"
for i in 1 2 3; do post /v1/logs application/x-protobuf "$T/bomb.gz" -H 'Content-Encoding: gzip' >/dev/null; done
rss_after=$(awk '/VmRSS/ {print $2}' "/proc/$PID/status")
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$PID/status")
echo "# RSS before the bombs ${rss_before} KiB, after ${rss_after} KiB, peak ${hwm} KiB"
if grep -qa __asan_init "$PETREL"; then
    # ASan keeps freed memory in quarantine and adds shadow memory: sizes mean nothing there.
    echo "# memory bounds not checked in a sanitizer build"
else
    check_le "(b) gzip bombs: RSS stays flat (grew $(((rss_after - rss_before) / 1024)) MiB)" \
        $((rss_before + 4096)) "$rss_after"
    check_le "(b) gzip bombs: peak RSS bounded by the 8 MiB cap (${hwm} KiB)" 65536 "$hwm"
fi
check_eq "(b) petrel still answers after the bombs" 200 \
    "$(post /v1/logs application/json "$FX/logs.json")"

# ---------------------------------------------------------------- (c) bearer token
code=$(curl -s -o "$T/resp" -D "$T/resp.h" -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary "@$FX/logs.json" "$V/v1/logs")
check_eq "(c) no token: 401" 401 "$code"
check_contains "(c) 401 asks for a bearer token" "$(cat "$T/resp.h")" "WWW-Authenticate: Bearer"
code=$(curl -s -o "$T/resp" -w '%{http_code}' -H 'Content-Type: application/json' \
    -H "Authorization: Bearer ${TOKEN}x" --data-binary "@$FX/logs.json" "$V/v1/logs")
check_eq "(c) wrong token: 401" 401 "$code"
code=$(curl -s -o "$T/resp" -w '%{http_code}' -H 'Content-Type: application/json' \
    -H "Authorization: Bearer $TOKEN" --data-binary "@$FX/logs.json" "$V/v1/logs")
check_eq "(c) right token: 200" 200 "$code"
check "(c) its records arrive" wait_until 5 eval '[ "$(count_lines $T/out/tok.jsonl)" == 23 ]'

# ---------------------------------------------------------------- (d) slow clients
slow=$(python3 - "$P2" <<'EOF'
import socket, sys, time
def probe(first):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=5)
    s.sendall(first)
    t0 = time.time()
    data = b""
    try:
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        return "no answer"
    return "%s after %.1fs" % (data.split(b"\r\n")[0].decode(), time.time() - t0)
print(probe(b"POST /v1/logs HTTP/1.1\r\nHost: x\r\n"))
print(probe(b"POST /v1/logs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n{\"resource"))
EOF
)
check_matches "(d) headers never finished: 408 after ReadTimeoutSec" "$(sed -n 1p <<<"$slow")" \
    '^HTTP/1.1 408 Request Timeout after 1\.[0-9]s$'
check_matches "(d) body stalls: 408 after ReadTimeoutSec" "$(sed -n 2p <<<"$slow")" \
    '^HTTP/1.1 408 Request Timeout after 1\.[0-9]s$'

# ---------------------------------------------------------------- (e) connection flood
flood=$(python3 - "$P2" "$TOKEN" <<'EOF'
import socket, sys, time
socks = []
for _ in range(400):
    try:
        socks.append(socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=2))
    except OSError:
        pass
time.sleep(0.3)
closed = 0
for s in socks:
    s.settimeout(0.01)
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
check_eq "(e) 400 connections: all but MaxConnections (16) closed at once" "400 384" "$flood"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
    -H "Authorization: Bearer $TOKEN" --data-binary "@$FX/logs.json" "$V/v1/logs")
check_eq "(e) after the flood a client is served" 200 "$code"
check_ge "(e) rejected connections are counted" 384 \
    "$(metric "http://127.0.0.1:$ADMIN/metrics" 'petrel_http_connections_rejected_total{server="tok/service_otlp"}')"

# ---------------------------------------------------------------- (g) config errors
# cfg NAME BODY: `petrel check` on a service_otlp config; prints its stderr.
cfg() {
    printf 'enable: true\ninputs:\n  - Type: service_otlp\n%bflushers:\n  - Type: flusher_blackhole\n' \
        "$2" >"$T/$1.yaml"
    "$PETREL" check "$T/$1.yaml" 2>&1 >/dev/null || true
}
check_eq "(g) no server enabled" \
    "[$T/none.yaml:3] none/service_otlp.Protocals: no server enabled: set Protocals.HTTP and/or Protocals.GRPC (\`{}\` takes the defaults)" \
    "$(cfg none '')"
check_eq "(g) TLS asked for without a key: refused, not served in clear" \
    "[$T/tls.yaml:3] tls/service_otlp.TLS.KeyFile: TLS needs both CertFile and KeyFile (ClientCAFile is optional)" \
    "$(cfg tls '    Protocals: {HTTP: {}}\n    TLS: {CertFile: /etc/hostname}\n')"
check_eq "(g) endpoint that is not host:port" \
    "[$T/ep.yaml:3] ep/service_otlp.Protocals.HTTP.Endpoint: 'localhost' is not host:port" \
    "$(cfg ep '    Protocals: {HTTP: {Endpoint: localhost}}\n')"
check_eq "(g) HTTP and gRPC on one port" \
    "[$T/same.yaml:3] same/service_otlp.Protocals.GRPC.Endpoint: '127.0.0.1:4318' is also the HTTP endpoint; give each server its own port" \
    "$(cfg same '    Protocals: {HTTP: {}, GRPC: {Endpoint: 127.0.0.1:4318}}\n')"
check_eq "(g) an empty map enables a server with its defaults" "" "$(cfg ok '    Protocals: {GRPC: {}}\n')"

# ---------------------------------------------------------------- (f) the token stays secret
check_eq "(f) the token never appears in the log" 0 "$(grep -c -- "$TOKEN" "$LOG" || true)"
stop_pid "$PID" TERM 5
check_eq "(f) SIGTERM: exit status 0" 0 "$STOP_RC"
check_eq "no sanitizer reports" "" "$(sanitizer_report "$LOG")"
finish
