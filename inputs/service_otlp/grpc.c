/* OTLP/gRPC front end: HTTP/2 with nghttp2 on a libuv TCP server, cleartext (prior knowledge, as
 * every OTLP gRPC exporter speaks it without TLS) or over TLS (core/tls.c, ALPN h2 required). Each
 * stream is one unary Export call: its length-prefixed message (gzip or deflate by grpc-encoding)
 * goes to the shared ingest path, and the answer is HEADERS, DATA (the Export*ServiceResponse) and
 * trailers with grpc-status; errors are trailers-only with the status codes of the OTLP spec
 * (RESOURCE_EXHAUSTED oversize, UNAVAILABLE + RetryInfo when full, INVALID_ARGUMENT malformed,
 * UNAUTHENTICATED, UNIMPLEMENTED). nghttp2 does the flow control: windows are opened as the data is
 * taken, so messages larger than the 64 KiB initial window flow at the window we advertise. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <nghttp2/nghttp2.h>

#include "core/log.h"
#include "core/mem.h"
#include "service_otlp_internal.h"

/* Per-stream and per-connection receive windows we advertise: large enough that a 512-span
 * export (a few hundred KiB) is one round trip, small enough to bound what a client can make
 * us buffer beyond its messages. */
#define STREAM_WINDOW (1 << 20)
#define CONN_WINDOW (8 << 20)
/* Stop reading from a client that does not read its answers. */
#define WRITE_HIGH (1 << 20)
/* A connection with no stream open is closed after this long. */
#define IDLE_MS (300u * 1000u)
/* Failed TLS handshakes are logged at most once per this interval, with a count of the rest. */
#define TLS_LOG_INTERVAL_NS 1000000000ull
#define GRPC_PREFIX 5

typedef struct gconn_s gconn_t;
typedef struct gserver_s gserver_t;

typedef struct gstream_s {
    svc_call_t call; /* first: finish() gets &call */
    gconn_t *conn;   /* NULL once the connection is gone */
    int32_t id;
    int signal;      /* 0: unknown path */
    int path_seen;   /* :path received */
    int method_post; /* :method POST */
    int ct_grpc;     /* content-type application/grpc[+proto] */
    int ct_seen;
    int enc; /* grpc-encoding; -1 unsupported */
    int auth_ok;
    int oversize;  /* the message grew past the cap: discarded */
    int pending;   /* svc_ingest is not done with it */
    int closed;    /* nghttp2 closed the stream */
    pt_buf_t body; /* the request's DATA */
    pt_buf_t resp; /* the response DATA being sent */
    size_t resp_off;
    int status;        /* grpc-status for the trailers */
    char message[256]; /* grpc-message */
    char details[512]; /* grpc-status-details-bin (base64), "" for none */
    struct gstream_s *next;
    struct gstream_s *prev;
} gstream_t;

struct gconn_s {
    uv_tcp_t tcp;
    uv_timer_t timer;
    gserver_t *srv;
    nghttp2_session *h2;
    gstream_t *streams;
    gconn_t *next;
    gconn_t *prev;
    size_t writing; /* bytes handed to uv_write and not yet written */
    uint64_t last_rx_ns;
    int handles;
    int closing;
    int reading;
    int h2_error;  /* nghttp2's error from TLS plaintext, 0 for none */
    int tls_dead;  /* TLS failed: send its alert, then close */
    pt_tls_t *tls; /* NULL: cleartext */
    uint64_t source;
    char peer[64];
};

struct gserver_s {
    svc_t *s;
    uv_tcp_t listener;
    gconn_t *conns;
    uint32_t nconns;
    int closing;
    int listener_open;
    nghttp2_session_callbacks *cbs;
    size_t max_msg;
    pt_counter_t *m_conns;
    pt_counter_t *m_rejected;
    pt_counter_t *m_tls_failed;
    uint64_t tls_log_ns;     /* when a failed handshake was last logged */
    uint32_t tls_suppressed; /* failures not logged since */
};

typedef struct {
    uv_write_t w;
    gconn_t *c;
    size_t len;
    char data[];
} gwrite_t;

static void conn_close(gconn_t *c);
static void conn_flush(gconn_t *c);
static void stream_respond(gstream_t *st);

/* ===================================================================== helpers =========== */

static const char *const export_paths[] = {
    NULL,
    "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
    "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
    "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
};

static int name_is(const uint8_t *n, size_t len, const char *want)
{
    return len == strlen(want) && memcmp(n, want, len) == 0;
}

/* grpc-message is percent-encoded outside printable ASCII (and '%' itself). */
static void percent_encode(const char *in, char *out, size_t cap)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t k = 0;
    for (const unsigned char *p = (const unsigned char *)in; *p != '\0' && k + 4 < cap; p++) {
        if (*p >= 0x20 && *p <= 0x7e && *p != '%') {
            out[k++] = (char)*p;
        } else {
            out[k++] = '%';
            out[k++] = hex[*p >> 4];
            out[k++] = hex[*p & 15];
        }
    }
    out[k] = '\0';
}

/* Sets the stream's final status; for UNAVAILABLE, a google.rpc.Status with RetryInfo goes in
 * grpc-status-details-bin so clients wait the delay we ask for. */
static void set_status(gstream_t *st, int code, const char *msg, uint32_t retry_ms)
{
    st->status = code;
    percent_encode(msg != NULL ? msg : "", st->message, sizeof(st->message));
    st->details[0] = '\0';
    if (retry_ms > 0) {
        pt_buf_t b;
        pt_buf_init(&b);
        if (pt_otlp_encode_status(0, code, msg, retry_ms, &b) == 0 &&
            (b.len + 2) / 3 * 4 < sizeof(st->details)) {
            /* gRPC writes "-bin" metadata as unpadded base64. */
            st->details[pt_otlp_b64_encode((const uint8_t *)b.data, b.len, st->details, 0)] = '\0';
        }
        pt_buf_free(&b);
    }
}

/* ===================================================================== streams =========== */

static void stream_free(gstream_t *st)
{
    pt_buf_free(&st->body);
    pt_buf_free(&st->resp);
    pt_free(st);
}

static void stream_unlink(gstream_t *st)
{
    gconn_t *c = st->conn;
    if (c == NULL) {
        return;
    }
    if (st->prev != NULL) {
        st->prev->next = st->next;
    } else {
        c->streams = st->next;
    }
    if (st->next != NULL) {
        st->next->prev = st->prev;
    }
    st->next = st->prev = NULL;
}

static ssize_t on_resp_read(nghttp2_session *h2, int32_t id, uint8_t *buf, size_t len,
                            uint32_t *flags, nghttp2_data_source *src, void *ud)
{
    gstream_t *st = src->ptr;
    size_t n = PT_MIN(len, st->resp.len - st->resp_off);
    char status[16];

    PT_UNUSED(ud);
    memcpy(buf, st->resp.data + st->resp_off, n);
    st->resp_off += n;
    if (st->resp_off == st->resp.len) {
        nghttp2_nv tr[2];
        size_t ntr = 1;
        snprintf(status, sizeof(status), "%d", st->status);
        tr[0] = (nghttp2_nv){(uint8_t *)"grpc-status", (uint8_t *)status, 11, strlen(status),
                             NGHTTP2_NV_FLAG_NONE};
        if (st->message[0] != '\0') {
            tr[1] = (nghttp2_nv){(uint8_t *)"grpc-message", (uint8_t *)st->message, 12,
                                 strlen(st->message), NGHTTP2_NV_FLAG_NONE};
            ntr = 2;
        }
        *flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
        if (nghttp2_submit_trailer(h2, id, tr, ntr) != 0) {
            *flags &= ~(uint32_t)NGHTTP2_DATA_FLAG_NO_END_STREAM;
        }
    }
    return (ssize_t)n;
}

#define NV(n, v)                                                                                   \
    (nghttp2_nv)                                                                                   \
    {                                                                                              \
        (uint8_t *)(n), (uint8_t *)(v), strlen(n), strlen(v), NGHTTP2_NV_FLAG_NONE                 \
    }

/* Sends the answer of a finished call: a response message with trailers, or trailers only. */
static void stream_respond(gstream_t *st)
{
    gconn_t *c = st->conn;
    nghttp2_nv nv[6];
    size_t n = 0;
    char status[16];
    int rc;

    nv[n++] = NV(":status", "200");
    nv[n++] = NV("content-type", "application/grpc");
    nv[n++] = NV("grpc-accept-encoding", "identity,gzip,deflate");
    if (st->status == PT_GRPC_OK) {
        nghttp2_data_provider prd;
        prd.source.ptr = st;
        prd.read_callback = on_resp_read;
        rc = nghttp2_submit_response(c->h2, st->id, nv, n, &prd);
    } else {
        snprintf(status, sizeof(status), "%d", st->status);
        nv[n++] = NV("grpc-status", status);
        if (st->message[0] != '\0') {
            nv[n++] = NV("grpc-message", st->message);
        }
        if (st->details[0] != '\0') {
            nv[n++] = NV("grpc-status-details-bin", st->details);
        }
        rc = nghttp2_submit_response(c->h2, st->id, nv, n, NULL);
    }
    if (rc != 0) {
        nghttp2_submit_rst_stream(c->h2, NGHTTP2_FLAG_NONE, st->id, NGHTTP2_INTERNAL_ERROR);
    }
}

/* The call's result as gRPC: status, message, and the response message for OK. */
static void stream_set_result(gstream_t *st)
{
    svc_call_t *c = &st->call;
    svc_t *s = c->s;
    switch (c->result) {
    case SVC_OK: {
        uint8_t hdr[GRPC_PREFIX] = {0};
        pt_buf_t msg;
        pt_buf_init(&msg);
        if (pt_otlp_encode_response(c->signal, 0, c->rejected, c->msg, &msg) != 0 ||
            pt_buf_append(&st->resp, hdr, sizeof(hdr)) != 0 ||
            pt_buf_append(&st->resp, msg.data, msg.len) != 0) {
            set_status(st, PT_GRPC_INTERNAL, "out of memory", 0);
        } else {
            uint32_t n = (uint32_t)msg.len;
            st->resp.data[1] = (char)(n >> 24);
            st->resp.data[2] = (char)(n >> 16);
            st->resp.data[3] = (char)(n >> 8);
            st->resp.data[4] = (char)n;
            st->status = PT_GRPC_OK;
        }
        pt_buf_free(&msg);
        break;
    }
    case SVC_BAD_REQUEST:
    case SVC_UNSUPPORTED:
        PT_LOG(PT_LOG_DEBUG, s->id, "bad gRPC request from %s: %s", st->conn->peer, c->msg);
        set_status(st, PT_GRPC_INVALID_ARGUMENT, c->msg, 0);
        break;
    case SVC_TOO_LARGE:
        set_status(st, PT_GRPC_RESOURCE_EXHAUSTED, c->msg, 0);
        break;
    case SVC_UNAVAILABLE:
        set_status(st, PT_GRPC_UNAVAILABLE, c->msg, (uint32_t)s->c->retry_after_s * 1000);
        break;
    default:
        set_status(st, PT_GRPC_INTERNAL, c->msg, 0);
        break;
    }
}

/* 1 while a call of the connection still waits for the ingest path (the pipeline was full, or
 * DurableAck waits for its acks): a stopping server keeps such a connection to answer it. */
static int conn_waiting(const gconn_t *c)
{
    for (const gstream_t *st = c->streams; st != NULL; st = st->next) {
        if (st->pending && !st->closed) {
            return 1;
        }
    }
    return 0;
}

static void on_call_finish(svc_call_t *call)
{
    gstream_t *st = (gstream_t *)call;
    st->pending = 0;
    if (st->conn == NULL || st->closed) {
        /* The client or its connection went away while the call waited. */
        stream_unlink(st);
        stream_free(st);
        return;
    }
    stream_set_result(st);
    stream_respond(st);
    conn_flush(st->conn); /* a stopping server closes the connection once this is written */
}

/* A complete request: checks, then the message to the ingest path. */
static void stream_request(gstream_t *st)
{
    gconn_t *c = st->conn;
    svc_t *s = c->srv->s;
    const uint8_t *p = (const uint8_t *)st->body.data;
    size_t len = st->body.len;
    uint32_t mlen;

    if (!st->method_post || !st->ct_grpc) {
        /* Not gRPC: the gRPC over HTTP/2 spec answers such requests with HTTP 415. */
        nghttp2_nv nv[2] = {NV(":status", st->method_post ? "415" : "405"),
                            NV("content-type", "text/plain")};
        nghttp2_submit_response(c->h2, st->id, nv, 2, NULL);
        return;
    }
    if (!st->auth_ok) {
        PT_LOG(PT_LOG_DEBUG, s->id, "unauthenticated gRPC request from %s", c->peer);
        pt_counter_inc(s->m_bad);
        set_status(st, PT_GRPC_UNAUTHENTICATED, "missing or wrong bearer token", 0);
        stream_respond(st);
        return;
    }
    if (st->signal == 0) {
        set_status(st, PT_GRPC_UNIMPLEMENTED,
                   "unknown method: OTLP/gRPC serves the Export methods of TraceService, "
                   "MetricsService and LogsService",
                   0);
        stream_respond(st);
        return;
    }
    if (st->enc < 0) {
        set_status(st, PT_GRPC_UNIMPLEMENTED, "unsupported grpc-encoding: use gzip or identity", 0);
        stream_respond(st);
        return;
    }
    if (st->oversize) {
        char msg[128];
        snprintf(msg, sizeof(msg), "the message is larger than the limit of %zu bytes",
                 c->srv->max_msg);
        pt_counter_inc(s->m_bad);
        set_status(st, PT_GRPC_RESOURCE_EXHAUSTED, msg, 0);
        stream_respond(st);
        return;
    }
    if (len < GRPC_PREFIX ||
        (mlen = (uint32_t)p[1] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 8 | p[4],
         (size_t)mlen != len - GRPC_PREFIX) ||
        p[0] > 1 || (p[0] == 1 && st->enc == PT_ENC_IDENTITY)) {
        pt_counter_inc(s->m_bad);
        set_status(st, PT_GRPC_INVALID_ARGUMENT,
                   len < GRPC_PREFIX ? "truncated gRPC message"
                   : p[0] > 1        ? "invalid gRPC compressed flag"
                   : p[0] == 1       ? "compressed gRPC message without grpc-encoding"
                                     : "the gRPC length prefix does not match the data",
                   0);
        stream_respond(st);
        return;
    }
    st->call.s = s;
    st->call.signal = st->signal;
    st->call.json = 0;
    st->call.source = c->source;
    st->call.finish = on_call_finish;
    st->call.transport = st;
    st->pending = 1;
    if (svc_ingest(&st->call, p + GRPC_PREFIX, mlen,
                   p[0] == 1 ? (pt_encoding_t)st->enc : PT_ENC_IDENTITY,
                   c->srv->max_msg) == PT_DONE) {
        pt_buf_free(&st->body); /* read only during svc_ingest: not kept while the call waits */
        return;                 /* answered by on_call_finish */
    }
    st->pending = 0;
    pt_buf_free(&st->body);
    stream_set_result(st);
    stream_respond(st);
}

/* ===================================================================== nghttp2 =========== */

static int on_begin_headers(nghttp2_session *h2, const nghttp2_frame *f, void *ud)
{
    gconn_t *c = ud;
    gstream_t *st;

    if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST) {
        return 0;
    }
    st = pt_calloc(1, sizeof(*st));
    if (st == NULL) {
        nghttp2_submit_rst_stream(h2, NGHTTP2_FLAG_NONE, f->hd.stream_id, NGHTTP2_REFUSED_STREAM);
        return 0;
    }
    st->conn = c;
    st->id = f->hd.stream_id;
    st->auth_ok = svc_auth_ok(c->srv->s, PT_STR_NULL);
    pt_buf_init(&st->body);
    pt_buf_init(&st->resp);
    st->next = c->streams;
    if (c->streams != NULL) {
        c->streams->prev = st;
    }
    c->streams = st;
    nghttp2_session_set_stream_user_data(h2, st->id, st);
    return 0;
}

static int on_header(nghttp2_session *h2, const nghttp2_frame *f, const uint8_t *name,
                     size_t namelen, const uint8_t *value, size_t valuelen, uint8_t flags, void *ud)
{
    gstream_t *st = nghttp2_session_get_stream_user_data(h2, f->hd.stream_id);
    pt_str_t v = pt_str((const char *)value, valuelen);

    PT_UNUSED(flags);
    PT_UNUSED(ud);
    if (st == NULL || f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST) {
        return 0;
    }
    if (name_is(name, namelen, ":path")) {
        st->path_seen = 1;
        for (int sig = 1; sig <= 3; sig++) {
            if (pt_str_eq_c(v, export_paths[sig])) {
                st->signal = sig;
            }
        }
    } else if (name_is(name, namelen, ":method")) {
        st->method_post = pt_str_eq_c(v, "POST");
    } else if (name_is(name, namelen, "content-type")) {
        st->ct_seen = 1;
        st->ct_grpc = valuelen >= 16 &&
                      strncasecmp((const char *)value, "application/grpc", 16) == 0 &&
                      (valuelen == 16 || value[16] == '+' || value[16] == ';');
    } else if (name_is(name, namelen, "grpc-encoding")) {
        int enc = pt_otlp_encoding_parse(v);
        st->enc = enc == PT_ENC_ZSTD ? -1 : enc; /* gRPC names zstd nowhere; refuse it */
    } else if (name_is(name, namelen, "authorization")) {
        st->auth_ok = svc_auth_ok(st->conn->srv->s, v);
    }
    return 0;
}

static int on_data_chunk(nghttp2_session *h2, uint8_t flags, int32_t id, const uint8_t *data,
                         size_t len, void *ud)
{
    gstream_t *st = nghttp2_session_get_stream_user_data(h2, id);
    gconn_t *c = ud;

    PT_UNUSED(flags);
    if (st == NULL || st->oversize) {
        return 0;
    }
    /* The cap applies to the message (plus its prefix); past it the rest is only counted. */
    if (st->body.len + len > c->srv->max_msg + GRPC_PREFIX) {
        st->oversize = 1;
        pt_buf_free(&st->body);
        return 0;
    }
    if (pt_buf_append(&st->body, data, len) != 0) {
        st->oversize = 1; /* out of memory: refused like an oversize message */
        pt_buf_free(&st->body);
    }
    return 0;
}

static int on_frame_recv(nghttp2_session *h2, const nghttp2_frame *f, void *ud)
{
    PT_UNUSED(ud);
    if ((f->hd.type == NGHTTP2_DATA || f->hd.type == NGHTTP2_HEADERS) &&
        (f->hd.flags & NGHTTP2_FLAG_END_STREAM)) {
        gstream_t *st = nghttp2_session_get_stream_user_data(h2, f->hd.stream_id);
        if (st != NULL && !st->pending && st->status == 0 && st->resp.len == 0) {
            stream_request(st);
        }
    }
    return 0;
}

static int on_stream_close(nghttp2_session *h2, int32_t id, uint32_t code, void *ud)
{
    gstream_t *st = nghttp2_session_get_stream_user_data(h2, id);
    PT_UNUSED(code);
    PT_UNUSED(ud);
    if (st == NULL) {
        return 0;
    }
    nghttp2_session_set_stream_user_data(h2, id, NULL);
    if (st->pending) {
        st->closed = 1; /* freed when the call finishes */
        return 0;
    }
    stream_unlink(st);
    stream_free(st);
    return 0;
}

/* ================================================================= connections =========== */

static void on_conn_closed(uv_handle_t *h)
{
    gconn_t *c = h->data;
    gserver_t *srv = c->srv;
    if (--c->handles > 0) {
        return;
    }
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        srv->conns = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    srv->nconns--;
    pt_tls_destroy(c->tls);
    pt_free(c);
    if (srv->closing && srv->nconns == 0 && !srv->listener_open) {
        pt_free(srv);
    }
}

static void conn_close(gconn_t *c)
{
    if (c->closing) {
        return;
    }
    c->closing = 1;
    /* Streams still in the pipeline's hands are detached; they free themselves when the call
     * finishes. The others go now. */
    gstream_t *st = c->streams;
    while (st != NULL) {
        gstream_t *next = st->next;
        st->next = st->prev = NULL;
        if (st->pending) {
            st->conn = NULL;
        } else {
            stream_free(st);
        }
        st = next;
    }
    c->streams = NULL;
    nghttp2_session_del(c->h2);
    c->h2 = NULL;
    uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
    uv_close((uv_handle_t *)&c->timer, on_conn_closed);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    static char rbuf[64 * 1024];
    /* One loop thread: nghttp2 copies what it keeps before the next read. */
    PT_UNUSED(h);
    PT_UNUSED(suggested);
    buf->base = rbuf;
    buf->len = sizeof(rbuf);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);

static void conn_update_reading(gconn_t *c)
{
    /* Once the server stops, nothing more is read: a request completing now would reach an
     * ingest path that is going away. */
    int want = !c->closing && !c->srv->closing && !c->tls_dead && c->writing < WRITE_HIGH;
    if (want && !c->reading) {
        if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0) {
            c->reading = 1;
        }
    } else if (!want && c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = 0;
    }
}

static void on_write(uv_write_t *w, int status)
{
    gwrite_t *gw = (gwrite_t *)w;
    gconn_t *c = gw->c;
    c->writing -= gw->len;
    pt_free(gw);
    if (c->closing) {
        return;
    }
    if (status < 0 || (c->srv->closing && c->writing == 0 && !conn_waiting(c))) {
        conn_close(c);
        return;
    }
    conn_update_reading(c);
    conn_flush(c);
}

/* Writes whatever nghttp2 (and TLS) has to send, in one write; closes when neither side has
 * more, or once a failed TLS connection's alert is written. */
static void conn_flush(gconn_t *c)
{
    pt_buf_t out;
    const uint8_t *data;
    ssize_t n = 0;

    if (c->closing) {
        return;
    }
    pt_buf_init(&out);
    while (!c->tls_dead && (n = nghttp2_session_mem_send(c->h2, &data)) > 0) {
        if (pt_buf_append(&out, data, (size_t)n) != 0) {
            pt_buf_free(&out);
            conn_close(c);
            return;
        }
    }
    if (n < 0) {
        pt_buf_free(&out);
        conn_close(c);
        return;
    }
    if (c->tls != NULL) {
        /* Encrypted in place of the frames; before the handshake completes TLS holds them. */
        if (out.len > 0 && pt_tls_write(c->tls, out.data, out.len) != 0) {
            c->tls_dead = 1;
        }
        out.len = 0;
        if (pt_tls_out_take(c->tls, &out) != 0) {
            pt_buf_free(&out);
            conn_close(c);
            return;
        }
    }
    if (out.len > 0) {
        gwrite_t *gw = pt_malloc(sizeof(*gw) + out.len);
        uv_buf_t b;
        if (gw == NULL) {
            pt_buf_free(&out);
            conn_close(c);
            return;
        }
        gw->c = c;
        gw->len = out.len;
        memcpy(gw->data, out.data, out.len);
        pt_buf_free(&out);
        b = uv_buf_init(gw->data, (unsigned)gw->len);
        if (uv_write(&gw->w, (uv_stream_t *)&c->tcp, &b, 1, on_write) != 0) {
            pt_free(gw);
            conn_close(c);
            return;
        }
        c->writing += gw->len;
        conn_update_reading(c);
        return;
    }
    pt_buf_free(&out);
    if (c->writing == 0 && (c->tls_dead || (!nghttp2_session_want_read(c->h2) &&
                                            !nghttp2_session_want_write(c->h2)))) {
        conn_close(c);
    }
}

/* Counts a failed TLS handshake and logs it at debug, at most once a second: a scanner or a
 * fleet of misconfigured clients must not flood the log. */
static void tls_handshake_failed(gconn_t *c, const char *why)
{
    gserver_t *srv = c->srv;
    uint64_t now = pt_now_mono_ns();

    if (srv->m_tls_failed != NULL) { /* NULL once the server stopped */
        pt_counter_inc(srv->m_tls_failed);
    }
    if (srv->tls_log_ns != 0 && now - srv->tls_log_ns < TLS_LOG_INTERVAL_NS) {
        srv->tls_suppressed++;
        return;
    }
    if (srv->tls_suppressed > 0) {
        PT_LOG(PT_LOG_DEBUG, srv->s->id,
               "gRPC TLS handshake with %s failed: %s (and %u more since the last message)",
               c->peer, why, srv->tls_suppressed);
    } else {
        PT_LOG(PT_LOG_DEBUG, srv->s->id, "gRPC TLS handshake with %s failed: %s", c->peer, why);
    }
    srv->tls_log_ns = now;
    srv->tls_suppressed = 0;
}

/* Plaintext out of TLS goes to nghttp2; its error stops the read. */
static int on_tls_plain(void *ud, const char *data, size_t len)
{
    gconn_t *c = ud;
    ssize_t used = nghttp2_session_mem_recv(c->h2, (const uint8_t *)data, len);
    if (used < 0) {
        c->h2_error = (int)used;
        return 1;
    }
    return c->closing ? 1 : 0;
}

/* The TLS read path: ends like the cleartext one (a protocol error or the peer's close), or
 * with a TLS failure whose alert is written before the connection closes. */
static void conn_on_tls_read(gconn_t *c, const uv_buf_t *buf, size_t n)
{
    int was_ready = pt_tls_is_ready(c->tls);
    /* The plaintext reuses the read buffer: TLS copied the ciphertext out of it first. */
    int rc = pt_tls_recv(c->tls, buf->base, n, buf->base, buf->len, on_tls_plain, c);

    if (c->closing) {
        return;
    }
    if (rc == 0) {
        conn_flush(c);
        return;
    }
    if (c->h2_error != 0) {
        PT_LOG(PT_LOG_DEBUG, c->srv->s->id, "gRPC connection from %s: %s", c->peer,
               nghttp2_strerror(c->h2_error));
        conn_flush(c);
        if (!c->closing) {
            conn_close(c);
        }
        return;
    }
    if (rc == -EPIPE) {
        conn_close(c); /* close_notify: as a FIN in cleartext */
        return;
    }
    if (!was_ready && !pt_tls_is_ready(c->tls)) {
        tls_handshake_failed(c, rc == -EPROTO ? pt_tls_error_text(c->tls) : pt_strerror(rc));
    } else {
        PT_LOG(PT_LOG_DEBUG, c->srv->s->id, "gRPC connection from %s: TLS error: %s", c->peer,
               rc == -EPROTO ? pt_tls_error_text(c->tls) : pt_strerror(rc));
    }
    c->tls_dead = 1;
    conn_update_reading(c);
    conn_flush(c);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    gconn_t *c = s->data;
    if (n < 0) {
        conn_close(c);
        return;
    }
    if (n == 0) {
        return;
    }
    c->last_rx_ns = pt_now_mono_ns();
    if (c->tls != NULL) {
        conn_on_tls_read(c, buf, (size_t)n);
        return;
    }
    ssize_t used = nghttp2_session_mem_recv(c->h2, (const uint8_t *)buf->base, (size_t)n);
    if (used < 0) {
        PT_LOG(PT_LOG_DEBUG, c->srv->s->id, "gRPC connection from %s: %s", c->peer,
               nghttp2_strerror((int)used));
        /* nghttp2 has queued a GOAWAY for protocol errors: send it, then the connection ends
         * once nothing is left to write. */
        conn_flush(c);
        if (!c->closing) {
            conn_close(c);
        }
        return;
    }
    conn_flush(c);
}

/* Idle connections and clients that stall half-way through a request are closed. */
static void on_timer(uv_timer_t *t)
{
    gconn_t *c = t->data;
    svc_t *s = c->srv->s;
    uint64_t quiet_ms = (pt_now_mono_ns() - c->last_rx_ns) / 1000000u;
    int incomplete = 0;

    for (gstream_t *st = c->streams; st != NULL; st = st->next) {
        incomplete |= !st->pending && st->status == 0 && st->resp.len == 0;
    }
    /* A TLS handshake gets as long as a stalled request would. */
    if (c->tls != NULL && !pt_tls_is_ready(c->tls) && !c->tls_dead &&
        quiet_ms >= (uint64_t)s->c->grpc.read_timeout_s * 1000u) {
        tls_handshake_failed(c, "handshake timed out");
        conn_close(c);
        return;
    }
    if ((incomplete && quiet_ms >= (uint64_t)s->c->grpc.read_timeout_s * 1000u) ||
        (c->streams == NULL && quiet_ms >= IDLE_MS)) {
        PT_LOG(PT_LOG_DEBUG, s->id, "gRPC connection from %s: %s, closing", c->peer,
               incomplete ? "request stalled" : "idle");
        nghttp2_session_terminate_session(c->h2, NGHTTP2_NO_ERROR);
        conn_flush(c);
        if (!c->closing) {
            conn_close(c);
        }
    }
}

static void on_reject_closed(uv_handle_t *h)
{
    pt_free(h);
}

static void on_connection(uv_stream_t *l, int status)
{
    gserver_t *srv = l->data;
    svc_t *s = srv->s;
    gconn_t *c;
    struct sockaddr_storage ss;
    int namelen = sizeof(ss);
    nghttp2_settings_entry iv[2];

    if (status < 0 || srv->closing) {
        return;
    }
    if (srv->nconns >= (uint32_t)s->c->grpc.max_connections ||
        (c = pt_calloc(1, sizeof(*c))) == NULL) {
        uv_tcp_t *t = pt_malloc(sizeof(*t));
        if (t == NULL) {
            return; /* libuv retries on the next readiness */
        }
        uv_tcp_init(l->loop, t);
        if (uv_accept(l, (uv_stream_t *)t) == 0) {
            pt_counter_inc(srv->m_rejected);
        }
        uv_close((uv_handle_t *)t, on_reject_closed);
        return;
    }
    c->srv = srv;
    uv_tcp_init(l->loop, &c->tcp);
    uv_timer_init(l->loop, &c->timer);
    c->tcp.data = c->timer.data = c;
    c->handles = 2;
    c->next = srv->conns;
    if (srv->conns != NULL) {
        srv->conns->prev = c;
    }
    srv->conns = c;
    srv->nconns++;
    if (uv_accept(l, (uv_stream_t *)&c->tcp) != 0 ||
        nghttp2_session_server_new(&c->h2, srv->cbs, c) != 0 ||
        (s->tls_grpc != NULL && pt_tls_create(s->tls_grpc, NULL, &c->tls) != 0)) {
        c->h2 = NULL;
        c->closing = 1;
        uv_close((uv_handle_t *)&c->tcp, on_conn_closed);
        uv_close((uv_handle_t *)&c->timer, on_conn_closed);
        return;
    }
    pt_counter_inc(srv->m_conns);
    uv_tcp_nodelay(&c->tcp, 1);
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &namelen) == 0) {
        char ip[64] = "";
        int port = 0;
        if (ss.ss_family == AF_INET) {
            uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof(ip));
            port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        } else {
            uv_ip6_name((struct sockaddr_in6 *)&ss, ip, sizeof(ip));
            port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        }
        snprintf(c->peer, sizeof(c->peer), "%s:%d", ip, port);
    }
    c->source = svc_source_of(c->peer);
    iv[0] = (nghttp2_settings_entry){NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS,
                                     (uint32_t)s->c->grpc.max_streams};
    iv[1] = (nghttp2_settings_entry){NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, STREAM_WINDOW};
    nghttp2_submit_settings(c->h2, NGHTTP2_FLAG_NONE, iv, 2);
    nghttp2_session_set_local_window_size(c->h2, NGHTTP2_FLAG_NONE, 0, CONN_WINDOW);
    c->last_rx_ns = pt_now_mono_ns();
    uv_timer_start(&c->timer, on_timer, 1000, 1000);
    conn_update_reading(c);
    conn_flush(c);
}

/* ==================================================================== server ============= */

static void on_listener_closed(uv_handle_t *h)
{
    gserver_t *srv = h->data;
    srv->listener_open = 0;
    if (srv->nconns == 0) {
        pt_free(srv);
    }
}

int svc_grpc_start(svc_t *s)
{
    const svc_proto_conf_t *pc = &s->c->grpc;
    struct sockaddr_storage ss;
    char host[256];
    char bare[256];
    int port;
    int rc;
    gserver_t *srv;

    if (svc_parse_endpoint(pc->endpoint, host, sizeof(host), &port) != 0) {
        return -EINVAL;
    }
    if (strcmp(host, "localhost") == 0) {
        snprintf(host, sizeof(host), "127.0.0.1");
    }
    snprintf(bare, sizeof(bare), "%s", host);
    if (bare[0] == '[') {
        memmove(bare, bare + 1, strlen(bare));
        bare[strlen(bare) - 1] = '\0';
    }
    if (uv_ip4_addr(bare, port, (struct sockaddr_in *)&ss) != 0 &&
        uv_ip6_addr(bare, port, (struct sockaddr_in6 *)&ss) != 0) {
        return -EINVAL;
    }
    srv = pt_calloc(1, sizeof(*srv));
    if (srv == NULL) {
        return -ENOMEM;
    }
    srv->s = s;
    srv->max_msg = (size_t)pc->max_msg_mib << 20;
    if (nghttp2_session_callbacks_new(&srv->cbs) != 0) {
        pt_free(srv);
        return -ENOMEM;
    }
    nghttp2_session_callbacks_set_on_begin_headers_callback(srv->cbs, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(srv->cbs, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(srv->cbs, on_data_chunk);
    nghttp2_session_callbacks_set_on_frame_recv_callback(srv->cbs, on_frame_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(srv->cbs, on_stream_close);
    srv->m_conns = pt_plugin_counter(s->inst, "petrel_otlp_grpc_connections_total",
                                     "gRPC connections accepted");
    srv->m_rejected = pt_plugin_counter(s->inst, "petrel_otlp_grpc_connections_rejected_total",
                                        "gRPC connections closed at once (MaxConnections)");
    if (s->tls_grpc != NULL) {
        srv->m_tls_failed = pt_plugin_counter(
            s->inst, "petrel_otlp_grpc_tls_handshake_failures_total",
            "gRPC TLS handshakes that failed or timed out (plaintext or non-h2 clients, "
            "untrusted or missing certificates)");
    }
    uv_tcp_init(s->loop, &srv->listener);
    srv->listener.data = srv;
    srv->listener_open = 1;
    s->grpc = srv;
    if ((rc = uv_tcp_bind(&srv->listener, (struct sockaddr *)&ss, 0)) != 0 ||
        (rc = uv_listen((uv_stream_t *)&srv->listener, 511, on_connection)) != 0) {
        pt_plg_error(s->id, "cannot listen on %s (gRPC): %s", pc->endpoint, uv_strerror(rc));
        return rc; /* svc_grpc_stop frees it */
    }
    pt_plg_info(s->id, "OTLP/gRPC listening on %s%s", pc->endpoint,
                s->tls_grpc != NULL ? " (TLS)" : "");
    return 0;
}

void svc_grpc_stop(svc_t *s)
{
    gserver_t *srv = s->grpc;
    if (srv == NULL) {
        return;
    }
    s->grpc = NULL;
    srv->closing = 1;
    nghttp2_session_callbacks_del(srv->cbs);
    srv->cbs = NULL;
    pt_plugin_counter_free(srv->m_conns);
    pt_plugin_counter_free(srv->m_rejected);
    pt_plugin_counter_free(srv->m_tls_failed);
    srv->m_conns = srv->m_rejected = srv->m_tls_failed = NULL;
    /* Say goodbye, stop reading, and close once the answers are written. Calls waiting for the
     * pipeline were refused by fail_pending before this; DurableAck calls still waiting for
     * their acks keep their connection (a GOAWAY that lets their streams finish) until they are
     * answered, at the latest when the receiver is destroyed. */
    for (gconn_t *c = srv->conns; c != NULL; c = c->next) {
        if (!c->closing) {
            uv_timer_stop(&c->timer);
            conn_update_reading(c);
            if (conn_waiting(c)) {
                nghttp2_submit_goaway(c->h2, NGHTTP2_FLAG_NONE,
                                      nghttp2_session_get_last_proc_stream_id(c->h2),
                                      NGHTTP2_NO_ERROR, NULL, 0);
            } else {
                nghttp2_session_terminate_session(c->h2, NGHTTP2_NO_ERROR);
            }
            conn_flush(c);
            if (!c->closing && c->writing == 0 && !conn_waiting(c)) {
                conn_close(c);
            }
        }
    }
    uv_close((uv_handle_t *)&srv->listener, on_listener_closed);
}
