/* flusher_http: sends batches to an HTTP endpoint with libcurl's multi interface driven by the
 * sender loop (core/curl_loop.h), LoongCollector's flusher_http keys. Bodies are
 * serialized and compressed on the workers; the delivery layer (core/delivery.c) adds the spool,
 * retries with backoff, adaptive concurrency and dead letters.
 * Status mapping: 2xx delivered; 408, 429, 5xx and network errors retried (429/503 also slow
 * down); any other status is refused for good and dead-lettered. */
#include <curl/curl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "core/codec.h"
#include "core/curl_loop.h"
#include "core/json.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/plugin.h"

typedef struct {
    char *url;
    pt_strmap_t headers;
    pt_strmap_t query;
    char *timeout;
    int retry_enable;
    int64_t retry_max_times;
    char *protocol;
    char *encoding;
    char *compression;
    int64_t queue_capacity;
    char *ca_file;
    char *cert_file;
    char *key_file;
    int insecure;
    pt_delivery_conf_t delivery;
} http_conf_t;

static const pt_cfg_field_t http_map[] = {
    {"RemoteURL", PT_CFG_STRING, NULL, 0, 0, NULL, PT_CFG_REQUIRED, offsetof(http_conf_t, url),
     NULL, "Endpoint URL (http:// or https://)"},
    {"Headers", PT_CFG_STRMAP, NULL, 0, 0, NULL, 0, offsetof(http_conf_t, headers), NULL,
     "Extra request headers"},
    {"Query", PT_CFG_STRMAP, NULL, 0, 0, NULL, 0, offsetof(http_conf_t, query), NULL,
     "Query parameters added to RemoteURL"},
    {"Timeout", PT_CFG_STRING, "60s", 0, 0, NULL, 0, offsetof(http_conf_t, timeout), NULL,
     "Request timeout: a duration such as 500ms, 10s, 1m"},
    {"Retry.Enable", PT_CFG_BOOL, "true", 0, 0, NULL, 0, offsetof(http_conf_t, retry_enable), NULL,
     "Retry retryable failures (false: every failure is a dead letter)"},
    {"Retry.MaxRetryTimes", PT_CFG_INT, "3", 0, 1000000, NULL, PT_CFG_BOUNDED,
     offsetof(http_conf_t, retry_max_times), NULL,
     "Accepted for compatibility: data in the spool is retried until delivered"},
    {"Convert", PT_CFG_SECTION, NULL, 0, 0, NULL, 0, 0, NULL, "Body format"},
    {"Convert.Protocol", PT_CFG_STRING, "custom_single", 0, 0, "custom_single|jsonline|raw", 0,
     offsetof(http_conf_t, protocol), NULL,
     "custom_single: one {\"contents\",\"tags\",\"time\"} object per line; jsonline: one flat "
     "object per event; raw: each event's content, one per line"},
    {"Convert.Encoding", PT_CFG_STRING, "json", 0, 0, "json", 0, offsetof(http_conf_t, encoding),
     NULL, "Body encoding"},
    {"Compression", PT_CFG_STRING, "none", 0, 0, "none|gzip|zstd", 0,
     offsetof(http_conf_t, compression), NULL, "Content-Encoding of the body"},
    {"QueueCapacity", PT_CFG_INT, "1024", 1, 1000000, NULL, PT_CFG_BOUNDED,
     offsetof(http_conf_t, queue_capacity), NULL,
     "Accepted for compatibility: memory is bounded by sender_queue_bytes in petrel.yaml"},
    {"TLS", PT_CFG_SECTION, NULL, 0, 0, NULL, 0, 0, NULL, "HTTPS options"},
    {"TLS.CAFile", PT_CFG_STRING, NULL, 0, 0, NULL, 0, offsetof(http_conf_t, ca_file), NULL,
     "CA bundle to verify the server with (default: the system's)"},
    {"TLS.CertFile", PT_CFG_STRING, NULL, 0, 0, NULL, 0, offsetof(http_conf_t, cert_file), NULL,
     "Client certificate (PEM)"},
    {"TLS.KeyFile", PT_CFG_STRING, NULL, 0, 0, NULL, 0, offsetof(http_conf_t, key_file), NULL,
     "Client key (PEM)"},
    {"TLS.InsecureSkipVerify", PT_CFG_BOOL, "false", 0, 0, NULL, 0, offsetof(http_conf_t, insecure),
     NULL, "Do not verify the server certificate (testing only)"},
    PT_DELIVERY_CONFIG_FIELDS(http_conf_t, delivery),
};

enum { PROTO_CUSTOM_SINGLE, PROTO_JSONLINE, PROTO_RAW };

typedef struct http_state_s http_state_t;

typedef struct {
    http_state_t *s;
    pt_payload_t *p;
    long retry_after_s;
} req_t;

struct http_state_s {
    const http_conf_t *c;
    const char *id;
    char *url; /* RemoteURL with Query appended */
    struct curl_slist *base_headers;
    long timeout_ms;
    int proto;
    pt_codec_t codec;
    pt_curl_loop_t *curl; /* on the sender loop, from start to stop */
};

static void global_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ======================================================================= config ========== */

static long parse_duration_ms(const char *s)
{
    if (s == NULL || *s == '\0') {
        return -1;
    }
    char *end;
    double v = strtod(s, &end);
    if (end == s || v < 0) {
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

static int url_append_query(pt_buf_t *b, const pt_strmap_t *q)
{
    char sep = strchr(b->data, '?') ? '&' : '?';
    for (size_t i = 0; i < q->n; i++) {
        char *k = curl_easy_escape(NULL, q->keys[i], 0);
        char *v = curl_easy_escape(NULL, q->vals[i], 0);
        if (k == NULL || v == NULL) {
            curl_free(k);
            curl_free(v);
            return -ENOMEM;
        }
        b->len--; /* drop the NUL */
        pt_buf_appendf(b, "%c%s=%s", sep, k, v);
        pt_buf_putc(b, '\0');
        sep = '&';
        curl_free(k);
        curl_free(v);
    }
    return 0;
}

static int http_create(pt_plugin_inst_t *inst, const pt_plugin_env_t *env, pt_cfg_diag_t *d)
{
    http_conf_t *c = inst->config;
    int rc = 0;
    if (c->url == NULL ||
        (strncmp(c->url, "http://", 7) != 0 && strncmp(c->url, "https://", 8) != 0)) {
        pt_cfg_error(d, inst->line, "RemoteURL", "must start with http:// or https://, got '%s'",
                     c->url ? c->url : "");
        rc = -EINVAL;
    }
    long tmo = parse_duration_ms(c->timeout);
    if (tmo <= 0) {
        pt_cfg_error(d, inst->line, "Timeout",
                     "expected a duration such as 500ms, 10s or 1m, "
                     "got '%s'",
                     c->timeout ? c->timeout : "");
        rc = -EINVAL;
    }
    if (rc != 0) {
        return rc;
    }
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, global_init);
    http_state_t *s = pt_calloc(1, sizeof(*s));
    if (s == NULL) {
        return -ENOMEM;
    }
    s->c = c;
    s->id = inst->id;
    s->timeout_ms = tmo;
    s->proto = strcmp(c->protocol, "jsonline") == 0 ? PROTO_JSONLINE
               : strcmp(c->protocol, "raw") == 0    ? PROTO_RAW
                                                    : PROTO_CUSTOM_SINGLE;
    s->codec = (pt_codec_t)pt_codec_parse(c->compression);
    pt_buf_t u;
    pt_buf_init(&u);
    pt_buf_append_str(&u, c->url);
    pt_buf_putc(&u, '\0');
    if (url_append_query(&u, &c->query) != 0) {
        pt_buf_free(&u);
        pt_free(s);
        return -ENOMEM;
    }
    s->url = pt_buf_steal(&u, NULL);
    const char *ctype = s->proto == PROTO_RAW ? "Content-Type: text/plain; charset=utf-8"
                                              : "Content-Type: application/x-ndjson";
    s->base_headers = curl_slist_append(NULL, ctype);
    s->base_headers = curl_slist_append(s->base_headers, "Expect:");
    if (s->codec != PT_CODEC_NONE) {
        char h[64];
        snprintf(h, sizeof(h), "Content-Encoding: %s", pt_codec_name(s->codec));
        s->base_headers = curl_slist_append(s->base_headers, h);
    }
    for (size_t i = 0; i < c->headers.n; i++) {
        pt_buf_t h;
        pt_buf_init(&h);
        pt_buf_appendf(&h, "%s: %s", c->headers.keys[i], c->headers.vals[i]);
        pt_buf_putc(&h, '\0');
        s->base_headers = curl_slist_append(s->base_headers, h.data);
        pt_buf_free(&h);
    }
    inst->state = s;
    return 0;
}

/* ====================================================================== serialize ======== */

static void write_custom_single(pt_buf_t *b, const pt_group_t *g, const pt_event_t *ev)
{
    pt_jw_t w;
    pt_jw_init(&w, b);
    pt_jw_obj_open(&w);
    pt_jw_key(&w, "contents", 8);
    pt_jw_obj_open(&w);
    if (ev->type == PT_EVENT_RAW) {
        pt_jw_key(&w, "content", 7);
        pt_jw_str(&w, ev->raw.ptr, ev->raw.len);
    } else {
        for (uint32_t i = 0; i < ev->nfields; i++) {
            pt_jw_key(&w, ev->fields[i].key.ptr, ev->fields[i].key.len);
            pt_jw_str(&w, ev->fields[i].val.ptr, ev->fields[i].val.len);
        }
    }
    pt_jw_obj_close(&w);
    pt_jw_key(&w, "tags", 4);
    pt_jw_obj_open(&w);
    for (uint32_t i = 0; i < g->ntags; i++) {
        pt_jw_key(&w, g->tags[i].key.ptr, g->tags[i].key.len);
        pt_jw_str(&w, g->tags[i].val.ptr, g->tags[i].val.len);
    }
    pt_jw_obj_close(&w);
    pt_jw_key(&w, "time", 4);
    pt_jw_int(&w, ev->time_ns / 1000000000);
    pt_jw_obj_close(&w);
    pt_buf_putc(b, '\n');
}

static int http_serialize(pt_plugin_inst_t *inst, const pt_batch_t *b, pt_payload_t *p)
{
    const http_state_t *s = inst->state;
    int rc = 0;
    if (s->proto == PROTO_JSONLINE) {
        rc = pt_batch_write_jsonl(&p->data, b, 1);
    } else {
        for (uint32_t gi = 0; gi < b->ngroups && rc == 0; gi++) {
            const pt_group_t *g = b->groups[gi];
            for (uint32_t i = 0; i < g->nevents; i++) {
                const pt_event_t *ev = &g->events[i];
                if (ev->flags & PT_EVENT_F_DROPPED) {
                    continue;
                }
                if (s->proto == PROTO_CUSTOM_SINGLE) {
                    write_custom_single(&p->data, g, ev);
                } else {
                    const pt_str_t *v = ev->type == PT_EVENT_RAW
                                            ? &ev->raw
                                            : pt_event_get(ev, PT_STR_LIT("content"));
                    if (v != NULL) {
                        pt_buf_append(&p->data, v->ptr, v->len);
                        pt_buf_putc(&p->data, '\n');
                    }
                }
            }
        }
    }
    if (rc == 0) {
        rc = pt_codec_encode(s->codec, &p->data);
    }
    return rc;
}

/* ====================================================================== requests ======== */

static size_t on_header(char *buf, size_t size, size_t n, void *userp)
{
    req_t *r = userp;
    size_t len = size * n;
    if (len > 12 && strncasecmp(buf, "Retry-After:", 12) == 0) {
        const char *v = buf + 12;
        while (*v == ' ') {
            v++;
        }
        char *end;
        long secs = strtol(v, &end, 10);
        if (end != v) {
            r->retry_after_s = secs;
        } else {
            /* An HTTP date. */
            time_t t = curl_getdate(v, NULL);
            if (t > 0) {
                long d = (long)(t - time(NULL));
                r->retry_after_s = d > 0 ? d : 0;
            }
        }
    }
    return len;
}

static size_t on_body(char *buf, size_t size, size_t n, void *userp)
{
    return size * n; /* the response body is not needed */
}

/* A request ended (from the curl loop; aborted ones at stop). */
static void on_done(CURL *easy, CURLcode res, void *ud)
{
    req_t *r = ud;
    http_state_t *s = r->s;
    long code = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_cleanup(easy);
    pt_payload_t *p = r->p;
    int status;
    if (res != CURLE_OK) {
        snprintf(p->reason, sizeof(p->reason), "%s", curl_easy_strerror(res));
        status = PT_RETRY;
    } else if (code >= 200 && code < 300) {
        status = 0;
    } else if (code == 408 || code == 429 || code >= 500) {
        snprintf(p->reason, sizeof(p->reason), "HTTP %ld", code);
        p->throttled = code == 429 || code == 503;
        p->retry_after_ms = r->retry_after_s > 0 ? (uint32_t)(r->retry_after_s * 1000) : 0;
        status = PT_RETRY;
    } else {
        snprintf(p->reason, sizeof(p->reason), "HTTP %ld", code);
        status = -EBADMSG;
    }
    if (status == PT_RETRY && !s->c->retry_enable) {
        status = -EIO;
    }
    pt_free(r);
    pt_payload_done(p, status);
}

static int http_send(pt_plugin_inst_t *inst, pt_payload_t *p)
{
    http_state_t *s = inst->state;
    req_t *r = pt_calloc(1, sizeof(*r));
    CURL *e = curl_easy_init();
    if (r == NULL || e == NULL) {
        pt_free(r);
        if (e != NULL) {
            curl_easy_cleanup(e);
        }
        snprintf(p->reason, sizeof(p->reason), "out of memory");
        return PT_RETRY;
    }
    r->s = s;
    r->p = p;
    const pt_curl_post_t post = {
        .url = s->url,
        .body = p->data.data,
        .len = p->data.len,
        .headers = s->base_headers,
        .timeout_ms = s->timeout_ms,
        .user_agent = "petrel/" PETREL_VERSION,
        .on_header = on_header,
        .header_ud = r,
        .on_body = on_body,
        .ca_file = s->c->ca_file,
        .cert_file = s->c->cert_file,
        .key_file = s->c->key_file,
        .insecure = s->c->insecure,
    };
    pt_curl_post_setup(e, &post);
    if (pt_curl_loop_add(s->curl, e, r) != 0) {
        curl_easy_cleanup(e);
        pt_free(r);
        snprintf(p->reason, sizeof(p->reason), "cannot start the request");
        return PT_RETRY;
    }
    return PT_DONE;
}

/* ====================================================================== lifecycle ======== */

static int http_start(pt_plugin_inst_t *inst, uv_loop_t *loop)
{
    http_state_t *s = inst->state;
    return pt_curl_loop_create(loop, on_done, &s->curl);
}

static void http_stop(pt_plugin_inst_t *inst)
{
    http_state_t *s = inst->state;
    /* Fail what is in flight: the delivery layer spools it for the next start. */
    pt_curl_loop_destroy(s->curl);
    s->curl = NULL;
}

static void http_destroy(pt_plugin_inst_t *inst)
{
    http_state_t *s = inst->state;
    curl_slist_free_all(s->base_headers);
    pt_free(s->url);
    inst->state = NULL;
    pt_free(s);
}

const pt_plugin_t pt_plugin_flusher_http = {
    .name = "flusher_http",
    .kind = PT_PLUGIN_FLUSHER,
    .description = "Sends batches to an HTTP endpoint, with spool, retries and dead letters",
    .config_map = http_map,
    .config_n = sizeof(http_map) / sizeof(http_map[0]),
    .config_size = sizeof(http_conf_t),
    .create = http_create,
    .start = http_start,
    .stop = http_stop,
    .destroy = http_destroy,
    .serialize = http_serialize,
    .send = http_send,
    .delivery_offset = offsetof(http_conf_t, delivery) + 1,
};
