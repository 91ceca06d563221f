#!/usr/bin/env bash
# Parser benchmark: petrel reads a corpus of realistic lines to its end in one-shot mode with one
# processor worker (processor_threads: 1) into flusher_blackhole, once per parser, and once with
# no processor as the baseline. Prints MB/s, events/s, CPU seconds and peak RSS per case.
#
#   perf/bench_processors.sh                     # 1 GiB corpora, cached in perf/.cache/
#   PT_BENCH_SIZE=64M perf/bench_processors.sh   # smoke test
#
# Corpora: JSON lines from petrel-loggen --lines (~250 bytes, the JSON parser); nginx-style
# access lines (~230 bytes, a 5-group regex); CSV application events (~220 bytes, quoted fields,
# the delimiter parser; their leading "YYYY-MM-DD HH:MM:SS.mmm" also feeds the timestamp parser).
# Before timing, each parser runs on the first lines of its corpus into flusher_file and every
# line must come out parsed, so a fast failure path is never what gets measured.
#
# Environment: PT_BENCH_SIZE (default 1G; K/M/G suffixes), PT_BUILD_DIR (default ./build, with
# petrel and petrel-loggen), PT_BENCH_RUNS (default 1; the fastest run is kept),
# PT_BENCH_TIMEOUT (seconds per run, default 900), PT_BENCH_CASES (space-separated subset of:
# raw json regex delimiter timestamp).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
BUILD=$(realpath -m "${PT_BUILD_DIR:-./build}")
SIZE=${PT_BENCH_SIZE:-1G}
RUNS=${PT_BENCH_RUNS:-1}
TIMEOUT=${PT_BENCH_TIMEOUT:-900}
CASES=${PT_BENCH_CASES:-raw json regex delimiter timestamp}
PETREL=$BUILD/petrel
LOGGEN=$BUILD/petrel-loggen
GNU_TIME=/usr/bin/time
CC=${CC:-cc}

die() {
    echo "bench_processors: $*" >&2
    exit 1
}

[[ $SIZE =~ ^[1-9][0-9]*[KMG]?$ ]] || die "PT_BENCH_SIZE='$SIZE' is not a size (e.g. 64M, 1G)"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "PT_BENCH_RUNS='$RUNS' is not a positive integer"
[[ $TIMEOUT =~ ^[1-9][0-9]*$ ]] || die "PT_BENCH_TIMEOUT='$TIMEOUT' is not a number of seconds"
[ -x "$GNU_TIME" ] || die "needs GNU time at $GNU_TIME: apt-get install -y time"
[ -x "$PETREL" ] || die "$PETREL not found: cmake --build $BUILD"
[ -x "$LOGGEN" ] || die "$LOGGEN not found: cmake --build $BUILD --target petrel-loggen"

# ---- corpora: generated once per size and kept; both generators are deterministic ---------
CACHE=$REPO/perf/.cache
mkdir -p "$CACHE"
GEN=$CACHE/gen_parse_lines
if [ ! -x "$GEN" ] || [ "$REPO/perf/gen_parse_lines.c" -nt "$GEN" ]; then
    "$CC" -O2 -o "$GEN" "$REPO/perf/gen_parse_lines.c" || die "cannot build perf/gen_parse_lines.c"
fi
corpus() { # corpus KIND -> path (generated aside and renamed: never a short corpus)
    local kind=$1 f
    case $kind in
    json) f=$CACHE/bench-$SIZE-seed1.jsonl ;;
    *) f=$CACHE/parse-$kind-$SIZE-seed1.log ;;
    esac
    if [ ! -s "$f" ]; then
        echo "generating $f ..." >&2
        if [ "$kind" = json ]; then
            "$LOGGEN" --lines "$f.tmp" --size "$SIZE" --seed 1 --quiet
        else
            "$GEN" "$kind" "$SIZE" "$f.tmp" 1
        fi
        mv "$f.tmp" "$f"
    fi
    echo "$f"
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/pt-bench-proc.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cat >"$WORK/agent.yaml" <<EOF
processor_threads: 1
admin:
  enable: false
EOF

# processors_of CASE: the processors section for a case.
processors_of() {
    case $1 in
    raw) ;;
    json)
        cat <<'EOF'
processors:
  - Type: processor_parse_json_native
    SourceKey: content
EOF
        ;;
    regex)
        cat <<'EOF'
processors:
  - Type: processor_parse_regex_native
    SourceKey: content
    Regex: '(\S+) \S+ \S+ \[([^\]]+)\] "([^"]*)" (\d+) (\d+) .*'
    Keys: [ip, time, request, status, bytes]
EOF
        ;;
    delimiter)
        cat <<'EOF'
processors:
  - Type: processor_parse_delimiter_native
    SourceKey: content
    Separator: ','
    Keys: [time, level, subsystem, session, request, status, latency, msg, host, agent]
EOF
        ;;
    timestamp)
        cat <<'EOF'
processors:
  - Type: processor_parse_timestamp_native
    SourceKey: content
    SourceFormat: '%Y-%m-%d %H:%M:%S.%f'
    SourceTimezone: GMT+08:00
EOF
        ;;
    esac
}

corpus_of() {
    case $1 in
    raw | json) corpus json ;;
    regex) corpus access ;;
    delimiter | timestamp) corpus csv ;;
    esac
}

# pipeline CASE CORPUS FLUSHER_YAML > file
pipeline() {
    echo "enable: true"
    echo "inputs:"
    echo "  - Type: input_file"
    echo "    FilePaths: [\"$2\"]"
    processors_of "$1"
    echo "flushers:"
    printf '%s\n' "$3"
}

# ---- sanity: the first 2000 lines of each corpus must all parse --------------------------
# field_of CASE: a field every parsed line has (the timestamp parser is checked on __time__).
field_of() {
    case $1 in
    regex) echo '"status":"' ;;
    delimiter) echo '"agent":"' ;;
    esac
}

sanity() {
    local name=$1 src=$2 dir=$WORK/sanity-$1
    mkdir -p "$dir"
    head -n 2000 "$src" >"$dir/in.log"
    pipeline "$name" "$dir/in.log" "  - Type: flusher_file
    FilePath: $dir/out.jsonl
    MaxFileSize: 0" >"$dir/p.yaml"
    timeout 60 "$PETREL" run --agent-config "$WORK/agent.yaml" --config "$dir/p.yaml" \
        --data-dir "$dir/data" --oneshot --log-level warn 2>"$dir/err" ||
        die "sanity run of '$name' failed: $(tail -n 5 "$dir/err")"
    local n good
    n=$(wc -l <"$dir/out.jsonl")
    [ "$n" -eq 2000 ] || die "sanity '$name': $n of 2000 lines came out"
    case $name in
    raw) good=$(grep -c '"content":"' "$dir/out.jsonl" || true) ;;
    json) good=$(grep -vc '"content":"' "$dir/out.jsonl" || true) ;;
    timestamp) # 2026-03-14 at UTC+8: every __time__ is on that day
        good=$(grep -cE '^\{"__time__":17734(4|5|6|7|8|9)[0-9]{4},' "$dir/out.jsonl" || true) ;;
    *) good=$(grep -cF "$(field_of "$name")" "$dir/out.jsonl" || true) ;;
    esac
    [ "$good" -eq 2000 ] || die "sanity '$name': only $good of 2000 lines parsed (see $dir)"
}

# ---- measurement ---------------------------------------------------------------------------
# measure CASE: RUNS runs of petrel on the case's corpus; keeps the fastest as
# "wall user sys maxrss_kib" in $WORK/CASE.best.
measure() {
    local name=$1 src dir=$WORK/$1 i rc t0 t1
    src=$(corpus_of "$name")
    mkdir -p "$dir"
    pipeline "$name" "$src" "  - Type: flusher_blackhole" >"$dir/p.yaml"
    cat "$src" >/dev/null # warm the page cache: memory is measured, not the disk
    rm -f "$dir/best"
    for ((i = 1; i <= RUNS; i++)); do
        rm -rf "$dir/data"
        set +e
        t0=$EPOCHREALTIME
        timeout "$TIMEOUT" "$GNU_TIME" -f '%U %S %M' -o "$dir/time" "$PETREL" run \
            --agent-config "$WORK/agent.yaml" --config "$dir/p.yaml" --data-dir "$dir/data" \
            --oneshot --log-level warn >"$dir/out" 2>"$dir/err"
        rc=$?
        t1=$EPOCHREALTIME
        set -e
        [ "$rc" -eq 0 ] || die "case '$name' failed (exit $rc): $(tail -n 5 "$dir/err")"
        echo "$t0 $t1 $(tail -n 1 "$dir/time")" |
            awk '{ printf "%.6f %s %s %s\n", $2 - $1, $3, $4, $5 }' >"$dir/run"
        if [ ! -f "$dir/best" ] || awk -v b="$(cut -d' ' -f1 "$dir/best")" \
            '{ exit !($1 < b) }' "$dir/run"; then
            cp "$dir/run" "$dir/best"
        fi
    done
    echo "$src" >"$dir/corpus"
}

for c in $CASES; do
    case $c in
    raw | json | regex | delimiter | timestamp) ;;
    *) die "unknown case '$c' (raw json regex delimiter timestamp)" ;;
    esac
    sanity "$c" "$(corpus_of "$c")"
done
echo "sanity: the first 2000 lines of each corpus parse completely"
for c in $CASES; do
    measure "$c"
done

# ---- table ---------------------------------------------------------------------------------
label_of() {
    case $1 in
    raw) echo "no processor (baseline)" ;;
    json) echo "processor_parse_json_native" ;;
    regex) echo "processor_parse_regex_native (5 groups)" ;;
    delimiter) echo "processor_parse_delimiter_native (10 keys)" ;;
    timestamp) echo "processor_parse_timestamp_native" ;;
    esac
}
target_of() {
    case $1 in
    json | delimiter) echo ">= 400" ;;
    regex) echo ">= 150" ;;
    *) echo "-" ;;
    esac
}
echo
echo "processor benchmark: $SIZE corpora, processor_threads: 1, flusher_blackhole, best of $RUNS"
printf '| %-44s | %-12s | %8s | %12s | %7s | %9s | %8s | %8s |\n' case corpus MB/s events/s \
    target "MB/CPU-s" "CPU s" "RSS MiB"
printf '|%s|%s|%s|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..46})" "$(printf -- '-%.0s' {1..14})" \
    "$(printf -- '-%.0s' {1..10})" "$(printf -- '-%.0s' {1..14})" "$(printf -- '-%.0s' {1..9})" \
    "$(printf -- '-%.0s' {1..11})" "$(printf -- '-%.0s' {1..10})" "$(printf -- '-%.0s' {1..10})"
for c in $CASES; do
    src=$(cat "$WORK/$c/corpus")
    bytes=$(stat -c %s "$src")
    lines=$(wc -l <"$src")
    awk -v label="$(label_of "$c")" -v corpus="$(basename "$src" | cut -d- -f1-2)" \
        -v bytes="$bytes" -v lines="$lines" -v target="$(target_of "$c")" '{
        cpu = $2 + $3
        printf "| %-44s | %-12s | %8.0f | %12.0f | %7s | %9.0f | %8.2f | %8.1f |\n", label, corpus,
               bytes / 1e6 / $1, lines / $1, target, (cpu > 0 ? bytes / 1e6 / cpu : 0), cpu, $4 / 1024
    }' "$WORK/$c/best"
done
echo "MB/s and events/s: per wall-clock second, end to end (read, split into lines, process,"
echo "batch; flusher_blackhole serializes nothing). MB = 10^6 bytes of corpus. One processor worker;"
echo "the input and sender threads run too. MB/CPU-s: corpus bytes per second of CPU time of the whole"
echo "process (user + sys, all threads): the per-core cost, which does not move when other programs"
echo "compete for the cores (wall-clock figures do). load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
