# Shared helpers for the integration tests: sourced by each test_*.sh (CTest runs only those).
# Gives every test a private temp dir removed on exit, kills the processes it started, counts
# assertions and prints the "NAME: N passed, M failed" summary line.
# Requires: bash, python3 (standard library only), curl.

PT_BUILD_DIR=${PT_BUILD_DIR:-/work/main/build}
PT_SOURCE_DIR=${PT_SOURCE_DIR:-/work/main}
PETREL=$PT_BUILD_DIR/petrel
LOGGEN=$PT_BUILD_DIR/petrel-loggen

PT_NAME=${PT_NAME:-$(basename "${BASH_SOURCE[1]:-$0}" .sh)}
PT_PASS=0
PT_FAIL=0
PT_DONE=0
PT_PIDS=()
T=$(mktemp -d "${TMPDIR:-/tmp}/petrel-${PT_NAME}.XXXXXX")

pt_cleanup() {
    local rc=$?
    local p
    for p in "${PT_PIDS[@]}"; do
        kill -9 "$p" 2>/dev/null || true
    done
    for p in "${PT_PIDS[@]}"; do
        wait "$p" 2>/dev/null || true
    done
    if [ "$PT_DONE" -eq 0 ]; then
        # The script stopped early (set -e or an unexpected error): that is a failure too.
        echo "not ok - $PT_NAME stopped early (exit status $rc)"
        PT_FAIL=$((PT_FAIL + 1))
        echo "$PT_NAME: $PT_PASS passed, $PT_FAIL failed"
        rc=1
    fi
    if [ -n "${PT_KEEP:-}" ]; then
        echo "# kept $T"
    else
        rm -rf "$T"
    fi
    exit "$rc"
}
trap pt_cleanup EXIT

# ok DESC / not_ok DESC [DETAIL]: record one assertion.
ok() {
    PT_PASS=$((PT_PASS + 1))
    echo "ok - $1"
}

not_ok() {
    PT_FAIL=$((PT_FAIL + 1))
    echo "not ok - $1"
    if [ -n "${2:-}" ]; then
        printf '%s\n' "$2" | head -n 40 | sed 's/^/#   /'
    fi
}

# check DESC CMD...: passes when CMD succeeds.
check() {
    local desc=$1
    shift
    if "$@"; then
        ok "$desc"
    else
        not_ok "$desc"
    fi
}

# check_eq DESC EXPECTED ACTUAL
check_eq() {
    if [ "$2" == "$3" ]; then
        ok "$1"
    else
        not_ok "$1" "expected: $2
actual:   $3"
    fi
}

# check_contains DESC HAYSTACK NEEDLE: fixed-string search.
check_contains() {
    if grep -qF -- "$3" <<<"$2"; then
        ok "$1"
    else
        not_ok "$1" "expected to find: $3
in:
$2"
    fi
}

# check_matches DESC HAYSTACK ERE
check_matches() {
    if grep -qE -- "$3" <<<"$2"; then
        ok "$1"
    else
        not_ok "$1" "expected to match: $3
in:
$2"
    fi
}

# check_ge DESC MIN ACTUAL (integers)
check_ge() {
    if [[ "$3" =~ ^[0-9]+$ ]] && [ "$3" -ge "$2" ]; then
        ok "$1"
    else
        not_ok "$1" "expected >= $2, got '$3'"
    fi
}

# check_le DESC MAX ACTUAL (integers)
check_le() {
    if [[ "$3" =~ ^[0-9]+$ ]] && [ "$3" -le "$2" ]; then
        ok "$1"
    else
        not_ok "$1" "expected <= $2, got '$3'"
    fi
}

# Prints the summary line and exits 0 only if every assertion passed.
finish() {
    PT_DONE=1
    echo "$PT_NAME: $PT_PASS passed, $PT_FAIL failed"
    if [ "$PT_FAIL" -ne 0 ]; then
        exit 1
    fi
    exit 0
}

# wait_until SECONDS CMD...: polls CMD every 0.1 s; returns 1 if it never succeeded in time.
wait_until() {
    local deadline=$(($(date +%s%N) + $1 * 1000000000))
    shift
    while ! "$@"; do
        if [ "$(date +%s%N)" -ge "$deadline" ]; then
            return 1
        fi
        sleep 0.1
    done
    return 0
}

free_port() {
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# port_free PORT: true when nothing listens on 127.0.0.1:PORT and it can be bound.
port_free() {
    python3 -c 'import socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
s.close()' "$1"
}

# is_running PID: true while PID exists and is not a zombie waiting to be reaped.
is_running() {
    local st
    st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
    [ -n "$st" ] && [ "$st" != "Z" ] && [ "$st" != "X" ]
}

is_gone() {
    ! is_running "$1"
}

# start_bg LOGFILE CMD...: starts CMD in the background, output appended to LOGFILE; sets BG_PID.
start_bg() {
    local log=$1
    shift
    "$@" >>"$log" 2>&1 &
    BG_PID=$!
    PT_PIDS+=("$BG_PID")
}

# stop_pid PID SIGNAL SECONDS: sends SIGNAL, waits up to SECONDS for the exit (then SIGKILL).
# Sets STOP_RC (exit status, or "timeout") and STOP_MS (milliseconds until it was gone).
stop_pid() {
    local pid=$1 sig=$2 secs=$3
    local t0
    t0=$(date +%s%N)
    kill "-$sig" "$pid" 2>/dev/null || true
    if [ "$sig" == KILL ] || [ "$sig" == 9 ]; then
        # SIGKILL cannot be caught, so wait at once: that also keeps bash from printing its own
        # "Killed" job notice, which it does when it reaps the job between other commands.
        STOP_RC=0
        wait "$pid" 2>/dev/null || STOP_RC=$?
        STOP_MS=$((($(date +%s%N) - t0) / 1000000))
        return 0
    fi
    if wait_until "$secs" is_gone "$pid"; then
        STOP_MS=$((($(date +%s%N) - t0) / 1000000))
        STOP_RC=0
        wait "$pid" 2>/dev/null || STOP_RC=$?
    else
        STOP_MS=$((($(date +%s%N) - t0) / 1000000))
        kill -9 "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        STOP_RC=timeout
    fi
}

# http_code URL / http_body URL
http_code() {
    curl -s -o /dev/null -w '%{http_code}' --max-time 3 "$1" || true
}

http_body() {
    curl -s --max-time 3 "$1" || true
}

# metric URL 'name{labels}': prints the sample's value (empty when absent).
metric() {
    http_body "$1" | python3 -c 'import sys
want = sys.argv[1]
for line in sys.stdin:
    line = line.rstrip("\n")
    if line.startswith("#"):
        continue
    name, _, value = line.rpartition(" ")
    if name == want:
        v = float(value)
        print(int(v) if v == int(v) else v)
        break' "$2"
}

# seqstat FILE... : reads flusher_file JSON lines and prints
#   "lines=N bad=B unique=U dups=D min=A max=Z"
# where B counts lines that are not JSON objects with a "seq" field (or a "content" field holding
# such an object, for pipelines that do not parse JSON). Missing files count as empty.
# With SEQ_LO/SEQ_HI set, also prints "missing=M" for seqs in [SEQ_LO, SEQ_HI] never seen.
seqstat() {
    python3 - "$@" <<'EOF'
import json, os, sys
seen = {}
lines = bad = 0
for path in sys.argv[1:]:
    if not os.path.exists(path):
        continue
    with open(path, "rb") as f:
        for raw in f:
            if not raw.endswith(b"\n"):
                continue  # a write in progress
            lines += 1
            try:
                ev = json.loads(raw)
                if "seq" not in ev and "content" in ev:
                    ev = json.loads(ev["content"])  # a pipeline without the JSON parser
                seq = int(ev["seq"])
            except Exception:
                bad += 1
                continue
            seen[seq] = seen.get(seq, 0) + 1
dups = sum(c - 1 for c in seen.values())
out = "lines=%d bad=%d unique=%d dups=%d min=%s max=%s" % (
    lines, bad, len(seen), dups, min(seen) if seen else "-", max(seen) if seen else "-")
lo, hi = os.environ.get("SEQ_LO"), os.environ.get("SEQ_HI")
if lo and hi:
    out += " missing=%d" % sum(1 for s in range(int(lo), int(hi) + 1) if s not in seen)
print(out)
EOF
}

# field NAME "k=v k=v ...": prints v for NAME.
field() {
    local kv
    for kv in $2; do
        if [ "${kv%%=*}" == "$1" ]; then
            echo "${kv#*=}"
            return 0
        fi
    done
    echo ""
}

# count_lines FILE: complete lines in FILE (0 if missing).
count_lines() {
    if [ -f "$1" ]; then
        wc -l <"$1" | tr -d ' '
    else
        echo 0
    fi
}

# have_seqs LO HI FILE...: true once every seq in [LO, HI] appears in FILEs.
have_seqs() {
    local lo=$1 hi=$2
    shift 2
    local s
    s=$(SEQ_LO=$lo SEQ_HI=$hi seqstat "$@")
    [ "$(field missing "$s")" == "0" ]
}

# sanitizer_report FILE...: prints sanitizer findings in the given logs (nothing when clean).
sanitizer_report() {
    grep -hE 'ERROR: (Address|Leak|Thread|Memory|UndefinedBehavior)Sanitizer|runtime error:|SUMMARY: [A-Za-z]+Sanitizer' "$@" 2>/dev/null || true
}
