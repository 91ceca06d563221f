/* input_file readers' identity and lifetime: lookup by path and by device + inode, descriptor
 * slots under the open-file cap, where a newly found file starts reading, a file leaving its path
 * (rotation, deletion), truncation detection, and the checkpoint snapshot of every reader.
 * Everything here runs on the input loop. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"
#include "core/mem.h"
#include "input_file_internal.h"

#define RECENT_NS (600ull * 1000000000ull) /* "modified recently" for the start-up tail rule */
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
int pt_if_slot_take(pt_if_state_t *s)
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
void pt_if_slot_force(pt_if_state_t *s)
{
    pt_if_fd_force();
    s->open_count++;
    pt_gauge_add(s->m_files_open, 1);
}

void pt_if_slot_give(pt_if_state_t *s)
{
    pt_if_fd_release();
    s->open_count--;
    pt_gauge_add(s->m_files_open, -1);
}

void pt_if_set_wants(pt_if_state_t *s, pt_if_file_t *f, int v)
{
    if (f->wants_fd != v) {
        f->wants_fd = v;
        s->waiting += v ? 1 : -1;
        pt_gauge_set(s->m_files_waiting, s->waiting);
    }
}

void pt_if_close_fd(pt_if_state_t *s, pt_if_file_t *f)
{
    if (f->fd >= 0) {
        close(f->fd);
        f->fd = -1;
        pt_if_slot_give(s);
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
        if (pt_if_slot_take(s) != 0) {
            /* Over the open-file cap: it waits for a slot (its position is already known). */
            close(fd);
            f->fd = -1;
            pt_if_set_wants(s, f, 1);
        }
    } else {
        pt_if_slot_force(s);
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
int pt_if_in_flight(const pt_if_file_t *f)
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
    pt_if_close_fd(s, f);
    pt_if_set_wants(s, f, 0);
    free_ranges(f);
    if (f->pending != NULL) {
        pt_ack_abandon(f->pending->ack);
        pt_group_release(f->pending);
    }
    pt_free(f->carry);
    pt_free(f->path);
    pt_free(f);
}

/* What identifies f in the checkpoint, and how far it is acknowledged; the tail fingerprint is
 * left to the caller. */
static void ckpt_entry_of(const pt_if_file_t *f, pt_ckpt_entry_t *e)
{
    e->dev = f->dev;
    e->ino = f->ino;
    e->fp = f->fp;
    e->fplen = f->fplen;
    e->offset = f->committed;
    e->path = f->path;
}

/* Removes f from the instance for good; its checkpoint entry is retained (by device + inode)
 * so that a restart does not read it again, until CheckpointExpireSecs. */
void pt_if_retire(pt_if_state_t *s, size_t idx, const char *why)
{
    pt_if_file_t *f = s->files[idx];
    pt_ckpt_entry_t e = {0};
    ckpt_entry_of(f, &e);
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
        pt_if_set_wants(s, f, 0);
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

/* ======================================================================== truncation ===== */

/* copytruncate and in-place rewrites: the head of the file changed (or it got shorter than what
 * was read). Start again at 0; lines written between the copy and the truncation are lost by
 * the rotation scheme itself, everything after it is read. */
void pt_if_truncated(pt_if_state_t *s, pt_if_file_t *f, uint64_t size, const char *how)
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
int pt_if_head_changed(pt_if_state_t *s, pt_if_file_t *f)
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
            (void)pt_if_head_changed(s, f);
        }
        if (f->fd >= 0 && f->tail_off != f->committed) {
            f->tail_fp =
                pt_file_fingerprint_at(f->fd, f->committed, PT_IF_TAIL_BYTES, &f->tail_len);
            f->tail_off = f->committed;
        }
        ckpt_entry_of(f, &v[k]);
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
