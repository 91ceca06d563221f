/* input_file: tails files matched by FilePaths, splits them into lines (raw events that point
 * into the read buffer), and commits offsets only when the pipeline acknowledges the data.
 * Runs on the input loop: a discovery scan every second, a poll of open files, and an idle
 * handle that keeps reading while data is available, one chunk per file per turn (fair). */
#include <dirent.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/mem.h"
#include "input_file_internal.h"

#define READ_CHUNK (448u * 1024u)
#define FP_BYTES 1024u

typedef struct {
    pt_strlist_t file_paths;
    int64_t max_depth;
    pt_strlist_t exclude_file_paths;
    pt_strlist_t exclude_files;
    pt_strlist_t exclude_dirs;
    char *encoding;
    int tail_all;
    int64_t tail_size_kb;
    int64_t flush_timeout_secs;
    int64_t max_line_bytes;
    int append_position_meta;
    int container_discovery;
    const pt_node_t *container_filters;
    const pt_node_t *multiline;
    int allow_root_dir;
    int allow_multi_configs;
    int64_t close_unused_secs;
    int64_t rotator_queue_size;
    int64_t checkpoint_interval_ms;
} if_conf_t;

static const pt_cfg_field_t if_map[] = {
    {"FilePaths", PT_CFG_STRLIST, NULL, 0, 0, NULL, PT_CFG_REQUIRED,
     offsetof(if_conf_t, file_paths), NULL,
     "Files to collect: absolute paths with * in any part and ** for subdirectories"},
    {"MaxDirSearchDepth", PT_CFG_INT, "0", 0, 1000, NULL, PT_CFG_BOUNDED,
     offsetof(if_conf_t, max_depth), NULL, "How deep ** searches below its base directory"},
    {"ExcludeFilePaths", PT_CFG_STRLIST, NULL, 0, 0, NULL, 0,
     offsetof(if_conf_t, exclude_file_paths), NULL, "Absolute path patterns to skip"},
    {"ExcludeFiles", PT_CFG_STRLIST, NULL, 0, 0, NULL, 0, offsetof(if_conf_t, exclude_files),
     NULL, "File name patterns to skip"},
    {"ExcludeDirs", PT_CFG_STRLIST, NULL, 0, 0, NULL, 0, offsetof(if_conf_t, exclude_dirs), NULL,
     "Directory path patterns to skip"},
    {"FileEncoding", PT_CFG_STRING, "utf8", 0, 0, "utf8|gbk|utf16", 0,
     offsetof(if_conf_t, encoding), NULL, "Encoding of the files (this build reads utf8)"},
    {"TailingAllMatchedFiles", PT_CFG_BOOL, "false", 0, 0, NULL, 0, offsetof(if_conf_t, tail_all),
     NULL, "Read files found at start-up from their beginning instead of their tail"},
    {"TailSizeKB", PT_CFG_INT, "1024", 0, 104857600, NULL, PT_CFG_BOUNDED,
     offsetof(if_conf_t, tail_size_kb), NULL,
     "Files found at start-up without a checkpoint are read from this far before their end"},
    {"FlushTimeoutSecs", PT_CFG_INT, "5", 0, 3600, NULL, PT_CFG_BOUNDED,
     offsetof(if_conf_t, flush_timeout_secs), NULL,
     "A last line without newline is emitted after this many idle seconds"},
    {"MaxLineBytes", PT_CFG_INT, "524288", 256, 67108864, NULL, PT_CFG_BOUNDED,
     offsetof(if_conf_t, max_line_bytes), NULL,
     "Longer lines are truncated to this size (flagged __truncated__) and counted"},
    {"AppendingLogPositionMeta", PT_CFG_BOOL, "false", 0, 0, NULL, 0,
     offsetof(if_conf_t, append_position_meta), NULL,
     "Add __tag__:__inode__ and the line's __file_offset__"},
    {"EnableContainerDiscovery", PT_CFG_BOOL, "false", 0, 0, NULL, 0,
     offsetof(if_conf_t, container_discovery), NULL,
     "Sidecar mode: evaluate ContainerFilters against this pod (see input_file issue)"},
    {"ContainerFilters", PT_CFG_NODE, NULL, 0, 0, NULL, 0, offsetof(if_conf_t, container_filters),
     NULL, "K8sPodRegex, K8sNamespaceRegex, IncludeK8sLabel, ... (accepted)"},
    {"Multiline", PT_CFG_NODE, NULL, 0, 0, NULL, 0, offsetof(if_conf_t, multiline), NULL,
     "Multiline record options (accepted; records are single lines in this build)"},
    {"AllowingCollectingFilesInRootDir", PT_CFG_BOOL, "false", 0, 0, NULL, 0,
     offsetof(if_conf_t, allow_root_dir), NULL, "Allow FilePaths directly under /"},
    {"AllowingIncludedByMultiConfigs", PT_CFG_BOOL, "false", 0, 0, NULL, 0,
     offsetof(if_conf_t, allow_multi_configs), NULL,
     "Allow a file to be collected by several pipelines"},
    {"CloseUnusedReaderIntervalSec", PT_CFG_INT, "60", 1, 86400, NULL, PT_CFG_BOUNDED,
     offsetof(if_conf_t, close_unused_secs), NULL, "Close files idle this long"},
    {"RotatorQueueSize", PT_CFG_INT, "20", 1, 1000, NULL, PT_CFG_BOUNDED,
     offsetof(if_conf_t, rotator_queue_size), NULL,
     "Rotated generations still read to their end"},
    {"CheckpointIntervalMs", PT_CFG_INT, "2000", 50, 600000, NULL, PT_CFG_BOUNDED,
     offsetof(if_conf_t, checkpoint_interval_ms), NULL,
     "How often committed offsets are written to the checkpoint file"},
};

typedef struct range_s {
    uint64_t end;
    int state; /* 0 in flight, 1 acked, -1 failed */
    struct range_s *next;
} range_t;

typedef struct file_s {
    char *path;
    uint64_t dev;
    uint64_t ino;
    uint64_t source;
    int fd;
    uint64_t read_off;  /* next byte to read */
    uint64_t committed; /* acknowledged prefix */
    uint64_t size;      /* last fstat size */
    char *carry;        /* bytes of an unfinished line, starting at read_off - carry_len */
    size_t carry_len;
    size_t carry_cap;
    int discarding;     /* dropping the rest of an over-long line */
    uint64_t last_data_ns;
    range_t *ranges;    /* in-flight groups, in offset order */
    range_t *ranges_tail;
    pt_group_t *pending; /* built but refused (PT_AGAIN) */
    int gone;            /* no longer matched, or replaced: read to end, then close */
    int commit_stalled;
    int seen;
    struct file_s *next;
} file_t;

typedef struct {
    pt_plugin_inst_t *inst;
    const if_conf_t *c;
    const char *id;
    const char *data_dir;
    int oneshot;
    uv_loop_t *loop;
    pt_acker_t *acker;
    uv_timer_t scan_timer;
    uv_timer_t ckpt_timer;
    uv_idle_t idle;
    int idle_on;
    int blocked;
    int stopped;
    int started;
    int handles_open;
    int free_on_close; /* destroy came while handles were closing: the last close frees s */
    file_t *files;
    pt_ckpt_t ckpt;
    int ckpt_dirty;
    uint64_t start_ns;
    pt_gauge_t *m_files_open;
    pt_counter_t *m_truncations;
    pt_counter_t *m_truncated_lines;
    pt_gauge_t *m_lag;
} if_state_t;

/* =================================================================== create / destroy ===== */

static int if_create(pt_plugin_inst_t *inst, const pt_plugin_env_t *env, pt_cfg_diag_t *d)
{
    if_conf_t *c = inst->config;
    int rc = 0;
    if (c->file_paths.n == 0) {
        pt_cfg_error(d, inst->line, "FilePaths", "needs at least one path");
        rc = -EINVAL;
    }
    if (c->file_paths.n > 10) {
        pt_cfg_error(d, inst->line, "FilePaths", "at most 10 paths, got %zu", c->file_paths.n);
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
    if (c->encoding != NULL && strcmp(c->encoding, "utf8") != 0) {
        pt_cfg_error(d, inst->line, "FileEncoding",
                     "'%s' is not supported by this build yet (only utf8)", c->encoding);
        rc = -EINVAL;
    }
    if (rc != 0) {
        return rc;
    }
    if_state_t *s = pt_calloc(1, sizeof(*s));
    if (s == NULL) {
        return -ENOMEM;
    }
    s->inst = inst;
    s->c = c;
    s->id = inst->id;
    s->data_dir = env->data_dir;
    s->oneshot = env->oneshot;
    inst->state = s;
    return 0;
}

static void file_free(file_t *f)
{
    if (f->fd >= 0) {
        close(f->fd);
    }
    while (f->ranges != NULL) {
        range_t *r = f->ranges;
        f->ranges = r->next;
        pt_free(r);
    }
    if (f->pending != NULL) {
        pt_ack_abandon(f->pending->ack);
        pt_group_release(f->pending);
    }
    pt_free(f->carry);
    pt_free(f->path);
    pt_free(f);
}

static void if_save_checkpoint(if_state_t *s);

static void if_stop(pt_plugin_inst_t *inst);

static void if_destroy(pt_plugin_inst_t *inst)
{
    if_state_t *s = inst->state;
    if (s->started) {
        if_stop(inst); /* no-op when already stopped */
        if_save_checkpoint(s);
    }
    while (s->files != NULL) {
        file_t *f = s->files;
        s->files = f->next;
        file_free(f);
    }
    pt_ckpt_free(&s->ckpt);
    pt_plugin_gauge_free(s->m_files_open);
    pt_plugin_counter_free(s->m_truncations);
    pt_plugin_counter_free(s->m_truncated_lines);
    pt_plugin_gauge_free(s->m_lag);
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

/* ========================================================================= checkpoints === */

static void if_save_checkpoint(if_state_t *s)
{
    size_t n = 0;
    for (file_t *f = s->files; f != NULL; f = f->next) {
        n++;
    }
    for (size_t i = 0; i < s->ckpt.n; i++) {
        n += !s->ckpt.v[i].seen;
    }
    pt_ckpt_entry_t *v = pt_calloc(n ? n : 1, sizeof(*v));
    if (v == NULL) {
        return;
    }
    size_t k = 0;
    for (file_t *f = s->files; f != NULL; f = f->next) {
        if (f->fd < 0) {
            continue;
        }
        v[k].dev = f->dev;
        v[k].ino = f->ino;
        v[k].fp = pt_file_fingerprint(f->fd, FP_BYTES, &v[k].fplen);
        v[k].offset = f->committed;
        v[k].path = f->path;
        k++;
    }
    for (size_t i = 0; i < s->ckpt.n; i++) {
        if (!s->ckpt.v[i].seen) {
            v[k++] = s->ckpt.v[i];
        }
    }
    int rc = pt_ckpt_save(&s->ckpt, v, k);
    if (rc != 0) {
        pt_plg_error(s->id, "cannot write checkpoint %s: %s", s->ckpt.path, pt_strerror(rc));
    } else {
        s->ckpt_dirty = 0;
    }
    pt_free(v);
}

static void on_ckpt_timer(uv_timer_t *t)
{
    if_state_t *s = t->data;
    if (s->ckpt_dirty) {
        if_save_checkpoint(s);
    }
}

static void on_ack(pt_ack_t *ack, int status)
{
    if_state_t *s = ack->owner;
    file_t *f = ack->target;
    for (range_t *r = f->ranges; r != NULL; r = r->next) {
        if (r->end == ack->value && r->state == 0) {
            r->state = status == 0 ? 1 : -1;
            break;
        }
    }
    /* Commit in order: only the acknowledged prefix advances, whatever order acks arrive in. A
     * failed range stops the commit here, so the data is read again after a restart. */
    while (f->ranges != NULL && f->ranges->state == 1) {
        range_t *r = f->ranges;
        f->committed = r->end;
        f->ranges = r->next;
        if (f->ranges == NULL) {
            f->ranges_tail = NULL;
        }
        pt_free(r);
        s->ckpt_dirty = 1;
    }
    if (f->ranges != NULL && f->ranges->state == -1 && !f->commit_stalled) {
        f->commit_stalled = 1;
        pt_plg_warn(s->id, "data of %s from offset %llu was not delivered; its checkpoint stays "
                           "there until restart", f->path, (unsigned long long)f->committed);
    }
}

/* ========================================================================== reading ====== */

static void start_idle(if_state_t *s);

static int carry_set(file_t *f, const char *p, size_t n)
{
    if (n > f->carry_cap) {
        size_t cap = f->carry_cap ? f->carry_cap : 4096;
        while (cap < n) {
            cap *= 2;
        }
        char *nc = pt_realloc(f->carry, cap);
        if (nc == NULL) {
            return -ENOMEM;
        }
        f->carry = nc;
        f->carry_cap = cap;
    }
    if (n > 0) {
        memmove(f->carry, p, n);
    }
    f->carry_len = n;
    return 0;
}

static int push_pending(if_state_t *s, file_t *f)
{
    pt_group_t *g = f->pending;
    int rc = pt_pipeline_push(s->inst->pipeline, g);
    if (rc == PT_AGAIN) {
        s->blocked = 1;
        PT_LOG(PT_LOG_TRACE, s->id, "pipeline full: pausing");
        return rc;
    }
    f->pending = NULL;
    if (rc != 0) {
        /* Pipeline stopping: forget the group; its data is re-read after restart. */
        pt_ack_abandon(g->ack);
        pt_group_release(g);
        return rc;
    }
    return 0;
}

/* Builds a group of raw events from buf[0..len) (complete lines, or one forced record) that
 * covers the file up to end_off, and pushes it. */
static int emit_lines(if_state_t *s, file_t *f, pt_arena_t *a, const char *buf, size_t len,
                      uint64_t end_off, int force_last)
{
    const if_conf_t *c = s->c;
    pt_group_t *g = pt_group_create(a, (uint32_t)(len / 128 + 4));
    if (g == NULL) {
        return -ENOMEM;
    }
    range_t *r = pt_malloc(sizeof(*r));
    pt_ack_t *ack = pt_ack_create(s->acker, on_ack, s, f, end_off);
    pt_str_t path = pt_arena_strdup(a, f->path, strlen(f->path));
    if (r == NULL || ack == NULL || path.ptr == NULL) {
        pt_free(r);
        pt_ack_abandon(ack);
        pt_group_release(g);
        return -ENOMEM;
    }
    int64_t now = pt_now_wall_ns();
    const char *p = buf;
    const char *end = buf + len;
    uint64_t truncated = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl != NULL ? nl : end;
        if (nl == NULL && !force_last) {
            break;
        }
        pt_event_t *ev = pt_group_add_event(g, PT_EVENT_RAW);
        if (ev == NULL) {
            pt_free(r);
            pt_ack_abandon(ack);
            pt_group_release(g);
            return -ENOMEM;
        }
        size_t ll = (size_t)(le - p);
        if (ll > (size_t)c->max_line_bytes) {
            ll = (size_t)c->max_line_bytes;
            ev->flags |= PT_EVENT_F_TRUNCATED;
            truncated++;
        }
        ev->raw = pt_str(p, ll);
        ev->time_ns = now;
        p = le + 1;
    }
    if (truncated > 0) {
        pt_counter_add(s->m_truncated_lines, truncated);
    }
    pt_group_set_tag(g, PT_STR_LIT("__path__"), path);
    g->source = f->source;
    g->bytes = len;
    g->ack = ack;
    r->end = end_off;
    r->state = 0;
    r->next = NULL;
    if (f->ranges_tail != NULL) {
        f->ranges_tail->next = r;
    } else {
        f->ranges = r;
    }
    f->ranges_tail = r;
    pt_counter_add(s->inst->m.events_in, g->nevents);
    pt_counter_add(s->inst->m.bytes_in, len);
    f->pending = g;
    return push_pending(s, f);
}

/* Reads one chunk of f. Returns 1 if more data may follow at once, 0 at EOF, PT_AGAIN when the
 * pipeline is full, or a negative errno. */
static int read_chunk(if_state_t *s, file_t *f)
{
    if (f->pending != NULL) {
        int rc = push_pending(s, f);
        if (rc != 0) {
            return rc;
        }
    }
    pt_arena_t *a = pt_arena_create(PT_ARENA_LARGE);
    if (a == NULL) {
        return -ENOMEM;
    }
    size_t avail;
    char *buf = pt_arena_reserve(a, f->carry_len + READ_CHUNK, &avail);
    if (buf == NULL) {
        pt_arena_unref(a);
        return -ENOMEM;
    }
    if (f->carry_len > 0) {
        memcpy(buf, f->carry, f->carry_len);
    }
    size_t want = avail - f->carry_len;
    if (want > READ_CHUNK) {
        want = READ_CHUNK;
    }
    ssize_t n;
    do {
        n = pread(f->fd, buf + f->carry_len, want, (off_t)f->read_off);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        int err = -errno;
        pt_arena_unref(a);
        pt_plg_error(s->id, "read %s: %s", f->path, pt_strerror(err));
        return err;
    }
    if (n == 0) {
        pt_arena_unref(a);
        return 0;
    }
    f->read_off += (uint64_t)n;
    f->last_data_ns = pt_now_mono_ns();
    size_t total = f->carry_len + (size_t)n;
    uint64_t base = f->read_off - total; /* file offset of buf[0] */
    const char *start = buf;
    if (f->discarding) {
        /* Skip the rest of an over-long line that was already emitted truncated. */
        const char *nl = memchr(buf, '\n', total);
        if (nl == NULL) {
            f->carry_len = 0;
            pt_arena_unref(a);
            return 1;
        }
        f->discarding = 0;
        start = nl + 1;
    }
    size_t len = total - (size_t)(start - buf);
    const char *last_nl = len ? memrchr(start, '\n', len) : NULL;
    int rc = 1;
    if (last_nl == NULL) {
        if (len >= (size_t)s->c->max_line_bytes) {
            /* One line longer than the cap: emit its head, drop the rest up to its newline. */
            pt_arena_commit(a, total);
            f->carry_len = 0;
            f->discarding = 1;
            rc = emit_lines(s, f, a, start, (size_t)s->c->max_line_bytes, f->read_off, 1);
        } else {
            rc = carry_set(f, start, len);
        }
        pt_arena_unref(a);
        return rc < 0 && rc != PT_AGAIN ? rc : (rc == PT_AGAIN ? PT_AGAIN : 1);
    }
    size_t complete = (size_t)(last_nl + 1 - start);
    pt_arena_commit(a, total);
    uint64_t end_off = base + (uint64_t)(start - buf) + complete;
    rc = carry_set(f, start + complete, len - complete);
    if (rc == 0) {
        rc = emit_lines(s, f, a, start, complete, end_off, 0);
    }
    pt_arena_unref(a);
    if (rc == PT_AGAIN) {
        return PT_AGAIN;
    }
    return rc < 0 ? rc : 1;
}

/* Emits a trailing line without newline (oneshot end, or idle past FlushTimeoutSecs). */
static int flush_carry(if_state_t *s, file_t *f)
{
    if (f->carry_len == 0 || f->pending != NULL) {
        return 0;
    }
    pt_arena_t *a = pt_arena_create(f->carry_len + 1024 > PT_ARENA_SMALL ? PT_ARENA_LARGE
                                                                         : PT_ARENA_SMALL);
    if (a == NULL) {
        return -ENOMEM;
    }
    char *buf = pt_arena_alloc(a, f->carry_len);
    if (buf == NULL) {
        pt_arena_unref(a);
        return -ENOMEM;
    }
    memcpy(buf, f->carry, f->carry_len);
    size_t n = f->carry_len;
    f->carry_len = 0;
    int rc = emit_lines(s, f, a, buf, n, f->read_off, 1);
    pt_arena_unref(a);
    return rc;
}

static void on_idle(uv_idle_t *h)
{
    if_state_t *s = h->data;
    int more = 0;
    for (file_t *f = s->files; f != NULL && !s->blocked; f = f->next) {
        if (f->fd < 0) {
            continue;
        }
        int rc = read_chunk(s, f);
        if (rc == 1) {
            more = 1;
        } else if (rc == 0 && s->oneshot && f->carry_len > 0) {
            flush_carry(s, f);
        }
    }
    if (!more || s->blocked) {
        uv_idle_stop(&s->idle);
        s->idle_on = 0;
    }
}

static void start_idle(if_state_t *s)
{
    if (!s->idle_on && !s->blocked && !s->stopped) {
        uv_idle_start(&s->idle, on_idle);
        s->idle_on = 1;
    }
}

/* ======================================================================== discovery ====== */

static int excluded(const if_state_t *s, const char *path)
{
    const if_conf_t *c = s->c;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    for (size_t i = 0; i < c->exclude_file_paths.n; i++) {
        if (fnmatch(c->exclude_file_paths.v[i], path, FNM_PATHNAME) == 0) {
            return 1;
        }
    }
    for (size_t i = 0; i < c->exclude_files.n; i++) {
        if (fnmatch(c->exclude_files.v[i], base, 0) == 0) {
            return 1;
        }
    }
    for (size_t i = 0; i < c->exclude_dirs.n; i++) {
        size_t bl = (size_t)(base - path);
        char dir[PATH_MAX];
        if (bl > 1 && bl < sizeof(dir)) {
            memcpy(dir, path, bl - 1);
            dir[bl - 1] = '\0';
            if (fnmatch(c->exclude_dirs.v[i], dir, FNM_PATHNAME | FNM_LEADING_DIR) == 0) {
                return 1;
            }
        }
    }
    return 0;
}

static file_t *find_file(if_state_t *s, uint64_t dev, uint64_t ino)
{
    for (file_t *f = s->files; f != NULL; f = f->next) {
        if (f->dev == dev && f->ino == ino && !f->gone) {
            return f;
        }
    }
    return NULL;
}

/* Decides where a newly found file starts: checkpoint (if the fingerprint still matches), else
 * 0 for files that appeared while running, else the tail rule. */
static uint64_t start_offset(if_state_t *s, file_t *f, int at_startup, uint64_t size)
{
    const pt_ckpt_entry_t *e = pt_ckpt_find(&s->ckpt, f->dev, f->ino);
    if (e != NULL) {
        ((pt_ckpt_entry_t *)e)->seen = 1;
        uint32_t len;
        uint64_t fp = pt_file_fingerprint(f->fd, e->fplen, &len);
        if (len == e->fplen && fp == e->fp && e->offset <= size) {
            return e->offset;
        }
        pt_plg_info(s->id, "%s: checkpoint does not match the file (replaced or truncated); "
                           "reading from the start", f->path);
        return 0;
    }
    if (!at_startup || s->c->tail_all || s->oneshot) {
        return 0;
    }
    uint64_t tail = (uint64_t)s->c->tail_size_kb * 1024u;
    if (size <= tail) {
        return 0;
    }
    /* Start at the first line that begins inside the tail window. */
    uint64_t off = size - tail;
    char buf[4096];
    while (off < size) {
        ssize_t n = pread(f->fd, buf, sizeof(buf), (off_t)(off - 1));
        if (n <= 0) {
            break;
        }
        char *nl = memchr(buf, '\n', (size_t)n);
        if (nl != NULL) {
            return off + (uint64_t)(nl - buf);
        }
        off += (uint64_t)n;
    }
    return size;
}

static void add_file(if_state_t *s, const char *path, const struct stat *st, int at_startup)
{
    file_t *f = pt_calloc(1, sizeof(*f));
    if (f == NULL) {
        return;
    }
    f->path = pt_strdup(path);
    f->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (f->path == NULL || f->fd < 0) {
        if (f->fd < 0) {
            pt_plg_warn(s->id, "cannot open %s: %s", path, strerror(errno));
        }
        f->fd = -1;
        file_free(f);
        return;
    }
    f->dev = (uint64_t)st->st_dev;
    f->ino = (uint64_t)st->st_ino;
    f->source = (f->dev << 40) ^ f->ino ^ ((uint64_t)(uintptr_t)s << 8);
    f->size = (uint64_t)st->st_size;
    f->read_off = start_offset(s, f, at_startup, f->size);
    f->committed = f->read_off;
    f->last_data_ns = pt_now_mono_ns();
    f->seen = 1;
    f->next = s->files;
    s->files = f;
    pt_gauge_add(s->m_files_open, 1);
    pt_plg_info(s->id, "collecting %s from offset %llu", path, (unsigned long long)f->read_off);
}

static void consider(if_state_t *s, const char *path, int at_startup)
{
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || excluded(s, path)) {
        return;
    }
    file_t *f = find_file(s, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
    if (f != NULL) {
        f->seen = 1;
        if (strcmp(f->path, path) != 0) {
            char *np = pt_strdup(path);
            if (np != NULL) {
                pt_free(f->path);
                f->path = np;
            }
        }
        return;
    }
    add_file(s, path, &st, at_startup);
}

static void walk_dir(if_state_t *s, const char *dir, const char *pattern, int depth, int maxdepth,
                     int at_startup)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        return;
    }
    struct dirent *de;
    char path[PATH_MAX];
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' && (de->d_name[1] == '\0' ||
                                     (de->d_name[1] == '.' && de->d_name[2] == '\0'))) {
            continue;
        }
        if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= (int)sizeof(path)) {
            continue;
        }
        int is_dir = de->d_type == DT_DIR;
        if (de->d_type == DT_UNKNOWN || de->d_type == DT_LNK) {
            struct stat st;
            is_dir = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
        }
        if (is_dir) {
            if (depth < maxdepth) {
                walk_dir(s, path, pattern, depth + 1, maxdepth, at_startup);
            }
        } else if (fnmatch(pattern, de->d_name, 0) == 0) {
            consider(s, path, at_startup);
        }
    }
    closedir(d);
}

static void scan(if_state_t *s, int at_startup)
{
    for (file_t *f = s->files; f != NULL; f = f->next) {
        f->seen = 0;
    }
    for (size_t i = 0; i < s->c->file_paths.n; i++) {
        char dirpat[PATH_MAX];
        snprintf(dirpat, sizeof(dirpat), "%s", s->c->file_paths.v[i]);
        char *slash = strrchr(dirpat, '/');
        const char *filepat = slash + 1;
        *slash = '\0';
        int maxdepth = 0;
        size_t dl = strlen(dirpat);
        if (dl >= 3 && strcmp(dirpat + dl - 3, "/**") == 0) {
            dirpat[dl - 3] = '\0';
            maxdepth = (int)s->c->max_depth;
        } else if (strcmp(dirpat, "**") == 0) {
            continue;
        }
        if (dirpat[0] == '\0') {
            strcpy(dirpat, "/");
        }
        glob_t gl;
        if (glob(dirpat, GLOB_ONLYDIR | GLOB_NOSORT, NULL, &gl) != 0) {
            continue;
        }
        for (size_t k = 0; k < gl.gl_pathc; k++) {
            walk_dir(s, gl.gl_pathv[k], filepat, 0, maxdepth, at_startup);
        }
        globfree(&gl);
    }
    /* Files no longer matched (deleted or renamed away) are read to their end, then closed once
     * their data is acknowledged. */
    file_t **pf = &s->files;
    while (*pf != NULL) {
        file_t *f = *pf;
        if (!f->seen) {
            f->gone = 1;
        }
        if (f->gone && f->read_off >= f->size && f->pending == NULL && f->ranges == NULL &&
            (f->carry_len == 0 || s->oneshot)) {
            *pf = f->next;
            pt_gauge_add(s->m_files_open, -1);
            pt_plg_info(s->id, "closed %s (no longer matched)", f->path);
            file_free(f);
            s->ckpt_dirty = 1;
            continue;
        }
        pf = &f->next;
    }
}

static void poll_files(if_state_t *s)
{
    uint64_t now = pt_now_mono_ns();
    uint64_t lag = 0;
    for (file_t *f = s->files; f != NULL; f = f->next) {
        struct stat st;
        if (f->fd < 0 || fstat(f->fd, &st) != 0) {
            continue;
        }
        uint64_t size = (uint64_t)st.st_size;
        if (size < f->read_off && f->pending == NULL) {
            /* copytruncate: the file shrank below what we read. Start again at 0. */
            pt_plg_warn(s->id, "%s was truncated (size %llu < offset %llu); reading from 0",
                        f->path, (unsigned long long)size, (unsigned long long)f->read_off);
            pt_counter_add(s->m_truncations, 1);
            f->read_off = 0;
            f->carry_len = 0;
            f->discarding = 0;
            if (f->ranges == NULL) {
                f->committed = 0;
            }
        }
        f->size = size;
        if (size > f->read_off) {
            lag += size - f->read_off;
            start_idle(s);
        } else if (f->carry_len > 0 && s->c->flush_timeout_secs >= 0 &&
                   now - f->last_data_ns >= (uint64_t)s->c->flush_timeout_secs * 1000000000ull) {
            flush_carry(s, f);
        }
    }
    pt_gauge_set(s->m_lag, (int64_t)lag);
}

static void on_scan_timer(uv_timer_t *t)
{
    if_state_t *s = t->data;
    if (s->stopped) {
        return;
    }
    uint64_t now = pt_now_mono_ns();
    static const uint64_t scan_every = 1000000000ull;
    if (!s->oneshot && now - s->start_ns >= scan_every) {
        s->start_ns = now;
        scan(s, 0);
    }
    poll_files(s);
}

/* =========================================================================== lifecycle === */

static int if_start(pt_plugin_inst_t *inst, uv_loop_t *loop)
{
    if_state_t *s = inst->state;
    s->m_files_open = pt_plugin_gauge(inst, "petrel_input_file_files_open", "Files open");
    s->m_truncations = pt_plugin_counter(inst, "petrel_input_file_truncations_total",
                                         "Files truncated under the reader (copytruncate)");
    s->m_truncated_lines = pt_plugin_counter(inst, "petrel_input_file_truncated_lines_total",
                                             "Lines cut at MaxLineBytes");
    s->m_lag = pt_plugin_gauge(inst, "petrel_input_file_lag_bytes", "Bytes not read yet");
    int rc = pt_ckpt_load(&s->ckpt, s->data_dir, pt_pipeline_name(inst->pipeline), s->id);
    if (rc != 0) {
        return rc;
    }
    rc = pt_acker_create(loop, &s->acker);
    if (rc != 0) {
        return rc;
    }
    s->loop = loop;
    uv_timer_init(loop, &s->scan_timer);
    uv_timer_init(loop, &s->ckpt_timer);
    uv_idle_init(loop, &s->idle);
    s->scan_timer.data = s->ckpt_timer.data = s->idle.data = s;
    s->handles_open = 3;
    s->started = 1;
    s->start_ns = pt_now_mono_ns();
    scan(s, 1);
    uv_timer_start(&s->scan_timer, on_scan_timer, 100, s->oneshot ? 50 : 200);
    uv_timer_start(&s->ckpt_timer, on_ckpt_timer, (uint64_t)s->c->checkpoint_interval_ms,
                   (uint64_t)s->c->checkpoint_interval_ms);
    start_idle(s);
    return 0;
}

static void if_resume(pt_plugin_inst_t *inst)
{
    if_state_t *s = inst->state;
    PT_LOG(PT_LOG_TRACE, s->id, "resuming");
    s->blocked = 0;
    start_idle(s);
}

static int if_finished(pt_plugin_inst_t *inst)
{
    if_state_t *s = inst->state;
    if (!s->oneshot) {
        return 0;
    }
    for (file_t *f = s->files; f != NULL; f = f->next) {
        if (f->fd >= 0 && (f->read_off < f->size || f->pending != NULL || f->carry_len > 0)) {
            return 0;
        }
    }
    return !s->idle_on;
}

static void if_flush_state(pt_plugin_inst_t *inst)
{
    if_state_t *s = inst->state;
    if (s->started) {
        if_save_checkpoint(s);
    }
}

static void on_handle_closed(uv_handle_t *h)
{
    if_state_t *s = h->data;
    s->handles_open--;
    if (s->handles_open == 0 && s->free_on_close) {
        pt_free(s);
    }
}

static void if_stop(pt_plugin_inst_t *inst)
{
    if_state_t *s = inst->state;
    if (s->stopped || !s->started) {
        return;
    }
    s->stopped = 1;
    uv_close((uv_handle_t *)&s->scan_timer, on_handle_closed);
    uv_close((uv_handle_t *)&s->ckpt_timer, on_handle_closed);
    uv_close((uv_handle_t *)&s->idle, on_handle_closed);
    /* Groups built but refused by a full queue are not in flight: forget them; their bytes are
     * after the committed offset and are read again next time. */
    for (file_t *f = s->files; f != NULL; f = f->next) {
        if (f->pending != NULL) {
            pt_ack_abandon(f->pending->ack);
            pt_group_release(f->pending);
            f->pending = NULL;
            if (f->ranges_tail != NULL) {
                /* drop the range of the abandoned group (always the last one) */
                range_t **pr = &f->ranges;
                while (*pr != f->ranges_tail) {
                    pr = &(*pr)->next;
                }
                pt_free(*pr);
                *pr = NULL;
                f->ranges_tail = NULL;
                for (range_t *r = f->ranges; r != NULL; r = r->next) {
                    f->ranges_tail = r;
                }
            }
        }
    }
    if_save_checkpoint(s);
}

const pt_plugin_t pt_plugin_input_file = {
    .name = "input_file",
    .kind = PT_PLUGIN_INPUT,
    .description = "Tails files, with checkpoints committed only for acknowledged data",
    .config_map = if_map,
    .config_n = sizeof(if_map) / sizeof(if_map[0]),
    .config_size = sizeof(if_conf_t),
    .create = if_create,
    .start = if_start,
    .stop = if_stop,
    .destroy = if_destroy,
    .resume = if_resume,
    .finished = if_finished,
    .flush_state = if_flush_state,
};
