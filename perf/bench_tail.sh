#!/usr/bin/env bash
# Tail benchmark: petrel reads a file of ~250-byte JSON lines to its end in one-shot mode into
# flusher_blackhole, as raw lines and through processor_parse_json_native, and is compared with
# `wc -l` on the same warm file. Prints one table row per case.
#
#   perf/bench_tail.sh                      # 1 GiB corpus, cached in perf/.cache/
#   PT_BENCH_SIZE=16M perf/bench_tail.sh    # smoke test
#
# Environment: PT_BENCH_SIZE (default 1G; K/M/G suffixes), PT_BUILD_DIR (default ./build, with
# petrel and petrel-loggen), PT_BENCH_RUNS (default 1; the fastest run is reported),
# PT_BENCH_TIMEOUT (seconds per run, default 900).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
BUILD=$(realpath -m "${PT_BUILD_DIR:-./build}")
SIZE=${PT_BENCH_SIZE:-1G}
RUNS=${PT_BENCH_RUNS:-1}
TIMEOUT=${PT_BENCH_TIMEOUT:-900}
PETREL=$BUILD/petrel
LOGGEN=$BUILD/petrel-loggen
GNU_TIME=/usr/bin/time

die() {
    echo "bench_tail: $*" >&2
    exit 1
}

[[ $SIZE =~ ^[1-9][0-9]*[KMG]?$ ]] || die "PT_BENCH_SIZE='$SIZE' is not a size (e.g. 16M, 256M, 1G)"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "PT_BENCH_RUNS='$RUNS' is not a positive integer"
[[ $TIMEOUT =~ ^[1-9][0-9]*$ ]] || die "PT_BENCH_TIMEOUT='$TIMEOUT' is not a number of seconds"
[ -x "$GNU_TIME" ] || die "needs GNU time at $GNU_TIME: apt-get install -y time"
[ -x "$LOGGEN" ] || die "$LOGGEN not found: cmake --build $BUILD --target petrel-loggen"

# ---- corpus: generated once per size and kept; the generator is deterministic --------------
CACHE=$REPO/perf/.cache
CORPUS=$CACHE/bench-$SIZE-seed1.jsonl
mkdir -p "$CACHE"
if [ ! -s "$CORPUS" ]; then
    echo "generating $CORPUS ..."
    # Written aside and renamed, so an interrupted run never leaves a short corpus behind.
    "$LOGGEN" --lines "$CORPUS.tmp" --size "$SIZE" --seed 1
    mv "$CORPUS.tmp" "$CORPUS"
fi
BYTES=$(stat -c %s "$CORPUS")

WORK=$(mktemp -d "${TMPDIR:-/tmp}/pt-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# The page cache is warmed so that every case reads from memory and the disk is not measured.
avail_kb=$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)
cat "$CORPUS" >/dev/null
LINES=$(wc -l <"$CORPUS")
echo "corpus: $CORPUS ($BYTES bytes, $LINES lines)"
echo "page cache warmed first (cat corpus > /dev/null)"
if [ -n "$avail_kb" ] && [ $((BYTES / 1024)) -gt $((avail_kb * 8 / 10)) ]; then
    echo "warning: the corpus is larger than 80% of available memory; reads may hit the disk"
fi

# ---- measurement --------------------------------------------------------------------------
# measure NAME PREP POST CMD...: runs PREP, then CMD under GNU time, then POST, RUNS times,
# and keeps the fastest run as "wall user sys maxrss_kib" in $WORK/NAME.best. PREP and POST are
# not timed. A failing run fails the benchmark.
measure() {
    local name=$1 prep=$2 post=$3 i rc t0 t1
    shift 3
    rm -f "$WORK/$name.best"
    for ((i = 1; i <= RUNS; i++)); do
        "$prep"
        set +e
        # Wall time from bash's microsecond clock; GNU time's %e only counts 10 ms steps.
        t0=$EPOCHREALTIME
        timeout "$TIMEOUT" "$GNU_TIME" -f '%U %S %M' -o "$WORK/$name.time" "$@" \
            >"$WORK/$name.out" 2>"$WORK/$name.err"
        rc=$?
        t1=$EPOCHREALTIME
        set -e
        if [ "$rc" -ne 0 ]; then
            echo "bench_tail: case '$name' failed (exit $rc; 124 = timed out after ${TIMEOUT}s):" >&2
            echo "  $*" >&2
            tail -n 20 "$WORK/$name.err" >&2
            exit 1
        fi
        "$post" "$name"
        # GNU time writes its numbers on the last line of its output.
        echo "$t0 $t1 $(tail -n 1 "$WORK/$name.time")" |
            awk '{ printf "%.6f %s %s %s\n", $2 - $1, $3, $4, $5 }' >"$WORK/$name.run"
        if [ ! -f "$WORK/$name.best" ] ||
            awk '{ w = $1 } END { exit !(w < best) }' best="$(cut -d' ' -f1 "$WORK/$name.best")" \
                "$WORK/$name.run"; then
            cp "$WORK/$name.run" "$WORK/$name.best"
        fi
    done
}

# Each petrel run gets a fresh data dir, so that no checkpoint left by an earlier run lets it
# skip the file.
fresh_data_dir() {
    rm -rf "$DATA_DIR"
    mkdir -p "$DATA_DIR"
}

# A fast run that read half the file would be a false result: petrel's checkpoint must show
# the whole corpus. The checkpoint format is petrel's own, so when none is found this only
# says so instead of failing.
check_read_all() {
    local offsets
    offsets=$(find "$DATA_DIR" -name '*.json' -exec grep -ho '"offset":[0-9]*' {} + 2>/dev/null |
        cut -d: -f2 | sort -n | tail -n 1)
    if [ -z "$offsets" ]; then
        [ -n "${noted_no_checkpoint:-}" ] ||
            echo "note: no checkpoint under the data dir; cannot confirm that $1 read all bytes"
        noted_no_checkpoint=1
    elif [ "$offsets" -ne "$BYTES" ]; then
        echo "bench_tail: case '$1': petrel exited 0 but its checkpoint ends at offset" \
            "$offsets of $BYTES bytes; its log ends:" >&2
        tail -n 20 "$WORK/$1.err" >&2
        exit 1
    fi
}

# petrel_case NAME WITH_PARSER(0|1): writes the configs and measures petrel on them.
petrel_case() {
    local name=$1 parse=$2 dir=$WORK/$1
    mkdir -p "$dir"
    cat >"$dir/agent.yaml" <<EOF
processor_threads: 1
admin:
  enable: false
EOF
    {
        echo "enable: true"
        echo "inputs:"
        echo "  - Type: input_file"
        echo "    FilePaths: [\"$CORPUS\"]"
        if [ "$parse" = 1 ]; then
            echo "processors:"
            echo "  - Type: processor_parse_json_native"
            echo "    SourceKey: content"
        fi
        echo "flushers:"
        echo "  - Type: flusher_blackhole"
    } >"$dir/pipeline.yaml"
    DATA_DIR=$dir/data
    measure "$name" fresh_data_dir check_read_all "$PETREL" run --agent-config "$dir/agent.yaml" \
        --config "$dir/pipeline.yaml" --data-dir "$DATA_DIR" --oneshot
}

measure wc : : wc -l "$CORPUS"
[ "$(awk '{print $1}' "$WORK/wc.out")" = "$LINES" ] || die "wc -l disagrees with itself"

petrel_missing=0
if [ -x "$PETREL" ]; then
    petrel_case raw 0
    petrel_case parse_json 1
else
    petrel_missing=1
fi

# ---- table --------------------------------------------------------------------------------
table_row() {
    printf '| %-48s | %8s | %16s | %12s | %14s |\n' "$@"
}

row() {
    local label=$1 name=$2
    if [ ! -f "$WORK/$name.best" ]; then
        table_row "$label" n/a n/a n/a n/a
        return
    fi
    awk -v label="$label" -v bytes="$BYTES" -v wc="$(cut -d' ' -f1 "$WORK/wc.best")" '{
        printf "| %-48s | %8.0f | %16.2f | %12.1f | %13.1fx |\n", label, bytes / 1e6 / $1,
               $2 + $3, $4 / 1024, $1 / wc
    }' "$WORK/$name.best"
}

echo
echo "tail benchmark: $SIZE corpus, processor_threads: 1, flusher_blackhole, best of $RUNS"
table_row case MB/s "CPU s (user+sys)" "peak RSS MiB" "ratio to wc -l"
table_row "" "" "" "" "" | tr ' ' '-'
row "wc -l" wc
row "petrel input_file, raw lines" raw
row "petrel input_file + processor_parse_json_native" parse_json
echo "MB = 10^6 bytes of corpus per wall-clock second; ratio = wall time / wc -l wall time."

if [ "$petrel_missing" = 1 ]; then
    die "$PETREL not found: build it (cmake --build $BUILD) to measure the petrel cases"
fi
