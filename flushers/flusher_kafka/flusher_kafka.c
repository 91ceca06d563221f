/* flusher_kafka: produces one Kafka message per event with librdkafka (idempotent, acks=all,
 * zstd), as LoongCollector's flusher_kafka, flusher_kafka_v2 and flusher_kafka_native. Batches
 * are framed on the workers (format.c); on the sender loop every message of a batch is handed to
 * librdkafka and the batch completes only when each one has its delivery report, so the spool
 * and the input's checkpoints advance on Kafka's acknowledgement, never on enqueue.
 * Outcomes: all delivered -> done; any retriable failure -> PT_RETRY (the delivery layer spools
 * the batch and backs off; messages already delivered are marked and not sent again); only
 * permanent failures (message too large, topic refused) -> dead letter, readable. */
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/mem.h"
#include "core/plugin.h"
#include "flushers/flusher_kafka/flusher_kafka_internal.h"

typedef struct kafka_s kafka_t;
typedef struct req_s req_t;

enum { MSG_SKIP = 0, MSG_INFLIGHT, MSG_OK, MSG_FAILED };

/* One message of a batch; its address is the message opaque handed to librdkafka. */
typedef struct {
    req_t *req;
    int32_t err;
    uint32_t off; /* of the frame's flags digit, to mark it delivered */
    uint8_t state;
} msg_t;

/* One batch in flight. */
struct req_s {
    pt_payload_t *p;
    uint32_t nmsgs;
    uint32_t pending; /* delivery reports still to come */
    char unroutable[100];
    req_t *prev;
    req_t *next;
    req_t *done_next;
    msg_t msgs[];
};

typedef struct {
    char *name;
    uint32_t len;
    rd_kafka_topic_t *rkt;
} topic_t;

#define TOPIC_CACHE_MAX 256
#define ERR_LOG_INTERVAL_NS (10ull * 1000000000ull)

struct kafka_s {
    const pt_kafka_conf_t *c;
    const char *id;
    pt_kafka_fmt_t fmt;
    rd_kafka_conf_t *rkconf; /* validated at create(); every producer gets a copy */
    rd_kafka_headers_t *headers;
    rd_kafka_t *rk;
    rd_kafka_queue_t *mainq;
    uv_loop_t *loop;
    uv_poll_t poll;
    uv_timer_t tick;
    uv_timer_t kick;
    int fds[2];
    atomic_int refs; /* the instance + each open handle: the last one frees */
    req_t *reqs;     /* in flight */
    req_t *done_head;
    req_t *done_tail;
    topic_t topics[TOPIC_CACHE_MAX];
    uint32_t ntopics;
    uint32_t last_topic;
    atomic_uint rr;
    int fatal; /* 1: a fatal error was reported; 2: and its messages were purged */
    int stopping;
    pt_kafka_done_cb done;
    int last_err;
    uint64_t last_err_ns;
    int registered;
    pt_counter_t *m_produced;
    pt_counter_t *m_delivered;
    pt_counter_t *m_failed;
    pt_counter_t *m_queue_full;
    pt_gauge_t *m_outq;
    pt_counter_t local_c[4]; /* when the instance has no pipeline (tests) */
    pt_gauge_t local_g;
};

/* ======================================================================== errors ========= */

int pt_kafka_err_permanent(int err)
{
    switch (err) {
    case PT_KAFKA_ERR_UNROUTABLE:
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD:
    case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_UNSUPPORTED_FOR_MESSAGE_FORMAT:
    case RD_KAFKA_RESP_ERR__INVALID_ARG:
        return 1;
    default:
        return 0;
    }
}

static const char *err_text(const req_t *r, int err)
{
    if (err == PT_KAFKA_ERR_UNROUTABLE) {
        return r->unroutable[0] ? r->unroutable : "no topic for the message";
    }
    if (err == PT_KAFKA_ERR_NOT_SENT) {
        return "not sent: librdkafka's queue was full";
    }
    return rd_kafka_err2str((rd_kafka_resp_err_t)err);
}

/* ===================================================================== completion ======== */

static void req_unlink(kafka_t *s, req_t *r)
{
    if (r->prev != NULL) {
        r->prev->next = r->next;
    } else {
        s->reqs = r->next;
    }
    if (r->next != NULL) {
        r->next->prev = r->prev;
    }
    r->prev = r->next = NULL;
}

/* Completes a batch whose every message has an outcome. Delivered messages are marked in the
 * payload, so that if the batch is retried from memory (spooled with the marks) they are not
 * sent twice. */
static void finish(kafka_t *s, req_t *r)
{
    req_unlink(s, r);
    pt_payload_t *p = r->p;
    uint32_t nfail = 0;
    uint32_t nperm = 0;
    int retry_err = 0;
    int perm_err = 0;
    for (uint32_t i = 0; i < r->nmsgs; i++) {
        msg_t *m = &r->msgs[i];
        if (m->state == MSG_OK) {
            pt_kafka_frame_mark(p->data.data, m->off, PT_KAFKA_F_DELIVERED);
        } else if (m->state != MSG_SKIP) {
            /* MSG_FAILED, or MSG_INFLIGHT when the producer was torn down under it. */
            int err = m->state == MSG_FAILED ? m->err : RD_KAFKA_RESP_ERR__PURGE_INFLIGHT;
            nfail++;
            if (pt_kafka_err_permanent(err)) {
                nperm++;
                perm_err = perm_err ? perm_err : err;
            } else {
                retry_err = retry_err ? retry_err : err;
            }
        }
    }
    int status = 0;
    if (nfail > 0) {
        int err = retry_err ? retry_err : perm_err;
        snprintf(p->reason, sizeof(p->reason), "%.80s (%u of %u messages)", err_text(r, err), nfail,
                 r->nmsgs);
        status = retry_err ? PT_RETRY : -EBADMSG;
        p->nevents = nfail;
    }
    pt_free(r);
    s->done(p, status);
}

static void push_done(kafka_t *s, req_t *r)
{
    r->done_next = NULL;
    if (s->done_tail != NULL) {
        s->done_tail->done_next = r;
    } else {
        s->done_head = r;
    }
    s->done_tail = r;
}

static void drain_done(kafka_t *s)
{
    req_t *r;
    while ((r = s->done_head) != NULL) {
        s->done_head = r->done_next;
        if (s->done_head == NULL) {
            s->done_tail = NULL;
        }
        /* finish() may send the next batch, which may queue more completions: keep going. */
        finish(s, r);
    }
}

/* ===================================================================== callbacks ========= */

/* Delivery report: on the sender loop, inside rd_kafka_poll(). Only records the outcome; the
 * batch completes after the poll returns (drain_done), so a completion that starts the next
 * send never runs inside librdkafka's callback. */
static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *km, void *opaque)
{
    kafka_t *s = opaque;
    msg_t *m = km->_private;
    if (m == NULL) {
        return;
    }
    if (km->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        m->state = MSG_OK;
        pt_counter_inc(s->m_delivered);
    } else {
        m->state = MSG_FAILED;
        m->err = km->err;
        pt_counter_inc(s->m_failed);
    }
    req_t *r = m->req;
    if (--r->pending == 0) {
        push_done(s, r);
    }
}

static void on_error(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
    kafka_t *s = opaque;
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
        /* The idempotent producer cannot go on (e.g. a sequence it cannot repair): every
         * outstanding message fails, and a new producer takes over once they are reported. */
        char buf[256];
        rd_kafka_resp_err_t orig = rd_kafka_fatal_error(rk, buf, sizeof(buf));
        PT_LOG(PT_LOG_ERROR, s->id,
               "fatal producer error %s: %s; failed messages are retried by a new producer",
               rd_kafka_err2name(orig), buf);
        s->fatal = 1;
        return;
    }
    uint64_t now = pt_now_mono_ns();
    if (err != s->last_err || now - s->last_err_ns >= ERR_LOG_INTERVAL_NS) {
        s->last_err = err;
        s->last_err_ns = now;
        PT_LOG(PT_LOG_WARN, s->id, "kafka: %s", reason);
    }
}

/* librdkafka's own log lines: debug, except configuration warnings and worse. Any thread. */
static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    kafka_t *s = rd_kafka_opaque(rk);
    const char *id = s != NULL ? s->id : "flusher_kafka";
    if (level <= 2) {
        PT_LOG(PT_LOG_ERROR, id, "librdkafka %s: %s", fac, buf);
    } else if (level <= 4 && strcmp(fac, "CONFWARN") == 0) {
        PT_LOG(PT_LOG_WARN, id, "librdkafka %s: %s", fac, buf);
    } else {
        PT_LOG(PT_LOG_DEBUG, id, "librdkafka %s: %s", fac, buf);
    }
}

/* PartitionerType roundrobin: the next available partition. Any librdkafka thread. */
static int32_t on_partition_rr(const rd_kafka_topic_t *rkt, const void *key, size_t keylen,
                               int32_t cnt, void *rkt_opaque, void *msg_opaque)
{
    kafka_t *s = rkt_opaque;
    for (int32_t i = 0; i < cnt; i++) {
        int32_t p = (int32_t)(atomic_fetch_add(&s->rr, 1u) % (uint32_t)cnt);
        if (rd_kafka_topic_partition_available(rkt, p)) {
            return p;
        }
    }
    return (int32_t)(atomic_fetch_add(&s->rr, 1u) % (uint32_t)cnt);
}

/* ====================================================================== producer ========= */

static void topics_clear(kafka_t *s)
{
    for (uint32_t i = 0; i < s->ntopics; i++) {
        rd_kafka_topic_destroy(s->topics[i].rkt);
        pt_free(s->topics[i].name);
    }
    s->ntopics = 0;
    s->last_topic = 0;
}

static int producer_open(kafka_t *s)
{
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_dup(s->rkconf);
    if (conf == NULL) {
        return -ENOMEM;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (rk == NULL) {
        rd_kafka_conf_destroy(conf);
        PT_LOG(PT_LOG_ERROR, s->id, "cannot create the Kafka producer: %s", errstr);
        return -EINVAL;
    }
    s->rk = rk;
    s->mainq = rd_kafka_queue_get_main(rk);
    /* Delivery reports wake the sender loop through the pipe at once; the tick is a backstop. */
    rd_kafka_queue_io_event_enable(s->mainq, s->fds[1], "1", 1);
    s->fatal = 0;
    return 0;
}

static void producer_close(kafka_t *s)
{
    if (s->rk == NULL) {
        return;
    }
    topics_clear(s);
    rd_kafka_queue_io_event_enable(s->mainq, -1, NULL, 0);
    rd_kafka_queue_destroy(s->mainq);
    s->mainq = NULL;
    rd_kafka_destroy(s->rk);
    s->rk = NULL;
}

static void producer_reset(kafka_t *s)
{
    PT_LOG(PT_LOG_WARN, s->id, "restarting the Kafka producer after a fatal error");
    producer_close(s);
    producer_open(s);
}

static rd_kafka_topic_t *topic_get(kafka_t *s, pt_str_t name, int *owned)
{
    *owned = 0;
    if (s->ntopics > 0) {
        topic_t *t = &s->topics[s->last_topic];
        if (t->len == name.len && memcmp(t->name, name.ptr, name.len) == 0) {
            return t->rkt;
        }
        for (uint32_t i = 0; i < s->ntopics; i++) {
            t = &s->topics[i];
            if (t->len == name.len && memcmp(t->name, name.ptr, name.len) == 0) {
                s->last_topic = i;
                return t->rkt;
            }
        }
    }
    char *n = pt_strndup(name.ptr, name.len);
    if (n == NULL) {
        return NULL;
    }
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(s->rk, n, NULL);
    if (rkt == NULL) {
        pt_free(n);
        return NULL;
    }
    if (s->ntopics == TOPIC_CACHE_MAX) {
        /* Too many dynamic topics to keep handles for: the message holds its own reference. */
        pt_free(n);
        *owned = 1;
        return rkt;
    }
    s->topics[s->ntopics].name = n;
    s->topics[s->ntopics].len = name.len;
    s->topics[s->ntopics].rkt = rkt;
    s->last_topic = s->ntopics++;
    return rkt;
}

/* Hands one message to librdkafka without copying: the payload outlives every message of its
 * batch (the batch completes only after the last delivery report). */
static int produce(kafka_t *s, const pt_kafka_frame_t *f, msg_t *m)
{
    if (!pt_kafka_topic_valid(f->topic.ptr, f->topic.len)) {
        return RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION;
    }
    int owned;
    rd_kafka_topic_t *rkt = topic_get(s, f->topic, &owned);
    if (rkt == NULL) {
        return RD_KAFKA_RESP_ERR__FAIL;
    }
    rd_kafka_headers_t *h = NULL;
    if (s->headers != NULL) {
        h = rd_kafka_headers_copy(s->headers);
    }
    rd_kafka_vu_t vu[6];
    size_t n = 0;
    vu[n].vtype = RD_KAFKA_VTYPE_RKT;
    vu[n++].u.rkt = rkt;
    vu[n].vtype = RD_KAFKA_VTYPE_VALUE;
    vu[n].u.mem.ptr = (void *)f->value.ptr;
    vu[n++].u.mem.size = f->value.len;
    if (f->key.ptr != NULL) {
        vu[n].vtype = RD_KAFKA_VTYPE_KEY;
        vu[n].u.mem.ptr = (void *)f->key.ptr;
        vu[n++].u.mem.size = f->key.len;
    }
    if (h != NULL) {
        vu[n].vtype = RD_KAFKA_VTYPE_HEADERS;
        vu[n++].u.headers = h;
    }
    vu[n].vtype = RD_KAFKA_VTYPE_OPAQUE;
    vu[n++].u.ptr = m;
    vu[n].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    vu[n++].u.i = 0;
    rd_kafka_error_t *e = rd_kafka_produceva(s->rk, vu, n);
    int err = 0;
    if (e != NULL) {
        err = rd_kafka_error_code(e);
        rd_kafka_error_destroy(e);
        if (h != NULL) {
            rd_kafka_headers_destroy(h); /* ours again when the produce failed */
        }
    }
    if (owned) {
        rd_kafka_topic_destroy(rkt);
    }
    return err;
}

/* ====================================================================== the loop ========= */

static void service(kafka_t *s)
{
    if (s->rk != NULL) {
        rd_kafka_poll(s->rk, 0);
        if (s->fatal == 1) {
            /* A fatal producer sends nothing more: report its messages now (as retries)
             * instead of at MessageTimeoutMs, so a new producer can take over. */
            s->fatal = 2;
            rd_kafka_purge(s->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
            rd_kafka_poll(s->rk, 0);
        }
    }
    drain_done(s);
}

static void on_kick(uv_timer_t *t)
{
    drain_done(t->data);
}

static void on_wakeup(uv_poll_t *h, int status, int events)
{
    kafka_t *s = h->data;
    char buf[64];
    while (read(s->fds[0], buf, sizeof(buf)) > 0) {
    }
    service(s);
}

static void on_tick(uv_timer_t *t)
{
    kafka_t *s = t->data;
    service(s);
    if (s->rk != NULL) {
        pt_gauge_set(s->m_outq, rd_kafka_outq_len(s->rk));
    }
}

/* ========================================================================= send ========== */

int pt_kafka_send(pt_plugin_inst_t *inst, pt_payload_t *p)
{
    kafka_t *s = inst->state;
    if (s->fatal && s->reqs == NULL && s->done_head == NULL) {
        producer_reset(s);
    }
    if (s->rk == NULL && !s->stopping && !s->fatal) {
        producer_open(s);
    }
    if (s->rk == NULL || s->fatal) {
        snprintf(p->reason, sizeof(p->reason), "the Kafka producer is %s",
                 s->fatal ? "restarting after a fatal error" : "not available");
        return PT_RETRY;
    }
    const char *data = p->data.data;
    size_t len = p->data.len;
    /* First pass: validate and count, so a bad payload is refused before anything is sent. */
    pt_kafka_frame_t f;
    pt_kafka_frame_t prev;
    const pt_kafka_frame_t *pp = NULL;
    size_t pos = PT_KAFKA_MAGIC_LEN;
    uint32_t n = 0;
    int r = pt_kafka_payload_check(data, len);
    while (r == 0 && (r = pt_kafka_frame_next(data, len, &pos, pp, &f)) == 1) {
        n++;
        prev = f;
        pp = &prev;
        r = 0;
    }
    if (r < 0) {
        snprintf(p->reason, sizeof(p->reason),
                 "not a Kafka batch of this version (corrupt record or another flusher's)");
        return -EBADMSG;
    }
    req_t *q = pt_calloc(1, sizeof(*q) + sizeof(msg_t) * (n ? n : 1));
    if (q == NULL) {
        snprintf(p->reason, sizeof(p->reason), "out of memory");
        return PT_RETRY;
    }
    q->p = p;
    q->nmsgs = n;
    q->next = s->reqs;
    if (s->reqs != NULL) {
        s->reqs->prev = q;
    }
    s->reqs = q;

    int stop_err = 0;
    pp = NULL;
    pos = PT_KAFKA_MAGIC_LEN;
    for (uint32_t i = 0; i < n; i++) {
        pt_kafka_frame_next(data, len, &pos, pp, &f);
        prev = f;
        pp = &prev;
        msg_t *m = &q->msgs[i];
        m->req = q;
        m->off = f.off;
        if (f.flags & PT_KAFKA_F_DELIVERED) {
            m->state = MSG_SKIP;
            continue;
        }
        m->state = MSG_FAILED;
        if (stop_err != 0) {
            m->err = PT_KAFKA_ERR_NOT_SENT;
            continue;
        }
        if (f.flags & PT_KAFKA_F_UNROUTABLE) {
            m->err = PT_KAFKA_ERR_UNROUTABLE;
            if (q->unroutable[0] == '\0') {
                snprintf(q->unroutable, sizeof(q->unroutable), "%.*s",
                         (int)(f.topic.len < 99 ? f.topic.len : 99), f.topic.ptr);
            }
            continue;
        }
        int err = produce(s, &f, m);
        if (err == 0) {
            m->state = MSG_INFLIGHT;
            q->pending++;
            pt_counter_inc(s->m_produced);
        } else if (pt_kafka_err_permanent(err)) {
            m->err = err;
        } else {
            /* Queue full (or the producer failed): stop here; the batch is retried. */
            m->err = PT_KAFKA_ERR_NOT_SENT;
            stop_err = err;
        }
    }
    if (stop_err != 0) {
        if (stop_err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            pt_counter_inc(s->m_queue_full);
            p->throttled = 1;
            snprintf(p->reason, sizeof(p->reason),
                     "librdkafka's queue is full (QueueBufferingMaxMessages/Kbytes)");
        } else {
            snprintf(p->reason, sizeof(p->reason), "produce: %s",
                     rd_kafka_err2str((rd_kafka_resp_err_t)stop_err));
        }
        if (q->pending == 0) {
            req_unlink(s, q);
            pt_free(q);
            return PT_RETRY;
        }
        /* Part of the batch is with librdkafka already and points into the payload: its
         * delivery reports complete the batch (as a retry, for the messages not sent). */
    }
    if (q->pending == 0) {
        /* Nothing went out (all refused at once, or all delivered before): complete on the
         * next loop turn, never from inside send(). */
        push_done(s, q);
        uv_timer_start(&s->kick, on_kick, 0, 0);
    }
    return PT_DONE;
}

/* ====================================================================== serialize ======== */

int pt_kafka_serialize_batch(pt_plugin_inst_t *inst, const pt_batch_t *b, pt_payload_t *p)
{
    const kafka_t *s = inst->state;
    uint32_t n = 0;
    int rc = pt_kafka_serialize(&s->fmt, b, &p->data, &n);
    if (rc == 0) {
        p->nevents = n;
    }
    return rc;
}

/* ======================================================================== create ========= */

static int header_add(rd_kafka_headers_t *h, const char *k, const pt_node_t *v, int line,
                      pt_cfg_diag_t *d)
{
    if (v == NULL || v->type != PT_NODE_SCALAR || v->is_null) {
        pt_cfg_error(d, v != NULL ? v->line : line, "Headers",
                     "the value of header '%s' must be a string, got %s", k ? k : "",
                     pt_node_kind(v));
        return -EINVAL;
    }
    if (k == NULL || *k == '\0') {
        pt_cfg_error(d, v->line, "Headers", "a header needs a non-empty key");
        return -EINVAL;
    }
    rd_kafka_header_add(h, k, -1, v->scalar, (ssize_t)v->len);
    return 0;
}

/* Headers: LoongCollector's list of {key, value}, or a plain map. */
static int parse_headers(kafka_t *s, const pt_node_t *n, int line, pt_cfg_diag_t *d)
{
    if (n == NULL || (n->type == PT_NODE_SCALAR && n->is_null)) {
        return 0;
    }
    if (n->type != PT_NODE_MAP && n->type != PT_NODE_SEQ) {
        pt_cfg_error(d, n->line, "Headers", "expected a list of {key, value} or a map, got %s",
                     pt_node_kind(n));
        return -EINVAL;
    }
    rd_kafka_headers_t *h = rd_kafka_headers_new(n->n ? n->n : 1);
    int rc = 0;
    for (size_t i = 0; i < n->n; i++) {
        if (n->type == PT_NODE_MAP) {
            rc |= header_add(h, n->keys[i], n->items[i], n->key_lines[i], d);
            continue;
        }
        const pt_node_t *it = n->items[i];
        if (it->type != PT_NODE_MAP) {
            pt_cfg_error(d, it->line, "Headers", "each item is {key: ..., value: ...}, got %s",
                         pt_node_kind(it));
            rc = -EINVAL;
            continue;
        }
        const pt_node_t *k = pt_node_get(it, "key");
        const pt_node_t *v = pt_node_get(it, "value");
        k = k != NULL ? k : pt_node_get(it, "Key");
        v = v != NULL ? v : pt_node_get(it, "Value");
        if (k == NULL || k->type != PT_NODE_SCALAR) {
            pt_cfg_error(d, it->line, "Headers", "each item is {key: ..., value: ...}");
            rc = -EINVAL;
            continue;
        }
        rc |= header_add(h, k->scalar, v, it->line, d);
    }
    if (rc != 0 || n->n == 0) {
        rd_kafka_headers_destroy(h);
        return rc != 0 ? -EINVAL : 0;
    }
    s->headers = h;
    return 0;
}

static int setup_format(kafka_t *s, const pt_kafka_conf_t *c, int line, pt_cfg_diag_t *d)
{
    pt_kafka_fmt_t *f = &s->fmt;
    int rc = 0;
    f->proto = strcmp(c->protocol, "custom_single_flatten") == 0
                   ? PT_KAFKA_PROTO_CUSTOM_SINGLE_FLATTEN
               : strcmp(c->protocol, "jsonline") == 0 ? PT_KAFKA_PROTO_JSONLINE
               : strcmp(c->protocol, "raw") == 0      ? PT_KAFKA_PROTO_RAW
                                                      : PT_KAFKA_PROTO_CUSTOM_SINGLE;
    f->partitioner = strcmp(c->partitioner, "hash") == 0         ? PT_KAFKA_PART_HASH
                     : strcmp(c->partitioner, "roundrobin") == 0 ? PT_KAFKA_PART_ROUNDROBIN
                                                                 : PT_KAFKA_PART_RANDOM;
    f->hash_once = c->hash_once;
    char err[300];
    int trc = pt_kafka_tmpl_compile(&f->topic, c->topic, err, sizeof(err));
    if (trc != 0) {
        pt_cfg_error(d, line, "Topic", "%s", err);
        rc = -EINVAL;
    }
    if (c->default_topic != NULL) {
        if (!pt_kafka_topic_valid(c->default_topic, strlen(c->default_topic))) {
            pt_cfg_error(d, line, "DefaultTopic", "'%s' is not a valid Kafka topic name",
                         c->default_topic);
            rc = -EINVAL;
        }
        f->default_topic = c->default_topic;
    }
    if (c->hash_keys.n > 0) {
        f->hash_keys = pt_calloc(c->hash_keys.n, sizeof(*f->hash_keys));
        if (f->hash_keys == NULL) {
            return -ENOMEM;
        }
        for (size_t i = 0; i < c->hash_keys.n; i++) {
            int prc = pt_kafka_ref_parse(c->hash_keys.v[i], &f->hash_keys[f->nhash_keys]);
            if (prc == 0) {
                f->nhash_keys++;
            } else {
                pt_cfg_error(d, line, "HashKeys", "'%s': expected content.<field> or tag.<key>",
                             c->hash_keys.v[i]);
                rc = -EINVAL;
            }
        }
    }
    if (f->partitioner == PT_KAFKA_PART_HASH && c->hash_keys.n == 0) {
        pt_cfg_error(d, line, "HashKeys", "needed when PartitionerType is hash");
        rc = -EINVAL;
    } else if (f->partitioner != PT_KAFKA_PART_HASH && (c->hash_keys.n > 0 || c->hash_once)) {
        pt_cfg_warn(d, line, c->hash_keys.n > 0 ? "HashKeys" : "HashOnce",
                    "used only with PartitionerType hash (it is %s)", c->partitioner);
    }
    f->tag_rename = &c->tag_rename;
    f->k_contents = "contents";
    f->k_tags = "tags";
    f->k_time = "time";
    for (size_t i = 0; i < c->proto_rename.n; i++) {
        const char *k = c->proto_rename.keys[i];
        const char *v = c->proto_rename.vals[i];
        const char **slot = strcmp(k, "contents") == 0 ? &f->k_contents
                            : strcmp(k, "tags") == 0   ? &f->k_tags
                            : strcmp(k, "time") == 0   ? &f->k_time
                                                       : NULL;
        if (slot == NULL || *v == '\0') {
            pt_cfg_error(d, line, "Convert.ProtocolFieldsRename",
                         "'%s': only contents, tags and time can be renamed, to a non-empty name",
                         k);
            rc = -EINVAL;
            continue;
        }
        *slot = v;
    }
    if ((c->tag_rename.n > 0 || c->proto_rename.n > 0) &&
        (f->proto == PT_KAFKA_PROTO_JSONLINE || f->proto == PT_KAFKA_PROTO_RAW)) {
        pt_cfg_warn(d, line, "Convert", "renames apply only to the custom_single protocols");
    }
    return rc;
}

static void state_free(kafka_t *s)
{
    pt_kafka_tmpl_free(&s->fmt.topic);
    for (uint32_t i = 0; i < s->fmt.nhash_keys; i++) {
        pt_free(s->fmt.hash_keys[i].text);
    }
    pt_free(s->fmt.hash_keys);
    if (s->headers != NULL) {
        rd_kafka_headers_destroy(s->headers);
    }
    if (s->rkconf != NULL) {
        rd_kafka_conf_destroy(s->rkconf);
    }
    pt_free(s);
}

static void state_unref(kafka_t *s)
{
    if (atomic_fetch_sub(&s->refs, 1) == 1) {
        state_free(s);
    }
}

/* Some settings are only checked together, when librdkafka creates a client (acks=1 with
 * idempotence, an unreadable certificate, a mechanism this build lacks). A client without
 * brokers connects nowhere, so create one and throw it away: `petrel check` then reports these
 * too, instead of the pipeline failing at start. Not with Kerberos, whose start runs kinit. */
static int trial_producer(kafka_t *s, int line, pt_cfg_diag_t *d)
{
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_dup(s->rkconf);
    if (conf == NULL) {
        return -ENOMEM;
    }
    rd_kafka_conf_set(conf, "bootstrap.servers", "", errstr, sizeof(errstr));
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    if (rk == NULL) {
        rd_kafka_conf_destroy(conf);
        pt_cfg_error(d, line, NULL, "librdkafka refuses this configuration: %s", errstr);
        return -EINVAL;
    }
    rd_kafka_destroy(rk);
    return 0;
}

int pt_kafka_create(pt_plugin_inst_t *inst, const pt_plugin_env_t *env, pt_cfg_diag_t *d)
{
    const pt_kafka_conf_t *c = inst->config;
    kafka_t *s = pt_calloc(1, sizeof(*s));
    if (s == NULL) {
        return -ENOMEM;
    }
    atomic_init(&s->refs, 1);
    atomic_init(&s->rr, 0);
    s->c = c;
    s->id = inst->id;
    s->done = pt_payload_done;
    s->fds[0] = s->fds[1] = -1;
    int rc = setup_format(s, c, inst->line, d);
    rc |= parse_headers(s, c->headers, inst->line, d);
    int crc = pt_kafka_conf_build(c, inst->line, d, &s->rkconf);
    if (rc == -ENOMEM || crc == -ENOMEM) {
        state_free(s);
        return -ENOMEM;
    }
    if (rc != 0 || crc != 0) {
        state_free(s);
        return -EINVAL;
    }
    rd_kafka_conf_set_opaque(s->rkconf, s);
    rd_kafka_conf_set_dr_msg_cb(s->rkconf, on_delivery);
    rd_kafka_conf_set_error_cb(s->rkconf, on_error);
    rd_kafka_conf_set_log_cb(s->rkconf, on_log);
    if (s->fmt.partitioner == PT_KAFKA_PART_ROUNDROBIN) {
        rd_kafka_topic_conf_t *tc = rd_kafka_conf_get_default_topic_conf(s->rkconf);
        if (tc == NULL) {
            tc = rd_kafka_topic_conf_new();
            rd_kafka_conf_set_default_topic_conf(s->rkconf, tc);
        }
        rd_kafka_topic_conf_set_partitioner_cb(tc, on_partition_rr);
        rd_kafka_topic_conf_set_opaque(tc, s);
    }
    if (!c->krb_enabled && trial_producer(s, inst->line, d) != 0) {
        state_free(s);
        return -EINVAL;
    }
    inst->state = s;
    return 0;
}

/* ===================================================================== lifecycle ========= */

static void on_handle_closed(uv_handle_t *h)
{
    kafka_t *s = h->data;
    if (h == (uv_handle_t *)&s->poll) {
        close(s->fds[0]);
        close(s->fds[1]);
        s->fds[0] = s->fds[1] = -1;
    }
    state_unref(s);
}

static void metrics_open(pt_plugin_inst_t *inst, kafka_t *s)
{
    if (inst->pipeline == NULL) {
        s->m_produced = &s->local_c[0];
        s->m_delivered = &s->local_c[1];
        s->m_failed = &s->local_c[2];
        s->m_queue_full = &s->local_c[3];
        s->m_outq = &s->local_g;
        return;
    }
    s->registered = 1;
    s->m_produced = pt_plugin_counter(inst, "petrel_kafka_messages_produced_total",
                                      "Messages handed to librdkafka");
    s->m_delivered = pt_plugin_counter(inst, "petrel_kafka_messages_delivered_total",
                                       "Messages acknowledged by Kafka");
    s->m_failed = pt_plugin_counter(inst, "petrel_kafka_delivery_failures_total",
                                    "Messages whose delivery report was an error");
    s->m_queue_full = pt_plugin_counter(inst, "petrel_kafka_queue_full_total",
                                        "Batches held back because librdkafka's queue was full");
    s->m_outq = pt_plugin_gauge(inst, "petrel_kafka_outq_messages",
                                "Messages in librdkafka's queues, not yet acknowledged");
}

static void metrics_close(kafka_t *s)
{
    if (s->registered) {
        pt_plugin_counter_free(s->m_produced);
        pt_plugin_counter_free(s->m_delivered);
        pt_plugin_counter_free(s->m_failed);
        pt_plugin_counter_free(s->m_queue_full);
        pt_plugin_gauge_free(s->m_outq);
        s->registered = 0;
    }
}

int pt_kafka_start(pt_plugin_inst_t *inst, uv_loop_t *loop)
{
    kafka_t *s = inst->state;
    if (pipe2(s->fds, O_NONBLOCK | O_CLOEXEC) != 0) {
        s->fds[0] = s->fds[1] = -1;
        return -errno;
    }
    /* The producer first: if librdkafka refuses the configuration, nothing is left open. */
    int rc = producer_open(s);
    if (rc != 0) {
        close(s->fds[0]);
        close(s->fds[1]);
        s->fds[0] = s->fds[1] = -1;
        return rc;
    }
    metrics_open(inst, s);
    s->loop = loop;
    uv_poll_init(loop, &s->poll, s->fds[0]);
    uv_timer_init(loop, &s->tick);
    uv_timer_init(loop, &s->kick);
    s->poll.data = s->tick.data = s->kick.data = s;
    atomic_fetch_add(&s->refs, 3);
    uv_poll_start(&s->poll, UV_READABLE, on_wakeup);
    uv_timer_start(&s->tick, on_tick, 100, 100);
    PT_LOG(PT_LOG_INFO, s->id, "producing to %s%s (topic %s)", s->c->brokers.v[0],
           s->c->brokers.n > 1 ? " and the other brokers" : "", s->c->topic);
    return 0;
}

void pt_kafka_stop(pt_plugin_inst_t *inst)
{
    kafka_t *s = inst->state;
    if (s == NULL || s->loop == NULL) {
        return;
    }
    s->stopping = 1;
    drain_done(s);
    if (s->rk != NULL && s->reqs != NULL) {
        /* Give what is in flight a bounded chance to be acknowledged (fewer duplicates: the
         * delivery layer has spooled it already), then give up on the rest. */
        rd_kafka_flush(s->rk, (int)s->c->flush_timeout_ms);
        drain_done(s);
        if (s->reqs != NULL) {
            rd_kafka_purge(s->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
            rd_kafka_poll(s->rk, 0);
            drain_done(s);
        }
    }
    /* With the producer gone nothing points into the payloads any more; what is left is
     * completed as a retry (finish() counts its unreported messages as failed). */
    producer_close(s);
    while (s->reqs != NULL) {
        finish(s, s->reqs);
    }
    drain_done(s);
    metrics_close(s);
    s->loop = NULL;
    uv_close((uv_handle_t *)&s->poll, on_handle_closed);
    uv_close((uv_handle_t *)&s->tick, on_handle_closed);
    uv_close((uv_handle_t *)&s->kick, on_handle_closed);
}

void pt_kafka_destroy(pt_plugin_inst_t *inst)
{
    kafka_t *s = inst->state;
    if (s == NULL) {
        return;
    }
    inst->state = NULL;
    metrics_close(s);
    /* The uv handles, if any, hold their own references and free the state when closed. */
    state_unref(s);
}

/* ================================================================== test hooks =========== */

void pt_kafka_set_done_cb(pt_plugin_inst_t *inst, pt_kafka_done_cb cb)
{
    ((kafka_t *)inst->state)->done = cb;
}

rd_kafka_t *pt_kafka_handle(pt_plugin_inst_t *inst)
{
    return ((kafka_t *)inst->state)->rk;
}

/* ===================================================================== descriptors ======= */

/* LoongCollector's deprecated Go flusher: the same implementation, SASLUsername/SASLPassword
 * among the keys. flusher_kafka_v2 and flusher_kafka_native have their own folders. */
PT_KAFKA_DESCRIPTOR(flusher_kafka, "custom_single",
                    "flusher_kafka_v2 under LoongCollector's older name (SASLUsername/SASLPassword "
                    "accepted)");
