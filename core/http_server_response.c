/* HTTP responses: reason phrases, checks on what a handler answers, the response built in one
 * buffer and written in one write, and the answers the server gives itself (errors, 100
 * Continue). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "http_server_internal.h"
#include "log.h"
#include "mem.h"

#define ERR_BODY_MAX 64

/* ---- reason phrases ----------------------------------------------------------------------- */

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

/* ---- writing ------------------------------------------------------------------------------ */

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
        if (pt_http__ieq(name, "content-length") || pt_http__ieq(name, "transfer-encoding")) {
            return -EINVAL;
        }
        if (pt_http__ieq(name, "connection")) {
            if (!pt_http__ieq(value, "close")) {
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
        if (pt_http__ieq(name, "connection")) {
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
void pt_http__send_error(conn_t *c, int status)
{
    char body[ERR_BODY_MAX];
    wreq_t *wr;
    int n;

    pt_http__req_free(c->req);
    c->req = NULL;
    n = snprintf(body, sizeof(body), "%s\n", pt_http_reason(status));
    wr = build_response(status, "text/plain", NULL, 0, body, (size_t)n, 1, 1, 0);
    pt_http__count_status(c->srv, status);
    c->close_after = 1;
    c->state = ST_WRITING;
    /* While the error is written, the idle timeout bounds a client that will not read it. */
    pt_http__conn_timer(c, c->srv->o.idle_timeout_ms);
    if (wr == NULL || pt_http__conn_send(c, wr) != 0) {
        pt_http__conn_close(c);
        return;
    }
    pt_http__conn_update_reading(c);
}

/* Called from a parser callback, so it must not close the connection: a failed write is
 * returned, and the caller fails the request. */
int pt_http__send_continue(conn_t *c)
{
    static const char msg[] = "HTTP/1.1 100 Continue\r\n\r\n";
    wreq_t *wr = pt_malloc(sizeof(*wr) + sizeof(msg) - 1);

    /* Without memory the client just waits its own expect timeout and sends the body anyway. */
    if (wr == NULL) {
        return 0;
    }
    wr->len = sizeof(msg) - 1;
    memcpy(wr->data, msg, wr->len);
    return pt_http__conn_send(c, wr);
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
        pt_http__req_free(r);
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
    pt_http__req_free(r);
    if (wr == NULL) {
        pt_http__conn_close(c);
        return -ENOMEM;
    }
    pt_http__count_status(c->srv, status);
    c->close_after = close;
    c->state = ST_WRITING;
    pt_http__conn_timer(c, c->srv->o.idle_timeout_ms);
    if (pt_http__conn_send(c, wr) != 0) {
        pt_http__conn_close(c);
        return -ENOTCONN;
    }
    return rc;
}
