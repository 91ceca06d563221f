#!/usr/bin/env bash
# petrel -> flusher_otlp -> a second petrel gives the same OTLP data: petrel A receives the SDK's
# requests (every fixture and a JS SDK run) and writes what it decoded to a file, while two
# flusher_otlp export the same batches to petrel B, one over OTLP/HTTP protobuf and one over
# gRPC. B's decoded output must equal A's line for line (resource, scope, typed attributes,
# every field). Then the OTLP client rules: against a scripted receiver, 503 and 429 with
# Retry-After are retried until accepted and 400 is a dead letter, never retried; against a
# petrel whose pipeline is blocked, gRPC UNAVAILABLE (with RetryInfo) is retried until it
# drains, and every record arrives once.
set -euo pipefail
PT_NAME=test_otlp_roundtrip
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FX=$PT_SOURCE_DIR/tests/fixtures/otlp
CLIENT=$PT_SOURCE_DIR/tests/otlp-client
AH=$(free_port)
AG=$(free_port)
BH=$(free_port)
BG=$(free_port)
FAKE=$(free_port)
RP=$(free_port)
GP=$(free_port)
BB=$(free_port)
ADMIN=$(free_port)
mkdir -p "$T/a/conf" "$T/a/data" "$T/b/conf" "$T/b/data" "$T/out"

cat >"$T/a/petrel.yaml" <<EOF
data_dir: $T/a/data
admin: {enable: true, host: 127.0.0.1, port: $ADMIN}
EOF
# B's queues are the smallest allowed, so that its blocked pipeline refuses soon.
cat >"$T/b/petrel.yaml" <<EOF
data_dir: $T/b/data
admin: {enable: false}
queue_high_bytes: 65536
sender_queue_bytes: 65536
shutdown_timeout_ms: 5000
EOF
cat >"$T/a/conf/a.yaml" <<EOF
enable: true
inputs:
  - Type: service_otlp
    Protocals:
      HTTP: {Endpoint: 127.0.0.1:$AH}
      GRPC: {Endpoint: 127.0.0.1:$AG}
aggregators:
  - Type: aggregator_opentelemetry
    TimeoutMs: 100
flushers:
  - Type: flusher_file
    FilePath: $T/out/a.jsonl
  - Type: flusher_otlp
    Endpoint: http://127.0.0.1:$BH
    Compression: gzip
  - Type: flusher_otlp
    Logs: {Endpoint: 127.0.0.1:$BG}
    Metrics: {Endpoint: 'grpc://127.0.0.1:$BG'}
    Traces: {Endpoint: 127.0.0.1:$BG, Compression: none}
EOF
# The scripted receiver's pipeline: one flusher_otlp, quick retries.
cat >"$T/a/conf/r.yaml" <<EOF
enable: true
inputs:
  - Type: service_otlp
    Protocals:
      HTTP: {Endpoint: 127.0.0.1:$RP}
flushers:
  - Type: flusher_otlp
    Endpoint: http://127.0.0.1:$FAKE
    Compression: none
    Retry: {InitialDelayMs: 200, MaxDelayMs: 1000}
EOF
# A pipeline that exports over gRPC to B's blocked pipeline.
cat >"$T/a/conf/g.yaml" <<EOF
enable: true
inputs:
  - Type: service_otlp
    Protocals:
      HTTP: {Endpoint: 127.0.0.1:$GP}
flushers:
  - Type: flusher_otlp
    Endpoint: 127.0.0.1:$BB
    Retry: {InitialDelayMs: 100, MaxDelayMs: 1000}
EOF
mkfifo "$T/blocked.fifo"
cat >"$T/b/conf/bblock.yaml" <<EOF
enable: true
inputs:
  - Type: service_otlp
    RetryAfterSec: 1
    Protocals:
      GRPC: {Endpoint: 127.0.0.1:$BB}
flushers:
  - Type: flusher_file
    FilePath: $T/blocked.fifo
    MaxFileSize: 0
EOF
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
start_bg "$T/reader.log" python3 "$T/reader.py" "$T/blocked.fifo" "$T/drain" "$T/drained.jsonl"
for proto in http grpc; do
    port=$BH
    [ $proto == grpc ] && port=$BG
    key=HTTP
    [ $proto == grpc ] && key=GRPC
    cat >"$T/b/conf/b$proto.yaml" <<EOF
enable: true
inputs:
  - Type: service_otlp
    Protocals:
      $key: {Endpoint: 127.0.0.1:$port}
flushers:
  - Type: flusher_file
    FilePath: $T/out/b-$proto.jsonl
EOF
done

start_bg "$T/b.log" "$PETREL" run --agent-config "$T/b/petrel.yaml" --config-dir "$T/b/conf"
BPID=$BG_PID
check "petrel B listens (HTTP and gRPC)" wait_until 10 eval \
    '! port_free $BH && ! port_free $BG && ! port_free $BB'
# The scripted receiver: answers each path by a script, records what it got.
cat >"$T/fake.py" <<'EOF'
import http.server, json, sys
script = {"/v1/logs": [(503, "1"), (503, "1"), (429, "1"), (200, None)],
          "/v1/metrics": [(400, None)], "/v1/traces": [(200, None)]}
seen = []
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        steps = script.get(self.path, [(404, None)])
        code, ra = steps.pop(0) if len(steps) > 1 else steps[0]
        seen.append([self.path, code, len(body), self.headers.get("Content-Type")])
        with open(sys.argv[2], "w") as f:
            json.dump(seen, f)
        self.send_response(code)
        if ra:
            self.send_header("Retry-After", ra)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
EOF
start_bg "$T/fake.log" python3 "$T/fake.py" "$FAKE" "$T/fake.json"
start_bg "$T/a.log" "$PETREL" run --agent-config "$T/a/petrel.yaml" --config-dir "$T/a/conf"
APID=$BG_PID
check "petrel A listens" wait_until 10 eval \
    '! port_free $AH && ! port_free $AG && ! port_free $RP && ! port_free $GP'

# ---------------------------------------------------------------- (a) A -> B, HTTP and gRPC
for sig in traces metrics logs; do
    for f in "$sig.pb" "$sig.pb.gz" "$sig.json" "$sig.json.gz"; do
        ct=application/x-protobuf
        [[ $f == *json* ]] && ct=application/json
        enc=()
        [[ $f == *.gz ]] && enc=(-H 'Content-Encoding: gzip')
        code=$(curl -s -o /dev/null -w '%{http_code}' -H "Content-Type: $ct" "${enc[@]}" \
            --data-binary "@$FX/$f" "http://127.0.0.1:$AH/v1/$sig")
        check_eq "(a) A takes $f" 200 "$code"
    done
done
rc=0
timeout 60 node "$CLIENT/send.js" --protocol grpc --endpoint "http://127.0.0.1:$AG" \
    --compression gzip --run roundtrip --spans 300 --logs 600 >"$T/sdk.log" 2>&1 || rc=$?
check_eq "(a) the JS SDK's gRPC run reaches A" 0 "$rc"
[ "$rc" -eq 0 ] || sed 's/^/#   sdk: /' "$T/sdk.log" | tail -n 20
want=$((4 * (14 + 19 + 23) + 300 + 8 + 600))
check "(a) A wrote all $want records" wait_until 20 eval '[ "$(count_lines $T/out/a.jsonl)" -ge $want ]'
for proto in http grpc; do
    check "(a) B got all $want records over $proto" wait_until 20 eval \
        '[ "$(count_lines $T/out/b-'$proto'.jsonl)" -ge $want ]'
done
sleep 0.5
for proto in http grpc; do
    res=$(python3 - "$T/out/a.jsonl" "$T/out/b-$proto.jsonl" <<'EOF'
import collections, json, sys
def load(p):
    c = collections.Counter()
    for raw in open(p, "rb"):
        ev = json.loads(raw)
        ev.pop("__tag__:__logstore__", None)  # A's aggregator tags its groups; not data
        c[json.dumps(ev, sort_keys=True)] += 1
    return c
a, b = load(sys.argv[1]), load(sys.argv[2])
if a == b:
    print("same %d records" % sum(a.values()))
else:
    print("differ: %d only in A, %d only in B" % (sum((a - b).values()), sum((b - a).values())))
    for k in list((a - b))[:2]:
        print("A:", k[:700])
    for k in list((b - a))[:2]:
        print("B:", k[:700])
EOF
)
    check_eq "(a) B's records over $proto are A's, every field and tag" "same $want records" "$res"
done

# ---------------------------------------------------------------- (b) retry rules
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary "@$FX/logs.json" "http://127.0.0.1:$RP/v1/logs")
check_eq "(b) logs for the scripted receiver accepted" 200 "$code"
delivered() {
    python3 -c 'import json, sys; s = json.load(open(sys.argv[1])); print(" ".join("%s:%d" % (p, c) for p, c, n, t in s))' \
        "$T/fake.json" 2>/dev/null
}
logs_done() { delivered | grep -q '/v1/logs:200'; }
check "(b) logs: 503, 503, 429 retried until 200" wait_until 20 logs_done
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' \
    --data-binary "@$FX/metrics.json" "http://127.0.0.1:$RP/v1/metrics")
check_eq "(b) metrics for the scripted receiver accepted" 200 "$code"
sleep 3 # a 400 must not be retried: give it the time a retry would take
seen=$(delivered)
check_eq "(b) the exact sequence of requests (metrics 400 sent once, never retried)" \
    "/v1/logs:503 /v1/logs:503 /v1/logs:429 /v1/logs:200 /v1/metrics:400" \
    "$(tr ' ' '\n' <<<"$seen" | sort -s -t: -k1,1 | tr '\n' ' ' | sed 's/ $//')"
sizes=$(python3 -c 'import json, sys; s = json.load(open(sys.argv[1])); print(len({n for p, c, n, t in s if p == "/v1/logs"}), s[0][3])' "$T/fake.json")
check_eq "(b) each retry sends the same protobuf body" "1 application/x-protobuf" "$sizes"
check "(b) the 400 went to the dead-letter dir" test -s "$T/a/data/deadletter/r/flusher_otlp/index.jsonl"

# ---------------------------------------------------------------- (c) gRPC UNAVAILABLE
for i in $(seq 1 40); do
    curl -s -o /dev/null -H 'Content-Type: application/json' --data-binary "@$FX/logs.json" \
        "http://127.0.0.1:$GP/v1/logs"
done
M=http://127.0.0.1:$ADMIN/metrics
retried() {
    [ "$(metric "$M" 'petrel_flusher_retries_total{pipeline="g",plugin="flusher_otlp"}')" -ge 1 ] \
        2>/dev/null
}
check "(c) B answers UNAVAILABLE while blocked and A retries" wait_until 20 retried
touch "$T/drain"
drained() { [ "$(count_lines "$T/drained.jsonl")" -ge 920 ]; }
check "(c) once B drains, all 40 x 23 records arrive" wait_until 30 drained
sleep 1
check_eq "(c) each once: 920 lines, 23 distinct records 40 times each" "920 23 40 40" \
    "$(python3 -c '
import collections, json, sys
c = collections.Counter()
for l in open(sys.argv[1]):
    ev = json.loads(l)
    c[(ev.get("__time_unix_nano__"), json.dumps(ev.get("content"), sort_keys=True))] += 1
print(sum(c.values()), len(c), min(c.values()), max(c.values()))' "$T/drained.jsonl")"

stop_pid "$APID" TERM 10
check_eq "A: SIGTERM exit status 0" 0 "$STOP_RC"
stop_pid "$BPID" TERM 10
check_eq "B: SIGTERM exit status 0" 0 "$STOP_RC"
check_eq "no sanitizer reports" "" "$(sanitizer_report "$T/a.log" "$T/b.log")"
finish
