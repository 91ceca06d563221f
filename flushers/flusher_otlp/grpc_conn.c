/* The connections of flusher_otlp's gRPC client: resolving and connecting (every address of a
 * name in turn), TLS, feeding the nghttp2 session what the socket reads and writing what it has to
 * send, paced by WRITE_HIGH; and failing a connection with every call on it. */
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

/* Output is handed to the socket in chunks of up to WRITE_CHUNK, and nghttp2 is asked for more
 * only while less than WRITE_HIGH waits in the kernel's direction: a slow server holds at most
 * that much per connection here, whatever the size of the messages. */
#define WRITE_CHUNK (256u << 10)
#define WRITE_HIGH (1u << 20)
#define CONNECT_MAX_MS 10000u

typedef struct {
    uv_write_t w;
    otlp_grpc_conn_t *c;
    size_t len;
    char *data;
} wreq_t;

/* ======================================================================= connections ===== */

void otlp_grpc_unref(otlp_grpc_t *cl)
{
    if (--cl->handles == 0 && cl->closing) {
        pt_tls_ctx_destroy(cl->tls);
        nghttp2_session_callbacks_del(cl->cbs);
        pt_free(cl->id);
        pt_free(cl);
    }
}

static void conn_free(otlp_grpc_conn_t *c)
{
    otlp_grpc_t *cl = c->cl;
    if (c->ai != NULL) {
        uv_freeaddrinfo(c->ai);
    }
    pt_free(c->authority);
    pt_free(c->host);
    pt_free(c);
    otlp_grpc_unref(cl);
}

/* Frees the connection once libuv has let go of both its handle and its resolver request. */
static void conn_maybe_free(otlp_grpc_conn_t *c)
{
    if (c->state == OTLP_CONN_DEAD && !c->tcp_open && !c->gai_pending) {
        conn_free(c);
    }
}

static void conn_try_connect(otlp_grpc_conn_t *c);

static void on_tcp_closed(uv_handle_t *h)
{
    otlp_grpc_conn_t *c = h->data;
    c->tcp_open = 0;
    if (c->state != OTLP_CONN_DEAD && c->next_addr) {
        c->next_addr = 0;
        if (uv_tcp_init(c->cl->loop, &c->tcp) == 0) {
            c->tcp.data = c;
            c->tcp_open = 1;
            conn_try_connect(c);
        } else {
            otlp_grpc_conn_fail(c, "cannot create a socket");
        }
        otlp_grpc_process(c->cl);
        return;
    }
    conn_maybe_free(c);
}

/* Ends the connection: every call on it that is not reported yet fails with why (retryable:
 * the delivery layer backs off, and the next call connects again). */
void otlp_grpc_conn_fail(otlp_grpc_conn_t *c, const char *why)
{
    otlp_grpc_t *cl = c->cl;
    char msg[120];
    if (c->state == OTLP_CONN_DEAD) {
        return;
    }
    snprintf(msg, sizeof(msg), "%s: %s", c->authority, why);
    if (c->calls != NULL) {
        PT_LOG(PT_LOG_DEBUG, cl->id, "gRPC connection to %s", msg);
    }
    c->state = OTLP_CONN_DEAD;
    for (otlp_grpc_conn_t **pp = &cl->conns; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    otlp_grpc_call_t *call = c->calls;
    while (call != NULL) {
        otlp_grpc_call_t *next = call->next;
        call->in_h2 = 0;
        otlp_grpc_call_unlink(call);
        if (call->reported) {
            otlp_grpc_call_free(call);
        } else if (!call->queued) {
            /* Sent or not, nobody can say whether the server processed it: the delivery layer
             * decides when to send it again. */
            otlp_grpc_call_fail(call, msg);
        }
        call = next;
    }
    if (c->h2 != NULL) {
        nghttp2_session_del(c->h2);
        c->h2 = NULL;
    }
    pt_tls_destroy(c->tls);
    c->tls = NULL;
    otlp_grpc_streams_add(cl, -(int64_t)c->nactive);
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
    otlp_grpc_conn_t *c = wr->c;
    c->writing -= wr->len;
    pt_free(wr->data);
    pt_free(wr);
    if (c->state == OTLP_CONN_DEAD) {
        return;
    }
    if (status < 0) {
        char why[96];
        snprintf(why, sizeof(why), "write failed: %s", uv_strerror(status));
        otlp_grpc_conn_fail(c, why);
    }
    otlp_grpc_process(c->cl);
}

/* Writes what nghttp2 has to send, while less than WRITE_HIGH is on its way. */
void otlp_grpc_conn_flush(otlp_grpc_conn_t *c)
{
    while (c->state >= OTLP_CONN_HANDSHAKE && c->state != OTLP_CONN_DEAD &&
           c->writing < WRITE_HIGH) {
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
            otlp_grpc_conn_fail(c, nghttp2_strerror((int)n));
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
                otlp_grpc_conn_fail(c, rc == -EPROTO ? "TLS connection failed" : "out of memory");
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
            otlp_grpc_conn_fail(c, "out of memory");
            return;
        }
        wr->c = c;
        wr->data = pt_buf_steal(&out, &wr->len);
        uv_buf_t b = uv_buf_init(wr->data, (unsigned)wr->len);
        int rc = uv_write(&wr->w, (uv_stream_t *)&c->tcp, &b, 1, on_write);
        if (rc != 0) {
            pt_free(wr->data);
            pt_free(wr);
            otlp_grpc_conn_fail(c, uv_strerror(rc));
            return;
        }
        c->writing += wr->len;
    }
    if (c->state == OTLP_CONN_DEAD || c->state < OTLP_CONN_HANDSHAKE || c->writing > 0) {
        return;
    }
    /* All written: a connection we are closing, or one both sides are done with, ends here
     * (over TLS once our close_notify is out too). */
    if (c->closing || (!nghttp2_session_want_read(c->h2) && !nghttp2_session_want_write(c->h2))) {
        if (c->tls != NULL && !c->tls_shut && pt_tls_is_ready(c->tls)) {
            c->tls_shut = 1;
            pt_tls_shutdown(c->tls);
            otlp_grpc_conn_flush(c);
            return;
        }
        otlp_grpc_conn_fail(c, "connection closed");
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

void otlp_grpc_conn_recv(otlp_grpc_conn_t *c, const uint8_t *data, size_t len)
{
    c->last_rx_ns = pt_now_mono_ns();
    c->ping_deadline_ns = 0;
    ssize_t used = nghttp2_session_mem_recv(c->h2, data, len);
    if (used < 0) {
        char why[96];
        snprintf(why, sizeof(why), "HTTP/2 error: %s (is it a gRPC endpoint?)",
                 nghttp2_strerror((int)used));
        otlp_grpc_conn_fail(c, why);
    }
}

/* A failed handshake leaves an alert (e.g. unknown CA) that tells the server why: sent as is,
 * best effort, before the connection is closed. */
static void tls_send_alert(otlp_grpc_conn_t *c)
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
    otlp_grpc_conn_t *c = ud;
    otlp_grpc_conn_recv(c, (const uint8_t *)data, len);
    return c->state == OTLP_CONN_DEAD ? -ECONNABORTED : 0;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    otlp_grpc_conn_t *c = s->data;
    char why[160];
    if (c->state == OTLP_CONN_DEAD) {
        return;
    }
    if (n < 0) {
        otlp_grpc_conn_fail(c,
                            n == UV_EOF ? "the server closed the connection" : uv_strerror((int)n));
    } else if (n > 0 && c->tls == NULL) {
        otlp_grpc_conn_recv(c, (const uint8_t *)buf->base, (size_t)n);
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
            otlp_grpc_conn_fail(c, why);
        } else if (rc == -EPIPE) {
            otlp_grpc_conn_fail(c, "the server closed the connection (close_notify)");
        } else if (rc != 0 && rc != -ECONNABORTED) {
            otlp_grpc_conn_fail(c, pt_strerror(rc));
        }
    }
    otlp_grpc_process(c->cl);
}

/* Connected: the HTTP/2 session starts with the client preface and our SETTINGS; calls wait
 * for the server's SETTINGS, which say how many streams it takes. */
int otlp_grpc_conn_start_session(otlp_grpc_conn_t *c, int tls)
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
    c->state = OTLP_CONN_HANDSHAKE;
    c->last_rx_ns = pt_now_mono_ns();
    return 0;
}

static void on_connected(uv_connect_t *req, int status)
{
    otlp_grpc_conn_t *c = req->data;
    char why[96];
    if (c->state == OTLP_CONN_DEAD) {
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
        otlp_grpc_conn_fail(c, c->last_err);
        otlp_grpc_process(c->cl);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    int rc = otlp_grpc_conn_start_session(c, c->is_tls);
    if (rc == 0) {
        rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
    }
    if (rc != 0) {
        snprintf(why, sizeof(why), "cannot start the session: %s", pt_strerror(rc));
        otlp_grpc_conn_fail(c, why);
    } else {
        pt_counter_inc(c->cl->m_conns);
        PT_LOG(PT_LOG_DEBUG, c->cl->id, "gRPC connection to %s open", c->authority);
    }
    otlp_grpc_process(c->cl);
}

static void conn_try_connect(otlp_grpc_conn_t *c)
{
    const struct sockaddr *sa = NULL;
    if (c->is_lit) {
        sa = c->lit_used ? NULL : (const struct sockaddr *)&c->lit;
        c->lit_used = 1;
    } else if (c->ai_cur != NULL) {
        sa = c->ai_cur->ai_addr;
    }
    if (sa == NULL) {
        otlp_grpc_conn_fail(c, c->last_err[0] ? c->last_err : "no address to connect to");
        return;
    }
    c->state = OTLP_CONN_CONNECTING;
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
        otlp_grpc_conn_fail(c, c->last_err);
    }
}

static void on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    otlp_grpc_conn_t *c = req->data;
    c->gai_pending = 0;
    if (c->state == OTLP_CONN_DEAD) {
        if (res != NULL) {
            uv_freeaddrinfo(res);
        }
        conn_maybe_free(c);
        return;
    }
    if (status < 0 || res == NULL) {
        char why[96];
        snprintf(why, sizeof(why), "cannot resolve %s: %s", c->host, uv_strerror(status));
        otlp_grpc_conn_fail(c, why);
    } else {
        c->ai = c->ai_cur = res;
        conn_try_connect(c);
    }
    otlp_grpc_process(c->cl);
}

/* A new connection to t's authority; resolving and connecting go on in the background. */
otlp_grpc_conn_t *otlp_grpc_conn_new(otlp_grpc_t *cl, const otlp_grpc_target_t *t,
                                     uint64_t deadline_ns)
{
    otlp_grpc_conn_t *c = pt_calloc(1, sizeof(*c));
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
        c->state = OTLP_CONN_CONNECTING;
        otlp_grpc_conn_fail(c, "cannot create a socket");
        return NULL;
    }
    c->tcp.data = c;
    c->tcp_open = 1;
    if (uv_ip4_addr(c->host, c->port, (struct sockaddr_in *)&c->lit) == 0 ||
        uv_ip6_addr(c->host, c->port, (struct sockaddr_in6 *)&c->lit) == 0) {
        c->is_lit = 1;
        conn_try_connect(c);
        return c->state == OTLP_CONN_DEAD ? NULL : c;
    }
    struct addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(port, sizeof(port), "%d", c->port);
    c->gai.data = c;
    c->state = OTLP_CONN_RESOLVING;
    int rc = uv_getaddrinfo(cl->loop, &c->gai, on_resolved, c->host, port, &hints);
    if (rc != 0) {
        otlp_grpc_conn_fail(c, uv_strerror(rc));
        return NULL;
    }
    c->gai_pending = 1;
    return c;
}
