/* OTLP/HTTP front end on the core HTTP/1.1 server: routes POST /v1/{traces,metrics,logs}, checks
 * the bearer token, content type and encoding, and answers as the OTLP spec says: 200 with the
 * Export*ServiceResponse (partial_success when records were refused), 400/413/415 with a
 * google.rpc.Status in the request's encoding, 503 with Retry-After when the pipeline is full. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "core/mem.h"
#include "service_otlp_internal.h"

typedef struct http_call_s {
    svc_call_t call;
    pt_http_req_t *req;
} http_call_t;

static int signal_of(pt_str_t path)
{
    if (pt_str_eq_c(path, "/v1/traces")) {
        return PT_SIGNAL_TRACES;
    }
    if (pt_str_eq_c(path, "/v1/metrics")) {
        return PT_SIGNAL_METRICS;
    }
    if (pt_str_eq_c(path, "/v1/logs")) {
        return PT_SIGNAL_LOGS;
    }
    return 0;
}

/* The media type without parameters, trimmed: "application/json; charset=utf-8" -> json. */
static int media_is(pt_str_t ct, const char *type)
{
    size_t n = 0;
    size_t tl = strlen(type);
    while (n < ct.len && ct.ptr[n] != ';') {
        n++;
    }
    while (n > 0 && (ct.ptr[n - 1] == ' ' || ct.ptr[n - 1] == '\t')) {
        n--;
    }
    return n == tl && strncasecmp(ct.ptr, type, tl) == 0;
}

/* Answers with a google.rpc.Status body in the request's encoding. */
static void respond_status(pt_http_req_t *req, int http_status, int json, int code, const char *msg,
                           const pt_str_t *extra, size_t nextra)
{
    pt_buf_t b;
    pt_buf_init(&b);
    if (pt_otlp_encode_status(json, code, msg, 0, &b) != 0) {
        pt_buf_free(&b);
        pt_http_respond(req, 500, NULL, NULL, 0, NULL, 0);
        return;
    }
    pt_http_respond(req, http_status, json ? "application/json" : "application/x-protobuf", extra,
                    nextra, b.data, b.len);
    pt_buf_free(&b);
}

static void answer(http_call_t *hc)
{
    svc_call_t *c = &hc->call;
    svc_t *s = c->s;
    pt_http_req_t *req = hc->req;
    pt_buf_t b;
    char retry[24];
    pt_str_t hdr[2];

    switch (c->result) {
    case SVC_OK:
        pt_buf_init(&b);
        if (pt_otlp_encode_response(c->signal, c->json, c->rejected, c->msg, &b) != 0) {
            pt_http_respond(req, 500, NULL, NULL, 0, NULL, 0);
        } else {
            pt_http_respond(req, 200, c->json ? "application/json" : "application/x-protobuf", NULL,
                            0, b.data, b.len);
        }
        pt_buf_free(&b);
        break;
    case SVC_BAD_REQUEST:
        PT_LOG(PT_LOG_DEBUG, s->id, "bad request from %s: %s", pt_http_req_peer(req), c->msg);
        respond_status(req, 400, c->json, PT_GRPC_INVALID_ARGUMENT, c->msg, NULL, 0);
        break;
    case SVC_TOO_LARGE:
        respond_status(req, 413, c->json, PT_GRPC_RESOURCE_EXHAUSTED, c->msg, NULL, 0);
        break;
    case SVC_UNSUPPORTED:
        respond_status(req, 415, c->json, PT_GRPC_INVALID_ARGUMENT, c->msg, NULL, 0);
        break;
    case SVC_UNAVAILABLE:
        snprintf(retry, sizeof(retry), "%lld", (long long)s->c->retry_after_s);
        hdr[0] = PT_STR_LIT("Retry-After");
        hdr[1] = pt_str_c(retry);
        respond_status(req, 503, c->json, PT_GRPC_UNAVAILABLE, c->msg, hdr, 1);
        break;
    default:
        respond_status(req, 500, c->json, PT_GRPC_INTERNAL, c->msg, NULL, 0);
        break;
    }
    pt_free(hc);
}

static void on_finish(svc_call_t *c)
{
    answer((http_call_t *)c);
}

static void on_request(pt_http_req_t *req, void *ud)
{
    svc_t *s = ud;
    int signal = signal_of(req->path);
    pt_str_t ct;
    pt_str_t ce;
    int json;
    int enc;
    http_call_t *hc;

    if (signal == 0) {
        static const char msg[] = "not found: OTLP/HTTP takes /v1/traces, /v1/metrics, /v1/logs\n";
        pt_http_respond(req, 404, "text/plain", NULL, 0, msg, sizeof(msg) - 1);
        return;
    }
    if (!pt_str_eq_c(req->method, "POST")) {
        static const char msg[] = "method not allowed: OTLP/HTTP exports are POST\n";
        const pt_str_t allow[2] = {PT_STR_LIT("Allow"), PT_STR_LIT("POST")};
        pt_http_respond(req, 405, "text/plain", allow, 1, msg, sizeof(msg) - 1);
        return;
    }
    ct = pt_http_req_header(req, "content-type");
    json = media_is(ct, "application/json");
    if (!svc_auth_ok(s, pt_http_req_header(req, "authorization"))) {
        /* The token itself is never logged, only that a request lacked it. */
        const pt_str_t hdr[2] = {PT_STR_LIT("WWW-Authenticate"), PT_STR_LIT("Bearer")};
        PT_LOG(PT_LOG_DEBUG, s->id, "unauthorized request from %s", pt_http_req_peer(req));
        pt_counter_inc(s->m_bad);
        respond_status(req, 401, json, PT_GRPC_UNAUTHENTICATED, "missing or wrong bearer token",
                       hdr, 1);
        return;
    }
    if (!json && !media_is(ct, "application/x-protobuf") && !media_is(ct, "application/protobuf")) {
        char msg[200];
        snprintf(msg, sizeof(msg),
                 "unsupported content type '%.*s': use application/x-protobuf or "
                 "application/json",
                 (int)PT_MIN(ct.len, 80u), ct.ptr != NULL ? ct.ptr : "");
        pt_counter_inc(s->m_bad);
        respond_status(req, 415, 1, PT_GRPC_INVALID_ARGUMENT, msg, NULL, 0);
        return;
    }
    ce = pt_http_req_header(req, "content-encoding");
    enc = pt_otlp_encoding_parse(ce.ptr != NULL ? ce : PT_STR_NULL);
    if (enc < 0) {
        char msg[200];
        snprintf(msg, sizeof(msg),
                 "unsupported content encoding '%.*s': use gzip, zstd, deflate or none",
                 (int)PT_MIN(ce.len, 80u), ce.ptr);
        pt_counter_inc(s->m_bad);
        respond_status(req, 415, json, PT_GRPC_INVALID_ARGUMENT, msg, NULL, 0);
        return;
    }
    hc = pt_calloc(1, sizeof(*hc));
    if (hc == NULL) {
        respond_status(req, 503, json, PT_GRPC_UNAVAILABLE, "out of memory", NULL, 0);
        return;
    }
    hc->req = req;
    hc->call.s = s;
    hc->call.signal = signal;
    hc->call.json = json;
    hc->call.source = svc_source_of(pt_http_req_peer(req));
    hc->call.finish = on_finish;
    hc->call.transport = req;
    if (svc_ingest(&hc->call, req->body.ptr, req->body.len, (pt_encoding_t)enc,
                   (size_t)s->c->http.max_msg_mib << 20) == PT_DONE) {
        return; /* answered by on_finish once the pipeline took the rest */
    }
    answer(hc);
}

int svc_http_start(svc_t *s)
{
    const svc_proto_conf_t *pc = &s->c->http;
    pt_http_server_opts_t o;
    char host[256];
    int port;
    int rc;

    if (svc_parse_endpoint(pc->endpoint, host, sizeof(host), &port) != 0) {
        return -EINVAL;
    }
    pt_http_server_opts_init(&o);
    o.host = strcmp(host, "localhost") == 0 ? "127.0.0.1" : host;
    o.port = port;
    o.name = s->id;
    /* The raw body may not exceed the decompressed cap either. */
    o.max_body_size = (size_t)pc->max_msg_mib << 20;
    o.header_timeout_ms = (uint32_t)pc->read_timeout_s * 1000;
    o.body_timeout_ms = (uint32_t)pc->read_timeout_s * 1000;
    o.max_connections = (uint32_t)pc->max_connections;
    o.tls = s->tls_http;
    rc = pt_http_server_create(s->loop, &o, on_request, s, &s->http);
    if (rc != 0) {
        pt_plg_error(s->id, "cannot listen on %s (HTTP): %s", pc->endpoint, pt_strerror(rc));
        s->http = NULL;
        return rc;
    }
    pt_plg_info(s->id, "OTLP/HTTP listening on %s%s", pc->endpoint, o.tls != NULL ? " (TLS)" : "");
    return 0;
}

void svc_http_stop(svc_t *s)
{
    if (s->http != NULL) {
        pt_http_server_close(s->http, NULL, NULL);
        s->http = NULL;
    }
}
