#!/usr/bin/env bash
# Routing with Match on flushers (LoongCollector's router): by group tag and by event type; and
# the config errors of a bad Match.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

mkdir -p "$T/logs"
"$LOGGEN" --append "$T/logs/a.log" --count 300 --prefix a > /dev/null 2>&1
"$LOGGEN" --append "$T/logs/b.log" --count 200 --start-seq 1000 --prefix b > /dev/null 2>&1
cat > "$T/p.yaml" <<YAML
inputs:
  - Type: input_file
    FilePaths: [$T/logs/*.log]
processors:
  - Type: processor_parse_json_native
    SourceKey: content
flushers:
  - Type: flusher_file
    FilePath: $T/out/only-a.jsonl
    Match:
      Type: tag
      Key: __path__
      Value: $T/logs/a.log
  - Type: flusher_file
    FilePath: $T/out/logs.jsonl
    Match:
      Type: event_type
      Value: log
  - Type: flusher_file
    FilePath: $T/out/metrics.jsonl
    Match: {Type: event_type, Value: metric}
  - Type: flusher_file
    FilePath: $T/out/all.jsonl
YAML
printf 'admin: {enable: false}\n' > "$T/agent.yaml"
"$PETREL" run --agent-config "$T/agent.yaml" --config "$T/p.yaml" --data-dir "$T/data" --oneshot \
    --log-level warn 2> "$T/err.log"
check_eq "oneshot run exits 0" 0 "$?"
check_eq "Match tag: only a.log's 300 lines" "lines=300 bad=0 unique=300 dups=0 min=0 max=299" \
    "$(seqstat "$T/out/only-a.jsonl")"
check_eq "Match event_type log: all 500 lines" "lines=500 bad=0 unique=500 dups=0 min=0 max=1199" \
    "$(seqstat "$T/out/logs.jsonl")"
check "Match event_type metric: nothing written for log data" test ! -s "$T/out/metrics.jsonl"
check_eq "no Match: everything" "lines=500 bad=0 unique=500 dups=0 min=0 max=1199" \
    "$(seqstat "$T/out/all.jsonl")"

bad() { # NAME MATCH-YAML EXPECTED-FRAGMENT
    cat > "$T/bad.yaml" <<YAML
inputs:
  - Type: input_file
    FilePaths: [/tmp/x/*.log]
flushers:
  - Type: flusher_blackhole
    Match: $2
YAML
    local out rc=0
    out=$("$PETREL" check "$T/bad.yaml" 2>&1) || rc=$?
    check_eq "$1: check exits 1" 1 "$rc"
    check_contains "$1: message" "$out" "$3"
}
bad "unknown Match.Type" "{Type: color, Value: red}" \
    "[$T/bad.yaml:6] bad/flusher_blackhole.Match.Type: must be one of: event_type, tag; got 'color'"
bad "bad event type" "{Type: event_type, Value: logs}" \
    "bad/flusher_blackhole.Match.Value: must be log, metric or trace, got 'logs'"
bad "tag without Key" "{Type: tag, Value: x}" "bad/flusher_blackhole.Match.Key: required with Type tag"
bad "Match not a map" "log" "bad/flusher_blackhole.Match: must be a map with Type and Value"
finish
