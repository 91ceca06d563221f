/* Private to service_otlp: the configuration, the instance state, and the export calls that the
 * HTTP/1.1 and gRPC front ends hand to the shared ingest path (decode, groups, push, answer).
 * Everything runs on the input loop. */
#ifndef PT_SERVICE_OTLP_INTERNAL_H
#define PT_SERVICE_OTLP_INTERNAL_H

#include <stdint.h>

#include "core/http_server.h"
#include "core/plugin.h"
#include "core/proto/otlp.h"
#include "core/tls.h"

/* One server's settings (Protocals.HTTP or Protocals.GRPC). */
typedef struct svc_proto_conf_s {
    const pt_node_t *present; /* the Protocals.<X> map: its presence enables the server */
    char *endpoint;
    int64_t read_timeout_s;
    int64_t shutdown_timeout_s;
    int64_t max_msg_mib;
    int64_t max_streams; /* gRPC: concurrent streams per connection */
    int64_t max_connections;
} svc_proto_conf_t;

typedef struct svc_conf_s {
    svc_proto_conf_t http;
    svc_proto_conf_t grpc;
    char *tls_cert;
    char *tls_key;
    char *tls_ca;
    char *token_file;
    int64_t retry_after_s;
    int durable_ack;
} svc_conf_t;

typedef struct svc_s svc_t;
typedef struct svc_call_s svc_call_t;

/* DurableAck: what a call waits for, in the acks of its groups. Separate from the call so that
 * a call answered early (refused at shutdown with groups already pushed) can go while its acks
 * are still out. */
typedef struct svc_wait_s {
    svc_call_t *call;   /* NULL once the call was answered some other way */
    uint32_t left;      /* pushed groups not acknowledged yet */
    int status;         /* the worst ack status */
    int armed;          /* every group is pushed: the answer waits for left == 0 */
    struct svc_wait_s *prev; /* svc_t.waits */
    struct svc_wait_s *next;
} svc_wait_t;

/* How an export call ended, for the front end to answer. */
typedef enum {
    SVC_OK = 0,      /* accepted (maybe partly: rejected > 0) */
    SVC_BAD_REQUEST, /* malformed body: msg says why */
    SVC_TOO_LARGE,   /* over MaxRecvMsgSizeMiB after decompression */
    SVC_UNSUPPORTED, /* unknown content encoding */
    SVC_UNAVAILABLE, /* pipeline full or stopping: retry later */
    SVC_INTERNAL,    /* out of memory */
} svc_result_t;

/* An export call: one request of one signal. The front end fills the first block, calls
 * svc_ingest, and answers from result/rejected/msg. When svc_ingest returns PT_DONE (the
 * pipeline took part of the request and is full, or DurableAck waits for the acks), `finish`
 * runs later on the loop, once the rest is taken or refused, and (DurableAck) acknowledged. */
struct svc_call_s {
    svc_t *s;
    int signal;
    int json;
    uint64_t source; /* ordering key: the connection */
    void (*finish)(svc_call_t *c);
    void *transport; /* the front end's request */

    svc_result_t result;
    int64_t rejected;
    char msg[256];

    /* Owned by the ingest path. */
    pt_arena_t *arena;
    pt_otlp_groups_t gr;
    uint32_t next_push;
    svc_call_t *next_pending;
    svc_wait_t *wait; /* DurableAck only */
};

struct svc_s {
    pt_plugin_inst_t *inst;
    const svc_conf_t *c;
    const char *id;
    uv_loop_t *loop;
    pt_acker_t *acker;
    pt_http_server_t *http;
    void *grpc;             /* the gRPC server (grpc.c) */
    pt_tls_ctx_t *tls_http; /* TLS contexts made at create, NULL without TLS */
    pt_tls_ctx_t *tls_grpc;
    char *token; /* bearer token, NULL for none; wiped on destroy */
    size_t token_len;
    int stopped;
    svc_call_t *pending_head; /* calls waiting for the pipeline to take their later groups */
    svc_call_t *pending_tail;
    svc_wait_t *waits; /* DurableAck: calls whose groups are not all acknowledged */
    pt_counter_t *m_requests;
    pt_counter_t *m_refused;  /* answered unavailable (pipeline full) */
    pt_counter_t *m_bad;      /* refused as malformed, too large, unsupported or unauthorized */
    pt_counter_t *m_rejected; /* records refused one by one (partial success) */
    pt_counter_t *m_acked;    /* groups whose data every flusher took */
};

/* Runs the shared path: decompress (enc), decode, make groups, push. Returns 0 when the call is
 * answered (c->result set), or PT_DONE when c->finish will run later (the pipeline is full, or
 * DurableAck waits for the acks). body is only read during the call. */
int svc_ingest(svc_call_t *c, const void *body, size_t len, pt_encoding_t enc, size_t max);

/* Releases what a call holds (groups not pushed, their acks, the arena reference). */
void svc_call_release(svc_call_t *c);

/* 1 when the Authorization value carries the configured bearer token (always 1 without a
 * token). Constant time in the token's length. */
int svc_auth_ok(const svc_t *s, pt_str_t authorization);

/* The HTTP/1.1 front end (http.c). */
int svc_http_start(svc_t *s);
void svc_http_stop(svc_t *s);

/* The gRPC front end (grpc.c). stop answers nothing itself (pending calls are answered first)
 * and closes every connection once its answers are written. */
int svc_grpc_start(svc_t *s);
void svc_grpc_stop(svc_t *s);

/* The ordering key of a connection, from its peer address ("127.0.0.1:5123"): one connection
 * keeps its order while it is open. */
uint64_t svc_source_of(const char *peer);

/* Splits "host:port" ("[::1]:4318" for IPv6) into host (NUL-terminated, brackets kept) and
 * port. Returns 0 or -EINVAL. */
int svc_parse_endpoint(const char *ep, char *host, size_t hostlen, int *port);

#endif
