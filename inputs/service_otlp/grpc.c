/* OTLP/gRPC front end: HTTP/2 with nghttp2 on a libuv TCP server, cleartext (prior knowledge, as
 * every OTLP gRPC exporter speaks it without TLS) or over TLS (core/tls.c, ALPN h2 required).
 * This file holds the server and its connections: accepting, reading into the nghttp2 session,
 * writing what it sends, TLS, timeouts and shutdown; grpc_stream.c turns streams into calls. */
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "core/mem.h"
#include "core/tcp_listen.h"
#include "grpc_internal.h"

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

typedef struct {
    uv_write_t w;
    gconn_t *c;
    size_t len;
    char data[];
} gwrite_t;

static void conn_close(gconn_t *c);

/* ================================================================= connections =========== */

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
            svc_grpc_stream_free(st);
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
    svc_grpc_conn_flush(c);
}

/* Writes whatever nghttp2 (and TLS) has to send, in one write; closes when neither side has
 * more, or once a failed TLS connection's alert is written. */
void svc_grpc_conn_flush(gconn_t *c)
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
        svc_grpc_conn_flush(c);
        return;
    }
    if (c->h2_error != 0) {
        PT_LOG(PT_LOG_DEBUG, c->srv->s->id, "gRPC connection from %s: %s", c->peer,
               nghttp2_strerror(c->h2_error));
        svc_grpc_conn_flush(c);
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
    svc_grpc_conn_flush(c);
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
        svc_grpc_conn_flush(c);
        if (!c->closing) {
            conn_close(c);
        }
        return;
    }
    svc_grpc_conn_flush(c);
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
        svc_grpc_conn_flush(c);
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
            /* Known gap: libuv watches the listener again only once this connection is
             * accepted, so this server accepts nothing more until it restarts (the HTTP
             * server keeps a spare handle for this case). */
            return;
        }
        if (pt_tcp_reject(l, t, NULL, on_reject_closed) == 0) {
            pt_counter_inc(srv->m_rejected);
        }
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
    svc_grpc_conn_flush(c);
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
    int port;
    int rc;
    gserver_t *srv;

    if (svc_parse_endpoint(pc->endpoint, host, sizeof(host), &port) != 0) {
        return -EINVAL;
    }
    if (strcmp(host, "localhost") == 0) {
        snprintf(host, sizeof(host), "127.0.0.1");
    }
    if (pt_tcp_addr_parse(host, port, &ss) != 0) {
        return -EINVAL;
    }
    srv = pt_calloc(1, sizeof(*srv));
    if (srv == NULL) {
        return -ENOMEM;
    }
    srv->s = s;
    srv->max_msg = (size_t)pc->max_msg_mib << 20;
    if (svc_grpc_callbacks_new(&srv->cbs) != 0) {
        pt_free(srv);
        return -ENOMEM;
    }
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
    if ((rc = pt_tcp_listen(&srv->listener, &ss, 511, on_connection)) != 0) {
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
            svc_grpc_conn_flush(c);
            if (!c->closing && c->writing == 0 && !conn_waiting(c)) {
                conn_close(c);
            }
        }
    }
    uv_close((uv_handle_t *)&srv->listener, on_listener_closed);
}
