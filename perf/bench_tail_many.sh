#!/usr/bin/env bash
# Tailing benchmark, one file against many: a writer process appends the same corpus of ~250-byte
# JSON lines (line-aligned 64 KiB writes) either to 1 file or spread round-robin over 100 files,
# while petrel tails them live (inotify; input_file -> flusher_blackhole, as raw lines and through
# processor_parse_json_native, one processor thread). Throughput is measured from the writer's
# first write until petrel has taken in every byte and every event reached the flusher, so it is
# petrel's rate while the writes happen; peak RSS and CPU are petrel's. Prints a table.
#
#   perf/bench_tail_many.sh                     # 512 MiB corpus, 1 and 100 files
#   PT_BENCH_SIZE=64M PT_BENCH_FILES="1 10 100 1000" perf/bench_tail_many.sh
#
# Environment: PT_BENCH_SIZE (default 512M), PT_BENCH_FILES (default "1 100"), PT_BUILD_DIR
# (default ./build), PT_BENCH_RUNS (default 1; the fastest run is kept), PT_BENCH_TIMEOUT
# (seconds per run, default 300).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
BUILD=$(realpath -m "${PT_BUILD_DIR:-./build}")
SIZE=${PT_BENCH_SIZE:-512M}
FILES=${PT_BENCH_FILES:-"1 100"}
RUNS=${PT_BENCH_RUNS:-1}
TIMEOUT=${PT_BENCH_TIMEOUT:-300}
PETREL=$BUILD/petrel
LOGGEN=$BUILD/petrel-loggen

die() {
    echo "bench_tail_many: $*" >&2
    exit 1
}
[[ $SIZE =~ ^[1-9][0-9]*[KMG]?$ ]] || die "PT_BENCH_SIZE='$SIZE' is not a size (e.g. 64M, 1G)"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "PT_BENCH_RUNS='$RUNS' is not a positive integer"
[ -x "$PETREL" ] || die "$PETREL not found: cmake --build $BUILD"
[ -x "$LOGGEN" ] || die "$LOGGEN not found: cmake --build $BUILD --target petrel-loggen"
command -v python3 >/dev/null || die "needs python3"
command -v curl >/dev/null || die "needs curl"

# The same corpus files as perf/bench_tail.sh (deterministic, cached).
CACHE=$REPO/perf/.cache
CORPUS=$CACHE/bench-$SIZE-seed1.jsonl
mkdir -p "$CACHE"
if [ ! -s "$CORPUS" ]; then
    echo "generating $CORPUS ..."
    "$LOGGEN" --lines "$CORPUS.tmp" --size "$SIZE" --seed 1
    mv "$CORPUS.tmp" "$CORPUS"
fi
BYTES=$(stat -c %s "$CORPUS")
cat "$CORPUS" >/dev/null # warm the page cache
LINES=$(wc -l <"$CORPUS")

WORK=$(mktemp -d "${TMPDIR:-/tmp}/pt-bench-many.XXXXXX")
PID=
cleanup() {
    [ -n "$PID" ] && kill -9 "$PID" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# run NFILES MODE(raw|json): prints "seconds cpu_s rss_kib writer_s" for one run.
run() {
    local nf=$1 mode=$2 port dir procs=""
    port=$(free_port)
    dir=$WORK/run-$nf-$mode
    rm -rf "$dir"
    if [ "$mode" == json ]; then
        procs='processors:
  - Type: processor_parse_json_native
    SourceKey: content'
    fi
    mkdir -p "$dir/logs" "$dir/data" "$dir/conf"
    cat >"$dir/petrel.yaml" <<EOF
data_dir: $dir/data
processor_threads: 1
admin: {enable: true, host: 127.0.0.1, port: $port}
EOF
    cat >"$dir/conf/many.yaml" <<EOF
inputs:
  - Type: input_file
    FilePaths: [$dir/logs/*.log]
$procs
aggregators:
  - Type: aggregator_default
    TimeoutMs: 50
flushers:
  - Type: flusher_blackhole
EOF
    # The files exist (empty) before petrel starts, so every byte is written while it runs.
    python3 -c 'import sys
for i in range(int(sys.argv[2])):
    open("%s/f%04d.log" % (sys.argv[1], i), "w").close()' "$dir/logs" "$nf"
    "$PETREL" run --agent-config "$dir/petrel.yaml" --config-dir "$dir/conf" --log-level warn \
        2>"$dir/petrel.log" &
    PID=$!
    local i
    for i in $(seq 1 100); do
        curl -sf -o /dev/null "http://127.0.0.1:$port/readyz" && break
        sleep 0.05
    done
    python3 - "$CORPUS" "$dir/logs" "$nf" "$port" "$BYTES" "$TIMEOUT" "$PID" "$LINES" <<'PY'
import os, sys, time, urllib.request
corpus, logs, nf, port, total, timeout, pid, lines = sys.argv[1], sys.argv[2], int(sys.argv[3]), \
    sys.argv[4], int(sys.argv[5]), float(sys.argv[6]), int(sys.argv[7]), int(sys.argv[8])
want_in = 'petrel_plugin_bytes_in_total{pipeline="many",plugin="input_file"} '
want_out = 'petrel_plugin_events_in_total{pipeline="many",plugin="flusher_blackhole"} '

def done():
    got_in = got_out = 0
    with urllib.request.urlopen("http://127.0.0.1:%s/metrics" % port, timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(want_in):
                got_in = int(float(line[len(want_in):]))
            elif line.startswith(want_out):
                got_out = int(float(line[len(want_out):]))
    return got_in >= total and got_out >= lines, got_in

def cpu_s():
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

fds = [os.open("%s/f%04d.log" % (logs, i), os.O_WRONLY | os.O_APPEND) for i in range(nf)]
cpu0 = cpu_s()
t0 = time.monotonic()
k = 0
with open(corpus, "rb") as src:
    rest = b""
    while True:
        chunk = src.read(64 * 1024)
        if not chunk:
            break
        chunk = rest + chunk
        cut = chunk.rfind(b"\n") + 1     # whole lines only, so that files stay line-aligned
        rest = chunk[cut:]
        os.write(fds[k % nf], chunk[:cut])
        k += 1
    if rest:
        os.write(fds[k % nf], rest)
wrote = time.monotonic() - t0
while True:
    ok, got = done()
    if ok:
        break
    if time.monotonic() - t0 > timeout:
        sys.exit("timeout: petrel took in %d of %d bytes" % (got, total))
    time.sleep(0.02)
secs = time.monotonic() - t0
rss = 0
with open("/proc/%d/status" % pid) as f:
    for line in f:
        if line.startswith("VmHWM:"):
            rss = int(line.split()[1])
print("%.3f %.2f %d %.3f" % (secs, cpu_s() - cpu0, rss, wrote))
PY
    kill -TERM "$PID"
    wait "$PID" || true
    PID=
}

echo "corpus: $CORPUS ($BYTES bytes), written live in 64 KiB line-aligned writes"
printf '\ntail many benchmark: %s corpus, flusher_blackhole, processor_threads: 1, best of %s\n' \
    "$SIZE" "$RUNS"
echo "| case                    | files | MB/s (live) | seconds | writer s | CPU s (petrel) | peak RSS MiB |"
echo "|-------------------------|-------|-------------|---------|----------|----------------|--------------|"
for mode in raw json; do
for nf in $FILES; do
    best=
    for ((r = 1; r <= RUNS; r++)); do
        out=$(run "$nf" "$mode")
        if [ -z "$best" ] || awk -v a="$out" -v b="$best" 'BEGIN { split(a, x, " "); split(b, y, " "); exit !(x[1] < y[1]) }'; then
            best=$out
        fi
    done
    read -r secs cpu rss wrote <<<"$best"
    if [ "$mode" == raw ]; then name="raw lines"; else name="+ parse_json_native"; fi
    awk -v m="$name" -v nf="$nf" -v s="$secs" -v c="$cpu" -v r="$rss" -v w="$wrote" -v b="$BYTES" \
        'BEGIN { printf "| %-23s | %5d | %11.0f | %7.2f | %8.2f | %14.2f | %12.1f |\n", m, nf, b / s / 1e6, s, w, c, r / 1024 }'
done
done
echo "MB = 10^6 bytes; seconds from the first write until petrel took in every byte and the"
echo "flusher had every event. The writer shares the 2 cores with petrel."
