#!/usr/bin/env bash
# File identity and at-least-once across restarts: a checkpoint is used only for the file it was
# written for (device + inode + the first bytes + the bytes just before the offset), so an inode
# reused by another file, or a file replaced by one with the same head, is read from 0
# (duplicates over loss); checkpoint entries of files gone for CheckpointExpireSecs are removed;
# a config reload keeps the checkpoints; and kill -9 at 10 random moments during a stream (with
# rename rotations) loses nothing, with duplicates bounded by what was in flight.
set -euo pipefail
PT_NAME=test_tail_identity
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
TORTURE="python3 $PT_SOURCE_DIR/tests/lib/logtorture.py"

LOG=$T/petrel.log
mkdir -p "$T/conf" "$T/data" "$T/in" "$T/out"
printf 'data_dir: %s\nadmin: {enable: false}\n' "$T/data" >"$T/petrel.yaml"
cat >"$T/conf/id.yaml" <<EOF
inputs:
  - Type: input_file
    FilePaths: [$T/in/*.log]
    CheckpointIntervalMs: 200
    CheckpointExpireSecs: 3
flushers:
  - Type: flusher_file
    FilePath: $T/out/id.jsonl
    MaxFileSize: 0
EOF
CKPT=$T/data/checkpoints/id.json

oneshot() {
    timeout 60 "$PETREL" run --agent-config "$T/petrel.yaml" --config-dir "$T/conf" --oneshot \
        >>"$LOG" 2>&1
}
ckpt_field() { # PATH FIELD: from the checkpoint file
    python3 -c 'import json, sys
for f in json.load(open(sys.argv[1]))["files"]:
    if f["path"] == sys.argv[2]:
        print(f.get(sys.argv[3], ""))' "$CKPT" "$1" "$2" 2>/dev/null || true
}
# A header longer than the 1 KiB head fingerprint, the same in every file of this test.
HEADER=$(python3 -c 'print("{\"banner\":\"" + "=" * 1100 + "\"}")')

# new_file_same_inode PATH OLD_INO: replaces PATH by a new file, trying to get inode OLD_INO
# back (ext4 and tmpfs hand a freed inode out again at once). Prints "reused" or "new".
new_file_same_inode() {
    local path=$1 old=$2 i
    rm -f "$path"
    for i in $(seq 1 50); do
        : >"$path.tmp$i"
        if [ "$(stat -c %i "$path.tmp$i")" == "$old" ]; then
            mv "$path.tmp$i" "$path"
            rm -f "$path".tmp*
            echo reused
            return 0
        fi
    done
    rm -f "$path".tmp*
    : >"$path"
    echo new
}

# ---- inode reused by a file with the same head: the tail check tells them apart ------------
A=$T/in/a.log
{ echo "$HEADER"; } >"$A"
$TORTURE lines "$A" --start 0 --count 100
oneshot
check_eq "first run read a.log to its end" "$(stat -c %s "$A")" "$(ckpt_field "$A" offset)"
old_ino=$(stat -c %i "$A")
how=$(new_file_same_inode "$A" "$old_ino")
{ echo "$HEADER"; } >>"$A"
$TORTURE lines "$A" --start 1000 --count 300 # longer than the first file
if [ "$how" != reused ]; then
    # The filesystem gave another inode: make the checkpoint claim this one, as a reuse would.
    python3 - "$CKPT" "$A" "$(stat -c %i "$A")" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
for f in doc["files"]:
    if f["path"] == sys.argv[2]:
        f["ino"] = int(sys.argv[3])
json.dump(doc, open(sys.argv[1], "w"))
PY
fi
echo "# inode: $how"
check_eq "the replacement has the same head fingerprint" "$(ckpt_field "$A" fp)" \
    "$(python3 -c 'import sys
h = 1469598103934665603
for b in open(sys.argv[1], "rb").read(1024):
    h = ((h ^ b) * 1099511628211) % (1 << 64)
print("%016x" % h)' "$A")"
oneshot
s=$(SEQ_LO=1000 SEQ_HI=1299 seqstat "$T/out/id.jsonl")
check_eq "inode reuse: the new file is read from 0 (all 300 lines)" 0 "$(field missing "$s")"
check_contains "inode reuse: the mismatch is logged" "$(cat "$LOG")" \
    "$A: the checkpoint does not match this file (replaced, truncated or inode reused); reading it from the start"

# ---- the same file resumes: no line twice ------------------------------------------------
$TORTURE lines "$A" --start 2000 --count 50
oneshot
s=$(seqstat "$T/out/id.jsonl")
check_eq "a resumed file emits nothing twice" 0 "$(field dups "$s")"
check_eq "and everything appended arrives" 0 "$(SEQ_LO=2000 SEQ_HI=2049 seqstat "$T/out/id.jsonl" |
    tr ' ' '\n' | sed -n 's/^missing=//p')"

# ---- entries of files gone for CheckpointExpireSecs are removed ---------------------------
B=$T/in/b.log
$TORTURE lines "$B" --start 3000 --count 10
oneshot
check_eq "b.log has a checkpoint entry" "$(stat -c %s "$B")" "$(ckpt_field "$B" offset)"
bsize=$(stat -c %s "$B")
rm -f "$B"
oneshot # notices b.log is gone: its time away starts
check_eq "a gone file keeps its entry for a while" "$bsize" "$(ckpt_field "$B" offset)"
sleep 4
oneshot
check_eq "after CheckpointExpireSecs its entry is removed" "" "$(ckpt_field "$B" offset)"
check_contains "the removal is logged" "$(cat "$LOG")" \
    "dropped 1 checkpoint entry of files gone for more than 3 s"

# ---- start positions of files found at start-up (LoongCollector's rules) ------------------
mkdir -p "$T/sp/in" "$T/sp/all" "$T/sp/conf" "$T/sp/out"
cat >"$T/sp/conf/sp.yaml" <<EOF
inputs:
  - Type: input_file
    FilePaths: [$T/sp/in/*.log]
    TailSizeKB: 8
flushers:
  - Type: flusher_file
    FilePath: $T/sp/out/sp.jsonl
    MaxFileSize: 0
EOF
cat >"$T/sp/conf/all.yaml" <<EOF
inputs:
  - Type: input_file
    FilePaths: [$T/sp/all/*.log]
    TailingAllMatchedFiles: true
flushers:
  - Type: flusher_file
    FilePath: $T/sp/out/all.jsonl
    MaxFileSize: 0
EOF
$TORTURE lines "$T/sp/in/recent.log" --start 20000 --count 2000
$TORTURE lines "$T/sp/in/old.log" --start 30000 --count 100
touch -d '1 hour ago' "$T/sp/in/old.log"
$TORTURE lines "$T/sp/all/all.log" --start 40000 --count 2000
# The first line that starts inside the last 8 KiB of recent.log.
first=$(python3 -c 'import json, sys
data = open(sys.argv[1], "rb").read()
start = data.index(b"\n", len(data) - 8192 - 1) + 1
print(json.loads(data[start:data.index(b"\n", start)])["seq"])' "$T/sp/in/recent.log")
start_bg "$T/sp/petrel.log" "$PETREL" run --agent-config "$T/petrel.yaml" \
    --config-dir "$T/sp/conf" --data-dir "$T/sp/data"
SPID=$BG_PID
check "TailingAllMatchedFiles: a file found at start-up is read from 0" \
    wait_until 10 have_seqs 40000 41999 "$T/sp/out/all.jsonl"
check "TailSizeKB: a recent file is read from its last 8 KiB" \
    wait_until 10 have_seqs "$first" 21999 "$T/sp/out/sp.jsonl"
$TORTURE lines "$T/sp/in/old.log" --start 30100 --count 10
check "a file not modified for long: only lines appended after start-up arrive" \
    wait_until 10 have_seqs 30100 30109 "$T/sp/out/sp.jsonl"
stop_pid "$SPID" TERM 10
s=$(seqstat "$T/sp/out/sp.jsonl")
check_eq "start positions: nothing before the windows, line-aligned (first seq $first)" \
    "$first 30109 $((22000 - first + 10)) 0" \
    "$(field min "$s") $(field max "$s") $(field lines "$s") $(field bad "$s")"

# ---- kill -9 at 10 random moments during a stream with rotations --------------------------
rm -rf "$T/in" "$T/out" "$T/data"
mkdir -p "$T/in" "$T/out" "$T/data"
N=60000
RATE=5000
$TORTURE rotator "$T/in/s.log" --mode rename --interval 1.5 --keep 5 \
    --stop-file "$T/stop" >"$T/rot.txt" &
ROT=$!
$TORTURE writer "$T/in/s.log" --count $N --rate $RATE --start 10000 >"$T/wr.txt" &
WR=$!
kills=0
start_bg "$LOG" "$PETREL" run --agent-config "$T/petrel.yaml" --config-dir "$T/conf"
PID=$BG_PID
for k in $(seq 1 10); do
    sleep "$(python3 -c 'import random; print(round(random.uniform(0.4, 1.0), 2))')"
    stop_pid "$PID" KILL 5
    kills=$((kills + 1))
    echo "---- restart $k" >>"$LOG"
    start_bg "$LOG" "$PETREL" run --agent-config "$T/petrel.yaml" --config-dir "$T/conf"
    PID=$BG_PID
done
wait "$WR"
touch "$T/stop"
wait "$ROT"
echo "# writer: $(cat "$T/wr.txt"); rotator: $(cat "$T/rot.txt")"
wait_until 30 have_seqs 10000 $((10000 + N - 1)) "$T/out/id.jsonl" || true
stop_pid "$PID" TERM 10
s=$(SEQ_LO=10000 SEQ_HI=$((10000 + N - 1)) seqstat "$T/out/id.jsonl")
echo "# after $kills kill -9: $s"
check_eq "kill -9 x$kills: every line arrived at least once" 0 "$(field missing "$s")"
check_eq "kill -9: no partial or corrupt line" 0 "$(field bad "$s")"
# In flight at a kill: what was read but not yet in the checkpoint file (CheckpointIntervalMs
# 200 ms plus the batching and flush delay): about 1 s of input per kill at most.
check_le "kill -9: duplicates within what was in flight (<= 1 s of input per kill)" \
    $((kills * RATE)) "$(field dups "$s")"
check_eq "final SIGTERM: exit 0" 0 "$STOP_RC"
check_eq "no sanitizer reports" "" "$(sanitizer_report "$LOG")"
finish
