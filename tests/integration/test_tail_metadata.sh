#!/usr/bin/env bash
# input_file metadata: the path tag, AppendingLogPositionMeta (__tag__:__inode__ and each record's
# __file_offset__), renames through Tags and FileOffsetKey, sidecar mode (EnableContainerDiscovery:
# the pod's downward-API env and labels file as LoongCollector's tags, ExternalK8sLabelTag,
# ExternalEnvTag) and ContainerFilters that do not match this pod (the pipeline stays idle and
# says why in its log and in a metric), and the per-pipeline file metrics.
set -euo pipefail
PT_NAME=test_tail_metadata
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PORT=$(free_port)
URL=http://127.0.0.1:$PORT
LOG=$T/petrel.log
mkdir -p "$T/conf" "$T/data" "$T/in" "$T/podinfo"
cat >"$T/petrel.yaml" <<EOF
data_dir: $T/data
admin: {enable: true, host: 127.0.0.1, port: $PORT}
EOF
pipeline() { # NAME FILE EXTRA_INPUT_YAML
    cat >"$T/conf/$1.yaml" <<EOF
inputs:
  - Type: input_file
    FilePaths: [$T/in/$2]
$3
aggregators:
  - Type: aggregator_default
    TimeoutMs: 100
flushers:
  - Type: flusher_file
    FilePath: $T/out/$1.jsonl
    MaxFileSize: 0
EOF
}
pipeline pos pos.log '    AppendingLogPositionMeta: true'
pipeline renamed ren.log '    FileOffsetKey: off
    Tags: {FilePathTagKey: file_path, FileInodeTagKey: ino}'
pipeline nopath nopath.log '    Tags: {FilePathTagKey: ""}'
pipeline k8s k8s.log '    EnableContainerDiscovery: true
    ContainerFilters:
      K8sNamespaceRegex: sand.*
      K8sPodRegex: ^agent-.*$
      IncludeK8sLabel: {app: agent}
      ExcludeK8sLabel: {tier: "^prod.*$"}
    ExternalK8sLabelTag: {app: k8s_app, absent: k8s_absent}
    ExternalEnvTag: {AGENT_ID: agent_id}
    Tags: {K8sPodUidTagKey: uid}'
pipeline k8sno k8sno.log '    EnableContainerDiscovery: true
    ContainerFilters:
      K8sNamespaceRegex: prod'
printf 'app="agent"\ntier="sandbox"\npetrel.dev/inject="true"\n' >"$T/podinfo/labels"

# events FILE: the output events as a JSON list.
events() {
    python3 -c 'import json, sys, os
p = sys.argv[1]
print(json.dumps([json.loads(l) for l in open(p)] if os.path.exists(p) else []))' "$1"
}
has_n() { [ "$(count_lines "$1")" -ge "$2" ]; }
m() { metric "$URL/metrics" "$2{pipeline=\"$1\",plugin=\"input_file\"}"; }

POD_NAME=agent-7f9c POD_NAMESPACE=sandbox POD_UID=0a1b-2c NODE_NAME=node-3 POD_IP=10.0.0.7 \
    CONTAINER_NAME=agent CONTAINER_IMAGE=ghcr.io/openclaw/agent:1.2 AGENT_ID=a-42 \
    PETREL_POD_LABELS_FILE=$T/podinfo/labels \
    start_bg "$LOG" "$PETREL" run --agent-config "$T/petrel.yaml" --config-dir "$T/conf"
PID=$BG_PID
wait_until 10 eval '[ "$(http_code $URL/readyz)" == 200 ]' || true
check_eq "petrel is ready" 200 "$(http_code "$URL/readyz")"

for f in pos ren nopath k8s k8sno; do
    printf 'one\ntwo two\nthree\n' >"$T/in/$f.log"
done

# ---- AppendingLogPositionMeta ----------------------------------------------------------------
check "position meta: lines arrive" wait_until 5 has_n "$T/out/pos.jsonl" 3
ino=$(stat -c %i "$T/in/pos.log")
python3 - "$(events "$T/out/pos.jsonl")" "$ino" "$T/in/pos.log" <<'PY' && ok "position meta: __file_offset__ per record, __tag__:__inode__ and __path__" || not_ok "position meta"
import json, sys
ev, ino, path = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
got = [(e["content"], e["__file_offset__"], e["__tag__:__inode__"], e["__tag__:__path__"]) for e in ev]
want = [("one", "0", ino, path), ("two two", "4", ino, path), ("three", "12", ino, path)]
assert got == want, got
PY

# ---- Tags renames and FileOffsetKey ----------------------------------------------------------
check "renamed tags: lines arrive" wait_until 5 has_n "$T/out/renamed.jsonl" 3
python3 - "$(events "$T/out/renamed.jsonl")" "$(stat -c %i "$T/in/ren.log")" "$T/in/ren.log" <<'PY' && ok "Tags renames the path and inode tags; FileOffsetKey names the offset field" || not_ok "Tags renames"
import json, sys
ev, ino, path = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
e = ev[1]
assert e["off"] == "4" and e["__tag__:ino"] == ino and e["__tag__:file_path"] == path, e
assert "__tag__:__path__" not in e and "__file_offset__" not in e, e
PY
check "no path tag: lines arrive" wait_until 5 has_n "$T/out/nopath.jsonl" 3
check_eq "FilePathTagKey \"\" drops the path tag" '[{"content": "one"}]' \
    "$(events "$T/out/nopath.jsonl" | python3 -c 'import json, sys
print(json.dumps([{k: v for k, v in e.items() if k != "__time__"} for e in json.load(sys.stdin)][:1]))')"

# ---- sidecar: this pod's metadata as tags ----------------------------------------------------
check "k8s: lines arrive" wait_until 5 has_n "$T/out/k8s.jsonl" 3
check_eq "k8s: LoongCollector's tags from the downward API, renames, labels and env" \
    '{"__tag__:__path__": "'"$T"'/in/k8s.log", "__tag__:_container_ip_": "10.0.0.7", "__tag__:_container_name_": "agent", "__tag__:_image_name_": "ghcr.io/openclaw/agent:1.2", "__tag__:_namespace_": "sandbox", "__tag__:_node_name_": "node-3", "__tag__:_pod_name_": "agent-7f9c", "__tag__:agent_id": "a-42", "__tag__:k8s_absent": "", "__tag__:k8s_app": "agent", "__tag__:uid": "0a1b-2c", "content": "one"}' \
    "$(events "$T/out/k8s.jsonl" | python3 -c 'import json, sys
e = json.load(sys.stdin)[0]
e.pop("__time__")
print(json.dumps(dict(sorted(e.items()))))')"

# ---- ContainerFilters that do not match: idle, with the reason in the log and a metric ------
REASON="K8sNamespaceRegex does not match namespace 'sandbox'"
check_contains "k8sno: the reason is logged" "$(cat "$LOG")" \
    "[k8sno/input_file] this pod does not match ContainerFilters ($REASON): the input stays idle"
check_eq "k8sno: the idle metric carries the reason" 1 \
    "$(metric "$URL/metrics" "petrel_input_file_idle{pipeline=\"k8sno\",plugin=\"input_file\",reason=\"$REASON\"}")"
sleep 1
check_eq "k8sno: its file is not collected" 0 "$(count_lines "$T/out/k8sno.jsonl")"

# ---- per-pipeline file metrics ------------------------------------------------------------------
mt=$(http_body "$URL/metrics")
for name in files_open files_deleted_open files_waiting lag_bytes rotations_total \
    truncations_total truncated_lines_total unmatched_lines_total; do
    check_matches "metric petrel_input_file_$name for pipeline pos" "$mt" \
        "^petrel_input_file_${name}\\{pipeline=\"pos\",plugin=\"input_file\"\\} [0-9]+$"
done
check_eq "files_open counts the open file" 1 "$(m pos petrel_input_file_files_open)"
check_eq "lag_bytes is 0 once everything is read" 0 "$(m pos petrel_input_file_lag_bytes)"

stop_pid "$PID" TERM 10
check_eq "SIGTERM: exit 0" 0 "$STOP_RC"

# ---- one-shot with only an idle pipeline finishes at once ----------------------------------------
rm -f "$T/conf/"{pos,renamed,nopath,k8s}.yaml
t0=$(date +%s%N)
if timeout 20 "$PETREL" run --agent-config "$T/petrel.yaml" --config-dir "$T/conf" --oneshot \
    >>"$LOG" 2>&1; then
    ok "oneshot with an idle pipeline exits 0 in $((($(date +%s%N) - t0) / 1000000)) ms"
else
    not_ok "oneshot with an idle pipeline exits 0"
fi
check_eq "no sanitizer reports" "" "$(sanitizer_report "$LOG")"
finish
