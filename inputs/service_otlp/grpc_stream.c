/* OTLP/gRPC streams: each HTTP/2 stream of a connection is one unary Export call. Its
 * length-prefixed message (gzip or deflate by grpc-encoding) goes to the shared ingest path, and
 * the answer is HEADERS, DATA (the Export*ServiceResponse) and trailers with grpc-status; errors
 * are trailers-only with the status codes of the OTLP spec (RESOURCE_EXHAUSTED oversize,
 * UNAVAILABLE + RetryInfo when full, INVALID_ARGUMENT malformed, UNAUTHENTICATED,
 * UNIMPLEMENTED). nghttp2 does the flow control: windows are opened as the data is taken, so
 * messages larger than the 64 KiB initial window flow at the window we advertise. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "core/mem.h"
#include "grpc_internal.h"

#define GRPC_PREFIX 5

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

void svc_grpc_stream_free(gstream_t *st)
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
static void on_call_finish(svc_call_t *call)
{
    gstream_t *st = (gstream_t *)call;
    st->pending = 0;
    if (st->conn == NULL || st->closed) {
        /* The client or its connection went away while the call waited. */
        stream_unlink(st);
        svc_grpc_stream_free(st);
        return;
    }
    stream_set_result(st);
    stream_respond(st);
    /* A stopping server closes the connection once this is written. */
    svc_grpc_conn_flush(st->conn);
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
    svc_grpc_stream_free(st);
    return 0;
}

int svc_grpc_callbacks_new(nghttp2_session_callbacks **out)
{
    if (nghttp2_session_callbacks_new(out) != 0) {
        return -ENOMEM;
    }
    nghttp2_session_callbacks_set_on_begin_headers_callback(*out, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(*out, on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(*out, on_data_chunk);
    nghttp2_session_callbacks_set_on_frame_recv_callback(*out, on_frame_recv);
    nghttp2_session_callbacks_set_on_stream_close_callback(*out, on_stream_close);
    return 0;
}
