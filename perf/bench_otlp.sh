#!/usr/bin/env bash
# OTLP ingest benchmark: petrel's service_otlp into flusher_blackhole, fed by h2load on the same
# machine with realistic export requests (perf/otlp_gen.py: 512 spans or 1000 log records per
# request, as the JS SDK batches them), over HTTP/1.1 protobuf (plain and gzip) and gRPC, each
# in cleartext and over TLS (service_otlp TLS.CertFile/KeyFile with a throwaway P-256 certificate;
# h2load negotiates http/1.1 or h2 by ALPN, TLS 1.3, keeps its connections open).
# Each case runs a fresh petrel and prints: requests/s, spans or records per second (wall clock
# and per second of petrel CPU), p50/p99 request latency from h2load's per-request log, petrel's
# peak RSS, and that every record reached the flusher (blackhole events_in == sent).
#
#   perf/bench_otlp.sh                 PT_BUILD_DIR=build, 4000 requests per case, 4 connections
#   PT_BENCH_REQUESTS=1000 PT_BENCH_CONNS=8 perf/bench_otlp.sh
# Needs h2load (apt-get install nghttp2-client), python3, gzip and openssl.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${PT_BUILD_DIR:-build}
PETREL=$BUILD/petrel
N=${PT_BENCH_REQUESTS:-4000}
C=${PT_BENCH_CONNS:-4}
CACHE=perf/.cache/otlp
[ -x "$PETREL" ] || { echo "build petrel first ($PETREL)"; exit 1; }
command -v h2load >/dev/null || { echo "h2load is needed: apt-get install nghttp2-client"; exit 1; }

mkdir -p "$CACHE"
[ -f "$CACHE/traces-512.pb" ] || python3 perf/otlp_gen.py "$CACHE" --spans 512 --logs 1000
[ -f "$CACHE/traces-512.pb.gz" ] || gzip -6 -k -c "$CACHE/traces-512.pb" >"$CACHE/traces-512.pb.gz"
W=$(mktemp -d "${TMPDIR:-/tmp}/petrel-bench-otlp.XXXXXX")
trap 'kill "$PID" 2>/dev/null || true; rm -rf "$W"' EXIT
PID=
# TLS=1 makes run() use TLS. A throwaway certificate for 127.0.0.1 (h2load does not verify it).
TLS=0
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/key.pem" \
    -out "$W/cert.pem" -days 1 -subj /CN=localhost \
    -addext subjectAltName=IP:127.0.0.1,DNS:localhost >/dev/null 2>&1

port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# run NAME PER_REQUEST PROTO PATH BODY [h2load header args...]
run() {
    local name=$1 per=$2 proto=$3 path=$4 body=$5
    shift 5
    local hp gp admin
    hp=$(port)
    gp=$(port)
    admin=$(port)
    local tls_yaml=""
    if [ "$TLS" == 1 ]; then
        tls_yaml="    TLS: {CertFile: $W/cert.pem, KeyFile: $W/key.pem}"
    fi
    rm -rf "$W/data" "$W/conf"
    mkdir -p "$W/data" "$W/conf"
    cat >"$W/petrel.yaml" <<EOF
data_dir: $W/data
admin: {enable: true, host: 127.0.0.1, port: $admin}
EOF
    cat >"$W/conf/bench.yaml" <<EOF
enable: true
inputs:
  - Type: service_otlp
    Protocals:
      HTTP: {Endpoint: 127.0.0.1:$hp}
      GRPC: {Endpoint: 127.0.0.1:$gp}
$tls_yaml
flushers:
  - Type: flusher_blackhole
EOF
    "$PETREL" run --agent-config "$W/petrel.yaml" --config-dir "$W/conf" >"$W/petrel.log" 2>&1 &
    PID=$!
    for _ in $(seq 1 100); do
        curl -s -o /dev/null "http://127.0.0.1:$admin/readyz" && break
        sleep 0.05
    done
    local url args=() scheme=http
    [ "$TLS" == 1 ] && scheme=https
    if [ "$proto" == grpc ]; then
        url="$scheme://127.0.0.1:$gp$path"
        args=(-m 2)
    else
        url="$scheme://127.0.0.1:$hp$path"
        args=(--h1)
    fi
    local cpu0 cpu1 t0 t1
    cpu0=$(awk '{print $14 + $15}' "/proc/$PID/stat")
    t0=$(date +%s%N)
    h2load "${args[@]}" -n "$N" -c "$C" -d "$body" "$@" --log-file="$W/h2load.log" "$url" \
        >"$W/h2load.out" 2>&1
    t1=$(date +%s%N)
    # Requests refused with 503 / UNAVAILABLE when the queue was full are not in the count; the
    # accepted ones may still be on their way to the flusher: wait for them (bounded).
    local m refused got=0 want
    m=$(curl -s "http://127.0.0.1:$admin/metrics")
    refused=$(sed -n 's/^petrel_otlp_requests_refused_total{pipeline="bench",plugin="service_otlp"} //p' <<<"$m")
    want=$(((N - ${refused:-0}) * per))
    for _ in $(seq 1 100); do
        got=$(curl -s "http://127.0.0.1:$admin/metrics" |
            sed -n 's/^petrel_plugin_events_in_total{pipeline="bench",plugin="flusher_blackhole"} //p')
        [ "${got:-0}" -ge "$want" ] && break
        sleep 0.05
    done
    cpu1=$(awk '{print $14 + $15}' "/proc/$PID/stat")
    local hwm
    hwm=$(awk '/VmHWM/ {print $2}' "/proc/$PID/status")
    kill "$PID"
    wait "$PID" 2>/dev/null || true
    python3 - "$name" "$N" "$per" "$t0" "$t1" "$cpu0" "$cpu1" "$(getconf CLK_TCK)" "$hwm" \
        "${got:-0}" "${refused:-0}" "$proto" "$W/h2load.log" "$W/h2load.out" <<'EOF'
import re, sys
name, n, per, t0, t1, c0, c1, tck, hwm, got, refused, proto, log, out = sys.argv[1:]
n, per, tck, refused = int(n), int(per), int(tck), int(refused)
wall = (int(t1) - int(t0)) / 1e9
cpu = (int(c1) - int(c0)) / tck
lat = sorted(int(l.split("\t")[2]) for l in open(log) if l.strip())
ok = re.search(r"status codes: (\d+) 2xx", open(out).read())
ok = int(ok.group(1)) if ok else 0
def pct(p):
    return lat[min(len(lat) - 1, int(p * len(lat)))] / 1000 if lat else float("nan")
acc = n - refused
rec = acc * per
# HTTP answers 503 to the refused; gRPC answers them 200 with grpc-status UNAVAILABLE.
answered = ok + (refused if proto == "http" else 0)
fine = answered == n and int(got) == rec
print("| %-34s | %6d | %7d | %8.0f | %11.0f | %13.0f | %6.2f | %6.2f | %6.2f | %8.1f | %s |" % (
    name, n, refused, acc / wall, rec / wall, rec / cpu if cpu > 0 else float("nan"), cpu,
    pct(0.5), pct(0.99), int(hwm) / 1024,
    "yes" if fine else "NO (%d answered, %s/%d records)" % (answered, got, rec)))
EOF
}

echo "OTLP ingest benchmark: $N requests per case, $C connections, h2load on the same machine,"
echo "flusher_blackhole; $(nproc) cores (petrel and h2load share them)"
echo "'refused': answered 503 / UNAVAILABLE because the queue was full (clients retry those);"
echo "rates count the accepted requests; 'all in': every accepted record reached the flusher."
echo "| case                               | reqs   | refused |   req/s  | records/s   | records/CPU-s |  CPU s | p50 ms | p99 ms | RSS MiB  | all in |"
echo "|------------------------------------|--------|---------|----------|-------------|---------------|--------|--------|--------|----------|--------|"
PB=(-H 'Content-Type: application/x-protobuf')
GRPC=(-H 'content-type: application/grpc' -H 'te: trailers')
SVC=/opentelemetry.proto.collector
run "HTTP/protobuf traces (512 spans)" 512 http /v1/traces "$CACHE/traces-512.pb" "${PB[@]}"
run "HTTP/protobuf+gzip traces (512)" 512 http /v1/traces "$CACHE/traces-512.pb.gz" "${PB[@]}" \
    -H 'Content-Encoding: gzip'
run "HTTP/protobuf logs (1000 records)" 1000 http /v1/logs "$CACHE/logs-1000.pb" "${PB[@]}"
run "gRPC traces (512 spans)" 512 grpc "$SVC.trace.v1.TraceService/Export" \
    "$CACHE/traces-512.grpc" "${GRPC[@]}"
run "gRPC logs (1000 records)" 1000 grpc "$SVC.logs.v1.LogsService/Export" \
    "$CACHE/logs-1000.grpc" "${GRPC[@]}"
TLS=1
run "TLS HTTP/protobuf traces (512)" 512 http /v1/traces "$CACHE/traces-512.pb" "${PB[@]}"
run "TLS HTTP/protobuf+gzip traces(512)" 512 http /v1/traces "$CACHE/traces-512.pb.gz" \
    "${PB[@]}" -H 'Content-Encoding: gzip'
run "TLS HTTP/protobuf logs (1000)" 1000 http /v1/logs "$CACHE/logs-1000.pb" "${PB[@]}"
run "TLS gRPC traces (512 spans)" 512 grpc "$SVC.trace.v1.TraceService/Export" \
    "$CACHE/traces-512.grpc" "${GRPC[@]}"
run "TLS gRPC logs (1000 records)" 1000 grpc "$SVC.logs.v1.LogsService/Export" \
    "$CACHE/logs-1000.grpc" "${GRPC[@]}"
