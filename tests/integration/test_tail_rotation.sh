#!/usr/bin/env bash
# Rotation torture on real files: a writer process emits numbered lines at a high rate while a
# rotator process rotates the file many times per second, as logrotate does ("create": rename,
# "copytruncate": copy then truncate, and delete + create). Asserted with the sequence numbers:
# rename and delete rotation lose nothing and duplicate nothing; copytruncate reports what its
# copy window lost. Then: a file deleted while a writer keeps it open is read to its end and
# closed after DeletedFileMaxHoldSecs; idle files give their descriptor back and are reopened on
# change (CloseUnusedReaderIntervalSec); MaxOpenFiles with 100 busy files reads them all in turns.
set -euo pipefail
PT_NAME=test_tail_rotation
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
TORTURE="python3 $PT_SOURCE_DIR/tests/lib/logtorture.py"

PORT=$(free_port)
URL=http://127.0.0.1:$PORT
LOG=$T/petrel.log
mkdir -p "$T/conf" "$T/data"
cat >"$T/petrel.yaml" <<EOF
data_dir: $T/data
admin: {enable: true, host: 127.0.0.1, port: $PORT}
EOF

# pipeline NAME EXTRA_INPUT_YAML: one input_file on $T/NAME/app.log -> $T/out/NAME.jsonl
pipeline() {
    mkdir -p "$T/$1"
    cat >"$T/conf/$1.yaml" <<EOF
inputs:
  - Type: input_file
    FilePaths: [$T/$1/app.log]
    RotateWaitSecs: 1
$2
aggregators:
  - Type: aggregator_default
    TimeoutMs: 100
flushers:
  - Type: flusher_file
    FilePath: $T/out/$1.jsonl
    MaxFileSize: 0
EOF
}
m() { # NAME METRIC
    metric "$URL/metrics" "$2{pipeline=\"$1\",plugin=\"input_file\"}"
}

N=40000
RATE=20000
pipeline rename ""
pipeline copytrunc ""
pipeline delete ""
pipeline held "    DeletedFileMaxHoldSecs: 2"
pipeline idle "    CloseUnusedReaderIntervalSec: 1"
mkdir -p "$T/many"
cat >"$T/conf/many.yaml" <<EOF
inputs:
  - Type: input_file
    FilePaths: [$T/many/*.log]
    MaxOpenFiles: 10
aggregators:
  - Type: aggregator_default
    TimeoutMs: 100
flushers:
  - Type: flusher_file
    FilePath: $T/out/many.jsonl
    MaxFileSize: 0
EOF

start_bg "$LOG" "$PETREL" run --agent-config "$T/petrel.yaml" --config-dir "$T/conf"
PID=$BG_PID
wait_until 10 eval '[ "$(http_code $URL/readyz)" == 200 ]' || true
check_eq "petrel is ready" 200 "$(http_code "$URL/readyz")"

# torture MODE NAME INTERVAL: writer + rotator; prints the rotator's and writer's summaries.
torture() {
    local mode=$1 name=$2 interval=$3
    rm -f "$T/stop-$name"
    $TORTURE rotator "$T/$name/app.log" --mode "$mode" --interval "$interval" --keep 5 \
        --stop-file "$T/stop-$name" >"$T/rot-$name.txt" &
    local rot=$!
    $TORTURE writer "$T/$name/app.log" --count $N --rate $RATE --pad 80 >"$T/wr-$name.txt"
    touch "$T/stop-$name"
    wait "$rot"
}

# ---- rename ("create") rotation, 20 times a second ------------------------------------------
torture rename rename 0.05
rot=$(cat "$T/rot-rename.txt")
echo "# rename: $rot; writer: $(cat "$T/wr-rename.txt")"
wait_until 20 have_seqs 0 $((N - 1)) "$T/out/rename.jsonl" || true
s=$(SEQ_LO=0 SEQ_HI=$((N - 1)) seqstat "$T/out/rename.jsonl")
echo "# rename: $s"
check_ge "rename: the rotator rotated at least 20 times" 20 "$(field rotations "$rot")"
check_eq "rename: nothing lost" 0 "$(field missing "$s")"
check_eq "rename: nothing duplicated" 0 "$(field dups "$s")"
check_eq "rename: no partial or corrupt line" 0 "$(field bad "$s")"
check_ge "rename: rotations are counted" 10 "$(m rename petrel_input_file_rotations_total)"

# ---- delete + create, 10 times a second -------------------------------------------------------
torture delete delete 0.1
rot=$(cat "$T/rot-delete.txt")
wait_until 20 have_seqs 0 $((N - 1)) "$T/out/delete.jsonl" || true
s=$(SEQ_LO=0 SEQ_HI=$((N - 1)) seqstat "$T/out/delete.jsonl")
echo "# delete: $rot; $s"
check_ge "delete: the file was deleted at least 10 times" 10 "$(field rotations "$rot")"
check_eq "delete: nothing lost" 0 "$(field missing "$s")"
check_eq "delete: nothing duplicated" 0 "$(field dups "$s")"
check_eq "delete: no partial or corrupt line" 0 "$(field bad "$s")"

# ---- copytruncate, 10 times a second: the copy window loses lines by design ---------------------
torture copytruncate copytrunc 0.1
rot=$(cat "$T/rot-copytrunc.txt")
sleep 2
s=$(SEQ_LO=0 SEQ_HI=$((N - 1)) seqstat "$T/out/copytrunc.jsonl")
echo "# copytruncate: $rot; $s"
echo "# copytruncate: lines lost in the copy window: $(field missing "$s") of $N"
check_ge "copytruncate: truncations detected and counted" \
    "$(($(field rotations "$rot") / 2))" "$(m copytrunc petrel_input_file_truncations_total)"
check_eq "copytruncate: nothing duplicated" 0 "$(field dups "$s")"
check_eq "copytruncate: no partial or corrupt line" 0 "$(field bad "$s")"
check_le "copytruncate: losses stay within the copy windows (< 5%)" $((N / 20)) \
    "$(field missing "$s")"
check_contains "copytruncate: the truncation is logged" "$(cat "$LOG")" \
    "[copytrunc/input_file] $T/copytrunc/app.log was truncated"

# ---- deleted while a writer keeps it open: read to its end, closed after a bounded time ------
python3 - "$T/held/app.log" "$T/held-stop" <<'PY' &
import json, os, sys, time
path, stop = sys.argv[1], sys.argv[2]
fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
seq = 50000
def put(n):
    global seq
    for _ in range(n):
        os.write(fd, (json.dumps({"seq": seq}) + "\n").encode())
        seq += 1
put(100)
time.sleep(0.5)
os.unlink(path)          # deleted while open ...
put(100)                 # ... and still written
time.sleep(0.5)
put(100)
while not os.path.exists(stop):
    time.sleep(0.1)      # keeps the descriptor open
os.close(fd)
PY
HW=$!
check "deleted file: lines written after the deletion arrive" \
    wait_until 10 have_seqs 50000 50299 "$T/out/held.jsonl"
check_eq "deleted file: it is held open (files_deleted_open)" 1 \
    "$(m held petrel_input_file_files_deleted_open)"
wait_until 10 eval '[ "$(m held petrel_input_file_files_deleted_open)" == 0 ]' || true
check_eq "deleted file: closed within DeletedFileMaxHoldSecs though the writer holds it" 0 \
    "$(m held petrel_input_file_files_deleted_open)"
check_contains "deleted file: its close is logged" "$(cat "$LOG")" \
    "[held/input_file] closed $T/held/app.log (deleted, read to its end)"
touch "$T/held-stop"
wait "$HW"
s=$(SEQ_LO=50000 SEQ_HI=50299 seqstat "$T/out/held.jsonl")
check_eq "deleted file: exactly once" "0 0" "$(field missing "$s") $(field dups "$s")"

# ---- idle files give their descriptor back and are reopened on change -----------------------
$TORTURE lines "$T/idle/app.log" --start 60000 --count 100
check "idle: first lines arrive" wait_until 10 have_seqs 60000 60099 "$T/out/idle.jsonl"
wait_until 10 eval '[ "$(m idle petrel_input_file_files_open)" == 0 ]' || true
check_eq "idle: the descriptor is closed after CloseUnusedReaderIntervalSec" 0 \
    "$(m idle petrel_input_file_files_open)"
$TORTURE lines "$T/idle/app.log" --start 60100 --count 100
check "idle: lines appended later arrive (reopened)" \
    wait_until 10 have_seqs 60100 60199 "$T/out/idle.jsonl"
s=$(SEQ_LO=60000 SEQ_HI=60199 seqstat "$T/out/idle.jsonl")
check_eq "idle: exactly once across the close and reopen" "0 0" \
    "$(field missing "$s") $(field dups "$s")"

# ---- 100 busy files, at most 10 descriptors: every file is read, in turns ------------------
python3 - "$T/many" <<'PY' &
import json, os, sys, time
d = sys.argv[1]
fds = [os.open(os.path.join(d, "f%03d.log" % i), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
       for i in range(100)]
for r in range(50):                 # 50 rounds of one line per file, over ~2.5 s
    for i, fd in enumerate(fds):
        os.write(fd, (json.dumps({"seq": 200000 + i * 1000 + r}) + "\n").encode())
    time.sleep(0.05)
PY
MW=$!
maxopen=0
for _ in $(seq 1 25); do
    o=$(m many petrel_input_file_files_open)
    [ -n "$o" ] && [ "$o" -gt "$maxopen" ] && maxopen=$o
    sleep 0.1
done
wait "$MW"
want_all() {
    python3 - "$T/out/many.jsonl" <<'PY'
import json, sys
seen = set()
for line in open(sys.argv[1], "rb"):
    try:
        ev = json.loads(line)
        seen.add(int(json.loads(ev["content"])["seq"]))
    except Exception:
        pass
want = {200000 + i * 1000 + r for i in range(100) for r in range(50)}
sys.exit(0 if want <= seen else 1)
PY
}
check "MaxOpenFiles 10: all 5,000 lines of 100 busy files arrive" wait_until 30 want_all
check_le "MaxOpenFiles 10: never more than 10 descriptors" 10 "$maxopen"
s=$(seqstat "$T/out/many.jsonl")
check_eq "MaxOpenFiles 10: no duplicates" 0 "$(field dups "$s")"

check_eq "petrel still healthy" 200 "$(http_code "$URL/healthz")"
stop_pid "$PID" TERM 10
check_eq "SIGTERM: exit 0" 0 "$STOP_RC"
check_eq "no sanitizer reports" "" "$(sanitizer_report "$LOG")"
finish
