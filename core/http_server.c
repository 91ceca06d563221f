/* HTTP/1.1 server on libuv and llhttp: options, metrics, the listener (accepting, and closing at
 * once beyond max_connections), and the server's life from create to the close callback. Each
 * connection's state machine is in http_server_conn.c, the parser callbacks in
 * http_server_request.c, responses in http_server_response.c and the TLS glue in
 * http_server_tls.c. */
#include "http_server.h"

#include <errno.h>
#include <string.h>

#include "common.h"
#include "http_server_internal.h"
#include "log.h"
#include "mem.h"
#include "metrics.h"
#include "tcp_listen.h"

#define DEFAULT_MAX_BODY (32u * 1024 * 1024)
#define DEFAULT_MAX_HEADER (16u * 1024)
#define DEFAULT_MAX_HEADERS 100u
#define DEFAULT_MAX_CONNS 1024u
#define DEFAULT_HEADER_TIMEOUT_MS 10000u
#define DEFAULT_BODY_TIMEOUT_MS 30000u
#define DEFAULT_IDLE_TIMEOUT_MS 60000u
#define DEFAULT_BACKLOG 511

/* ---- server ------------------------------------------------------------------------------- */

void pt_http_server_opts_init(pt_http_server_opts_t *o)
{
    memset(o, 0, sizeof(*o));
    o->host = "127.0.0.1";
    o->max_body_size = DEFAULT_MAX_BODY;
    o->max_header_size = DEFAULT_MAX_HEADER;
    o->max_headers = DEFAULT_MAX_HEADERS;
    o->max_connections = DEFAULT_MAX_CONNS;
    o->header_timeout_ms = DEFAULT_HEADER_TIMEOUT_MS;
    o->body_timeout_ms = DEFAULT_BODY_TIMEOUT_MS;
    o->idle_timeout_ms = DEFAULT_IDLE_TIMEOUT_MS;
    o->backlog = DEFAULT_BACKLOG;
}

static int apply_opts(pt_http_server_t *srv, const pt_http_server_opts_t *in)
{
    pt_http_server_opts_t *o = &srv->o;

    if (in != NULL) {
        *o = *in;
    } else {
        pt_http_server_opts_init(o);
    }
    if (o->port < 0 || o->port > 65535 || o->backlog < 0 || o->max_body_size > UINT32_MAX - 1 ||
        o->max_header_size > UINT32_MAX / 2) {
        return -EINVAL;
    }
    if (o->host == NULL) {
        o->host = "127.0.0.1";
    }
    o->max_body_size = o->max_body_size ? o->max_body_size : DEFAULT_MAX_BODY;
    o->max_header_size = o->max_header_size ? o->max_header_size : DEFAULT_MAX_HEADER;
    o->max_headers = o->max_headers ? o->max_headers : DEFAULT_MAX_HEADERS;
    o->max_connections = o->max_connections ? o->max_connections : DEFAULT_MAX_CONNS;
    o->header_timeout_ms = o->header_timeout_ms ? o->header_timeout_ms : DEFAULT_HEADER_TIMEOUT_MS;
    o->body_timeout_ms = o->body_timeout_ms ? o->body_timeout_ms : DEFAULT_BODY_TIMEOUT_MS;
    o->idle_timeout_ms = o->idle_timeout_ms ? o->idle_timeout_ms : DEFAULT_IDLE_TIMEOUT_MS;
    o->backlog = o->backlog ? o->backlog : DEFAULT_BACKLOG;
    srv->name = pt_strdup(o->name != NULL ? o->name : "http");
    if (srv->name == NULL) {
        return -ENOMEM;
    }
    /* The copies must not point at the caller's strings, which may go away. */
    o->name = srv->name;
    o->host = NULL;
    return 0;
}

static void metrics_unregister(pt_http_server_t *srv)
{
    pt_metrics_counter_unregister(srv->m_accepted);
    pt_metrics_counter_unregister(srv->m_rejected);
    pt_metrics_counter_unregister(srv->m_requests);
    for (size_t i = 0; i < PT_ARRAY_SIZE(srv->m_responses); i++) {
        pt_metrics_counter_unregister(srv->m_responses[i]);
        srv->m_responses[i] = NULL;
    }
    pt_metrics_gauge_unregister(srv->m_active);
    pt_metrics_counter_unregister(srv->m_tls_failed);
    srv->m_tls_failed = NULL;
    srv->m_accepted = srv->m_rejected = srv->m_requests = NULL;
    srv->m_active = NULL;
}

static int metrics_register(pt_http_server_t *srv)
{
    static const char *const classes[] = {"2xx", "3xx", "4xx", "5xx"};
    pt_buf_t lab;
    size_t base;
    int rc;

    pt_buf_init(&lab);
    if ((rc = pt_metrics_label_append(&lab, "server", srv->name)) != 0 ||
        (rc = pt_buf_putc(&lab, '\0')) != 0) {
        goto done;
    }
    if ((rc = pt_metrics_counter_register("petrel_http_connections_accepted_total",
                                          "HTTP connections accepted.", lab.data,
                                          &srv->m_accepted)) != 0 ||
        (rc = pt_metrics_counter_register("petrel_http_connections_rejected_total",
                                          "HTTP connections closed at once because the server "
                                          "was at max connections.",
                                          lab.data, &srv->m_rejected)) != 0 ||
        (rc = pt_metrics_gauge_register("petrel_http_connections_active", "HTTP connections open.",
                                        lab.data, &srv->m_active)) != 0 ||
        (rc = pt_metrics_counter_register("petrel_http_requests_total",
                                          "HTTP requests received complete and passed to the "
                                          "handler.",
                                          lab.data, &srv->m_requests)) != 0) {
        goto done;
    }
    if (srv->o.tls != NULL &&
        (rc = pt_metrics_counter_register("petrel_http_tls_handshake_failures_total",
                                          "TLS handshakes that failed or timed out (plaintext "
                                          "clients, untrusted or missing certificates, no "
                                          "common protocol version or cipher).",
                                          lab.data, &srv->m_tls_failed)) != 0) {
        goto done;
    }
    base = lab.len - 1; /* drop the NUL to append the class label */
    for (size_t i = 0; i < PT_ARRAY_SIZE(classes); i++) {
        lab.len = base;
        if ((rc = pt_metrics_label_append(&lab, "class", classes[i])) != 0 ||
            (rc = pt_buf_putc(&lab, '\0')) != 0 ||
            (rc = pt_metrics_counter_register("petrel_http_responses_total",
                                              "HTTP responses sent, by status class.", lab.data,
                                              &srv->m_responses[i])) != 0) {
            goto done;
        }
    }
done:
    pt_buf_free(&lab);
    return rc;
}

void pt_http__server_maybe_finish(pt_http_server_t *srv)
{
    if (!srv->closing || srv->listener_open || srv->n_conns > 0 || srv->n_rejects > 0) {
        return;
    }
    metrics_unregister(srv);
    if (srv->close_cb != NULL) {
        srv->close_cb(srv, srv->close_ud);
    }
    pt_tls_ctx_destroy(srv->o.tls);
    pt_free(srv->name);
    pt_free(srv);
}

static void on_listener_closed(uv_handle_t *h)
{
    pt_http_server_t *srv = h->data;
    srv->listener_open = 0;
    pt_http__server_maybe_finish(srv);
}

static void on_create_failed_closed(uv_handle_t *h)
{
    pt_http_server_t *srv = h->data;
    pt_tls_ctx_destroy(srv->o.tls);
    pt_free(srv->name);
    pt_free(srv);
}

static void on_connection(uv_stream_t *listener, int status);

static void on_reject_closed(uv_handle_t *h)
{
    pt_http_server_t *srv = h->data;
    srv->n_rejects--;
    pt_free(h);
    pt_http__server_maybe_finish(srv);
}

static void on_spare_closed(uv_handle_t *h)
{
    pt_http_server_t *srv = h->data;
    srv->n_rejects--;
    srv->spare_busy = 0;
    if (srv->accept_stalled && !srv->closing) {
        /* libuv stops polling a listener whose last connection was not accepted. */
        srv->accept_stalled = 0;
        on_connection((uv_stream_t *)&srv->listener, 0);
        return;
    }
    pt_http__server_maybe_finish(srv);
}

/* Accepts and closes at once. A pending connection must always be accepted: libuv stops
 * watching the listener until it is. */
static void server_reject(pt_http_server_t *srv)
{
    uv_tcp_t *t = pt_malloc(sizeof(*t));
    uv_close_cb done = on_reject_closed;

    if (t == NULL) {
        if (srv->spare_busy) {
            srv->accept_stalled = 1;
            pt_log_error("http server %s: out of memory, accepting paused", srv->name);
            return;
        }
        t = &srv->spare;
        srv->spare_busy = 1;
        done = on_spare_closed;
    }
    if (pt_tcp_reject((uv_stream_t *)&srv->listener, t, srv, done) == 0) {
        pt_http__count(srv->m_rejected);
    }
    srv->n_rejects++;
}

static void on_connection(uv_stream_t *listener, int status)
{
    pt_http_server_t *srv = listener->data;
    int namelen = sizeof(struct sockaddr_storage);
    conn_t *c;

    if (status < 0) {
        pt_log_warn("http server %s: accept failed: %s", srv->name, uv_strerror(status));
        return;
    }
    if (srv->closing) {
        return;
    }
    if (srv->n_conns >= srv->o.max_connections) {
        pt_log_debug("http server %s: at %u connections, rejecting one", srv->name, srv->n_conns);
        server_reject(srv);
        return;
    }
    c = pt_calloc(1, sizeof(*c));
    if (c == NULL) {
        server_reject(srv);
        return;
    }
    c->srv = srv;
    uv_tcp_init(srv->loop, &c->tcp);
    uv_timer_init(srv->loop, &c->timer);
    c->tcp.data = c;
    c->timer.data = c;
    c->handles = 2;
    c->next = srv->conns;
    if (srv->conns != NULL) {
        srv->conns->prev = c;
    }
    srv->conns = c;
    srv->n_conns++;
    if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
        c->state = ST_CLOSED;
        uv_close((uv_handle_t *)&c->tcp, pt_http__on_conn_handle_closed);
        uv_close((uv_handle_t *)&c->timer, pt_http__on_conn_handle_closed);
        return;
    }
    pt_http__count(srv->m_accepted);
    if (srv->m_active != NULL) {
        pt_gauge_add(srv->m_active, 1);
    }
    /* Each response goes out in one write; Nagle would only delay it behind a delayed ACK. */
    uv_tcp_nodelay(&c->tcp, 1);
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&c->peer, &namelen) != 0) {
        c->peer.ss_family = AF_UNSPEC;
    }
    pt_tcp_addr_format(&c->peer, c->peer_str, sizeof(c->peer_str));
    pt_http__parser_init(c);
    c->state = ST_IDLE;
    c->first = 1;
    if (srv->o.tls != NULL && pt_tls_create(srv->o.tls, NULL, &c->tls) != 0) {
        pt_http__conn_close(c);
        return;
    }
    pt_http__conn_timer(c, srv->o.header_timeout_ms);
    pt_http__conn_update_reading(c);
    if (!c->reading) {
        pt_http__conn_close(c);
    }
}

int pt_http_server_create(uv_loop_t *loop, const pt_http_server_opts_t *opts, pt_http_request_cb cb,
                          void *ud, pt_http_server_t **out)
{
    struct sockaddr_storage ss;
    pt_http_server_t *srv;
    int rc;

    if (loop == NULL || cb == NULL || out == NULL) {
        return -EINVAL;
    }
    srv = pt_calloc(1, sizeof(*srv));
    if (srv == NULL) {
        return -ENOMEM;
    }
    srv->loop = loop;
    srv->cb = cb;
    srv->ud = ud;
    rc = apply_opts(srv, opts);
    /* Held until the server is freed; each connection takes its own as well. */
    if (srv->o.tls != NULL) {
        pt_tls_ctx_ref(srv->o.tls);
    }
    if (rc != 0 ||
        (rc = pt_tcp_addr_parse(opts != NULL && opts->host != NULL ? opts->host : "127.0.0.1",
                                srv->o.port, &ss)) != 0) {
        goto fail;
    }
    if ((rc = metrics_register(srv)) != 0) {
        goto fail;
    }
    if ((rc = uv_tcp_init(loop, &srv->listener)) != 0) {
        goto fail;
    }
    srv->listener.data = srv;
    if ((rc = pt_tcp_listen(&srv->listener, &ss, srv->o.backlog, on_connection)) != 0) {
        pt_log_error("http server %s: cannot listen on %s:%d: %s", srv->name,
                     opts != NULL && opts->host != NULL ? opts->host : "127.0.0.1", srv->o.port,
                     uv_strerror(rc));
        metrics_unregister(srv);
        /* The handle is registered with the loop: its memory can go only in the callback. */
        uv_close((uv_handle_t *)&srv->listener, on_create_failed_closed);
        return rc;
    }
    srv->listener_open = 1;
    *out = srv;
    return 0;

fail:
    metrics_unregister(srv);
    pt_tls_ctx_destroy(srv->o.tls);
    pt_free(srv->name);
    pt_free(srv);
    return rc;
}

int pt_http_server_port(const pt_http_server_t *srv)
{
    return pt_tcp_port(&srv->listener);
}

void pt_http_server_close(pt_http_server_t *srv, pt_http_server_close_cb cb, void *ud)
{
    PT_ASSERT(!srv->closing);
    srv->closing = 1;
    srv->close_cb = cb;
    srv->close_ud = ud;
    uv_close((uv_handle_t *)&srv->listener, on_listener_closed);
    /* pt_http__conn_close unlinks nothing until the close callbacks, so the walk is safe. */
    for (conn_t *c = srv->conns; c != NULL; c = c->next) {
        if (c->state == ST_HANDLER || c->state == ST_WRITING) {
            c->close_after = 1;
        } else {
            pt_http__conn_close(c);
        }
    }
}

/* ---- test hook ---------------------------------------------------------------------------- */

int pt_http__feed(const pt_http_server_opts_t *opts, const void *data, size_t len, size_t chunk,
                  int fire_timeout, pt_http_request_cb cb, pt_http__tick_cb tick, void *ud,
                  pt_buf_t *out)
{
    const char *bytes = data;
    pt_http_server_t *srv;
    conn_t *c = NULL;
    size_t pos = 0;
    int rc;

    if (cb == NULL || out == NULL || (len > 0 && data == NULL)) {
        return -EINVAL;
    }
    srv = pt_calloc(1, sizeof(*srv));
    if (srv == NULL) {
        return -ENOMEM;
    }
    srv->cb = cb;
    srv->ud = ud;
    if ((rc = apply_opts(srv, opts)) != 0) {
        goto done;
    }
    srv->o.tls = NULL; /* the hook feeds plaintext */
    c = pt_calloc(1, sizeof(*c));
    if (c == NULL) {
        rc = -ENOMEM;
        goto done;
    }
    c->srv = srv;
    c->fake = 1;
    c->fake_out = out;
    c->peer.ss_family = AF_UNSPEC;
    snprintf(c->peer_str, sizeof(c->peer_str), "test");
    pt_http__parser_init(c);
    c->state = ST_IDLE;
    c->first = 1;
    c->timer_armed = 1;
    if (chunk == 0 || chunk > READ_BUF_SIZE) {
        chunk = READ_BUF_SIZE;
    }
    while (c->state != ST_CLOSED) {
        size_t n = PT_MIN(chunk, len - pos);
        if (n > 0) {
            /* Through the shared read buffer, poisoned afterwards, as a real read goes: a view
             * left pointing into it shows up as garbage. */
            memcpy(srv->rbuf, bytes + pos, n);
            pt_http__conn_on_data(c, srv->rbuf, n);
            memset(srv->rbuf, 0xA5, n);
            pos += n;
        }
        while (c->writes > 0) {
            pt_http__conn_write_done(c, 0);
        }
        if (tick != NULL) {
            tick(ud);
            while (c->writes > 0) {
                pt_http__conn_write_done(c, 0);
            }
        }
        if (pos == len) {
            break;
        }
    }
    if (fire_timeout && c->state != ST_CLOSED && c->timer_armed) {
        pt_http__conn_on_timeout(c);
        while (c->writes > 0) {
            pt_http__conn_write_done(c, 0);
        }
    }
    if (c->state != ST_CLOSED) {
        pt_http__conn_on_eof(c, UV_EOF);
        while (c->writes > 0) {
            pt_http__conn_write_done(c, 0);
        }
    }
    pt_http__conn_close(c);
    rc = 0;
done:
    pt_free(c);
    pt_free(srv->name);
    pt_free(srv);
    return rc;
}
