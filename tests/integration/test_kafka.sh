#!/usr/bin/env bash
# flusher_kafka end to end: input_file -> flusher_kafka_v2 -> librdkafka's mock cluster (3
# brokers in petrel-kafka-mock, driven through its command FIFO), read back with kcat. The oracle
# is the sequence numbers petrel-loggen writes: every one must arrive, through injected produce
# errors, a broker taken down and back, all brokers down longer than MessageTimeoutMs (the spool
# bridges it), SIGTERM with the brokers down and kill -9 at random moments; a message over
# MaxMessageBytes goes to the dead-letter dir, readable, and is not retried.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

MOCK=$PT_BUILD_DIR/petrel-kafka-mock
if ! command -v kcat >/dev/null || [ ! -x "$MOCK" ]; then
    echo "not ok - kcat and petrel-kafka-mock are needed (apt-get install kcat; build the tree)"
    PT_FAIL=1
    finish
fi
ADMIN_PORT=$(free_port)
mkdir -p "$T/logs"
CTL=$T/mock.ctl
start_bg "$T/mock.log" "$MOCK" --brokers 3 --topic events:6:3 --ctl "$CTL" \
    --bootstrap-file "$T/bootstrap"
MOCK_PID=$BG_PID
wait_until 5 test -s "$T/bootstrap" || true
BS=$(cat "$T/bootstrap")
check "the mock cluster is up with 3 brokers" test "$(tr ',' '\n' <<<"$BS" | wc -l)" -eq 3

# mock CMD...: runs one command on the mock cluster and waits for its answer.
mock() {
    local n
    n=$(grep -c '' "$T/mock.log" || true)
    echo "$*" > "$CTL"
    wait_until 5 sh -c "tail -n +$((n + 1)) '$T/mock.log' | grep -q -- '$*'" || true
    tail -n +$((n + 1)) "$T/mock.log" | grep -q -- "^OK $*" || not_ok "mock command '$*' failed"
}

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
  - Type: flusher_kafka_v2
    Brokers: [$BS]
    Topic: events
    MaxMessageBytes: 20000
    MessageTimeoutMs: 3000
    Headers:
      - key: origin
        value: petrel
    Kafka:
      reconnect.backoff.max.ms: 300
    Retry:
      InitialDelayMs: 200
      MaxDelayMs: 1000
YAML
cat > "$T/agent.yaml" <<YAML
admin: {enable: true, port: $ADMIN_PORT}
shutdown_timeout_ms: 500
YAML
M="http://127.0.0.1:$ADMIN_PORT/metrics"
SEL='pipeline="p",plugin="flusher_kafka_v2"'

PID=
petrel_start() {
    start_bg "$T/petrel.log" "$PETREL" run --agent-config "$T/agent.yaml" --config "$T/p.yaml" \
        --data-dir "$T/data"
    PID=$BG_PID
    wait_until 5 curl -sf -o /dev/null "http://127.0.0.1:$ADMIN_PORT/healthz" || true
}

# The topic as "seq" lines (and the raw messages in $T/topic.txt), read with kcat to its end.
read_topic() {
    timeout 20 kcat -b "$BS" -C -t events -o beginning -e -q -f '%h\t%k\t%s\n' \
        > "$T/topic.txt" 2>"$T/kcat.err" || true
}
# seqs LO HI: "unique=U dups=D missing=M" for the seqs of [LO, HI] in the topic.
seqs() {
    read_topic
    python3 - "$T/topic.txt" "$1" "$2" <<'PY'
import json, sys
lo, hi = int(sys.argv[2]), int(sys.argv[3])
seen = {}
for line in open(sys.argv[1], "rb"):
    parts = line.rstrip(b"\n").split(b"\t", 2)
    if len(parts) != 3:
        continue
    try:
        seq = int(json.loads(parts[2])["contents"]["seq"])
    except Exception:
        continue
    if lo <= seq <= hi:
        seen[seq] = seen.get(seq, 0) + 1
print("unique=%d dups=%d missing=%d" % (len(seen), sum(c - 1 for c in seen.values()),
                                        sum(1 for s in range(lo, hi + 1) if s not in seen)))
PY
}
all_in() { [ "$(field missing "$(seqs "$1" "$2")")" == "0" ]; }
ckpt_at_end() {
    [ "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["files"][0]["offset"])' \
        "$T/data/checkpoints/p.json" 2>/dev/null)" = "$(stat -c %s "$T/logs/a.log")" ]
}
spool_records() { metric "$M" "petrel_spool_records{$SEL}"; }

# --- 1. good case: every line once, with the header, acknowledged on delivery ------------------
"$LOGGEN" --append "$T/logs/a.log" --count 2000 --prefix a > /dev/null 2>&1
petrel_start
wait_until 20 all_in 0 1999 || true
st=$(seqs 0 1999)
check_contains "1: all 2000 lines arrive in Kafka" "$st" "missing=0"
check_contains "1: none twice" "$st" "dups=0"
first=$(head -1 "$T/topic.txt")
check_contains "1: messages carry the configured header" "$first" "origin=petrel"
check_contains "1: custom_single layout with the file tag" "$first" \
    "\"tags\":{\"__path__\":\"$T/logs/a.log\"}"
wait_until 5 ckpt_at_end && ok "1: the checkpoint reaches the end" \
    || not_ok "1: the checkpoint reaches the end"
delivered=$(metric "$M" "petrel_kafka_messages_delivered_total{$SEL}")
check_eq "1: 2000 delivery reports counted" 2000 "${delivered:-0}"

# --- 2. injected produce errors (retriable): retried by librdkafka, and from the spool when a ---
# batch outlasts MessageTimeoutMs (3 s here); no loss, and no duplicate (idempotent producer) --
mock err 0 NOT_LEADER_FOR_PARTITION 30
mock err 0 REQUEST_TIMED_OUT 10
mock err 0 NOT_ENOUGH_REPLICAS 10
"$LOGGEN" --append "$T/logs/a.log" --count 3000 --start-seq 10000 --rate 3000 --prefix a \
    > /dev/null 2>&1
wait_until 20 all_in 10000 12999 || true
st=$(seqs 10000 12999)
check_contains "2: with 50 produce errors injected, all 3000 lines arrive" "$st" "missing=0"
check_contains "2: ... none twice (idempotent producer)" "$st" "dups=0"

# --- 3. a broker down and back while lines arrive -----------------------------------------------
mock down 1
"$LOGGEN" --append "$T/logs/a.log" --count 2000 --start-seq 20000 --rate 2000 --prefix a \
    > /dev/null 2>&1
sleep 1
mock up 1
wait_until 25 all_in 20000 21999 || true
st=$(seqs 20000 21999)
check_contains "3: broker 1 down for 2 s: all 2000 lines arrive" "$st" "missing=0"

# --- 4. all brokers down longer than MessageTimeoutMs: the spool bridges the outage ----------
mock down 1
mock down 2
mock down 3
r0=$(metric "$M" "petrel_flusher_retries_total{$SEL}")
"$LOGGEN" --append "$T/logs/a.log" --count 1000 --start-seq 30000 --rate 1000 --prefix a \
    > /dev/null 2>&1
wait_until 15 sh -c "[ \"\$(curl -s $M | grep -F 'petrel_spool_records{$SEL}' | awk '{print \$2}')\" != 0 ]" \
    && ok "4: timed-out batches go to the spool" || not_ok "4: timed-out batches go to the spool"
wait_until 15 ckpt_at_end && ok "4: the checkpoint reaches the end while Kafka is down (spooled)" \
    || not_ok "4: the checkpoint reaches the end while Kafka is down (spooled)"
r1=$(metric "$M" "petrel_flusher_retries_total{$SEL}")
check "4: retries counted ($r0 -> $r1)" test "${r1:-0}" -gt "${r0:-0}"
mock up 1
mock up 2
mock up 3
wait_until 30 all_in 30000 30999 || true
st=$(seqs 30000 30999)
check_contains "4: after the outage every line arrived" "$st" "missing=0"
wait_until 10 sh -c "[ \"\$(curl -s $M | grep -F 'petrel_spool_records{$SEL}' | awk '{print \$2}')\" = 0 ]" \
    && ok "4: the spool drains to empty" || not_ok "4: the spool drains to empty"

# --- 5. a message over MaxMessageBytes: dead letter, readable, not retried ----------------------
r0=$(metric "$M" "petrel_flusher_retries_total{$SEL}")
python3 -c 'import json; print(json.dumps({"seq": 40000, "src": "big", "msg": "B" * 30000}))' \
    >> "$T/logs/a.log"
"$LOGGEN" --append "$T/logs/a.log" --count 10 --start-seq 40001 --prefix a > /dev/null 2>&1
DL=$T/data/deadletter/p/flusher_kafka_v2
wait_until 10 test -s "$DL/index.jsonl" || true
idx=$(cat "$DL/index.jsonl" 2>/dev/null || true)
check_contains "5: the refused message is in the dead-letter index with Kafka's reason" "$idx" \
    'Message size too large (1 of'
dead=$(ls "$DL"/*.payload 2>/dev/null | head -1)
check "5: the dead-letter payload holds the big line" grep -q 'BBBBBBBBBB' "${dead:-/dev/null}"
wait_until 10 all_in 40001 40010 || true
st=$(seqs 40000 40010)
check_contains "5: the other lines of the batch arrive" "$st" "missing=1"
sleep 1
r1=$(metric "$M" "petrel_flusher_retries_total{$SEL}")
check_eq "5: a permanent error is not retried" "$r0" "$r1"

# --- 6. SIGTERM with all brokers down: exit 0 within 1 s, spooled, delivered after restart -------
mock down 1
mock down 2
mock down 3
"$LOGGEN" --append "$T/logs/a.log" --count 500 --start-seq 50000 --prefix a > /dev/null 2>&1
sleep 1
stop_pid "$PID" TERM 5
check_eq "6: SIGTERM exits 0" 0 "$STOP_RC"
check_le "6: ... within 1 s (${STOP_MS} ms)" 1000 "$STOP_MS"
segs=$(ls "$T/data/spool/p/flusher_kafka_v2/" 2>/dev/null | grep -c '^seg-' || true)
check_ge "6: the spool holds what was in flight" 1 "$segs"
mock up 1
mock up 2
mock up 3
petrel_start
wait_until 25 all_in 50000 50499 || true
st=$(seqs 50000 50499)
check_contains "6: the next start delivers every line" "$st" "missing=0"

# --- 7. kill -9 at random moments while lines arrive: nothing lost ------------------------------
"$LOGGEN" --append "$T/logs/a.log" --count 6000 --start-seq 60000 --rate 2500 --prefix a \
    > /dev/null 2>&1 &
W=$!
for i in 1 2 3 4; do
    sleep "0.$((RANDOM % 6 + 3))"
    stop_pid "$PID" KILL 2
    petrel_start
done
wait "$W"
wait_until 30 all_in 60000 65999 || true
st=$(seqs 60000 65999)
check_contains "7: after 4 kill -9 every line arrived ($st)" "$st" "missing=0"

stop_pid "$PID" TERM 5
check_eq "SIGTERM at the end exits 0" 0 "$STOP_RC"
stop_pid "$MOCK_PID" TERM 5
rep=$(sanitizer_report "$T/petrel.log")
check_eq "no sanitizer reports" "" "$rep"
if grep -qE 'hunter|password' "$T/petrel.log"; then
    not_ok "no secret in the log"
else
    ok "no secret in the log"
fi
finish
