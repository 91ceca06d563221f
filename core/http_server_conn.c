/* One HTTP connection's state machine: reads, timers, the write path, keep-alive and lingering
 * close. Each connection parses one request at a time: llhttp is paused when a request is
 * complete, the handler answers it (now or later), and parsing resumes once the response is
 * written, which keeps pipelined answers in order and bounds what one connection can make us
 * hold to one request plus a small stash of unparsed bytes. */
#include <errno.h>
#include <string.h>

#include "common.h"
#include "http_server_internal.h"
#include "log.h"
#include "mem.h"
#include "metrics.h"

/* Bytes of later (pipelined) requests kept while one is with the handler; past this, reading
 * stops until the response is written. */
#define STASH_MAX (64u * 1024)
/* After a final response on a connection that still has input coming (a rejected body), the
 * write side is shut and input drained for this long, so that closing does not send a RST
 * that could destroy the response before the client reads it (nginx's lingering close). */
#define LINGER_MS 2000u

static void conn_parse(conn_t *c, const char *data, size_t len);
static void on_timer(uv_timer_t *t);

/* ---- timers and reading ------------------------------------------------------------------- */

void pt_http__conn_timer(conn_t *c, uint32_t ms)
{
    c->timer_armed = 1;
    if (!c->fake) {
        uv_timer_start(&c->timer, on_timer, ms, 0);
    }
}

void pt_http__conn_timer_stop(conn_t *c)
{
    c->timer_armed = 0;
    if (!c->fake) {
        uv_timer_stop(&c->timer);
    }
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    conn_t *c = h->data;
    PT_UNUSED(suggested);
    buf->base = c->srv->rbuf;
    buf->len = sizeof(c->srv->rbuf);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);

/* Reads while there is room: always, except while a request is with the handler (or its
 * response is being written) and the stash of later bytes is full. Reading on while the handler
 * works is what lets a client's reset free the connection early. */
void pt_http__conn_update_reading(conn_t *c)
{
    int want;

    if (c->fake || c->state == ST_CLOSED) {
        return;
    }
    want = !c->peer_eof;
    if (c->state == ST_HANDLER || c->state == ST_WRITING) {
        want = want && c->stash_len < STASH_MAX;
    }
    if (want && !c->reading) {
        if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0) {
            c->reading = 1;
        }
    } else if (!want && c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = 0;
    }
}

/* ---- writing ------------------------------------------------------------------------------ */

static void on_write(uv_write_t *w, int status)
{
    wreq_t *wr = (wreq_t *)w;
    conn_t *c = wr->conn;
    pt_free(wr);
    pt_http__conn_write_done(c, status);
}

/* Writes wr's bytes to the socket as they are; takes wr in every case. */
int pt_http__conn_send_raw(conn_t *c, wreq_t *wr)
{
    uv_buf_t buf;
    int rc;

    if (c->fake) {
        rc = pt_buf_append(c->fake_out, wr->data, wr->len);
        pt_free(wr);
        if (rc == 0) {
            c->writes++;
        }
        return rc;
    }
    wr->conn = c;
    buf = uv_buf_init(wr->data, (unsigned int)wr->len);
    rc = uv_write(&wr->w, (uv_stream_t *)&c->tcp, &buf, 1, on_write);
    if (rc != 0) {
        pt_free(wr);
        return rc;
    }
    c->writes++;
    return 0;
}

/* Sends a response (or interim response): encrypted with TLS, as it is otherwise. Takes wr in
 * every case. */
int pt_http__conn_send(conn_t *c, wreq_t *wr)
{
    int rc;

    if (c->tls == NULL) {
        return pt_http__conn_send_raw(c, wr);
    }
    rc = pt_tls_write(c->tls, wr->data, wr->len);
    pt_free(wr);
    return rc != 0 ? rc : pt_http__tls_flush(c);
}

/* ---- connection lifecycle ----------------------------------------------------------------- */

void pt_http__on_conn_handle_closed(uv_handle_t *h)
{
    conn_t *c = h->data;
    pt_http_server_t *srv = c->srv;

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
    srv->n_conns--;
    /* Freed last, not in pt_http__conn_close: a close may happen inside pt_tls_recv's callback. */
    pt_tls_destroy(c->tls);
    pt_free(c);
    pt_http__server_maybe_finish(srv);
}

/* Closes at once. A request with the handler is detached: it stays valid, and answering it
 * just frees it. */
void pt_http__conn_close(conn_t *c)
{
    if (c->state == ST_CLOSED) {
        return;
    }
    c->state = ST_CLOSED;
    if (c->pending != NULL) {
        c->pending->conn = NULL;
        c->pending = NULL;
    }
    pt_http__req_free(c->req);
    c->req = NULL;
    pt_free(c->stash);
    c->stash = NULL;
    c->stash_len = c->stash_cap = 0;
    c->timer_armed = 0;
    if (c->fake) {
        return;
    }
    if (c->srv->m_active != NULL) {
        pt_gauge_add(c->srv->m_active, -1);
    }
    uv_close((uv_handle_t *)&c->tcp, pt_http__on_conn_handle_closed);
    uv_close((uv_handle_t *)&c->timer, pt_http__on_conn_handle_closed);
}

static void on_shutdown(uv_shutdown_t *sr, int status)
{
    conn_t *c = sr->data;
    /* ECANCELED means the handle is already closing. */
    if (status < 0 && status != UV_ECANCELED) {
        pt_http__conn_close(c);
    }
}

void pt_http__conn_linger(conn_t *c)
{
    c->state = ST_LINGER;
    if (c->fake) {
        return;
    }
    pt_http__conn_timer(c, LINGER_MS);
    if (c->tls != NULL) {
        /* close_notify before the FIN tells a TLS client the response was not cut short. */
        pt_tls_shutdown(c->tls);
        if (pt_http__tls_flush(c) != 0) {
            pt_http__conn_close(c);
            return;
        }
    }
    c->shutdown.data = c;
    if (uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
        pt_http__conn_close(c);
        return;
    }
    pt_http__conn_update_reading(c);
}

static int stash_append(conn_t *c, const char *data, size_t len)
{
    if (c->stash_len + len > c->stash_cap) {
        size_t cap = PT_MAX(c->stash_cap * 2, PT_MAX(c->stash_len + len, 4096));
        char *p = pt_realloc(c->stash, cap);
        if (p == NULL) {
            return -ENOMEM;
        }
        c->stash = p;
        c->stash_cap = cap;
    }
    memcpy(c->stash + c->stash_len, data, len);
    c->stash_len += len;
    return 0;
}

/* The response is written and the connection stays: parse what arrived meanwhile. */
static void conn_resume(conn_t *c)
{
    char *data = c->stash;
    size_t len = c->stash_len;

    c->state = ST_IDLE;
    pt_http__conn_timer(c, c->srv->o.idle_timeout_ms);
    if (len > 0) {
        /* The stash is handed over whole: conn_parse stashes any remainder afresh. */
        c->stash = NULL;
        c->stash_len = c->stash_cap = 0;
        conn_parse(c, data, len);
        pt_free(data);
    }
    if (c->peer_eof && (c->state == ST_IDLE || c->state == ST_HEAD || c->state == ST_BODY)) {
        /* The client half-closed and its last request is answered or can never complete. */
        pt_http__conn_close(c);
        return;
    }
    pt_http__conn_update_reading(c);
}

void pt_http__conn_write_done(conn_t *c, int status)
{
    c->writes--;
    if (c->state == ST_CLOSED) {
        return;
    }
    if (status < 0) {
        pt_log_debug("http server %s: write to %s failed: %s", c->srv->name, c->peer_str,
                     uv_strerror(status));
        pt_http__conn_close(c);
        return;
    }
    /* Only the last write of a response moves the connection on (a 100 Continue may be in
     * flight while the body arrives). */
    if (c->writes > 0 || c->state != ST_WRITING) {
        return;
    }
    if (c->close_after) {
        /* Lingering only helps a client that is still sending; on shutdown, speed wins. */
        if (c->peer_eof || c->srv->closing) {
            pt_http__conn_close(c);
        } else {
            pt_http__conn_linger(c);
        }
        return;
    }
    conn_resume(c);
}

void pt_http__conn_on_timeout(conn_t *c)
{
    c->timer_armed = 0;
    switch (c->state) {
    case ST_HEAD:
    case ST_BODY:
        pt_log_debug("http server %s: %s too slow, request timed out", c->srv->name, c->peer_str);
        pt_http__send_error(c, 408);
        break;
    case ST_HANDLER:
        /* Not armed while the handler works. */
        break;
    default:
        /* Idle keep-alive, a client not taking its response, or the end of a linger. */
        if (c->tls != NULL && !pt_tls_is_ready(c->tls)) {
            pt_http__tls_handshake_failed(c, "handshake timed out");
        }
        pt_http__conn_close(c);
        break;
    }
}

static void on_timer(uv_timer_t *t)
{
    pt_http__conn_on_timeout(t->data);
}

/* Hands the complete request to the handler. The handler may answer (and the connection may
 * even close) before this returns; the connection memory stays until its close callbacks. */
static void conn_dispatch(conn_t *c)
{
    req_priv_t *r = c->req;
    pt_http_server_t *srv = c->srv;

    c->req = NULL;
    c->pending = r;
    r->conn = c;
    pt_http__count(srv->m_requests);
    pt_http__conn_update_reading(c);
    srv->cb(&r->pub, srv->ud);
}

/* Runs the parser over bytes that are not in the stash. Stops at the end of a request (the
 * rest is stashed) or at an error (answered and closed). */
static void conn_parse(conn_t *c, const char *data, size_t len)
{
    llhttp_errno_t err = llhttp_execute(&c->parser, data, len);

    if (err == HPE_OK) {
        return;
    }
    if (err == HPE_PAUSED) {
        size_t used = (size_t)(llhttp_get_error_pos(&c->parser) - data);
        llhttp_resume(&c->parser);
        if (used < len && stash_append(c, data + used, len - used) != 0) {
            pt_http__conn_close(c);
            return;
        }
        conn_dispatch(c);
        return;
    }
    if (c->err_status == ERR_CLOSE) {
        pt_http__conn_close(c);
        return;
    }
    pt_log_debug("http server %s: bad request from %s: %s (%s)", c->srv->name, c->peer_str,
                 llhttp_errno_name(err), llhttp_get_error_reason(&c->parser));
    pt_http__send_error(c, c->err_status != 0 ? c->err_status : 400);
}

void pt_http__conn_on_data(conn_t *c, const char *data, size_t len)
{
    switch (c->state) {
    case ST_IDLE:
    case ST_HEAD:
        conn_parse(c, data, len);
        break;
    case ST_BODY:
        pt_http__conn_timer(c, c->srv->o.body_timeout_ms);
        conn_parse(c, data, len);
        break;
    case ST_HANDLER:
    case ST_WRITING:
        if (c->close_after) {
            break; /* this connection ends with the current response */
        }
        if (stash_append(c, data, len) != 0) {
            pt_http__conn_close(c);
            break;
        }
        pt_http__conn_update_reading(c);
        break;
    default:
        break; /* lingering: drain */
    }
}

void pt_http__conn_on_eof(conn_t *c, ssize_t err)
{
    if (err == UV_EOF && (c->state == ST_HANDLER || c->state == ST_WRITING)) {
        /* A half-closed client may still read: answer what it sent, then close. */
        c->peer_eof = 1;
        pt_http__conn_update_reading(c);
        return;
    }
    if (err != UV_EOF) {
        pt_log_debug("http server %s: read from %s failed: %s", c->srv->name, c->peer_str,
                     uv_strerror((int)err));
    }
    pt_http__conn_close(c);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    conn_t *c = s->data;

    if (nread > 0) {
        if (c->tls == NULL) {
            pt_http__conn_on_data(c, buf->base, (size_t)nread);
        } else if (c->state != ST_LINGER) {
            pt_http__conn_on_tls_data(c, buf->base, (size_t)nread);
        }
        /* Lingering: drained unread. */
    } else if (nread < 0) {
        pt_http__conn_on_eof(c, nread);
    }
}
