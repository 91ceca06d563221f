#!/usr/bin/env bash
# `petrel check`: the seed OpenClaw configs, a valid pipeline, the Kubernetes CR form, and one bad
# config per kind of mistake. Each bad file must exit 1 (not crash) and say where
# ("[file:line]") and what (the key or plugin) went wrong.
set -euo pipefail
PT_NAME=test_check_configs
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# run_check PATH...: sets RC, OUT (stdout), ERR (stderr), ALL (both).
run_check() {
    RC=0
    timeout 20 "$PETREL" check "$@" >"$T/stdout" 2>"$T/stderr" || RC=$?
    OUT=$(cat "$T/stdout")
    ERR=$(cat "$T/stderr")
    ALL="$OUT
$ERR"
    cat "$T/stdout" "$T/stderr" >>"$T/all.log"
}

# line_of FILE TEXT: number of the first line of FILE containing TEXT.
line_of() {
    grep -nF -- "$2" "$1" | head -n 1 | cut -d: -f1
}

# ---------------------------------------------------------------- (a) seed configs
for f in "$PT_SOURCE_DIR"/config/examples/openclaw-*.yaml; do
    b=$(basename "$f")
    run_check "$f"
    check_eq "$b: exit status 1 (no crash)" 1 "$RC"
    check_contains "$b: names flusher_sls as unavailable" "$ERR" \
        "plugin 'flusher_sls' is not available in this build of petrel"
    ln=$(line_of "$f" "Type: flusher_sls")
    check_contains "$b: flusher_sls error points at [$b:$ln]" "$ERR" "[$f:$ln]"
    check_contains "$b: stdout summary counts errors" "$OUT" "$f: "
    if [ "$b" == openclaw-otel.yaml ]; then
        # service_otlp and aggregator_opentelemetry are built in: their keys load unchanged.
        for plugin in service_otlp aggregator_opentelemetry; do
            check_eq "$b: $plugin loads (no error names it)" 0 \
                "$(grep -c "$plugin" <<<"$ERR" || true)"
        done
        check_contains "$b: only flusher_sls is an error" "$OUT" "$f: 1 error(s)"
    fi
done

# ---------------------------------------------------------------- (b) a valid pipeline
mkdir -p "$T/in" "$T/out"
cat >"$T/good.yaml" <<EOF
enable: true
inputs:
  - Type: input_file
    FilePaths: [$T/in/*.log]
processors:
  - Type: processor_parse_json_native
    SourceKey: content
flushers:
  - Type: flusher_file
    FilePath: $T/out/out.jsonl
EOF
run_check "$T/good.yaml"
check_eq "valid pipeline: exit status 0" 0 "$RC"
check_contains "valid pipeline: prints ok with the plugin counts" "$OUT" \
    "$T/good.yaml: ok (pipeline good: 1 input(s), 1 processor(s), 1 flusher(s))"
check_eq "valid pipeline: nothing on stderr" "" "$ERR"
check "valid pipeline: check creates no output file" test ! -e "$T/out/out.jsonl"

# ---------------------------------------------------------------- (c) bad configs
# bad NAME CONTENT: writes $T/bad/NAME.yaml and checks it; asserts exit 1.
mkdir -p "$T/bad"
bad() {
    BAD="$T/bad/$1.yaml"
    printf '%s\n' "$2" >"$BAD"
    run_check "$BAD"
    check_eq "$1: exit status 1 (no crash)" 1 "$RC"
    check_contains "$1: stdout reports errors" "$OUT" "$BAD: "
}

# Malformed YAML: the parser's message has the line; the diagnostic, like every other one, must
# start with "[file:line]".
bad unclosed_bracket "enable: true
inputs:
  - Type: input_file
    FilePaths: [/var/log/app/*.log
flushers:
  - Type: flusher_file
    FilePath: /tmp/out.jsonl"
check_matches "unclosed_bracket: message has the line" "$ERR" "unclosed_bracket\.yaml:[45]"
check_matches "unclosed_bracket: diagnostic reads [file:line]" "$ERR" \
    "^\[$BAD:[45]\] "

bad bad_indent "enable: true
inputs:
  - Type: input_file
    FilePaths: [/var/log/app/*.log]
   MaxDirSearchDepth: 2
flushers:
  - Type: flusher_file
    FilePath: /tmp/out.jsonl"
check_matches "bad_indent: message has the line" "$ERR" "bad_indent\.yaml:5"
check_matches "bad_indent: diagnostic reads [file:line]" "$ERR" "^\[$BAD:5\] "

bad int_abc "enable: true
inputs:
  - Type: input_file
    FilePaths: [/var/log/app/*.log]
    MaxDirSearchDepth: abc
flushers:
  - Type: flusher_file
    FilePath: /tmp/out.jsonl"
check_contains "int_abc: [file:line] and key" "$ERR" \
    "[$BAD:5] int_abc/input_file.MaxDirSearchDepth: expected an integer, got 'abc'"

bad filepaths_map "enable: true
inputs:
  - Type: input_file
    FilePaths: {a: 1}
flushers:
  - Type: flusher_file
    FilePath: /tmp/out.jsonl"
check_contains "filepaths_map: [file:line] and key" "$ERR" \
    "[$BAD:4] filepaths_map/input_file.FilePaths: expected a list of strings, got a map"

bad out_of_bounds "enable: true
inputs:
  - Type: input_file
    FilePaths: [/var/log/app/*.log]
    MaxDirSearchDepth: 5000
flushers:
  - Type: flusher_file
    FilePath: /tmp/out.jsonl"
check_contains "out_of_bounds: [file:line], key and bounds" "$ERR" \
    "[$BAD:5] out_of_bounds/input_file.MaxDirSearchDepth: must be between 0 and 1000, got 5000"

bad no_filepath "enable: true
inputs:
  - Type: input_file
    FilePaths: [/var/log/app/*.log]
flushers:
  - Type: flusher_file
    MaxFiles: 3"
check_contains "no_filepath: [file:line] and the missing key" "$ERR" \
    "[$BAD:6] no_filepath/flusher_file.FilePath: required key is missing"

bad no_inputs "enable: true
flushers:
  - Type: flusher_file
    FilePath: /tmp/out.jsonl"
check_contains "no_inputs: [file:line] and the missing section" "$ERR" \
    "[$BAD:1] no_inputs.inputs: required key is missing"

bad no_flushers "enable: true
inputs:
  - Type: input_file
    FilePaths: [/var/log/app/*.log]"
check_contains "no_flushers: [file:line] and the missing section" "$ERR" \
    "[$BAD:1] no_flushers.flushers: required key is missing"

bad unknown_type "enable: true
inputs:
  - Type: input_file
    FilePaths: [/var/log/app/*.log]
flushers:
  - Type: flusher_nosuch
    FilePath: /tmp/out.jsonl"
check_contains "unknown_type: [file:line] and the plugin name" "$ERR" \
    "[$BAD:6] unknown_type.flushers[0]: unknown plugin type 'flusher_nosuch'"

bad relative_path "enable: true
inputs:
  - Type: input_file
    FilePaths: [logs/*.log]
flushers:
  - Type: flusher_file
    FilePath: /tmp/out.jsonl"
# The plugin reports this at its "- Type:" line (3); the FilePaths line (4) would do as well.
check_matches "relative_path: [file:line], key and path" "$ERR" \
    "^\[$BAD:[34]\] relative_path/input_file\.FilePaths: 'logs/\*\.log' is not an absolute path"

bad processor_as_flusher "enable: true
inputs:
  - Type: input_file
    FilePaths: [/var/log/app/*.log]
flushers:
  - Type: processor_parse_json_native
    SourceKey: content"
check_contains "processor_as_flusher: [file:line] and the wrong kind" "$ERR" \
    "[$BAD:6] processor_as_flusher.flushers[0]: 'processor_parse_json_native' is a processor plugin, not a flusher"

bad near_miss "enable: true
inputs:
  - Type: input_file
    FilePath: [/var/log/app/*.log]
flushers:
  - Type: flusher_file
    FilePath: /tmp/out.jsonl"
check_contains "near_miss: warning names the nearest key" "$ERR" \
    "[$BAD:4] near_miss/input_file.FilePath: warning: unknown key; did you mean 'FilePaths'?"
check_contains "near_miss: error for the missing required FilePaths" "$ERR" \
    "[$BAD:3] near_miss/input_file.FilePaths: required key is missing"
check_contains "near_miss: one error (the warning is not counted)" "$OUT" "$BAD: 1 error(s)"

# Unreadable paths.
run_check "$T/does-not-exist.yaml"
check_eq "nonexistent file: exit status 1" 1 "$RC"
check_contains "nonexistent file: names the path and the reason" "$ERR" \
    "$T/does-not-exist.yaml: cannot read: No such file or directory"

mkdir -p "$T/empty"
echo "not a config" >"$T/empty/README.txt"
run_check "$T/empty"
check_eq "directory without configs: exit status 1" 1 "$RC"
check_contains "directory without configs: says so" "$ERR" \
    "$T/empty: no *.yaml, *.yml or *.json pipeline config"

# ---------------------------------------------------------------- (d) Kubernetes CR form
cat >"$T/cr.yaml" <<EOF
apiVersion: telemetry.alibabacloud.com/v1alpha1
kind: ClusterAliyunPipelineConfig
metadata:
  name: cr-demo
spec:
  config:
    inputs:
      - Type: input_file
        FilePaths:
          - $T/in/*.log
    processors:
      - Type: processor_parse_json_native
        SourceKey: content
    flushers:
      - Type: flusher_file
        FilePath: $T/out/cr.jsonl
EOF
run_check "$T/cr.yaml"
check_eq "CR form: exit status 0" 0 "$RC"
check_contains "CR form: ok with spec.config's plugins" "$OUT" \
    "$T/cr.yaml: ok (pipeline cr: 1 input(s), 1 processor(s), 1 flusher(s))"

# An error inside spec.config is reported at its line in the CR file.
sed 's|FilePath: .*/cr.jsonl|MaxFiles: 3|' "$T/cr.yaml" >"$T/bad/cr_bad.yaml"
run_check "$T/bad/cr_bad.yaml"
check_eq "CR form with an error: exit status 1" 1 "$RC"
check_contains "CR form with an error: [file:line] and key" "$ERR" \
    "[$T/bad/cr_bad.yaml:15] cr_bad/flusher_file.FilePath: required key is missing"

# ---------------------------------------------------------------- (e) a mixed directory
mkdir -p "$T/mixed"
cp "$T/good.yaml" "$T/mixed/a-good.yaml"
cp "$T/bad/out_of_bounds.yaml" "$T/mixed/b-bad.yaml"
echo "ignored" >"$T/mixed/notes.txt"
run_check "$T/mixed"
check_eq "mixed dir: exit status 1" 1 "$RC"
check_contains "mixed dir: the good file is ok" "$OUT" \
    "$T/mixed/a-good.yaml: ok (pipeline a-good: 1 input(s), 1 processor(s), 1 flusher(s))"
check_contains "mixed dir: the bad file's error" "$ERR" \
    "[$T/mixed/b-bad.yaml:5] b-bad/input_file.MaxDirSearchDepth: must be between 0 and 1000"
check_contains "mixed dir: the bad file is counted" "$OUT" "$T/mixed/b-bad.yaml: 1 error(s)"

# Several paths at once: one good file and one missing still checks the good one.
run_check "$T/good.yaml" "$T/missing.yaml"
check_eq "good + missing path: exit status 1" 1 "$RC"
check_contains "good + missing path: good one still ok" "$OUT" "$T/good.yaml: ok"

# ---------------------------------------------------------------- sanitizers
rep=$(sanitizer_report "$T/all.log")
check_eq "no sanitizer reports from petrel check" "" "$rep"

finish
