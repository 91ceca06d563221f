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
#define TURN_BUDGET (8u * 1024u * 1024u) /* bytes one instance reads per loop turn */
#define SLICE_NS (500ull * 1000000ull)   /* a descriptor is lent for at least this long */
#define HEAD_CHECK_NS (20ull * 1000000ull)
#define SEC_NS 1000000000ull

/* ========================================================================== waking ====== */

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
        pt_if_set_wants(s, f, 1);
    }
}

/* ========================================================================== reading ====== */

/* Reads one chunk of f. Returns 1 if more data may follow at once, 0 at EOF, PT_AGAIN when the
 * pipeline is full, or a negative errno. *nread gets the bytes read. */
static int read_chunk(pt_if_state_t *s, pt_if_file_t *f, size_t *nread)
{
    *nread = 0;
    if (f->pending != NULL) {
        int rc = pt_if_push_pending(s, f);
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
        if (pt_if_head_changed(s, f)) {
            struct stat st;
            pt_if_truncated(s, f, fstat(f->fd, &st) == 0 ? (uint64_t)st.st_size : 0,
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
            pt_if_truncated(s, f, (uint64_t)st.st_size, "it got shorter");
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
        rc = pt_if_process_general(s, f, a, buf, total, base, 0);
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
            pt_if_advance_without_group(s, f, f->read_off);
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
            rc = pt_if_emit_lines(s, f, a, start, (size_t)s->c->max_line_bytes, f->read_off, 2,
                                  total);
        } else {
            rc = pt_if_carry_set(f, start, len);
            if (rc == 0 && start > buf) {
                pt_if_advance_without_group(s, f, base + (uint64_t)(start - buf));
            }
        }
        pt_arena_unref(a);
        return rc < 0 && rc != PT_AGAIN ? rc : (rc == PT_AGAIN ? PT_AGAIN : 1);
    }
    size_t complete = (size_t)(last_nl + 1 - start);
    pt_arena_commit(a, total);
    uint64_t end_off = base + (uint64_t)(start - buf) + complete;
    rc = pt_if_carry_set(f, start + complete, len - complete);
    if (rc == 0) {
        rc = pt_if_emit_lines(s, f, a, start, complete, end_off, 0,
                              (size_t)(start - buf) + complete);
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
        rc = pt_if_process_general(s, f, a, buf, n, base, 1);
        f->carry_len = 0;
    } else {
        f->carry_len = 0;
        rc = pt_if_emit_lines(s, f, a, buf, n, f->read_off, 1, n);
    }
    pt_arena_unref(a);
    return rc;
}

/* A record held in the carry for FlushTimeoutSecs without new data is emitted as it is. */
static void flush_if_stale(pt_if_state_t *s, pt_if_file_t *f, uint64_t now)
{
    if (f->carry_len > 0 && f->pending == NULL &&
        now - f->last_data_ns >= (uint64_t)s->c->flush_timeout_secs * SEC_NS) {
        flush_carry(s, f);
    }
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
    pt_if_set_wants(s, f, 0);
    uint32_t len;
    uint64_t fp = pt_file_fingerprint(fd, f->fplen, &len);
    if (len != f->fplen || fp != f->fp || (uint64_t)st.st_size < f->read_off) {
        pt_if_truncated(s, f, (uint64_t)st.st_size, "changed while it was closed");
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
        if (pt_if_slot_take(s) != 0) {
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
            pt_if_close_fd(s, victim);
            victim->ready = 0;
            if (had_data) {
                pt_if_set_wants(s, victim, 1);
            }
            if (pt_if_slot_take(s) != 0) {
                return;
            }
        }
        int rc = reopen(s, f);
        if (rc != 0) {
            pt_if_slot_give(s);
            pt_if_set_wants(s, f, 0);
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
            flush_if_stale(s, f, now);
            if (!f->warned_gone && now - f->last_change_ns >= closed_check_ns) {
                /* last_change_ns paces these checks while the reader is closed. */
                f->last_change_ns = now;
                if (stat(f->path, &st) != 0 || (uint64_t)st.st_dev != f->dev ||
                    (uint64_t)st.st_ino != f->ino) {
                    f->warned_gone = 1;
                } else if ((uint64_t)st.st_size != f->size) {
                    f->size = (uint64_t)st.st_size;
                    if (f->state == PT_IF_ACTIVE) {
                        pt_if_set_wants(s, f, 1);
                    }
                }
            }
            if (f->warned_gone && !pt_if_in_flight(f)) {
                pt_if_retire(s, i, "its path names another file now, or nothing");
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
            pt_if_truncated(s, f, size, "it got shorter");
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
        flush_if_stale(s, f, now);
        int done = !pt_if_in_flight(f) && f->carry_len == 0;
        uint64_t idle = now - f->last_change_ns;
        if (f->state == PT_IF_ACTIVE) {
            if (done && !s->oneshot && idle >= (uint64_t)c->close_unused_secs * SEC_NS) {
                /* Idle: give the descriptor back; the path is watched and reopened on change. */
                PT_LOG(PT_LOG_DEBUG, s->id, "closing idle %s", f->path);
                pt_if_close_fd(s, f);
                f->ready = 0;
                f->last_change_ns = now;
            }
        } else if (done && (s->oneshot || idle >= (uint64_t)c->rotate_wait_secs * SEC_NS ||
                            rotated_newer(s, f) >= c->rotator_queue_size ||
                            (f->state == PT_IF_DELETED &&
                             now - f->gone_ns >= (uint64_t)c->deleted_hold_secs * SEC_NS))) {
            pt_if_retire(s, i,
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
