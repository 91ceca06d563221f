/* input_file readers: one per file (device + inode). Reads land in arena blocks and are split
 * into records that point into them; only an unfinished record is copied forward. Offsets are
 * committed only when the pipeline acknowledges a group, in order. A file that leaves its path
 * (renamed away or deleted) keeps its descriptor and is read to its end before it is closed;
 * idle files give their descriptor back and are reopened (and re-identified) on change; a cap on
 * open files is shared fairly. Everything here runs on the input loop. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/mem.h"
#include "input_file_internal.h"

#define READ_CHUNK (448u * 1024u)
#define TURN_BUDGET (8u * 1024u * 1024u)   /* bytes one instance reads per loop turn */
#define RECENT_NS (600ull * 1000000000ull) /* "modified recently" for the start-up tail rule */
#define SLICE_NS (500ull * 1000000ull)     /* a descriptor is lent for at least this long */
#define HEAD_CHECK_NS (20ull * 1000000ull)
#define SEC_NS 1000000000ull

/* ============================================================================ helpers ===== */

static uint64_t hash_path(const char *p)
{
    uint64_t h = 1469598103934665603ull;
    for (; *p != '\0'; p++) {
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    }
    return h;
}

static void htab_insert(pt_if_state_t *s, pt_if_file_t *f);

static void htab_grow(pt_if_state_t *s)
{
    size_t ncap = s->hcap ? s->hcap * 2 : 64;
    pt_if_file_t **nt = pt_calloc(ncap, sizeof(*nt));
    if (nt == NULL) {
        return; /* chains just get longer */
    }
    pt_if_file_t **old = s->htab;
    size_t ocap = s->hcap;
    s->htab = nt;
    s->hcap = ncap;
    for (size_t i = 0; i < ocap; i++) {
        pt_if_file_t *f = old[i];
        while (f != NULL) {
            pt_if_file_t *next = f->hnext;
            size_t b = hash_path(f->path) & (s->hcap - 1);
            f->hnext = s->htab[b];
            s->htab[b] = f;
            f = next;
        }
    }
    pt_free(old);
}

static void htab_insert(pt_if_state_t *s, pt_if_file_t *f)
{
    if (s->hcap == 0 || s->nfiles > s->hcap) {
        htab_grow(s);
    }
    if (s->hcap == 0) {
        return;
    }
    size_t b = hash_path(f->path) & (s->hcap - 1);
    f->hnext = s->htab[b];
    s->htab[b] = f;
}

static void htab_remove(pt_if_state_t *s, pt_if_file_t *f)
{
    if (s->hcap == 0) {
        return;
    }
    size_t b = hash_path(f->path) & (s->hcap - 1);
    for (pt_if_file_t **pp = &s->htab[b]; *pp != NULL; pp = &(*pp)->hnext) {
        if (*pp == f) {
            *pp = f->hnext;
            f->hnext = NULL;
            return;
        }
    }
}

pt_if_file_t *pt_if_file_by_path(pt_if_state_t *s, const char *path)
{
    if (s->hcap == 0) {
        return NULL;
    }
    for (pt_if_file_t *f = s->htab[hash_path(path) & (s->hcap - 1)]; f != NULL; f = f->hnext) {
        if (strcmp(f->path, path) == 0) {
            return f;
        }
    }
    return NULL;
}

static size_t id_bucket(const pt_if_state_t *s, uint64_t dev, uint64_t ino)
{
    return (size_t)((ino * 0x9e3779b97f4a7c15ull) ^ (dev * 0xc2b2ae3d27d4eb4full)) & (s->icap - 1);
}

static void itab_insert(pt_if_state_t *s, pt_if_file_t *f)
{
    if (s->icap == 0 || s->nfiles > s->icap) {
        size_t ncap = s->icap ? s->icap * 2 : 64;
        pt_if_file_t **nt = pt_calloc(ncap, sizeof(*nt));
        if (nt != NULL) {
            pt_free(s->itab);
            s->itab = nt;
            s->icap = ncap;
            for (size_t i = 0; i < s->nfiles; i++) {
                pt_if_file_t *o = s->files[i];
                if (o != f) {
                    size_t b = id_bucket(s, o->dev, o->ino);
                    o->inext = s->itab[b];
                    s->itab[b] = o;
                }
            }
        }
    }
    if (s->icap == 0) {
        return;
    }
    size_t b = id_bucket(s, f->dev, f->ino);
    f->inext = s->itab[b];
    s->itab[b] = f;
}

static void itab_remove(pt_if_state_t *s, pt_if_file_t *f)
{
    if (s->icap == 0) {
        return;
    }
    for (pt_if_file_t **pp = &s->itab[id_bucket(s, f->dev, f->ino)]; *pp != NULL;
         pp = &(*pp)->inext) {
        if (*pp == f) {
            *pp = f->inext;
            return;
        }
    }
}

pt_if_file_t *pt_if_file_by_id(pt_if_state_t *s, uint64_t dev, uint64_t ino)
{
    if (s->icap == 0) {
        return NULL;
    }
    for (pt_if_file_t *f = s->itab[id_bucket(s, dev, ino)]; f != NULL; f = f->inext) {
        if (f->dev == dev && f->ino == ino) {
            return f;
        }
    }
    return NULL;
}

void pt_if_file_set_path(pt_if_state_t *s, pt_if_file_t *f, const char *path)
{
    char *np = pt_strdup(path);
    if (np == NULL) {
        return;
    }
    if (f->state == PT_IF_ACTIVE) {
        htab_remove(s, f);
    }
    pt_free(f->path);
    f->path = np;
    if (f->state == PT_IF_ACTIVE) {
        htab_insert(s, f);
    }
}

/* ===================================================================== descriptor slots ==== */

/* Takes a descriptor slot: under this instance's MaxOpenFiles and the process budget. */
static int slot_take(pt_if_state_t *s)
{
    if (s->c->max_open_files > 0 && s->open_count >= s->c->max_open_files) {
        return -EMFILE;
    }
    if (pt_if_fd_acquire() != 0) {
        return -EMFILE;
    }
    s->open_count++;
    pt_gauge_add(s->m_files_open, 1);
    return 0;
}

/* Rotated and deleted files cannot be reopened by name: they keep their descriptor beyond the
 * cap (their number is bounded by RotatorQueueSize per path and by the close rules). */
static void slot_force(pt_if_state_t *s)
{
    pt_if_fd_force();
    s->open_count++;
    pt_gauge_add(s->m_files_open, 1);
}

static void slot_give(pt_if_state_t *s)
{
    pt_if_fd_release();
    s->open_count--;
    pt_gauge_add(s->m_files_open, -1);
}

static void set_wants(pt_if_state_t *s, pt_if_file_t *f, int v)
{
    if (f->wants_fd != v) {
        f->wants_fd = v;
        s->waiting += v ? 1 : -1;
        pt_gauge_set(s->m_files_waiting, s->waiting);
    }
}

static void close_fd(pt_if_state_t *s, pt_if_file_t *f)
{
    if (f->fd >= 0) {
        close(f->fd);
        f->fd = -1;
        slot_give(s);
        if (f->state == PT_IF_DELETED) {
            pt_gauge_add(s->m_files_deleted, -1);
        }
    }
}

/* ======================================================================= start position ==== */

static int is_nl_at(const pt_if_state_t *s, const pt_if_file_t *f, const char *p, size_t n,
                    uint64_t base, size_t *after)
{
    ssize_t k = pt_if_find_nl(s->conv.enc, f->utf16_be, p, n, base);
    if (k < 0) {
        return 0;
    }
    *after = (size_t)k;
    return 1;
}

/* The first line start at or after `from` (or size when there is none). */
static uint64_t line_start_after(const pt_if_state_t *s, const pt_if_file_t *f, uint64_t from,
                                 uint64_t size)
{
    if (from == 0) {
        return 0;
    }
    size_t nll = pt_if_nl_len(s->conv.enc);
    uint64_t off = from >= nll ? from - nll : 0; /* a terminator just before `from` counts */
    if (s->conv.enc == PT_IF_ENC_UTF16) {
        off &= ~(uint64_t)1;
    }
    char buf[4096];
    while (off < size) {
        ssize_t n = pread(f->fd, buf, sizeof(buf), (off_t)off);
        if (n <= 0) {
            break;
        }
        size_t after;
        if (is_nl_at(s, f, buf, (size_t)n, off, &after)) {
            return off + after;
        }
        /* Keep a UTF-16 unit that straddles the block boundary. */
        off += (uint64_t)n > nll ? (uint64_t)n - (nll - 1) : (uint64_t)n;
        if (s->conv.enc == PT_IF_ENC_UTF16) {
            off &= ~(uint64_t)1;
        }
    }
    return size;
}

/* The start of the last (unfinished) line before size, looking back at most 1 MiB. */
static uint64_t line_start_before(const pt_if_state_t *s, const pt_if_file_t *f, uint64_t size)
{
    uint64_t lo = size > (1u << 20) ? size - (1u << 20) : 0;
    uint64_t hi = size;
    char buf[4096];
    while (hi > lo) {
        uint64_t from = hi - lo > sizeof(buf) ? hi - sizeof(buf) : lo;
        if (s->conv.enc == PT_IF_ENC_UTF16) {
            from &= ~(uint64_t)1;
        }
        ssize_t n = pread(f->fd, buf, (size_t)(hi - from), (off_t)from);
        if (n <= 0) {
            break;
        }
        /* Scan forward for the last terminator inside this block. */
        uint64_t best = UINT64_MAX;
        size_t at = 0;
        size_t after;
        while (at < (size_t)n && is_nl_at(s, f, buf + at, (size_t)n - at, from + at, &after)) {
            best = from + at + after;
            at += after;
        }
        if (best != UINT64_MAX) {
            return best;
        }
        if (from == lo) {
            break;
        }
        hi = from + pt_if_nl_len(s->conv.enc) - 1;
    }
    return lo == 0 ? 0 : size;
}

static uint64_t bom_len(const pt_if_state_t *s, const pt_if_file_t *f)
{
    if (s->conv.enc != PT_IF_ENC_UTF16) {
        return 0;
    }
    unsigned char b[2];
    if (pread(f->fd, b, 2, 0) == 2 &&
        ((b[0] == 0xFF && b[1] == 0xFE) || (b[0] == 0xFE && b[1] == 0xFF))) {
        return 2;
    }
    return 0;
}

/* Where a newly found file starts: its checkpoint when the file is still the one it was written
 * for (device + inode, the first bytes, and the bytes just before the offset); else 0 for files
 * that appeared while running; else LoongCollector's start-up rule. */
static uint64_t start_offset(pt_if_state_t *s, pt_if_file_t *f, int at_startup,
                             const struct stat *st)
{
    uint64_t size = (uint64_t)st->st_size;
    uint64_t bom = bom_len(s, f);
    pt_ckpt_entry_t *e = (pt_ckpt_entry_t *)pt_ckpt_find(&s->ckpt, f->dev, f->ino);
    if (e != NULL) {
        e->seen = 1;
        int ok = e->offset <= size;
        uint32_t len = 0;
        if (ok) {
            uint64_t fp = pt_file_fingerprint(f->fd, e->fplen, &len);
            ok = len == e->fplen && fp == e->fp;
        }
        if (ok && e->tail_len > 0) {
            uint64_t tfp = pt_file_fingerprint_at(f->fd, e->offset, e->tail_len, &len);
            ok = len == e->tail_len && tfp == e->tail_fp;
        }
        if (ok) {
            return e->offset > bom ? e->offset : bom;
        }
        pt_plg_info(s->id,
                    "%s: the checkpoint does not match this file (replaced, truncated or inode "
                    "reused); reading it from the start",
                    f->path);
        return bom;
    }
    if (s->oneshot || !at_startup || s->c->tail_all) {
        return bom;
    }
    uint64_t mtime_ns = (uint64_t)st->st_mtim.tv_sec * SEC_NS + (uint64_t)st->st_mtim.tv_nsec;
    uint64_t now = (uint64_t)pt_now_wall_ns();
    if (now > mtime_ns && now - mtime_ns > RECENT_NS) {
        /* Not written for a while: only what is appended from now on. */
        uint64_t off = line_start_before(s, f, size);
        return off > bom ? off : bom;
    }
    uint64_t tail = (uint64_t)s->c->tail_size_kb * 1024u;
    if (size <= tail) {
        return bom;
    }
    uint64_t off = line_start_after(s, f, size - tail, size);
    return off > bom ? off : bom;
}

/* ============================================================================== files ===== */

pt_if_file_t *pt_if_file_add(pt_if_state_t *s, const char *path, int fd, const struct stat *st,
                             int at_startup, int state)
{
    if (s->nfiles == s->capfiles) {
        size_t ncap = s->capfiles ? s->capfiles * 2 : 16;
        pt_if_file_t **nv = pt_realloc(s->files, sizeof(*nv) * ncap);
        if (nv == NULL) {
            close(fd);
            return NULL;
        }
        s->files = nv;
        s->capfiles = ncap;
    }
    pt_if_file_t *f = pt_calloc(1, sizeof(*f));
    if (f == NULL || (f->path = pt_strdup(path)) == NULL) {
        pt_free(f);
        close(fd);
        return NULL;
    }
    f->fd = fd;
    f->dev = (uint64_t)st->st_dev;
    f->ino = (uint64_t)st->st_ino;
    f->source = (f->dev << 40) ^ f->ino ^ ((uint64_t)(uintptr_t)s << 8);
    f->size = (uint64_t)st->st_size;
    f->state = state;
    if (s->conv.enc == PT_IF_ENC_UTF16) {
        unsigned char b[2];
        f->utf16_be = pread(fd, b, 2, 0) == 2 && b[0] == 0xFE && b[1] == 0xFF;
    }
    f->fp = pt_file_fingerprint(fd, PT_IF_FP_BYTES, &f->fplen);
    f->read_off = start_offset(s, f, at_startup, st);
    f->committed = f->read_off;
    uint64_t now = pt_now_mono_ns();
    f->last_data_ns = f->last_change_ns = f->opened_ns = now;
    f->ready = 1;
    f->seen = 1; /* found by the scan in progress, if any */
    if (state != PT_IF_ACTIVE) {
        f->gone_ns = now;
    }
    s->files[s->nfiles++] = f;
    itab_insert(s, f);
    if (state == PT_IF_ACTIVE) {
        htab_insert(s, f);
        if (slot_take(s) != 0) {
            /* Over the open-file cap: it waits for a slot (its position is already known). */
            close(fd);
            f->fd = -1;
            set_wants(s, f, 1);
        }
    } else {
        slot_force(s);
        if (state == PT_IF_DELETED) {
            pt_gauge_add(s->m_files_deleted, 1);
        }
    }
    pt_plg_info(s->id, "collecting %s from offset %llu%s", path, (unsigned long long)f->read_off,
                state == PT_IF_ROTATED ? " (a rotated generation)" : "");
    pt_if_start_idle(s);
    return f;
}

/* Groups of f whose ack has not come back yet: f must outlive them (the ack points to it). A
 * failed range is not in flight: it only holds the committed offset back. */
static int in_flight(const pt_if_file_t *f)
{
    if (f->pending != NULL) {
        return 1;
    }
    for (const pt_if_range_t *r = f->ranges; r != NULL; r = r->next) {
        if (r->state == 0) {
            return 1;
        }
    }
    return 0;
}

static void free_ranges(pt_if_file_t *f)
{
    while (f->ranges != NULL) {
        pt_if_range_t *r = f->ranges;
        f->ranges = r->next;
        pt_free(r);
    }
    f->ranges_tail = NULL;
}

void pt_if_file_free(pt_if_state_t *s, pt_if_file_t *f)
{
    close_fd(s, f);
    set_wants(s, f, 0);
    free_ranges(f);
    if (f->pending != NULL) {
        pt_ack_abandon(f->pending->ack);
        pt_group_release(f->pending);
    }
    pt_free(f->carry);
    pt_free(f->path);
    pt_free(f);
}

/* Removes f from the instance for good; its checkpoint entry is retained (by device + inode)
 * so that a restart does not read it again, until CheckpointExpireSecs. */
static void retire(pt_if_state_t *s, size_t idx, const char *why)
{
    pt_if_file_t *f = s->files[idx];
    pt_ckpt_entry_t e = {0};
    e.dev = f->dev;
    e.ino = f->ino;
    e.fp = f->fp;
    e.fplen = f->fplen;
    e.offset = f->committed;
    e.path = f->path;
    if (f->fd >= 0) {
        e.tail_fp = pt_file_fingerprint_at(f->fd, f->committed, PT_IF_TAIL_BYTES, &e.tail_len);
    }
    e.gone_since = (int64_t)time(NULL);
    if (pt_ckpt_put(&s->ckpt, &e) != 0) {
        pt_plg_warn(s->id, "out of memory keeping the checkpoint of %s", f->path);
    }
    s->ckpt_dirty = 1;
    pt_plg_info(s->id, "closed %s (%s) at offset %llu", f->path, why,
                (unsigned long long)f->read_off);
    if (f->state == PT_IF_ACTIVE) {
        htab_remove(s, f);
    }
    itab_remove(s, f);
    s->files[idx] = s->files[--s->nfiles];
    pt_if_file_free(s, f);
}

void pt_if_file_gone(pt_if_state_t *s, pt_if_file_t *f, const char *why)
{
    if (f->state != PT_IF_ACTIVE) {
        return;
    }
    struct stat st;
    int deleted = f->fd >= 0 && fstat(f->fd, &st) == 0 && st.st_nlink == 0;
    htab_remove(s, f);
    if (f->fd < 0) {
        /* Closed (idle) when it left: nothing more can be read; the poll retires it. */
        f->state = PT_IF_ROTATED;
        f->gone_ns = pt_now_mono_ns();
        f->warned_gone = 1;
        set_wants(s, f, 0);
        return;
    }
    f->state = deleted ? PT_IF_DELETED : PT_IF_ROTATED;
    f->gone_ns = pt_now_mono_ns();
    /* RotateWaitSecs counts from the rotation: a writer that has not reopened yet may still
     * append to this file, even if it was idle before. */
    f->last_change_ns = f->gone_ns;
    if (deleted) {
        if (f->fd >= 0) {
            pt_gauge_add(s->m_files_deleted, 1);
        }
    } else {
        pt_counter_inc(s->m_rotations);
    }
    pt_plg_info(s->id, "%s was %s%s%s: reading it to its end", f->path,
                deleted ? "deleted" : "rotated", why != NULL ? " " : "", why != NULL ? why : "");
    pt_if_wake(s, f);
}

/* ========================================================================= acks ========== */

void pt_if_on_ack(pt_ack_t *ack, int status)
{
    pt_if_state_t *s = ack->owner;
    pt_if_file_t *f = ack->target;
    for (pt_if_range_t *r = f->ranges; r != NULL; r = r->next) {
        if (r->end == ack->value && r->state == 0) {
            r->state = status == 0 ? 1 : -1;
            break;
        }
    }
    /* Commit in order: only the acknowledged prefix advances, whatever order acks arrive in. A
     * failed range stops the commit here, so the data is read again after a restart. */
    while (f->ranges != NULL && f->ranges->state == 1) {
        pt_if_range_t *r = f->ranges;
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
        pt_plg_warn(s->id,
                    "data of %s from offset %llu was not delivered; its checkpoint stays "
                    "there until restart",
                    f->path, (unsigned long long)f->committed);
    }
}

static int add_range(pt_if_file_t *f, uint64_t end, int state)
{
    pt_if_range_t *r = pt_malloc(sizeof(*r));
    if (r == NULL) {
        return -ENOMEM;
    }
    r->end = end;
    r->state = state;
    r->next = NULL;
    if (f->ranges_tail != NULL) {
        f->ranges_tail->next = r;
    } else {
        f->ranges = r;
    }
    f->ranges_tail = r;
    return 0;
}

/* Bytes consumed without any record (skipped rest of a cut line, discarded unmatched lines):
 * they count as acknowledged once everything before them is. */
static void advance_without_group(pt_if_state_t *s, pt_if_file_t *f, uint64_t end)
{
    if (f->ranges == NULL) {
        if (end > f->committed) {
            f->committed = end;
            s->ckpt_dirty = 1;
        }
        return;
    }
    if (add_range(f, end, 1) != 0) {
        return; /* the commit waits for the next group: duplicates, never loss */
    }
}

/* ========================================================================== emitting ===== */

void pt_if_start_idle(pt_if_state_t *s)
{
    if (!s->idle_on && !s->blocked && !s->stopped && s->started) {
        uv_idle_start(&s->idle, pt_if_on_idle);
        s->idle_on = 1;
    }
}

void pt_if_wake(pt_if_state_t *s, pt_if_file_t *f)
{
    if (f->fd >= 0) {
        f->ready = 1;
        pt_if_start_idle(s);
    } else if (f->state == PT_IF_ACTIVE) {
        set_wants(s, f, 1);
    }
}

static int carry_set(pt_if_file_t *f, const char *p, size_t n)
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

static int push_pending(pt_if_state_t *s, pt_if_file_t *f)
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

static int set_tags(pt_if_state_t *s, pt_if_file_t *f, pt_group_t *g)
{
    pt_arena_t *a = g->arena;
    if (s->path_tag != NULL) {
        pt_str_t v = pt_arena_strdup(a, f->path, strlen(f->path));
        if (v.ptr == NULL || pt_group_set_tag(g, pt_str_c(s->path_tag), v) != 0) {
            return -ENOMEM;
        }
    }
    if (s->inode_tag != NULL) {
        char num[24];
        int n = snprintf(num, sizeof(num), "%llu", (unsigned long long)f->ino);
        pt_str_t v = pt_arena_strdup(a, num, (size_t)n);
        if (v.ptr == NULL || pt_group_set_tag(g, pt_str_c(s->inode_tag), v) != 0) {
            return -ENOMEM;
        }
    }
    for (size_t i = 0; i < s->ntags; i++) {
        pt_str_t k = pt_arena_strdup(a, s->tags[i].key, strlen(s->tags[i].key));
        pt_str_t v = pt_arena_strdup(a, s->tags[i].val, strlen(s->tags[i].val));
        if (k.ptr == NULL || (v.ptr == NULL && s->tags[i].val[0] != '\0') ||
            pt_group_set_tag(g, k, v) != 0) {
            return -ENOMEM;
        }
    }
    return 0;
}

/* Hands a finished group (covering the file up to end_off, `bytes` of it) to the pipeline. */
static int finish_group(pt_if_state_t *s, pt_if_file_t *f, pt_group_t *g, uint64_t end_off,
                        size_t bytes)
{
    pt_ack_t *ack = pt_ack_create(s->acker, pt_if_on_ack, s, f, end_off);
    if (ack == NULL || set_tags(s, f, g) != 0 || add_range(f, end_off, 0) != 0) {
        pt_ack_abandon(ack);
        pt_group_release(g);
        return -ENOMEM;
    }
    g->source = f->source;
    g->bytes = bytes;
    g->ack = ack;
    pt_counter_add(s->inst->m.events_in, g->nevents);
    pt_counter_add(s->inst->m.bytes_in, bytes);
    f->pending = g;
    return push_pending(s, f);
}

/* Fast path: buf[0..len) holds complete lines (or one forced record: force_last 1, or 2 when
 * that record is the head of a longer line, flagged truncated); every line is a RAW event that
 * points into the read block. */
static int emit_lines(pt_if_state_t *s, pt_if_file_t *f, pt_arena_t *a, const char *buf, size_t len,
                      uint64_t end_off, int force_last, size_t bytes)
{
    const pt_if_conf_t *c = s->c;
    pt_group_t *g = pt_group_create(a, (uint32_t)(len / 128 + 4));
    if (g == NULL) {
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
            pt_group_release(g);
            return -ENOMEM;
        }
        size_t ll = (size_t)(le - p);
        if (ll > (size_t)c->max_line_bytes || (nl == NULL && force_last == 2)) {
            ll = PT_MIN(ll, (size_t)c->max_line_bytes);
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
    return finish_group(s, f, g, end_off, bytes);
}

static int grow_scratch(pt_if_state_t *s, uint32_t n)
{
    if (n <= s->caplines) {
        return 0;
    }
    uint32_t cap = s->caplines ? s->caplines : 1024;
    while (cap < n) {
        cap *= 2;
    }
    pt_if_line_t *nl = pt_realloc(s->lines, sizeof(*nl) * cap);
    if (nl == NULL) {
        return -ENOMEM;
    }
    s->lines = nl;
    pt_if_rec_t *nr = pt_realloc(s->recs, sizeof(*nr) * cap);
    if (nr == NULL) {
        return -ENOMEM;
    }
    s->recs = nr;
    s->caplines = cap;
    return 0;
}

/* General path: multiline records, other encodings, position metadata. buf[0..total) are the
 * file's bytes from offset base, starting at a record start. With `final` the trailing partial
 * line and any unfinished record are emitted too (flush timeout, one-shot end). The bytes of the
 * unfinished record stay in the carry. */
static int process_general(pt_if_state_t *s, pt_if_file_t *f, pt_arena_t *a, const char *buf,
                           size_t total, uint64_t base, int final)
{
    const pt_if_conf_t *c = s->c;
    size_t cap = (size_t)c->max_line_bytes;
    pt_if_enc_t enc = s->conv.enc;
    size_t nll = pt_if_nl_len(enc);
    size_t at = 0;
    int rc = 0;
    if (f->discarding) {
        ssize_t k = pt_if_find_nl(enc, f->utf16_be, buf, total, base);
        if (k < 0) {
            f->carry_len = 0;
            advance_without_group(s, f, base + total);
            return 1;
        }
        f->discarding = 0;
        at = (size_t)k;
    }
    if (enc == PT_IF_ENC_UTF16 && base == 0 && total - at >= 2) {
        /* The byte order mark (read here: the file may have been empty when it was opened). */
        unsigned char b0 = (unsigned char)buf[0];
        unsigned char b1 = (unsigned char)buf[1];
        if ((b0 == 0xFF && b1 == 0xFE) || (b0 == 0xFE && b1 == 0xFF)) {
            f->utf16_be = b0 == 0xFE;
            at = 2;
        }
    }
    /* Converted text: every line followed by '\n', so that records stay contiguous views. */
    char *out = NULL;
    size_t outcap = 0;
    size_t outlen = 0;
    if (enc != PT_IF_ENC_UTF8) {
        outcap = pt_if_conv_bound(total - at) + 16;
        out = pt_arena_alloc(a, outcap);
        if (out == NULL) {
            return -ENOMEM;
        }
    }
    uint32_t n = 0;
    int giant = 0;
    size_t lines_end = at; /* end of the last complete line */
    while (at < total) {
        ssize_t k = pt_if_find_nl(enc, f->utf16_be, buf + at, total - at, base + at);
        size_t raw_len;
        size_t next;
        uint32_t cut = 0;
        if (k >= 0) {
            raw_len = (size_t)k - nll;
            next = at + (size_t)k;
        } else if (total - at >= cap) {
            /* A line longer than the cap with no end in sight: cut it, skip its rest. */
            raw_len = cap;
            next = total;
            cut = 1;
            giant = 1;
        } else if (final) {
            raw_len = total - at;
            next = total;
        } else {
            break;
        }
        if (grow_scratch(s, n + 1) != 0) {
            return -ENOMEM;
        }
        pt_if_line_t *l = &s->lines[n++];
        l->off = base + at;
        l->cut = cut;
        if (out != NULL) {
            size_t w = pt_if_conv(&s->conv, f->utf16_be, buf + at, raw_len, out + outlen,
                                  outcap - outlen - 1);
            l->p = out + outlen;
            l->len = (uint32_t)w;
            outlen += w;
            out[outlen++] = '\n';
        } else {
            l->p = buf + at;
            l->len = (uint32_t)raw_len;
        }
        if (l->len > cap) {
            l->len = (uint32_t)cap;
            l->cut = 1;
        }
        at = next;
        lines_end = next;
    }
    uint32_t pending = n;
    uint64_t unmatched = 0;
    uint32_t nr =
        n > 0 ? pt_if_ml_split(&s->ml, s->lines, n, final || giant, s->recs, &pending, &unmatched)
              : 0;
    if (pending < n && lines_end - (size_t)(s->lines[pending].off - base) >= cap) {
        /* An unfinished record already as long as the cap: deliver it now rather than carry an
         * ever-growing record (LoongCollector does the same at its buffer size). */
        unmatched = 0;
        nr = pt_if_ml_split(&s->ml, s->lines, n, 1, s->recs, &pending, &unmatched);
    }
    if (unmatched > 0) {
        pt_counter_add(s->m_unmatched_lines, unmatched);
    }
    size_t consumed = pending < n ? (size_t)(s->lines[pending].off - base) : lines_end;
    rc = carry_set(f, buf + consumed, total - consumed);
    if (rc != 0) {
        return rc;
    }
    if (giant) {
        f->discarding = 1;
    }
    if (nr == 0) {
        if (consumed > 0) {
            advance_without_group(s, f, base + consumed);
        }
        return 1;
    }
    pt_group_t *g = pt_group_create(a, nr + 4);
    if (g == NULL) {
        return -ENOMEM;
    }
    int64_t now = pt_now_wall_ns();
    uint64_t truncated = 0;
    for (uint32_t i = 0; i < nr; i++) {
        const pt_if_line_t *l0 = &s->lines[s->recs[i].first];
        const pt_if_line_t *lk = &s->lines[s->recs[i].last];
        size_t len = (size_t)(lk->p + lk->len - l0->p);
        int cut = l0->cut && s->recs[i].first == s->recs[i].last;
        if (len > cap) {
            len = cap;
            cut = 1;
        }
        pt_event_t *ev = pt_group_add_event(g, s->offset_key != NULL ? PT_EVENT_LOG : PT_EVENT_RAW);
        if (ev == NULL) {
            goto oom;
        }
        ev->time_ns = now;
        if (cut) {
            ev->flags |= PT_EVENT_F_TRUNCATED;
            truncated++;
        }
        if (s->offset_key == NULL) {
            ev->raw = pt_str(l0->p, len);
            continue;
        }
        char num[24];
        int nn = snprintf(num, sizeof(num), "%llu", (unsigned long long)l0->off);
        pt_str_t v = pt_arena_strdup(a, num, (size_t)nn);
        if (v.ptr == NULL || pt_event_append(g, ev, PT_STR_LIT("content"), pt_str(l0->p, len)) ||
            pt_event_append(g, ev, pt_str_c(s->offset_key), v)) {
            goto oom;
        }
    }
    if (truncated > 0) {
        pt_counter_add(s->m_truncated_lines, truncated);
    }
    rc = finish_group(s, f, g, base + consumed, consumed);
    return rc == PT_AGAIN ? PT_AGAIN : (rc < 0 ? rc : 1);
oom:
    pt_group_release(g);
    return -ENOMEM;
}

/* ========================================================================== reading ====== */

/* copytruncate and in-place rewrites: the head of the file changed (or it got shorter than what
 * was read). Start again at 0; lines written between the copy and the truncation are lost by
 * the rotation scheme itself, everything after it is read. */
static void truncated(pt_if_state_t *s, pt_if_file_t *f, uint64_t size, const char *how)
{
    pt_plg_warn(s->id, "%s was truncated (%s: size %llu, read offset %llu); reading from 0",
                f->path, how, (unsigned long long)size, (unsigned long long)f->read_off);
    pt_counter_inc(s->m_truncations);
    f->read_off = 0;
    f->carry_len = 0;
    f->discarding = 0;
    if (f->ranges == NULL) {
        f->committed = 0;
        s->ckpt_dirty = 1;
    }
    f->fp = pt_file_fingerprint(f->fd, PT_IF_FP_BYTES, &f->fplen);
    f->ready = 1;
}

/* Checks that the first bytes are still those seen at open (and extends the fingerprint while
 * the file is shorter than PT_IF_FP_BYTES). Returns 1 when the file was truncated. */
static int head_changed(pt_if_state_t *s, pt_if_file_t *f)
{
    uint32_t len;
    uint64_t fp = pt_file_fingerprint(f->fd, f->fplen, &len);
    if (len != f->fplen || fp != f->fp) {
        return 1;
    }
    if (f->fplen < PT_IF_FP_BYTES) {
        f->fp = pt_file_fingerprint(f->fd, PT_IF_FP_BYTES, &f->fplen);
    }
    (void)s;
    return 0;
}

/* Reads one chunk of f. Returns 1 if more data may follow at once, 0 at EOF, PT_AGAIN when the
 * pipeline is full, or a negative errno. *nread gets the bytes read. */
static int read_chunk(pt_if_state_t *s, pt_if_file_t *f, size_t *nread)
{
    *nread = 0;
    if (f->pending != NULL) {
        int rc = push_pending(s, f);
        if (rc != 0) {
            return rc;
        }
    }
    uint64_t now = pt_now_mono_ns();
    /* copytruncate or a rewrite in place: the head changed. Checked before every read while
     * tailing (a truncation then never lets bytes of the new content be read at the old
     * offset), and at most every HEAD_CHECK_NS while reading in bulk. */
    if (f->read_off > 0 && (!f->bulk || now - f->head_check_ns >= HEAD_CHECK_NS)) {
        f->head_check_ns = now;
        if (head_changed(s, f)) {
            struct stat st;
            truncated(s, f, fstat(f->fd, &st) == 0 ? (uint64_t)st.st_size : 0,
                      "its first bytes changed");
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
        f->bulk = 0;
        /* At the end: a file shorter than our offset was truncated. Noticed here, on the
         * inotify wake-up of the truncation, rather than at the next poll, or the lines written
         * into the new generation meanwhile would be lost at the next copytruncate. */
        struct stat st;
        if (fstat(f->fd, &st) == 0 && (uint64_t)st.st_size < f->read_off && f->pending == NULL) {
            truncated(s, f, (uint64_t)st.st_size, "it got shorter");
            return 1;
        }
        return 0;
    }
    f->bulk = (size_t)n == want;
    *nread = (size_t)n;
    f->read_off += (uint64_t)n;
    f->last_data_ns = now;
    size_t total = f->carry_len + (size_t)n;
    uint64_t base = f->read_off - total; /* file offset of buf[0] */
    int rc;
    if (s->general) {
        pt_arena_commit(a, total);
        rc = process_general(s, f, a, buf, total, base, 0);
        pt_arena_unref(a);
        return rc;
    }
    const char *start = buf;
    if (f->discarding) {
        /* Skip the rest of an over-long line that was already emitted truncated. */
        const char *nl = memchr(buf, '\n', total);
        if (nl == NULL) {
            f->carry_len = 0;
            pt_arena_unref(a);
            advance_without_group(s, f, f->read_off);
            return 1;
        }
        f->discarding = 0;
        start = nl + 1;
    }
    size_t len = total - (size_t)(start - buf);
    const char *last_nl = len ? memrchr(start, '\n', len) : NULL;
    if (last_nl == NULL) {
        rc = 1;
        if (len >= (size_t)s->c->max_line_bytes) {
            /* One line longer than the cap: emit its head, drop the rest up to its newline. */
            pt_arena_commit(a, total);
            f->carry_len = 0;
            f->discarding = 1;
            rc = emit_lines(s, f, a, start, (size_t)s->c->max_line_bytes, f->read_off, 2, total);
        } else {
            rc = carry_set(f, start, len);
            if (rc == 0 && start > buf) {
                advance_without_group(s, f, base + (uint64_t)(start - buf));
            }
        }
        pt_arena_unref(a);
        return rc < 0 && rc != PT_AGAIN ? rc : (rc == PT_AGAIN ? PT_AGAIN : 1);
    }
    size_t complete = (size_t)(last_nl + 1 - start);
    pt_arena_commit(a, total);
    uint64_t end_off = base + (uint64_t)(start - buf) + complete;
    rc = carry_set(f, start + complete, len - complete);
    if (rc == 0) {
        rc = emit_lines(s, f, a, start, complete, end_off, 0, (size_t)(start - buf) + complete);
    }
    pt_arena_unref(a);
    if (rc == PT_AGAIN) {
        return PT_AGAIN;
    }
    return rc < 0 ? rc : 1;
}

/* Emits what the carry holds: a last line without newline, or an unfinished record (one-shot
 * end, or idle past FlushTimeoutSecs). */
static int flush_carry(pt_if_state_t *s, pt_if_file_t *f)
{
    if (f->carry_len == 0 || f->pending != NULL) {
        return 0;
    }
    pt_arena_t *a =
        pt_arena_create(f->carry_len + 1024 > PT_ARENA_SMALL ? PT_ARENA_LARGE : PT_ARENA_SMALL);
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
    uint64_t base = f->read_off - n;
    int rc;
    if (s->general) {
        rc = process_general(s, f, a, buf, n, base, 1);
        f->carry_len = 0;
    } else {
        f->carry_len = 0;
        rc = emit_lines(s, f, a, buf, n, f->read_off, 1, n);
    }
    pt_arena_unref(a);
    return rc;
}

void pt_if_on_idle(uv_idle_t *h)
{
    pt_if_state_t *s = h->data;
    size_t budget = TURN_BUDGET;
    size_t n = s->nfiles;
    size_t i = 0;
    int more = 0;
    /* One chunk per file per turn, starting where the last turn stopped, and a byte budget per
     * instance: a hot file cannot starve the others, nor one pipeline the rest. */
    for (size_t k = 0; k < n && !s->blocked; k++) {
        i = (s->cursor + k) % n;
        pt_if_file_t *f = s->files[i];
        if (f->fd < 0 || !f->ready) {
            continue;
        }
        size_t got = 0;
        int rc = read_chunk(s, f, &got);
        if (rc == 1) {
            more = 1;
        } else if (rc == 0) {
            f->ready = 0;
            if (s->oneshot && f->carry_len > 0) {
                flush_carry(s, f);
            }
        } else if (rc != PT_AGAIN) {
            f->ready = 0;
        }
        if (got >= budget) {
            s->cursor = (i + 1) % n;
            return; /* budget spent: the idle handle runs again next turn */
        }
        budget -= got;
    }
    if (n > 0) {
        s->cursor = (i + 1) % n;
    }
    if (!more || s->blocked) {
        uv_idle_stop(&s->idle);
        s->idle_on = 0;
    }
}

/* ============================================================================ polling ===== */

/* Reopens a closed reader by its path, if the path still names the same file. */
static int reopen(pt_if_state_t *s, pt_if_file_t *f)
{
    int fd = open(f->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        return -errno;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || (uint64_t)st.st_dev != f->dev || (uint64_t)st.st_ino != f->ino) {
        close(fd);
        return -ESTALE;
    }
    f->fd = fd;
    f->opened_ns = pt_now_mono_ns();
    set_wants(s, f, 0);
    uint32_t len;
    uint64_t fp = pt_file_fingerprint(fd, f->fplen, &len);
    if (len != f->fplen || fp != f->fp || (uint64_t)st.st_size < f->read_off) {
        truncated(s, f, (uint64_t)st.st_size, "changed while it was closed");
    }
    f->size = (uint64_t)st.st_size;
    f->ready = 1;
    pt_if_start_idle(s);
    return 0;
}

/* The open-file cap: readers waiting for a descriptor get one, taking it from a reader at its
 * end (preferred) or from the one that has held its descriptor longest (at least SLICE_NS), so
 * that every file advances when there are more busy files than descriptors. */
static void balance_slots(pt_if_state_t *s, uint64_t now)
{
    for (size_t i = 0; i < s->nfiles && s->waiting > 0; i++) {
        pt_if_file_t *f = s->files[i];
        if (!f->wants_fd || f->fd >= 0) {
            continue;
        }
        if (slot_take(s) != 0) {
            pt_if_file_t *idle_v = NULL;
            pt_if_file_t *busy_v = NULL;
            for (size_t j = 0; j < s->nfiles; j++) {
                pt_if_file_t *v = s->files[j];
                if (v->fd < 0 || v->state != PT_IF_ACTIVE || v->pending != NULL) {
                    continue;
                }
                if (!v->ready) {
                    if (idle_v == NULL || v->last_data_ns < idle_v->last_data_ns) {
                        idle_v = v;
                    }
                } else if (now - v->opened_ns >= SLICE_NS &&
                           (busy_v == NULL || v->opened_ns < busy_v->opened_ns)) {
                    busy_v = v;
                }
            }
            pt_if_file_t *victim = idle_v != NULL ? idle_v : busy_v;
            if (victim == NULL) {
                return;
            }
            int had_data = victim->ready;
            close_fd(s, victim);
            victim->ready = 0;
            if (had_data) {
                set_wants(s, victim, 1);
            }
            if (slot_take(s) != 0) {
                return;
            }
        }
        int rc = reopen(s, f);
        if (rc != 0) {
            slot_give(s);
            set_wants(s, f, 0);
            if (rc == -ESTALE || rc == -ENOENT) {
                f->warned_gone = 1; /* the poll retires it */
            }
        }
    }
}

static int rotated_newer(const pt_if_state_t *s, const pt_if_file_t *f)
{
    int n = 0;
    for (size_t i = 0; i < s->nfiles; i++) {
        const pt_if_file_t *o = s->files[i];
        if (o != f && o->state != PT_IF_ACTIVE && o->gone_ns > f->gone_ns &&
            strcmp(o->path, f->path) == 0) {
            n++;
        }
    }
    return n;
}

void pt_if_poll(pt_if_state_t *s)
{
    const pt_if_conf_t *c = s->c;
    uint64_t now = pt_now_mono_ns();
    uint64_t lag = 0;
    static const uint64_t closed_check_ns = SEC_NS;
    for (size_t i = 0; i < s->nfiles;) {
        pt_if_file_t *f = s->files[i];
        struct stat st;
        if (f->fd < 0) {
            /* Closed (idle, or waiting for a slot): watch its path for changes. A held record
             * still times out: flushing needs no descriptor. */
            if (f->carry_len > 0 && f->pending == NULL &&
                now - f->last_data_ns >= (uint64_t)c->flush_timeout_secs * SEC_NS) {
                flush_carry(s, f);
            }
            if (!f->warned_gone && now - f->last_change_ns >= closed_check_ns) {
                /* last_change_ns paces these checks while the reader is closed. */
                f->last_change_ns = now;
                if (stat(f->path, &st) != 0 || (uint64_t)st.st_dev != f->dev ||
                    (uint64_t)st.st_ino != f->ino) {
                    f->warned_gone = 1;
                } else if ((uint64_t)st.st_size != f->size) {
                    f->size = (uint64_t)st.st_size;
                    if (f->state == PT_IF_ACTIVE) {
                        set_wants(s, f, 1);
                    }
                }
            }
            if (f->warned_gone && !in_flight(f)) {
                retire(s, i, "its path names another file now, or nothing");
                continue;
            }
            if (f->size > f->read_off) {
                lag += f->size - f->read_off;
            }
            i++;
            continue;
        }
        if (fstat(f->fd, &st) != 0) {
            i++;
            continue;
        }
        uint64_t size = (uint64_t)st.st_size;
        if (f->state == PT_IF_ACTIVE && st.st_nlink == 0) {
            pt_if_file_gone(s, f, NULL);
        }
        if (size < f->read_off && f->pending == NULL) {
            truncated(s, f, size, "it got shorter");
        }
        if (size != f->size) {
            f->last_change_ns = now;
        }
        f->size = size;
        if (size > f->read_off) {
            lag += size - f->read_off;
            f->ready = 1;
            pt_if_start_idle(s);
            i++;
            continue;
        }
        if (f->carry_len > 0 && f->pending == NULL &&
            now - f->last_data_ns >= (uint64_t)c->flush_timeout_secs * SEC_NS) {
            flush_carry(s, f);
        }
        int done = !in_flight(f) && f->carry_len == 0;
        uint64_t idle = now - f->last_change_ns;
        if (f->state == PT_IF_ACTIVE) {
            if (done && !s->oneshot && idle >= (uint64_t)c->close_unused_secs * SEC_NS) {
                /* Idle: give the descriptor back; the path is watched and reopened on change. */
                PT_LOG(PT_LOG_DEBUG, s->id, "closing idle %s", f->path);
                close_fd(s, f);
                f->ready = 0;
                f->last_change_ns = now;
            }
        } else if (done && (s->oneshot || idle >= (uint64_t)c->rotate_wait_secs * SEC_NS ||
                            rotated_newer(s, f) >= c->rotator_queue_size ||
                            (f->state == PT_IF_DELETED &&
                             now - f->gone_ns >= (uint64_t)c->deleted_hold_secs * SEC_NS))) {
            retire(s, i,
                   f->state == PT_IF_DELETED ? "deleted, read to its end"
                                             : "rotated, read to its end");
            continue;
        }
        i++;
    }
    if (s->waiting > 0) {
        balance_slots(s, now);
    }
    pt_gauge_set(s->m_lag, (int64_t)lag);
}

void pt_if_drop_pending(pt_if_state_t *s)
{
    /* Groups built but refused by a full queue are not in flight: forget them; their bytes are
     * after the committed offset and are read again next time. */
    for (size_t i = 0; i < s->nfiles; i++) {
        pt_if_file_t *f = s->files[i];
        if (f->pending == NULL) {
            continue;
        }
        pt_ack_abandon(f->pending->ack);
        pt_group_release(f->pending);
        f->pending = NULL;
        if (f->ranges_tail != NULL) {
            /* drop the range of the abandoned group (always the last one) */
            pt_if_range_t **pr = &f->ranges;
            while (*pr != f->ranges_tail) {
                pr = &(*pr)->next;
            }
            pt_free(*pr);
            *pr = NULL;
            f->ranges_tail = NULL;
            for (pt_if_range_t *r = f->ranges; r != NULL; r = r->next) {
                f->ranges_tail = r;
            }
        }
    }
}

int pt_if_all_read(const pt_if_state_t *s)
{
    if (s->waiting > 0) {
        return 0;
    }
    for (size_t i = 0; i < s->nfiles; i++) {
        const pt_if_file_t *f = s->files[i];
        if (f->fd >= 0 &&
            (f->read_off < f->size || f->pending != NULL || f->carry_len > 0 || f->ready)) {
            return 0;
        }
    }
    return 1;
}

/* ========================================================================= checkpoints === */

void pt_if_save_checkpoint(pt_if_state_t *s)
{
    int64_t now_s = (int64_t)time(NULL);
    size_t expired = pt_ckpt_expire(&s->ckpt, now_s, s->c->checkpoint_expire_secs);
    if (expired > 0) {
        pt_plg_info(s->id, "dropped %zu checkpoint entr%s of files gone for more than %lld s",
                    expired, expired == 1 ? "y" : "ies", (long long)s->c->checkpoint_expire_secs);
    }
    size_t n = s->nfiles;
    for (size_t i = 0; i < s->ckpt.n; i++) {
        n += !s->ckpt.v[i].seen;
    }
    pt_ckpt_entry_t *v = pt_calloc(n ? n : 1, sizeof(*v));
    if (v == NULL) {
        return;
    }
    size_t k = 0;
    for (size_t i = 0; i < s->nfiles; i++) {
        pt_if_file_t *f = s->files[i];
        if (f->fd >= 0 && f->fplen < PT_IF_FP_BYTES) {
            /* Extends the fingerprint of a file that was short at open; if its head changed the
             * old fingerprint stays, and a restart reads the file again (duplicates, no loss). */
            (void)head_changed(s, f);
        }
        if (f->fd >= 0 && f->tail_off != f->committed) {
            f->tail_fp =
                pt_file_fingerprint_at(f->fd, f->committed, PT_IF_TAIL_BYTES, &f->tail_len);
            f->tail_off = f->committed;
        }
        v[k].dev = f->dev;
        v[k].ino = f->ino;
        v[k].fp = f->fp;
        v[k].fplen = f->fplen;
        v[k].offset = f->committed;
        v[k].path = f->path;
        if (f->tail_off == f->committed) {
            v[k].tail_fp = f->tail_fp;
            v[k].tail_len = f->tail_len;
        }
        k++;
    }
    for (size_t i = 0; i < s->ckpt.n; i++) {
        if (!s->ckpt.v[i].seen) {
            pt_ckpt_entry_t *e = &s->ckpt.v[i];
            if (e->gone_since == 0) {
                /* Loaded but not found by this run: its time away starts now. */
                e->gone_since = now_s;
            }
            v[k++] = *e;
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
