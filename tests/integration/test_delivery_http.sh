#!/usr/bin/env bash
# Delivery end to end through flusher_http to a local HTTP sink (tests/lib/http_sink.py, a
# strict HTTP/1.1 server from Python's standard library): exactly-once in the good case, a sink
# outage bridged by the spool, 400 to dead letters without retries, 429 + Retry-After honoured,
# SIGTERM with a dead sink spooling everything within 1 s, kill -9 at random moments, spool
# corruption skipped and counted, and the spool cap holding intake back.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

SINK_PORT=$(free_port)
ADMIN_PORT=$(free_port)
SINK_PID=
mkdir -p "$T/logs" "$T/sink"
MODE=$T/sink/mode
echo ok > "$MODE"

sink_start() {
    start_bg "$T/sink/stderr" python3 "$PT_SOURCE_DIR/tests/lib/http_sink.py" "$SINK_PORT" \
        "$T/sink/out.jsonl" "$MODE"
    SINK_PID=$BG_PID
    wait_until 5 curl -s -o /dev/null -X POST --max-time 1 "http://127.0.0.1:$SINK_PORT/ping" || true
    : > "$T/sink/out.jsonl.tmp"
}
sink_stop() {
    [ -n "$SINK_PID" ] && stop_pid "$SINK_PID" KILL 2
    SINK_PID=
}

write_config() { # $1 = extra flusher lines, $2 = compression (default gzip)
    cat > "$T/p.yaml" <<YAML
inputs:
  - Type: input_file
    FilePaths: [$T/logs/*.log]
    TailingAllMatchedFiles: true
    CheckpointIntervalMs: 200
processors:
  - Type: processor_parse_json_native
    SourceKey: content
flushers:
  - Type: flusher_http
    RemoteURL: http://127.0.0.1:$SINK_PORT/ingest
    Convert:
      Protocol: jsonline
    Compression: ${2:-gzip}
    Timeout: 2s
    Retry:
      InitialDelayMs: 200
      MaxDelayMs: 1000
$1
YAML
    cat > "$T/agent.yaml" <<YAML
admin: {enable: true, port: $ADMIN_PORT}
shutdown_timeout_ms: 500
YAML
}

PID=
petrel_start() {
    start_bg "$T/petrel.log" "$PETREL" run --agent-config "$T/agent.yaml" --config "$T/p.yaml" \
        --data-dir "$T/data"
    PID=$BG_PID
    wait_until 5 curl -sf -o /dev/null "http://127.0.0.1:$ADMIN_PORT/healthz" || true
}
M="http://127.0.0.1:$ADMIN_PORT/metrics"
SEL='pipeline="p",plugin="flusher_http"'

sink_count() { python3 - "$T/sink/out.jsonl" <<'PY'
import json, sys
n = 0
try:
    for line in open(sys.argv[1], "rb"):
        if line.strip():
            n += 1
except OSError:
    pass
print(n)
PY
}
have_lines() { [ "$(sink_count)" -ge "$1" ]; }
all_seqs() { # N: every seq 0..N-1 at least once in the sink; prints the stats
    SEQ_LO=0 SEQ_HI=$(($1 - 1)) seqstat "$T/sink/out.jsonl"
}

# --- 1. good case: exactly once, gzip bodies ---------------------------------------------------
write_config ""
sink_start
"$LOGGEN" --append "$T/logs/a.log" --count 2000 --prefix a > /dev/null 2>&1
petrel_start
wait_until 20 have_lines 2000 || true
st=$(all_seqs 2000)
check_contains "1: all 2000 lines arrive" "$st" "missing=0"
check_contains "1: none twice" "$st" "dups=0"

# --- 2. outage: the sink is down while lines keep coming; the spool bridges it -------------------
sink_stop
"$LOGGEN" --append "$T/logs/a.log" --count 6000 --start-seq 2000 --rate 1500 --prefix a \
    > /dev/null 2>&1 &
W=$!
sleep 2
spool_bytes=$(metric "$M" "petrel_spool_bytes{$SEL}")
check_ge "2: data goes to the spool while the sink is down" 1 "${spool_bytes:-0}"
wait "$W"
ckpt_at_end() {
    [ "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["files"][0]["offset"])' \
        "$T/data/checkpoints/p.json")" = "$(stat -c %s "$T/logs/a.log")" ]
}
wait_until 5 ckpt_at_end && ok "2: checkpoints reach the end while the sink is down (spooled = acked)" \
    || not_ok "2: checkpoints reach the end while the sink is down (spooled = acked)"
retries=$(metric "$M" "petrel_flusher_retries_total{$SEL}")
check_ge "2: retries counted" 1 "${retries:-0}"
sink_start
wait_until 30 have_lines 8000 || true
st=$(all_seqs 8000)
check_contains "2: after the outage every line arrived" "$st" "missing=0"
wait_until 10 sh -c "[ \"\$(curl -s $M | grep -F 'petrel_spool_records{$SEL}' | awk '{print \$2}')\" = 0 ]" \
    && ok "2: the spool drains to empty" || not_ok "2: the spool drains to empty"

# --- 3. 400: dead letter, no retry loop --------------------------------------------------------
echo "status 400" > "$MODE"
r0=$(metric "$M" "petrel_flusher_retries_total{$SEL}")
"$LOGGEN" --append "$T/logs/a.log" --count 10 --start-seq 8000 --prefix a > /dev/null 2>&1
wait_until 10 test -s "$T/data/deadletter/p/flusher_http/index.jsonl" || true
sleep 1
idx=$(cat "$T/data/deadletter/p/flusher_http/index.jsonl" 2>/dev/null || true)
check_contains "3: a 400 is written to the dead-letter index with its status" "$idx" '"status":"HTTP 400"'
r1=$(metric "$M" "petrel_flusher_retries_total{$SEL}")
check_eq "3: a 400 is never retried" "$r0" "$r1"
dead=$(metric "$M" "petrel_flusher_dead_letters_total{$SEL}")
check_ge "3: dead letters counted" 1 "${dead:-0}"
payload=$(ls "$T/data/deadletter/p/flusher_http/"*.payload | head -1)
check_contains "3: the dead-letter payload holds the refused lines" \
    "$(gzip -dc "$payload" | head -c 200)" '"seq":"800'

# --- 4. 429 with Retry-After: 2 is honoured ----------------------------------------------------
echo "status 429 2" > "$MODE"
: > "$T/sink/out.jsonl.log"
"$LOGGEN" --append "$T/logs/a.log" --count 10 --start-seq 9000 --prefix a > /dev/null 2>&1
wait_until 10 sh -c "grep -q ' 429 ' '$T/sink/out.jsonl.log'" || true
sleep 0.3
echo ok > "$MODE"
wait_until 15 sh -c "grep -q ' 200 ' '$T/sink/out.jsonl.log'" || true
gap=$(python3 - "$T/sink/out.jsonl.log" <<'PY'
import sys
t429 = t200 = None
for line in open(sys.argv[1]):
    t, code = line.split()[:2]
    if code == "429" and t429 is None:
        t429 = float(t)
    if code == "200" and t429 is not None and t200 is None:
        t200 = float(t)
print(int((t200 - t429) * 1000) if t429 and t200 else -1)
PY
)
check_ge "4: the retry after a 429 waits for Retry-After (>= 2000 ms, got $gap)" 1950 "$gap"

# --- 5. SIGTERM with a dead sink: exit 0 within 1 s, everything spooled, delivered next start ---
sink_stop
"$LOGGEN" --append "$T/logs/a.log" --count 500 --start-seq 10000 --prefix a > /dev/null 2>&1
sleep 1
stop_pid "$PID" TERM 3
check_eq "5: SIGTERM exits 0" 0 "$STOP_RC"
check_le "5: ... within 1 s (${STOP_MS} ms)" 1000 "$STOP_MS"
recs=$(ls "$T/data/spool/p/flusher_http/" | grep -c '^seg-' || true)
check_ge "5: the spool holds the undelivered data" 1 "$recs"
sink_start
petrel_start
wait_until 20 sh -c "python3 -c \"
import json
s=set(int(json.loads(l)['seq']) for l in open('$T/sink/out.jsonl') if l.strip())
raise SystemExit(0 if all(i in s for i in range(10000,10500)) else 1)\"" \
    && ok "5: the next start delivers the spooled lines" || not_ok "5: spooled lines delivered"

# --- 5b. SIGTERM while requests hang in flight: still exits 0 within 1 s; spooled, delivered ---
echo hang > "$MODE"
"$LOGGEN" --append "$T/logs/a.log" --count 300 --start-seq 15000 --prefix a > /dev/null 2>&1
wait_until 10 grep -q ' hang ' "$T/sink/out.jsonl.log" \
    && ok "5b: a request is stuck in flight" || not_ok "5b: a request is stuck in flight"
stop_pid "$PID" TERM 3
check_eq "5b: SIGTERM with requests stuck in flight exits 0" 0 "$STOP_RC"
check_le "5b: ... within 1 s (${STOP_MS} ms)" 1000 "$STOP_MS"
sink_stop
echo ok > "$MODE"
sink_start
petrel_start
wait_until 20 sh -c "python3 -c \"
import json
s=set(int(json.loads(l)['seq']) for l in open('$T/sink/out.jsonl') if l.strip())
raise SystemExit(0 if all(i in s for i in range(15000,15300)) else 1)\"" \
    && ok "5b: the lines that were in flight are delivered after restart" \
    || not_ok "5b: lines in flight at SIGTERM were lost"

# --- 6. kill -9 at 20 random moments while tailing and sending: nothing lost ---------------------
"$LOGGEN" --append "$T/logs/a.log" --count 12000 --start-seq 20000 --rate 1200 --prefix a \
    > /dev/null 2>&1 &
W=$!
for i in $(seq 1 20); do
    sleep "0.$((RANDOM % 6 + 3))"
    stop_pid "$PID" KILL 2
    petrel_start
done
wait "$W"
wait_until 30 sh -c "python3 -c \"
import json
s=set(int(json.loads(l)['seq']) for l in open('$T/sink/out.jsonl') if l.strip())
raise SystemExit(0 if all(i in s for i in range(20000,32000)) else 1)\"" \
    && ok "6: after 20 kill -9 every line arrived" || not_ok "6: lines lost after kill -9"
dups=$(python3 -c "
import json
c={}
for l in open('$T/sink/out.jsonl'):
    if l.strip():
        s=int(json.loads(l)['seq'])
        if 20000 <= s < 32000: c[s]=c.get(s,0)+1
print(sum(v-1 for v in c.values()))")
echo "# duplicates after 20 kill -9: $dups of 12000 lines"
check_le "6: duplicates bounded by what was in flight (< 12000)" 11999 "$dups"

# --- 7. spool corruption: flip bytes, truncate, delete the ledger -> start, skip, count, deliver -
stop_pid "$PID" TERM 3
sink_stop
"$LOGGEN" --append "$T/logs/a.log" --count 3000 --start-seq 40000 --prefix a > /dev/null 2>&1
petrel_start
sleep 2
stop_pid "$PID" TERM 3
SP=$T/data/spool/p/flusher_http
segs=$(ls "$SP" | grep '^seg-' | sort)
first=$(echo "$segs" | head -1)
python3 - "$SP/$first" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
for at in (30, len(b) // 2):      # flip a byte in the first record and in the middle
    if at < len(b):
        b[at] ^= 0xFF
open(p, "wb").write(b[: len(b) - 7])  # and cut the tail of the segment
PY
rm -f "$SP/ledger"
sink_start
petrel_start
wait_until 20 sh -c "[ -n \"\$(curl -s $M | grep -F 'petrel_spool_corrupt_records_total{$SEL}')\" ]" || true
corrupt=$(metric "$M" "petrel_spool_corrupt_records_total{$SEL}")
check_ge "7: corrupt records are skipped and counted" 1 "${corrupt:-0}"
check "7: petrel started on a corrupt spool" is_running "$PID"
wait_until 20 sh -c "[ \"\$(curl -s $M | grep -F 'petrel_spool_records{$SEL}' | awk '{print \$2}')\" = 0 ]" \
    && ok "7: the rest of the spool is delivered" || not_ok "7: the rest of the spool is delivered"

# --- 8. spool cap: intake is held back, nothing dropped, it resumes -----------------------------
stop_pid "$PID" TERM 3
sink_stop
write_config "    Spool:
      MaxBytes: 1048576" none
petrel_start
"$LOGGEN" --append "$T/logs/a.log" --count 40000 --start-seq 50000 --prefix a > /dev/null 2>&1
sleep 3
lag=$(metric "$M" 'petrel_input_file_lag_bytes{pipeline="p",plugin="input_file"}')
sb=$(metric "$M" "petrel_spool_bytes{$SEL}")
check_le "8: the spool stays under its cap (${sb} bytes)" 1048576 "${sb:-0}"
dropped=$(metric "$M" "petrel_spool_dropped_records_total{$SEL}")
check_eq "8: nothing is dropped at the cap" 0 "${dropped:-0}"
ckpt=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["files"][0]["offset"])' \
    "$T/data/checkpoints/p.json")
size=$(stat -c %s "$T/logs/a.log")
check "8: intake is held back (checkpoint $ckpt < size $size)" test "$ckpt" -lt "$size"
sink_start
wait_until 40 sh -c "python3 -c \"
import json
s=set(int(json.loads(l)['seq']) for l in open('$T/sink/out.jsonl') if l.strip())
raise SystemExit(0 if all(i in s for i in range(50000,90000)) else 1)\"" \
    && ok "8: after the sink recovers every line arrives" || not_ok "8: lines lost at the spool cap"
stop_pid "$PID" TERM 3
check_eq "SIGTERM at the end exits 0" 0 "$STOP_RC"
if grep -qE 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$T/petrel.log"; then
    not_ok "no sanitizer reports" "$(grep -E 'Sanitizer|runtime error' "$T/petrel.log" | head)"
else
    ok "no sanitizer reports"
fi
finish
