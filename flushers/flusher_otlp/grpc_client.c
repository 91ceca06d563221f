/* The native OTLP/gRPC client of flusher_otlp: calls, their HTTP/2 streams (nghttp2 callbacks),
 * deadlines and the client on the sender loop; connections and their I/O are in grpc_conn.c. One
 * persistent connection per destination authority carries many unary Export calls at once, up to
 * the flusher's Concurrency and the server's SETTINGS_MAX_CONCURRENT_STREAMS; request messages
 * flow through an nghttp2 data provider, so the server's flow-control windows pace the large ones.
 * Each call has a deadline (grpc-timeout, and a local timer that resets its stream); a broken
 * connection fails its calls as retryable and the next call, after the delivery layer's backoff,
 * connects again; on GOAWAY the streams the server took finish and the others move to a new
 * connection at once. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/common.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/proto/otlp.h"
#include "core/proto/otlp_pb.h"
#include "grpc_client_internal.h"

/* A connection without calls for this long is closed (with GOAWAY): below the 5 minutes after
 * which servers commonly drop idle clients, so we close first and never race their GOAWAY. */
#define IDLE_CLOSE_MS 120000u
/* After a deadline on a connection that has been silent since the call went out, a PING must be
 * answered within this long, or the connection is taken for dead (peer gone without a FIN). No
 * periodic PINGs: servers such as grpc-go punish frequent ones with GOAWAY too_many_pings. */
#define PING_TIMEOUT_MS 5000u
/* A connection we close (GOAWAY, close_notify) is dropped anyway if that is not written by then. */
#define CLOSE_MAX_MS 5000u
/* Calls the server refused unprocessed (REFUSED_STREAM, above a GOAWAY's last stream) are sent
 * again at once, this many times, before they fail like any retryable error. */
#define MAX_REFUSALS 2

/* ================================================================================= calls ===== */

void otlp_grpc_call_free(otlp_grpc_call_t *c)
{
    pt_buf_free(&c->body);
    pt_free(c);
}

static void call_link(otlp_grpc_conn_t *c, otlp_grpc_call_t *call)
{
    call->conn = c;
    call->prev = c->calls_tail;
    call->next = NULL;
    if (c->calls_tail != NULL) {
        c->calls_tail->next = call;
    } else {
        c->calls = call;
    }
    c->calls_tail = call;
}

void otlp_grpc_call_unlink(otlp_grpc_call_t *call)
{
    otlp_grpc_conn_t *c = call->conn;
    if (c == NULL) {
        return;
    }
    if (call->prev != NULL) {
        call->prev->next = call->next;
    } else {
        c->calls = call->next;
    }
    if (call->next != NULL) {
        call->next->prev = call->prev;
    } else {
        c->calls_tail = call->prev;
    }
    call->prev = call->next = NULL;
    call->conn = NULL;
}

static void push(otlp_grpc_call_t **head, otlp_grpc_call_t **tail, otlp_grpc_call_t *call)
{
    call->qnext = NULL;
    if (*tail != NULL) {
        (*tail)->qnext = call;
    } else {
        *head = call;
    }
    *tail = call;
}

static otlp_grpc_call_t *pop(otlp_grpc_call_t **head, otlp_grpc_call_t **tail)
{
    otlp_grpc_call_t *call = *head;
    if (call != NULL) {
        *head = call->qnext;
        if (*head == NULL) {
            *tail = NULL;
        }
        call->qnext = NULL;
    }
    return call;
}

/* The call's outcome is known: its callback runs from otlp_grpc_process. A call whose stream
 * nghttp2 still holds stays on its connection's list (so it can be freed with the connection). */
static void call_queue_done(otlp_grpc_call_t *call)
{
    otlp_grpc_t *cl = call->cl;
    if (!call->in_h2) {
        otlp_grpc_call_unlink(call);
    }
    call->queued = 1;
    push(&cl->done, &cl->done_tail, call);
}

void otlp_grpc_call_fail(otlp_grpc_call_t *call, const char *why)
{
    snprintf(call->errbuf, sizeof(call->errbuf), "%s", why);
    call->error = call->errbuf;
    call_queue_done(call);
}

/* Back to the start: it goes out again on a connection that takes new streams. */
static void call_requeue(otlp_grpc_call_t *call)
{
    otlp_grpc_t *cl = call->cl;
    otlp_grpc_call_unlink(call);
    call->stream_id = 0;
    call->off = 0;
    call->http_status = 0;
    call->retry_after_s = 0;
    call->grpc_status = -1;
    call->ct_grpc = 0;
    call->ctype[0] = call->grpc_message[0] = call->details[0] = call->encoding[0] = '\0';
    call->details_long = call->body_long = 0;
    call->body.len = 0;
    push(&cl->requeue, &cl->requeue_tail, call);
}

static void call_result(otlp_grpc_call_t *c, otlp_grpc_result_t *r, pt_buf_t *scratch)
{
    memset(r, 0, sizeof(*r));
    r->grpc_status = -1;
    r->grpc_message = "";
    r->details = "";
    if (c->error != NULL) {
        r->error = c->error;
        return;
    }
    r->http_status = c->http_status;
    r->retry_after_s = c->retry_after_s;
    if (c->http_status == 200 && !c->ct_grpc) {
        /* gRPC over HTTP/2: an answer that is not application/grpc is not a gRPC status. */
        snprintf(c->grpc_message, sizeof(c->grpc_message),
                 "the answer is not gRPC (content-type '%s')", c->ctype);
        r->grpc_status = PT_GRPC_UNKNOWN;
        r->grpc_message = c->grpc_message;
        return;
    }
    r->grpc_status = c->grpc_status;
    r->grpc_message = c->grpc_message;
    r->details = c->details_long ? "" : c->details;
    if (r->grpc_status == PT_GRPC_OK && c->body.len > 0 && !c->body_long) {
        if (otlp_grpc_unframe((const uint8_t *)c->body.data, c->body.len, c->encoding, scratch,
                              &r->msg, &r->msg_len) != 0) {
            r->msg = NULL;
            r->msg_len = 0;
        }
    }
}

static void call_deliver(otlp_grpc_call_t *call)
{
    otlp_grpc_result_t r;
    pt_buf_t scratch;
    pt_buf_init(&scratch);
    call->queued = 0;
    call_result(call, &r, &scratch);
    call->reported = 1;
    call->cb(call->ud, &r);
    pt_buf_free(&scratch);
    call->msg = NULL;
    if (!call->in_h2) {
        otlp_grpc_call_unlink(call);
        otlp_grpc_call_free(call);
    }
}

/* ============================================================================ nghttp2 ===== */

void otlp_grpc_streams_add(otlp_grpc_t *cl, int64_t n)
{
    cl->nstreams += n;
    pt_gauge_set(cl->m_streams, cl->nstreams);
}

static ssize_t on_read_data(nghttp2_session *h2, int32_t id, uint8_t *buf, size_t len,
                            uint32_t *flags, nghttp2_data_source *src, void *ud)
{
    otlp_grpc_call_t *c = src->ptr;
    PT_UNUSED(h2);
    PT_UNUSED(id);
    PT_UNUSED(ud);
    if (c->msg == NULL) {
        /* Reported (deadline) before its bytes were all out: the caller's memory is gone. */
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
    }
    size_t n = PT_MIN(len, c->len - c->off);
    memcpy(buf, c->msg + c->off, n);
    c->off += n;
    if (c->off == c->len) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    }
    return (ssize_t)n;
}

static int name_is(const uint8_t *n, size_t len, const char *want)
{
    return len == strlen(want) && memcmp(n, want, len) == 0;
}

static long parse_num(const uint8_t *v, size_t len)
{
    long n = 0;
    if (len == 0 || len > 9) {
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9') {
            return -1;
        }
        n = n * 10 + (v[i] - '0');
    }
    return n;
}

static int on_header(nghttp2_session *h2, const nghttp2_frame *f, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags, void *ud)
{
    otlp_grpc_call_t *c = nghttp2_session_get_stream_user_data(h2, f->hd.stream_id);
    PT_UNUSED(flags);
    PT_UNUSED(ud);
    if (c == NULL || c->reported || f->hd.type != NGHTTP2_HEADERS) {
        return 0;
    }
    if (name_is(name, namelen, ":status")) {
        c->http_status = parse_num(value, valuelen);
    } else if (name_is(name, namelen, "content-type")) {
        snprintf(c->ctype, sizeof(c->ctype), "%.*s", (int)PT_MIN(valuelen, 40u), value);
        c->ct_grpc = valuelen >= 16 &&
                     strncasecmp((const char *)value, "application/grpc", 16) == 0 &&
                     (valuelen == 16 || value[16] == '+' || value[16] == ';');
    } else if (name_is(name, namelen, "grpc-status")) {
        long st = parse_num(value, valuelen);
        c->grpc_status = st < 0 || st > 1000 ? PT_GRPC_UNKNOWN : (int)st;
    } else if (name_is(name, namelen, "grpc-message")) {
        otlp_grpc_percent_decode((const char *)value, valuelen, c->grpc_message,
                                 sizeof(c->grpc_message));
    } else if (name_is(name, namelen, "grpc-status-details-bin")) {
        c->details_long = valuelen >= sizeof(c->details);
        if (!c->details_long) {
            memcpy(c->details, value, valuelen);
            c->details[valuelen] = '\0';
        }
    } else if (name_is(name, namelen, "grpc-encoding")) {
        snprintf(c->encoding, sizeof(c->encoding), "%.*s", (int)PT_MIN(valuelen, 15u), value);
    } else if (name_is(name, namelen, "retry-after")) {
        long s = parse_num(value, valuelen);
        c->retry_after_s = s > 0 ? s : 0;
    }
    return 0;
}

static int on_data_chunk(nghttp2_session *h2, uint8_t flags, int32_t id, const uint8_t *data,
                         size_t len, void *ud)
{
    otlp_grpc_call_t *c = nghttp2_session_get_stream_user_data(h2, id);
    PT_UNUSED(flags);
    PT_UNUSED(ud);
    if (c == NULL || c->reported || c->body_long) {
        return 0;
    }
    if (c->body.len + len > OTLP_GRPC_RESP_CAP || pt_buf_append(&c->body, data, len) != 0) {
        c->body_long = 1;
    }
    return 0;
}

static int on_frame_recv(nghttp2_session *h2, const nghttp2_frame *f, void *ud)
{
    otlp_grpc_conn_t *c = ud;
    otlp_grpc_t *cl = c->cl;
    if (f->hd.type == NGHTTP2_SETTINGS && !(f->hd.flags & NGHTTP2_FLAG_ACK)) {
        uint32_t m =
            nghttp2_session_get_remote_settings(h2, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
        c->max_streams = PT_MIN(m, cl->max_streams);
        if (c->state == OTLP_CONN_HANDSHAKE) {
            c->state = OTLP_CONN_READY;
            PT_LOG(PT_LOG_DEBUG, cl->id, "gRPC connection to %s ready (%u concurrent streams)",
                   c->authority, c->max_streams);
        }
    } else if (f->hd.type == NGHTTP2_GOAWAY) {
        /* nghttp2 closes the streams above last_stream_id with REFUSED_STREAM (on_stream_close
         * sends them again elsewhere); the ones below it may still finish here. */
        c->draining = 1;
        pt_counter_inc(cl->m_goaways);
        PT_LOG(PT_LOG_DEBUG, cl->id, "GOAWAY from %s (last stream %d, %s)", c->authority,
               f->goaway.last_stream_id, nghttp2_http2_strerror(f->goaway.error_code));
    }
    return 0;
}

static int on_stream_close(nghttp2_session *h2, int32_t id, uint32_t code, void *ud)
{
    otlp_grpc_call_t *call = nghttp2_session_get_stream_user_data(h2, id);
    otlp_grpc_conn_t *c = ud;
    char why[120];

    if (call == NULL) {
        return 0;
    }
    nghttp2_session_set_stream_user_data(h2, id, NULL);
    call->in_h2 = 0;
    c->nactive--;
    otlp_grpc_streams_add(c->cl, -1);
    if (call->reported) {
        otlp_grpc_call_unlink(call);
        otlp_grpc_call_free(call);
        return 0;
    }
    if (call->queued) {
        otlp_grpc_call_unlink(call); /* call_deliver frees it */
        return 0;
    }
    if (code == NGHTTP2_REFUSED_STREAM && call->refusals < MAX_REFUSALS) {
        /* Not processed by the server (HTTP/2 section 8.1.4): safe to send again at once. */
        call->refusals++;
        pt_counter_inc(c->cl->m_refused);
        call_requeue(call);
        return 0;
    }
    if (code != NGHTTP2_NO_ERROR) {
        snprintf(why, sizeof(why), "stream reset by %s (%s)", c->authority,
                 nghttp2_http2_strerror(code));
        otlp_grpc_call_fail(call, why);
    } else if (call->http_status <= 0) {
        snprintf(why, sizeof(why), "stream closed by %s without an answer", c->authority);
        otlp_grpc_call_fail(call, why);
    } else {
        call_queue_done(call);
    }
    return 0;
}

/* Starts the stream of a waiting call. */
static void conn_submit(otlp_grpc_conn_t *c, otlp_grpc_call_t *call)
{
    const otlp_grpc_target_t *t = call->t;
    uint64_t now = pt_now_mono_ns();
    uint64_t left_ms = call->deadline_ns > now ? (call->deadline_ns - now + 999999) / 1000000 : 1;
    char tmo[24];
    size_t n = 0;
    nghttp2_nv *nv = pt_malloc((12 + t->nheaders) * sizeof(*nv));
    nghttp2_data_provider prd;
    char why[96];

    if (nv == NULL) {
        otlp_grpc_call_fail(call, "out of memory");
        return;
    }
#define NV(k, v) (nv[n++] = (nghttp2_nv){(uint8_t *)(k), (uint8_t *)(v), strlen(k), strlen(v), 0})
    /* grpc-timeout holds at most 8 digits (gRPC over HTTP/2). */
    snprintf(tmo, sizeof(tmo), "%llum", (unsigned long long)PT_MIN(left_ms, 99999999ull));
    NV(":method", "POST");
    NV(":scheme", t->tls ? "https" : "http");
    NV(":path", t->path);
    NV(":authority", t->authority);
    NV("content-type", "application/grpc");
    NV("te", "trailers");
    NV("user-agent", "petrel-otlp/" PETREL_VERSION);
    NV("grpc-accept-encoding", "identity,gzip");
    NV("grpc-timeout", tmo);
    /* The message's own flag says whether it is compressed: a spool record written under an
     * earlier Compression setting is announced as what it is. */
    if (call->len > 0 && call->msg[0] == 1) {
        NV("grpc-encoding", "gzip");
    }
    for (size_t i = 0; i < t->nheaders; i++) {
        NV(t->hnames[i], t->hvalues[i]);
    }
#undef NV
    prd.source.ptr = call;
    prd.read_callback = on_read_data;
    int32_t id = nghttp2_submit_request(c->h2, NULL, nv, n, &prd, call);
    pt_free(nv);
    if (id == NGHTTP2_ERR_STREAM_ID_NOT_AVAILABLE) {
        c->draining = 1; /* stream ids used up: a new connection takes over */
        call_requeue(call);
        return;
    }
    if (id < 0) {
        snprintf(why, sizeof(why), "cannot start the stream: %s", nghttp2_strerror(id));
        otlp_grpc_call_fail(call, why);
        return;
    }
    call->stream_id = id;
    call->in_h2 = 1;
    call->off = 0;
    call->sent_ns = now;
    c->nactive++;
    otlp_grpc_streams_add(c->cl, 1);
}

/* Starts waiting calls while the server takes streams; a draining connection hands its waiting
 * calls over to a new one. */
static void conn_pump(otlp_grpc_conn_t *c)
{
    if (c->state != OTLP_CONN_READY) {
        return;
    }
    otlp_grpc_call_t *call = c->calls;
    while (call != NULL) {
        otlp_grpc_call_t *next = call->next;
        if (call->stream_id == 0 && !call->queued && !call->reported) {
            if (c->draining) {
                call_requeue(call);
            } else if (c->nactive < c->max_streams) {
                conn_submit(c, call);
            } else {
                break;
            }
        }
        call = next;
    }
    if (c->draining && c->calls == NULL && !c->closing) {
        /* Everything the server took is answered: say goodbye, close once written. */
        c->closing = 1;
        c->close_deadline_ns = pt_now_mono_ns() + CLOSE_MAX_MS * 1000000ull;
        nghttp2_session_terminate_session(c->h2, NGHTTP2_NO_ERROR);
    }
}

static void call_place(otlp_grpc_t *cl, otlp_grpc_call_t *call)
{
    otlp_grpc_conn_t *c;
    for (c = cl->conns; c != NULL; c = c->next) {
        if (!c->draining && !c->closing && c->is_tls == call->t->tls &&
            strcmp(c->authority, call->t->authority) == 0) {
            break;
        }
    }
    if (c == NULL && cl->closing) {
        otlp_grpc_call_fail(call, "the flusher is stopping");
        return;
    }
    if (c == NULL && (c = otlp_grpc_conn_new(cl, call->t, call->deadline_ns)) == NULL) {
        otlp_grpc_call_fail(call, "cannot open a connection");
        return;
    }
    call_link(c, call);
}

/* ============================================================================== client ===== */

static void on_timer(uv_timer_t *t);

static void timer_arm(otlp_grpc_t *cl)
{
    uint64_t next = UINT64_MAX;
    uint64_t now = pt_now_mono_ns();
    for (otlp_grpc_conn_t *c = cl->conns; c != NULL; c = c->next) {
        if (c->state < OTLP_CONN_READY) {
            next = PT_MIN(next, c->connect_deadline_ns);
        }
        if (c->ping_deadline_ns != 0) {
            next = PT_MIN(next, c->ping_deadline_ns);
        }
        if (c->closing) {
            next = PT_MIN(next, c->close_deadline_ns);
        }
        if (c->state == OTLP_CONN_READY && c->calls == NULL && c->idle_since_ns != 0 &&
            !c->closing) {
            next = PT_MIN(next, c->idle_since_ns + (uint64_t)cl->idle_ms * 1000000ull);
        }
        for (otlp_grpc_call_t *call = c->calls; call != NULL; call = call->next) {
            if (!call->reported && !call->queued) {
                next = PT_MIN(next, call->deadline_ns);
            }
        }
    }
    if (next == UINT64_MAX) {
        uv_timer_stop(&cl->timer);
        return;
    }
    /* Never 0: libuv 1.44 runs a timer re-armed at 0 from its own callback again at once, before
     * any I/O, so a deadline that stayed due would starve the loop. Every deadline counted here
     * is acted on by on_timer (which must keep it so). */
    uv_timer_start(&cl->timer, on_timer, next > now ? (next - now + 999999) / 1000000 : 1, 0);
}

/* Runs after every event: sends calls put back by GOAWAY / REFUSED_STREAM, starts the waiting
 * ones and writes; then runs the callbacks of finished calls, outside any nghttp2 callback (a
 * callback may start new calls, which the next round picks up). */
void otlp_grpc_process(otlp_grpc_t *cl)
{
    if (cl->processing) {
        return;
    }
    cl->processing = 1;
    for (;;) {
        otlp_grpc_call_t *call;
        while ((call = pop(&cl->requeue, &cl->requeue_tail)) != NULL) {
            call_place(cl, call);
        }
        for (otlp_grpc_conn_t *c = cl->conns, *next; c != NULL; c = next) {
            next = c->next;
            conn_pump(c);
            otlp_grpc_conn_flush(c);
        }
        if (cl->done == NULL && cl->requeue == NULL) {
            break;
        }
        while ((call = pop(&cl->done, &cl->done_tail)) != NULL) {
            call_deliver(call);
        }
    }
    uint64_t now = pt_now_mono_ns();
    for (otlp_grpc_conn_t *c = cl->conns; c != NULL; c = c->next) {
        if (c->calls != NULL) {
            c->idle_since_ns = 0;
        } else if (c->idle_since_ns == 0) {
            c->idle_since_ns = now;
        }
    }
    cl->processing = 0;
    if (!cl->closing) {
        timer_arm(cl);
    }
}

static void call_expire(otlp_grpc_conn_t *c, otlp_grpc_call_t *call, uint64_t now)
{
    snprintf(call->errbuf, sizeof(call->errbuf),
             "deadline exceeded: no answer from %s within %ld ms", c->authority,
             call->t->timeout_ms);
    call->error = call->errbuf;
    if (call->in_h2) {
        nghttp2_submit_rst_stream(c->h2, NGHTTP2_FLAG_NONE, call->stream_id, NGHTTP2_CANCEL);
        /* Nothing heard since the call went out: is anyone there? */
        if (c->state == OTLP_CONN_READY && c->last_rx_ns < call->sent_ns &&
            c->ping_deadline_ns == 0 && nghttp2_submit_ping(c->h2, NGHTTP2_FLAG_NONE, NULL) == 0) {
            c->ping_deadline_ns =
                now + PT_MIN((uint64_t)PING_TIMEOUT_MS, (uint64_t)call->t->timeout_ms) * 1000000ull;
        }
    }
    call_queue_done(call);
}

static void on_timer(uv_timer_t *t)
{
    otlp_grpc_t *cl = t->data;
    uint64_t now = pt_now_mono_ns();
    for (otlp_grpc_conn_t *c = cl->conns, *next; c != NULL; c = next) {
        next = c->next;
        if (c->state < OTLP_CONN_READY && now >= c->connect_deadline_ns) {
            otlp_grpc_conn_fail(
                c, c->state == OTLP_CONN_HANDSHAKE
                       ? "no HTTP/2 SETTINGS from the server in time (is it a gRPC endpoint?)"
                       : "connect timed out");
            continue;
        }
        if (c->ping_deadline_ns != 0 && now >= c->ping_deadline_ns) {
            otlp_grpc_conn_fail(c, "no answer, not even to a PING: connection presumed dead");
            continue;
        }
        if (c->closing && now >= c->close_deadline_ns) {
            otlp_grpc_conn_fail(c, "the server does not read our GOAWAY: connection dropped");
            continue;
        }
        for (otlp_grpc_call_t *call = c->calls, *cn; call != NULL; call = cn) {
            cn = call->next;
            if (!call->reported && !call->queued && now >= call->deadline_ns) {
                call_expire(c, call, now);
            }
        }
        if (c->state == OTLP_CONN_READY && c->calls == NULL && c->idle_since_ns != 0 &&
            now >= c->idle_since_ns + (uint64_t)cl->idle_ms * 1000000ull && !c->closing) {
            PT_LOG(PT_LOG_DEBUG, cl->id, "gRPC connection to %s idle for %u ms: closing",
                   c->authority, cl->idle_ms);
            c->closing = 1;
            c->close_deadline_ns = now + CLOSE_MAX_MS * 1000000ull;
            c->draining = 1;
            nghttp2_session_terminate_session(c->h2, NGHTTP2_NO_ERROR);
        }
    }
    otlp_grpc_process(cl);
}

static void on_timer_closed(uv_handle_t *h)
{
    otlp_grpc_unref(h->data);
}

int otlp_grpc_create(uv_loop_t *loop, const pt_plugin_inst_t *inst, uint32_t max_streams,
                     pt_tls_ctx_t *tls, otlp_grpc_t **out)
{
    otlp_grpc_t *cl = pt_calloc(1, sizeof(*cl));
    if (cl == NULL) {
        return -ENOMEM;
    }
    cl->id = pt_strdup(inst != NULL ? inst->id : "fuzz/flusher_otlp");
    if (cl->id == NULL || nghttp2_session_callbacks_new(&cl->cbs) != 0) {
        pt_free(cl->id);
        pt_free(cl);
        return -ENOMEM;
    }
    nghttp2_session_callbacks_set_on_header_callback(cl->cbs, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cl->cbs, on_data_chunk);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cl->cbs, on_frame_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(cl->cbs, on_stream_close);
    cl->loop = loop;
    cl->tls = tls != NULL ? pt_tls_ctx_ref(tls) : NULL;
    cl->max_streams = max_streams > 0 ? max_streams : 1;
    cl->idle_ms = IDLE_CLOSE_MS;
    if (inst != NULL) {
        cl->m_conns = pt_plugin_counter(inst, "petrel_otlp_grpc_client_connections_total",
                                        "gRPC connections this exporter opened");
        cl->m_refused =
            pt_plugin_counter(inst, "petrel_otlp_grpc_client_refused_streams_total",
                              "gRPC calls the server refused unprocessed (REFUSED_STREAM or "
                              "above a GOAWAY's last stream), sent again at once");
        cl->m_goaways = pt_plugin_counter(inst, "petrel_otlp_grpc_client_goaways_total",
                                          "GOAWAY frames received from gRPC servers");
        cl->m_streams = pt_plugin_gauge(inst, "petrel_otlp_grpc_client_streams",
                                        "gRPC calls in flight (open HTTP/2 streams)");
    } else {
        cl->m_conns = pt_counter_new("petrel_fuzz_grpc_conns_total", "fuzz", "");
        cl->m_refused = pt_counter_new("petrel_fuzz_grpc_refused_total", "fuzz", "");
        cl->m_goaways = pt_counter_new("petrel_fuzz_grpc_goaways_total", "fuzz", "");
        cl->m_streams = pt_gauge_new("petrel_fuzz_grpc_streams", "fuzz", "");
    }
    uv_timer_init(loop, &cl->timer);
    cl->timer.data = cl;
    cl->handles = 1;
    *out = cl;
    return 0;
}

int otlp_grpc_call(otlp_grpc_t *cl, const otlp_grpc_target_t *t, const uint8_t *msg, size_t len,
                   otlp_grpc_done_cb cb, void *ud)
{
    otlp_grpc_call_t *call;
    if (cl->closing) {
        return -ECANCELED;
    }
    if ((call = pt_calloc(1, sizeof(*call))) == NULL) {
        return -ENOMEM;
    }
    call->cl = cl;
    call->t = t;
    call->msg = msg;
    call->len = len;
    call->cb = cb;
    call->ud = ud;
    call->grpc_status = -1;
    call->deadline_ns = pt_now_mono_ns() + (uint64_t)t->timeout_ms * 1000000ull;
    pt_buf_init(&call->body);
    /* Placed through the requeue list, so that a failure to connect at once still reports
     * through the callback, never from inside this call. */
    push(&cl->requeue, &cl->requeue_tail, call);
    if (!cl->processing) {
        /* Deferred to the loop's next turn would cost latency for nothing: callbacks cannot
         * run from here, since otlp_grpc_process delivers only calls finished before this one. */
        cl->processing = 1;
        while ((call = pop(&cl->requeue, &cl->requeue_tail)) != NULL) {
            call_place(cl, call);
        }
        for (otlp_grpc_conn_t *c = cl->conns, *next; c != NULL; c = next) {
            next = c->next;
            conn_pump(c);
            otlp_grpc_conn_flush(c);
        }
        cl->processing = 0;
        if (cl->done != NULL || cl->requeue != NULL) {
            /* Something failed at once: report it from the loop, not from here. */
            uv_timer_start(&cl->timer, on_timer, 1, 0);
        } else {
            timer_arm(cl);
        }
    }
    return 0;
}

void otlp_grpc_set_idle_ms(otlp_grpc_t *cl, uint32_t ms)
{
    cl->idle_ms = ms;
}

void otlp_grpc_destroy(otlp_grpc_t *cl)
{
    otlp_grpc_call_t *call;
    if (cl == NULL) {
        return;
    }
    cl->closing = 1;
    while (cl->conns != NULL) {
        otlp_grpc_conn_fail(cl->conns, "the flusher is stopping");
    }
    while ((call = pop(&cl->requeue, &cl->requeue_tail)) != NULL) {
        snprintf(call->errbuf, sizeof(call->errbuf), "the flusher is stopping");
        call->error = call->errbuf;
        call->queued = 1;
        push(&cl->done, &cl->done_tail, call);
    }
    cl->processing = 1;
    while ((call = pop(&cl->done, &cl->done_tail)) != NULL) {
        call_deliver(call);
    }
    pt_plugin_counter_free(cl->m_conns);
    pt_plugin_counter_free(cl->m_refused);
    pt_plugin_counter_free(cl->m_goaways);
    pt_plugin_gauge_free(cl->m_streams);
    cl->m_conns = cl->m_refused = cl->m_goaways = NULL;
    cl->m_streams = NULL;
    uv_close((uv_handle_t *)&cl->timer, on_timer_closed);
}

/* ============================================================================== fuzzing ===== */

static void on_fuzz_done(void *ud, const otlp_grpc_result_t *r)
{
    int *status = ud;
    uint32_t ms;
    int throttled;
    if (r->error != NULL) {
        *status = PT_RETRY;
    } else if (r->http_status == 200) {
        *status = otlp_grpc_outcome(r, &ms, &throttled);
        if (r->msg != NULL && r->msg_len > 0) {
            volatile uint8_t sink = r->msg[r->msg_len - 1];
            PT_UNUSED(sink);
        }
    } else {
        *status = r->http_status == 503 ? PT_RETRY : -EBADMSG;
    }
}

int otlp_grpc_fuzz_replay(const uint8_t *in, size_t len)
{
    static const otlp_grpc_target_t t = {
        .host = (char *)"127.0.0.1",
        .authority = (char *)"127.0.0.1:4317",
        .port = 4317,
        .path = "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
        .timeout_ms = 1000,
    };
    static const uint8_t msg[] = {1, 0, 0, 0, 3, 0x0a, 0x01, 0x00};
    uv_loop_t loop;
    otlp_grpc_t *cl;
    otlp_grpc_conn_t *c;
    otlp_grpc_call_t *call;
    int status = 1;

    if (uv_loop_init(&loop) != 0) {
        return -ENOMEM;
    }
    if (otlp_grpc_create(&loop, NULL, 4, NULL, &cl) != 0) {
        uv_loop_close(&loop);
        return -ENOMEM;
    }
    c = pt_calloc(1, sizeof(*c));
    call = pt_calloc(1, sizeof(*call));
    if (c != NULL) {
        c->cl = cl;
        c->authority = pt_strdup(t.authority);
        c->host = pt_strdup(t.host);
        c->no_io = 1;
        c->max_streams = 1;
        c->next = cl->conns;
        cl->conns = c;
        cl->handles++;
        if (c->authority == NULL || c->host == NULL || otlp_grpc_conn_start_session(c, 0) != 0) {
            otlp_grpc_conn_fail(c, "out of memory");
        }
    }
    if (call != NULL && cl->conns != NULL) {
        call->cl = cl;
        call->t = &t;
        call->msg = msg;
        call->len = sizeof(msg);
        call->cb = on_fuzz_done;
        call->ud = &status;
        call->grpc_status = -1;
        call->deadline_ns = UINT64_MAX;
        pt_buf_init(&call->body);
        call_link(c, call);
        otlp_grpc_process(cl);
        /* The server's bytes in two reads, split where the first byte says. */
        size_t cut = len > 0 ? PT_MIN((size_t)in[0] * 4, len) : 0;
        for (int k = 0; k < 2 && cl->conns == c; k++) {
            const uint8_t *p = k == 0 ? in : in + cut;
            size_t n = k == 0 ? cut : len - cut;
            if (n > 0) {
                otlp_grpc_conn_recv(c, p, n);
            }
            otlp_grpc_process(cl);
        }
    } else {
        pt_free(call);
    }
    otlp_grpc_destroy(cl);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return status;
}
