#!/usr/bin/env bash
# A bounded load run while the flusher is blocked: many keep-alive HTTP clients, then h2load over
# gRPC, post OTLP logs to service_otlp whose only flusher writes into a FIFO nobody reads, so the
# sender stalls, the process queue fills, and petrel must answer 503 with Retry-After (gRPC:
# UNAVAILABLE with a RetryInfo delay), keep its memory bounded, and lose nothing it accepted: once
# the FIFO is read, exactly the records of the accepted requests come out, each once.
set -euo pipefail
PT_NAME=test_otlp_load
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FX=$PT_SOURCE_DIR/tests/fixtures/otlp
ADMIN=$(free_port)
HP=$(free_port)
GP=$(free_port)
LOG=$T/petrel.log
FIFO=$T/blocked.fifo
mkdir -p "$T/conf" "$T/data"
mkfifo "$FIFO"

# The smallest queues the agent allows, so that "full" comes fast.
cat >"$T/petrel.yaml" <<EOF
data_dir: $T/data
admin: {enable: true, host: 127.0.0.1, port: $ADMIN}
queue_high_bytes: 65536
sender_queue_bytes: 65536
shutdown_timeout_ms: 10000
EOF
cat >"$T/conf/load.yaml" <<EOF
enable: true
inputs:
  - Type: service_otlp
    RetryAfterSec: 2
    Protocals:
      HTTP:
        Endpoint: 127.0.0.1:$HP
      GRPC:
        Endpoint: 127.0.0.1:$GP
flushers:
  - Type: flusher_file
    FilePath: $FIFO
    MaxFileSize: 0
EOF

# The FIFO's reader: opens it (so flusher_file can start) but reads nothing until $T/drain
# exists; then copies everything to $T/drained.jsonl until petrel closes its end.
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
EOF
start_bg "$T/reader.log" python3 "$T/reader.py" "$FIFO" "$T/drain" "$T/drained.jsonl"
READER=$BG_PID

start_bg "$LOG" "$PETREL" run --agent-config "$T/petrel.yaml" --config-dir "$T/conf"
PID=$BG_PID
check "petrel starts and listens" wait_until 10 eval '! port_free $HP && ! port_free $GP'

# 16 keep-alive clients, 6 seconds, each posting the SDK's 23 log records per request.
load=$(python3 - "$HP" "$FX/logs.json" "$PID" <<'EOF'
import http.client, sys, threading, time
port, body, pid = int(sys.argv[1]), open(sys.argv[2], "rb").read(), sys.argv[3]
stats = {"200": 0, "503": 0, "503_retry_after": 0, "other": 0}
lock = threading.Lock()
stop = time.time() + 6
def client():
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    while time.time() < stop:
        try:
            c.request("POST", "/v1/logs", body, {"Content-Type": "application/json"})
            r = c.getresponse()
            r.read()
        except Exception:
            c.close()
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            with lock:
                stats["other"] += 1
            continue
        with lock:
            if r.status == 200:
                stats["200"] += 1
            elif r.status == 503:
                stats["503"] += 1
                if r.getheader("Retry-After") == "2":
                    stats["503_retry_after"] += 1
            else:
                stats["other"] += 1
        if r.status == 503:
            time.sleep(0.01)
threads = [threading.Thread(target=client) for _ in range(16)]
peak = 0
for t in threads:
    t.start()
while any(t.is_alive() for t in threads):
    with open("/proc/%s/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS"):
                peak = max(peak, int(line.split()[1]))
    time.sleep(0.1)
print(stats["200"], stats["503"], stats["503_retry_after"], stats["other"], peak)
EOF
)
read -r ok503_ok refused refused_ra other peak_kb <<<"$load"
accepted=$ok503_ok
echo "# load: $accepted requests accepted, $refused answered 503, $other other; peak RSS ${peak_kb} KiB"
check_ge "some requests were accepted before the flusher blocked" 1 "$accepted"
check_ge "the blocked pipeline answers 503" 100 "$refused"
check_eq "every 503 carries Retry-After: 2" "$refused" "$refused_ra"
check_eq "no other status or connection error" 0 "$other"
if grep -qa __asan_init "$PETREL"; then
    # ASan keeps freed memory in quarantine and adds shadow memory: sizes mean nothing there.
    echo "# memory bound not checked in a sanitizer build"
else
    check_le "memory stays bounded while blocked (peak RSS ${peak_kb} KiB < 64 MiB)" 65536 \
        "$peak_kb"
fi
check_eq "refusals are counted" "$refused" \
    "$(metric "http://127.0.0.1:$ADMIN/metrics" 'petrel_otlp_requests_refused_total{pipeline="load",plugin="service_otlp"}')"

# gRPC while still blocked: h2load, 4 connections x 8 streams, then one call to read the status.
M=http://127.0.0.1:$ADMIN/metrics
LOGS_PATH=/opentelemetry.proto.collector.logs.v1.LogsService/Export
h2=$(timeout 60 h2load -n 2000 -c 4 -m 8 -d "$FX/grpc/logs.grpc" -H 'content-type: application/grpc' \
    -H 'te: trailers' "http://127.0.0.1:$GP$LOGS_PATH" 2>&1 || true)
check_contains "h2load: 2000 gRPC calls all answered" "$h2" "2000 succeeded, 0 failed, 0 errored"
st=$(nghttp -v -t 10 -H ':method: POST' -H 'content-type: application/grpc' -d "$FX/grpc/logs.grpc" \
    "http://127.0.0.1:$GP$LOGS_PATH" 2>&1 | tr -d '\0' |
    sed -n 's/.*recv (stream_id=[0-9]*) \(grpc-status\|grpc-message\|grpc-status-details-bin\): \(.*\)$/\1 \2/p')
check_contains "gRPC while blocked: UNAVAILABLE" "$st" "grpc-status 14"
check_contains "gRPC while blocked: says why" "$st" "grpc-message the pipeline is full"
details=$(sed -n 's/^grpc-status-details-bin //p' <<<"$st")
delay=$(python3 -c '
import base64, sys
sys.path.insert(0, sys.argv[2])
from otlp_check import pb_fields
b = sys.argv[1]
st = dict(pb_fields(base64.b64decode(b + "=" * (-len(b) % 4))))
anyv = dict(pb_fields(st[3]))
ri = dict(pb_fields(dict(pb_fields(anyv[2]))[1]))
print(st[1], anyv[1].decode(), ri.get(1, 0), ri.get(2, 0))' "$details" "$PT_SOURCE_DIR/tests/integration" 2>&1 || true)
check_eq "gRPC while blocked: RetryInfo asks for RetryAfterSec (2 s)" \
    "14 type.googleapis.com/google.rpc.RetryInfo 2 0" "$delay"
requests=$(metric "$M" 'petrel_otlp_requests_total{pipeline="load",plugin="service_otlp"}')
refused_all=$(metric "$M" 'petrel_otlp_requests_refused_total{pipeline="load",plugin="service_otlp"}')
invalid=$(metric "$M" 'petrel_otlp_requests_invalid_total{pipeline="load",plugin="service_otlp"}')
grpc_accepted=$((requests - refused_all - invalid - accepted))
echo "# gRPC: $((2001 - grpc_accepted)) of 2001 calls refused, $grpc_accepted accepted"
check_eq "every gRPC call was either accepted or refused" 2001 \
    "$((grpc_accepted + refused_all - refused))"
check_ge "the blocked pipeline refused gRPC calls" 1000 "$((refused_all - refused))"
accepted=$((accepted + grpc_accepted))

# Unblock: everything accepted comes out, once.
touch "$T/drain"
want=$((accepted * 23))
drained() { [ "$(count_lines "$T/drained.jsonl")" -ge "$want" ]; }
check "all $want accepted log records come out once the flusher moves" wait_until 30 drained
stop_pid "$PID" TERM 15
check_eq "SIGTERM: exit status 0" 0 "$STOP_RC"
wait_until 5 is_gone "$READER" || true
res=$(python3 - "$T/drained.jsonl" <<'EOF'
import collections, json, sys
c = collections.Counter()
n = 0
for raw in open(sys.argv[1], "rb"):
    ev = json.loads(raw)
    n += 1
    c[(ev.get("__time_unix_nano__"), json.dumps(ev.get("content"), sort_keys=True))] += 1
# Each request carries the same 23 records: every one of them must appear equally often.
print(n, len(c), min(c.values()), max(c.values()))
EOF
)
check_eq "exactly the accepted records: $want lines, 23 distinct, each $accepted times" \
    "$want 23 $accepted $accepted" "$res"
check_eq "no sanitizer reports" "" "$(sanitizer_report "$LOG")"
finish
