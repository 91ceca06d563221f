/* An HTTP/1.1 server on a libuv loop, parsing with llhttp: keep-alive, pipelining, fixed-length
 * and chunked request bodies delivered whole, size limits and timeouts, and responses that may be
 * sent long after the request arrived, in plaintext or over TLS. The OTLP receiver and the admin
 * endpoint sit on it. */
#ifndef PT_HTTP_SERVER_H
#define PT_HTTP_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "str.h"
#include "tls.h"

typedef struct pt_http_server_s pt_http_server_t;
typedef struct pt_http_req_s pt_http_req_t;

/* Settings for pt_http_server_create, copied by it. Zero in any numeric field means its default;
 * pt_http_server_opts_init fills the defaults in explicitly. */
typedef struct pt_http_server_opts_s {
    const char *host;           /* IPv4 or IPv6 literal ("[::1]" allowed); NULL: "127.0.0.1" */
    int port;                   /* 0: the kernel picks one, see pt_http_server_port */
    const char *name;           /* label value server="..." on the metrics and log prefix;
                                 * NULL: "http" */
    size_t max_body_size;       /* 413 beyond it; default 32 MiB, at most 4 GiB - 1 */
    size_t max_header_size;     /* request line plus headers; 431 beyond it; default 16 KiB */
    uint32_t max_headers;       /* number of header fields; 431 beyond it; default 100 */
    uint32_t max_connections;   /* more are accepted and closed at once; default 1024 */
    uint32_t header_timeout_ms; /* from the first byte of a request (or the accept) to the end
                                 * of its headers; default 10 s */
    uint32_t body_timeout_ms;   /* longest silence while a body is arriving; default 30 s */
    uint32_t idle_timeout_ms;   /* keep-alive wait for the next request, and longest wait for
                                 * a client to take a response; default 60 s */
    int backlog;                /* listen(2) backlog; default 511 */
    pt_tls_ctx_t *tls;          /* a server context (pt_tls_ctx_create_server): every connection
                                 * speaks TLS, the handshake counting against header_timeout_ms;
                                 * the server takes its own reference. NULL: plaintext */
} pt_http_server_opts_t;

/* Called on the server's loop thread, once per complete request, in the order requests arrive on
 * a connection; the next request on that connection is not parsed until this one is answered.
 * The handler owns req from now on and must pass it to pt_http_respond exactly once, either
 * before returning or later from the same loop (a timer, a uv_async, another callback). */
typedef void (*pt_http_request_cb)(pt_http_req_t *req, void *ud);

/* Called on the loop thread once the listener and every connection handle are closed. */
typedef void (*pt_http_server_close_cb)(pt_http_server_t *srv, void *ud);

/* A request, allocated by the server and freed by pt_http_respond. The views point into memory
 * the request owns: they stay valid until pt_http_respond is called on it, whatever happens to
 * the connection meanwhile. Read-only. The fields and the pt_http_req_* accessors are plain
 * reads, so a worker thread may use them (to decode a body) while the handler owns req, as long
 * as it is done before the loop thread calls pt_http_respond. */
struct pt_http_req_s {
    pt_str_t method; /* "GET", "POST", ... (static text) */
    pt_str_t path;   /* the target up to '?', not percent-decoded; an absolute-form target
                      * ("http://host/p") is reduced to its path, an empty one to "/" */
    pt_str_t query;  /* after '?', without it; len 0 when there is none */
    pt_str_t body;   /* the whole body, contiguous, de-chunked; len 0 when there is none */
    int http_minor;  /* 1 for HTTP/1.1, 0 for HTTP/1.0 */
    void *user;      /* free for the handler to use; the server never touches it */
};

/* Fills the caller's o with the defaults (host 127.0.0.1, port 0). Any thread. */
void pt_http_server_opts_init(pt_http_server_opts_t *o);

/* Binds, listens and starts accepting on loop. On 0, *out is the server; it is freed by
 * pt_http_server_close, whose callback must run before the loop is closed. Call on the loop's
 * thread. Errors: -EINVAL (bad host literal or option), -ENOMEM, or the bind/listen error
 * (-EADDRINUSE, -EACCES, ...). On error nothing is left to free, but a half-made listener
 * handle may still be closing: run the loop once before closing it. */
int pt_http_server_create(uv_loop_t *loop, const pt_http_server_opts_t *opts, pt_http_request_cb cb,
                          void *ud, pt_http_server_t **out);

/* The bound port (useful with port 0), or a negative errno. Loop thread. */
int pt_http_server_port(const pt_http_server_t *srv);

/* Stops accepting, closes at once every connection that has no request waiting for its
 * response (including ones half-way through a request), and closes each of the others right
 * after its response is written. cb (may be NULL) runs on the loop when the last handle is
 * closed; srv is freed right after it returns. Requests the handler still holds when
 * the connection is gone stay valid: pt_http_respond on them returns -ENOTCONN and frees them.
 * Loop thread; call once. */
void pt_http_server_close(pt_http_server_t *srv, pt_http_server_close_cb cb, void *ud);

/* Case-insensitive lookup of the first header named name. Returns a view valid until the
 * response is sent: ptr NULL when absent, ptr non-NULL and len 0 when present but empty. Values
 * have no surrounding whitespace. Repeated headers are not joined: use pt_http_req_header_at. */
pt_str_t pt_http_req_header(const pt_http_req_t *req, const char *name);

/* Headers in arrival order, for handlers that need all of them. pt_http_req_header_at returns
 * 0 and sets the views (same lifetime as above), or -ERANGE past the end. */
size_t pt_http_req_header_count(const pt_http_req_t *req);
int pt_http_req_header_at(const pt_http_req_t *req, size_t i, pt_str_t *name, pt_str_t *value);

/* The client's address as accepted, and as text ("127.0.0.1:5123", "[::1]:5123"). Both are
 * copies kept in the request, valid until the response is sent, even if the client is gone. */
const struct sockaddr *pt_http_req_peer_addr(const pt_http_req_t *req);
const char *pt_http_req_peer(const pt_http_req_t *req);

/* Sends the response to req and frees req (every view from it dies). Loop thread, exactly once
 * per request. status is 200..599; content_type may be NULL (no Content-Type); extra_headers is
 * n_extra name/value pairs, so 2 * n_extra views. Everything is copied: the caller may reuse
 * its buffers as soon as this returns. The response carries Content-Length (except 204 and 304,
 * which carry no body), Connection: close when the connection will close, and no body for
 * HEAD. Passing "Connection: close" as an extra header closes the connection after this
 * response; the server owns framing, so Content-Length, Transfer-Encoding and any other
 * Connection value are rejected.
 * Returns 0 when the response is queued for writing; -EINVAL for a bad status or header (the
 * client then gets a 500 and the request is still consumed); -ENOTCONN when the client is gone;
 * -ENOMEM when the response could not be built (the connection is closed). req is freed in
 * every case. */
int pt_http_respond(pt_http_req_t *req, int status, const char *content_type,
                    const pt_str_t *extra_headers, size_t n_extra, const void *body, size_t len);

/* The reason phrase for status ("Not Found"), or "" for a code without one. Static text; any
 * thread. */
const char *pt_http_reason(int status);

#endif
