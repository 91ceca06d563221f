/* input_file records: bytes read from a file become groups of events. Complete lines are RAW
 * events that point into the read block (fast path); multiline records, other encodings and
 * position metadata take the general path. Each group carries an ack; offsets are committed in
 * order as acks come back. Everything here runs on the input loop. */
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "core/mem.h"
#include "input_file_internal.h"

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
void pt_if_advance_without_group(pt_if_state_t *s, pt_if_file_t *f, uint64_t end)
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

int pt_if_carry_set(pt_if_file_t *f, const char *p, size_t n)
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

int pt_if_push_pending(pt_if_state_t *s, pt_if_file_t *f)
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
    return pt_if_push_pending(s, f);
}

/* Fast path: buf[0..len) holds complete lines (or one forced record: force_last 1, or 2 when
 * that record is the head of a longer line, flagged truncated); every line is a RAW event that
 * points into the read block. */
int pt_if_emit_lines(pt_if_state_t *s, pt_if_file_t *f, pt_arena_t *a, const char *buf, size_t len,
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
int pt_if_process_general(pt_if_state_t *s, pt_if_file_t *f, pt_arena_t *a, const char *buf,
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
            pt_if_advance_without_group(s, f, base + total);
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
    rc = pt_if_carry_set(f, buf + consumed, total - consumed);
    if (rc != 0) {
        return rc;
    }
    if (giant) {
        f->discarding = 1;
    }
    if (nr == 0) {
        if (consumed > 0) {
            pt_if_advance_without_group(s, f, base + consumed);
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
