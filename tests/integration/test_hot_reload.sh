#!/usr/bin/env bash
# Hot reload of a watched config dir while data flows: a changed flusher path takes effect
# without losing lines, a broken config is rejected (logged, counted) while the old pipeline keeps
# running, SIGHUP with nothing changed is harmless, pipelines start and stop with their files,
# and `enable: false` stops one.
set -euo pipefail
PT_NAME=test_hot_reload
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PORT=$(free_port)
URL=http://127.0.0.1:$PORT
LOG=$T/petrel.log
CONF=$T/conf
mkdir -p "$T/in" "$T/in2" "$T/out" "$CONF" "$T/data"
: >"$T/in/a.log"
OUT1=$T/out/out1.jsonl
OUT2=$T/out/out2.jsonl
OUTP2=$T/out/p2.jsonl

cat >"$T/petrel.yaml" <<EOF
data_dir: $T/data
log_level: info
admin: {enable: true, host: 127.0.0.1, port: $PORT}
EOF

# write_conf NAME CONTENT: replaces CONF/NAME atomically (as a ConfigMap update does); the
# temp name starts with a dot, which the config dir scan ignores.
write_conf() {
    printf '%s\n' "$2" >"$CONF/.$1.tmp"
    mv -f "$CONF/.$1.tmp" "$CONF/$1"
}

pipeline() { # FLUSHER_PATH [ENABLE]
    cat <<EOF
enable: ${2:-true}
inputs:
  - Type: input_file
    FilePaths: [$T/in/*.log]
processors:
  - Type: processor_parse_json_native
    SourceKey: content
flushers:
  - Type: flusher_file
    FilePath: $1
EOF
}

append() { # START COUNT [FILE]
    "$LOGGEN" --append "${3:-$T/in/a.log}" --count "$2" --start-seq "$1" --quiet
}

log_has() { grep -qF -- "$1" "$LOG"; }
log_count() { grep -cF -- "$1" "$LOG" || true; }
lines_ge() { [ "$(count_lines "$1")" -ge "$2" ]; }

write_conf p1.yaml "$(pipeline "$OUT1")"
start_bg "$LOG" "$PETREL" run --agent-config "$T/petrel.yaml" --config-dir "$CONF"
PID=$BG_PID
check "petrel becomes ready" wait_until 10 eval '[ "$(http_code $URL/readyz)" == 200 ]'

# ---------------------------------------------------------------- (a) data flows to out1
# A steady writer runs across the reload below: 1500 lines at 250 lines/s (6 s).
start_bg "$T/gen.log" "$LOGGEN" --append "$T/in/a.log" --count 1500 --start-seq 1 --rate 250 \
    --quiet
GEN=$BG_PID
check "(a) lines arrive in out1" wait_until 10 lines_ge "$OUT1" 100

# ---------------------------------------------------------------- (b) change the flusher path
write_conf p1.yaml "$(pipeline "$OUT2")"
check "(b) new lines land in out2 within 5 s" wait_until 5 lines_ge "$OUT2" 1
check "(b) the change is logged" log_has "pipeline p1 changed; replacing it once the old version drains"
gen_rc=0
wait_until 20 is_gone "$GEN" || gen_rc=timeout
wait "$GEN" 2>/dev/null || gen_rc=$?
check_eq "(b) the writer finished" 0 "$gen_rc"
check "(b) every seq 1..1500 arrives (out1 + out2)" wait_until 15 have_seqs 1 1500 "$OUT1" "$OUT2"
n1=$(count_lines "$OUT1")
s=$(SEQ_LO=1 SEQ_HI=1500 seqstat "$OUT1" "$OUT2")
echo "# out1+out2 after the reload: $s (out1 has $n1 lines)"
check_eq "(b) no seq lost across the reload" 0 "$(field missing "$s")"
check_eq "(b) every output line is a parsed event with a seq" 0 "$(field bad "$s")"
check_le "(b) duplicates across the reload are at most 10" 10 "$(field dups "$s")"
s1=$(seqstat "$OUT1")
s2=$(seqstat "$OUT2")
max1=$(field max "$s1")
min2=$(field min "$s2")
check "(b) out2 continues where out1 stopped (max out1 $max1 < min out2 $min2)" \
    eval '[[ "$max1" =~ ^[0-9]+$ && "$min2" =~ ^[0-9]+$ ]] && [ "$max1" -lt "$min2" ]'
sleep 1.5
check_eq "(b) out1 gets nothing after the reload" "$n1" "$(count_lines "$OUT1")"
check_ge "(b) reloads_total{ok} counts the reload" 1 \
    "$(metric "$URL/metrics" 'petrel_config_reloads_total{result="ok"}')"

# ---------------------------------------------------------------- (c) broken configs
ok_before=$(metric "$URL/metrics" 'petrel_config_reloads_total{result="ok"}')
write_conf p1.yaml "enable: true
inputs:
  - Type: input_file
    FilePaths: [$T/in/*.log
flushers:
  - Type: flusher_file
    FilePath: $T/out/out3.jsonl"
check "(c) invalid YAML: rejection logged" \
    wait_until 5 log_has "pipeline p1: new config rejected; the running version stays"
check_matches "(c) invalid YAML: error logged with [file:line]" "$(cat "$LOG")" \
    "error +\[$CONF/p1\.yaml:[45]\] p1: "
append 1501 100
check "(c) invalid YAML: lines appended afterwards arrive in out2" \
    wait_until 10 have_seqs 1501 1600 "$OUT2"

rejections=$(log_count "new config rejected")
write_conf p1.yaml "enable: true
inputs:
  - Type: input_file
    FilePaths: [$T/in/*.log]
    MaxDirSearchDepth: abc
flushers:
  - Type: flusher_file
    FilePath: $T/out/out3.jsonl"
check "(c) wrong type: rejection logged" \
    wait_until 5 eval '[ "$(log_count "new config rejected")" -gt "$rejections" ]'
check_contains "(c) wrong type: error with [file:line] and key" "$(cat "$LOG")" \
    "[$CONF/p1.yaml:5] p1/input_file.MaxDirSearchDepth: expected an integer, got 'abc'"
append 1601 100
check "(c) wrong type: lines appended afterwards arrive in out2" \
    wait_until 10 have_seqs 1601 1700 "$OUT2"
check "(c) petrel is still running" is_running "$PID"
check_eq "(c) /readyz still 200" 200 "$(http_code "$URL/readyz")"
check_ge "(c) reloads_total{failed} >= 2" 2 \
    "$(metric "$URL/metrics" 'petrel_config_reloads_total{result="failed"}')"
check_eq "(c) reloads_total{ok} unchanged by rejected configs" "$ok_before" \
    "$(metric "$URL/metrics" 'petrel_config_reloads_total{result="ok"}')"
check "(c) the rejected flusher path was never opened" test ! -e "$T/out/out3.jsonl"

# Restore the running version: identical content, so nothing restarts.
write_conf p1.yaml "$(pipeline "$OUT2")"
sleep 1.5

# A config that parses but cannot start: the flusher's directory would be under a regular file.
# Like a config that does not build, it must not take down the running version, and the failure
# must be counted.
failed_before=$(metric "$URL/metrics" 'petrel_config_reloads_total{result="failed"}')
write_conf p1.yaml "$(pipeline "$T/in/a.log/out.jsonl")"
check "(c) unstartable config: the start failure is logged" \
    wait_until 5 log_has "cannot open $T/in/a.log/out.jsonl: Not a directory"
append 1701 50
check "(c) unstartable config: the running version keeps delivering to out2" \
    wait_until 4 have_seqs 1701 1750 "$OUT2"
check "(c) unstartable config: petrel is still running" is_running "$PID"
check_ge "(c) unstartable config: counted in reloads_total{failed}" $((failed_before + 1)) \
    "$(metric "$URL/metrics" 'petrel_config_reloads_total{result="failed"}')"
# Whatever happened, restoring the good config must bring every line back.
write_conf p1.yaml "$(pipeline "$OUT2")"
check "(c) after restoring the good config, lines 1701..1750 are in out2" \
    wait_until 10 have_seqs 1701 1750 "$OUT2"
check_eq "(c) after restoring the good config, /readyz is 200" 200 "$(http_code "$URL/readyz")"
sleep 1.5

# ---------------------------------------------------------------- (d) SIGHUP, nothing changed
changed=$(log_count "pipeline p1 changed")
started=$(log_count "pipeline p1 started")
ok_before=$(metric "$URL/metrics" 'petrel_config_reloads_total{result="ok"}')
kill -HUP "$PID" 2>/dev/null || true
check "(d) SIGHUP is logged" wait_until 5 log_has "SIGHUP: reloading pipeline configs"
append 1751 100
check "(d) lines appended after SIGHUP arrive in out2" wait_until 10 have_seqs 1751 1850 "$OUT2"
sleep 0.5
check "(d) petrel is still running" is_running "$PID"
check_eq "(d) the pipeline was not replaced" "$changed/$started" \
    "$(log_count "pipeline p1 changed")/$(log_count "pipeline p1 started")"
s=$(SEQ_LO=1501 SEQ_HI=1850 seqstat "$OUT2")
check_eq "(d) out2 has seqs 1501..1850 exactly once" "missing=0 dups=0" \
    "missing=$(field missing "$s") dups=$(field dups "$s")"
check_eq "(d) reloads_total{ok} unchanged" "$ok_before" \
    "$(metric "$URL/metrics" 'petrel_config_reloads_total{result="ok"}')"

# ---------------------------------------------------------------- (e) add and remove a pipeline
write_conf p2.yaml "enable: true
inputs:
  - Type: input_file
    FilePaths: [$T/in2/*.log]
flushers:
  - Type: flusher_file
    FilePath: $OUTP2"
check "(e) the new pipeline starts" wait_until 5 log_has "pipeline p2 started"
append 1 50 "$T/in2/b.log"
check "(e) its output appears" wait_until 10 have_seqs 1 50 "$OUTP2"
check "(e) p2 shows up in /metrics" wait_until 3 eval \
    '[ -n "$(metric "$URL/metrics" "petrel_plugin_events_in_total{pipeline=\"p2\",plugin=\"input_file\"}")" ]'

rm -f "$CONF/p2.yaml"
check "(e) deleting the file stops the pipeline" \
    wait_until 5 log_has "pipeline p2 removed ($CONF/p2.yaml is gone); stopping it"
append 51 50 "$T/in2/b.log"
append 1851 50
# p1 still runs: once its lines are in, p2 has had the same time to (wrongly) read its own.
check "(e) p1 keeps running" wait_until 10 have_seqs 1851 1900 "$OUT2"
sleep 1.5
check_eq "(e) nothing more reaches p2's output" 50 "$(count_lines "$OUTP2")"

# ---------------------------------------------------------------- (f) enable: false
write_conf p1.yaml "$(pipeline "$OUT2" false)"
check "(f) disabling is logged" wait_until 5 log_has "pipeline p1 disabled (enable: false); stopping it"
n2=$(count_lines "$OUT2")
append 1901 50
sleep 3
check_eq "(f) a disabled pipeline reads nothing more" "$n2" "$(count_lines "$OUT2")"
check "(f) petrel is still running" is_running "$PID"
write_conf p1.yaml "$(pipeline "$OUT2")"
check "(f) enable: true again resumes and reads what was written meanwhile" \
    wait_until 10 have_seqs 1901 1950 "$OUT2"
sleep 1
s=$(SEQ_LO=1501 SEQ_HI=1950 seqstat "$OUT2")
check_eq "(f) out2 has seqs 1501..1950 exactly once" "missing=0 dups=0" \
    "missing=$(field missing "$s") dups=$(field dups "$s")"

# ---------------------------------------------------------------- shutdown
stop_pid "$PID" TERM 5
check_eq "SIGTERM: exit status 0" 0 "$STOP_RC"
rep=$(sanitizer_report "$LOG")
check_eq "no sanitizer reports" "" "$rep"

finish
