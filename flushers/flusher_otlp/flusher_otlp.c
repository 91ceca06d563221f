/* flusher_otlp: exports to OTLP endpoints, per signal (Logs, Metrics, Traces, each with Endpoint,
 * Headers, Compression, Timeout). An http:// or https:// endpoint gets OTLP/HTTP protobuf through
 * libcurl; a host:port, grpc:// or grpcs:// endpoint gets OTLP/gRPC through our own nghttp2 client
 * (grpc_client.c: one multiplexed connection per destination, h2c or TLS with ALPN h2), all on
 * the sender loop. Batches are encoded on the workers
 * (core/proto/otlp_export.c: resource and scope grouping kept, attribute types restored) and
 * compressed; the delivery layer adds the spool and retries, by the OTLP client rules: HTTP
 * 429/502/503/504 with Retry-After, the retryable gRPC codes with RetryInfo; any other refusal is
 * permanent (dead letter). */
#include <ctype.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/codec.h"
#include "core/curl_loop.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/plugin.h"
#include "core/proto/otlp.h"
#include "core/proto/otlp_pb.h"
#include "core/tls.h"
#include "grpc_client_internal.h"

/* One signal's destination. */
typedef struct {
    char *endpoint;
    pt_strmap_t headers;
    char *compression;
    char *timeout;
} dest_conf_t;

typedef struct {
    dest_conf_t sig[4]; /* by PT_SIGNAL_*; [0] is the shared default (top-level keys) */
    char *ca_file;
    char *cert_file;
    char *key_file;
    int insecure;
    pt_delivery_conf_t delivery;
} otlp_conf_t;

/* clang-format off */
#define DEST_FIELDS(I, P, WHAT)                                                                    \
    {P, PT_CFG_SECTION, NULL, 0, 0, NULL, 0, 0, NULL, "Where " WHAT " go"},                          \
    {P ".Endpoint", PT_CFG_STRING, NULL, 0, 0, NULL, 0, offsetof(otlp_conf_t, sig[I].endpoint),    \
     NULL, "http(s)://host:port[/path] for OTLP/HTTP, host:port or grpc(s)://host:port for gRPC"}, \
    {P ".Headers", PT_CFG_STRMAP, NULL, 0, 0, NULL, 0, offsetof(otlp_conf_t, sig[I].headers),      \
     NULL, "Extra request headers (gRPC metadata)"},                                               \
    {P ".Compression", PT_CFG_STRING, NULL, 0, 0, "none|gzip|zstd", 0,                             \
     offsetof(otlp_conf_t, sig[I].compression), NULL, "none, gzip or zstd (zstd: HTTP only)"},    \
    {P ".Timeout", PT_CFG_STRING, NULL, 0, 0, NULL, 0, offsetof(otlp_conf_t, sig[I].timeout),      \
     NULL, "Request timeout: 10s, 500ms, 1m"}
/* clang-format on */

static const pt_cfg_field_t otlp_map[] = {
    {"Endpoint", PT_CFG_STRING, NULL, 0, 0, NULL, 0, offsetof(otlp_conf_t, sig[0].endpoint), NULL,
     "Default for every signal: an http(s):// base URL gets /v1/<signal> appended; host:port "
     "means gRPC"},
    {"Headers", PT_CFG_STRMAP, NULL, 0, 0, NULL, 0, offsetof(otlp_conf_t, sig[0].headers), NULL,
     "Default extra headers"},
    {"Compression", PT_CFG_STRING, "gzip", 0, 0, "none|gzip|zstd", 0,
     offsetof(otlp_conf_t, sig[0].compression), NULL, "Default compression"},
    {"Timeout", PT_CFG_STRING, "10s", 0, 0, NULL, 0, offsetof(otlp_conf_t, sig[0].timeout), NULL,
     "Default request timeout"},
    DEST_FIELDS(PT_SIGNAL_LOGS, "Logs", "log records"),
    DEST_FIELDS(PT_SIGNAL_METRICS, "Metrics", "data points"),
    DEST_FIELDS(PT_SIGNAL_TRACES, "Traces", "spans"),
    {"TLS", PT_CFG_SECTION, NULL, 0, 0, NULL, 0, 0, NULL, "https:// and grpcs:// options"},
    {"TLS.CAFile", PT_CFG_STRING, NULL, 0, 0, NULL, 0, offsetof(otlp_conf_t, ca_file), NULL,
     "CA bundle to verify the server with (default: the system's)"},
    {"TLS.CertFile", PT_CFG_STRING, NULL, 0, 0, NULL, 0, offsetof(otlp_conf_t, cert_file), NULL,
     "Client certificate (PEM)"},
    {"TLS.KeyFile", PT_CFG_STRING, NULL, 0, 0, NULL, 0, offsetof(otlp_conf_t, key_file), NULL,
     "Client key (PEM)"},
    {"TLS.InsecureSkipVerify", PT_CFG_BOOL, "false", 0, 0, NULL, 0, offsetof(otlp_conf_t, insecure),
     NULL, "Do not verify the server certificate (testing only)"},
    PT_DELIVERY_CONFIG_FIELDS(otlp_conf_t, delivery),
};

/* A resolved destination. */
typedef struct {
    int on;   /* this signal is exported */
    int grpc; /* gRPC through grpc_client.c (gt), else OTLP/HTTP through libcurl (url, headers) */
    char *url;
    struct curl_slist *headers;
    otlp_grpc_target_t gt;
    pt_codec_t codec;
    long timeout_ms;
} dest_t;

typedef struct {
    const otlp_conf_t *c;
    const char *id;
    dest_t d[4];
    pt_curl_loop_t *curl;
    otlp_grpc_t *grpc;
    pt_tls_ctx_t *tls;        /* for grpcs:// */
    pt_counter_t *m_rejected; /* records the receiver refused (partial success) */
    pt_counter_t *m_skipped;  /* records of a signal with no endpoint */
} otlp_state_t;

/* A payload in flight: one transfer per signal it carries. */
typedef struct {
    pt_payload_t *p;
    otlp_state_t *s;
    int left;    /* transfers not finished */
    int retry;   /* some frame is to be sent again */
    int refused; /* some frame was refused for good */
    uint32_t retry_after_ms;
    int throttled;
    char reason[120];
} send_t;

/* Frame marks: the signal byte of a frame that needs no more sending is rewritten in place
 * (the payload's length, which the core accounts, never changes), so a retry, or the spool
 * record written after a failure, sends only what is still due. */
#define FRAME_DONE 0x00    /* delivered: skipped from now on */
#define FRAME_REFUSED 0x80 /* | signal: refused for good; kept for the dead-letter file */

/* One transfer; the last two fields are filled by libcurl's callbacks only. */
typedef struct {
    send_t *snd;
    int signal;
    int grpc;
    size_t frame; /* offset of the frame's signal byte in the payload */
    long retry_after_s;
    pt_buf_t body; /* the response body */
} xfer_t;

static const char *const grpc_paths[] = {
    NULL,
    "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
    "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
    "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
};

static const char *const http_paths[] = {NULL, "/v1/logs", "/v1/metrics", "/v1/traces"};

static void global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ======================================================================== config ========= */

static long parse_duration_ms(const char *s)
{
    char *end;
    double v;
    if (s == NULL || *s == '\0') {
        return -1;
    }
    v = strtod(s, &end);
    if (end == s || v <= 0) {
        return -1;
    }
    if (*end == '\0' || strcmp(end, "s") == 0) {
        return (long)(v * 1000);
    }
    if (strcmp(end, "ms") == 0) {
        return (long)v;
    }
    if (strcmp(end, "m") == 0) {
        return (long)(v * 60000);
    }
    return -1;
}

static void dest_free(dest_t *d)
{
    pt_free(d->url);
    curl_slist_free_all(d->headers);
    otlp_grpc_target_free(&d->gt);
    memset(d, 0, sizeof(*d));
}

/* Resolves signal sig's destination from its own keys and the shared defaults. */
static int dest_init(pt_plugin_inst_t *inst, pt_cfg_diag_t *d, int sig, dest_t *out)
{
    static const char *const names[] = {"", "Logs", "Metrics", "Traces"};
    const otlp_conf_t *c = inst->config;
    const dest_conf_t *own = &c->sig[sig];
    const dest_conf_t *def = &c->sig[0];
    const char *ep = own->endpoint != NULL ? own->endpoint : def->endpoint;
    const char *comp = own->compression != NULL ? own->compression : def->compression;
    const char *tmo = own->timeout != NULL ? own->timeout : def->timeout;
    char key[32];
    pt_buf_t u;

    memset(out, 0, sizeof(*out));
    if (ep == NULL || ep[0] == '\0') {
        return 0; /* not exported */
    }
    snprintf(key, sizeof(key), "%s.Endpoint", names[sig]);
    out->on = 1;
    pt_buf_init(&u);
    if (strncmp(ep, "http://", 7) == 0 || strncmp(ep, "https://", 8) == 0) {
        const char *path = strchr(ep + (ep[4] == 's' ? 8 : 7), '/');
        pt_buf_append_str(&u, ep);
        /* A base URL (no path) gets the signal's standard path, as OTEL_EXPORTER_OTLP_ENDPOINT
         * does; a URL with a path is the full endpoint. */
        if (path == NULL || strcmp(path, "/") == 0) {
            if (path != NULL) {
                u.len--;
            }
            pt_buf_append_str(&u, http_paths[sig]);
        }
    } else {
        const char *hp = ep;
        const char *why = NULL;
        int tls = 0;
        if (strncmp(ep, "grpc://", 7) == 0) {
            hp = ep + 7;
        } else if (strncmp(ep, "grpcs://", 8) == 0) {
            hp = ep + 8;
            tls = 1;
        }
        int rc = strchr(hp, '/') != NULL
                     ? -EINVAL
                     : otlp_grpc_target_init(&out->gt, hp, grpc_paths[sig], 0, &why);
        if (rc != 0) {
            if (rc == -EINVAL) {
                pt_cfg_error(d, inst->line, key,
                             "'%s' is neither an http(s):// URL nor a gRPC host:port%s%s", ep,
                             why != NULL ? ": " : "", why != NULL ? why : "");
            }
            pt_buf_free(&u);
            return rc;
        }
        out->grpc = 1;
        out->gt.tls = tls;
    }
    if (pt_buf_putc(&u, '\0') != 0) {
        pt_buf_free(&u);
        return -ENOMEM;
    }
    out->url = pt_buf_steal(&u, NULL);
    out->codec = (pt_codec_t)pt_codec_parse(comp);
    if (out->grpc && out->codec == PT_CODEC_ZSTD) {
        snprintf(key, sizeof(key), "%s.Compression", names[sig]);
        pt_cfg_error(d, inst->line, key, "gRPC exporters compress with gzip only, not zstd");
        return -EINVAL;
    }
    out->timeout_ms = parse_duration_ms(tmo);
    if (out->timeout_ms <= 0) {
        snprintf(key, sizeof(key), "%s.Timeout", names[sig]);
        pt_cfg_error(d, inst->line, key, "expected a duration such as 500ms, 10s or 1m, got '%s'",
                     tmo != NULL ? tmo : "");
        return -EINVAL;
    }
    const pt_strmap_t *hm[2] = {&def->headers, &own->headers};
    if (out->grpc) {
        const char *why;
        out->gt.timeout_ms = out->timeout_ms;
        for (int k = 0; k < 2; k++) {
            int rc = otlp_grpc_target_headers(&out->gt, hm[k], &why);
            if (rc == -EINVAL) {
                snprintf(key, sizeof(key), "%s%sHeaders", k ? names[sig] : "", k ? "." : "");
                pt_cfg_error(d, inst->line, key, "%s", why);
            }
            if (rc != 0) {
                return rc;
            }
        }
        return 0;
    }
    out->headers = curl_slist_append(NULL, "Content-Type: application/x-protobuf");
    out->headers = curl_slist_append(out->headers, "Expect:");
    if (out->codec != PT_CODEC_NONE) {
        char h[64];
        snprintf(h, sizeof(h), "Content-Encoding: %s", pt_codec_name(out->codec));
        out->headers = curl_slist_append(out->headers, h);
    }
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < hm[k]->n; i++) {
            pt_buf_t h;
            pt_buf_init(&h);
            pt_buf_appendf(&h, "%s: %s", hm[k]->keys[i], hm[k]->vals[i]);
            pt_buf_putc(&h, '\0');
            out->headers = curl_slist_append(out->headers, h.data);
            pt_buf_free(&h);
        }
    }
    return out->headers != NULL ? 0 : -ENOMEM;
}

/* grpcs:// destinations share one client context (core/tls): its files are read now, so that
 * petrel check reports them. ALPN h2 is required, as gRPC over TLS is HTTP/2 only. */
static int tls_init(pt_plugin_inst_t *inst, pt_cfg_diag_t *d, otlp_state_t *s)
{
    static const char *const keys[] = {"TLS", "TLS.CertFile", "TLS.KeyFile", "TLS.CAFile"};
    const otlp_conf_t *c = inst->config;
    pt_tls_error_t err;
    int need = 0;
    for (int sig = PT_SIGNAL_LOGS; sig <= PT_SIGNAL_TRACES; sig++) {
        need |= s->d[sig].gt.tls;
    }
    if (!need) {
        return 0;
    }
    pt_tls_opts_t o = {.cert_file = c->cert_file,
                       .key_file = c->key_file,
                       .ca_file = c->ca_file,
                       .alpn = "h2",
                       .alpn_required = 1,
                       .insecure = c->insecure};
    int rc = pt_tls_ctx_create_client(&o, &s->tls, &err);
    if (rc != 0) {
        pt_cfg_error(d, inst->line, keys[err.file <= PT_TLS_FILE_CA ? err.file : 0], "%s", err.msg);
    }
    return rc;
}

static int otlp_create(pt_plugin_inst_t *inst, const pt_plugin_env_t *env, pt_cfg_diag_t *d)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    otlp_state_t *s = pt_calloc(1, sizeof(*s));
    int rc = 0;
    int any = 0;

    PT_UNUSED(env);
    if (s == NULL) {
        return -ENOMEM;
    }
    pthread_once(&once, global_init);
    for (int sig = PT_SIGNAL_LOGS; sig <= PT_SIGNAL_TRACES; sig++) {
        int r = dest_init(inst, d, sig, &s->d[sig]);
        rc = rc != 0 ? rc : r;
        any |= s->d[sig].on;
    }
    if (rc == 0 && !any) {
        pt_cfg_error(d, inst->line, "Endpoint",
                     "no endpoint: set Endpoint, or Logs/Metrics/Traces.Endpoint");
        rc = -EINVAL;
    }
    if (rc == 0) {
        rc = tls_init(inst, d, s);
    }
    if (rc != 0) {
        for (int sig = 0; sig < 4; sig++) {
            dest_free(&s->d[sig]);
        }
        pt_free(s);
        return rc;
    }
    s->c = inst->config;
    s->id = inst->id;
    s->m_rejected = pt_plugin_counter(inst, "petrel_otlp_export_rejected_total",
                                      "Records the OTLP receiver refused (partial success)");
    s->m_skipped = pt_plugin_counter(inst, "petrel_otlp_export_skipped_total",
                                     "Records of a signal this flusher has no endpoint for");
    inst->state = s;
    return 0;
}

/* ===================================================================== serialize ========= */

/* The payload is one frame per signal: 1 byte signal, 4 bytes big-endian length, then the body
 * as it goes on the wire (compressed; gRPC with its 5-byte message prefix). The spool keeps it
 * as it is, so a replay sends the same requests. */
static int frame_append(pt_buf_t *out, int sig, const dest_t *d, pt_buf_t *body)
{
    uint8_t hdr[10];
    size_t hl = 0;
    int rc = pt_codec_encode(d->codec, body);
    if (rc != 0) {
        return rc;
    }
    size_t wire = body->len + (d->grpc ? 5 : 0);
    hdr[hl++] = (uint8_t)sig;
    hdr[hl++] = (uint8_t)(wire >> 24);
    hdr[hl++] = (uint8_t)(wire >> 16);
    hdr[hl++] = (uint8_t)(wire >> 8);
    hdr[hl++] = (uint8_t)wire;
    if (d->grpc) {
        hdr[hl++] = d->codec != PT_CODEC_NONE;
        hdr[hl++] = (uint8_t)(body->len >> 24);
        hdr[hl++] = (uint8_t)(body->len >> 16);
        hdr[hl++] = (uint8_t)(body->len >> 8);
        hdr[hl++] = (uint8_t)body->len;
    }
    if ((rc = pt_buf_append(out, hdr, hl)) != 0) {
        return rc;
    }
    return pt_buf_append(out, body->data, body->len);
}

static int otlp_serialize(pt_plugin_inst_t *inst, const pt_batch_t *b, pt_payload_t *p)
{
    otlp_state_t *s = inst->state;
    pt_buf_t bodies[4];
    pt_buf_t *outs[4] = {NULL, NULL, NULL, NULL};
    uint32_t counts[4] = {0, 0, 0, 0};
    int rc;

    for (int sig = 0; sig < 4; sig++) {
        pt_buf_init(&bodies[sig]);
        /* Signals without an endpoint are encoded too, only to count what is skipped. */
        outs[sig] = sig >= PT_SIGNAL_LOGS ? &bodies[sig] : NULL;
    }
    rc = pt_otlp_encode_groups(b->groups, b->ngroups, outs, counts);
    for (int sig = PT_SIGNAL_LOGS; rc == 0 && sig <= PT_SIGNAL_TRACES; sig++) {
        if (counts[sig] == 0) {
            continue;
        }
        if (!s->d[sig].on) {
            pt_counter_add(s->m_skipped, counts[sig]);
            continue;
        }
        rc = frame_append(&p->data, sig, &s->d[sig], &bodies[sig]);
    }
    for (int sig = 0; sig < 4; sig++) {
        pt_buf_free(&bodies[sig]);
    }
    if (rc == 0 && p->data.len == 0) {
        return PT_DECLINED; /* nothing this flusher exports */
    }
    return rc;
}

/* ========================================================================== send ========= */

/* A payload is delivered when every frame is; retried while any frame is retryable (the others
 * are marked and not sent again); refused for good (dead letter) when the frames left were all
 * refused. */
static void send_finish(send_t *snd)
{
    pt_payload_t *p = snd->p;
    int status = snd->retry ? PT_RETRY : snd->refused ? -EBADMSG : 0;
    if (status != 0) {
        snprintf(p->reason, sizeof(p->reason), "%s", snd->reason);
        p->retry_after_ms = snd->retry_after_ms;
        p->throttled = (uint8_t)snd->throttled;
    }
    pt_free(snd);
    pt_payload_done(p, status);
}

/* Records one transfer's outcome: marks its frame, and keeps the reason of the worst outcome
 * and the longest delay asked for. frame is (size_t)-1 for a transfer that never started. */
static void send_note(send_t *snd, size_t frame, int status, uint32_t retry_ms, int throttled,
                      const char *why)
{
    uint8_t *mark = frame != (size_t)-1 ? (uint8_t *)snd->p->data.data + frame : NULL;
    if (status == 0) {
        if (mark != NULL) {
            *mark = FRAME_DONE;
        }
        return;
    }
    if (status == PT_RETRY) {
        snd->retry = 1;
        snd->retry_after_ms = PT_MAX(snd->retry_after_ms, retry_ms);
        snd->throttled |= throttled;
    } else {
        snd->refused = 1;
        if (mark != NULL) {
            *mark |= FRAME_REFUSED;
        }
        /* When other frames are retried, this one is skipped and never dead-lettered: say so. */
        pt_plg_error(snd->s->id, "%s: refused for good", why);
    }
    if (snd->reason[0] == '\0' || status != PT_RETRY) {
        snprintf(snd->reason, sizeof(snd->reason), "%s", why);
    }
}

static size_t on_header(char *buf, size_t size, size_t n, void *ud)
{
    xfer_t *x = ud;
    size_t len = size * n;
    size_t vlen;
    const char *v;
    const char *colon = memchr(buf, ':', len);

    if (colon == NULL) {
        return len;
    }
    v = colon + 1;
    while (v < buf + len && *v == ' ') {
        v++;
    }
    vlen = (size_t)(buf + len - v);
    while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' ')) {
        vlen--;
    }
    size_t nlen = (size_t)(colon - buf);
    if (nlen == 11 && strncasecmp(buf, "retry-after", 11) == 0) {
        char tmp[64];
        char *end;
        snprintf(tmp, sizeof(tmp), "%.*s", (int)PT_MIN(vlen, 63u), v);
        long secs = strtol(tmp, &end, 10);
        if (end != tmp && *end == '\0') {
            x->retry_after_s = secs;
        } else {
            time_t t = curl_getdate(tmp, NULL);
            x->retry_after_s = t > 0 && t > time(NULL) ? (long)(t - time(NULL)) : 0;
        }
    }
    return len;
}

static size_t on_body(char *buf, size_t size, size_t n, void *ud)
{
    xfer_t *x = ud;
    size_t len = size * n;
    /* Only the start matters (a response message or a Status): keep at most 64 KiB. */
    if (x->body.len < 65536) {
        pt_buf_append(&x->body, buf, PT_MIN(len, 65536 - x->body.len));
    }
    return len;
}

/* Partial success in an Export*ServiceResponse: counted and logged, not retried (the receiver
 * refused those records for good). */
static void note_partial(otlp_state_t *s, int sig, const uint8_t *msg, size_t len)
{
    int64_t rejected = 0;
    const char *why = "";
    ProtobufCMessage *m = NULL;
    const ProtobufCMessageDescriptor *d =
        sig == PT_SIGNAL_TRACES
            ? &opentelemetry__proto__collector__trace__v1__export_trace_service_response__descriptor
        : sig == PT_SIGNAL_METRICS
            ? &opentelemetry__proto__collector__metrics__v1__export_metrics_service_response__descriptor
            : &opentelemetry__proto__collector__logs__v1__export_logs_service_response__descriptor;
    if (len == 0 || (m = protobuf_c_message_unpack(d, NULL, len, msg)) == NULL) {
        return;
    }
    if (sig == PT_SIGNAL_TRACES) {
        Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse *r = (void *)m;
        if (r->partial_success != NULL) {
            rejected = r->partial_success->rejected_spans;
            why = r->partial_success->error_message;
        }
    } else if (sig == PT_SIGNAL_METRICS) {
        Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceResponse *r = (void *)m;
        if (r->partial_success != NULL) {
            rejected = r->partial_success->rejected_data_points;
            why = r->partial_success->error_message;
        }
    } else {
        Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceResponse *r = (void *)m;
        if (r->partial_success != NULL) {
            rejected = r->partial_success->rejected_log_records;
            why = r->partial_success->error_message;
        }
    }
    if (rejected > 0 || why[0] != '\0') {
        pt_counter_add(s->m_rejected, rejected > 0 ? (uint64_t)rejected : 0);
        pt_plg_warn(s->id, "the receiver refused %lld %s: %s", (long long)rejected,
                    pt_otlp_signal_records(sig), why);
    }
    protobuf_c_message_free_unpacked(m, NULL);
}

/* One transfer's end, whichever client carried it (the callback of grpc_client.c). */
static void xfer_done(void *ud, const otlp_grpc_result_t *r)
{
    xfer_t *x = ud;
    send_t *snd = x->snd;
    const char *sig = pt_otlp_signal_name(x->signal);
    long code = r->http_status;
    char why[120];

    if (r->error != NULL) {
        snprintf(why, sizeof(why), "%s: %s", sig, r->error);
        send_note(snd, x->frame, PT_RETRY, 0, 0, why);
    } else if (x->grpc && code == 200) {
        uint32_t delay;
        int throttled;
        int st = otlp_grpc_outcome(r, &delay, &throttled);
        /* The message is cut to fit the payload's reason field. */
        snprintf(why, sizeof(why), "%s: gRPC status %d %.80s", sig,
                 r->grpc_status < 0 ? PT_GRPC_UNKNOWN : r->grpc_status, r->grpc_message);
        if (st == 0 && r->msg != NULL) {
            note_partial(snd->s, x->signal, r->msg, r->msg_len);
        }
        send_note(snd, x->frame, st, delay, throttled, why);
    } else if (!x->grpc && code >= 200 && code < 300) {
        note_partial(snd->s, x->signal, r->msg, r->msg_len);
        send_note(snd, x->frame, 0, 0, 0, NULL);
    } else {
        snprintf(why, sizeof(why), "%s: HTTP %ld", sig, code);
        if (code == 429 || code == 502 || code == 503 || code == 504) {
            uint32_t ms = r->retry_after_s > 0 ? (uint32_t)r->retry_after_s * 1000 : 0;
            send_note(snd, x->frame, PT_RETRY, ms, code == 429 || code == 503, why);
        } else {
            send_note(snd, x->frame, -EBADMSG, 0, 0, why);
        }
    }
    pt_buf_free(&x->body);
    pt_free(x);
    if (--snd->left == 0) {
        send_finish(snd);
    }
}

/* libcurl's end of an OTLP/HTTP transfer, in the shape of a gRPC client's result. */
static void on_done(CURL *easy, CURLcode res, void *ud)
{
    xfer_t *x = ud;
    otlp_grpc_result_t r;

    memset(&r, 0, sizeof(r));
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &r.http_status);
    curl_easy_cleanup(easy);
    r.retry_after_s = x->retry_after_s;
    r.grpc_status = -1;
    r.grpc_message = r.details = "";
    r.error = res != CURLE_OK ? curl_easy_strerror(res) : NULL;
    r.msg = (const uint8_t *)x->body.data;
    r.msg_len = x->body.len;
    xfer_done(x, &r);
}

static int start_xfer(otlp_state_t *s, send_t *snd, size_t frame, int sig, const char *body,
                      size_t len)
{
    const dest_t *d = &s->d[sig];
    xfer_t *x = pt_calloc(1, sizeof(*x));
    CURL *e = NULL;
    if (x == NULL) {
        return -ENOMEM;
    }
    x->snd = snd;
    x->frame = frame;
    x->signal = sig;
    x->grpc = d->grpc;
    pt_buf_init(&x->body);
    if (d->grpc) {
        int rc = otlp_grpc_call(s->grpc, &d->gt, (const uint8_t *)body, len, xfer_done, x);
        if (rc != 0) {
            pt_free(x);
        }
        return rc;
    }
    if ((e = curl_easy_init()) == NULL) {
        pt_free(x);
        return -ENOMEM;
    }
    const pt_curl_post_t post = {
        .url = d->url,
        .body = body,
        .len = len,
        .headers = d->headers,
        .timeout_ms = d->timeout_ms,
        .user_agent = "petrel-otlp/" PETREL_VERSION,
        .on_header = on_header,
        .header_ud = x,
        .on_body = on_body,
        .body_ud = x,
        .ca_file = s->c->ca_file,
        .cert_file = s->c->cert_file,
        .key_file = s->c->key_file,
        .insecure = s->c->insecure,
    };
    pt_curl_post_setup(e, &post);
    if (pt_curl_loop_add(s->curl, e, x) != 0) {
        curl_easy_cleanup(e);
        pt_free(x);
        return -EIO;
    }
    return 0;
}

static int otlp_send(pt_plugin_inst_t *inst, pt_payload_t *p)
{
    otlp_state_t *s = inst->state;
    send_t *snd = pt_calloc(1, sizeof(*snd));
    const uint8_t *d = (const uint8_t *)p->data.data;
    size_t off = 0;

    if (snd == NULL) {
        snprintf(p->reason, sizeof(p->reason), "out of memory");
        return PT_RETRY;
    }
    snd->p = p;
    snd->s = s;
    /* Count from 1, so that no transfer can finish the payload before all have started. */
    snd->left = 1;
    while (off + 5 <= p->data.len) {
        int sig = d[off];
        int base = sig & ~FRAME_REFUSED;
        size_t len = (size_t)d[off + 1] << 24 | (size_t)d[off + 2] << 16 | (size_t)d[off + 3] << 8 |
                     d[off + 4];
        if (len > p->data.len - off - 5 || base > PT_SIGNAL_TRACES ||
            (base < PT_SIGNAL_LOGS && sig != FRAME_DONE)) {
            send_note(snd, (size_t)-1, -EBADMSG, 0, 0, "corrupt payload framing");
            break;
        }
        /* Delivered or refused already, or of a signal this config no longer exports (a spool
         * record from an earlier config): nothing to send. */
        if (sig == FRAME_DONE || (sig & FRAME_REFUSED) || !s->d[sig].on) {
            off += 5 + len;
            continue;
        }
        snd->left++;
        if (start_xfer(s, snd, off, sig, (const char *)d + off + 5, len) != 0) {
            snd->left--;
            send_note(snd, (size_t)-1, PT_RETRY, 0, 0, "cannot start the request");
        }
        off += 5 + len;
    }
    if (--snd->left == 0) {
        send_finish(snd);
    }
    return PT_DONE;
}

/* ===================================================================== lifecycle ========= */

static int otlp_start(pt_plugin_inst_t *inst, uv_loop_t *loop)
{
    otlp_state_t *s = inst->state;
    int curl = 0;
    int native = 0;
    int rc = 0;
    for (int sig = PT_SIGNAL_LOGS; sig <= PT_SIGNAL_TRACES; sig++) {
        curl |= s->d[sig].on && !s->d[sig].grpc;
        native |= s->d[sig].grpc;
    }
    if (curl) {
        rc = pt_curl_loop_create(loop, on_done, &s->curl);
    }
    if (rc == 0 && curl) {
        /* One request per connection at a time: Debian 12's libcurl (7.88) fails streams added
         * to an HTTP/2 connection that already carried one (an https:// endpoint may negotiate
         * h2), so concurrent requests get their own connections (at most the Concurrency). */
        curl_multi_setopt(pt_curl_loop_multi(s->curl), CURLMOPT_PIPELINING, CURLPIPE_NOTHING);
    }
    if (rc == 0 && native) {
        /* Per connection, as many streams as the delivery layer may have requests in flight. */
        rc = otlp_grpc_create(loop, inst, (uint32_t)s->c->delivery.concurrency, s->tls, &s->grpc);
        if (rc != 0) {
            pt_curl_loop_destroy(s->curl);
            s->curl = NULL;
        }
    }
    return rc;
}

static void otlp_stop(pt_plugin_inst_t *inst)
{
    otlp_state_t *s = inst->state;
    /* What is in flight fails (PT_RETRY): the delivery layer spools it for the next start. */
    pt_curl_loop_destroy(s->curl);
    s->curl = NULL;
    otlp_grpc_destroy(s->grpc);
    s->grpc = NULL;
}

static void otlp_destroy(pt_plugin_inst_t *inst)
{
    otlp_state_t *s = inst->state;
    if (s == NULL) {
        return;
    }
    for (int sig = 0; sig < 4; sig++) {
        dest_free(&s->d[sig]);
    }
    pt_tls_ctx_destroy(s->tls);
    pt_plugin_counter_free(s->m_rejected);
    pt_plugin_counter_free(s->m_skipped);
    pt_free(s);
    inst->state = NULL;
}

const pt_plugin_t pt_plugin_flusher_otlp = {
    .name = "flusher_otlp",
    .kind = PT_PLUGIN_FLUSHER,
    .description = "Exports traces, metrics and logs to OTLP endpoints over HTTP/protobuf or gRPC, "
                   "with spool, retries and dead letters",
    .config_map = otlp_map,
    .config_n = sizeof(otlp_map) / sizeof(otlp_map[0]),
    .config_size = sizeof(otlp_conf_t),
    .create = otlp_create,
    .start = otlp_start,
    .stop = otlp_stop,
    .destroy = otlp_destroy,
    .serialize = otlp_serialize,
    .send = otlp_send,
    .delivery_offset = offsetof(otlp_conf_t, delivery) + 1,
};
