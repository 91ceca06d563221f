/* The native OTLP/gRPC client of flusher_otlp: HTTP/2 (nghttp2) on the sender loop, cleartext
 * with prior knowledge or over TLS with ALPN h2 (core/tls.h). One persistent connection per
 * destination authority carries many unary Export calls at once, up to the flusher's Concurrency
 * and the server's SETTINGS_MAX_CONCURRENT_STREAMS; request messages flow through an nghttp2 data
 * provider, so the server's flow-control windows pace the large ones. Each call has a deadline
 * (grpc-timeout, and a local timer that resets its stream); a broken connection fails its calls as
 * retryable and the next call, after the delivery layer's backoff, connects again; on GOAWAY the
 * streams the server took finish and the others move to a new connection at once. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <nghttp2/nghttp2.h>

#include "core/common.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/proto/otlp.h"
#include "core/proto/otlp_pb.h"
#include "grpc_client_internal.h"

/* Output is handed to the socket in chunks of up to WRITE_CHUNK, and nghttp2 is asked for more
 * only while less than WRITE_HIGH waits in the kernel's direction: a slow server holds at most
 * that much per connection here, whatever the size of the messages. */
#define WRITE_CHUNK (256u << 10)
#define WRITE_HIGH (1u << 20)
/* Export responses are a few bytes (a partial_success at most); more is not kept. */
#define RESP_CAP (64u << 10)
/* A connection without calls for this long is closed (with GOAWAY): below the 5 minutes after
 * which servers commonly drop idle clients, so we close first and never race their GOAWAY. */
#define IDLE_CLOSE_MS 120000u
#define CONNECT_MAX_MS 10000u
/* After a deadline on a connection that has been silent since the call went out, a PING must be
 * answered within this long, or the connection is taken for dead (peer gone without a FIN). No
 * periodic PINGs: servers such as grpc-go punish frequent ones with GOAWAY too_many_pings. */
#define PING_TIMEOUT_MS 5000u
/* A connection we close (GOAWAY, close_notify) is dropped anyway if that is not written by then. */
#define CLOSE_MAX_MS 5000u
/* Calls the server refused unprocessed (REFUSED_STREAM, above a GOAWAY's last stream) are sent
 * again at once, this many times, before they fail like any retryable error. */
#define MAX_REFUSALS 2

enum { C_RESOLVING = 0, C_CONNECTING, C_HANDSHAKE, C_READY, C_DEAD };

typedef struct call_s call_t;
typedef struct conn_s conn_t;

/* One unary call. It sits on its connection's list until it is reported; a call reported while
 * nghttp2 still holds its stream (deadline) stays there, reported, until the stream closes. */
struct call_s {
    otlp_grpc_t *cl;
    conn_t *conn; /* NULL when on no connection's list */
    call_t *prev;
    call_t *next;
    call_t *qnext; /* cl->requeue or cl->done */
    const otlp_grpc_target_t *t;
    const uint8_t *msg; /* NULL once reported: the caller's bytes may be gone */
    size_t len;
    size_t off;
    otlp_grpc_done_cb cb;
    void *ud;
    uint64_t deadline_ns;
    uint64_t sent_ns;
    int32_t stream_id; /* 0: not submitted on its current connection */
    int in_h2;         /* nghttp2 holds the stream (its user data points here) */
    int queued;        /* on cl->done */
    int reported;      /* cb ran */
    int refusals;
    const char *error; /* failed without an answer */
    char errbuf[120];
    long http_status;
    long retry_after_s;
    int grpc_status;
    int ct_grpc;
    char ctype[48];
    char grpc_message[128];
    char details[1024];
    int details_long;
    char encoding[16];
    pt_buf_t body;
    int body_long;
};

struct conn_s {
    otlp_grpc_t *cl;
    conn_t *next; /* cl->conns (live ones only) */
    char *authority;
    char *host;
    int port;
    int state;
    int draining;  /* GOAWAY received or sent, or stream ids used up: no new streams */
    int closing;   /* close once the output is written */
    int no_io;     /* fuzzing: no socket */
    int tls_shut;  /* close_notify queued */
    pt_tls_t *tls; /* NULL: cleartext */
    int tcp_open;
    int next_addr; /* the handle is closing to try the next address */
    int gai_pending;
    uv_tcp_t tcp;
    uv_connect_t creq;
    uv_getaddrinfo_t gai;
    struct addrinfo *ai;
    struct addrinfo *ai_cur;
    struct sockaddr_storage lit; /* an address literal: no resolving */
    int lit_used;
    int is_lit;
    int is_tls;
    nghttp2_session *h2;
    call_t *calls;
    call_t *calls_tail;
    uint32_t nactive;
    uint32_t max_streams;
    uint64_t connect_deadline_ns;
    uint64_t last_rx_ns;
    uint64_t idle_since_ns;
    uint64_t ping_deadline_ns;
    uint64_t close_deadline_ns; /* set with closing */
    size_t writing;
    char last_err[96];
};

struct otlp_grpc_s {
    uv_loop_t *loop;
    char *id;
    uint32_t max_streams;
    uint32_t idle_ms; /* IDLE_CLOSE_MS; tests shorten it */
    nghttp2_session_callbacks *cbs;
    conn_t *conns;
    call_t *requeue;
    call_t *requeue_tail;
    call_t *done;
    call_t *done_tail;
    pt_tls_ctx_t *tls;
    uv_timer_t timer;
    int handles; /* the timer and every connection not yet freed */
    int processing;
    int closing;
    pt_counter_t *m_conns;
    pt_counter_t *m_refused;
    pt_counter_t *m_goaways;
    pt_gauge_t *m_streams;
    int64_t nstreams;
};

typedef struct {
    uv_write_t w;
    conn_t *c;
    size_t len;
    char *data;
} wreq_t;

static void cl_process(otlp_grpc_t *cl);
static void conn_fail(conn_t *c, const char *why);

/* ============================================================= answer rules (shared) ===== */

static int grpc_retryable(int code)
{
    switch (code) {
    case PT_GRPC_CANCELLED:
    case PT_GRPC_DEADLINE_EXCEEDED:
    case PT_GRPC_ABORTED:
    case PT_GRPC_OUT_OF_RANGE:
    case PT_GRPC_UNAVAILABLE:
    case PT_GRPC_DATA_LOSS:
        return 1;
    default:
        return 0;
    }
}

uint32_t otlp_grpc_retry_info_ms(const char *details)
{
    uint8_t raw[800];
    size_t len = strlen(details);
    uint32_t ms = 0;
    if (len == 0 || len * 3 / 4 + 3 > sizeof(raw)) {
        return 0;
    }
    long n = pt_otlp_b64_decode(details, len, raw);
    Google__Rpc__Status *st = n > 0 ? google__rpc__status__unpack(NULL, (size_t)n, raw) : NULL;
    if (st == NULL) {
        return 0;
    }
    for (size_t i = 0; i < st->n_details; i++) {
        const char *t = st->details[i]->type_url;
        size_t tl = strlen(t);
        if (tl >= 20 && strcmp(t + tl - 20, "google.rpc.RetryInfo") == 0) {
            Google__Rpc__RetryInfo *ri = google__rpc__retry_info__unpack(
                NULL, st->details[i]->value.len, st->details[i]->value.data);
            if (ri != NULL && ri->retry_delay != NULL && ri->retry_delay->seconds >= 0 &&
                ri->retry_delay->nanos >= 0) {
                /* Clamped to an hour: a server's typo must not park the exporter for days. */
                int64_t v = ri->retry_delay->seconds * 1000 + ri->retry_delay->nanos / 1000000;
                ms = (uint32_t)(v > 3600000 || ri->retry_delay->seconds > 3600 ? 3600000 : v);
            }
            google__rpc__retry_info__free_unpacked(ri, NULL);
        }
    }
    google__rpc__status__free_unpacked(st, NULL);
    return ms;
}

int otlp_grpc_outcome(const otlp_grpc_result_t *r, uint32_t *retry_ms, int *throttled)
{
    int st = r->grpc_status < 0 ? PT_GRPC_UNKNOWN : r->grpc_status;
    *retry_ms = 0;
    *throttled = 0;
    if (st == PT_GRPC_OK) {
        return 0;
    }
    uint32_t delay = otlp_grpc_retry_info_ms(r->details);
    /* RESOURCE_EXHAUSTED is retried only when the server says when (RetryInfo): otherwise it
     * means "too large", which no retry fixes (OTLP spec). */
    if (grpc_retryable(st) || (st == PT_GRPC_RESOURCE_EXHAUSTED && delay > 0)) {
        *retry_ms = delay;
        *throttled = st == PT_GRPC_UNAVAILABLE || st == PT_GRPC_RESOURCE_EXHAUSTED;
        return PT_RETRY;
    }
    return -EBADMSG;
}

int otlp_grpc_unframe(const uint8_t *body, size_t len, const char *encoding, pt_buf_t *scratch,
                      const uint8_t **msg, size_t *mlen)
{
    if (len < 5 || body[0] > 1) {
        return -EBADMSG;
    }
    size_t n = (size_t)body[1] << 24 | (size_t)body[2] << 16 | (size_t)body[3] << 8 | body[4];
    if (n > len - 5) {
        return -EBADMSG;
    }
    if (body[0] == 0) {
        *msg = body + 5;
        *mlen = n;
        return 0;
    }
    int enc = pt_otlp_encoding_parse(pt_str_c(encoding != NULL ? encoding : ""));
    if (enc != PT_ENC_GZIP && enc != PT_ENC_DEFLATE) {
        return -EBADMSG; /* compressed, but not with anything we accept */
    }
    size_t start = scratch->len;
    if (pt_otlp_decompress((pt_encoding_t)enc, body + 5, n, RESP_CAP, scratch) != 0) {
        return -EBADMSG;
    }
    *msg = (const uint8_t *)scratch->data + start;
    *mlen = scratch->len - start;
    return 0;
}

static int hexval(char ch)
{
    return ch >= '0' && ch <= '9'   ? ch - '0'
           : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
           : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                    : -1;
}

void otlp_grpc_percent_decode(const char *in, size_t len, char *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < len && k + 1 < cap; i++) {
        int hi;
        int lo;
        if (in[i] == '%' && i + 2 < len && (hi = hexval(in[i + 1])) >= 0 &&
            (lo = hexval(in[i + 2])) >= 0) {
            out[k++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            out[k++] = in[i];
        }
    }
    out[k] = '\0';
}

/* =============================================================================== targets ===== */

static int header_reserved(const char *name)
{
    static const char *const names[] = {
        "content-type", "te",      "connection", "host",
        "keep-alive",   "upgrade", "user-agent", "transfer-encoding"};
    if (strncmp(name, "grpc-", 5) == 0) {
        return 1; /* grpc-timeout, grpc-encoding, ...: the protocol's own */
    }
    for (size_t i = 0; i < PT_ARRAY_SIZE(names); i++) {
        if (strcmp(name, names[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

int otlp_grpc_target_init(otlp_grpc_target_t *t, const char *hostport, const char *path,
                          long timeout_ms, const char **why)
{
    const char *colon;
    const char *h = hostport;
    size_t hl;
    char *end;
    long port;

    memset(t, 0, sizeof(*t));
    *why = NULL;
    if (hostport[0] == '[') {
        const char *rb = strchr(hostport, ']');
        if (rb == NULL || rb[1] != ':') {
            *why = "an IPv6 address needs the form [addr]:port";
            return -EINVAL;
        }
        h = hostport + 1;
        hl = (size_t)(rb - h);
        colon = rb + 1;
    } else {
        colon = strrchr(hostport, ':');
        if (colon == NULL || memchr(hostport, ':', (size_t)(colon - hostport)) != NULL) {
            *why = "expected host:port ([addr]:port for IPv6)";
            return -EINVAL;
        }
        hl = (size_t)(colon - hostport);
    }
    port = strtol(colon + 1, &end, 10);
    if (hl == 0 || colon[1] == '\0' || *end != '\0' || port < 1 || port > 65535) {
        *why = "expected host:port with a port between 1 and 65535";
        return -EINVAL;
    }
    t->host = pt_strndup(h, hl);
    t->authority = pt_strdup(hostport);
    if (t->host == NULL || t->authority == NULL) {
        otlp_grpc_target_free(t);
        return -ENOMEM;
    }
    t->port = (int)port;
    t->path = path;
    t->timeout_ms = timeout_ms;
    return 0;
}

int otlp_grpc_target_headers(otlp_grpc_target_t *t, const pt_strmap_t *hm, const char **why)
{
    *why = NULL;
    for (size_t i = 0; i < hm->n; i++) {
        char **names = pt_realloc(t->hnames, (t->nheaders + 1) * sizeof(char *));
        if (names != NULL) {
            t->hnames = names;
        }
        char **vals = pt_realloc(t->hvalues, (t->nheaders + 1) * sizeof(char *));
        if (vals != NULL) {
            t->hvalues = vals;
        }
        char *name = pt_strdup(hm->keys[i]);
        char *val = pt_strdup(hm->vals[i]);
        if (names == NULL || vals == NULL || name == NULL || val == NULL) {
            pt_free(name);
            pt_free(val);
            return -ENOMEM;
        }
        int bad = name[0] == '\0';
        /* HTTP/2 wants lowercase field names; gRPC metadata keys are tokens. */
        for (char *p = name; !bad && *p != '\0'; p++) {
            *p = (char)tolower((unsigned char)*p);
            bad = !(isalnum((unsigned char)*p) || strchr("-_.", *p) != NULL);
        }
        for (const char *p = val; !bad && *p != '\0'; p++) {
            bad = *p == '\r' || *p == '\n';
        }
        if (bad || header_reserved(name)) {
            *why = bad ? "a gRPC metadata key is made of letters, digits, '-', '_' and '.', and "
                         "its value holds no line break"
                       : "content-type, te, user-agent, grpc-* and the connection headers are set "
                         "by the gRPC client";
            pt_free(name);
            pt_free(val);
            return -EINVAL;
        }
        t->hnames[t->nheaders] = name;
        t->hvalues[t->nheaders++] = val;
    }
    return 0;
}

void otlp_grpc_target_free(otlp_grpc_target_t *t)
{
    for (size_t i = 0; i < t->nheaders; i++) {
        pt_free(t->hnames[i]);
        pt_free(t->hvalues[i]);
    }
    pt_free(t->hnames);
    pt_free(t->hvalues);
    pt_free(t->host);
    pt_free(t->authority);
    memset(t, 0, sizeof(*t));
}

/* ================================================================================= calls ===== */

static void call_free(call_t *c)
{
    pt_buf_free(&c->body);
    pt_free(c);
}

static void call_link(conn_t *c, call_t *call)
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

static void call_unlink(call_t *call)
{
    conn_t *c = call->conn;
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

static void push(call_t **head, call_t **tail, call_t *call)
{
    call->qnext = NULL;
    if (*tail != NULL) {
        (*tail)->qnext = call;
    } else {
        *head = call;
    }
    *tail = call;
}

static call_t *pop(call_t **head, call_t **tail)
{
    call_t *call = *head;
    if (call != NULL) {
        *head = call->qnext;
        if (*head == NULL) {
            *tail = NULL;
        }
        call->qnext = NULL;
    }
    return call;
}

/* The call's outcome is known: its callback runs from cl_process. A call whose stream nghttp2
 * still holds stays on its connection's list (so it can be freed with the connection). */
static void call_queue_done(call_t *call)
{
    otlp_grpc_t *cl = call->cl;
    if (!call->in_h2) {
        call_unlink(call);
    }
    call->queued = 1;
    push(&cl->done, &cl->done_tail, call);
}

static void call_fail(call_t *call, const char *why)
{
    snprintf(call->errbuf, sizeof(call->errbuf), "%s", why);
    call->error = call->errbuf;
    call_queue_done(call);
}

/* Back to the start: it goes out again on a connection that takes new streams. */
static void call_requeue(call_t *call)
{
    otlp_grpc_t *cl = call->cl;
    call_unlink(call);
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

static void call_result(call_t *c, otlp_grpc_result_t *r, pt_buf_t *scratch)
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

static void call_deliver(call_t *call)
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
        call_unlink(call);
        call_free(call);
    }
}

/* ============================================================================ nghttp2 ===== */

static void streams_add(otlp_grpc_t *cl, int64_t n)
{
    cl->nstreams += n;
    pt_gauge_set(cl->m_streams, cl->nstreams);
}

static ssize_t on_read_data(nghttp2_session *h2, int32_t id, uint8_t *buf, size_t len,
                            uint32_t *flags, nghttp2_data_source *src, void *ud)
{
    call_t *c = src->ptr;
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
    call_t *c = nghttp2_session_get_stream_user_data(h2, f->hd.stream_id);
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
    call_t *c = nghttp2_session_get_stream_user_data(h2, id);
    PT_UNUSED(flags);
    PT_UNUSED(ud);
    if (c == NULL || c->reported || c->body_long) {
        return 0;
    }
    if (c->body.len + len > RESP_CAP || pt_buf_append(&c->body, data, len) != 0) {
        c->body_long = 1;
    }
    return 0;
}

static int on_frame_recv(nghttp2_session *h2, const nghttp2_frame *f, void *ud)
{
    conn_t *c = ud;
    otlp_grpc_t *cl = c->cl;
    if (f->hd.type == NGHTTP2_SETTINGS && !(f->hd.flags & NGHTTP2_FLAG_ACK)) {
        uint32_t m =
            nghttp2_session_get_remote_settings(h2, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
        c->max_streams = PT_MIN(m, cl->max_streams);
        if (c->state == C_HANDSHAKE) {
            c->state = C_READY;
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
    call_t *call = nghttp2_session_get_stream_user_data(h2, id);
    conn_t *c = ud;
    char why[120];

    if (call == NULL) {
        return 0;
    }
    nghttp2_session_set_stream_user_data(h2, id, NULL);
    call->in_h2 = 0;
    c->nactive--;
    streams_add(c->cl, -1);
    if (call->reported) {
        call_unlink(call);
        call_free(call);
        return 0;
    }
    if (call->queued) {
        call_unlink(call); /* call_deliver frees it */
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
        call_fail(call, why);
    } else if (call->http_status <= 0) {
        snprintf(why, sizeof(why), "stream closed by %s without an answer", c->authority);
        call_fail(call, why);
    } else {
        call_queue_done(call);
    }
    return 0;
}

/* ======================================================================= connections ===== */

static void cl_unref(otlp_grpc_t *cl)
{
    if (--cl->handles == 0 && cl->closing) {
        pt_tls_ctx_destroy(cl->tls);
        nghttp2_session_callbacks_del(cl->cbs);
        pt_free(cl->id);
        pt_free(cl);
    }
}

static void conn_free(conn_t *c)
{
    otlp_grpc_t *cl = c->cl;
    if (c->ai != NULL) {
        uv_freeaddrinfo(c->ai);
    }
    pt_free(c->authority);
    pt_free(c->host);
    pt_free(c);
    cl_unref(cl);
}

/* Frees the connection once libuv has let go of both its handle and its resolver request. */
static void conn_maybe_free(conn_t *c)
{
    if (c->state == C_DEAD && !c->tcp_open && !c->gai_pending) {
        conn_free(c);
    }
}

static void conn_try_connect(conn_t *c);

static void on_tcp_closed(uv_handle_t *h)
{
    conn_t *c = h->data;
    c->tcp_open = 0;
    if (c->state != C_DEAD && c->next_addr) {
        c->next_addr = 0;
        if (uv_tcp_init(c->cl->loop, &c->tcp) == 0) {
            c->tcp.data = c;
            c->tcp_open = 1;
            conn_try_connect(c);
        } else {
            conn_fail(c, "cannot create a socket");
        }
        cl_process(c->cl);
        return;
    }
    conn_maybe_free(c);
}

/* Ends the connection: every call on it that is not reported yet fails with why (retryable:
 * the delivery layer backs off, and the next call connects again). */
static void conn_fail(conn_t *c, const char *why)
{
    otlp_grpc_t *cl = c->cl;
    char msg[120];
    if (c->state == C_DEAD) {
        return;
    }
    snprintf(msg, sizeof(msg), "%s: %s", c->authority, why);
    if (c->calls != NULL) {
        PT_LOG(PT_LOG_DEBUG, cl->id, "gRPC connection to %s", msg);
    }
    c->state = C_DEAD;
    for (conn_t **pp = &cl->conns; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    call_t *call = c->calls;
    while (call != NULL) {
        call_t *next = call->next;
        call->in_h2 = 0;
        call_unlink(call);
        if (call->reported) {
            call_free(call);
        } else if (!call->queued) {
            /* Sent or not, nobody can say whether the server processed it: the delivery layer
             * decides when to send it again. */
            call_fail(call, msg);
        }
        call = next;
    }
    if (c->h2 != NULL) {
        nghttp2_session_del(c->h2);
        c->h2 = NULL;
    }
    pt_tls_destroy(c->tls);
    c->tls = NULL;
    streams_add(cl, -(int64_t)c->nactive);
    c->nactive = 0;
    if (c->gai_pending) {
        uv_cancel((uv_req_t *)&c->gai);
    }
    if (c->tcp_open && !uv_is_closing((uv_handle_t *)&c->tcp)) {
        uv_close((uv_handle_t *)&c->tcp, on_tcp_closed);
    }
    c->next_addr = 0;
    conn_maybe_free(c);
}

static void on_write(uv_write_t *w, int status)
{
    wreq_t *wr = (wreq_t *)w;
    conn_t *c = wr->c;
    c->writing -= wr->len;
    pt_free(wr->data);
    pt_free(wr);
    if (c->state == C_DEAD) {
        return;
    }
    if (status < 0) {
        char why[96];
        snprintf(why, sizeof(why), "write failed: %s", uv_strerror(status));
        conn_fail(c, why);
    }
    cl_process(c->cl);
}

/* Writes what nghttp2 has to send, while less than WRITE_HIGH is on its way. */
static void conn_flush(conn_t *c)
{
    while (c->state >= C_HANDSHAKE && c->state != C_DEAD && c->writing < WRITE_HIGH) {
        pt_buf_t out;
        const uint8_t *data;
        ssize_t n = 0;
        pt_buf_init(&out);
        while (out.len < WRITE_CHUNK && (n = nghttp2_session_mem_send(c->h2, &data)) > 0) {
            if (pt_buf_append(&out, data, (size_t)n) != 0) {
                n = NGHTTP2_ERR_NOMEM;
                break;
            }
        }
        if (n < 0) {
            pt_buf_free(&out);
            conn_fail(c, nghttp2_strerror((int)n));
            return;
        }
        if (c->tls != NULL) {
            /* Plaintext in, ciphertext out (held by core/tls until the handshake is done). */
            int rc = out.len > 0 ? pt_tls_write(c->tls, out.data, out.len) : 0;
            out.len = 0;
            if (rc == 0) {
                rc = pt_tls_out_take(c->tls, &out);
            }
            if (rc != 0) {
                pt_buf_free(&out);
                conn_fail(c, rc == -EPROTO ? "TLS connection failed" : "out of memory");
                return;
            }
        }
        if (out.len == 0) {
            pt_buf_free(&out);
            break;
        }
        if (c->no_io) {
            pt_buf_free(&out);
            continue;
        }
        wreq_t *wr = pt_malloc(sizeof(*wr));
        if (wr == NULL) {
            pt_buf_free(&out);
            conn_fail(c, "out of memory");
            return;
        }
        wr->c = c;
        wr->data = pt_buf_steal(&out, &wr->len);
        uv_buf_t b = uv_buf_init(wr->data, (unsigned)wr->len);
        int rc = uv_write(&wr->w, (uv_stream_t *)&c->tcp, &b, 1, on_write);
        if (rc != 0) {
            pt_free(wr->data);
            pt_free(wr);
            conn_fail(c, uv_strerror(rc));
            return;
        }
        c->writing += wr->len;
    }
    if (c->state == C_DEAD || c->state < C_HANDSHAKE || c->writing > 0) {
        return;
    }
    /* All written: a connection we are closing, or one both sides are done with, ends here
     * (over TLS once our close_notify is out too). */
    if (c->closing || (!nghttp2_session_want_read(c->h2) && !nghttp2_session_want_write(c->h2))) {
        if (c->tls != NULL && !c->tls_shut && pt_tls_is_ready(c->tls)) {
            c->tls_shut = 1;
            pt_tls_shutdown(c->tls);
            conn_flush(c);
            return;
        }
        conn_fail(c, "connection closed");
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    /* One loop thread, and nghttp2 copies what it keeps before the next read. */
    static char rbuf[64 * 1024];
    PT_UNUSED(h);
    PT_UNUSED(suggested);
    buf->base = rbuf;
    buf->len = sizeof(rbuf);
}

static void conn_recv(conn_t *c, const uint8_t *data, size_t len)
{
    c->last_rx_ns = pt_now_mono_ns();
    c->ping_deadline_ns = 0;
    ssize_t used = nghttp2_session_mem_recv(c->h2, data, len);
    if (used < 0) {
        char why[96];
        snprintf(why, sizeof(why), "HTTP/2 error: %s (is it a gRPC endpoint?)",
                 nghttp2_strerror((int)used));
        conn_fail(c, why);
    }
}

/* A failed handshake leaves an alert (e.g. unknown CA) that tells the server why: sent as is,
 * best effort, before the connection is closed. */
static void tls_send_alert(conn_t *c)
{
    pt_buf_t out;
    pt_buf_init(&out);
    if (pt_tls_out_take(c->tls, &out) == 0 && out.len > 0) {
        uv_buf_t b = uv_buf_init(out.data, (unsigned)out.len);
        uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
    }
    pt_buf_free(&out);
}

static int on_tls_plain(void *ud, const char *data, size_t len)
{
    conn_t *c = ud;
    conn_recv(c, (const uint8_t *)data, len);
    return c->state == C_DEAD ? -ECONNABORTED : 0;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    conn_t *c = s->data;
    char why[160];
    if (c->state == C_DEAD) {
        return;
    }
    if (n < 0) {
        conn_fail(c, n == UV_EOF ? "the server closed the connection" : uv_strerror((int)n));
    } else if (n > 0 && c->tls == NULL) {
        conn_recv(c, (const uint8_t *)buf->base, (size_t)n);
    } else if (n > 0) {
        int ready = pt_tls_is_ready(c->tls);
        int rc = pt_tls_recv(c->tls, buf->base, (size_t)n, buf->base, buf->len, on_tls_plain, c);
        if (!ready && c->tls != NULL && pt_tls_is_ready(c->tls)) {
            PT_LOG(PT_LOG_DEBUG, c->cl->id, "TLS to %s: %s, ALPN %s", c->authority,
                   pt_tls_describe(c->tls), pt_tls_alpn(c->tls));
        }
        if (rc == -EPROTO) {
            snprintf(why, sizeof(why), "TLS: %s", pt_tls_error_text(c->tls));
            tls_send_alert(c);
            conn_fail(c, why);
        } else if (rc == -EPIPE) {
            conn_fail(c, "the server closed the connection (close_notify)");
        } else if (rc != 0 && rc != -ECONNABORTED) {
            conn_fail(c, pt_strerror(rc));
        }
    }
    cl_process(c->cl);
}

/* Connected: the HTTP/2 session starts with the client preface and our SETTINGS; calls wait
 * for the server's SETTINGS, which say how many streams it takes. */
static int conn_start_session(conn_t *c, int tls)
{
    nghttp2_settings_entry iv[1] = {{NGHTTP2_SETTINGS_ENABLE_PUSH, 0}};
    if (tls) {
        /* The server's certificate must match the configured host (sent as SNI if a name). */
        int rc = pt_tls_create(c->cl->tls, c->host, &c->tls);
        if (rc != 0) {
            c->tls = NULL;
            return rc;
        }
        if (pt_tls_handshake(c->tls) == -EPROTO) {
            return -EPROTO;
        }
    }
    if (nghttp2_session_client_new(&c->h2, c->cl->cbs, c) != 0) {
        c->h2 = NULL;
        return -ENOMEM;
    }
    if (nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE, iv, 1) != 0) {
        return -ENOMEM;
    }
    c->state = C_HANDSHAKE;
    c->last_rx_ns = pt_now_mono_ns();
    return 0;
}

static void on_connected(uv_connect_t *req, int status)
{
    conn_t *c = req->data;
    char why[96];
    if (c->state == C_DEAD) {
        return;
    }
    if (status < 0) {
        snprintf(c->last_err, sizeof(c->last_err), "cannot connect: %s", uv_strerror(status));
        if (c->ai_cur != NULL && c->ai_cur->ai_next != NULL) {
            /* Another address of the name (e.g. localhost's 127.0.0.1 after ::1). */
            c->ai_cur = c->ai_cur->ai_next;
            c->next_addr = 1;
            uv_close((uv_handle_t *)&c->tcp, on_tcp_closed);
            return;
        }
        conn_fail(c, c->last_err);
        cl_process(c->cl);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    int rc = conn_start_session(c, c->is_tls);
    if (rc == 0) {
        rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    }
    if (rc != 0) {
        snprintf(why, sizeof(why), "cannot start the session: %s", pt_strerror(rc));
        conn_fail(c, why);
    } else {
        pt_counter_inc(c->cl->m_conns);
        PT_LOG(PT_LOG_DEBUG, c->cl->id, "gRPC connection to %s open", c->authority);
    }
    cl_process(c->cl);
}

static void conn_try_connect(conn_t *c)
{
    const struct sockaddr *sa = NULL;
    if (c->is_lit) {
        sa = c->lit_used ? NULL : (const struct sockaddr *)&c->lit;
        c->lit_used = 1;
    } else if (c->ai_cur != NULL) {
        sa = c->ai_cur->ai_addr;
    }
    if (sa == NULL) {
        conn_fail(c, c->last_err[0] ? c->last_err : "no address to connect to");
        return;
    }
    c->state = C_CONNECTING;
    c->creq.data = c;
    int rc = uv_tcp_connect(&c->creq, &c->tcp, sa, on_connected);
    if (rc != 0) {
        snprintf(c->last_err, sizeof(c->last_err), "cannot connect: %s", uv_strerror(rc));
        if (!c->is_lit && c->ai_cur->ai_next != NULL) {
            c->ai_cur = c->ai_cur->ai_next;
            c->next_addr = 1;
            uv_close((uv_handle_t *)&c->tcp, on_tcp_closed);
            return;
        }
        conn_fail(c, c->last_err);
    }
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    conn_t *c = req->data;
    c->gai_pending = 0;
    if (c->state == C_DEAD) {
        if (res != NULL) {
            uv_freeaddrinfo(res);
        }
        conn_maybe_free(c);
        return;
    }
    if (status < 0 || res == NULL) {
        char why[96];
        snprintf(why, sizeof(why), "cannot resolve %s: %s", c->host, uv_strerror(status));
        conn_fail(c, why);
    } else {
        c->ai = c->ai_cur = res;
        conn_try_connect(c);
    }
    cl_process(c->cl);
}

/* A new connection to t's authority; resolving and connecting go on in the background. */
static conn_t *conn_new(otlp_grpc_t *cl, const otlp_grpc_target_t *t, uint64_t deadline_ns)
{
    conn_t *c = pt_calloc(1, sizeof(*c));
    char port[16];
    if (c == NULL) {
        return NULL;
    }
    c->cl = cl;
    c->authority = pt_strdup(t->authority);
    c->host = pt_strdup(t->host);
    if (c->authority == NULL || c->host == NULL) {
        pt_free(c->authority);
        pt_free(c->host);
        pt_free(c);
        return NULL;
    }
    c->port = t->port;
    c->is_tls = t->tls;
    c->max_streams = 1;
    c->connect_deadline_ns = PT_MIN(deadline_ns, pt_now_mono_ns() + CONNECT_MAX_MS * 1000000ull);
    c->next = cl->conns;
    cl->conns = c;
    cl->handles++;
    if (uv_tcp_init(cl->loop, &c->tcp) != 0) {
        c->state = C_CONNECTING;
        conn_fail(c, "cannot create a socket");
        return NULL;
    }
    c->tcp.data = c;
    c->tcp_open = 1;
    if (uv_ip4_addr(c->host, c->port, (struct sockaddr_in *)&c->lit) == 0 ||
        uv_ip6_addr(c->host, c->port, (struct sockaddr_in6 *)&c->lit) == 0) {
        c->is_lit = 1;
        conn_try_connect(c);
        return c->state == C_DEAD ? NULL : c;
    }
    struct addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(port, sizeof(port), "%d", c->port);
    c->gai.data = c;
    c->state = C_RESOLVING;
    int rc = uv_getaddrinfo(cl->loop, &c->gai, on_resolved, c->host, port, &hints);
    if (rc != 0) {
        conn_fail(c, uv_strerror(rc));
        return NULL;
    }
    c->gai_pending = 1;
    return c;
}

/* Starts the stream of a waiting call. */
static void conn_submit(conn_t *c, call_t *call)
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
        call_fail(call, "out of memory");
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
        call_fail(call, why);
        return;
    }
    call->stream_id = id;
    call->in_h2 = 1;
    call->off = 0;
    call->sent_ns = now;
    c->nactive++;
    streams_add(c->cl, 1);
}

/* Starts waiting calls while the server takes streams; a draining connection hands its waiting
 * calls over to a new one. */
static void conn_pump(conn_t *c)
{
    if (c->state != C_READY) {
        return;
    }
    call_t *call = c->calls;
    while (call != NULL) {
        call_t *next = call->next;
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

static void call_place(otlp_grpc_t *cl, call_t *call)
{
    conn_t *c;
    for (c = cl->conns; c != NULL; c = c->next) {
        if (!c->draining && !c->closing && c->is_tls == call->t->tls &&
            strcmp(c->authority, call->t->authority) == 0) {
            break;
        }
    }
    if (c == NULL && cl->closing) {
        call_fail(call, "the flusher is stopping");
        return;
    }
    if (c == NULL && (c = conn_new(cl, call->t, call->deadline_ns)) == NULL) {
        call_fail(call, "cannot open a connection");
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
    for (conn_t *c = cl->conns; c != NULL; c = c->next) {
        if (c->state < C_READY) {
            next = PT_MIN(next, c->connect_deadline_ns);
        }
        if (c->ping_deadline_ns != 0) {
            next = PT_MIN(next, c->ping_deadline_ns);
        }
        if (c->closing) {
            next = PT_MIN(next, c->close_deadline_ns);
        }
        if (c->state == C_READY && c->calls == NULL && c->idle_since_ns != 0 && !c->closing) {
            next = PT_MIN(next, c->idle_since_ns + (uint64_t)cl->idle_ms * 1000000ull);
        }
        for (call_t *call = c->calls; call != NULL; call = call->next) {
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
static void cl_process(otlp_grpc_t *cl)
{
    if (cl->processing) {
        return;
    }
    cl->processing = 1;
    for (;;) {
        call_t *call;
        while ((call = pop(&cl->requeue, &cl->requeue_tail)) != NULL) {
            call_place(cl, call);
        }
        for (conn_t *c = cl->conns, *next; c != NULL; c = next) {
            next = c->next;
            conn_pump(c);
            conn_flush(c);
        }
        if (cl->done == NULL && cl->requeue == NULL) {
            break;
        }
        while ((call = pop(&cl->done, &cl->done_tail)) != NULL) {
            call_deliver(call);
        }
    }
    uint64_t now = pt_now_mono_ns();
    for (conn_t *c = cl->conns; c != NULL; c = c->next) {
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

static void call_expire(conn_t *c, call_t *call, uint64_t now)
{
    snprintf(call->errbuf, sizeof(call->errbuf),
             "deadline exceeded: no answer from %s within %ld ms", c->authority,
             call->t->timeout_ms);
    call->error = call->errbuf;
    if (call->in_h2) {
        nghttp2_submit_rst_stream(c->h2, NGHTTP2_FLAG_NONE, call->stream_id, NGHTTP2_CANCEL);
        /* Nothing heard since the call went out: is anyone there? */
        if (c->state == C_READY && c->last_rx_ns < call->sent_ns && c->ping_deadline_ns == 0 &&
            nghttp2_submit_ping(c->h2, NGHTTP2_FLAG_NONE, NULL) == 0) {
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
    for (conn_t *c = cl->conns, *next; c != NULL; c = next) {
        next = c->next;
        if (c->state < C_READY && now >= c->connect_deadline_ns) {
            conn_fail(c, c->state == C_HANDSHAKE
                             ? "no HTTP/2 SETTINGS from the server in time (is it a gRPC endpoint?)"
                             : "connect timed out");
            continue;
        }
        if (c->ping_deadline_ns != 0 && now >= c->ping_deadline_ns) {
            conn_fail(c, "no answer, not even to a PING: connection presumed dead");
            continue;
        }
        if (c->closing && now >= c->close_deadline_ns) {
            conn_fail(c, "the server does not read our GOAWAY: connection dropped");
            continue;
        }
        for (call_t *call = c->calls, *cn; call != NULL; call = cn) {
            cn = call->next;
            if (!call->reported && !call->queued && now >= call->deadline_ns) {
                call_expire(c, call, now);
            }
        }
        if (c->state == C_READY && c->calls == NULL && c->idle_since_ns != 0 &&
            now >= c->idle_since_ns + (uint64_t)cl->idle_ms * 1000000ull && !c->closing) {
            PT_LOG(PT_LOG_DEBUG, cl->id, "gRPC connection to %s idle for %u ms: closing",
                   c->authority, cl->idle_ms);
            c->closing = 1;
            c->close_deadline_ns = now + CLOSE_MAX_MS * 1000000ull;
            c->draining = 1;
            nghttp2_session_terminate_session(c->h2, NGHTTP2_NO_ERROR);
        }
    }
    cl_process(cl);
}

static void on_timer_closed(uv_handle_t *h)
{
    cl_unref(h->data);
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
    call_t *call;
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
         * run from here, since cl_process delivers only calls finished before this one. */
        cl->processing = 1;
        while ((call = pop(&cl->requeue, &cl->requeue_tail)) != NULL) {
            call_place(cl, call);
        }
        for (conn_t *c = cl->conns, *next; c != NULL; c = next) {
            next = c->next;
            conn_pump(c);
            conn_flush(c);
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
    call_t *call;
    if (cl == NULL) {
        return;
    }
    cl->closing = 1;
    while (cl->conns != NULL) {
        conn_fail(cl->conns, "the flusher is stopping");
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
    conn_t *c;
    call_t *call;
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
        if (c->authority == NULL || c->host == NULL || conn_start_session(c, 0) != 0) {
            conn_fail(c, "out of memory");
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
        cl_process(cl);
        /* The server's bytes in two reads, split where the first byte says. */
        size_t cut = len > 0 ? PT_MIN((size_t)in[0] * 4, len) : 0;
        for (int k = 0; k < 2 && cl->conns == c; k++) {
            const uint8_t *p = k == 0 ? in : in + cut;
            size_t n = k == 0 ? cut : len - cut;
            if (n > 0) {
                conn_recv(c, p, n);
            }
            cl_process(cl);
        }
    } else {
        pt_free(call);
    }
    otlp_grpc_destroy(cl);
    uv_run(&loop, UV_RUN_DEFAULT);
    uv_loop_close(&loop);
    return status;
}
