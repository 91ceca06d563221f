/* Private to flusher_otlp: the native OTLP/gRPC client (grpc_client.c), HTTP/2 cleartext with
 * prior knowledge on nghttp2, driven by the sender loop; and the gRPC answer rules shared with
 * the libcurl path (grpcs://). Everything runs on the loop the client was created on. */
#ifndef PT_FLUSHER_OTLP_GRPC_CLIENT_INTERNAL_H
#define PT_FLUSHER_OTLP_GRPC_CLIENT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
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

#endif
