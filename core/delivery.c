/* The delivery layer of network flushers, on the sender loop: a queue of payloads in memory, a
 * spool on disk, bounded and adaptive concurrency, exponential backoff with full jitter, and
 * dead letters for what the destination refuses for good.
 *
 * Acks: a payload held in memory keeps its groups unacknowledged (the input cannot commit, and
 * backpressure builds up). Once the payload is delivered, durably spooled or dead-lettered, its
 * acks are released. In `always` mode every payload is spooled first (write-ahead) and sent from
 * the spool; in `on_failure` mode only when a send fails, while the destination is backing off,
 * when memory is full, and at shutdown. Spooled data is always sent before newer data. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"
#include "log.h"
#include "mem.h"
#include "pipeline_internal.h"
#include "json.h"
#include "spool.h"

struct pt_delivery_s {
    pt_plugin_inst_t *f;
    pt_flusher_rt_t *rt;
    const pt_delivery_conf_t *c;
    pt_spool_t *spool;
    int always;
    pt_payload_t *head; /* in-memory queue (acks held), oldest first */
    pt_payload_t *tail;
    uint32_t queued;
    uint32_t inflight;
    pt_payload_t **out;  /* payloads in flight (to spool them at shutdown) */
    uint32_t capout;
    double limit;       /* adaptive concurrency, 1..Concurrency */
    uint32_t attempt;   /* consecutive failures, for the backoff */
    int backing_off;
    int closing;
    uv_timer_t backoff_timer;
    uv_timer_t sync_timer;
    int open_handles;
    uint64_t rng;
    uint64_t dead_seq;
    char dead_dir[1024];
    pt_counter_t *m_retries;
    pt_counter_t *m_dead;
    pt_counter_t *m_spooled;
    pt_counter_t *m_spool_dropped;
    pt_gauge_t *m_spool_bytes;
    pt_gauge_t *m_spool_records;
    pt_counter_t *m_spool_corrupt;
    pt_gauge_t *m_concurrency;
    pt_gauge_t *m_latency_us;
};

static void pump(pt_delivery_t *d);

/* ========================================================================== helpers ====== */

static uint64_t rng_next(pt_delivery_t *d)
{
    /* splitmix64: the jitter needs spread, not cryptographic strength. */
    uint64_t z = (d->rng += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static void update_gauges(pt_delivery_t *d)
{
    pt_spool_stats_t st;
    pt_spool_stats(d->spool, &st);
    pt_gauge_set(d->m_spool_bytes, (int64_t)st.bytes);
    pt_gauge_set(d->m_spool_records, (int64_t)st.records);
    pt_gauge_set(d->m_concurrency, (int64_t)d->limit);
    int full = d->c->drop_oldest ? 0 : pt_spool_full(d->spool, 0);
    atomic_store(&d->rt->spool_full, full);
    atomic_store(&d->rt->busy, st.records > 0 || d->queued > 0 || d->inflight > 0);
}

static void sanitize(const char *in, char *out, size_t len)
{
    size_t i = 0;
    for (; in[i] != '\0' && i + 1 < len; i++) {
        char ch = in[i];
        out[i] = (ch == '/' || ch == '#' || ch == ' ') ? '_' : ch;
    }
    out[i] = '\0';
}

static void payload_finish(pt_delivery_t *d, pt_payload_t *p)
{
    pt_payload_release_acks(p, 0);
    pt_payload_free(p);
}

/* Writes the payload to the spool. On success its acks are released (the data is durable) and
 * 0 is returned; the payload itself stays with the caller. */
/* keep_out: the payload stays in memory and will be sent as is, its spool record handed out
 * (write-ahead without reading the record back). */
static int spool_payload_ex(pt_delivery_t *d, pt_payload_t *p, int keep_out)
{
    if (p->acks_released) {
        return 0;
    }
    pt_spool_ref_t ref;
    pt_spool_ref_t *refp = keep_out ? &ref : NULL;
    int rc = pt_spool_append_out(d->spool, p->data.data ? p->data.data : "", p->data.len,
                                 p->route, p->nevents, refp);
    if (rc == -ENOSPC && d->c->drop_oldest) {
        uint64_t n = pt_spool_drop_oldest(d->spool, p->data.len);
        if (n > 0) {
            pt_counter_add(d->m_spool_dropped, n);
            PT_LOG(PT_LOG_WARN, d->f->id, "spool full: dropped the %llu oldest record(s)",
                   (unsigned long long)n);
        }
        rc = pt_spool_append_out(d->spool, p->data.data ? p->data.data : "", p->data.len,
                                 p->route, p->nevents, refp);
    }
    if (rc != 0) {
        update_gauges(d);
        return rc;
    }
    if (keep_out) {
        /* From now on the spool record is the truth: ack or nack it like a re-read one. */
        p->from_spool = 1;
        p->spool_seg = ref.seg;
        p->spool_off = ref.off;
        p->spool_idx = ref.idx;
    }
    pt_counter_add(d->m_spooled, 1);
    pt_payload_release_acks(p, 0);
    p->acks_released = 1;
    update_gauges(d);
    return 0;
}

static int spool_payload(pt_delivery_t *d, pt_payload_t *p)
{
    return spool_payload_ex(d, p, 0);
}

static void queue_push(pt_delivery_t *d, pt_payload_t *p, int front)
{
    if (front) {
        p->next = d->head;
        d->head = p;
        if (d->tail == NULL) {
            d->tail = p;
        }
    } else {
        p->next = NULL;
        if (d->tail != NULL) {
            d->tail->next = p;
        } else {
            d->head = p;
        }
        d->tail = p;
    }
    d->queued++;
}

static pt_payload_t *queue_pop(pt_delivery_t *d)
{
    pt_payload_t *p = d->head;
    if (p != NULL) {
        d->head = p->next;
        if (d->head == NULL) {
            d->tail = NULL;
        }
        p->next = NULL;
        d->queued--;
    }
    return p;
}

/* A payload in memory that is now durable in the spool leaves the queue for good. */
static void queue_to_spool(pt_delivery_t *d)
{
    while (d->head != NULL) {
        if (spool_payload(d, d->head) != 0) {
            return; /* spool full: keep holding in memory (backpressure) */
        }
        pt_payload_t *p = queue_pop(d);
        pt_payload_left_memory(p);
        pt_payload_free(p);
    }
}

/* ====================================================================== dead letters ===== */

static void dead_letter(pt_delivery_t *d, pt_payload_t *p, int status)
{
    char path[1200];
    uint64_t ms = (uint64_t)(pt_now_wall_ns() / 1000000);
    snprintf(path, sizeof(path), "%s/%llu-%llu.payload", d->dead_dir, (unsigned long long)ms,
             (unsigned long long)++d->dead_seq);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int rc = fd < 0 ? -errno : pt_write_all(fd, p->data.data ? p->data.data : "", p->data.len);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    char idx[1200];
    snprintf(idx, sizeof(idx), "%s/index.jsonl", d->dead_dir);
    FILE *f = fopen(idx, "a");
    if (f != NULL) {
        pt_buf_t b;
        pt_buf_init(&b);
        pt_buf_appendf(&b, "{\"time_ms\":%llu,\"file\":", (unsigned long long)ms);
        const char *base = strrchr(path, '/') + 1;
        pt_json_write_str(&b, base, strlen(base));
        pt_buf_appendf(&b, ",\"events\":%u,\"bytes\":%zu,\"status\":", p->nevents, p->data.len);
        const char *why = p->reason[0] ? p->reason : pt_strerror(status);
        pt_json_write_str(&b, why, strlen(why));
        pt_buf_append_str(&b, "}\n");
        fwrite(b.data, 1, b.len, f);
        fflush(f);
        fsync(fileno(f));
        fclose(f);
        pt_buf_free(&b);
    }
    pt_counter_add(d->m_dead, 1);
    pt_counter_add(d->f->m.events_dropped, p->nevents);
    PT_LOG(PT_LOG_ERROR, d->f->id,
           "batch of %u event(s) refused for good (%s); written to %s%s", p->nevents,
           p->reason[0] ? p->reason : pt_strerror(status), path, rc == 0 ? "" : " (FAILED)");
}

/* ========================================================================== sending ====== */

static void on_backoff_done(uv_timer_t *t)
{
    pt_delivery_t *d = t->data;
    d->backing_off = 0;
    pump(d);
}

static void start_backoff(pt_delivery_t *d, uint32_t retry_after_ms)
{
    d->attempt++;
    uint64_t cap = (uint64_t)d->c->retry_max_ms;
    uint64_t exp = (uint64_t)d->c->retry_initial_ms;
    for (uint32_t i = 1; i < d->attempt && exp < cap; i++) {
        exp *= 2;
    }
    if (exp > cap) {
        exp = cap;
    }
    /* Full jitter (AWS architecture blog): uniform in [0, exp], but never sooner than the
     * server asked for. */
    uint64_t delay = rng_next(d) % (exp + 1);
    if (retry_after_ms > delay) {
        delay = retry_after_ms;
    }
    d->backing_off = 1;
    uv_timer_start(&d->backoff_timer, on_backoff_done, delay, 0);
    PT_LOG(PT_LOG_DEBUG, d->f->id, "backing off %llu ms (attempt %u)",
           (unsigned long long)delay, d->attempt);
}

static int out_add(pt_delivery_t *d, pt_payload_t *p)
{
    if (d->inflight == d->capout) {
        uint32_t ncap = d->capout ? d->capout * 2 : 16;
        pt_payload_t **n = pt_realloc(d->out, sizeof(*n) * ncap);
        if (n == NULL) {
            return -ENOMEM;
        }
        d->out = n;
        d->capout = ncap;
    }
    d->out[d->inflight++] = p;
    return 0;
}

static void out_del(pt_delivery_t *d, pt_payload_t *p)
{
    for (uint32_t i = 0; i < d->inflight; i++) {
        if (d->out[i] == p) {
            d->out[i] = d->out[--d->inflight];
            return;
        }
    }
}

static void send_one(pt_delivery_t *d, pt_payload_t *p)
{
    if (out_add(d, p) != 0) {
        queue_push(d, p, 1);
        return;
    }
    p->retry_after_ms = 0;
    p->throttled = 0;
    p->reason[0] = '\0';
    p->enqueued_ns = pt_now_mono_ns();
    pt_plugin_inst_t *f = d->f;
    int rc = f->plugin->send(f, p);
    if (rc != 0 && rc != PT_DONE) {
        pt_delivery_done(d, p, rc);
    }
}

static void pump(pt_delivery_t *d)
{
    while (!d->backing_off && !d->closing && d->inflight < (uint32_t)d->limit) {
        /* Older data first: what is in the spool was queued before what is in memory. */
        if (pt_spool_pending(d->spool) > 0) {
            pt_payload_t *p = pt_payload_alloc(d->f);
            if (p == NULL) {
                return;
            }
            pt_spool_ref_t ref;
            uint32_t m0;
            uint32_t m1;
            if (pt_spool_next(d->spool, &ref, &p->data, &m0, &m1) != 0) {
                pt_payload_free(p);
                update_gauges(d);
                continue;
            }
            p->from_spool = 1;
            p->acks_released = 1;
            p->route = m0;
            p->nevents = m1;
            p->spool_seg = ref.seg;
            p->spool_off = ref.off;
            p->spool_idx = ref.idx;
            send_one(d, p);
            continue;
        }
        pt_payload_t *p = queue_pop(d);
        if (p == NULL) {
            return;
        }
        send_one(d, p);
    }
}

void pt_delivery_submit(pt_delivery_t *d, pt_payload_t *p)
{
    if (d->always && !d->backing_off && !d->closing && pt_spool_pending(d->spool) == 0 &&
        d->inflight < (uint32_t)d->limit) {
        /* Write-ahead, and the way is clear: spool it (acks released once durable), then send
         * these very bytes without reading the record back. */
        if (spool_payload_ex(d, p, 1) == 0) {
            pt_payload_left_memory(p);
            send_one(d, p);
            return;
        }
    }
    if (d->always || d->backing_off || d->closing || pt_spool_pending(d->spool) > 0) {
        /* Write-ahead, or the destination is failing, or older data waits in the spool: keep
         * the order by spooling this one too. */
        if (spool_payload(d, p) == 0) {
            pt_payload_left_memory(p);
            pt_payload_free(p);
            pump(d);
            return;
        }
    }
    queue_push(d, p, 0);
    pump(d);
}

void pt_delivery_done(pt_delivery_t *d, pt_payload_t *p, int status)
{
    pt_plugin_inst_t *f = d->f;
    pt_spool_ref_t ref = {p->spool_seg, p->spool_off, p->spool_idx};
    out_del(d, p);
    uint64_t lat_us = (pt_now_mono_ns() - p->enqueued_ns) / 1000;
    pt_gauge_set(d->m_latency_us, (int64_t)lat_us);
    if (status == 0) {
        pt_counter_add(f->m.events_out, p->nevents);
        pt_counter_add(f->m.bytes_out, p->data.len);
        d->attempt = 0;
        /* Additive increase: one more request in flight per round of successes. */
        if (d->limit < (double)d->c->concurrency) {
            d->limit += 1.0 / d->limit;
        }
        if (p->from_spool) {
            pt_spool_ack(d->spool, &ref);
        } else {
            pt_payload_left_memory(p);
        }
        payload_finish(d, p);
        update_gauges(d);
        pump(d);
        return;
    }
    if (status == PT_RETRY) {
        uint32_t retry_after = p->retry_after_ms;
        pt_counter_add(d->m_retries, 1);
        pt_counter_add(f->m.errors, 1);
        if (p->throttled) {
            /* Multiplicative decrease when the destination asks us to slow down. */
            d->limit = d->limit / 2 < 1 ? 1 : d->limit / 2;
        }
        PT_LOG(d->attempt == 0 && !d->closing ? PT_LOG_WARN : PT_LOG_DEBUG, f->id,
               "send failed, will retry: %s", p->reason[0] ? p->reason : "retryable error");
        if (p->from_spool) {
            pt_spool_nack(d->spool, &ref);
            payload_finish(d, p);
        } else if (spool_payload(d, p) == 0) {
            pt_payload_left_memory(p);
            payload_finish(d, p);
        } else {
            queue_push(d, p, 1); /* spool full: hold it in memory, first in line */
        }
        /* Whatever waits in memory goes to the spool too, so acks flow while we back off. */
        queue_to_spool(d);
        if (!d->backing_off && !d->closing) {
            start_backoff(d, retry_after);
        }
        update_gauges(d);
        return;
    }
    /* Permanent: the destination refused this data (e.g. HTTP 400). Never retried. */
    pt_counter_add(f->m.errors, 1);
    dead_letter(d, p, status);
    if (p->from_spool) {
        pt_spool_ack(d->spool, &ref);
    } else {
        pt_payload_left_memory(p);
    }
    payload_finish(d, p);
    update_gauges(d);
    pump(d);
}

void pt_delivery_spool_all(pt_delivery_t *d)
{
    d->closing = 1;
    queue_to_spool(d);
    /* In-flight payloads too: if their send succeeds after all, the spooled copy is sent again
     * at the next start (a duplicate, never a loss). */
    for (uint32_t i = 0; i < d->inflight; i++) {
        if (!d->out[i]->from_spool) {
            spool_payload(d, d->out[i]);
        }
    }
    pt_spool_sync(d->spool);
    update_gauges(d);
    if (d->head != NULL) {
        PT_LOG(PT_LOG_WARN, d->f->id, "spool full at shutdown: %u batch(es) stay unacknowledged "
                                      "and are read again at the next start", d->queued);
    }
}

/* ======================================================================= lifecycle ====== */

static void on_sync_timer(uv_timer_t *t)
{
    pt_delivery_t *d = t->data;
    pt_spool_sync(d->spool);
}

static void on_timer_closed(uv_handle_t *h)
{
    pt_delivery_t *d = h->data;
    if (--d->open_handles == 0) {
        pt_free(d);
    }
}

int pt_delivery_create(pt_plugin_inst_t *f, pt_flusher_rt_t *rt, uv_loop_t *loop,
                       pt_delivery_t **out)
{
    const pt_delivery_conf_t *c =
        (const pt_delivery_conf_t *)((const char *)f->config + f->plugin->delivery_offset - 1);
    pt_delivery_t *d = pt_calloc(1, sizeof(*d));
    if (d == NULL) {
        return -ENOMEM;
    }
    d->f = f;
    d->rt = rt;
    d->c = c;
    d->always = c->spool_mode != NULL && strcmp(c->spool_mode, "always") == 0;
    /* Start at the configured concurrency: halved on throttling, regrown on success. */
    d->limit = (double)c->concurrency;
    d->rng = (uint64_t)pt_now_wall_ns() ^ (uint64_t)(uintptr_t)d;
    char id[256];
    sanitize(strchr(f->id, '/') + 1, id, sizeof(id));
    char dir[1024];
    snprintf(dir, sizeof(dir), "%s/spool/%s/%s", f->pipeline->data_dir, f->pipeline->name, id);
    int fsync_mode = c->spool_fsync != NULL && strcmp(c->spool_fsync, "interval") == 0
                         ? PT_SPOOL_FSYNC_INTERVAL
                         : PT_SPOOL_FSYNC_BATCH;
    int rc = pt_spool_open(dir, (uint64_t)c->spool_max_bytes, fsync_mode, 0, &d->spool);
    if (rc != 0) {
        pt_log_error("[%s] cannot open spool %s: %s", f->id, dir, pt_strerror(rc));
        pt_free(d);
        return rc;
    }
    snprintf(d->dead_dir, sizeof(d->dead_dir), "%s/deadletter/%s/%s", f->pipeline->data_dir,
             f->pipeline->name, id);
    char tmp[1100];
    snprintf(tmp, sizeof(tmp), "%s/deadletter", f->pipeline->data_dir);
    mkdir(tmp, 0755);
    snprintf(tmp, sizeof(tmp), "%s/deadletter/%s", f->pipeline->data_dir, f->pipeline->name);
    mkdir(tmp, 0755);
    mkdir(d->dead_dir, 0755);
    d->m_retries = pt_plugin_counter(f, "petrel_flusher_retries_total", "Sends retried");
    d->m_dead = pt_plugin_counter(f, "petrel_flusher_dead_letters_total",
                                  "Batches refused for good, written to the dead-letter dir");
    d->m_spooled = pt_plugin_counter(f, "petrel_spool_writes_total", "Batches written to spool");
    d->m_spool_dropped = pt_plugin_counter(f, "petrel_spool_dropped_records_total",
                                           "Spooled batches deleted by Spool.DropOldest (loss)");
    d->m_spool_bytes = pt_plugin_gauge(f, "petrel_spool_bytes", "Bytes in the spool");
    d->m_spool_records = pt_plugin_gauge(f, "petrel_spool_records", "Batches in the spool");
    d->m_spool_corrupt = pt_plugin_counter(f, "petrel_spool_corrupt_records_total",
                                           "Spool records skipped as corrupt or truncated");
    d->m_concurrency = pt_plugin_gauge(f, "petrel_flusher_concurrency",
                                       "Requests allowed in flight (adaptive)");
    d->m_latency_us = pt_plugin_gauge(f, "petrel_flusher_last_send_latency_us",
                                      "Latency of the last completed send");
    pt_spool_stats_t st;
    pt_spool_stats(d->spool, &st);
    pt_counter_add(d->m_spool_corrupt, st.corrupt + st.truncated);
    if (st.records > 0 || st.corrupt > 0 || st.truncated > 0) {
        pt_log_info("[%s] spool %s: %llu batch(es) to replay, %llu corrupt and %llu truncated "
                    "record(s) skipped", f->id, dir, (unsigned long long)st.records,
                    (unsigned long long)st.corrupt, (unsigned long long)st.truncated);
    }
    uv_timer_init(loop, &d->backoff_timer);
    uv_timer_init(loop, &d->sync_timer);
    d->backoff_timer.data = d->sync_timer.data = d;
    d->open_handles = 2;
    if (fsync_mode == PT_SPOOL_FSYNC_INTERVAL) {
        uv_timer_start(&d->sync_timer, on_sync_timer, 500, 500);
    }
    update_gauges(d);
    *out = d;
    pump(d);
    return 0;
}

void pt_delivery_destroy(pt_delivery_t *d)
{
    pt_delivery_spool_all(d);
    PT_ASSERT(d->inflight == 0); /* the flusher's stop() completed every send */
    /* Payloads still in memory could not be spooled: release them unacknowledged. */
    pt_payload_t *p;
    while ((p = queue_pop(d)) != NULL) {
        pt_payload_left_memory(p);
        pt_payload_discard(p, -ECANCELED);
    }
    pt_spool_close(d->spool);
    d->spool = NULL;
    pt_free(d->out);
    pt_plugin_counter_free(d->m_retries);
    pt_plugin_counter_free(d->m_dead);
    pt_plugin_counter_free(d->m_spooled);
    pt_plugin_counter_free(d->m_spool_dropped);
    pt_plugin_gauge_free(d->m_spool_bytes);
    pt_plugin_gauge_free(d->m_spool_records);
    pt_plugin_counter_free(d->m_spool_corrupt);
    pt_plugin_gauge_free(d->m_concurrency);
    pt_plugin_gauge_free(d->m_latency_us);
    uv_close((uv_handle_t *)&d->backoff_timer, on_timer_closed);
    uv_close((uv_handle_t *)&d->sync_timer, on_timer_closed);
}
