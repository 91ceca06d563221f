/* input_file checkpoints: the committed offset of each file, keyed by device + inode and checked
 * by a fingerprint of the file's first bytes, stored per pipeline as a small JSON document that
 * is replaced atomically. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/json.h"
#include "core/log.h"
#include "core/mem.h"
#include "input_file_internal.h"

uint64_t pt_file_fingerprint(int fd, uint32_t n, uint32_t *len)
{
    char buf[4096];
    uint64_t h = 1469598103934665603ull;
    uint32_t done = 0;
    while (done < n) {
        size_t want = n - done < sizeof(buf) ? n - done : sizeof(buf);
        ssize_t r = pread(fd, buf, want, (off_t)done);
        if (r <= 0) {
            break;
        }
        for (ssize_t i = 0; i < r; i++) {
            h = (h ^ (uint8_t)buf[i]) * 1099511628211ull;
        }
        done += (uint32_t)r;
    }
    *len = done;
    return h;
}

uint64_t pt_file_fingerprint_at(int fd, uint64_t end, uint32_t n, uint32_t *len)
{
    char buf[4096];
    uint64_t h = 1469598103934665603ull;
    uint32_t want = end < n ? (uint32_t)end : n;
    uint64_t at = end - want;
    uint32_t done = 0;
    while (done < want) {
        size_t chunk = want - done < sizeof(buf) ? want - done : sizeof(buf);
        ssize_t r = pread(fd, buf, chunk, (off_t)(at + done));
        if (r <= 0) {
            break;
        }
        for (ssize_t i = 0; i < r; i++) {
            h = (h ^ (uint8_t)buf[i]) * 1099511628211ull;
        }
        done += (uint32_t)r;
    }
    *len = done;
    return h;
}

static int ensure_dir(const char *path)
{
    if (mkdir(path, 0755) != 0 && errno != EEXIST) {
        return -errno;
    }
    return 0;
}

static uint64_t tok_u64(const char *s, const pt_json_tok_t *t)
{
    uint64_t v = 0;
    for (uint32_t i = 0; i < t->len; i++) {
        char ch = s[t->start + i];
        if (ch < '0' || ch > '9') {
            break;
        }
        v = v * 10 + (uint64_t)(ch - '0');
    }
    return v;
}

static int tok_is(const char *s, const pt_json_tok_t *t, const char *key)
{
    size_t n = strlen(key);
    return t->type == PT_JSON_STRING && t->len == n && memcmp(s + t->start, key, n) == 0;
}

static int64_t tok_i64(const char *s, const pt_json_tok_t *t)
{
    if (t->len > 0 && s[t->start] == '-') {
        pt_json_tok_t u = *t;
        u.start++;
        u.len--;
        return -(int64_t)tok_u64(s, &u);
    }
    return (int64_t)tok_u64(s, t);
}

int pt_ckpt_parse(pt_ckpt_t *c, const char *s, size_t len)
{
    size_t max = len / 2 + 16;
    pt_json_tok_t *t = pt_malloc(sizeof(*t) * max);
    if (t == NULL) {
        return -ENOMEM;
    }
    int n = pt_json_tokenize(s, len, t, max, NULL);
    int rc = -EINVAL;
    if (n < 1 || t[0].type != PT_JSON_OBJECT) {
        goto out;
    }
    for (int i = 1; i < n; i += 1 + (int)t[i + 1].skip) {
        if (!tok_is(s, &t[i], "files") || t[i + 1].type != PT_JSON_ARRAY) {
            continue;
        }
        int end = i + 1 + (int)t[i + 1].skip;
        for (int j = i + 2; j < end; j += (int)t[j].skip) {
            if (t[j].type != PT_JSON_OBJECT) {
                goto out;
            }
            pt_ckpt_entry_t e = {0};
            int jend = j + (int)t[j].skip;
            for (int k = j + 1; k < jend; k += 1 + (int)t[k + 1].skip) {
                const pt_json_tok_t *v = &t[k + 1];
                if (tok_is(s, &t[k], "dev")) {
                    e.dev = tok_u64(s, v);
                } else if (tok_is(s, &t[k], "ino")) {
                    e.ino = tok_u64(s, v);
                } else if (tok_is(s, &t[k], "fp")) {
                    e.fp = strtoull(s + v->start, NULL, 16);
                } else if (tok_is(s, &t[k], "fplen")) {
                    e.fplen = (uint32_t)tok_u64(s, v);
                } else if (tok_is(s, &t[k], "offset")) {
                    e.offset = tok_u64(s, v);
                } else if (tok_is(s, &t[k], "tailfp") && v->type == PT_JSON_STRING) {
                    e.tail_fp = strtoull(s + v->start, NULL, 16);
                } else if (tok_is(s, &t[k], "taillen")) {
                    e.tail_len = (uint32_t)tok_u64(s, v);
                } else if (tok_is(s, &t[k], "gone")) {
                    e.gone_since = tok_i64(s, v);
                } else if (tok_is(s, &t[k], "path") && v->type == PT_JSON_STRING) {
                    char *p = pt_malloc(v->len + 1);
                    if (p == NULL) {
                        rc = -ENOMEM;
                        goto out;
                    }
                    int dl = pt_json_unescape(s + v->start, v->len, p);
                    p[dl < 0 ? 0 : dl] = '\0';
                    pt_free(e.path);
                    e.path = p;
                }
            }
            if (c->n == c->cap) {
                size_t ncap = c->cap ? c->cap * 2 : 16;
                pt_ckpt_entry_t *nv = pt_realloc(c->v, sizeof(*nv) * ncap);
                if (nv == NULL) {
                    pt_free(e.path);
                    rc = -ENOMEM;
                    goto out;
                }
                c->v = nv;
                c->cap = ncap;
            }
            c->v[c->n++] = e;
        }
    }
    rc = 0;
out:
    pt_free(t);
    return rc;
}

int pt_ckpt_load(pt_ckpt_t *c, const char *data_dir, const char *pipeline, const char *log_id)
{
    char path[4096];
    memset(c, 0, sizeof(*c));
    snprintf(path, sizeof(path), "%s/checkpoints", data_dir);
    int rc = ensure_dir(path);
    if (rc != 0) {
        pt_plg_error(log_id, "cannot create %s: %s", path, pt_strerror(rc));
        return rc;
    }
    snprintf(path, sizeof(path), "%s/checkpoints/%s.json", data_dir, pipeline);
    c->path = pt_strdup(path);
    if (c->path == NULL) {
        return -ENOMEM;
    }
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return 0;
    }
    pt_buf_t b;
    pt_buf_init(&b);
    char tmp[8192];
    size_t r;
    while ((r = fread(tmp, 1, sizeof(tmp), f)) > 0) {
        if (pt_buf_append(&b, tmp, r) != 0) {
            break;
        }
    }
    fclose(f);
    rc = pt_ckpt_parse(c, b.data ? b.data : "", b.len);
    if (rc != 0) {
        pt_plg_warn(log_id,
                    "checkpoint file %s is corrupt; ignoring it (files are read again "
                    "from their start positions)",
                    path);
        for (size_t i = 0; i < c->n; i++) {
            pt_free(c->v[i].path);
        }
        c->n = 0;
    }
    pt_buf_free(&b);
    return 0;
}

int pt_ckpt_save(const pt_ckpt_t *c, const pt_ckpt_entry_t *v, size_t n)
{
    pt_buf_t b;
    pt_buf_init(&b);
    pt_jw_t w;
    pt_jw_init(&w, &b);
    pt_jw_obj_open(&w);
    pt_jw_key(&w, "version", 7);
    pt_jw_int(&w, 1);
    pt_jw_key(&w, "files", 5);
    pt_jw_arr_open(&w);
    for (size_t i = 0; i < n; i++) {
        char fp[32];
        int fl = snprintf(fp, sizeof(fp), "%016llx", (unsigned long long)v[i].fp);
        pt_jw_obj_open(&w);
        pt_jw_key(&w, "path", 4);
        pt_jw_str(&w, v[i].path ? v[i].path : "", v[i].path ? strlen(v[i].path) : 0);
        pt_jw_key(&w, "dev", 3);
        pt_jw_uint(&w, v[i].dev);
        pt_jw_key(&w, "ino", 3);
        pt_jw_uint(&w, v[i].ino);
        pt_jw_key(&w, "fp", 2);
        pt_jw_str(&w, fp, (size_t)fl);
        pt_jw_key(&w, "fplen", 5);
        pt_jw_uint(&w, v[i].fplen);
        pt_jw_key(&w, "offset", 6);
        pt_jw_uint(&w, v[i].offset);
        if (v[i].tail_len > 0) {
            fl = snprintf(fp, sizeof(fp), "%016llx", (unsigned long long)v[i].tail_fp);
            pt_jw_key(&w, "tailfp", 6);
            pt_jw_str(&w, fp, (size_t)fl);
            pt_jw_key(&w, "taillen", 7);
            pt_jw_uint(&w, v[i].tail_len);
        }
        if (v[i].gone_since != 0) {
            pt_jw_key(&w, "gone", 4);
            pt_jw_int(&w, v[i].gone_since);
        }
        pt_jw_obj_close(&w);
    }
    pt_jw_arr_close(&w);
    pt_jw_obj_close(&w);
    int rc = w.err ? w.err : pt_buf_putc(&b, '\n');
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp", c->path);
    int fd = -1;
    if (rc == 0) {
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        rc = fd < 0 ? -errno : pt_write_all(fd, b.data, b.len);
    }
    if (rc == 0 && fsync(fd) != 0) {
        rc = -errno;
    }
    if (fd >= 0) {
        close(fd);
    }
    if (rc == 0 && rename(tmp, c->path) != 0) {
        rc = -errno;
    }
    if (rc == 0) {
        /* fsync the directory so the rename itself survives a power loss. */
        char dir[4200];
        snprintf(dir, sizeof(dir), "%s", c->path);
        char *slash = strrchr(dir, '/');
        if (slash != NULL) {
            *slash = '\0';
            int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (dfd >= 0) {
                fsync(dfd);
                close(dfd);
            }
        }
    }
    pt_buf_free(&b);
    return rc;
}

const pt_ckpt_entry_t *pt_ckpt_find(const pt_ckpt_t *c, uint64_t dev, uint64_t ino)
{
    for (size_t i = 0; i < c->n; i++) {
        if (c->v[i].dev == dev && c->v[i].ino == ino) {
            return &c->v[i];
        }
    }
    return NULL;
}

int pt_ckpt_put(pt_ckpt_t *c, const pt_ckpt_entry_t *e)
{
    char *path = pt_strdup(e->path != NULL ? e->path : "");
    if (path == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < c->n; i++) {
        if (c->v[i].dev == e->dev && c->v[i].ino == e->ino) {
            pt_free(c->v[i].path);
            c->v[i] = *e;
            c->v[i].path = path;
            return 0;
        }
    }
    if (c->n == c->cap) {
        size_t ncap = c->cap ? c->cap * 2 : 16;
        pt_ckpt_entry_t *nv = pt_realloc(c->v, sizeof(*nv) * ncap);
        if (nv == NULL) {
            pt_free(path);
            return -ENOMEM;
        }
        c->v = nv;
        c->cap = ncap;
    }
    c->v[c->n] = *e;
    c->v[c->n].path = path;
    c->n++;
    return 0;
}

size_t pt_ckpt_expire(pt_ckpt_t *c, int64_t now_s, int64_t max_age_s)
{
    size_t k = 0;
    size_t dropped = 0;
    for (size_t i = 0; i < c->n; i++) {
        const pt_ckpt_entry_t *e = &c->v[i];
        if (!e->seen && e->gone_since != 0 && now_s - e->gone_since > max_age_s) {
            pt_free(c->v[i].path);
            dropped++;
            continue;
        }
        c->v[k++] = c->v[i];
    }
    c->n = k;
    return dropped;
}

void pt_ckpt_free(pt_ckpt_t *c)
{
    for (size_t i = 0; i < c->n; i++) {
        pt_free(c->v[i].path);
    }
    pt_free(c->v);
    pt_free(c->path);
    memset(c, 0, sizeof(*c));
}
