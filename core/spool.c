/* Spool implementation: segment files of framed records, an in-memory index in append order,
 * and an append-only ledger of delivered records.
 *
 * Record frame (little endian): u32 magic "PTS1", u32 length of data, u32 CRC32C over the two
 * metadata words and the data, u32 meta0, u32 meta1, then the data. Replay scans each segment;
 * after a bad frame it resynchronises on the next magic, so one flipped byte costs one record,
 * not the rest of the file. */
#include "spool.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "common.h"
#include "crc32c.h"
#include "log.h"
#include "mem.h"

#define REC_MAGIC 0x31535450u /* "PTS1" */
#define REC_HDR 20u
#define REC_MAX (256u << 20)
#define SEG_DEFAULT (8u << 20)

enum { R_PENDING = 0, R_OUT, R_DONE };

typedef struct {
    uint64_t seg;
    uint64_t off;
    uint32_t len;
    uint8_t state;
} rec_t;

typedef struct {
    uint64_t id;
    uint64_t bytes;
    uint32_t nrec;
    uint32_t ndone;
} seg_t;

struct pt_spool_s {
    char *dir;
    uint64_t cap;
    uint64_t seg_max;
    pt_spool_fsync_t fsync_mode;
    rec_t *rec; /* index in append order; recs before `head` are all done */
    size_t nrec;
    size_t caprec;
    size_t head;
    size_t scan; /* first record that may be pending */
    seg_t *seg;
    size_t nseg;
    size_t capseg;
    uint64_t cur_id; /* segment open for appends (0: none yet) */
    int cur_fd;
    int dirty;
    int ledger_fd;
    uint64_t ledger_lines;
    uint64_t pending;
    pt_spool_stats_t st;
};

/* ==================================================================== small helpers ==== */

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void seg_path(const pt_spool_t *sp, uint64_t id, char *buf, size_t len)
{
    snprintf(buf, len, "%s/seg-%016llu.log", sp->dir, (unsigned long long)id);
}

static seg_t *seg_find(pt_spool_t *sp, uint64_t id)
{
    for (size_t i = 0; i < sp->nseg; i++) {
        if (sp->seg[i].id == id) {
            return &sp->seg[i];
        }
    }
    return NULL;
}

static seg_t *seg_add(pt_spool_t *sp, uint64_t id)
{
    if (sp->nseg == sp->capseg) {
        size_t ncap = sp->capseg ? sp->capseg * 2 : 16;
        seg_t *ns = pt_realloc(sp->seg, sizeof(*ns) * ncap);
        if (ns == NULL) {
            return NULL;
        }
        sp->seg = ns;
        sp->capseg = ncap;
    }
    seg_t *s = &sp->seg[sp->nseg++];
    memset(s, 0, sizeof(*s));
    s->id = id;
    return s;
}

static int rec_add(pt_spool_t *sp, uint64_t seg, uint64_t off, uint32_t len, int state)
{
    if (sp->nrec == sp->caprec) {
        size_t ncap = sp->caprec ? sp->caprec * 2 : 256;
        rec_t *nr = pt_realloc(sp->rec, sizeof(*nr) * ncap);
        if (nr == NULL) {
            return -ENOMEM;
        }
        sp->rec = nr;
        sp->caprec = ncap;
    }
    rec_t *r = &sp->rec[sp->nrec++];
    r->seg = seg;
    r->off = off;
    r->len = len;
    r->state = (uint8_t)state;
    if (state == R_PENDING) {
        sp->pending++;
    }
    return 0;
}

/* Drops index entries of deleted segments and compacts the array (offsets of refs change, so
 * only done when no record is out). */
static void index_compact(pt_spool_t *sp)
{
    size_t w = 0;
    for (size_t i = 0; i < sp->nrec; i++) {
        if (sp->rec[i].state == R_OUT) {
            return; /* refs hold indexes: try again later */
        }
    }
    for (size_t i = 0; i < sp->nrec; i++) {
        if (seg_find(sp, sp->rec[i].seg) != NULL) {
            sp->rec[w++] = sp->rec[i];
        }
    }
    sp->nrec = w;
    sp->head = 0;
    sp->scan = 0;
}

static void seg_delete(pt_spool_t *sp, seg_t *s)
{
    char path[4200];
    seg_path(sp, s->id, path, sizeof(path));
    unlink(path);
    sp->st.bytes -= s->bytes;
    if (s->id == sp->cur_id && sp->cur_fd >= 0) {
        close(sp->cur_fd);
        sp->cur_fd = -1;
        sp->cur_id = 0;
    }
    *s = sp->seg[--sp->nseg];
}

/* ========================================================================== ledger ====== */

static int ledger_open(pt_spool_t *sp)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/ledger", sp->dir);
    sp->ledger_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    return sp->ledger_fd < 0 ? -errno : 0;
}

/* Rewrites the ledger with only the lines of live segments (write, fsync, rename). */
static void ledger_compact(pt_spool_t *sp)
{
    char path[4200];
    char tmp[4300];
    snprintf(path, sizeof(path), "%s/ledger", sp->dir);
    snprintf(tmp, sizeof(tmp), "%s/ledger.tmp", sp->dir);
    FILE *f = fopen(tmp, "w");
    if (f == NULL) {
        return;
    }
    uint64_t lines = 0;
    for (size_t i = sp->head; i < sp->nrec; i++) {
        const rec_t *r = &sp->rec[i];
        if (r->state == R_DONE && seg_find(sp, r->seg) != NULL) {
            fprintf(f, "%llu %llu\n", (unsigned long long)r->seg, (unsigned long long)r->off);
            lines++;
        }
    }
    fflush(f);
    fsync(fileno(f));
    fclose(f);
    if (rename(tmp, path) == 0) {
        close(sp->ledger_fd);
        ledger_open(sp);
        sp->ledger_lines = lines;
    }
}

/* ========================================================================== replay ====== */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Scans one segment file, adding its valid records to the index. */
static void replay_segment(pt_spool_t *sp, uint64_t id)
{
    char path[4200];
    seg_path(sp, id, path, sizeof(path));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        close(fd);
        return;
    }
    uint64_t size = (uint64_t)st.st_size;
    seg_t *s = seg_add(sp, id);
    if (s == NULL) {
        close(fd);
        return;
    }
    s->bytes = size;
    sp->st.bytes += size;
    uint8_t hdr[REC_HDR];
    uint8_t *data = NULL;
    size_t datacap = 0;
    uint64_t off = 0;
    while (off + REC_HDR <= size) {
        if (pread(fd, hdr, REC_HDR, (off_t)off) != REC_HDR) {
            break;
        }
        uint32_t len = get32(hdr + 4);
        int ok = get32(hdr) == REC_MAGIC && len <= REC_MAX && off + REC_HDR + len <= size;
        if (ok) {
            if (len > datacap) {
                uint8_t *nd = pt_realloc(data, len);
                if (nd == NULL) {
                    break;
                }
                data = nd;
                datacap = len;
            }
            ok = pread(fd, data, len, (off_t)(off + REC_HDR)) == (ssize_t)len &&
                 pt_crc32c(pt_crc32c(0, hdr + 12, 8), data, len) == get32(hdr + 8);
        }
        if (ok) {
            rec_add(sp, id, off, len, R_PENDING);
            s->nrec++;
            off += REC_HDR + len;
            continue;
        }
        if (get32(hdr) == REC_MAGIC && len <= REC_MAX && off + REC_HDR + len > size) {
            sp->st.truncated++; /* a record cut short by a crash: the rest of the file */
            break;
        }
        /* A bad frame: count it and resynchronise on the next magic. */
        sp->st.corrupt++;
        uint64_t next = off + 1;
        uint8_t buf[4096];
        int found = 0;
        while (next + 4 <= size && !found) {
            ssize_t n = pread(fd, buf, sizeof(buf), (off_t)next);
            if (n < 4) {
                break;
            }
            for (ssize_t i = 0; i + 4 <= n; i++) {
                if (get32(buf + i) == REC_MAGIC) {
                    next += (uint64_t)i;
                    found = 1;
                    break;
                }
            }
            if (!found) {
                next += (uint64_t)n - 3;
            }
        }
        if (!found) {
            break;
        }
        off = next;
    }
    pt_free(data);
    close(fd);
}

static void replay_ledger(pt_spool_t *sp)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/ledger", sp->dir);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return;
    }
    unsigned long long seg;
    unsigned long long off;
    char line[128];
    while (fgets(line, sizeof(line), f) != NULL) {
        if (sscanf(line, "%llu %llu", &seg, &off) != 2) {
            continue; /* a torn last line after a crash */
        }
        sp->ledger_lines++;
        /* Records are in (segment, offset) order: binary search. */
        size_t lo = 0;
        size_t hi = sp->nrec;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            const rec_t *r = &sp->rec[mid];
            if (r->seg < seg || (r->seg == seg && r->off < off)) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        if (lo < sp->nrec && sp->rec[lo].seg == seg && sp->rec[lo].off == off &&
            sp->rec[lo].state == R_PENDING) {
            sp->rec[lo].state = R_DONE;
            sp->pending--;
            seg_t *s = seg_find(sp, seg);
            if (s != NULL) {
                s->ndone++;
            }
        }
    }
    fclose(f);
}

int pt_spool_open(const char *dir, uint64_t cap_bytes, pt_spool_fsync_t fsync_mode,
                  uint64_t seg_bytes, pt_spool_t **out)
{
    pt_spool_t *sp = pt_calloc(1, sizeof(*sp));
    if (sp == NULL) {
        return -ENOMEM;
    }
    sp->dir = pt_strdup(dir);
    sp->cap = cap_bytes;
    sp->seg_max = seg_bytes ? seg_bytes : SEG_DEFAULT;
    sp->fsync_mode = fsync_mode;
    sp->cur_fd = -1;
    sp->ledger_fd = -1;
    if (sp->dir == NULL) {
        pt_free(sp);
        return -ENOMEM;
    }
    /* mkdir -p */
    char tmp[4200];
    snprintf(tmp, sizeof(tmp), "%s", dir);
    for (char *p = tmp + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            mkdir(tmp, 0755);
            *p = '/';
        }
    }
    if (mkdir(tmp, 0755) != 0 && errno != EEXIST) {
        int rc = -errno;
        pt_spool_close(sp);
        return rc;
    }
    DIR *d = opendir(dir);
    if (d == NULL) {
        int rc = -errno;
        pt_spool_close(sp);
        return rc;
    }
    uint64_t *ids = NULL;
    size_t nids = 0;
    size_t capids = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        unsigned long long id;
        char tail[8];
        if (sscanf(de->d_name, "seg-%llu.%4s", &id, tail) == 2 && strcmp(tail, "log") == 0) {
            if (nids == capids) {
                capids = capids ? capids * 2 : 16;
                uint64_t *n = pt_realloc(ids, sizeof(*n) * capids);
                if (n == NULL) {
                    break;
                }
                ids = n;
            }
            ids[nids++] = id;
        }
    }
    closedir(d);
    if (nids > 0) {
        qsort(ids, nids, sizeof(*ids), cmp_u64);
    }
    for (size_t i = 0; i < nids; i++) {
        replay_segment(sp, ids[i]);
        if (ids[i] >= sp->cur_id) {
            sp->cur_id = ids[i]; /* appends go to a new segment after the newest */
        }
    }
    pt_free(ids);
    replay_ledger(sp);
    /* Fully delivered segments left by a crash between the last ack and the unlink. */
    for (size_t i = 0; i < sp->nseg;) {
        if (sp->seg[i].ndone == sp->seg[i].nrec) {
            seg_delete(sp, &sp->seg[i]);
            continue;
        }
        i++;
    }
    index_compact(sp);
    while (sp->head < sp->nrec && sp->rec[sp->head].state == R_DONE) {
        sp->head++;
    }
    int rc = ledger_open(sp);
    if (rc != 0) {
        pt_spool_close(sp);
        return rc;
    }
    ledger_compact(sp);
    *out = sp;
    return 0;
}

void pt_spool_close(pt_spool_t *sp)
{
    if (sp == NULL) {
        return;
    }
    if (sp->cur_fd >= 0) {
        if (sp->dirty) {
            fsync(sp->cur_fd);
        }
        close(sp->cur_fd);
    }
    if (sp->ledger_fd >= 0) {
        close(sp->ledger_fd);
    }
    pt_free(sp->rec);
    pt_free(sp->seg);
    pt_free(sp->dir);
    pt_free(sp);
}

/* ========================================================================== append ====== */

static int open_new_segment(pt_spool_t *sp)
{
    if (sp->cur_fd >= 0) {
        if (sp->dirty) {
            fsync(sp->cur_fd);
            sp->dirty = 0;
        }
        close(sp->cur_fd);
        sp->cur_fd = -1;
    }
    uint64_t id = sp->cur_id + 1;
    char path[4200];
    seg_path(sp, id, path, sizeof(path));
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        return -errno;
    }
    if (seg_add(sp, id) == NULL) {
        close(fd);
        unlink(path);
        return -ENOMEM;
    }
    /* The directory entry of a new segment must survive a power loss too. */
    int dfd = open(sp->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    sp->cur_fd = fd;
    sp->cur_id = id;
    return 0;
}

int pt_spool_full(const pt_spool_t *sp, size_t len)
{
    return sp->cap > 0 && sp->st.bytes + REC_HDR + len > sp->cap;
}

int pt_spool_append(pt_spool_t *sp, const void *data, size_t len, uint32_t meta0, uint32_t meta1)
{
    return pt_spool_append_out(sp, data, len, meta0, meta1, NULL);
}

int pt_spool_append_out(pt_spool_t *sp, const void *data, size_t len, uint32_t meta0,
                        uint32_t meta1, pt_spool_ref_t *out)
{
    if (len > REC_MAX) {
        return -EMSGSIZE;
    }
    if (pt_spool_full(sp, len)) {
        return -ENOSPC;
    }
    seg_t *s = sp->cur_fd >= 0 ? seg_find(sp, sp->cur_id) : NULL;
    if (s == NULL || s->bytes + REC_HDR + len > sp->seg_max) {
        int rc = open_new_segment(sp);
        if (rc != 0) {
            return rc;
        }
        s = seg_find(sp, sp->cur_id);
    }
    uint8_t hdr[REC_HDR];
    put32(hdr, REC_MAGIC);
    put32(hdr + 4, (uint32_t)len);
    put32(hdr + 12, meta0);
    put32(hdr + 16, meta1);
    put32(hdr + 8, pt_crc32c(pt_crc32c(0, hdr + 12, 8), data, len));
    struct iovec iov[2] = {{hdr, REC_HDR}, {(void *)data, len}};
    size_t want = REC_HDR + len;
    ssize_t w = writev(sp->cur_fd, iov, 2);
    if (w != (ssize_t)want) {
        int rc = w < 0 ? -errno : -EIO;
        /* A short write leaves a partial record: start a new segment so replay stops there
         * (counted as truncated) and later records stay readable. */
        if (w > 0) {
            s->bytes += (uint64_t)w;
            sp->st.bytes += (uint64_t)w;
        }
        close(sp->cur_fd);
        sp->cur_fd = -1;
        return rc;
    }
    if (sp->fsync_mode == PT_SPOOL_FSYNC_BATCH) {
        if (fdatasync(sp->cur_fd) != 0) {
            return -errno;
        }
    } else {
        sp->dirty = 1;
    }
    int rc = rec_add(sp, sp->cur_id, s->bytes, (uint32_t)len, out ? R_OUT : R_PENDING);
    if (rc != 0) {
        return rc;
    }
    if (out != NULL) {
        out->seg = sp->cur_id;
        out->off = s->bytes;
        out->idx = (uint32_t)(sp->nrec - 1);
    }
    s->bytes += want;
    s->nrec++;
    sp->st.bytes += want;
    return 0;
}

int pt_spool_sync(pt_spool_t *sp)
{
    if (sp->cur_fd >= 0 && sp->dirty) {
        sp->dirty = 0;
        if (fdatasync(sp->cur_fd) != 0) {
            return -errno;
        }
    }
    return 0;
}

uint64_t pt_spool_drop_oldest(pt_spool_t *sp, size_t need)
{
    uint64_t dropped = 0;
    while (pt_spool_full(sp, need) && sp->nseg > 0) {
        /* The oldest segment that has no record out. */
        seg_t *oldest = NULL;
        for (size_t i = 0; i < sp->nseg; i++) {
            if (oldest == NULL || sp->seg[i].id < oldest->id) {
                oldest = &sp->seg[i];
            }
        }
        uint64_t id = oldest->id;
        int busy = 0;
        for (size_t i = sp->head; i < sp->nrec; i++) {
            if (sp->rec[i].seg == id && sp->rec[i].state == R_OUT) {
                busy = 1;
            }
        }
        if (busy || (id == sp->cur_id && sp->nseg == 1)) {
            break;
        }
        for (size_t i = sp->head; i < sp->nrec; i++) {
            if (sp->rec[i].seg == id && sp->rec[i].state == R_PENDING) {
                sp->rec[i].state = R_DONE;
                sp->pending--;
                dropped++;
            }
        }
        seg_delete(sp, oldest);
    }
    sp->st.dropped_records += dropped;
    while (sp->head < sp->nrec && sp->rec[sp->head].state == R_DONE) {
        sp->head++;
    }
    return dropped;
}

/* =================================================================== read and ack ====== */

int pt_spool_next(pt_spool_t *sp, pt_spool_ref_t *ref, pt_buf_t *out, uint32_t *meta0,
                  uint32_t *meta1)
{
    while (sp->scan < sp->head) {
        sp->scan = sp->head;
    }
    for (size_t i = sp->scan; i < sp->nrec; i++) {
        rec_t *r = &sp->rec[i];
        if (r->state != R_PENDING) {
            continue;
        }
        char path[4200];
        seg_path(sp, r->seg, path, sizeof(path));
        int rfd = open(path, O_RDONLY | O_CLOEXEC);
        uint8_t hdr[REC_HDR];
        int ok = rfd >= 0 && pread(rfd, hdr, REC_HDR, (off_t)r->off) == REC_HDR;
        out->len = 0;
        if (ok) {
            ok = pt_buf_reserve(out, r->len) == 0 &&
                 pread(rfd, out->data, r->len, (off_t)(r->off + REC_HDR)) == (ssize_t)r->len &&
                 pt_crc32c(pt_crc32c(0, hdr + 12, 8), out->data, r->len) == get32(hdr + 8);
        }
        if (rfd >= 0) {
            close(rfd);
        }
        if (!ok) {
            /* Changed under us (disk error, tampering): skip it, counted. */
            sp->st.corrupt++;
            r->state = R_DONE;
            sp->pending--;
            seg_t *s = seg_find(sp, r->seg);
            if (s != NULL) {
                s->ndone++;
            }
            continue;
        }
        out->len = r->len;
        *meta0 = get32(hdr + 12);
        *meta1 = get32(hdr + 16);
        r->state = R_OUT;
        sp->pending--;
        ref->seg = r->seg;
        ref->off = r->off;
        ref->idx = (uint32_t)i;
        sp->scan = i + 1;
        return 0;
    }
    return PT_DECLINED;
}

static rec_t *ref_rec(pt_spool_t *sp, const pt_spool_ref_t *ref)
{
    if (ref->idx < sp->nrec && sp->rec[ref->idx].seg == ref->seg &&
        sp->rec[ref->idx].off == ref->off) {
        return &sp->rec[ref->idx];
    }
    return NULL;
}

void pt_spool_ack(pt_spool_t *sp, const pt_spool_ref_t *ref)
{
    rec_t *r = ref_rec(sp, ref);
    if (r == NULL || r->state != R_OUT) {
        return;
    }
    r->state = R_DONE;
    char line[64];
    int n = snprintf(line, sizeof(line), "%llu %llu\n", (unsigned long long)ref->seg,
                     (unsigned long long)ref->off);
    /* Losing a ledger line to a crash only means the record is sent again: no fsync. */
    if (write(sp->ledger_fd, line, (size_t)n) == n) {
        sp->ledger_lines++;
    }
    seg_t *s = seg_find(sp, ref->seg);
    if (s != NULL && ++s->ndone == s->nrec && s->id != sp->cur_id) {
        seg_delete(sp, s);
    }
    while (sp->head < sp->nrec && sp->rec[sp->head].state == R_DONE) {
        sp->head++;
    }
    if (sp->head == sp->nrec && sp->nrec > 0) {
        /* Everything delivered: reset the index and the ledger. */
        int busy = 0;
        for (size_t i = 0; i < sp->nseg; i++) {
            busy |= sp->seg[i].id != sp->cur_id;
        }
        if (!busy) {
            sp->nrec = 0;
            sp->head = 0;
            sp->scan = 0;
            if (sp->nseg == 1 && sp->cur_fd >= 0 && sp->seg[0].bytes >= sp->seg_max / 2) {
                seg_delete(sp, &sp->seg[0]);
            }
        }
    }
    if (sp->ledger_lines > 4096 && sp->ledger_lines > 4 * (sp->nrec - sp->head + 1)) {
        index_compact(sp);
        ledger_compact(sp);
    }
}

void pt_spool_nack(pt_spool_t *sp, const pt_spool_ref_t *ref)
{
    rec_t *r = ref_rec(sp, ref);
    if (r == NULL || r->state != R_OUT) {
        return;
    }
    r->state = R_PENDING;
    sp->pending++;
    if (ref->idx < sp->scan) {
        sp->scan = ref->idx;
    }
}

uint64_t pt_spool_pending(const pt_spool_t *sp)
{
    return sp->pending;
}

void pt_spool_stats(const pt_spool_t *sp, pt_spool_stats_t *st)
{
    *st = sp->st;
    st->records = sp->pending;
    for (size_t i = sp->head; i < sp->nrec; i++) {
        st->records += sp->rec[i].state == R_OUT;
    }
}
