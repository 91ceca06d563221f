#!/usr/bin/env bash
# Checks petrel-loggen as its users rely on it: the same seed gives the same bytes, every line is
# JSON, sizes and layout match the request, --partial-tail cuts exactly the files it should,
# --seq counts without gaps, and --append adds exactly the lines asked for, even from two writers.
set -euo pipefail

PT_BUILD_DIR=${PT_BUILD_DIR:-./build}
LOGGEN="$PT_BUILD_DIR/petrel-loggen"
if [ ! -x "$LOGGEN" ]; then
    echo "loggen: $LOGGEN not found; build it first (cmake --build build --target petrel-loggen)" >&2
    exit 1
fi
command -v python3 >/dev/null || { echo "loggen: python3 is required" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/pt-loggen.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

passed=0
failed=0

# Runs one check in a subshell with errexit on: any failing command fails the check.
check() {
    local name=$1 rc
    shift
    set +e
    (set -e; "$@")
    rc=$?
    set -e
    if [ "$rc" -eq 0 ]; then
        passed=$((passed + 1))
        echo "ok   $name"
    else
        failed=$((failed + 1))
        echo "FAIL $name" >&2
    fi
}

# One sha256 over every file's path and content, so renamed or extra files count too.
tree_sum() {
    (cd "$1" && find . -type f -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
}

SIZE=$((2 * 1024 * 1024))
gen() { "$LOGGEN" --out "$1" --seed 42 --size 2M --agents main,ops --quiet "${@:2}"; }

gen "$WORK/a"

t_deterministic() {
    gen "$WORK/b"
    [ "$(tree_sum "$WORK/a")" = "$(tree_sum "$WORK/b")" ]
    # The seed must matter, or the comparison above proves nothing.
    "$LOGGEN" --out "$WORK/seed43" --seed 43 --size 2M --agents main,ops --quiet
    [ "$(tree_sum "$WORK/a")" != "$(tree_sum "$WORK/seed43")" ]
}

t_valid_json() {
    python3 - "$WORK/a" <<'EOF'
import json, os, sys
n = 0
for root, _, names in os.walk(sys.argv[1]):
    for name in names:
        path = os.path.join(root, name)
        data = open(path, "rb").read()
        assert data.endswith(b"\n"), f"{path}: no trailing newline"
        for i, line in enumerate(data[:-1].split(b"\n")):
            obj = json.loads(line.decode("utf-8"))
            assert isinstance(obj, dict), f"{path}:{i + 1}: not an object"
            n += 1
assert n > 1000, f"only {n} lines"
EOF
}

t_sizes() {
    python3 - "$WORK/a" "$SIZE" <<'EOF'
import os, sys
root, want = sys.argv[1], int(sys.argv[2])
sess = app = 0
for d, _, names in os.walk(root):
    for name in names:
        size = os.path.getsize(os.path.join(d, name))
        if name.endswith(".jsonl"):
            sess += size
        else:
            app += size
total = sess + app
assert abs(total - want) <= want * 0.10, f"total {total} vs {want}"
assert abs(app - want / 4) <= want * 0.10 / 4, f"app log {app} vs {want // 4}"
EOF
}

t_layout() {
    local d=$WORK/a
    [ -d "$d/.openclaw/agents/main/sessions" ]
    [ -d "$d/.openclaw/agents/ops/sessions" ]
    [ -f "$d/tmp/openclaw/openclaw-2026-03-14.log" ]
    # Nothing but the two agents, transcripts named <uuid>.jsonl, and day-named app logs.
    [ "$(cd "$d/.openclaw/agents" && echo *)" = "main ops" ]
    [ -z "$(find "$d" -regextype posix-extended -type f \
        ! -regex '.*/\.openclaw/agents/(main|ops)/sessions/[0-9a-f-]{36}\.jsonl' \
        ! -regex '.*/tmp/openclaw/openclaw-[0-9]{4}-[0-9]{2}-[0-9]{2}\.log')" ]
    python3 - "$d" <<'EOF'
import glob, json, os, sys
files = glob.glob(sys.argv[1] + "/.openclaw/agents/*/sessions/*.jsonl")
assert 1 <= len(files) <= 6, files
for f in files:
    head = json.loads(open(f, encoding="utf-8").readline())
    assert head["type"] == "session" and head["version"] == 3, head
    assert os.path.basename(f) == head["id"] + ".jsonl", f
for f in glob.glob(sys.argv[1] + "/tmp/openclaw/*.log"):
    rec = json.loads(open(f, encoding="utf-8").readline())
    assert rec["_meta"]["runtime"] == "node" and "time" in rec, rec
EOF
}

t_partial_tail() {
    gen "$WORK/p" --partial-tail
    python3 - "$WORK/a" "$WORK/p" <<'EOF'
import json, os, sys
full, cut = sys.argv[1], sys.argv[2]
open_ended = []
for d, _, names in os.walk(cut):
    for name in names:
        p = os.path.join(d, name)
        data = open(p, "rb").read()
        whole = open(os.path.join(full, os.path.relpath(p, cut)), "rb").read()
        if data.endswith(b"\n"):
            assert data == whole, f"{p} changed"
            continue
        open_ended.append(name)
        # The same bytes as without --partial-tail, minus the back half of the last line.
        last = whole.rstrip(b"\n").rfind(b"\n") + 1
        assert whole.startswith(data) and last < len(data) < len(whole) - 1, p
        try:
            json.loads(data[last:])
            raise AssertionError(f"{p}: the cut line still parses")
        except ValueError:
            pass
kinds = sorted(os.path.splitext(n)[1] for n in open_ended)
assert kinds == [".jsonl", ".log"], open_ended
EOF
}

t_lines_seq() {
    "$LOGGEN" --lines "$WORK/seq.jsonl" --size 2M --seq --seed 5 --quiet
    python3 - "$WORK/seq.jsonl" "$SIZE" <<'EOF'
import json, sys
path, want = sys.argv[1], int(sys.argv[2])
total = 0
with open(path, "rb") as f:
    for i, line in enumerate(f):
        assert line.endswith(b"\n")
        pairs = json.loads(line, object_pairs_hook=lambda p: p)
        assert pairs[0] == ("seq", i), (i, pairs[0])
        assert 7 <= len(pairs) <= 13, len(pairs)
        total += len(line)
n = i + 1
assert want <= total < want + 1024, total
assert 200 <= total / n <= 320, total / n
EOF
}

t_append() {
    local f=$WORK/append.jsonl
    "$LOGGEN" --append "$f" --count 5 --quiet
    "$LOGGEN" --append "$f" --count 995 --start-seq 5 --prefix 'one"two' --quiet
    [ "$(wc -l < "$f")" -eq 1000 ]
    # Two writers at once, paced: O_APPEND keeps every line whole.
    local a b
    "$LOGGEN" --append "$f" --count 150 --start-seq 1000 --rate 3000 --prefix A --quiet &
    a=$!
    "$LOGGEN" --append "$f" --count 150 --start-seq 2000 --rate 3000 --prefix B --quiet &
    b=$!
    wait "$a"
    wait "$b"
    python3 - "$f" <<'EOF'
import json, sys
by_src = {}
data = open(sys.argv[1], "rb").read()
assert data.endswith(b"\n")
for line in data.splitlines():
    o = json.loads(line)
    assert list(o) == ["seq", "src", "msg"], o
    by_src.setdefault(o["src"], []).append(o["seq"])
assert by_src["loggen"] == list(range(5)), by_src["loggen"]
assert by_src['one"two'] == list(range(5, 1000))
assert by_src["A"] == list(range(1000, 1150)) and by_src["B"] == list(range(2000, 2150))
EOF
}

t_if_empty() {
    local before
    before=$(tree_sum "$WORK/a")
    "$LOGGEN" --out "$WORK/a" --seed 7 --size 1M --if-empty 2>/dev/null
    [ "$(tree_sum "$WORK/a")" = "$before" ]
    # Without --if-empty (or --force) a non-empty directory is refused.
    if "$LOGGEN" --out "$WORK/a" --seed 7 --size 1M 2>/dev/null; then
        return 1
    fi
    # An empty directory is filled.
    mkdir "$WORK/empty"
    "$LOGGEN" --out "$WORK/empty" --size 256K --if-empty --quiet
    [ -n "$(find "$WORK/empty" -name '*.jsonl')" ]
}

t_bad_args() {
    local err args
    local -a argv
    for args in "--out $WORK/x --size 12Q" "--lines $WORK/x --seq=1" "--append $WORK/x" \
        "--out $WORK/x --agents ../up" "--out $WORK/x --start yesterday" "--lines $WORK/x --bogus"; do
        read -ra argv <<<"$args"
        if err=$("$LOGGEN" "${argv[@]}" 2>&1); then
            echo "accepted: $args" >&2
            return 1
        fi
        # The message names the offending argument.
        case $err in
        *--size* | *--seq* | *--count* | *--agents* | *--start* | *--bogus*) ;;
        *) echo "unclear error for '$args': $err" >&2; return 1 ;;
        esac
    done
    [ ! -e "$WORK/x" ]
}

check "same seed, same bytes (and another seed differs)" t_deterministic
check "every line is a JSON object" t_valid_json
check "sizes within 10% of --size, app log about a quarter" t_sizes
check "OpenClaw directory layout" t_layout
check "--partial-tail cuts one transcript and the app log" t_partial_tail
check "--lines --seq counts 0..n-1 as the first key" t_lines_seq
check "--append adds exactly N whole lines" t_append
check "--if-empty leaves a non-empty directory alone" t_if_empty
check "bad arguments fail and are named" t_bad_args

echo "loggen: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
