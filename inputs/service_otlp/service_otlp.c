/* service_otlp: an OTLP receiver (LoongCollector's keys). HTTP/1.1 on the core server (http.c)
 * and gRPC over HTTP/2 (grpc.c), each in plaintext or TLS, hand each export request to one ingest
 * path here: bounded decompression, decoding into the request's arena, one group per resource and
 * scope, push, and an answer once the pipeline has taken every group (503 / UNAVAILABLE when it is
 * full). */
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"
#include "core/mem.h"
#include "service_otlp_internal.h"

/* The keys of one server, under P ("Protocals.HTTP" or "Protocals.GRPC"). */
/* clang-format off */
#define PROTO_FIELDS(X, P, EP, MAXMSG)                                                             \
    {P, PT_CFG_SECTION, NULL, 0, 0, NULL, PT_CFG_PRESENCE, offsetof(svc_conf_t, X.present), NULL, \
     "Enables this server (an empty map `{}` takes every default)"},                               \
    {P ".Endpoint", PT_CFG_STRING, EP, 0, 0, NULL, 0, offsetof(svc_conf_t, X.endpoint), NULL,      \
     "host:port to listen on ([::1]:port for IPv6)"},                                              \
    {P ".ReadTimeoutSec", PT_CFG_INT, "10", 1, 3600, NULL, PT_CFG_BOUNDED,                         \
     offsetof(svc_conf_t, X.read_timeout_s), NULL,                                                 \
     "Longest wait for a request's headers, and longest silence while its body arrives"},          \
    {P ".ShutdownTimeoutSec", PT_CFG_INT, "5", 0, 3600, NULL, PT_CFG_BOUNDED,                      \
     offsetof(svc_conf_t, X.shutdown_timeout_s), NULL,                                             \
     "At stop, requests already taken are answered and the rest get 503/UNAVAILABLE at once; "     \
     "kept for LoongCollector compatibility"},                                                     \
    {P ".MaxRecvMsgSizeMiB", PT_CFG_INT, MAXMSG, 1, 4095, NULL, PT_CFG_BOUNDED,                    \
     offsetof(svc_conf_t, X.max_msg_mib), "MaxRequestBodySizeMiB",                                 \
     "Largest request message after decompression; larger ones get 413 / RESOURCE_EXHAUSTED"},     \
    {P ".MaxConnections", PT_CFG_INT, "1024", 1, 100000, NULL, PT_CFG_BOUNDED,                     \
     offsetof(svc_conf_t, X.max_connections), NULL,                                                \
     "Connections beyond this are accepted and closed at once"}
/* clang-format on */

static const pt_cfg_field_t svc_map[] = {
    {"Protocals", PT_CFG_SECTION, NULL, 0, 0, NULL, 0, 0, NULL,
     "Servers to run (LoongCollector's spelling); at least one of HTTP and GRPC"},
    PROTO_FIELDS(http, "Protocals.HTTP", "127.0.0.1:4318", "64"),
    PROTO_FIELDS(grpc, "Protocals.GRPC", "127.0.0.1:4317", "64"),
    {"Protocals.GRPC.MaxConcurrentStreams", PT_CFG_INT, "100", 1, 100000, NULL, PT_CFG_BOUNDED,
     offsetof(svc_conf_t, grpc.max_streams), NULL, "Concurrent gRPC streams per connection"},
    {"TLS", PT_CFG_SECTION, NULL, 0, 0, NULL, 0, 0, NULL,
     "TLS for both servers (HTTPS on the HTTP port, gRPC over TLS with ALPN h2 on the gRPC "
     "port): TLS 1.2 or 1.3, OpenSSL's default ciphers at security level 2; set CertFile and "
     "KeyFile to enable it. The files are read when the pipeline is built: after replacing "
     "them, restart petrel or change the pipeline config so it is rebuilt"},
    {"TLS.CertFile", PT_CFG_STRING, NULL, 0, 0, NULL, 0, offsetof(svc_conf_t, tls_cert), NULL,
     "Server certificate (PEM), followed by its intermediate CAs; goes with KeyFile"},
    {"TLS.KeyFile", PT_CFG_STRING, NULL, 0, 0, NULL, 0, offsetof(svc_conf_t, tls_key), NULL,
     "Private key (PEM, unencrypted) of CertFile"},
    {"TLS.ClientCAFile", PT_CFG_STRING, NULL, 0, 0, NULL, 0, offsetof(svc_conf_t, tls_ca), NULL,
     "CA bundle (PEM); when set, clients must present a certificate that chains to it (mutual "
     "TLS), and the others are refused in the handshake"},
    {"BearerTokenFile", PT_CFG_STRING, NULL, 0, 0, NULL, 0, offsetof(svc_conf_t, token_file), NULL,
     "File holding a token that requests must carry as `Authorization: Bearer <token>` "
     "(compared in constant time, never logged)"},
    {"DurableAck", PT_CFG_BOOL, "false", 0, 0, NULL, 0, offsetof(svc_conf_t, durable_ack), NULL,
     "Answer a request (200 / grpc-status 0) only once every flusher delivered its records or "
     "wrote them to its spool (Spool.Mode always: once spooled), so that a crash right after "
     "the answer loses nothing; its batch is sent at once. false: answer once the pipeline "
     "queued the records in memory"},
    {"RetryAfterSec", PT_CFG_INT, "1", 1, 3600, NULL, PT_CFG_BOUNDED,
     offsetof(svc_conf_t, retry_after_s), NULL,
     "Retry-After (HTTP 503) and RetryInfo delay (gRPC UNAVAILABLE) sent when the pipeline is "
     "full"},
};

/* A token is a line of text; anything longer is a mistake (a key file named by accident). */
#define TOKEN_MAX 4096

/* ==================================================================== endpoint ========== */

int svc_parse_endpoint(const char *ep, char *host, size_t hostlen, int *port)
{
    const char *colon;
    char *end;
    long p;

    if (ep == NULL || ep[0] == '\0') {
        return -EINVAL;
    }
    /* "[v6]:port" or "host:port"; a bare ":port" means all IPv4 interfaces. */
    if (ep[0] == '[') {
        const char *rb = strchr(ep, ']');
        if (rb == NULL || rb[1] != ':') {
            return -EINVAL;
        }
        colon = rb + 1;
    } else {
        colon = strrchr(ep, ':');
        if (colon == NULL || memchr(ep, ':', (size_t)(colon - ep)) != NULL) {
            return -EINVAL;
        }
    }
    if ((size_t)(colon - ep) + 1 > hostlen) {
        return -EINVAL;
    }
    if (colon == ep) {
        snprintf(host, hostlen, "0.0.0.0");
    } else {
        memcpy(host, ep, (size_t)(colon - ep));
        host[colon - ep] = '\0';
    }
    errno = 0;
    p = strtol(colon + 1, &end, 10);
    if (errno != 0 || *end != '\0' || end == colon + 1 || p < 0 || p > 65535) {
        return -EINVAL;
    }
    *port = (int)p;
    return 0;
}

uint64_t svc_source_of(const char *peer)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (const char *p = peer; *p != '\0'; p++) {
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    }
    return h;
}

/* =================================================================== lifecycle ========== */

static int check_endpoint(pt_plugin_inst_t *inst, pt_cfg_diag_t *d, const svc_proto_conf_t *pc,
                          const char *key)
{
    char host[256];
    int port;
    struct sockaddr_storage ss;

    if (svc_parse_endpoint(pc->endpoint, host, sizeof(host), &port) != 0) {
        pt_cfg_error(d, inst->line, key, "'%s' is not host:port", pc->endpoint);
        return -EINVAL;
    }
    /* The HTTP server takes IP literals only: a name would need a resolver on the loop. */
    const char *h = host;
    char v6[256];
    if (host[0] == '[') {
        snprintf(v6, sizeof(v6), "%.*s", (int)strlen(host) - 2, host + 1);
        h = v6;
    }
    if (strcmp(h, "localhost") != 0 && uv_ip4_addr(h, port, (struct sockaddr_in *)&ss) != 0 &&
        uv_ip6_addr(h, port, (struct sockaddr_in6 *)&ss) != 0) {
        pt_cfg_error(d, inst->line, key, "'%s' is not an IP address (use 127.0.0.1 or [::1])",
                     host);
        return -EINVAL;
    }
    return 0;
}

static int check_file(pt_plugin_inst_t *inst, pt_cfg_diag_t *d, const char *path, const char *key)
{
    if (path != NULL && access(path, R_OK) != 0) {
        pt_cfg_error(d, inst->line, key, "cannot read %s: %s", path, strerror(errno));
        return -EINVAL;
    }
    return 0;
}

/* The config key a TLS context error is about. */
static const char *tls_key_of(pt_tls_file_t f)
{
    switch (f) {
    case PT_TLS_FILE_CERT:
        return "TLS.CertFile";
    case PT_TLS_FILE_KEY:
        return "TLS.KeyFile";
    case PT_TLS_FILE_CA:
        return "TLS.ClientCAFile";
    default:
        return "TLS";
    }
}

/* One server context per enabled server, as they offer different ALPN protocols: http/1.1
 * (a client preferring h2 still gets HTTP/1.1) and h2 only (gRPC needs HTTP/2: others are
 * refused in the handshake). The files are read here, so `petrel check` names a bad one. */
static int make_tls(pt_plugin_inst_t *inst, pt_cfg_diag_t *d, const svc_conf_t *c,
                    pt_tls_ctx_t **http, pt_tls_ctx_t **grpc)
{
    pt_tls_opts_t o = {.cert_file = c->tls_cert, .key_file = c->tls_key, .ca_file = c->tls_ca};
    pt_tls_error_t err;
    int rc = 0;

    if (c->tls_cert == NULL || c->tls_key == NULL) {
        pt_cfg_error(d, inst->line, c->tls_cert == NULL ? "TLS.CertFile" : "TLS.KeyFile",
                     "TLS needs both CertFile and KeyFile (ClientCAFile is optional)");
        return -EINVAL;
    }
    if (c->http.present != NULL) {
        o.alpn = "http/1.1";
        o.alpn_required = 0;
        rc = pt_tls_ctx_create_server(&o, http, &err);
    }
    if (rc == 0 && c->grpc.present != NULL) {
        o.alpn = "h2";
        o.alpn_required = 1;
        rc = pt_tls_ctx_create_server(&o, grpc, &err);
    }
    if (rc != 0) {
        pt_cfg_error(d, inst->line, tls_key_of(err.file), "%s", err.msg);
        pt_tls_ctx_destroy(*http);
        *http = NULL;
        return rc;
    }
    return 0;
}

static int svc_create(pt_plugin_inst_t *inst, const pt_plugin_env_t *env, pt_cfg_diag_t *d)
{
    svc_conf_t *c = inst->config;
    pt_tls_ctx_t *tls_http = NULL;
    pt_tls_ctx_t *tls_grpc = NULL;
    svc_t *s;
    int rc = 0;

    if (c->http.present == NULL && c->grpc.present == NULL) {
        pt_cfg_error(d, inst->line, "Protocals",
                     "no server enabled: set Protocals.HTTP and/or Protocals.GRPC (`{}` takes "
                     "the defaults)");
        return -EINVAL;
    }
    if (c->http.present != NULL && check_endpoint(inst, d, &c->http, "Protocals.HTTP.Endpoint")) {
        rc = -EINVAL;
    }
    if (c->grpc.present != NULL && check_endpoint(inst, d, &c->grpc, "Protocals.GRPC.Endpoint")) {
        rc = -EINVAL;
    }
    if (c->http.present != NULL && c->grpc.present != NULL &&
        strcmp(c->http.endpoint, c->grpc.endpoint) == 0) {
        pt_cfg_error(d, inst->line, "Protocals.GRPC.Endpoint",
                     "'%s' is also the HTTP endpoint; give each server its own port",
                     c->grpc.endpoint);
        rc = -EINVAL;
    }
    /* Any TLS key asks for TLS: an incomplete section is an error, never plaintext. */
    if ((c->tls_cert != NULL || c->tls_key != NULL || c->tls_ca != NULL) &&
        make_tls(inst, d, c, &tls_http, &tls_grpc) != 0) {
        rc = -EINVAL;
    }
    if (check_file(inst, d, c->token_file, "BearerTokenFile") != 0) {
        rc = -EINVAL;
    }
    if (rc == 0 && (s = pt_calloc(1, sizeof(*s))) == NULL) {
        rc = -ENOMEM;
    }
    if (rc != 0) {
        pt_tls_ctx_destroy(tls_http);
        pt_tls_ctx_destroy(tls_grpc);
        return rc;
    }
    s->inst = inst;
    s->c = c;
    s->id = inst->id;
    s->tls_http = tls_http;
    s->tls_grpc = tls_grpc;
    inst->state = s;
    PT_UNUSED(env);
    return 0;
}

/* Reads the bearer token: the file's first line, without surrounding whitespace. */
static int load_token(svc_t *s)
{
    char buf[TOKEN_MAX + 2];
    ssize_t n;
    size_t b = 0;
    size_t e;
    int fd = open(s->c->token_file, O_RDONLY | O_CLOEXEC);
    int rc = 0;

    if (fd < 0) {
        rc = -errno;
        pt_plg_error(s->id, "cannot read BearerTokenFile %s: %s", s->c->token_file,
                     pt_strerror(rc));
        return rc;
    }
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n < 0) {
        rc = -errno;
        pt_plg_error(s->id, "cannot read BearerTokenFile %s: %s", s->c->token_file,
                     pt_strerror(rc));
        return rc;
    }
    e = (size_t)n;
    while (b < e && (buf[b] == ' ' || buf[b] == '\t' || buf[b] == '\r' || buf[b] == '\n')) {
        b++;
    }
    const char *nl = memchr(buf + b, '\n', e - b);
    if (nl != NULL) {
        e = (size_t)(nl - buf);
    }
    while (e > b && (buf[e - 1] == ' ' || buf[e - 1] == '\t' || buf[e - 1] == '\r')) {
        e--;
    }
    if (e == b || e - b > TOKEN_MAX) {
        pt_plg_error(s->id, "BearerTokenFile %s: %s", s->c->token_file,
                     e == b ? "the file is empty" : "the token is longer than 4096 bytes");
        rc = -EINVAL;
    } else {
        s->token = pt_strndup(buf + b, e - b);
        s->token_len = e - b;
        if (s->token == NULL) {
            rc = -ENOMEM;
        }
    }
    memset(buf, 0, sizeof(buf));
    return rc;
}

int svc_auth_ok(const svc_t *s, pt_str_t auth)
{
    static const char scheme[] = "bearer ";
    volatile uint8_t diff = 0;
    size_t n;

    if (s->token == NULL) {
        return 1;
    }
    if (auth.ptr == NULL || auth.len < sizeof(scheme) - 1 ||
        strncasecmp(auth.ptr, scheme, sizeof(scheme) - 1) != 0) {
        return 0;
    }
    auth.ptr += sizeof(scheme) - 1;
    auth.len -= (uint32_t)(sizeof(scheme) - 1);
    while (auth.len > 0 && auth.ptr[0] == ' ') {
        auth.ptr++;
        auth.len--;
    }
    /* Every byte of the token is compared whatever the input, so the time taken says nothing
     * about how much of a guess was right. */
    n = s->token_len;
    diff = (uint8_t)(auth.len != n);
    for (size_t i = 0; i < n; i++) {
        uint8_t got = i < auth.len ? (uint8_t)auth.ptr[i] : 0;
        diff |= (uint8_t)(got ^ (uint8_t)s->token[i]);
    }
    return diff == 0;
}

static void svc_stop(pt_plugin_inst_t *inst);

static int svc_start(pt_plugin_inst_t *inst, uv_loop_t *loop)
{
    svc_t *s = inst->state;
    int rc;

    s->loop = loop;
    s->m_requests =
        pt_plugin_counter(inst, "petrel_otlp_requests_total", "OTLP export requests received");
    s->m_refused = pt_plugin_counter(inst, "petrel_otlp_requests_refused_total",
                                     "OTLP requests answered 503/UNAVAILABLE (pipeline full)");
    s->m_bad = pt_plugin_counter(inst, "petrel_otlp_requests_invalid_total",
                                 "OTLP requests refused as malformed, too large, unsupported or "
                                 "unauthorized");
    s->m_rejected = pt_plugin_counter(inst, "petrel_otlp_records_rejected_total",
                                      "Spans, data points and log records refused one by one "
                                      "(partial success)");
    s->m_acked =
        pt_plugin_counter(inst, "petrel_otlp_groups_acked_total", "Groups every flusher has taken");
    if (s->c->token_file != NULL && (rc = load_token(s)) != 0) {
        return rc;
    }
    if ((rc = pt_acker_create(loop, &s->acker)) != 0) {
        return rc;
    }
    if ((s->c->http.present != NULL && (rc = svc_http_start(s)) != 0) ||
        (s->c->grpc.present != NULL && (rc = svc_grpc_start(s)) != 0)) {
        svc_stop(inst);
        return rc;
    }
    return 0;
}

static void fail_waits(svc_t *s);

/* Answers every call still waiting for the pipeline: they are refused (what was taken stays in
 * the pipeline; the client's retry may repeat it: duplicates, never loss). */
static void fail_pending(svc_t *s)
{
    while (s->pending_head != NULL) {
        svc_call_t *c = s->pending_head;
        s->pending_head = c->next_pending;
        c->result = SVC_UNAVAILABLE;
        snprintf(c->msg, sizeof(c->msg), "the receiver is shutting down");
        svc_call_release(c);
        c->finish(c);
    }
    s->pending_tail = NULL;
}

static void svc_stop(pt_plugin_inst_t *inst)
{
    svc_t *s = inst->state;
    if (s->stopped) {
        return;
    }
    s->stopped = 1;
    fail_pending(s);
    svc_http_stop(s);
    svc_grpc_stop(s);
}

static void svc_destroy(pt_plugin_inst_t *inst)
{
    svc_t *s = inst->state;
    if (s == NULL) {
        return;
    }
    svc_stop(inst);
    pt_acker_destroy(s->acker); /* acks already released are called back first */
    fail_waits(s);
    pt_plugin_counter_free(s->m_requests);
    pt_plugin_counter_free(s->m_refused);
    pt_plugin_counter_free(s->m_bad);
    pt_plugin_counter_free(s->m_rejected);
    pt_plugin_counter_free(s->m_acked);
    /* Connections still closing hold their own references. */
    pt_tls_ctx_destroy(s->tls_http);
    pt_tls_ctx_destroy(s->tls_grpc);
    if (s->token != NULL) {
        memset(s->token, 0, s->token_len);
        pt_free(s->token);
    }
    pt_free(s);
    inst->state = NULL;
}

/* ====================================================================== ingest ========== */

static void wait_free(svc_t *s, svc_wait_t *w)
{
    if (w->prev != NULL) {
        w->prev->next = w->next;
    } else {
        s->waits = w->next;
    }
    if (w->next != NULL) {
        w->next->prev = w->prev;
    }
    pt_free(w);
}

/* DurableAck: every group of the call is acknowledged: its answer (for the caller to send). */
static void wait_result(svc_t *s, svc_wait_t *w)
{
    svc_call_t *c = w->call;
    c->wait = NULL;
    if (w->status != 0) {
        /* A flusher dropped part of it: the client must send it again (duplicates, not loss). */
        c->result = SVC_UNAVAILABLE;
        snprintf(c->msg, sizeof(c->msg), "the records could not be delivered or spooled (%s)",
                 pt_strerror(w->status));
        pt_counter_inc(s->m_refused);
    }
    wait_free(s, w);
}

static void on_ack(pt_ack_t *ack, int status)
{
    svc_t *s = ack->owner;
    svc_wait_t *w = ack->target;
    pt_counter_inc(s->m_acked);
    if (w == NULL) {
        return;
    }
    if (status != 0) {
        w->status = status;
    }
    if (--w->left > 0) {
        return;
    }
    if (w->call == NULL) {
        wait_free(s, w); /* answered already */
    } else if (w->armed) {
        svc_call_t *c = w->call;
        wait_result(s, w);
        c->finish(c);
    }
}

/* DurableAck: every group is pushed; the call is answered when the last ack comes. Returns 0
 * when that already happened (the caller answers), PT_DONE otherwise. */
static int wait_arm(svc_call_t *c)
{
    svc_wait_t *w = c->wait;
    if (w == NULL) {
        return 0;
    }
    if (w->left == 0) {
        wait_result(c->s, w);
        return 0;
    }
    w->armed = 1;
    return PT_DONE;
}

/* DurableAck calls whose data was never acknowledged (thrown away at a forced shutdown, so
 * never made durable) are refused: the client sends them again. */
static void fail_waits(svc_t *s)
{
    while (s->waits != NULL) {
        svc_wait_t *w = s->waits;
        svc_call_t *c = w->call;
        wait_free(s, w);
        if (c != NULL) {
            c->wait = NULL;
            c->result = SVC_UNAVAILABLE;
            snprintf(c->msg, sizeof(c->msg), "the receiver stopped before the data was durable");
            c->finish(c);
        }
    }
}

/* The call is answered without waiting (refused, or the receiver is going away): its pushed
 * groups' acks, still out, no longer have anyone to tell. */
static void wait_detach(svc_call_t *c)
{
    svc_wait_t *w = c->wait;
    if (w == NULL) {
        return;
    }
    c->wait = NULL;
    w->call = NULL;
    if (w->left == 0) {
        wait_free(c->s, w);
    }
}

void svc_call_release(svc_call_t *c)
{
    if (c->result != SVC_OK) {
        wait_detach(c);
    }
    for (uint32_t i = c->next_push; i < c->gr.ngroups; i++) {
        pt_group_t *g = c->gr.groups[i];
        pt_ack_abandon(g->ack);
        pt_group_release(g);
    }
    c->gr.ngroups = 0;
    c->next_push = 0;
    if (c->arena != NULL) {
        pt_arena_unref(c->arena);
        c->arena = NULL;
    }
}

/* Pushes the call's groups in order. 0 when all are taken, PT_AGAIN when the pipeline is full
 * (c->next_push says how far it got), another error when the pipeline is stopping. */
static int push_groups(svc_call_t *c)
{
    svc_t *s = c->s;
    while (c->next_push < c->gr.ngroups) {
        pt_group_t *g = c->gr.groups[c->next_push];
        uint32_t live = g->nevents;
        int rc = pt_pipeline_push(s->inst->pipeline, g);
        if (rc != 0) {
            return rc;
        }
        pt_counter_add(s->inst->m.events_in, live);
        c->next_push++;
        if (c->wait != NULL) {
            c->wait->left++;
        }
    }
    return 0;
}

static void set_result(svc_call_t *c, svc_result_t r, const char *msg)
{
    c->result = r;
    if (msg != NULL) {
        snprintf(c->msg, sizeof(c->msg), "%s", msg);
    }
}

/* The answer to a call whose groups are all pushed. */
static void accepted(svc_call_t *c)
{
    c->result = SVC_OK;
    c->rejected = (int64_t)c->gr.rejected;
    if (c->rejected > 0) {
        snprintf(c->msg, sizeof(c->msg), "%lld %s rejected: %s", (long long)c->rejected,
                 pt_otlp_signal_records(c->signal), c->gr.reason);
        pt_counter_add(c->s->m_rejected, (uint64_t)c->rejected);
    }
}

int svc_ingest(svc_call_t *c, const void *body, size_t len, pt_encoding_t enc, size_t max)
{
    svc_t *s = c->s;
    ProtobufCMessage *msg = NULL;
    pt_buf_t plain;
    const char *data = body;
    int rc;

    pt_counter_inc(s->m_requests);
    pt_counter_add(s->inst->m.bytes_in, len);
    c->result = SVC_OK;
    c->rejected = 0;
    c->msg[0] = '\0';
    if (s->stopped) {
        set_result(c, SVC_UNAVAILABLE, "the receiver is shutting down");
        return 0;
    }
    /* A call already waits for room: nothing new goes ahead of it. */
    if (s->pending_head != NULL) {
        set_result(c, SVC_UNAVAILABLE, "the pipeline is full");
        pt_counter_inc(s->m_refused);
        return 0;
    }
    pt_buf_init(&plain);
    if (enc != PT_ENC_IDENTITY) {
        rc = pt_otlp_decompress(enc, body, len, max, &plain);
        if (rc == -EMSGSIZE) {
            snprintf(c->msg, sizeof(c->msg), "the request inflates past the limit of %zu bytes",
                     max);
            c->result = SVC_TOO_LARGE;
            goto out;
        }
        if (rc != 0) {
            set_result(c, rc == -ENOMEM ? SVC_INTERNAL : SVC_BAD_REQUEST,
                       rc == -ENOMEM ? "out of memory" : "the compressed body is corrupt");
            goto out;
        }
        data = plain.data;
        len = plain.len;
    } else if (len > max) {
        snprintf(c->msg, sizeof(c->msg), "the request is larger than the limit of %zu bytes", max);
        c->result = SVC_TOO_LARGE;
        goto out;
    }
    c->arena = pt_arena_create(len < 32768 ? PT_ARENA_SMALL : PT_ARENA_LARGE);
    if (c->arena == NULL) {
        set_result(c, SVC_INTERNAL, "out of memory");
        goto out;
    }
    rc = c->json ? pt_otlp_decode_json(c->signal, c->arena, data, len, &msg, c->msg, sizeof(c->msg))
                 : pt_otlp_decode_pb(c->signal, c->arena, data, len, &msg, c->msg, sizeof(c->msg));
    pt_buf_free(&plain);
    if (rc != 0) {
        c->result = rc == -ENOMEM ? SVC_INTERNAL : SVC_BAD_REQUEST;
        goto out;
    }
    rc = pt_otlp_to_groups(c->signal, msg, c->arena, pt_now_wall_ns(), &c->gr);
    if (rc != 0) {
        set_result(c, SVC_INTERNAL, "out of memory");
        goto out;
    }
    if (c->gr.ngroups == 0) {
        accepted(c);
        goto out;
    }
    /* Every group is built before the first push: once a worker holds one, this thread must
     * not allocate in the shared arena again. Acks and accounting first, for the same reason. */
    uint64_t share = c->arena->bytes / c->gr.ngroups + 1;
    if (s->c->durable_ack) {
        c->wait = pt_calloc(1, sizeof(*c->wait));
        if (c->wait == NULL) {
            set_result(c, SVC_INTERNAL, "out of memory");
            goto out;
        }
        c->wait->call = c;
        c->wait->next = s->waits;
        if (s->waits != NULL) {
            s->waits->prev = c->wait;
        }
        s->waits = c->wait;
    }
    for (uint32_t i = 0; i < c->gr.ngroups; i++) {
        pt_group_t *g = c->gr.groups[i];
        g->ack = pt_ack_create(s->acker, on_ack, s, c->wait, 0);
        if (g->ack == NULL) {
            set_result(c, SVC_INTERNAL, "out of memory");
            goto out;
        }
        g->source = c->source;
        g->bytes = share;
        if (c->wait != NULL) {
            g->flags |= PT_GROUP_F_FLUSH; /* the client waits: no batch timeout */
        }
    }
    rc = push_groups(c);
    if (rc == 0) {
        accepted(c);
        svc_call_release(c);
        return wait_arm(c);
    }
    if (rc == PT_AGAIN && c->next_push > 0) {
        /* Part of the request is in the pipeline: hold the answer until the rest is taken. */
        c->next_pending = NULL;
        if (s->pending_tail != NULL) {
            s->pending_tail->next_pending = c;
        } else {
            s->pending_head = c;
        }
        s->pending_tail = c;
        return PT_DONE;
    }
    set_result(c, SVC_UNAVAILABLE,
               rc == PT_AGAIN ? "the pipeline is full" : "the receiver is shutting down");
    pt_counter_inc(s->m_refused);
out:
    pt_buf_free(&plain);
    if (c->result == SVC_BAD_REQUEST || c->result == SVC_TOO_LARGE ||
        c->result == SVC_UNSUPPORTED) {
        pt_counter_inc(s->m_bad);
        pt_counter_inc(s->inst->m.errors);
    }
    svc_call_release(c);
    return 0;
}

/* Backpressure lifted: the waiting calls go on in arrival order. */
static void svc_resume(pt_plugin_inst_t *inst)
{
    svc_t *s = inst->state;
    while (s->pending_head != NULL) {
        svc_call_t *c = s->pending_head;
        int rc = push_groups(c);
        if (rc == PT_AGAIN) {
            return;
        }
        s->pending_head = c->next_pending;
        if (s->pending_head == NULL) {
            s->pending_tail = NULL;
        }
        if (rc == 0) {
            accepted(c);
        } else {
            set_result(c, SVC_UNAVAILABLE, "the receiver is shutting down");
        }
        svc_call_release(c);
        if (rc != 0 || wait_arm(c) == 0) {
            c->finish(c);
        }
    }
}

const pt_plugin_t pt_plugin_service_otlp = {
    .name = "service_otlp",
    .kind = PT_PLUGIN_INPUT,
    .description = "Receives OTLP traces, metrics and logs over HTTP (protobuf or JSON) and gRPC",
    .config_map = svc_map,
    .config_n = sizeof(svc_map) / sizeof(svc_map[0]),
    .config_size = sizeof(svc_conf_t),
    .create = svc_create,
    .start = svc_start,
    .stop = svc_stop,
    .destroy = svc_destroy,
    .resume = svc_resume,
};
