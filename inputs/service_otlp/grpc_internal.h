/* Private to the OTLP/gRPC front end (grpc.c: connections and the server; grpc_stream.c: the
 * nghttp2 session's streams, each one Export call). Everything runs on the input loop. */
#ifndef PT_SERVICE_OTLP_GRPC_INTERNAL_H
#define PT_SERVICE_OTLP_GRPC_INTERNAL_H

#include <nghttp2/nghttp2.h>

#include "service_otlp_internal.h"

typedef struct gconn_s gconn_t;
typedef struct gserver_s gserver_t;

/* One stream, one Export call. On its connection's list; when the connection goes while the
 * call is with the ingest path (pending), it is detached and freed when the call finishes. */
typedef struct gstream_s {
    svc_call_t call; /* first: finish() gets &call */
    gconn_t *conn;   /* NULL once the connection is gone */
    int32_t id;
    int signal;      /* 0: unknown path */
    int path_seen;   /* :path received */
    int method_post; /* :method POST */
    int ct_grpc;     /* content-type application/grpc[+proto] */
    int ct_seen;
    int enc; /* grpc-encoding; -1 unsupported */
    int auth_ok;
    int oversize;  /* the message grew past the cap: discarded */
    int pending;   /* svc_ingest is not done with it */
    int closed;    /* nghttp2 closed the stream */
    pt_buf_t body; /* the request's DATA */
    pt_buf_t resp; /* the response DATA being sent */
    size_t resp_off;
    int status;        /* grpc-status for the trailers */
    char message[256]; /* grpc-message */
    char details[512]; /* grpc-status-details-bin (base64), "" for none */
    struct gstream_s *next;
    struct gstream_s *prev;
} gstream_t;

/* One client connection, on the server's list from the accept until both handles are closed. */
struct gconn_s {
    uv_tcp_t tcp;
    uv_timer_t timer;
    gserver_t *srv;
    nghttp2_session *h2;
    gstream_t *streams;
    gconn_t *next;
    gconn_t *prev;
    size_t writing; /* bytes handed to uv_write and not yet written */
    uint64_t last_rx_ns;
    int handles;
    int closing;
    int reading;
    int h2_error;  /* nghttp2's error from TLS plaintext, 0 for none */
    int tls_dead;  /* TLS failed: send its alert, then close */
    pt_tls_t *tls; /* NULL: cleartext */
    uint64_t source;
    char peer[64];
};

/* The gRPC server (svc_t.grpc); freed once its listener and every connection are closed. */
struct gserver_s {
    svc_t *s;
    uv_tcp_t listener;
    gconn_t *conns;
    uint32_t nconns;
    int closing;
    int listener_open;
    nghttp2_session_callbacks *cbs;
    size_t max_msg;
    pt_counter_t *m_conns;
    pt_counter_t *m_rejected;
    pt_counter_t *m_tls_failed;
    uint64_t tls_log_ns;     /* when a failed handshake was last logged */
    uint32_t tls_suppressed; /* failures not logged since */
};

/* The nghttp2 callbacks that turn a server session's streams into Export calls; the server
 * makes them once and shares them with its connections. Returns 0 or -ENOMEM. */
int svc_grpc_callbacks_new(nghttp2_session_callbacks **out);

/* Frees a stream that is unlinked from its connection (or whose connection is gone). */
void svc_grpc_stream_free(gstream_t *st);

/* Writes whatever nghttp2 (and TLS) has to send, in one write; closes the connection when
 * neither side has more, or once a failed TLS connection's alert is written. */
void svc_grpc_conn_flush(gconn_t *c);

#endif
