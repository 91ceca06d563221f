#!/usr/bin/env bash
# Filter, masking and field-operation benchmark: petrel reads a corpus of ~250-byte JSON lines
# (petrel-loggen --lines, the corpus bench_tail.sh and bench_processors.sh use) to its end in
# one-shot mode with one processor worker (processor_threads: 1) into flusher_blackhole, once per
# case. Cases on raw lines (no parser) are compared with the raw baseline, cases after
# processor_parse_json_native with the JSON baseline: the "alone" column is the processor's own
# throughput, corpus bytes / (case time - baseline time).
#
#   perf/bench_filters.sh                      # 1 GiB corpus, cached in perf/.cache/
#   PT_BENCH_SIZE=64M perf/bench_filters.sh    # smoke test
#
# Before timing, every case runs on the first 5000 lines into flusher_file and its output is
# checked against what the case must do (events kept, values masked, fields added / dropped /
# renamed), so a fast failure path is never what gets measured.
#
# Environment: PT_BENCH_SIZE (default 1G; K/M/G suffixes), PT_BUILD_DIR (default ./build, with
# petrel and petrel-loggen), PT_BENCH_RUNS (default 1; the fastest run is kept),
# PT_BENCH_TIMEOUT (seconds per run, default 900), PT_BENCH_CASES (space-separated subset of the
# case names in the table; the baselines raw and json are always run).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
BUILD=$(realpath -m "${PT_BUILD_DIR:-./build}")
SIZE=${PT_BENCH_SIZE:-1G}
RUNS=${PT_BENCH_RUNS:-1}
TIMEOUT=${PT_BENCH_TIMEOUT:-900}
ALL_CASES="filter_raw filter_raw_utf8 mask_raw_const mask_raw_md5 filter_field condition \
timestamp_filter mask_field add_fields drop rename chain"
CASES="raw json ${PT_BENCH_CASES:-$ALL_CASES}"
PETREL=$BUILD/petrel
LOGGEN=$BUILD/petrel-loggen
GNU_TIME=/usr/bin/time

die() {
    echo "bench_filters: $*" >&2
    exit 1
}

[[ $SIZE =~ ^[1-9][0-9]*[KMG]?$ ]] || die "PT_BENCH_SIZE='$SIZE' is not a size (e.g. 64M, 1G)"
[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "PT_BENCH_RUNS='$RUNS' is not a positive integer"
[[ $TIMEOUT =~ ^[1-9][0-9]*$ ]] || die "PT_BENCH_TIMEOUT='$TIMEOUT' is not a number of seconds"
[ -x "$GNU_TIME" ] || die "needs GNU time at $GNU_TIME: apt-get install -y time"
[ -x "$PETREL" ] || die "$PETREL not found: cmake --build $BUILD"
[ -x "$LOGGEN" ] || die "$LOGGEN not found: cmake --build $BUILD --target petrel-loggen"
command -v python3 >/dev/null || die "needs python3 for the sanity checks"

# ---- corpus: generated once per size and kept; the generator is deterministic --------------
CACHE=$REPO/perf/.cache
CORPUS=$CACHE/bench-$SIZE-seed1.jsonl
mkdir -p "$CACHE"
if [ ! -s "$CORPUS" ]; then
    echo "generating $CORPUS ..." >&2
    "$LOGGEN" --lines "$CORPUS.tmp" --size "$SIZE" --seed 1 --quiet
    mv "$CORPUS.tmp" "$CORPUS"
fi
BYTES=$(stat -c %s "$CORPUS")

WORK=$(mktemp -d "${TMPDIR:-/tmp}/pt-bench-filters.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
cat >"$WORK/agent.yaml" <<EOF
processor_threads: 1
admin:
  enable: false
EOF

PARSE='  - Type: processor_parse_json_native
    SourceKey: content'
FILTER_RAW="  - Type: processor_filter_regex_native
    FilterKey: [content]
    FilterRegex: ['.*\"type\":\"(message|toolResult)\".*']"
MASK_SESSION='    ContentPatternBeforeReplacedString: '"'"'"sessionId":"'"'"'
    ReplacedContentPattern: '"'"'[0-9a-f-]{36}'"'"

# processors_of CASE: the processors of a case (YAML list items).
processors_of() {
    case $1 in
    raw) ;;
    json) echo "$PARSE" ;;
    filter_raw) echo "$FILTER_RAW" ;;
    filter_raw_utf8) echo "$FILTER_RAW
    DiscardingNonUTF8: true" ;;
    mask_raw_const) echo "  - Type: processor_desensitize_native
    SourceKey: content
    Method: const
    ReplacingString: '********'
$MASK_SESSION" ;;
    mask_raw_md5) echo "  - Type: processor_desensitize_native
    SourceKey: content
    Method: md5
$MASK_SESSION" ;;
    filter_field) echo "$PARSE
  - Type: processor_filter_regex_native
    FilterKey: [type]
    FilterRegex: ['message|toolResult']" ;;
    condition) echo "$PARSE
  - Type: processor_filter_regex_native
    ConditionExp:
      operator: or
      operands:
        - {key: type, exp: 'message|toolResult', type: regex}
        - {key: level, exp: 'warn|error', type: regex}" ;;
    timestamp_filter) echo "$PARSE
  - Type: processor_timestamp_filter_native
    LowerBound: 1000000000" ;;
    mask_field) echo "$PARSE
  - Type: processor_desensitize_native
    SourceKey: sessionId
    Method: const
    ReplacingString: '***'
    ContentPatternBeforeReplacedString: '^'
    ReplacedContentPattern: '[0-9a-f]{8}-'" ;;
    add_fields) echo "$PARSE
  - Type: processor_add_fields
    Fields: {cluster: prod-eu-1, sandbox: sbx-42}" ;;
    drop) echo "$PARSE
  - Type: processor_drop
    DropKeys: [parentId, sessionId]" ;;
    rename) echo "$PARSE
  - Type: processor_rename
    SourceKeys: [id, type]
    DestKeys: [event_id, event_type]" ;;
    chain) echo "$PARSE
  - Type: processor_filter_regex_native
    FilterKey: [type]
    FilterRegex: ['message|toolResult']
  - Type: processor_desensitize_native
    SourceKey: sessionId
    Method: md5
    ContentPatternBeforeReplacedString: '^'
    ReplacedContentPattern: '.+'
  - Type: processor_rename
    SourceKeys: [id]
    DestKeys: [event_id]
  - Type: processor_drop
    DropKeys: [parentId]
  - Type: processor_add_fields
    Fields: {sandbox: sbx-42}" ;;
    *) die "unknown case '$1' (one of: $ALL_CASES)" ;;
    esac
}

baseline_of() {
    case $1 in
    raw | json) echo - ;;
    filter_raw | filter_raw_utf8 | mask_raw_const | mask_raw_md5) echo raw ;;
    *) echo json ;;
    esac
}

label_of() {
    case $1 in
    raw) echo "baseline: no processor" ;;
    json) echo "baseline: processor_parse_json_native" ;;
    filter_raw) echo "filter_regex on raw lines (content, 1 regex)" ;;
    filter_raw_utf8) echo "  same + DiscardingNonUTF8" ;;
    mask_raw_const) echo "desensitize const on raw lines (sessionId)" ;;
    mask_raw_md5) echo "desensitize md5 on raw lines (sessionId)" ;;
    filter_field) echo "json + filter_regex FilterKey (type)" ;;
    condition) echo "json + filter_regex ConditionExp (or, 2 leaves)" ;;
    timestamp_filter) echo "json + timestamp_filter (event time)" ;;
    mask_field) echo "json + desensitize const on a field" ;;
    add_fields) echo "json + add_fields (2 fields)" ;;
    drop) echo "json + drop (2 keys)" ;;
    rename) echo "json + rename (2 keys)" ;;
    chain) echo "json + filter + md5 mask + rename + drop + add" ;;
    esac
}

# pipeline CASE INPUT FLUSHER_YAML > file
pipeline() {
    echo "enable: true"
    echo "inputs:"
    echo "  - Type: input_file"
    echo "    FilePaths: [\"$2\"]"
    local p
    p=$(processors_of "$1")
    if [ -n "$p" ]; then
        echo "processors:"
        echo "$p"
    fi
    echo "flushers:"
    printf '%s\n' "$3"
}

# ---- sanity: each case does its job on the first 5000 lines -------------------------------
SAMPLE=$WORK/sample.jsonl
head -n 5000 "$CORPUS" >"$SAMPLE"
cat >"$WORK/check.py" <<'EOF'
import hashlib, json, re, sys
case, sample, out = sys.argv[1:4]
src = [l.rstrip("\n") for l in open(sample, encoding="utf-8")]
got = [json.loads(l) for l in open(out, encoding="utf-8")]
def parsed(l):
    return {k: (v if isinstance(v, str) else json.dumps(v)) for k, v in json.loads(l).items()}
def fail(msg):
    sys.exit(f"{case}: {msg}")
keep = lambda d: re.fullmatch(r"message|toolResult", d.get("type", ""))
if case in ("filter_raw", "filter_raw_utf8"):
    want = [l for l in src if re.fullmatch(r'.*"type":"(message|toolResult)".*', l, re.S)]
    if [g["content"] for g in got] != want:
        fail(f"{len(got)} events kept, {len(want)} expected")
elif case in ("mask_raw_const", "mask_raw_md5"):
    def sub(m):
        return m.group(1) + ("********" if case.endswith("const")
                             else hashlib.md5(m.group(2).encode()).hexdigest().upper())
    want = [re.sub(r'("sessionId":")([0-9a-f-]{36})', sub, l) for l in src]
    if [g["content"] for g in got] != want:
        fail("masked lines differ")
    if not any("sessionId" in l for l in src):
        fail("nothing to mask in the sample")
elif case == "filter_field":
    if len(got) != sum(1 for l in src if keep(parsed(l))) or not all(keep(g) for g in got):
        fail("wrong events kept")
elif case == "condition":
    n = sum(1 for l in src if keep(parsed(l)) or re.fullmatch("warn|error", parsed(l).get("level", "")))
    if len(got) != n:
        fail(f"{len(got)} events kept, {n} expected")
elif case == "timestamp_filter" or case == "json":
    if len(got) != len(src):
        fail("events lost")
elif case == "mask_field":
    m = [g for g in got if "sessionId" in g]
    if not m or not all(re.fullmatch(r"\*\*\*[0-9a-f]{4}-.*", g["sessionId"]) for g in m):
        fail("sessionId not masked")
elif case == "add_fields":
    if not all(g.get("cluster") == "prod-eu-1" and g.get("sandbox") == "sbx-42" for g in got):
        fail("fields not added")
elif case == "drop":
    if any("parentId" in g or "sessionId" in g for g in got) or len(got) != len(src):
        fail("fields not dropped")
elif case == "rename":
    ren = {"id": "event_id", "type": "event_type"}
    want = [[ren.get(k, k) for k in parsed(l)] for l in src]
    if [[k for k in g if k != "__time__" and not k.startswith("__tag__")] for g in got] != want:
        fail("fields not renamed")
elif case == "chain":
    want = [parsed(l) for l in src if keep(parsed(l))]
    if len(got) != len(want):
        fail("wrong events kept")
    for w, g in zip(want, got):
        if "sessionId" in w and g.get("sessionId") != hashlib.md5(w["sessionId"].encode()).hexdigest().upper():
            fail("sessionId not hashed")
        if g.get("event_id") != w.get("id") or "parentId" in g or g.get("sandbox") != "sbx-42":
            fail("fields not renamed / dropped / added")
elif case == "raw":
    if [g["content"] for g in got] != src:
        fail("raw lines differ")
print(f"{case}: {len(got)} events checked")
EOF

sanity() {
    local name=$1 dir=$WORK/sanity-$1
    mkdir -p "$dir"
    pipeline "$name" "$SAMPLE" "  - Type: flusher_file
    FilePath: $dir/out.jsonl
    MaxFileSize: 0" >"$dir/p.yaml"
    timeout 120 "$PETREL" run --agent-config "$WORK/agent.yaml" --config "$dir/p.yaml" \
        --data-dir "$dir/data" --oneshot --log-level warn 2>"$dir/err" ||
        die "sanity run of '$name' failed: $(tail -n 5 "$dir/err")"
    [ -f "$dir/out.jsonl" ] || : >"$dir/out.jsonl"
    python3 "$WORK/check.py" "$name" "$SAMPLE" "$dir/out.jsonl" >"$dir/check" 2>&1 ||
        die "sanity: $(cat "$dir/check")"
}

# ---- measurement ---------------------------------------------------------------------------
# measure CASE: RUNS runs on the corpus; keeps the fastest as "wall user sys maxrss_kib".
measure() {
    local name=$1 dir=$WORK/$1 i rc t0 t1
    mkdir -p "$dir"
    pipeline "$name" "$CORPUS" "  - Type: flusher_blackhole" >"$dir/p.yaml"
    cat "$CORPUS" >/dev/null # warm the page cache: memory is measured, not the disk
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
}

for c in $CASES; do
    processors_of "$c" >/dev/null
    sanity "$c"
done
echo "sanity: every case checked on the first 5000 lines ($(cat "$WORK"/sanity-*/check | tr '\n' ';'))"
LINES=$(wc -l <"$CORPUS")
for c in $CASES; do
    measure "$c"
done

# ---- table ---------------------------------------------------------------------------------
echo
echo "filter benchmark: $SIZE corpus ($BYTES bytes, $LINES lines), processor_threads: 1," \
    "flusher_blackhole, best of $RUNS"
printf '| %-50s | %7s | %11s | %8s | %7s | %7s | %13s |\n' case MB/s events/s "MB/CPU-s" \
    "CPU s" "RSS MiB" "alone MB/s"
printf '|%s|%s|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..52})" "$(printf -- '-%.0s' {1..9})" \
    "$(printf -- '-%.0s' {1..13})" "$(printf -- '-%.0s' {1..10})" "$(printf -- '-%.0s' {1..9})" \
    "$(printf -- '-%.0s' {1..9})" "$(printf -- '-%.0s' {1..15})"
for c in $CASES; do
    b=$(baseline_of "$c")
    base=0
    if [ "$b" != - ]; then
        base=$(cut -d' ' -f1 "$WORK/$b/best")
    fi
    awk -v label="$(label_of "$c")" -v bytes="$BYTES" -v lines="$LINES" -v base="$base" '{
        cpu = $2 + $3
        alone = "-"
        if (base > 0) {
            d = $1 - base
            alone = d > 0.005 * $1 ? sprintf("%.0f", bytes / 1e6 / d) : "(within noise)"
        }
        printf "| %-50s | %7.0f | %11.0f | %8.0f | %7.2f | %7.1f | %13s |\n", label,
               bytes / 1e6 / $1, lines / $1, (cpu > 0 ? bytes / 1e6 / cpu : 0), cpu, $4 / 1024, alone
    }' "$WORK/$c/best"
done
echo "MB/s and events/s: per wall-clock second, end to end (read, split, process, batch) with one"
echo "processor worker; MB = 10^6 bytes of corpus. MB/CPU-s: corpus bytes per CPU second of the whole"
echo "process (all threads). alone: the processor's own rate, corpus bytes / (case wall time - its"
echo "baseline's: raw lines, or the JSON parse); noisy when the difference is small. The machine is"
echo "shared: load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
