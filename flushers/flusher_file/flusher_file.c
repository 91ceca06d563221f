/* flusher_file: appends events as JSON lines to a local file, rotating it by size (FilePath,
 * FilePath.1 ... FilePath.<MaxFiles>), as LoongCollector's flusher_file does.
 * A payload counts as delivered once write(2) returned: the bytes are in the page cache and
 * survive a crash of petrel (not of the machine; see the README on durability). */
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/mem.h"
#include "core/plugin.h"

typedef struct {
    char *path;
    int64_t max_size;
    int64_t max_files;
    int tags;
} file_conf_t;

static const pt_cfg_field_t file_map[] = {
    {"FilePath", PT_CFG_STRING, NULL, 0, 0, NULL, PT_CFG_REQUIRED, offsetof(file_conf_t, path),
     NULL, "Output file; its directory is created if missing"},
    {"MaxFileSize", PT_CFG_INT, "10485760", 0, 1099511627776.0, NULL, PT_CFG_BOUNDED,
     offsetof(file_conf_t, max_size), NULL,
     "Rotate when the file would exceed this many bytes (0: never rotate)"},
    {"MaxFiles", PT_CFG_INT, "10", 1, 10000, NULL, PT_CFG_BOUNDED,
     offsetof(file_conf_t, max_files), NULL,
     "Rotated files kept (FilePath.1 is the newest); older ones are deleted"},
    {"Tags", PT_CFG_BOOL, "true", 0, 0, NULL, 0, offsetof(file_conf_t, tags), NULL,
     "Include the group tags as \"__tag__:<key>\" fields"},
};

typedef struct {
    const file_conf_t *c;
    int fd;
    uint64_t size;
    const char *id;
} file_state_t;

static int mkdir_p(const char *dir)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof(tmp), "%s", dir) >= (int)sizeof(tmp)) {
        return -ENAMETOOLONG;
    }
    for (char *p = tmp + 1; *p != '\0'; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
                return -errno;
            }
            *p = '/';
        }
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
        return -errno;
    }
    return 0;
}

static int ff_create(pt_plugin_inst_t *inst, const pt_plugin_env_t *env, pt_cfg_diag_t *d)
{
    file_conf_t *c = inst->config;
    if (c->path == NULL || c->path[0] == '\0') {
        pt_cfg_error(d, inst->line, "FilePath", "must not be empty");
        return -EINVAL;
    }
    file_state_t *s = pt_calloc(1, sizeof(*s));
    if (s == NULL) {
        return -ENOMEM;
    }
    s->c = c;
    s->fd = -1;
    s->id = inst->id;
    inst->state = s;
    return 0;
}

static int ff_open(file_state_t *s)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", s->c->path);
    int rc = mkdir_p(dirname(dir));
    if (rc != 0) {
        return rc;
    }
    s->fd = open(s->c->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (s->fd < 0) {
        return -errno;
    }
    struct stat st;
    s->size = fstat(s->fd, &st) == 0 ? (uint64_t)st.st_size : 0;
    return 0;
}

static int ff_start(pt_plugin_inst_t *inst, uv_loop_t *loop)
{
    file_state_t *s = inst->state;
    int rc = ff_open(s);
    if (rc != 0) {
        pt_plg_error(s->id, "cannot open %s: %s", s->c->path, pt_strerror(rc));
    }
    return rc;
}

static void ff_rotate(file_state_t *s)
{
    char from[PATH_MAX + 16];
    char to[PATH_MAX + 16];
    close(s->fd);
    s->fd = -1;
    snprintf(to, sizeof(to), "%s.%lld", s->c->path, (long long)s->c->max_files);
    unlink(to);
    for (int64_t i = s->c->max_files - 1; i >= 1; i--) {
        snprintf(from, sizeof(from), "%s.%lld", s->c->path, (long long)i);
        snprintf(to, sizeof(to), "%s.%lld", s->c->path, (long long)(i + 1));
        rename(from, to);
    }
    snprintf(to, sizeof(to), "%s.1", s->c->path);
    rename(s->c->path, to);
}

static int ff_serialize(pt_plugin_inst_t *inst, const pt_batch_t *b, pt_payload_t *p)
{
    const file_state_t *s = inst->state;
    return pt_batch_write_jsonl(&p->data, b, s->c->tags);
}

static int ff_send(pt_plugin_inst_t *inst, pt_payload_t *p)
{
    file_state_t *s = inst->state;
    int rc = 0;
    if (s->fd >= 0 && s->c->max_size > 0 && s->size > 0 &&
        s->size + p->data.len > (uint64_t)s->c->max_size) {
        ff_rotate(s);
    }
    if (s->fd < 0) {
        rc = ff_open(s);
    }
    if (rc == 0) {
        rc = pt_write_all(s->fd, p->data.data, p->data.len);
    }
    if (rc == 0) {
        s->size += p->data.len;
    } else {
        pt_plg_error(s->id, "write to %s failed: %s", s->c->path, pt_strerror(rc));
    }
    pt_payload_done(p, rc);
    return PT_DONE;
}

static void ff_stop(pt_plugin_inst_t *inst)
{
    file_state_t *s = inst->state;
    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
}

static void ff_destroy(pt_plugin_inst_t *inst)
{
    file_state_t *s = inst->state;
    if (s->fd >= 0) {
        close(s->fd);
    }
    pt_free(s);
    inst->state = NULL;
}

const pt_plugin_t pt_plugin_flusher_file = {
    .name = "flusher_file",
    .kind = PT_PLUGIN_FLUSHER,
    .description = "Appends events as JSON lines to a local file, with size-based rotation",
    .config_map = file_map,
    .config_n = sizeof(file_map) / sizeof(file_map[0]),
    .config_size = sizeof(file_conf_t),
    .create = ff_create,
    .start = ff_start,
    .stop = ff_stop,
    .destroy = ff_destroy,
    .serialize = ff_serialize,
    .send = ff_send,
};
