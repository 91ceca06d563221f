#!/usr/bin/env bash
# input_file discovery on real files: inotify finds new files at once (the periodic scan is only
# a backstop), directories created deep in a ** tree within MaxDirSearchDepth (and not beyond),
# a base directory that appears later, symlinked files and a retargeted symlink, the Exclude*
# options, the best-matching pipeline when several match a file (AllowingIncludedByMultiConfigs
# shares it), 1,000 files at once, and bad input (a directory, a FIFO, an unreadable file, globs
# that match nothing) logged clearly while petrel keeps running.
set -euo pipefail
PT_NAME=test_tail_discovery
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
TORTURE="python3 $PT_SOURCE_DIR/tests/lib/logtorture.py"

PORT=$(free_port)
URL=http://127.0.0.1:$PORT
LOG=$T/petrel.log
L=$T/logs
mkdir -p "$T/conf" "$T/data" "$L/flat" "$L/tree/private" "$L/link" "$T/real" "$L/shared/deep" \
    "$L/adir"

cat >"$T/petrel.yaml" <<EOF
data_dir: $T/data
admin: {enable: true, host: 127.0.0.1, port: $PORT}
EOF
cat >"$T/conf/d1.yaml" <<EOF
inputs:
  - Type: input_file
    FilePaths:
      - $L/flat/*.log
      - $L/tree/**/*.log
      - $L/link/*.log
      - $L/missing/later/*.log
      - $L/adir
    MaxDirSearchDepth: 3
    ExcludeFiles: [skip-*.log]
    ExcludeDirs: [$L/tree/private]
    ExcludeFilePaths: [$L/flat/no.log]
    RotateWaitSecs: 1
aggregators:
  - Type: aggregator_default
    TimeoutMs: 100
flushers:
  - Type: flusher_file
    FilePath: $T/out/d1.jsonl
    MaxFileSize: 0
EOF
# Three pipelines over one tree: d3's pattern is deeper than d2's, so shared/deep/*.log belongs
# to d3 only; d4 allows files that others match and gets them as well.
cat >"$T/conf/d2.yaml" <<EOF
inputs:
  - Type: input_file
    FilePaths: [$L/shared/**/*.log]
    MaxDirSearchDepth: 2
flushers:
  - Type: flusher_file
    FilePath: $T/out/d2.jsonl
    MaxFileSize: 0
EOF
cat >"$T/conf/d3.yaml" <<EOF
inputs:
  - Type: input_file
    FilePaths: [$L/shared/deep/*.log]
flushers:
  - Type: flusher_file
    FilePath: $T/out/d3.jsonl
    MaxFileSize: 0
EOF
cat >"$T/conf/d4.yaml" <<EOF
inputs:
  - Type: input_file
    FilePaths: [$L/shared/deep/*.log]
    AllowingIncludedByMultiConfigs: true
flushers:
  - Type: flusher_file
    FilePath: $T/out/d4.jsonl
    MaxFileSize: 0
EOF

# present LO HI FILE...: how many distinct seqs of [LO, HI] arrived.
present() {
    local lo=$1 hi=$2 s
    shift 2
    s=$(SEQ_LO=$lo SEQ_HI=$hi seqstat "$@")
    echo $((hi - lo + 1 - $(field missing "$s")))
}
# arrives_within SECONDS LO HI FILE: every seq of [LO, HI] arrives in FILE in time.
arrives_within() {
    wait_until "$1" have_seqs "$2" "$3" "$4"
}
lines() { # FILE START COUNT
    $TORTURE lines "$1" --start "$2" --count "$3"
}

mkfifo "$L/flat/pipe.log"
start_bg "$LOG" "$PETREL" run --agent-config "$T/petrel.yaml" --config-dir "$T/conf"
PID=$BG_PID
wait_until 10 eval '[ "$(http_code $URL/readyz)" == 200 ]' || true
check_eq "petrel is ready" 200 "$(http_code "$URL/readyz")"

# ---- bad input and empty globs are logged once, clearly ------------------------------------
wait_until 5 grep -q "is not a regular file" "$LOG" || true
check_contains "a glob that matches nothing yet is logged" "$(cat "$LOG")" \
    "[d1/input_file] no file matches $L/flat/*.log yet; files are collected as they appear"
check_contains "a base directory that does not exist is logged" "$(cat "$LOG")" \
    "[d1/input_file] no file matches $L/missing/later/*.log: directory $L/missing/later does not exist (yet)"
check_contains "a FilePaths entry that is a directory is logged" "$(cat "$LOG")" \
    "[d1/input_file] $L/adir is a directory, not a file: it is skipped"
check_contains "a FIFO is skipped and logged" "$(cat "$LOG")" \
    "[d1/input_file] $L/flat/pipe.log is not a regular file: it is skipped"

# ---- inotify: new files are collected at once, not at the next scan (every 5 s) ------------
for k in 0 1 2; do
    t0=$(date +%s%N)
    lines "$L/flat/new$k.log" $((k * 100)) 100
    if arrives_within 5 $((k * 100)) $((k * 100 + 99)) "$T/out/d1.jsonl"; then
        ms=$((($(date +%s%N) - t0) / 1000000))
        echo "# new$k.log arrived after $ms ms"
        check_le "new file $k collected within 1 s (inotify, not the 5 s scan)" 1000 "$ms"
    else
        not_ok "new file $k collected"
    fi
    sleep 0.$((3 + k * 2))
done

# ---- a ** tree: directories created at any depth within MaxDirSearchDepth ------------------
mkdir -p "$L/tree/a/b/c/d"
lines "$L/tree/top.log" 1000 10
lines "$L/tree/a/b/c/deep.log" 1010 10 # depth 3: collected
lines "$L/tree/a/b/c/d/too-deep.log" 1020 10 # depth 4: beyond MaxDirSearchDepth
lines "$L/tree/private/secret.log" 1030 10    # ExcludeDirs
lines "$L/tree/a/skip-me.log" 1040 10         # ExcludeFiles
lines "$L/flat/no.log" 1050 10                # ExcludeFilePaths
check "a file in a new directory 3 levels deep arrives" \
    arrives_within 5 1000 1019 "$T/out/d1.jsonl"
# Later files in the new directories are seen through their new watches.
lines "$L/tree/a/b/later.log" 1060 10
check "a later file in a new subdirectory arrives" arrives_within 5 1060 1069 "$T/out/d1.jsonl"
mkdir -p "$L/missing/later"
lines "$L/missing/later/x.log" 1070 10
check "a base directory created later is picked up" arrives_within 5 1070 1079 "$T/out/d1.jsonl"
sleep 1
check_eq "nothing beyond MaxDirSearchDepth, in ExcludeDirs, ExcludeFiles, ExcludeFilePaths" \
    "0 0 0 0" "$(present 1020 1029 "$T/out/d1.jsonl") $(present 1030 1039 "$T/out/d1.jsonl") \
$(present 1040 1049 "$T/out/d1.jsonl") $(present 1050 1059 "$T/out/d1.jsonl")"

# ---- symlinks: the file behind a link is followed; a retargeted link is a new file ---------
lines "$T/real/one.log" 2000 50
ln -s "$T/real/one.log" "$L/link/cur.log"
check "a symlinked file is collected" arrives_within 5 2000 2049 "$T/out/d1.jsonl"
lines "$T/real/two.log" 3000 50
ln -sfn "$T/real/two.log" "$L/link/cur.log"
lines "$T/real/one.log" 2050 20 # the old target still grows for a moment
check "after the link is retargeted, the new target is collected" \
    arrives_within 5 3000 3049 "$T/out/d1.jsonl"
check "the old target is read to its end" arrives_within 5 2050 2069 "$T/out/d1.jsonl"
check_ge "symlinked lines carry the link's path in __path__" 120 \
    "$(grep -cF "\"__tag__:__path__\":\"$L/link/cur.log\"" "$T/out/d1.jsonl" || true)"

# ---- several pipelines: the best match owns a file, unless a pipeline allows sharing -------
lines "$L/shared/top.log" 4000 20
lines "$L/shared/deep/x.log" 4100 20
check "the top file goes to the only pipeline that matches it" \
    arrives_within 5 4000 4019 "$T/out/d2.jsonl"
check "the deep file goes to the deeper pattern (d3)" arrives_within 5 4100 4119 "$T/out/d3.jsonl"
check "and to the pipeline that allows shared files (d4)" \
    arrives_within 5 4100 4119 "$T/out/d4.jsonl"
sleep 0.5
check_eq "the shallower pipeline (d2) does not get the deep file" 0 \
    "$(present 4100 4119 "$T/out/d2.jsonl")"

# ---- 1,000 files at once ------------------------------------------------------------------
python3 - "$L/flat" <<'PY'
import json, os, sys
d = sys.argv[1]
for i in range(1000):
    with open(os.path.join(d, "many-%04d.log" % i), "w") as f:
        for j in range(10):
            f.write(json.dumps({"seq": 100000 + i * 10 + j}) + "\n")
PY
t0=$(date +%s%N)
if arrives_within 40 100000 109999 "$T/out/d1.jsonl"; then
    ok "1,000 files created at once: all 10,000 lines arrived in $((($(date +%s%N) - t0) / 1000000)) ms"
else
    not_ok "1,000 files at once" "$(SEQ_LO=100000 SEQ_HI=109999 seqstat "$T/out/d1.jsonl")"
fi
open=$(metric "$URL/metrics" 'petrel_input_file_files_open{pipeline="d1",plugin="input_file"}')
check_ge "files_open reports the open files" 1000 "${open:-0}"

# ---- exactly once overall, and a clean stop -----------------------------------------------
s=$(seqstat "$T/out/d1.jsonl")
check_eq "no duplicates in d1" 0 "$(field dups "$s")"
check_eq "no unparsable lines in d1" 0 "$(field bad "$s")"
check_eq "petrel still healthy" 200 "$(http_code "$URL/healthz")"
stop_pid "$PID" TERM 10
check_eq "SIGTERM: exit 0" 0 "$STOP_RC"

# ---- an unreadable file (petrel runs as an unprivileged user) ------------------------------
if command -v setpriv >/dev/null && [ "$(id -u)" -eq 0 ]; then
    U=$T/unpriv
    mkdir -p "$U/logs" "$U/data" "$U/out"
    lines "$U/logs/ok.log" 5000 10
    lines "$U/logs/secret.log" 5100 10
    chmod 000 "$U/logs/secret.log"
    cat >"$U/p.yaml" <<EOF
inputs:
  - Type: input_file
    FilePaths: [$U/logs/*.log]
flushers:
  - Type: flusher_file
    FilePath: $U/out/u.jsonl
    MaxFileSize: 0
EOF
    printf 'admin: {enable: false}\n' >"$U/agent.yaml"
    chown -R 65534:65534 "$U"
    chmod 755 "$T"
    chown 0:0 "$U/logs/secret.log"
    start_bg "$U/petrel.log" setpriv --reuid=65534 --regid=65534 --clear-groups \
        "$PETREL" run --agent-config "$U/agent.yaml" --config "$U/p.yaml" --data-dir "$U/data"
    UPID=$BG_PID
    check "the readable file is collected" arrives_within 10 5000 5009 "$U/out/u.jsonl"
    wait_until 5 grep -q "cannot open" "$U/petrel.log" || true
    check_contains "the unreadable file is logged with the reason" "$(cat "$U/petrel.log")" \
        "[p/input_file] cannot open $U/logs/secret.log: Permission denied (retried when the file changes)"
    check_eq "it is logged once, not at every scan" 1 "$(grep -c "cannot open" "$U/petrel.log")"
    check "petrel keeps running" is_running "$UPID"
    stop_pid "$UPID" TERM 10
    check_eq "unprivileged petrel: exit 0" 0 "$STOP_RC"
else
    ok "# SKIP unreadable file: needs root and setpriv"
fi

check_eq "no sanitizer reports" "" "$(sanitizer_report "$LOG" "$T"/unpriv/petrel.log)"
finish
