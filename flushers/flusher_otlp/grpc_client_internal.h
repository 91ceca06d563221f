/* Private to flusher_otlp: the native OTLP/gRPC client (grpc_client.c with grpc_conn.c), HTTP/2
 * on nghttp2 driven by the sender loop; and the gRPC answer rules (grpc_answer.c) shared with the
 * libcurl path (grpcs://). Everything runs on the loop the client was created on. */
#ifndef PT_FLUSHER_OTLP_GRPC_CLIENT_INTERNAL_H
#define PT_FLUSHER_OTLP_GRPC_CLIENT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <nghttp2/nghttp2.h>
#include <uv.h>

#include "config/cfgmap.h"
#include "core/plugin.h"
#include "core/str.h"
#include "core/tls.h"

typedef struct otlp_grpc_s otlp_grpc_t;

/* Where one signal's calls go. Built at create() by otlp_grpc_target_init and _headers (no
 * I/O), freed by otlp_grpc_target_free; must outlive every call made with it. Calls to targets with
 * the same authority share one connection. */
typedef struct otlp_grpc_target_s {
    char *host;      /* name or address to connect to, without IPv6 brackets */
    char *authority; /* host:port as configured: the :authority header and the connection key */
    int port;
    int tls;          /* grpcs: TLS with ALPN h2, through the client's TLS context */
    const char *path; /* the Export method, e.g.
                         /opentelemetry.proto.collector.logs.v1.LogsService/Export */
    long timeout_ms;  /* per-call deadline (grpc-timeout and a local timer) */
    size_t nheaders;  /* extra metadata, names lowercased */
    char **hnames;
    char **hvalues;
} otlp_grpc_target_t;

/* How a call ended. Views are valid only during the callback. */
typedef struct otlp_grpc_result_s {
    const char *error;        /* non-NULL: no complete answer (cannot connect, connection lost,
                                 stream reset, deadline exceeded): retryable; the fields below unset */
    long http_status;         /* :status */
    long retry_after_s;       /* Retry-After of a non-200 answer, 0 if none */
    int grpc_status;          /* -1: none received */
    const char *grpc_message; /* percent-decoded, "" if none */
    const char *details;      /* grpc-status-details-bin (base64), "" if none */
    const uint8_t *msg; /* the response message (prefix stripped, decompressed), NULL if none */
    size_t msg_len;
} otlp_grpc_result_t;

typedef void (*otlp_grpc_done_cb)(void *ud, const otlp_grpc_result_t *r);

/* Parses hostport ("host:port", "[v6]:port"). Returns 0, -ENOMEM, or -EINVAL with *why set to
 * a static explanation. Free with otlp_grpc_target_free (also after a failure). */
int otlp_grpc_target_init(otlp_grpc_target_t *t, const char *hostport, const char *path,
                          long timeout_ms, const char **why);
/* Appends hm's entries as metadata (names lowercased). Returns 0, -ENOMEM, or -EINVAL with *why
 * set (a key that is not a token, a value with a line break, a header the client sets). */
int otlp_grpc_target_headers(otlp_grpc_target_t *t, const pt_strmap_t *hm, const char **why);
void otlp_grpc_target_free(otlp_grpc_target_t *t);

/* A client on loop for one flusher instance (inst names its metrics and log lines). At most
 * max_streams calls are in flight per connection (fewer if the server says so). tls (may be
 * NULL when no target has tls set) is a client context offering ALPN h2 with alpn_required;
 * the client takes its own reference. Returns 0 or -ENOMEM. */
int otlp_grpc_create(uv_loop_t *loop, const pt_plugin_inst_t *inst, uint32_t max_streams,
                     pt_tls_ctx_t *tls, otlp_grpc_t **out);
/* Starts a unary call: msg[0..len) is the whole length-prefixed gRPC message (its flag byte 1
 * means gzip) and must stay valid until cb runs. cb runs exactly once, later, on the loop, and
 * never from inside this call. Returns 0, or -ENOMEM (nothing started, no callback). */
int otlp_grpc_call(otlp_grpc_t *cl, const otlp_grpc_target_t *t, const uint8_t *msg, size_t len,
                   otlp_grpc_done_cb cb, void *ud);
/* Ends every call at once (each callback runs, with an error) and closes the connections; the
 * memory goes with the last handle's close callback. */
void otlp_grpc_destroy(otlp_grpc_t *cl);
/* Tests: how long a connection without calls stays open (default 2 minutes). */
void otlp_grpc_set_idle_ms(otlp_grpc_t *cl, uint32_t ms);

/* ---- answer rules (also used by the libcurl gRPC path) ------------------------------------ */

/* The delivery status of a completed gRPC answer (HTTP 200): 0 for OK; PT_RETRY for the
 * retryable codes (and RESOURCE_EXHAUSTED with a RetryInfo delay), with *retry_ms the RetryInfo
 * delay and *throttled set for UNAVAILABLE / RESOURCE_EXHAUSTED; -EBADMSG for the others. */
int otlp_grpc_outcome(const otlp_grpc_result_t *r, uint32_t *retry_ms, int *throttled);
/* The RetryInfo delay in a grpc-status-details-bin value (base64 google.rpc.Status), in ms; 0
 * when there is none or the value does not decode. */
uint32_t otlp_grpc_retry_info_ms(const char *details);
/* The first message of a response body: msg and mlen point into body or, when the message is
 * compressed (flag 1, grpc-encoding gzip or deflate), into scratch (caller-owned, appended).
 * Returns 0, or -EBADMSG when the body is not one whole message or does not decompress. */
int otlp_grpc_unframe(const uint8_t *body, size_t len, const char *encoding, pt_buf_t *scratch,
                      const uint8_t **msg, size_t *mlen);
/* grpc-message percent-decoding into out (cap bytes, NUL-terminated, cut to fit). */
void otlp_grpc_percent_decode(const char *in, size_t len, char *out, size_t cap);

/* Fuzzing: one call on a connection without a socket whose server bytes are in[0..len)
 * (what the client writes is dropped), then the client is destroyed. Returns the status the
 * flusher would give the call (0, PT_RETRY, -EBADMSG). */
int otlp_grpc_fuzz_replay(const uint8_t *in, size_t len);

/* ---- the client's own parts (grpc_client.c, grpc_conn.c); nobody else uses these ---------- */

/* Export responses are a few bytes (a partial_success at most); more is not kept. */
#define OTLP_GRPC_RESP_CAP (64u << 10)

/* A connection's state; only ever moves forward. */
enum {
    OTLP_CONN_RESOLVING = 0,
    OTLP_CONN_CONNECTING,
    OTLP_CONN_HANDSHAKE,
    OTLP_CONN_READY,
    OTLP_CONN_DEAD
};

typedef struct otlp_grpc_call_s otlp_grpc_call_t;
typedef struct otlp_grpc_conn_s otlp_grpc_conn_t;

/* One unary call. It sits on its connection's list until it is reported; a call reported while
 * nghttp2 still holds its stream (deadline) stays there, reported, until the stream closes. */
struct otlp_grpc_call_s {
    otlp_grpc_t *cl;
    otlp_grpc_conn_t *conn; /* NULL when on no connection's list */
    otlp_grpc_call_t *prev;
    otlp_grpc_call_t *next;
    otlp_grpc_call_t *qnext; /* cl->requeue or cl->done */
    const otlp_grpc_target_t *t;
    const uint8_t *msg; /* NULL once reported: the caller's bytes may be gone */
    size_t len;
    size_t off;
    otlp_grpc_done_cb cb;
    void *ud;
    uint64_t deadline_ns;
    uint64_t sent_ns;
    int32_t stream_id; /* 0: not submitted on its current connection */
    int in_h2;         /* nghttp2 holds the stream (its user data points here) */
    int queued;        /* on cl->done */
    int reported;      /* cb ran */
    int refusals;
    const char *error; /* failed without an answer */
    char errbuf[120];
    long http_status;
    long retry_after_s;
    int grpc_status;
    int ct_grpc;
    char ctype[48];
    char grpc_message[128];
    char details[1024];
    int details_long;
    char encoding[16];
    pt_buf_t body;
    int body_long;
};

struct otlp_grpc_conn_s {
    otlp_grpc_t *cl;
    otlp_grpc_conn_t *next; /* cl->conns (live ones only) */
    char *authority;
    char *host;
    int port;
    int state;
    int draining;  /* GOAWAY received or sent, or stream ids used up: no new streams */
    int closing;   /* close once the output is written */
    int no_io;     /* fuzzing: no socket */
    int tls_shut;  /* close_notify queued */
    pt_tls_t *tls; /* NULL: cleartext */
    int tcp_open;
    int next_addr; /* the handle is closing to try the next address */
    int gai_pending;
    uv_tcp_t tcp;
    uv_connect_t creq;
    uv_getaddrinfo_t gai;
    struct addrinfo *ai;
    struct addrinfo *ai_cur;
    struct sockaddr_storage lit; /* an address literal: no resolving */
    int lit_used;
    int is_lit;
    int is_tls;
    nghttp2_session *h2;
    otlp_grpc_call_t *calls;
    otlp_grpc_call_t *calls_tail;
    uint32_t nactive;
    uint32_t max_streams;
    uint64_t connect_deadline_ns;
    uint64_t last_rx_ns;
    uint64_t idle_since_ns;
    uint64_t ping_deadline_ns;
    uint64_t close_deadline_ns; /* set with closing */
    size_t writing;
    char last_err[96];
};

struct otlp_grpc_s {
    uv_loop_t *loop;
    char *id;
    uint32_t max_streams;
    uint32_t idle_ms; /* IDLE_CLOSE_MS; tests shorten it */
    nghttp2_session_callbacks *cbs;
    otlp_grpc_conn_t *conns;
    otlp_grpc_call_t *requeue;
    otlp_grpc_call_t *requeue_tail;
    otlp_grpc_call_t *done;
    otlp_grpc_call_t *done_tail;
    pt_tls_ctx_t *tls;
    uv_timer_t timer;
    int handles; /* the timer and every connection not yet freed */
    int processing;
    int closing;
    pt_counter_t *m_conns;
    pt_counter_t *m_refused;
    pt_counter_t *m_goaways;
    pt_gauge_t *m_streams;
    int64_t nstreams;
};

/* grpc_client.c: calls and the client. */

/* Runs after every event: places requeued calls, starts streams, writes, then runs the callbacks
 * of finished calls (never from inside an nghttp2 callback). */
void otlp_grpc_process(otlp_grpc_t *cl);
void otlp_grpc_call_free(otlp_grpc_call_t *c);
/* Takes the call off its connection's list (no-op if on none). */
void otlp_grpc_call_unlink(otlp_grpc_call_t *call);
/* Ends the call without an answer: why is copied; its callback runs from otlp_grpc_process. */
void otlp_grpc_call_fail(otlp_grpc_call_t *call, const char *why);
/* Adds n (may be negative) to the in-flight streams gauge. */
void otlp_grpc_streams_add(otlp_grpc_t *cl, int64_t n);

/* grpc_conn.c: connections, their socket, TLS and nghttp2 session I/O. */

/* A new connection to t's authority, on cl->conns; resolving and connecting go on in the
 * background. NULL when it failed at once (nothing to free). */
otlp_grpc_conn_t *otlp_grpc_conn_new(otlp_grpc_t *cl, const otlp_grpc_target_t *t,
                                     uint64_t deadline_ns);
/* Starts the HTTP/2 session (over TLS if tls) on a connected socket. Returns 0, -ENOMEM or
 * -EPROTO. */
int otlp_grpc_conn_start_session(otlp_grpc_conn_t *c, int tls);
/* Feeds what the server sent (plaintext) to the session; fails the connection on an error. */
void otlp_grpc_conn_recv(otlp_grpc_conn_t *c, const uint8_t *data, size_t len);
/* Writes what nghttp2 has to send; closes the connection when both sides are done. */
void otlp_grpc_conn_flush(otlp_grpc_conn_t *c);
/* Ends the connection; its calls not reported yet fail with why (retryable). */
void otlp_grpc_conn_fail(otlp_grpc_conn_t *c, const char *why);
/* Drops one of the client's handles; the last one after destroy frees the client. */
void otlp_grpc_unref(otlp_grpc_t *cl);

#endif
