/* input_file: tails the files matched by FilePaths (LoongCollector's options) and never loses a
 * line: offsets are committed only when the pipeline acknowledges the data, rotated and deleted
 * files are read to their end, and a file is known by device + inode + fingerprints. This file
 * holds the config map and the lifecycle; discovery.c finds files, reader.c reads them,
 * multiline.c and encoding.c make records, checkpoint.c keeps offsets, k8s_meta.c adds the pod's
 * metadata, claims.c arbitrates between pipelines. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/mem.h"
#include "input_file_internal.h"

#define SEC_NS 1000000000ull

static const pt_cfg_field_t if_map[] = {
    {"FilePaths", PT_CFG_STRLIST, NULL, 0, 0, NULL, PT_CFG_REQUIRED,
     offsetof(pt_if_conf_t, file_paths), NULL,
     "Files to collect (up to 10): absolute paths with * in any part and ** as the last "
     "directory"},
    {"MaxDirSearchDepth", PT_CFG_INT, "0", 0, 1000, NULL, PT_CFG_BOUNDED,
     offsetof(pt_if_conf_t, max_depth), NULL, "How deep ** searches below its base directory"},
    {"PreservedDirDepth", PT_CFG_INT, "-1", -1, 1000, NULL, PT_CFG_BOUNDED,
     offsetof(pt_if_conf_t, preserved_dir_depth), NULL,
     "Accepted for LoongCollector compatibility (directories are always watched)"},
    {"ExcludeFilePaths", PT_CFG_STRLIST, NULL, 0, 0, NULL, 0,
     offsetof(pt_if_conf_t, exclude_file_paths), NULL,
     "Absolute path patterns to skip (* within a directory, ** across)"},
    {"ExcludeFiles", PT_CFG_STRLIST, NULL, 0, 0, NULL, 0, offsetof(pt_if_conf_t, exclude_files),
     NULL, "File name patterns to skip"},
    {"ExcludeDirs", PT_CFG_STRLIST, NULL, 0, 0, NULL, 0, offsetof(pt_if_conf_t, exclude_dirs), NULL,
     "Directories (absolute, * allowed) whose files and subdirectories are skipped"},
    {"FileEncoding", PT_CFG_STRING, "utf8", 0, 0, NULL, 0, offsetof(pt_if_conf_t, encoding), NULL,
     "utf8, gbk or utf16 (byte order from the BOM, else little-endian); read as UTF-8"},
    {"TailingAllMatchedFiles", PT_CFG_BOOL, "false", 0, 0, NULL, 0,
     offsetof(pt_if_conf_t, tail_all), NULL,
     "Read files found at start-up from their beginning instead of their tail"},
    {"TailSizeKB", PT_CFG_INT, "1024", 0, 104857600, NULL, PT_CFG_BOUNDED,
     offsetof(pt_if_conf_t, tail_size_kb), NULL,
     "Files found at start-up without a checkpoint and modified in the last 10 minutes are read "
     "from this far before their end (older ones from their end)"},
    {"FlushTimeoutSecs", PT_CFG_INT, "5", 0, 3600, NULL, PT_CFG_BOUNDED,
     offsetof(pt_if_conf_t, flush_timeout_secs), NULL,
     "A last line without newline (or an unfinished multiline record) is emitted after this "
     "many idle seconds"},
    {"MaxLineBytes", PT_CFG_INT, "524288", 256, 67108864, NULL, PT_CFG_BOUNDED,
     offsetof(pt_if_conf_t, max_line_bytes), NULL,
     "Longer lines (and records) are truncated to this size (flagged __truncated__) and counted"},
    {"AppendingLogPositionMeta", PT_CFG_BOOL, "false", 0, 0, NULL, 0,
     offsetof(pt_if_conf_t, append_position_meta), NULL,
     "Add the tag __inode__ and the field __file_offset__ (the record's offset in the file)"},
    {"FileOffsetKey", PT_CFG_STRING, NULL, 0, 0, NULL, 0, offsetof(pt_if_conf_t, file_offset_key),
     NULL, "Name of the field that holds the record's file offset (enables it)"},
    {"Tags", PT_CFG_STRMAP, NULL, 0, 0, NULL, 0, offsetof(pt_if_conf_t, tags), NULL,
     "Renames tags: FilePathTagKey, FileInodeTagKey, K8sNamespaceTagKey, K8sPodNameTagKey, "
     "K8sPodUidTagKey, ContainerNameTagKey, ContainerIpTagKey, ContainerImageNameTagKey, "
     "K8sNodeNameTagKey -> new name (\"\" drops the tag, __default__ keeps it)"},
    {"EnableContainerDiscovery", PT_CFG_BOOL, "false", 0, 0, NULL, 0,
     offsetof(pt_if_conf_t, container_discovery), NULL,
     "Sidecar mode: match ContainerFilters against this pod (downward API env and labels file) "
     "and add its metadata as tags; a pipeline whose filters do not match stays idle"},
    {"ContainerFilters", PT_CFG_SECTION, NULL, 0, 0, NULL, 0, 0, NULL,
     "Conditions on this pod (all must hold)"},
    {"ContainerFilters.K8sPodRegex", PT_CFG_STRING, NULL, 0, 0, NULL, 0,
     offsetof(pt_if_conf_t, cf_pod_regex), NULL, "Regex the pod name (POD_NAME) must match"},
    {"ContainerFilters.K8sNamespaceRegex", PT_CFG_STRING, NULL, 0, 0, NULL, 0,
     offsetof(pt_if_conf_t, cf_ns_regex), NULL, "Regex the namespace (POD_NAMESPACE) must match"},
    {"ContainerFilters.K8sContainerRegex", PT_CFG_STRING, NULL, 0, 0, NULL, 0,
     offsetof(pt_if_conf_t, cf_container_regex), NULL,
     "Regex the container name (CONTAINER_NAME) must match"},
    {"ContainerFilters.IncludeK8sLabel", PT_CFG_STRMAP, NULL, 0, 0, NULL, 0,
     offsetof(pt_if_conf_t, cf_include_label), NULL,
     "Pod labels, any of which must hold (empty value: key present; ^...$: regex; else equal)"},
    {"ContainerFilters.ExcludeK8sLabel", PT_CFG_STRMAP, NULL, 0, 0, NULL, 0,
     offsetof(pt_if_conf_t, cf_exclude_label), NULL, "Pod labels, none of which may hold"},
    {"ContainerFilters.IncludeEnv", PT_CFG_STRMAP, NULL, 0, 0, NULL, 0,
     offsetof(pt_if_conf_t, cf_include_env), NULL,
     "Environment variables (of petrel's container), any of which must hold"},
    {"ContainerFilters.ExcludeEnv", PT_CFG_STRMAP, NULL, 0, 0, NULL, 0,
     offsetof(pt_if_conf_t, cf_exclude_env), NULL, "Environment variables, none of which may hold"},
    {"ContainerFilters.IncludeContainerLabel", PT_CFG_STRMAP, NULL, 0, 0, NULL, 0,
     offsetof(pt_if_conf_t, cf_include_ctr_label), NULL,
     "Container runtime labels (none are visible to a sidecar: never holds)"},
    {"ContainerFilters.ExcludeContainerLabel", PT_CFG_STRMAP, NULL, 0, 0, NULL, 0,
     offsetof(pt_if_conf_t, cf_exclude_ctr_label), NULL,
     "Container runtime labels (none are visible to a sidecar: never excludes)"},
    {"ExternalK8sLabelTag", PT_CFG_STRMAP, NULL, 0, 0, NULL, 0,
     offsetof(pt_if_conf_t, external_k8s_label_tag), NULL,
     "Pod label -> tag name; the tag is empty when the pod has no such label"},
    {"ExternalEnvTag", PT_CFG_STRMAP, NULL, 0, 0, NULL, 0, offsetof(pt_if_conf_t, external_env_tag),
     NULL, "Environment variable -> tag name; empty when unset"},
    {"Multiline", PT_CFG_SECTION, NULL, 0, 0, NULL, 0, 0, NULL,
     "Records of several lines (regexes are matched at the start of each line)"},
    {"Multiline.Mode", PT_CFG_STRING, "custom", 0, 0, "custom|JSON", 0,
     offsetof(pt_if_conf_t, ml_mode), NULL,
     "custom (the patterns below) or JSON (one JSON object over several lines)"},
    {"Multiline.StartPattern", PT_CFG_STRING, NULL, 0, 0, NULL, 0, offsetof(pt_if_conf_t, ml_start),
     NULL, "Regex of the first line of a record"},
    {"Multiline.ContinuePattern", PT_CFG_STRING, NULL, 0, 0, NULL, 0,
     offsetof(pt_if_conf_t, ml_continue), NULL, "Regex of the lines that continue a record"},
    {"Multiline.EndPattern", PT_CFG_STRING, NULL, 0, 0, NULL, 0, offsetof(pt_if_conf_t, ml_end),
     NULL, "Regex of the last line of a record"},
    {"Multiline.UnmatchedContentTreatment", PT_CFG_STRING, "single_line", 0, 0,
     "single_line|discard", 0, offsetof(pt_if_conf_t, ml_unmatched), NULL,
     "Lines outside any record: one event each (single_line) or dropped (discard, counted)"},
    {"IgnoringUnmatchWarning", PT_CFG_BOOL, "false", 0, 0, NULL, 0,
     offsetof(pt_if_conf_t, ignoring_unmatch_warning), NULL,
     "Accepted for LoongCollector compatibility (unmatched lines are counted, not logged)"},
    {"AllowingCollectingFilesInRootDir", PT_CFG_BOOL, "false", 0, 0, NULL, 0,
     offsetof(pt_if_conf_t, allow_root_dir), NULL, "Allow FilePaths directly under /"},
    {"AllowingIncludedByMultiConfigs", PT_CFG_BOOL, "false", 0, 0, NULL, 0,
     offsetof(pt_if_conf_t, allow_multi_configs), NULL,
     "Collect files that other pipelines match too (otherwise a file belongs to the pipeline "
     "with the deepest matching path, then the oldest)"},
    {"CloseUnusedReaderIntervalSec", PT_CFG_INT, "60", 1, 86400, NULL, PT_CFG_BOUNDED,
     offsetof(pt_if_conf_t, close_unused_secs), NULL,
     "Files idle this long give their descriptor back and are reopened on change"},
    {"RotatorQueueSize", PT_CFG_INT, "20", 1, 1000, NULL, PT_CFG_BOUNDED,
     offsetof(pt_if_conf_t, rotator_queue_size), NULL,
     "Rotated generations of one path kept open while they may still grow; older ones are "
     "closed as soon as they are read to their end"},
    {"RotateWaitSecs", PT_CFG_INT, "5", 0, 3600, NULL, PT_CFG_BOUNDED,
     offsetof(pt_if_conf_t, rotate_wait_secs), NULL,
     "A rotated or deleted file is closed once read to its end and idle this long (a writer may "
     "still append to it just after the rename)"},
    {"DeletedFileMaxHoldSecs", PT_CFG_INT, "300", 0, 86400, NULL, PT_CFG_BOUNDED,
     offsetof(pt_if_conf_t, deleted_hold_secs), NULL,
     "A deleted file is closed at the latest this long after its deletion, once read to its "
     "current end (frees its disk space even if a writer keeps it open)"},
    {"MaxOpenFiles", PT_CFG_INT, "0", 0, 1000000, NULL, PT_CFG_BOUNDED,
     offsetof(pt_if_conf_t, max_open_files), NULL,
     "Descriptors this input may hold (0: only the process budget, 3/4 of RLIMIT_NOFILE); "
     "more files are read in turns"},
    {"CheckpointIntervalMs", PT_CFG_INT, "2000", 50, 600000, NULL, PT_CFG_BOUNDED,
     offsetof(pt_if_conf_t, checkpoint_interval_ms), NULL,
     "How often committed offsets are written to the checkpoint file"},
    {"CheckpointExpireSecs", PT_CFG_INT, "3600", 0, 31536000, NULL, PT_CFG_BOUNDED,
     offsetof(pt_if_conf_t, checkpoint_expire_secs), NULL,
     "Checkpoint entries of files gone for this long are removed"},
};

/* =================================================================== create / destroy ===== */

static void free_tags(pt_if_state_t *s)
{
    for (size_t i = 0; i < s->ntags; i++) {
        pt_free(s->tags[i].key);
        pt_free(s->tags[i].val);
    }
    pt_free(s->tags);
    s->tags = NULL;
    s->ntags = 0;
}

static void state_free(pt_if_state_t *s)
{
    pt_if_patterns_free(s);
    pt_if_ml_free(&s->ml);
    pt_if_conv_free(&s->conv);
    pt_if_k8s_free(&s->k8s, s->c);
    pt_if_pod_free(&s->pod);
    free_tags(s);
}

static int if_create(pt_plugin_inst_t *inst, const pt_plugin_env_t *env, pt_cfg_diag_t *d)
{
    pt_if_conf_t *c = inst->config;
    int rc = 0;
    if (c->file_paths.n == 0) {
        pt_cfg_error(d, inst->line, "FilePaths", "needs at least one path");
        rc = -EINVAL;
    }
    if (c->file_paths.n > PT_IF_MAX_PATHS) {
        pt_cfg_error(d, inst->line, "FilePaths", "at most %d paths, got %zu", PT_IF_MAX_PATHS,
                     c->file_paths.n);
        rc = -EINVAL;
    }
    for (size_t i = 0; i < c->file_paths.n; i++) {
        const char *p = c->file_paths.v[i];
        if (p[0] != '/') {
            pt_cfg_error(d, inst->line, "FilePaths", "'%s' is not an absolute path", p);
            rc = -EINVAL;
        } else if (!c->allow_root_dir && strchr(p + 1, '/') == NULL) {
            pt_cfg_error(d, inst->line, "FilePaths",
                         "'%s' is directly under /; set AllowingCollectingFilesInRootDir", p);
            rc = -EINVAL;
        }
    }
    pt_if_enc_t enc = PT_IF_ENC_UTF8;
    if (pt_if_enc_parse(c->encoding, &enc) != 0) {
        pt_cfg_error(d, inst->line, "FileEncoding", "'%s' is not one of utf8, gbk, utf16",
                     c->encoding);
        rc = -EINVAL;
    }
    for (size_t i = 0; i < c->exclude_file_paths.n; i++) {
        if (c->exclude_file_paths.v[i][0] != '/') {
            pt_cfg_error(d, inst->line, "ExcludeFilePaths", "'%s' is not an absolute path",
                         c->exclude_file_paths.v[i]);
            rc = -EINVAL;
        }
    }
    for (size_t i = 0; i < c->exclude_dirs.n; i++) {
        if (c->exclude_dirs.v[i][0] != '/') {
            pt_cfg_error(d, inst->line, "ExcludeDirs", "'%s' is not an absolute path",
                         c->exclude_dirs.v[i]);
            rc = -EINVAL;
        }
    }
    for (size_t i = 0; i < c->exclude_files.n; i++) {
        if (strchr(c->exclude_files.v[i], '/') != NULL) {
            pt_cfg_error(d, inst->line, "ExcludeFiles",
                         "'%s' contains '/': file name patterns only (see ExcludeFilePaths)",
                         c->exclude_files.v[i]);
            rc = -EINVAL;
        }
    }
    if (rc != 0) {
        return rc;
    }
    pt_if_state_t *s = pt_calloc(1, sizeof(*s));
    if (s == NULL) {
        return -ENOMEM;
    }
    s->inst = inst;
    s->c = c;
    s->id = inst->id;
    s->data_dir = env->data_dir;
    s->oneshot = env->oneshot;
    s->ino_fd = -1;
    s->conv.enc = enc;
    rc = pt_if_patterns_init(s, d);
    if (rc == 0) {
        rc = pt_if_ml_init(&s->ml, c, inst, d);
    }
    if (rc == 0) {
        rc = pt_if_k8s_init(&s->k8s, c, inst, d);
    }
    if (rc != 0) {
        state_free(s);
        pt_free(s);
        return rc;
    }
    /* Tags, as LoongCollector names them (FileTagOptions): the path by default, inode and
     * offset with AppendingLogPositionMeta, or when named explicitly. */
    s->path_tag = pt_if_tag_name(c, "FilePathTagKey", "__path__");
    int inode_named = 0;
    for (size_t i = 0; i < c->tags.n; i++) {
        inode_named |= strcmp(c->tags.keys[i], "FileInodeTagKey") == 0;
    }
    if (c->file_offset_key != NULL || inode_named) {
        s->inode_tag = inode_named ? pt_if_tag_name(c, "FileInodeTagKey", "__inode__") : NULL;
        s->offset_key =
            c->file_offset_key != NULL && c->file_offset_key[0] != '\0' ? c->file_offset_key : NULL;
    } else if (c->append_position_meta) {
        s->inode_tag = "__inode__";
        s->offset_key = "__file_offset__";
    }
    s->general = s->ml.mode != PT_IF_ML_NONE || enc != PT_IF_ENC_UTF8 || s->offset_key != NULL;
    inst->state = s;
    return 0;
}

static void if_stop(pt_plugin_inst_t *inst);

static void if_destroy(pt_plugin_inst_t *inst)
{
    pt_if_state_t *s = inst->state;
    if (s->started) {
        if_stop(inst); /* no-op when already stopped */
        if (!s->idle_reason_set) {
            pt_if_save_checkpoint(s);
        }
    }
    pt_if_claims_unregister(s);
    while (s->nfiles > 0) {
        pt_if_file_free(s, s->files[--s->nfiles]);
    }
    pt_free(s->files);
    pt_free(s->htab);
    pt_free(s->itab);
    pt_free(s->lines);
    pt_free(s->recs);
    pt_if_dirs_free(s);
    pt_if_failed_free(s);
    pt_ckpt_free(&s->ckpt);
    state_free(s);
    pt_plugin_gauge_free(s->m_files_open);
    pt_plugin_gauge_free(s->m_files_deleted);
    pt_plugin_gauge_free(s->m_files_waiting);
    pt_plugin_counter_free(s->m_rotations);
    pt_plugin_counter_free(s->m_truncations);
    pt_plugin_counter_free(s->m_truncated_lines);
    pt_plugin_counter_free(s->m_unmatched_lines);
    pt_plugin_counter_free(s->m_overflows);
    pt_plugin_gauge_free(s->m_lag);
    pt_plugin_gauge_free(s->m_idle);
    pt_acker_destroy(s->acker);
    inst->state = NULL;
    if (s->handles_open > 0) {
        /* Handle memory may be reused only after its close callback (libuv): the last one
         * frees the state. */
        s->free_on_close = 1;
        return;
    }
    pt_free(s);
}

/* ========================================================================== timers ======= */

static void on_ckpt_timer(uv_timer_t *t)
{
    pt_if_state_t *s = t->data;
    if (s->ckpt_dirty) {
        pt_if_save_checkpoint(s);
    }
}

static void on_poll_timer(uv_timer_t *t)
{
    pt_if_state_t *s = t->data;
    if (s->stopped) {
        return;
    }
    uint64_t now = pt_now_mono_ns();
    /* The full scan is the backstop: every second without inotify (or after a missed event),
     * every 5 s when inotify watches every directory. */
    uint64_t every = s->ino_fd >= 0 && !s->ino_failed ? 5 * SEC_NS : SEC_NS;
    if (!s->oneshot && now - s->last_scan_ns >= every) {
        pt_if_scan(s, 0);
    }
    pt_if_poll(s);
}

/* =========================================================================== lifecycle === */

static void on_handle_closed(uv_handle_t *h)
{
    pt_if_state_t *s = h->data;
    s->handles_open--;
    if (s->handles_open == 0 && s->free_on_close) {
        pt_free(s);
    }
}

/* Sidecar mode: this pod either matches ContainerFilters or the pipeline stays idle. */
static int pod_matches(pt_if_state_t *s)
{
    const pt_if_conf_t *c = s->c;
    if (!c->container_discovery) {
        return 1;
    }
    if (pt_if_pod_load(&s->pod) != 0) {
        return -ENOMEM;
    }
    char why[512];
    if (!pt_if_k8s_match(&s->k8s, c, &s->pod, why, sizeof(why))) {
        pt_plg_warn(s->id, "this pod does not match ContainerFilters (%s): the input stays idle",
                    why);
        pt_buf_t labels;
        pt_buf_init(&labels);
        pt_metrics_label_append(&labels, "pipeline", pt_pipeline_name(s->inst->pipeline));
        pt_metrics_label_append(&labels, "plugin", strchr(s->id, '/') + 1);
        pt_metrics_label_append(&labels, "reason", why);
        pt_buf_putc(&labels, '\0');
        s->m_idle = pt_gauge_new("petrel_input_file_idle",
                                 "1 while the input stays idle because ContainerFilters do not "
                                 "match this pod; the reason is a label",
                                 labels.data != NULL ? labels.data : "");
        pt_gauge_set(s->m_idle, 1);
        pt_buf_free(&labels);
        s->idle_reason_set = 1;
        return 0;
    }
    if (s->pod.name == NULL && s->pod.ns == NULL) {
        pt_plg_warn(s->id, "EnableContainerDiscovery is set but POD_NAME and POD_NAMESPACE are "
                           "not: the Kubernetes tags are empty (are the downward-API variables "
                           "injected?)");
    }
    return pt_if_k8s_tags(c, &s->pod, &s->tags, &s->ntags) == 0 ? 1 : -ENOMEM;
}

static int if_start(pt_plugin_inst_t *inst, uv_loop_t *loop)
{
    pt_if_state_t *s = inst->state;
    s->m_files_open = pt_plugin_gauge(inst, "petrel_input_file_files_open", "Files open");
    s->m_files_deleted = pt_plugin_gauge(inst, "petrel_input_file_files_deleted_open",
                                         "Files deleted while open, held until read to their end");
    s->m_files_waiting = pt_plugin_gauge(inst, "petrel_input_file_files_waiting",
                                         "Files with data waiting for a descriptor (MaxOpenFiles)");
    s->m_rotations = pt_plugin_counter(inst, "petrel_input_file_rotations_total",
                                       "Files renamed away (rotated) while collected");
    s->m_truncations = pt_plugin_counter(inst, "petrel_input_file_truncations_total",
                                         "Files truncated under the reader (copytruncate)");
    s->m_truncated_lines = pt_plugin_counter(inst, "petrel_input_file_truncated_lines_total",
                                             "Lines cut at MaxLineBytes");
    s->m_unmatched_lines = pt_plugin_counter(inst, "petrel_input_file_unmatched_lines_total",
                                             "Lines outside any multiline record");
    s->m_overflows = pt_plugin_counter(inst, "petrel_input_file_inotify_overflows_total",
                                       "inotify queue overflows (followed by a rescan)");
    s->m_lag = pt_plugin_gauge(inst, "petrel_input_file_lag_bytes", "Bytes not read yet");
    int rc = pt_ckpt_load(&s->ckpt, s->data_dir, pt_pipeline_name(inst->pipeline), s->id);
    if (rc != 0) {
        return rc;
    }
    rc = pod_matches(s);
    if (rc < 0) {
        return rc;
    }
    int active = rc == 1;
    rc = pt_acker_create(loop, &s->acker);
    if (rc != 0) {
        return rc;
    }
    if (active && pt_if_claims_register(s) != 0) {
        return -ENOMEM;
    }
    s->loop = loop;
    uv_timer_init(loop, &s->poll_timer);
    uv_timer_init(loop, &s->ckpt_timer);
    uv_idle_init(loop, &s->idle);
    s->poll_timer.data = s->ckpt_timer.data = s->idle.data = s;
    s->handles_open = 3;
    s->started = 1;
    s->start_ns = pt_now_mono_ns();
    if (!active) {
        return 0; /* idle: no discovery, no reading; the checkpoint file is left as it is */
    }
    if (!s->oneshot) {
        pt_if_inotify_start(s);
    }
    pt_if_scan(s, 1);
    pt_if_rescue_rotated(s);
    uv_timer_start(&s->poll_timer, on_poll_timer, s->oneshot ? 50 : 200, s->oneshot ? 50 : 200);
    uv_timer_start(&s->ckpt_timer, on_ckpt_timer, (uint64_t)s->c->checkpoint_interval_ms,
                   (uint64_t)s->c->checkpoint_interval_ms);
    pt_if_start_idle(s);
    return 0;
}

static void if_resume(pt_plugin_inst_t *inst)
{
    pt_if_state_t *s = inst->state;
    PT_LOG(PT_LOG_TRACE, s->id, "resuming");
    s->blocked = 0;
    pt_if_start_idle(s);
}

static int if_finished(pt_plugin_inst_t *inst)
{
    pt_if_state_t *s = inst->state;
    if (!s->oneshot) {
        return 0;
    }
    if (s->idle_reason_set) {
        return 1;
    }
    return pt_if_all_read(s) && !s->idle_on;
}

static void if_flush_state(pt_plugin_inst_t *inst)
{
    pt_if_state_t *s = inst->state;
    if (s->started && !s->idle_reason_set) {
        pt_if_save_checkpoint(s);
    }
}

static void if_stop(pt_plugin_inst_t *inst)
{
    pt_if_state_t *s = inst->state;
    if (s->stopped || !s->started) {
        return;
    }
    s->stopped = 1;
    pt_if_claims_unregister(s);
    uv_close((uv_handle_t *)&s->poll_timer, on_handle_closed);
    uv_close((uv_handle_t *)&s->ckpt_timer, on_handle_closed);
    uv_close((uv_handle_t *)&s->idle, on_handle_closed);
    pt_if_inotify_close(s, on_handle_closed);
    pt_if_drop_pending(s);
    if (!s->idle_reason_set) {
        pt_if_save_checkpoint(s);
    }
}

const pt_plugin_t pt_plugin_input_file = {
    .name = "input_file",
    .kind = PT_PLUGIN_INPUT,
    .description = "Tails files (rotation, copytruncate, multiline, encodings, sidecar "
                   "metadata), with checkpoints committed only for acknowledged data",
    .config_map = if_map,
    .config_n = sizeof(if_map) / sizeof(if_map[0]),
    .config_size = sizeof(pt_if_conf_t),
    .create = if_create,
    .start = if_start,
    .stop = if_stop,
    .destroy = if_destroy,
    .resume = if_resume,
    .finished = if_finished,
    .flush_state = if_flush_state,
};
