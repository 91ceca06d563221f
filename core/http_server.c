/* HTTP/1.1 server on libuv and llhttp. Each connection parses one request at a time: llhttp is
 * paused when a request is complete, the handler answers it (now or later), and parsing resumes
 * once the response is written, which keeps pipelined answers in order and bounds what one
 * connection can make us hold to one request plus a small stash of unparsed bytes. With TLS,
 * core/tls.c sits between the socket and this state machine: reads are decrypted before they
 * reach the parser and every write is encrypted on its way out. */
#include "http_server.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

#include <llhttp.h>

#include "common.h"
#include "http_server_internal.h"
#include "log.h"
#include "mem.h"
#include "metrics.h"

#define DEFAULT_MAX_BODY (32u * 1024 * 1024)
#define DEFAULT_MAX_HEADER (16u * 1024)
#define DEFAULT_MAX_HEADERS 100u
#define DEFAULT_MAX_CONNS 1024u
#define DEFAULT_HEADER_TIMEOUT_MS 10000u
#define DEFAULT_BODY_TIMEOUT_MS 30000u
#define DEFAULT_IDLE_TIMEOUT_MS 60000u
#define DEFAULT_BACKLOG 511

/* One read buffer serves every connection of a server: libuv calls alloc, read(2) and the read
 * callback back to back on the loop thread, and the parser copies out what it keeps. */
#define READ_BUF_SIZE (64u * 1024)
/* Bytes of later (pipelined) requests kept while one is with the handler; past this, reading
 * stops until the response is written. */
#define STASH_MAX (64u * 1024)
/* After a final response on a connection that still has input coming (a rejected body), the
 * write side is shut and input drained for this long, so that closing does not send a RST
 * that could destroy the response before the client reads it (nginx's lingering close). */
#define LINGER_MS 2000u

/* Failed TLS handshakes (scanners, plaintext clients, untrusted certificates) are logged at
 * most once per this interval per server, with a count of the ones not shown. */
#define TLS_LOG_INTERVAL_NS 1000000000ull

#define ERR_BODY_MAX 64
/* err_status meaning "close without an answer": parser callbacks never close the connection
 * themselves, since llhttp and the callback still use it until llhttp_execute returns. */
#define ERR_CLOSE (-1)

/* ---- types -------------------------------------------------------------------------------- */

typedef enum {
    ST_IDLE,    /* between requests: no byte of the next one yet */
    ST_HEAD,    /* request line and headers arriving */
    ST_BODY,    /* body arriving */
    ST_HANDLER, /* complete request with the handler; parsing paused */
    ST_WRITING, /* response queued; parsing resumes when it is written */
    ST_LINGER,  /* last response written, write side shut, draining input until EOF */
    ST_CLOSED,  /* handles closing; memory goes in the close callbacks */
} conn_state_t;

typedef enum { HDR_NONE, HDR_FIELD, HDR_VALUE } hdr_cb_t;

typedef struct conn_s conn_t;

/* Offsets into the request's head buffer, which may move while headers arrive. */
typedef struct hdr_s {
    uint32_t name_off;
    uint32_t name_len;
    uint32_t val_off;
    uint32_t val_len;
} hdr_t;

/* The request as the handler sees it (pub, first so the two convert by cast) and what backs
 * its views. Owned by the connection while it is parsed, by the handler after dispatch. */
typedef struct req_priv_s {
    pt_http_req_t pub;
    conn_t *conn; /* NULL once the connection is gone */
    char *head;   /* request target, then header names and values, back to back */
    uint32_t head_len;
    uint32_t head_cap;
    uint32_t url_len;
    hdr_t *hdrs;
    uint32_t n_hdrs;
    uint32_t cap_hdrs;
    char *body;
    size_t body_len;
    size_t body_cap;
    int keep_alive;
    int is_head;
    struct sockaddr_storage peer;
    char peer_str[64];
} req_priv_t;

/* A response or interim response in flight; the bytes follow the struct. */
typedef struct wreq_s {
    uv_write_t w;
    conn_t *conn;
    size_t len;
    char data[];
} wreq_t;

struct conn_s {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_shutdown_t shutdown;
    llhttp_t parser;
    pt_http_server_t *srv;
    conn_t *prev;
    conn_t *next;
    req_priv_t *req;     /* being parsed */
    req_priv_t *pending; /* with the handler */
    char *stash;         /* unparsed bytes received while a request is with the handler */
    size_t stash_len;
    size_t stash_cap;
    conn_state_t state;
    int err_status; /* status a parser callback chose when it failed the request, or
                     * ERR_CLOSE */
    hdr_cb_t last_hdr_cb;
    uint32_t trailer_bytes;
    unsigned writes;    /* writes in flight */
    unsigned handles;   /* open handles; freed when it reaches 0 */
    unsigned first : 1; /* no request seen yet: the header timer runs from the accept */
    unsigned headers_done : 1;
    unsigned close_after : 1; /* close once the current response is written */
    unsigned peer_eof : 1;    /* client sent FIN; nothing more will be read */
    unsigned reading : 1;
    unsigned fake : 1; /* pt_http__feed: no socket, no timer */
    unsigned timer_armed : 1;
    pt_buf_t *fake_out;
    pt_tls_t *tls; /* NULL: plaintext */
    struct sockaddr_storage peer;
    char peer_str[64];
};

struct pt_http_server_s {
    uv_loop_t *loop;
    uv_tcp_t listener;
    uv_tcp_t spare; /* accepts-and-closes when allocation fails, so accept never stalls */
    pt_http_request_cb cb;
    void *ud;
    pt_http_server_opts_t o;
    char *name;
    conn_t *conns;
    uint32_t n_conns;   /* connections not yet freed (open or closing) */
    uint32_t n_rejects; /* rejected sockets whose handles are closing */
    unsigned listener_open : 1;
    unsigned closing : 1;
    unsigned spare_busy : 1;
    unsigned accept_stalled : 1;
    pt_http_server_close_cb close_cb;
    void *close_ud;
    pt_counter_t *m_accepted;
    pt_counter_t *m_rejected;
    pt_counter_t *m_requests;
    pt_counter_t *m_responses[4]; /* 2xx, 3xx, 4xx, 5xx */
    pt_gauge_t *m_active;
    pt_counter_t *m_tls_failed;
    uint64_t tls_log_ns;     /* when a failed handshake was last logged */
    uint32_t tls_suppressed; /* failures not logged since */
    char rbuf[READ_BUF_SIZE];
};

static int on_message_begin(llhttp_t *p);
static int on_url(llhttp_t *p, const char *at, size_t len);
static int on_header_field(llhttp_t *p, const char *at, size_t len);
static int on_header_value(llhttp_t *p, const char *at, size_t len);
static int on_headers_complete(llhttp_t *p);
static int on_body(llhttp_t *p, const char *at, size_t len);
static int on_message_complete(llhttp_t *p);

static const llhttp_settings_t parser_settings = {
    .on_message_begin = on_message_begin,
    .on_url = on_url,
    .on_header_field = on_header_field,
    .on_header_value = on_header_value,
    .on_headers_complete = on_headers_complete,
    .on_body = on_body,
    .on_message_complete = on_message_complete,
};

static void conn_close(conn_t *c);
static void conn_parse(conn_t *c, const char *data, size_t len);
static void on_timer(uv_timer_t *t);

/* ---- small helpers ------------------------------------------------------------------------ */

static void count(pt_counter_t *m)
{
    /* Metrics are absent under pt_http__feed. */
    if (m != NULL) {
        pt_counter_inc(m);
    }
}

static void count_status(pt_http_server_t *srv, int status)
{
    if (status >= 200 && status < 600) {
        count(srv->m_responses[status / 100 - 2]);
    }
}

static int ieq(pt_str_t a, const char *b)
{
    size_t n = strlen(b);
    return a.len == n && (n == 0 || strncasecmp(a.ptr, b, n) == 0);
}

/* Reason phrases as RFC 9110 names them. */
static const struct {
    int status;
    const char *reason;
} reasons[] = {
    {100, "Continue"},
    {200, "OK"},
    {201, "Created"},
    {202, "Accepted"},
    {204, "No Content"},
    {206, "Partial Content"},
    {301, "Moved Permanently"},
    {302, "Found"},
    {303, "See Other"},
    {304, "Not Modified"},
    {307, "Temporary Redirect"},
    {308, "Permanent Redirect"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {406, "Not Acceptable"},
    {408, "Request Timeout"},
    {409, "Conflict"},
    {410, "Gone"},
    {411, "Length Required"},
    {413, "Content Too Large"},
    {414, "URI Too Long"},
    {415, "Unsupported Media Type"},
    {417, "Expectation Failed"},
    {422, "Unprocessable Content"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
    {505, "HTTP Version Not Supported"},
    {507, "Insufficient Storage"},
};

const char *pt_http_reason(int status)
{
    for (size_t i = 0; i < PT_ARRAY_SIZE(reasons); i++) {
        if (reasons[i].status == status) {
            return reasons[i].reason;
        }
    }
    return "";
}

/* ---- timers and reading ------------------------------------------------------------------- */

static void conn_timer(conn_t *c, uint32_t ms)
{
    c->timer_armed = 1;
    if (!c->fake) {
        uv_timer_start(&c->timer, on_timer, ms, 0);
    }
}

static void conn_timer_stop(conn_t *c)
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
static void conn_update_reading(conn_t *c)
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

/* ---- requests ----------------------------------------------------------------------------- */

static void req_free(req_priv_t *r)
{
    if (r != NULL) {
        pt_free(r->head);
        pt_free(r->hdrs);
        pt_free(r->body);
        pt_free(r);
    }
}

static pt_str_t req_hdr_name(const req_priv_t *r, const hdr_t *h)
{
    return pt_str(r->head + h->name_off, h->name_len);
}

static pt_str_t req_hdr_value(const req_priv_t *r, const hdr_t *h)
{
    /* A header with an empty value never saw a value callback: point just past its name so the
     * view is non-NULL ("present, empty"). */
    if (h->val_len == 0) {
        return pt_str(r->head + h->name_off + h->name_len, 0);
    }
    return pt_str(r->head + h->val_off, h->val_len);
}

pt_str_t pt_http_req_header(const pt_http_req_t *req, const char *name)
{
    const req_priv_t *r = (const req_priv_t *)req;
    for (uint32_t i = 0; i < r->n_hdrs; i++) {
        if (ieq(req_hdr_name(r, &r->hdrs[i]), name)) {
            return req_hdr_value(r, &r->hdrs[i]);
        }
    }
    return PT_STR_NULL;
}

size_t pt_http_req_header_count(const pt_http_req_t *req)
{
    return ((const req_priv_t *)req)->n_hdrs;
}

int pt_http_req_header_at(const pt_http_req_t *req, size_t i, pt_str_t *name, pt_str_t *value)
{
    const req_priv_t *r = (const req_priv_t *)req;
    if (i >= r->n_hdrs) {
        return -ERANGE;
    }
    *name = req_hdr_name(r, &r->hdrs[i]);
    *value = req_hdr_value(r, &r->hdrs[i]);
    return 0;
}

const struct sockaddr *pt_http_req_peer_addr(const pt_http_req_t *req)
{
    return (const struct sockaddr *)&((const req_priv_t *)req)->peer;
}

const char *pt_http_req_peer(const pt_http_req_t *req)
{
    return ((const req_priv_t *)req)->peer_str;
}

/* ---- writing ------------------------------------------------------------------------------ */

static void conn_write_done(conn_t *c, int status);

static void on_write(uv_write_t *w, int status)
{
    wreq_t *wr = (wreq_t *)w;
    conn_t *c = wr->conn;
    pt_free(wr);
    conn_write_done(c, status);
}

/* Writes wr's bytes to the socket as they are; takes wr in every case. */
static int conn_send_raw(conn_t *c, wreq_t *wr)
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

/* Writes whatever TLS has to send (handshake, alerts, tickets, encrypted responses). */
static int conn_tls_flush(conn_t *c)
{
    size_t n = pt_tls_out_pending(c->tls);
    wreq_t *wr;

    if (n == 0) {
        return 0;
    }
    wr = pt_malloc(sizeof(*wr) + n);
    if (wr == NULL) {
        return -ENOMEM;
    }
    wr->len = pt_tls_out_read(c->tls, wr->data, n);
    return conn_send_raw(c, wr);
}

/* Sends a response (or interim response): encrypted with TLS, as it is otherwise. Takes wr in
 * every case. */
static int conn_send(conn_t *c, wreq_t *wr)
{
    int rc;

    if (c->tls == NULL) {
        return conn_send_raw(c, wr);
    }
    rc = pt_tls_write(c->tls, wr->data, wr->len);
    pt_free(wr);
    return rc != 0 ? rc : conn_tls_flush(c);
}

static int is_tchar(unsigned char ch)
{
    /* RFC 9110 token characters. */
    if ((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')) {
        return 1;
    }
    return ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

static int valid_token(pt_str_t s)
{
    if (s.len == 0 || s.ptr == NULL) {
        return 0;
    }
    for (uint32_t i = 0; i < s.len; i++) {
        if (!is_tchar((unsigned char)s.ptr[i])) {
            return 0;
        }
    }
    return 1;
}

/* Header values must not smuggle a line break (response splitting) or a NUL. */
static int valid_value(pt_str_t s)
{
    for (uint32_t i = 0; i < s.len; i++) {
        char ch = s.ptr[i];
        if (ch == '\r' || ch == '\n' || ch == '\0') {
            return 0;
        }
    }
    return 1;
}

static int check_response(int status, const char *content_type, const pt_str_t *extra,
                          size_t n_extra, int *close)
{
    if (status < 200 || status > 599) {
        return -EINVAL;
    }
    if (content_type != NULL && !valid_value(pt_str_c(content_type))) {
        return -EINVAL;
    }
    if (n_extra > 0 && extra == NULL) {
        return -EINVAL;
    }
    for (size_t i = 0; i < n_extra; i++) {
        pt_str_t name = extra[2 * i];
        pt_str_t value = extra[2 * i + 1];
        if (!valid_token(name) || (value.len > 0 && value.ptr == NULL) || !valid_value(value)) {
            return -EINVAL;
        }
        if (ieq(name, "content-length") || ieq(name, "transfer-encoding")) {
            return -EINVAL;
        }
        if (ieq(name, "connection")) {
            if (!ieq(value, "close")) {
                return -EINVAL;
            }
            *close = 1;
        }
    }
    return 0;
}

/* Builds the whole response in one allocation: the head in a scratch buffer, then head and
 * body copied behind a write request. NULL on ENOMEM. */
static wreq_t *build_response(int status, const char *content_type, const pt_str_t *extra,
                              size_t n_extra, const void *body, size_t len, int send_body,
                              int close, int http10)
{
    int no_body = status == 204 || status == 304;
    pt_buf_t h;
    wreq_t *wr = NULL;
    size_t body_bytes;
    int rc;

    pt_buf_init(&h);
    rc = pt_buf_appendf(&h, "HTTP/1.1 %d %s\r\n", status, pt_http_reason(status));
    if (rc == 0 && content_type != NULL) {
        rc = pt_buf_appendf(&h, "Content-Type: %s\r\n", content_type);
    }
    if (rc == 0 && !no_body) {
        rc = pt_buf_appendf(&h, "Content-Length: %zu\r\n", len);
    }
    for (size_t i = 0; rc == 0 && i < n_extra; i++) {
        pt_str_t name = extra[2 * i];
        pt_str_t value = extra[2 * i + 1];
        if (ieq(name, "connection")) {
            continue; /* "close", written below with the server's own decision */
        }
        if ((rc = pt_buf_append(&h, name.ptr, name.len)) == 0 &&
            (rc = pt_buf_append(&h, ": ", 2)) == 0 &&
            (rc = pt_buf_append(&h, value.ptr, value.len)) == 0) {
            rc = pt_buf_append(&h, "\r\n", 2);
        }
    }
    if (rc == 0 && close) {
        rc = pt_buf_append_str(&h, "Connection: close\r\n");
    } else if (rc == 0 && http10) {
        /* HTTP/1.0 closes by default, so keep-alive has to be confirmed. */
        rc = pt_buf_append_str(&h, "Connection: keep-alive\r\n");
    }
    if (rc == 0) {
        rc = pt_buf_append(&h, "\r\n", 2);
    }
    if (rc != 0) {
        goto done;
    }
    body_bytes = (send_body && !no_body) ? len : 0;
    wr = pt_malloc(sizeof(*wr) + h.len + body_bytes);
    if (wr == NULL) {
        goto done;
    }
    wr->len = h.len + body_bytes;
    memcpy(wr->data, h.data, h.len);
    if (body_bytes > 0) {
        memcpy(wr->data + h.len, body, body_bytes);
    }
done:
    pt_buf_free(&h);
    return wr;
}

/* Answers a request the server rejects itself (bad syntax, limits, timeouts) and closes. */
static void send_error(conn_t *c, int status)
{
    char body[ERR_BODY_MAX];
    wreq_t *wr;
    int n;

    req_free(c->req);
    c->req = NULL;
    n = snprintf(body, sizeof(body), "%s\n", pt_http_reason(status));
    wr = build_response(status, "text/plain", NULL, 0, body, (size_t)n, 1, 1, 0);
    count_status(c->srv, status);
    c->close_after = 1;
    c->state = ST_WRITING;
    /* While the error is written, the idle timeout bounds a client that will not read it. */
    conn_timer(c, c->srv->o.idle_timeout_ms);
    if (wr == NULL || conn_send(c, wr) != 0) {
        conn_close(c);
        return;
    }
    conn_update_reading(c);
}

/* Called from a parser callback, so it must not close the connection: a failed write is
 * returned, and the caller fails the request. */
static int send_continue(conn_t *c)
{
    static const char msg[] = "HTTP/1.1 100 Continue\r\n\r\n";
    wreq_t *wr = pt_malloc(sizeof(*wr) + sizeof(msg) - 1);

    /* Without memory the client just waits its own expect timeout and sends the body anyway. */
    if (wr == NULL) {
        return 0;
    }
    wr->len = sizeof(msg) - 1;
    memcpy(wr->data, msg, wr->len);
    return conn_send(c, wr);
}

int pt_http_respond(pt_http_req_t *req, int status, const char *content_type,
                    const pt_str_t *extra_headers, size_t n_extra, const void *body, size_t len)
{
    req_priv_t *r = (req_priv_t *)req;
    conn_t *c = r->conn;
    wreq_t *wr;
    int close;
    int rc;

    if (c == NULL) {
        req_free(r);
        return -ENOTCONN;
    }
    PT_ASSERT(c->pending == r && c->state == ST_HANDLER);
    c->pending = NULL;
    close = !r->keep_alive || c->close_after || c->srv->closing;
    rc = check_response(status, content_type, extra_headers, n_extra, &close);
    if (rc == 0 && len > 0 && body == NULL) {
        rc = -EINVAL;
    }
    if (rc != 0) {
        static const char ise[] = "Internal Server Error\n";
        pt_log_warn("http server %s: handler gave an invalid response (status %d) for %.*s",
                    c->srv->name, status, (int)r->pub.path.len, r->pub.path.ptr);
        status = 500;
        content_type = "text/plain";
        extra_headers = NULL;
        n_extra = 0;
        body = ise;
        len = sizeof(ise) - 1;
    }
    wr = build_response(status, content_type, extra_headers, n_extra, body, len, !r->is_head, close,
                        r->pub.http_minor == 0);
    req_free(r);
    if (wr == NULL) {
        conn_close(c);
        return -ENOMEM;
    }
    count_status(c->srv, status);
    c->close_after = close;
    c->state = ST_WRITING;
    conn_timer(c, c->srv->o.idle_timeout_ms);
    if (conn_send(c, wr) != 0) {
        conn_close(c);
        return -ENOTCONN;
    }
    return rc;
}

/* ---- connection lifecycle ----------------------------------------------------------------- */

static void server_maybe_finish(pt_http_server_t *srv);

static void on_conn_handle_closed(uv_handle_t *h)
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
    /* Freed last, not in conn_close: a close may happen inside pt_tls_recv's callback. */
    pt_tls_destroy(c->tls);
    pt_free(c);
    server_maybe_finish(srv);
}

/* Closes at once. A request with the handler is detached: it stays valid, and answering it
 * just frees it. */
static void conn_close(conn_t *c)
{
    if (c->state == ST_CLOSED) {
        return;
    }
    c->state = ST_CLOSED;
    if (c->pending != NULL) {
        c->pending->conn = NULL;
        c->pending = NULL;
    }
    req_free(c->req);
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
    uv_close((uv_handle_t *)&c->tcp, on_conn_handle_closed);
    uv_close((uv_handle_t *)&c->timer, on_conn_handle_closed);
}

static void on_shutdown(uv_shutdown_t *sr, int status)
{
    conn_t *c = sr->data;
    /* ECANCELED means the handle is already closing. */
    if (status < 0 && status != UV_ECANCELED) {
        conn_close(c);
    }
}

static void conn_linger(conn_t *c)
{
    c->state = ST_LINGER;
    if (c->fake) {
        return;
    }
    conn_timer(c, LINGER_MS);
    if (c->tls != NULL) {
        /* close_notify before the FIN tells a TLS client the response was not cut short. */
        pt_tls_shutdown(c->tls);
        if (conn_tls_flush(c) != 0) {
            conn_close(c);
            return;
        }
    }
    c->shutdown.data = c;
    if (uv_shutdown(&c->shutdown, (uv_stream_t *)&c->tcp, on_shutdown) != 0) {
        conn_close(c);
        return;
    }
    conn_update_reading(c);
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
    conn_timer(c, c->srv->o.idle_timeout_ms);
    if (len > 0) {
        /* The stash is handed over whole: conn_parse stashes any remainder afresh. */
        c->stash = NULL;
        c->stash_len = c->stash_cap = 0;
        conn_parse(c, data, len);
        pt_free(data);
    }
    if (c->peer_eof && (c->state == ST_IDLE || c->state == ST_HEAD || c->state == ST_BODY)) {
        /* The client half-closed and its last request is answered or can never complete. */
        conn_close(c);
        return;
    }
    conn_update_reading(c);
}

static void conn_write_done(conn_t *c, int status)
{
    c->writes--;
    if (c->state == ST_CLOSED) {
        return;
    }
    if (status < 0) {
        pt_log_debug("http server %s: write to %s failed: %s", c->srv->name, c->peer_str,
                     uv_strerror(status));
        conn_close(c);
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
            conn_close(c);
        } else {
            conn_linger(c);
        }
        return;
    }
    conn_resume(c);
}

static void tls_handshake_failed(conn_t *c, const char *why);

static void conn_on_timeout(conn_t *c)
{
    c->timer_armed = 0;
    switch (c->state) {
    case ST_HEAD:
    case ST_BODY:
        pt_log_debug("http server %s: %s too slow, request timed out", c->srv->name, c->peer_str);
        send_error(c, 408);
        break;
    case ST_HANDLER:
        /* Not armed while the handler works. */
        break;
    default:
        /* Idle keep-alive, a client not taking its response, or the end of a linger. */
        if (c->tls != NULL && !pt_tls_is_ready(c->tls)) {
            tls_handshake_failed(c, "handshake timed out");
        }
        conn_close(c);
        break;
    }
}

static void on_timer(uv_timer_t *t)
{
    conn_on_timeout(t->data);
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
    count(srv->m_requests);
    conn_update_reading(c);
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
            conn_close(c);
            return;
        }
        conn_dispatch(c);
        return;
    }
    if (c->err_status == ERR_CLOSE) {
        conn_close(c);
        return;
    }
    pt_log_debug("http server %s: bad request from %s: %s (%s)", c->srv->name, c->peer_str,
                 llhttp_errno_name(err), llhttp_get_error_reason(&c->parser));
    send_error(c, c->err_status != 0 ? c->err_status : 400);
}

static void conn_on_data(conn_t *c, const char *data, size_t len)
{
    switch (c->state) {
    case ST_IDLE:
    case ST_HEAD:
        conn_parse(c, data, len);
        break;
    case ST_BODY:
        conn_timer(c, c->srv->o.body_timeout_ms);
        conn_parse(c, data, len);
        break;
    case ST_HANDLER:
    case ST_WRITING:
        if (c->close_after) {
            break; /* this connection ends with the current response */
        }
        if (stash_append(c, data, len) != 0) {
            conn_close(c);
            break;
        }
        conn_update_reading(c);
        break;
    default:
        break; /* lingering: drain */
    }
}

static void conn_on_eof(conn_t *c, ssize_t err)
{
    if (err == UV_EOF && (c->state == ST_HANDLER || c->state == ST_WRITING)) {
        /* A half-closed client may still read: answer what it sent, then close. */
        c->peer_eof = 1;
        conn_update_reading(c);
        return;
    }
    if (err != UV_EOF) {
        pt_log_debug("http server %s: read from %s failed: %s", c->srv->name, c->peer_str,
                     uv_strerror((int)err));
    }
    conn_close(c);
}

/* ---- TLS ---------------------------------------------------------------------------------- */

/* Counts a failed handshake and logs it at debug, at most once a second per server: a scanner
 * or a misconfigured client fleet must not flood the log even at debug level. */
static void tls_handshake_failed(conn_t *c, const char *why)
{
    pt_http_server_t *srv = c->srv;
    uint64_t now = pt_now_mono_ns();

    count(srv->m_tls_failed);
    if (srv->tls_log_ns != 0 && now - srv->tls_log_ns < TLS_LOG_INTERVAL_NS) {
        srv->tls_suppressed++;
        return;
    }
    if (srv->tls_suppressed > 0) {
        pt_log_debug("http server %s: TLS handshake with %s failed: %s (and %u more since the "
                     "last message)",
                     srv->name, c->peer_str, why, srv->tls_suppressed);
    } else {
        pt_log_debug("http server %s: TLS handshake with %s failed: %s", srv->name, c->peer_str,
                     why);
    }
    srv->tls_log_ns = now;
    srv->tls_suppressed = 0;
}

/* Plaintext out of TLS goes where a plaintext read goes. */
static int on_tls_plain(void *ud, const char *data, size_t len)
{
    conn_t *c = ud;
    conn_on_data(c, data, len);
    return c->state == ST_CLOSED ? -ECONNABORTED : 0;
}

static void conn_on_tls_data(conn_t *c, const char *data, size_t len)
{
    int was_ready = pt_tls_is_ready(c->tls);
    int rc;

    /* The plaintext goes through the server's read buffer: the ciphertext in it is copied into
     * TLS first, and the parser copies out what it keeps, as for a plaintext read. */
    rc = pt_tls_recv(c->tls, data, len, c->srv->rbuf, sizeof(c->srv->rbuf), on_tls_plain, c);
    if (c->state == ST_CLOSED) {
        return;
    }
    /* The handshake, tickets and alerts are written as a side effect of reading. */
    if (conn_tls_flush(c) != 0) {
        conn_close(c);
        return;
    }
    if (rc == 0) {
        return;
    }
    if (rc == -EPIPE) {
        /* close_notify: the client's clean end of data, handled as its FIN. */
        conn_on_eof(c, UV_EOF);
        return;
    }
    if (!was_ready && !pt_tls_is_ready(c->tls)) {
        tls_handshake_failed(c, rc == -EPROTO ? pt_tls_error_text(c->tls) : pt_strerror(rc));
    } else {
        pt_log_debug("http server %s: TLS error from %s: %s", c->srv->name, c->peer_str,
                     rc == -EPROTO ? pt_tls_error_text(c->tls) : pt_strerror(rc));
    }
    if (c->writes > 0 && rc == -EPROTO) {
        /* An alert is on its way: let it reach the client before the connection goes. */
        c->close_after = 1;
        conn_linger(c);
        return;
    }
    conn_close(c);
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    conn_t *c = s->data;

    if (nread > 0) {
        if (c->tls == NULL) {
            conn_on_data(c, buf->base, (size_t)nread);
        } else if (c->state != ST_LINGER) {
            conn_on_tls_data(c, buf->base, (size_t)nread);
        }
        /* Lingering: drained unread. */
    } else if (nread < 0) {
        conn_on_eof(c, nread);
    }
}

/* ---- parser callbacks --------------------------------------------------------------------- */

static int fail_request(conn_t *c, int status)
{
    c->err_status = status;
    return HPE_USER;
}

static int on_message_begin(llhttp_t *p)
{
    conn_t *c = p->data;
    req_priv_t *r;

    req_free(c->req);
    c->req = NULL;
    c->err_status = 0;
    c->headers_done = 0;
    c->last_hdr_cb = HDR_NONE;
    c->trailer_bytes = 0;
    /* The first request's header deadline already runs from the accept. */
    if (!c->first) {
        conn_timer(c, c->srv->o.header_timeout_ms);
    }
    c->first = 0;
    c->state = ST_HEAD;
    r = pt_calloc(1, sizeof(*r));
    if (r == NULL) {
        c->err_status = 503;
        return -1;
    }
    r->peer = c->peer;
    memcpy(r->peer_str, c->peer_str, sizeof(r->peer_str));
    c->req = r;
    return 0;
}

/* Appends to the request head, enforcing max_header_size over the target plus each header's
 * name, value and 4 bytes of punctuation. */
static int head_append(conn_t *c, const char *at, size_t len)
{
    req_priv_t *r = c->req;
    size_t max = c->srv->o.max_header_size;
    size_t need = (size_t)r->head_len + len;

    if (len == 0) {
        return 0; /* llhttp may report empty spans; r->head may still be NULL */
    }
    if (need + 4 * (size_t)r->n_hdrs > max) {
        return fail_request(c, 431);
    }
    if (need > r->head_cap) {
        size_t cap = PT_MIN(max, PT_MAX(need, PT_MAX((size_t)r->head_cap * 2, 1024)));
        char *np = pt_realloc(r->head, cap);
        if (np == NULL) {
            return fail_request(c, 503);
        }
        r->head = np;
        r->head_cap = (uint32_t)cap;
    }
    memcpy(r->head + r->head_len, at, len);
    r->head_len = (uint32_t)need;
    return 0;
}

static int on_url(llhttp_t *p, const char *at, size_t len)
{
    conn_t *c = p->data;
    int rc = head_append(c, at, len);
    if (rc == 0) {
        c->req->url_len += (uint32_t)len;
    }
    return rc;
}

/* Trailers (after a chunked body) are not kept, only counted against the header limit. */
static int trailer_bytes(conn_t *c, size_t len)
{
    c->trailer_bytes += (uint32_t)PT_MIN(len, UINT32_MAX);
    if (c->trailer_bytes > c->srv->o.max_header_size) {
        return fail_request(c, 431);
    }
    return 0;
}

static int on_header_field(llhttp_t *p, const char *at, size_t len)
{
    conn_t *c = p->data;
    req_priv_t *r = c->req;

    if (c->headers_done) {
        return trailer_bytes(c, len);
    }
    /* llhttp may split a name across reads: a new header starts after a value (or first). */
    if (c->last_hdr_cb != HDR_FIELD) {
        if (r->n_hdrs >= c->srv->o.max_headers) {
            return fail_request(c, 431);
        }
        if (r->n_hdrs == r->cap_hdrs) {
            uint32_t cap = r->cap_hdrs ? r->cap_hdrs * 2 : 16;
            hdr_t *nh = pt_realloc(r->hdrs, cap * sizeof(*nh));
            if (nh == NULL) {
                return fail_request(c, 503);
            }
            r->hdrs = nh;
            r->cap_hdrs = cap;
        }
        memset(&r->hdrs[r->n_hdrs], 0, sizeof(hdr_t));
        r->hdrs[r->n_hdrs].name_off = r->head_len;
        r->n_hdrs++;
        c->last_hdr_cb = HDR_FIELD;
    }
    r->hdrs[r->n_hdrs - 1].name_len += (uint32_t)len;
    return head_append(c, at, len);
}

static int on_header_value(llhttp_t *p, const char *at, size_t len)
{
    conn_t *c = p->data;
    req_priv_t *r = c->req;
    hdr_t *h;

    if (c->headers_done) {
        return trailer_bytes(c, len);
    }
    h = &r->hdrs[r->n_hdrs - 1];
    if (c->last_hdr_cb != HDR_VALUE) {
        h->val_off = r->head_len;
        c->last_hdr_cb = HDR_VALUE;
    }
    h->val_len += (uint32_t)len;
    return head_append(c, at, len);
}

static void split_target(req_priv_t *r)
{
    const char *url = r->head != NULL ? r->head : "";
    size_t len = r->url_len;
    size_t skip = 0;
    const char *q;

    /* Servers must accept the absolute form (RFC 9112 §3.2.2); handlers match on the path, so
     * "http://host/v1/traces" becomes "/v1/traces". */
    if (len >= 7 && strncasecmp(url, "http://", 7) == 0) {
        skip = 7;
    } else if (len >= 8 && strncasecmp(url, "https://", 8) == 0) {
        skip = 8;
    }
    if (skip > 0) {
        while (skip < len && url[skip] != '/' && url[skip] != '?') {
            skip++;
        }
        url += skip;
        len -= skip;
    }
    q = memchr(url, '?', len);
    if (q == NULL) {
        r->pub.path = pt_str(url, len);
        r->pub.query = pt_str("", 0);
    } else {
        r->pub.path = pt_str(url, (size_t)(q - url));
        r->pub.query = pt_str(q + 1, len - (size_t)(q - url) - 1);
    }
    if (r->pub.path.len == 0) {
        r->pub.path = pt_str("/", 1);
    }
}

static int on_headers_complete(llhttp_t *p)
{
    conn_t *c = p->data;
    req_priv_t *r = c->req;
    uint8_t method = llhttp_get_method(p);
    int chunked = (p->flags & F_CHUNKED) != 0;
    int has_body = chunked || p->content_length > 0;
    pt_str_t expect;

    c->headers_done = 1;
    if (p->http_major != 1) {
        return fail_request(c, 505);
    }
    if (method == HTTP_CONNECT) {
        return fail_request(c, 501);
    }
    /* We never switch protocols; RFC 9110 §7.8 lets a server ignore Upgrade, and clearing the
     * flag keeps llhttp parsing HTTP after this request. */
    p->upgrade = 0;
    r->pub.method = pt_str_c(llhttp_method_name((llhttp_method_t)method));
    r->pub.http_minor = p->http_minor;
    r->pub.body = pt_str("", 0);
    r->keep_alive = llhttp_should_keep_alive(p);
    r->is_head = method == HTTP_HEAD;
    split_target(r);
    /* llhttp drops leading whitespace from values but keeps trailing (RFC 9110 §5.5 OWS). */
    for (uint32_t i = 0; i < r->n_hdrs; i++) {
        hdr_t *h = &r->hdrs[i];
        while (h->val_len > 0 && (r->head[h->val_off + h->val_len - 1] == ' ' ||
                                  r->head[h->val_off + h->val_len - 1] == '\t')) {
            h->val_len--;
        }
    }

    if (!chunked && p->content_length > c->srv->o.max_body_size) {
        return fail_request(c, 413);
    }
    expect = pt_http_req_header(&r->pub, "expect");
    if (expect.ptr != NULL) {
        if (!ieq(expect, "100-continue")) {
            return fail_request(c, 417);
        }
        /* Only HTTP/1.1 clients wait for it (RFC 9110 §10.1.1), and only if a body follows. */
        if (p->http_minor >= 1 && has_body && send_continue(c) != 0) {
            return fail_request(c, ERR_CLOSE);
        }
    }
    if (!chunked && p->content_length > 0) {
        r->body = pt_malloc(p->content_length);
        if (r->body == NULL) {
            return fail_request(c, 503);
        }
        r->body_cap = p->content_length;
    }
    if (has_body) {
        c->state = ST_BODY;
        conn_timer(c, c->srv->o.body_timeout_ms);
    }
    return 0;
}

static int on_body(llhttp_t *p, const char *at, size_t len)
{
    conn_t *c = p->data;
    req_priv_t *r = c->req;
    size_t max = c->srv->o.max_body_size;
    size_t need = r->body_len + len;

    if (len == 0) {
        return 0;
    }
    if (need > max) {
        return fail_request(c, 413);
    }
    if (need > r->body_cap) {
        /* Chunked bodies grow by doubling, never past the limit. */
        size_t cap = PT_MIN(max, PT_MAX(need, PT_MAX(r->body_cap * 2, 16384)));
        char *nb = pt_realloc(r->body, cap);
        if (nb == NULL) {
            return fail_request(c, 503);
        }
        r->body = nb;
        r->body_cap = cap;
    }
    memcpy(r->body + r->body_len, at, len);
    r->body_len = need;
    return 0;
}

static int on_message_complete(llhttp_t *p)
{
    conn_t *c = p->data;
    req_priv_t *r = c->req;

    if (r->body_len > 0) {
        r->pub.body = pt_str(r->body, r->body_len);
    }
    c->state = ST_HANDLER;
    conn_timer_stop(c);
    /* Pausing here is what makes pipelined requests wait for the answer to this one. */
    return HPE_PAUSED;
}

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

static int parse_addr(const char *host, int port, struct sockaddr_storage *ss)
{
    char buf[64];
    size_t n = strlen(host);

    /* Accept the bracketed form too, as in URLs and "[::1]:4318" configs. */
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
        if (n - 2 >= sizeof(buf)) {
            return -EINVAL;
        }
        memcpy(buf, host + 1, n - 2);
        buf[n - 2] = '\0';
        host = buf;
    }
    memset(ss, 0, sizeof(*ss));
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)ss) == 0) {
        return 0;
    }
    if (strchr(host, ':') != NULL && uv_ip6_addr(host, port, (struct sockaddr_in6 *)ss) == 0) {
        return 0;
    }
    return -EINVAL;
}

static void format_addr(const struct sockaddr_storage *ss, char *out, size_t len)
{
    char ip[INET6_ADDRSTRLEN] = "";

    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
        uv_ip4_name(in, ip, sizeof(ip));
        snprintf(out, len, "%s:%u", ip, (unsigned)ntohs(in->sin_port));
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
        uv_ip6_name(in6, ip, sizeof(ip));
        snprintf(out, len, "[%s]:%u", ip, (unsigned)ntohs(in6->sin6_port));
    } else {
        snprintf(out, len, "unknown");
    }
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

static void server_maybe_finish(pt_http_server_t *srv)
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
    server_maybe_finish(srv);
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
    server_maybe_finish(srv);
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
    server_maybe_finish(srv);
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
    uv_tcp_init(srv->loop, t);
    t->data = srv;
    if (uv_accept((uv_stream_t *)&srv->listener, (uv_stream_t *)t) == 0) {
        count(srv->m_rejected);
    }
    srv->n_rejects++;
    uv_close((uv_handle_t *)t, done);
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
        uv_close((uv_handle_t *)&c->tcp, on_conn_handle_closed);
        uv_close((uv_handle_t *)&c->timer, on_conn_handle_closed);
        return;
    }
    count(srv->m_accepted);
    if (srv->m_active != NULL) {
        pt_gauge_add(srv->m_active, 1);
    }
    /* Each response goes out in one write; Nagle would only delay it behind a delayed ACK. */
    uv_tcp_nodelay(&c->tcp, 1);
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&c->peer, &namelen) != 0) {
        c->peer.ss_family = AF_UNSPEC;
    }
    format_addr(&c->peer, c->peer_str, sizeof(c->peer_str));
    llhttp_init(&c->parser, HTTP_REQUEST, &parser_settings);
    c->parser.data = c;
    c->state = ST_IDLE;
    c->first = 1;
    if (srv->o.tls != NULL && pt_tls_create(srv->o.tls, NULL, &c->tls) != 0) {
        conn_close(c);
        return;
    }
    conn_timer(c, srv->o.header_timeout_ms);
    conn_update_reading(c);
    if (!c->reading) {
        conn_close(c);
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
    if (rc != 0 || (rc = parse_addr(opts != NULL && opts->host != NULL ? opts->host : "127.0.0.1",
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
    if ((rc = uv_tcp_bind(&srv->listener, (const struct sockaddr *)&ss, 0)) != 0 ||
        (rc = uv_listen((uv_stream_t *)&srv->listener, srv->o.backlog, on_connection)) != 0) {
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
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    int rc = uv_tcp_getsockname(&srv->listener, (struct sockaddr *)&ss, &len);

    if (rc != 0) {
        return rc;
    }
    if (ss.ss_family == AF_INET) {
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    }
    if (ss.ss_family == AF_INET6) {
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    return -EAFNOSUPPORT;
}

void pt_http_server_close(pt_http_server_t *srv, pt_http_server_close_cb cb, void *ud)
{
    PT_ASSERT(!srv->closing);
    srv->closing = 1;
    srv->close_cb = cb;
    srv->close_ud = ud;
    uv_close((uv_handle_t *)&srv->listener, on_listener_closed);
    /* conn_close unlinks nothing until the close callbacks, so the walk is safe. */
    for (conn_t *c = srv->conns; c != NULL; c = c->next) {
        if (c->state == ST_HANDLER || c->state == ST_WRITING) {
            c->close_after = 1;
        } else {
            conn_close(c);
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
    llhttp_init(&c->parser, HTTP_REQUEST, &parser_settings);
    c->parser.data = c;
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
            conn_on_data(c, srv->rbuf, n);
            memset(srv->rbuf, 0xA5, n);
            pos += n;
        }
        while (c->writes > 0) {
            conn_write_done(c, 0);
        }
        if (tick != NULL) {
            tick(ud);
            while (c->writes > 0) {
                conn_write_done(c, 0);
            }
        }
        if (pos == len) {
            break;
        }
    }
    if (fire_timeout && c->state != ST_CLOSED && c->timer_armed) {
        conn_on_timeout(c);
        while (c->writes > 0) {
            conn_write_done(c, 0);
        }
    }
    if (c->state != ST_CLOSED) {
        conn_on_eof(c, UV_EOF);
        while (c->writes > 0) {
            conn_write_done(c, 0);
        }
    }
    conn_close(c);
    rc = 0;
done:
    pt_free(c);
    pt_free(srv->name);
    pt_free(srv);
    return rc;
}
