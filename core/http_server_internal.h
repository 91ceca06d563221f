/* Private to the HTTP server (core/http_server*.c): the server, connection and request structs,
 * the calls its files make into each other, and the test hook that runs the connection state
 * machine over a byte buffer with no socket and no loop, so the fuzzer and unit tests reach the
 * parser the way a client does. Everything here runs on the server's loop thread. */
#ifndef PT_HTTP_SERVER_INTERNAL_H
#define PT_HTTP_SERVER_INTERNAL_H

#include <string.h>
#include <strings.h>

#include <llhttp.h>

#include "http_server.h"
#include "metrics.h"

/* One read buffer serves every connection of a server: libuv calls alloc, read(2) and the read
 * callback back to back on the loop thread, and the parser copies out what it keeps. */
#define READ_BUF_SIZE (64u * 1024)

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

/* One client connection, owned by the server (srv->conns) from the accept until both of its
 * handles are closed. */
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

/* ---- small helpers ------------------------------------------------------------------------ */

static inline void pt_http__count(pt_counter_t *m)
{
    /* Metrics are absent under pt_http__feed. */
    if (m != NULL) {
        pt_counter_inc(m);
    }
}

static inline void pt_http__count_status(pt_http_server_t *srv, int status)
{
    if (status >= 200 && status < 600) {
        pt_http__count(srv->m_responses[status / 100 - 2]);
    }
}

/* Case-insensitive comparison of a view with a C string, for header names and tokens. */
static inline int pt_http__ieq(pt_str_t a, const char *b)
{
    size_t n = strlen(b);
    return a.len == n && (n == 0 || strncasecmp(a.ptr, b, n) == 0);
}

/* ---- the connection (http_server_conn.c) -------------------------------------------------- */

/* Arms the connection's one timer for ms (a fresh deadline), or stops it. */
void pt_http__conn_timer(conn_t *c, uint32_t ms);
void pt_http__conn_timer_stop(conn_t *c);

/* Starts or stops reading as the connection's state and stash allow. */
void pt_http__conn_update_reading(conn_t *c);

/* Sends a response (or interim response): encrypted with TLS, as it is otherwise. Takes wr in
 * every case. Returns 0 or the write's error. */
int pt_http__conn_send(conn_t *c, wreq_t *wr);

/* Writes wr's bytes to the socket as they are (no TLS); takes wr in every case. */
int pt_http__conn_send_raw(conn_t *c, wreq_t *wr);

/* Closes at once. A request with the handler is detached: it stays valid, and answering it
 * just frees it. */
void pt_http__conn_close(conn_t *c);

/* The close callback of both of a connection's handles: the last one frees it. */
void pt_http__on_conn_handle_closed(uv_handle_t *h);

/* Shuts the write side after a final response and drains the input for a while. */
void pt_http__conn_linger(conn_t *c);

/* Events of a connection, as the socket (or pt_http__feed) delivers them: a write completed,
 * the timer fired, plaintext arrived, the client's FIN (UV_EOF) or a read error. */
void pt_http__conn_write_done(conn_t *c, int status);
void pt_http__conn_on_timeout(conn_t *c);
void pt_http__conn_on_data(conn_t *c, const char *data, size_t len);
void pt_http__conn_on_eof(conn_t *c, ssize_t err);

/* ---- requests (http_server_request.c) ----------------------------------------------------- */

/* Sets up c's llhttp parser for requests, with the server's callbacks. */
void pt_http__parser_init(conn_t *c);

/* Frees a request and what backs its views; NULL is ignored. */
void pt_http__req_free(req_priv_t *r);

/* ---- responses (http_server_response.c) --------------------------------------------------- */

/* Answers a request the server rejects itself (bad syntax, limits, timeouts) and closes. */
void pt_http__send_error(conn_t *c, int status);

/* Queues "100 Continue". Called from a parser callback, so it never closes the connection: a
 * failed write is returned, and the caller fails the request. */
int pt_http__send_continue(conn_t *c);

/* ---- TLS (http_server_tls.c) -------------------------------------------------------------- */

/* Writes whatever TLS has to send (handshake, alerts, tickets, encrypted responses). Returns 0,
 * -ENOMEM or the write's error. */
int pt_http__tls_flush(conn_t *c);

/* Ciphertext read from a TLS connection: decrypted and handed to pt_http__conn_on_data. */
void pt_http__conn_on_tls_data(conn_t *c, const char *data, size_t len);

/* Counts a failed handshake and logs it (rate-limited). */
void pt_http__tls_handshake_failed(conn_t *c, const char *why);

/* ---- the server (http_server.c) ----------------------------------------------------------- */

/* Frees a closing server once its listener and every connection are closed. */
void pt_http__server_maybe_finish(pt_http_server_t *srv);

/* ---- test hook ---------------------------------------------------------------------------- */

/* Called by pt_http__feed after each piece, once the writes it caused have completed: the
 * place to answer a request the handler kept, as a timer would on a real loop. */
typedef void (*pt_http__tick_cb)(void *ud);

/* Feeds data to one simulated connection in pieces of at most chunk bytes (0 or more than
 * 64 KiB: 64 KiB, the size of a real read), as if a client sent it, and appends every byte the
 * server would write to out (caller-owned). Requests go to cb as on a real connection; a write
 * completes before the next piece is fed; tick (may be NULL) runs after each piece. When
 * fire_timeout is set, the connection's timer fires once after the last piece if it is armed;
 * then the client half-closes, and the connection is closed. Requests the handler has not
 * answered by then are detached: answer them afterwards (pt_http_respond returns -ENOTCONN).
 * Metrics are not registered. Returns 0, -EINVAL or -ENOMEM (setting up). Any thread, no loop
 * needed: calls share no state. */
int pt_http__feed(const pt_http_server_opts_t *opts, const void *data, size_t len, size_t chunk,
                  int fire_timeout, pt_http_request_cb cb, pt_http__tick_cb tick, void *ud,
                  pt_buf_t *out);

#endif
