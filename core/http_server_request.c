/* HTTP request parsing: the llhttp callbacks that build a request (target, headers, body) under
 * the server's size limits, and the accessors handlers read it with. */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "common.h"
#include "http_server_internal.h"
#include "mem.h"

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

/* ---- requests ----------------------------------------------------------------------------- */

void pt_http__req_free(req_priv_t *r)
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
        if (pt_http__ieq(req_hdr_name(r, &r->hdrs[i]), name)) {
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

    pt_http__req_free(c->req);
    c->req = NULL;
    c->err_status = 0;
    c->headers_done = 0;
    c->last_hdr_cb = HDR_NONE;
    c->trailer_bytes = 0;
    /* The first request's header deadline already runs from the accept. */
    if (!c->first) {
        pt_http__conn_timer(c, c->srv->o.header_timeout_ms);
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
        if (!pt_http__ieq(expect, "100-continue")) {
            return fail_request(c, 417);
        }
        /* Only HTTP/1.1 clients wait for it (RFC 9110 §10.1.1), and only if a body follows. */
        if (p->http_minor >= 1 && has_body && pt_http__send_continue(c) != 0) {
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
        pt_http__conn_timer(c, c->srv->o.body_timeout_ms);
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
    pt_http__conn_timer_stop(c);
    /* Pausing here is what makes pipelined requests wait for the answer to this one. */
    return HPE_PAUSED;
}

void pt_http__parser_init(conn_t *c)
{
    llhttp_init(&c->parser, HTTP_REQUEST, &parser_settings);
    c->parser.data = c;
}
