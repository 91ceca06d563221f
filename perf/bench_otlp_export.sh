#!/usr/bin/env bash
# OTLP export benchmark: a sending petrel reads a fixed set of pre-written log files once
# (input_file, --oneshot; one file of R lines is one group, and aggregator_default cuts batches
# at R records, so each file is one export call) and exports them through flusher_otlp over gRPC
# to a receiving petrel (service_otlp gRPC -> flusher_blackhole) on this machine. The sender
# exits once the receiver has acknowledged every record. Each case runs fresh processes and
# prints: records/s and export calls/s (sender start to exit), the sender's CPU-seconds and peak
# RSS (/usr/bin/time), the gRPC connections the receiver accepted, and that every record
# arrived (receiver's blackhole count).
#
#   perf/bench_otlp_export.sh              PT_BUILD_DIR=build, PT_BENCH_SCALE=1
#   PT_BENCH_SCALE=4 perf/bench_otlp_export.sh      four times as many files per case
#   PT_BENCH_RECEIVER=/path/petrel ...   another receiving petrel (to compare senders alone)
# Needs python3, curl and GNU time (apt-get install time).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${PT_BUILD_DIR:-build}
PETREL=$BUILD/petrel
RECEIVER=${PT_BENCH_RECEIVER:-$PETREL}
LOGGEN=$BUILD/petrel-loggen
SCALE=${PT_BENCH_SCALE:-1}
[ -x "$PETREL" ] && [ -x "$LOGGEN" ] || { echo "build petrel first ($PETREL)"; exit 1; }
[ -x /usr/bin/time ] || { echo "GNU time is needed: apt-get install time"; exit 1; }

W=$(mktemp -d "${TMPDIR:-/tmp}/petrel-bench-export.XXXXXX")
RPID=
cleanup() {
    [ -n "$RPID" ] && kill "$RPID" 2>/dev/null || true
    rm -rf "$W"
}
trap cleanup EXIT

port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# metric URL NAME{labels}: the sample's value, 0 when absent.
metric() {
    local v
    v=$(curl -s --max-time 3 "$1" | awk -v k="$2" '$1 == k {print $2}')
    printf '%.0f\n' "${v:-0}"
}

# corpus DIR FILES LINES: FILES files of LINES JSON lines (~250 bytes) each.
corpus() {
    local dir=$1 files=$2 lines=$3
    mkdir -p "$dir"
    # ~250 bytes a line: ask for 10% more than needed, then cut exactly.
    "$LOGGEN" --lines "$W/all.jsonl" --size $((files * lines * 275 / 1024 + 64))K --seq --quiet
    head -n $((files * lines)) "$W/all.jsonl" | (cd "$dir" && split -l "$lines" -a 5 - part-)
    rm -f "$W/all.jsonl"
    [ "$(ls "$dir" | wc -l)" -eq "$files" ] || { echo "corpus: wrong file count"; exit 1; }
}

# run NAME FILES LINES COMPRESSION
run() {
    local name=$1 files=$2 lines=$3 comp=$4
    local rg ra
    rg=$(port)
    ra=$(port)
    rm -rf "$W/s" "$W/r" "$W/in"
    mkdir -p "$W/s/data" "$W/r/conf" "$W/r/data"
    corpus "$W/in" "$files" "$lines"
    # The receiver's queue is roomy so that it rarely answers UNAVAILABLE (each costs the sender
    # its RetryInfo second): the sender's export path is what is measured.
    cat >"$W/r/petrel.yaml" <<EOF
data_dir: $W/r/data
admin: {enable: true, host: 127.0.0.1, port: $ra}
queue_high_bytes: 268435456
EOF
    cat >"$W/r/conf/recv.yaml" <<EOF
enable: true
inputs:
  - Type: service_otlp
    Protocals:
      GRPC: {Endpoint: 127.0.0.1:$rg}
flushers:
  - Type: flusher_blackhole
EOF
    cat >"$W/s/petrel.yaml" <<EOF
admin: {enable: false}
EOF
    cat >"$W/s/send.yaml" <<EOF
enable: true
inputs:
  - Type: input_file
    FilePaths: [$W/in/part-*]
aggregators:
  - Type: aggregator_default
    MaxLogCount: $lines
flushers:
  - Type: flusher_otlp
    Endpoint: 127.0.0.1:$rg
    Compression: $comp
EOF
    "$RECEIVER" run --agent-config "$W/r/petrel.yaml" --config-dir "$W/r/conf" >"$W/r.log" 2>&1 &
    RPID=$!
    for _ in $(seq 1 100); do
        curl -s -o /dev/null "http://127.0.0.1:$ra/readyz" && break
        sleep 0.05
    done
    local t0 t1 rc=0
    t0=$(date +%s%N)
    /usr/bin/time -f '%U %S %M' -o "$W/time.out" "$PETREL" run --agent-config "$W/s/petrel.yaml" \
        --config "$W/s/send.yaml" --data-dir "$W/s/data" --oneshot --log-level warn \
        >"$W/s.log" 2>&1 || rc=$?
    t1=$(date +%s%N)
    local got calls conns refused want=$((files * lines))
    # The receiver acknowledged every call before the sender exited; its flusher may still be
    # counting the last ones (bounded wait).
    for _ in $(seq 1 100); do
        got=$(metric "http://127.0.0.1:$ra/metrics" \
            'petrel_plugin_events_in_total{pipeline="recv",plugin="flusher_blackhole"}')
        [ "$got" -ge "$want" ] && break
        sleep 0.05
    done
    calls=$(metric "http://127.0.0.1:$ra/metrics" \
        'petrel_otlp_requests_total{pipeline="recv",plugin="service_otlp"}')
    conns=$(metric "http://127.0.0.1:$ra/metrics" \
        'petrel_otlp_grpc_connections_total{pipeline="recv",plugin="service_otlp"}')
    refused=$(metric "http://127.0.0.1:$ra/metrics" \
        'petrel_otlp_requests_refused_total{pipeline="recv",plugin="service_otlp"}')
    kill "$RPID"
    wait "$RPID" 2>/dev/null || true
    RPID=
    if [ "$rc" -ne 0 ]; then
        echo "sender exited $rc:"
        tail -n 5 "$W/s.log"
    fi
    python3 - "$name" "$files" "$lines" "$t0" "$t1" "$got" "$calls" "$conns" "$refused" \
        $(cat "$W/time.out") <<'EOF'
import sys
name, files, lines, t0, t1, got, calls, conns, refused, user, sys_, rss = sys.argv[1:]
want = int(files) * int(lines)
wall = (int(t1) - int(t0)) / 1e9
cpu = float(user) + float(sys_)
got, calls = int(got), int(calls)
print("| %-26s | %7d | %5s | %5s | %6.2f | %9.0f | %8.0f | %6.2f | %9.0f | %5s | %7.1f | %s |" % (
    name, want, calls, refused, wall, got / wall, calls / wall, cpu,
    got / cpu if cpu > 0 else float("nan"), conns, int(rss) / 1024,
    "yes" if got == want else "NO (%d of %d)" % (got, want)))
EOF
}

echo "OTLP export benchmark: sender petrel (input_file --oneshot -> flusher_otlp gRPC, Concurrency"
echo "4) -> receiver petrel (service_otlp gRPC -> flusher_blackhole). $(nproc) cores shared by both"
echo "petrels and anything else running on this machine. 'calls': Export calls the receiver got;"
echo "'refus': of those, answered UNAVAILABLE (its queue was full; the sender retries them after"
echo "the RetryInfo delay, 1 s); 'conns': gRPC connections it accepted; CPU s and RSS are the"
echo "sender's; rates are per wall second."
echo "| case                       | records | calls | refus | wall s | records/s | calls/s  | CPU s  | rec/CPU-s | conns | RSS MiB | all in |"
echo "|----------------------------|---------|-------|-------|--------|-----------|----------|--------|-----------|-------|---------|--------|"
run "logs, 100/export, gzip" $((5000 * SCALE)) 100 gzip
run "logs, 100/export, none" $((5000 * SCALE)) 100 none
run "logs, 1000/export, gzip" $((600 * SCALE)) 1000 gzip
run "logs, 1000/export, none" $((600 * SCALE)) 1000 none
