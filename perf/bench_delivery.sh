#!/usr/bin/env bash
# Delivery benchmark: (1) spool write and replay throughput with zstd batches (bench_spool), and
# (2) tail -> flusher_http (zstd) -> a fast local sink end to end, with the spool in on_failure
# mode (spool only on failure) and in always mode (write-ahead: every batch is spooled, fsync'd,
# then sent from the spool), printing MB/s, CPU and peak RSS, and the cost of `always`.
#   perf/bench_delivery.sh                 # 256 MiB corpus
#   PT_BENCH_SIZE=64M perf/bench_delivery.sh
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
BUILD=$(realpath -m "${PT_BUILD_DIR:-./build}")
SIZE=${PT_BENCH_SIZE:-256M}
for b in petrel petrel-loggen bench_spool bench_sink; do
    [ -x "$BUILD/$b" ] || { echo "bench_delivery: $BUILD/$b missing: cmake --build $BUILD" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "bench_delivery: needs GNU time: apt-get install -y time" >&2; exit 1; }
CACHE=$REPO/perf/.cache
mkdir -p "$CACHE"
CORPUS=$CACHE/bench-$SIZE-seed1.jsonl
if [ ! -s "$CORPUS" ]; then
    "$BUILD/petrel-loggen" --lines "$CORPUS.tmp" --size "$SIZE" --seed 1 --quiet
    mv "$CORPUS.tmp" "$CORPUS"
fi
BYTES=$(stat -c %s "$CORPUS")
W=$(mktemp -d)
SINK=
trap '[ -n "$SINK" ] && kill "$SINK" 2>/dev/null; rm -rf "$W"' EXIT

echo "== spool =="
mib=$((BYTES / 1048576))
"$BUILD/bench_spool" "$W/spool" "$mib"

echo
echo "== tail -> flusher_http (zstd) -> local sink, ${SIZE} corpus ($BYTES bytes) =="
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BUILD/bench_sink" "$PORT" > "$W/sink.out" &
SINK=$!
sleep 0.3
cat "$CORPUS" > /dev/null
printf 'processor_threads: 1\nadmin: {enable: false}\nshutdown_timeout_ms: 5000\n' > "$W/agent.yaml"
echo "| spool mode | MB/s | CPU s | peak RSS MiB |"
echo "|------------|------|-------|--------------|"
declare -A RATE
for mode in on_failure always; do
    cat > "$W/p.yaml" <<YAML
inputs:
  - Type: input_file
    FilePaths: [$CORPUS]
flushers:
  - Type: flusher_http
    RemoteURL: http://127.0.0.1:$PORT/ingest
    Convert: {Protocol: raw}
    Compression: zstd
    Concurrency: 8
    Spool: {Mode: $mode, Fsync: batch}
YAML
    rm -rf "$W/data"
    /usr/bin/time -f '%e %U %S %M' -o "$W/time" "$BUILD/petrel" run --agent-config "$W/agent.yaml" \
        --config "$W/p.yaml" --data-dir "$W/data" --oneshot --log-level warn
    read -r wall user sys rss < "$W/time"
    RATE[$mode]=$(python3 -c "print(round($BYTES / 1e6 / $wall))")
    printf '| %-10s | %4s | %5.2f | %12.1f |\n' "$mode" "${RATE[$mode]}" \
        "$(python3 -c "print($user + $sys)")" "$(python3 -c "print($rss / 1024)")"
done
kill -TERM "$SINK"; wait "$SINK" 2>/dev/null || true; SINK=
echo "sink received: $(cat "$W/sink.out")"
python3 -c "print('cost of Spool.Mode always: %.1f%% of end-to-end throughput' % (100 * (1 - ${RATE[always]} / ${RATE[on_failure]})))"
