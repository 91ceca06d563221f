#!/usr/bin/env bash
# Kafka benchmark: tail -> flusher_kafka_v2 -> librdkafka's mock cluster (3 brokers, in
# petrel-kafka-mock), one-shot over a JSON-lines corpus, per compression codec and spool mode.
# Prints MB/s and messages/s end to end (every message acknowledged by the cluster: the run ends
# only when the last delivery report came back), CPU seconds and peak RSS of petrel, and checks
# with kcat that every message is in its topic. The mock cluster shares the machine (and is not
# a real broker): read the figures as petrel's cost per message, not as Kafka's throughput.
#   perf/bench_kafka.sh                    # 64 MiB corpus
#   PT_BENCH_SIZE=16M perf/bench_kafka.sh
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
BUILD=$(realpath -m "${PT_BUILD_DIR:-./build}")
SIZE=${PT_BENCH_SIZE:-64M}
for b in petrel petrel-loggen petrel-kafka-mock; do
    [ -x "$BUILD/$b" ] || { echo "bench_kafka: $BUILD/$b missing: cmake --build $BUILD" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "bench_kafka: needs GNU time: apt-get install -y time" >&2; exit 1; }
command -v kcat >/dev/null || { echo "bench_kafka: needs kcat: apt-get install -y kcat" >&2; exit 1; }
CACHE=$REPO/perf/.cache
mkdir -p "$CACHE"
CORPUS=$CACHE/bench-$SIZE-seed1.jsonl
if [ ! -s "$CORPUS" ]; then
    "$BUILD/petrel-loggen" --lines "$CORPUS.tmp" --size "$SIZE" --seed 1 --quiet
    mv "$CORPUS.tmp" "$CORPUS"
fi
BYTES=$(stat -c %s "$CORPUS")
LINES=$(wc -l < "$CORPUS")
W=$(mktemp -d)
MOCK=
trap '[ -n "$MOCK" ] && kill "$MOCK" 2>/dev/null; rm -rf "$W"' EXIT

CASES=("zstd on_failure" "lz4 on_failure" "none on_failure" "zstd always")
# The mock keeps at most 5 MiB per partition (older batches are dropped): enough partitions for
# the whole corpus uncompressed, twice over, so the kcat count checks every message. Sticky
# partitioning is off for the same reason: with it librdkafka puts every message produced before
# the first metadata reply (most of a fast one-shot run) in one partition.
PARTS=$((BYTES * 2 / 5242880 + 6))
TOPICS=()
for i in "${!CASES[@]}"; do
    TOPICS+=(--topic "bench$i:$PARTS:3")
done
"$BUILD/petrel-kafka-mock" --brokers 3 "${TOPICS[@]}" --bootstrap-file "$W/bs" > "$W/mock.log" 2>&1 &
MOCK=$!
for _ in $(seq 50); do [ -s "$W/bs" ] && break; sleep 0.1; done
BS=$(cat "$W/bs")
cat "$CORPUS" > /dev/null
printf 'processor_threads: 1\nadmin: {enable: false}\nshutdown_timeout_ms: 5000\n' > "$W/agent.yaml"

echo "== tail -> flusher_kafka_v2 -> mock cluster (3 brokers), ${SIZE} corpus: $BYTES bytes, $LINES lines =="
echo "| compression | spool mode | MB/s | messages/s | CPU s | peak RSS MiB | in topic |"
echo "|-------------|------------|------|------------|-------|--------------|----------|"
for i in "${!CASES[@]}"; do
    read -r codec mode <<<"${CASES[$i]}"
    cat > "$W/p.yaml" <<YAML
inputs:
  - Type: input_file
    FilePaths: [$CORPUS]
flushers:
  - Type: flusher_kafka_v2
    Brokers: [$BS]
    Topic: bench$i
    Convert: {Protocol: raw}
    Compression: $codec
    Concurrency: 8
    Spool: {Mode: $mode, Fsync: batch}
    Kafka: {sticky.partitioning.linger.ms: 0}
YAML
    rm -rf "$W/data"
    /usr/bin/time -f '%e %U %S %M' -o "$W/time" "$BUILD/petrel" run --agent-config "$W/agent.yaml" \
        --config "$W/p.yaml" --data-dir "$W/data" --oneshot --log-level warn
    read -r wall user sys rss < "$W/time"
    got=$(timeout 120 kcat -b "$BS" -C -t "bench$i" -o beginning -e -q -f 'x\n' 2>/dev/null | wc -l)
    printf '| %-11s | %-10s | %4s | %10s | %5.2f | %12.1f | %8s |\n' "$codec" "$mode" \
        "$(python3 -c "print(round($BYTES / 1e6 / $wall))")" \
        "$(python3 -c "print(round($LINES / $wall))")" \
        "$(python3 -c "print($user + $sys)")" "$(python3 -c "print($rss / 1024)")" "$got"
done
echo "(2 cores shared with the mock cluster and with other work: figures are indicative)"
