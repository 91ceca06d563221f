#!/usr/bin/env bash
# Group-by tags: one request carries one source's tags. Four files written at once go through
# flusher_http (jsonline, tags as "__tag__:<key>") to a local sink that keeps every request
# body; each request must hold lines of one file only, and every line arrives once. With
# GroupByTags: false, batches mix files (the same run shows mixed requests). With more sources
# than a shard keeps open batches (1,500 files, one line each, a 30 s batch timeout), the oldest
# batches go early (all but the last 256 arrive long before the timeout) and nothing is lost.
# One processor thread: every file shares the one shard, whatever the machine's core count.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

lines_ge() { [ "$(cat "$1" 2>/dev/null | wc -l)" -ge "$2" ]; }

# run_case NAME AGGREGATOR_YAML NFILES LINES_PER_FILE RATE
run_case() {
    local name=$1 agg=$2 nfiles=$3 per=$4 rate=$5
    local d=$T/$name port
    port=$(free_port)
    mkdir -p "$d/logs" "$d/req" "$d/data"
    echo ok > "$d/mode"
    SINK_REQ_DIR=$d/req start_bg "$d/sink.err" python3 "$PT_SOURCE_DIR/tests/lib/http_sink.py" \
        "$port" "$d/out.jsonl" "$d/mode"
    SINK=$BG_PID
    wait_until 5 curl -s -o /dev/null -X POST --max-time 1 "http://127.0.0.1:$port/" || true
    rm -f "$d/req"/*.body "$d/out.jsonl" "$d/out.jsonl.log"
    cat > "$d/p.yaml" <<YAML
inputs:
  - Type: input_file
    FilePaths: [$d/logs/*.log]
$agg
flushers:
  - Type: flusher_http
    RemoteURL: http://127.0.0.1:$port/ingest
    Convert: {Protocol: jsonline}
YAML
    printf 'admin: {enable: false}\nshutdown_timeout_ms: 3000\nprocessor_threads: 1\n' \
        > "$d/agent.yaml"
    start_bg "$d/petrel.log" "$PETREL" run --agent-config "$d/agent.yaml" --config "$d/p.yaml" \
        --data-dir "$d/data"
    local pid=$BG_PID
    sleep 0.5
    local pids=() i
    if [ "$per" -gt 1 ]; then
        for ((i = 0; i < nfiles; i++)); do
            "$LOGGEN" --append "$d/logs/f$i.log" --count "$per" --start-seq $((i * per)) \
                --rate "$rate" --prefix "f$i" --quiet &
            pids+=($!)
        done
        wait "${pids[@]}"
    else
        # one line per file, all written at once
        python3 - "$d/logs" "$nfiles" <<'PY'
import json, os, sys
for i in range(int(sys.argv[2])):
    with open(os.path.join(sys.argv[1], "f%d.log" % i), "w") as f:
        f.write(json.dumps({"seq": i, "src": "f%d" % i}) + "\n")
PY
    fi
    wait_until "${WAIT:-20}" lines_ge "$d/out.jsonl" $((nfiles * per)) || true
    BEFORE_STOP=$(cat "$d/out.jsonl" 2>/dev/null | wc -l)
    stop_pid "$pid" TERM 5
    check_eq "$name: SIGTERM exits 0" 0 "$STOP_RC"
    kill "$SINK" 2>/dev/null || true
    st=$(SEQ_LO=0 SEQ_HI=$((nfiles * per - 1)) seqstat "$d/out.jsonl")
    check_contains "$name: all $((nfiles * per)) lines arrived once" "$st" \
        "unique=$((nfiles * per)) dups=0"
    # requests: files per request, as "<requests> <single-file requests> <max files in one>"
    STATS=$(python3 - "$d/req" <<'PY'
import json, os, sys
n = single = most = 0
for name in os.listdir(sys.argv[1]):
    paths = set()
    with open(os.path.join(sys.argv[1], name), "rb") as f:
        for line in f:
            paths.add(json.loads(line).get("__tag__:__path__"))
    n += 1
    single += len(paths) == 1 and None not in paths
    most = max(most, len(paths))
print(n, single, most)
PY
)
    echo "# $name: requests, single-file requests, most files in one request: $STATS"
}

run_case bytags "" 4 600 400
read -r n single most <<<"$STATS"
check_ge "bytags: several requests" 4 "$n"
check_eq "bytags: every request carries one file's lines and its path tag" "$n" "$single"

run_case mixed "aggregators:
  - Type: aggregator_default
    GroupByTags: false" 4 600 400
read -r n single most <<<"$STATS"
check_ge "GroupByTags false: a request mixes files" 2 "$most"

WAIT=5 run_case many "aggregators:
  - Type: aggregator_default
    TimeoutMs: 30000" 1500 1 0
read -r n single most <<<"$STATS"
check_ge "1,500 sources, 30 s timeout: the oldest batches beyond 256 open ones went at once" \
    1244 "$BEFORE_STOP"
check_eq "1,500 sources: every request carries one file's lines" "$n" "$single"
check_eq "1,500 sources: one request per file" 1500 "$n"
finish
