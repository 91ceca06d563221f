/* The gRPC answer rules of flusher_otlp, shared by the native client and the libcurl path
 * (grpcs://): grpc-status to delivery status, RetryInfo, unframing and grpc-message decoding; and
 * the targets (where a signal's calls go, with their metadata), parsed once at create(). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/common.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/proto/otlp.h"
#include "core/proto/otlp_pb.h"
#include "grpc_client_internal.h"

/* ============================================================= answer rules (shared) ===== */

static int grpc_retryable(int code)
{
    switch (code) {
    case PT_GRPC_CANCELLED:
    case PT_GRPC_DEADLINE_EXCEEDED:
    case PT_GRPC_ABORTED:
    case PT_GRPC_OUT_OF_RANGE:
    case PT_GRPC_UNAVAILABLE:
    case PT_GRPC_DATA_LOSS:
        return 1;
    default:
        return 0;
    }
}

uint32_t otlp_grpc_retry_info_ms(const char *details)
{
    uint8_t raw[800];
    size_t len = strlen(details);
    uint32_t ms = 0;
    if (len == 0 || len * 3 / 4 + 3 > sizeof(raw)) {
        return 0;
    }
    long n = pt_otlp_b64_decode(details, len, raw);
    Google__Rpc__Status *st = n > 0 ? google__rpc__status__unpack(NULL, (size_t)n, raw) : NULL;
    if (st == NULL) {
        return 0;
    }
    for (size_t i = 0; i < st->n_details; i++) {
        const char *t = st->details[i]->type_url;
        size_t tl = strlen(t);
        if (tl >= 20 && strcmp(t + tl - 20, "google.rpc.RetryInfo") == 0) {
            Google__Rpc__RetryInfo *ri = google__rpc__retry_info__unpack(
                NULL, st->details[i]->value.len, st->details[i]->value.data);
            if (ri != NULL && ri->retry_delay != NULL && ri->retry_delay->seconds >= 0 &&
                ri->retry_delay->nanos >= 0) {
                /* Clamped to an hour: a server's typo must not park the exporter for days. */
                int64_t v = ri->retry_delay->seconds * 1000 + ri->retry_delay->nanos / 1000000;
                ms = (uint32_t)(v > 3600000 || ri->retry_delay->seconds > 3600 ? 3600000 : v);
            }
            google__rpc__retry_info__free_unpacked(ri, NULL);
        }
    }
    google__rpc__status__free_unpacked(st, NULL);
    return ms;
}

int otlp_grpc_outcome(const otlp_grpc_result_t *r, uint32_t *retry_ms, int *throttled)
{
    int st = r->grpc_status < 0 ? PT_GRPC_UNKNOWN : r->grpc_status;
    *retry_ms = 0;
    *throttled = 0;
    if (st == PT_GRPC_OK) {
        return 0;
    }
    uint32_t delay = otlp_grpc_retry_info_ms(r->details);
    /* RESOURCE_EXHAUSTED is retried only when the server says when (RetryInfo): otherwise it
     * means "too large", which no retry fixes (OTLP spec). */
    if (grpc_retryable(st) || (st == PT_GRPC_RESOURCE_EXHAUSTED && delay > 0)) {
        *retry_ms = delay;
        *throttled = st == PT_GRPC_UNAVAILABLE || st == PT_GRPC_RESOURCE_EXHAUSTED;
        return PT_RETRY;
    }
    return -EBADMSG;
}

int otlp_grpc_unframe(const uint8_t *body, size_t len, const char *encoding, pt_buf_t *scratch,
                      const uint8_t **msg, size_t *mlen)
{
    if (len < 5 || body[0] > 1) {
        return -EBADMSG;
    }
    size_t n = (size_t)body[1] << 24 | (size_t)body[2] << 16 | (size_t)body[3] << 8 | body[4];
    if (n > len - 5) {
        return -EBADMSG;
    }
    if (body[0] == 0) {
        *msg = body + 5;
        *mlen = n;
        return 0;
    }
    int enc = pt_otlp_encoding_parse(pt_str_c(encoding != NULL ? encoding : ""));
    if (enc != PT_ENC_GZIP && enc != PT_ENC_DEFLATE) {
        return -EBADMSG; /* compressed, but not with anything we accept */
    }
    size_t start = scratch->len;
    if (pt_otlp_decompress((pt_encoding_t)enc, body + 5, n, OTLP_GRPC_RESP_CAP, scratch) != 0) {
        return -EBADMSG;
    }
    *msg = (const uint8_t *)scratch->data + start;
    *mlen = scratch->len - start;
    return 0;
}

static int hexval(char ch)
{
    return ch >= '0' && ch <= '9'   ? ch - '0'
           : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
           : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                    : -1;
}

void otlp_grpc_percent_decode(const char *in, size_t len, char *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < len && k + 1 < cap; i++) {
        int hi;
        int lo;
        if (in[i] == '%' && i + 2 < len && (hi = hexval(in[i + 1])) >= 0 &&
            (lo = hexval(in[i + 2])) >= 0) {
            out[k++] = (char)(hi << 4 | lo);
            i += 2;
        } else {
            out[k++] = in[i];
        }
    }
    out[k] = '\0';
}

/* =============================================================================== targets ===== */

static int header_reserved(const char *name)
{
    static const char *const names[] = {
        "content-type", "te",      "connection", "host",
        "keep-alive",   "upgrade", "user-agent", "transfer-encoding"};
    if (strncmp(name, "grpc-", 5) == 0) {
        return 1; /* grpc-timeout, grpc-encoding, ...: the protocol's own */
    }
    for (size_t i = 0; i < PT_ARRAY_SIZE(names); i++) {
        if (strcmp(name, names[i]) == 0) {
            return 1;
        }
    }
    return 0;
}

int otlp_grpc_target_init(otlp_grpc_target_t *t, const char *hostport, const char *path,
                          long timeout_ms, const char **why)
{
    const char *colon;
    const char *h = hostport;
    size_t hl;
    char *end;
    long port;

    memset(t, 0, sizeof(*t));
    *why = NULL;
    if (hostport[0] == '[') {
        const char *rb = strchr(hostport, ']');
        if (rb == NULL || rb[1] != ':') {
            *why = "an IPv6 address needs the form [addr]:port";
            return -EINVAL;
        }
        h = hostport + 1;
        hl = (size_t)(rb - h);
        colon = rb + 1;
    } else {
        colon = strrchr(hostport, ':');
        if (colon == NULL || memchr(hostport, ':', (size_t)(colon - hostport)) != NULL) {
            *why = "expected host:port ([addr]:port for IPv6)";
            return -EINVAL;
        }
        hl = (size_t)(colon - hostport);
    }
    port = strtol(colon + 1, &end, 10);
    if (hl == 0 || colon[1] == '\0' || *end != '\0' || port < 1 || port > 65535) {
        *why = "expected host:port with a port between 1 and 65535";
        return -EINVAL;
    }
    t->host = pt_strndup(h, hl);
    t->authority = pt_strdup(hostport);
    if (t->host == NULL || t->authority == NULL) {
        otlp_grpc_target_free(t);
        return -ENOMEM;
    }
    t->port = (int)port;
    t->path = path;
    t->timeout_ms = timeout_ms;
    return 0;
}

int otlp_grpc_target_headers(otlp_grpc_target_t *t, const pt_strmap_t *hm, const char **why)
{
    *why = NULL;
    for (size_t i = 0; i < hm->n; i++) {
        char **names = pt_realloc(t->hnames, (t->nheaders + 1) * sizeof(char *));
        if (names != NULL) {
            t->hnames = names;
        }
        char **vals = pt_realloc(t->hvalues, (t->nheaders + 1) * sizeof(char *));
        if (vals != NULL) {
            t->hvalues = vals;
        }
        char *name = pt_strdup(hm->keys[i]);
        char *val = pt_strdup(hm->vals[i]);
        if (names == NULL || vals == NULL || name == NULL || val == NULL) {
            pt_free(name);
            pt_free(val);
            return -ENOMEM;
        }
        int bad = name[0] == '\0';
        /* HTTP/2 wants lowercase field names; gRPC metadata keys are tokens. */
        for (char *p = name; !bad && *p != '\0'; p++) {
            *p = (char)tolower((unsigned char)*p);
            bad = !(isalnum((unsigned char)*p) || strchr("-_.", *p) != NULL);
        }
        for (const char *p = val; !bad && *p != '\0'; p++) {
            bad = *p == '\r' || *p == '\n';
        }
        if (bad || header_reserved(name)) {
            *why = bad ? "a gRPC metadata key is made of letters, digits, '-', '_' and '.', and "
                         "its value holds no line break"
                       : "content-type, te, user-agent, grpc-* and the connection headers are set "
                         "by the gRPC client";
            pt_free(name);
            pt_free(val);
            return -EINVAL;
        }
        t->hnames[t->nheaders] = name;
        t->hvalues[t->nheaders++] = val;
    }
    return 0;
}

void otlp_grpc_target_free(otlp_grpc_target_t *t)
{
    for (size_t i = 0; i < t->nheaders; i++) {
        pt_free(t->hnames[i]);
        pt_free(t->hvalues[i]);
    }
    pt_free(t->hnames);
    pt_free(t->hvalues);
    pt_free(t->host);
    pt_free(t->authority);
    memset(t, 0, sizeof(*t));
}
