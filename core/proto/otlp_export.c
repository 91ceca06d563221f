/* Event groups back to OTLP requests, for exporters: the inverse of otlp_events.c. Each group
 * becomes a ScopeX under a ResourceX (consecutive groups of one resource share it), with the
 * resource and scope taken from the group's tags and its pt_otlp_origin_t, attribute types
 * restored from the hints, and every field of spans, data points and log records written back.
 * Events that did not come from OTLP are exported too: raw lines and file logs as log records,
 * their fields as string attributes. Structs are built in a scratch arena and packed at once.
 * Values are in otlp_export_values.c, metrics in otlp_export_metrics.c. */
#include <errno.h>
#include <string.h>

#include "core/common.h"
#include "otlp.h"
#include "otlp_export_internal.h"

#define SCOPE_PREFIX "otlp.scope."
#define SCOPE_PREFIX_LEN 11

/* ============================================================ resource & scope =========== */

static int is_scope_tag(pt_str_t k)
{
    return k.len > SCOPE_PREFIX_LEN && memcmp(k.ptr, SCOPE_PREFIX, SCOPE_PREFIX_LEN) == 0;
}

/* Tags petrel adds for routing, not part of the data. */
static int is_internal_tag(pt_str_t k)
{
    return pt_str_eq_c(k, "__logstore__");
}

/* The original of tag t: same value view, same key text (a repeated key leaves the first key's
 * view with the last value's). */
static const pt_attr_t *find_hint(const pt_attr_t *a, uint32_t n, const pt_field_t *t)
{
    for (uint32_t i = 0; i < n; i++) {
        if (a[i].val.ptr == t->val.ptr && a[i].val.len == t->val.len &&
            pt_str_eq(a[i].key, t->key)) {
            return &a[i];
        }
    }
    return NULL;
}

static pb_resource_t *resource_of(enc_t *e, const pt_group_t *g)
{
    const pt_otlp_origin_t *o = g->ext;
    pb_resource_t *r = A(e, sizeof(*r));
    if (r == NULL) {
        return NULL;
    }
    opentelemetry__proto__resource__v1__resource__init(r);
    r->attributes = A(e, g->ntags * sizeof(*r->attributes));
    for (uint32_t i = 0; r->attributes != NULL && i < g->ntags; i++) {
        const pt_field_t *t = &g->tags[i];
        /* A tag that is a resource attribute's stays one, whatever its key looks like. */
        const pt_attr_t *h = o != NULL ? find_hint(o->resource_attrs, o->nresource_attrs, t) : NULL;
        if (h == NULL && (is_scope_tag(t->key) || is_internal_tag(t->key))) {
            continue;
        }
        r->attributes[r->n_attributes++] =
            pt_otlp_enc_kv(e, t->key, h != NULL ? h->type : 0, t->val);
    }
    if (o != NULL) {
        r->dropped_attributes_count = o->resource_dropped_attributes_count;
    }
    return r;
}

static pb_scope_t *scope_of(enc_t *e, const pt_group_t *g)
{
    const pt_otlp_origin_t *o = g->ext;
    pb_scope_t *sc = A(e, sizeof(*sc));
    if (sc == NULL) {
        return NULL;
    }
    opentelemetry__proto__common__v1__instrumentation_scope__init(sc);
    if (o != NULL) {
        sc->name = S(e, o->scope_name);
        sc->version = S(e, o->scope_version);
        sc->dropped_attributes_count = o->scope_dropped_attributes_count;
    }
    sc->attributes = A(e, g->ntags * sizeof(*sc->attributes));
    for (uint32_t i = 0; sc->attributes != NULL && i < g->ntags; i++) {
        const pt_field_t *t = &g->tags[i];
        if (!is_scope_tag(t->key) ||
            (o != NULL && find_hint(o->resource_attrs, o->nresource_attrs, t) != NULL)) {
            continue;
        }
        const pt_attr_t *h = o != NULL ? find_hint(o->scope_attrs, o->nscope_attrs, t) : NULL;
        if (h == NULL && pt_str_eq_c(t->key, "otlp.scope.name")) {
            sc->name = S(e, t->val); /* the tag wins: a processor may have set it */
            continue;
        }
        if (h == NULL && pt_str_eq_c(t->key, "otlp.scope.version")) {
            sc->version = S(e, t->val);
            continue;
        }
        pt_str_t k = pt_str(t->key.ptr + SCOPE_PREFIX_LEN, t->key.len - SCOPE_PREFIX_LEN);
        sc->attributes[sc->n_attributes++] = pt_otlp_enc_kv(e, k, h != NULL ? h->type : 0, t->val);
    }
    return sc;
}

/* Groups of one request share their resource; consecutive ones export under one ResourceX. */
static int same_resource(const pt_group_t *a, const pt_group_t *b)
{
    const pt_otlp_origin_t *oa = a->ext;
    const pt_otlp_origin_t *ob = b->ext;
    uint32_t na = 0;
    uint32_t nb = 0;
    if (oa == NULL || ob == NULL || oa->resource_attrs != ob->resource_attrs ||
        !pt_str_eq(oa->resource_schema_url, ob->resource_schema_url)) {
        return 0;
    }
    for (uint32_t i = 0; i < a->ntags; i++) {
        na += !is_scope_tag(a->tags[i].key);
    }
    for (uint32_t i = 0; i < b->ntags; i++) {
        nb += !is_scope_tag(b->tags[i].key);
    }
    if (na != nb) {
        return 0;
    }
    for (uint32_t i = 0; i < a->ntags; i++) {
        if (is_scope_tag(a->tags[i].key)) {
            continue;
        }
        const pt_str_t *v = pt_group_get_tag(b, a->tags[i].key);
        if (v == NULL || !pt_str_eq(*v, a->tags[i].val)) {
            return 0;
        }
    }
    return 1;
}

static int signal_of(const pt_event_t *ev)
{
    switch (ev->type) {
    case PT_EVENT_SPAN:
        return PT_SIGNAL_TRACES;
    case PT_EVENT_METRIC:
        return PT_SIGNAL_METRICS;
    default:
        return PT_SIGNAL_LOGS;
    }
}

/* ===================================================================== records =========== */

static pb_span_t *span_of(enc_t *e, const pt_event_t *ev)
{
    const pt_span_ext_t *x = ev->ext;
    pb_span_t *sp = A(e, sizeof(*sp));
    if (sp == NULL) {
        return NULL;
    }
    opentelemetry__proto__trace__v1__span__init(sp);
    if (x == NULL) {
        sp->attributes = pt_otlp_enc_fields(e, ev, NULL, 0, NULL, &sp->n_attributes);
        sp->start_time_unix_nano = sp->end_time_unix_nano = (uint64_t)ev->time_ns;
        return sp;
    }
    sp->trace_id = bin(e, x->trace_id, 16);
    sp->span_id = bin(e, x->span_id, 8);
    if (x->has_parent || !pt_otlp_id_zero(x->parent_span_id, 8)) {
        sp->parent_span_id = bin(e, x->parent_span_id, 8);
    }
    sp->trace_state = S(e, x->trace_state);
    sp->flags = x->flags;
    sp->name = S(e, x->name);
    sp->kind = x->kind;
    sp->start_time_unix_nano = x->start_ns;
    sp->end_time_unix_nano = x->end_ns;
    sp->attributes = pt_otlp_enc_fields(e, ev, x->hints, x->nhints, NULL, &sp->n_attributes);
    sp->dropped_attributes_count = x->dropped_attributes_count;
    sp->dropped_events_count = x->dropped_events_count;
    sp->dropped_links_count = x->dropped_links_count;
    if (x->nevents > 0) {
        sp->events = A(e, x->nevents * sizeof(*sp->events));
        for (uint32_t i = 0; sp->events != NULL && i < x->nevents; i++) {
            pb_span_event_t *o = A(e, sizeof(*o));
            if (o == NULL) {
                break;
            }
            opentelemetry__proto__trace__v1__span__event__init(o);
            o->time_unix_nano = x->events[i].time_ns;
            o->name = S(e, x->events[i].name);
            o->dropped_attributes_count = x->events[i].dropped_attributes_count;
            o->attributes =
                pt_otlp_enc_attrs(e, x->events[i].attrs, x->events[i].nattrs, &o->n_attributes);
            sp->events[sp->n_events++] = o;
        }
    }
    if (x->nlinks > 0) {
        sp->links = A(e, x->nlinks * sizeof(*sp->links));
        for (uint32_t i = 0; sp->links != NULL && i < x->nlinks; i++) {
            const pt_span_link_t *l = &x->links[i];
            pb_span_link_t *o = A(e, sizeof(*o));
            if (o == NULL) {
                break;
            }
            opentelemetry__proto__trace__v1__span__link__init(o);
            o->trace_id = bin(e, l->trace_id, 16);
            o->span_id = bin(e, l->span_id, 8);
            o->trace_state = S(e, l->trace_state);
            o->flags = l->flags;
            o->dropped_attributes_count = l->dropped_attributes_count;
            o->attributes = pt_otlp_enc_attrs(e, l->attrs, l->nattrs, &o->n_attributes);
            sp->links[sp->n_links++] = o;
        }
    }
    if (x->status_code != 0 || x->status_message.len > 0) {
        pb_status_t *st = A(e, sizeof(*st));
        if (st != NULL) {
            opentelemetry__proto__trace__v1__status__init(st);
            st->code = x->status_code;
            st->message = S(e, x->status_message);
            sp->status = st;
        }
    }
    return sp;
}

static pb_log_record_t *log_of(enc_t *e, const pt_event_t *ev)
{
    const pt_log_ext_t *x = ev->ext;
    pb_log_record_t *lr = A(e, sizeof(*lr));
    if (lr == NULL) {
        return NULL;
    }
    opentelemetry__proto__logs__v1__log_record__init(lr);
    if (ev->type == PT_EVENT_RAW) {
        lr->time_unix_nano = lr->observed_time_unix_nano = (uint64_t)ev->time_ns;
        lr->body = pt_otlp_enc_any(e, PT_VAL_STRING, ev->raw);
        return lr;
    }
    if (x == NULL) {
        /* A log from another input: its "content" is the body, the rest are attributes. */
        const char *body_key = NULL;
        for (uint32_t i = 0; i < ev->nfields; i++) {
            if (pt_str_eq_c(ev->fields[i].key, "content")) {
                body_key = ev->fields[i].key.ptr;
                lr->body = pt_otlp_enc_any(e, PT_VAL_STRING, ev->fields[i].val);
                break;
            }
        }
        lr->time_unix_nano = lr->observed_time_unix_nano = (uint64_t)ev->time_ns;
        lr->attributes = pt_otlp_enc_fields(e, ev, NULL, 0, body_key, &lr->n_attributes);
        return lr;
    }
    lr->time_unix_nano = x->time_ns;
    lr->observed_time_unix_nano = x->observed_ns;
    lr->severity_number = x->severity_number;
    lr->severity_text = S(e, x->severity_text);
    lr->event_name = S(e, x->event_name);
    lr->flags = x->flags;
    lr->dropped_attributes_count = x->dropped_attributes_count;
    if (x->has_trace) {
        lr->trace_id = bin(e, x->trace_id, 16);
    }
    if (x->has_span) {
        lr->span_id = bin(e, x->span_id, 8);
    }
    if (x->body_key != NULL) {
        uint32_t cursor = 0;
        for (uint32_t i = 0; i < ev->nfields; i++) {
            if (ev->fields[i].key.ptr == x->body_key) {
                lr->body =
                    pt_otlp_enc_any(e, pt_field_type(x->hints, x->nhints, &cursor, &ev->fields[i]),
                                    ev->fields[i].val);
                break;
            }
        }
    }
    lr->attributes = pt_otlp_enc_fields(e, ev, x->hints, x->nhints, x->body_key, &lr->n_attributes);
    return lr;
}

/* ===================================================================== requests ========== */

/* Fills recs (Spans, Metrics or LogRecords by signal) with g's records of that signal; returns
 * how many spans, data points or log records that is. */
static uint32_t scope_records(enc_t *e, int signal, const pt_group_t *g, vec_t *recs)
{
    uint32_t n = 0;
    if (signal == PT_SIGNAL_METRICS) {
        return pt_otlp_enc_metrics(e, g, recs);
    }
    for (uint32_t i = 0; i < g->nevents; i++) {
        const pt_event_t *ev = &g->events[i];
        if ((ev->flags & PT_EVENT_F_DROPPED) || signal_of(ev) != signal) {
            continue;
        }
        pt_otlp_vec_push(
            e, recs, signal == PT_SIGNAL_TRACES ? (void *)span_of(e, ev) : (void *)log_of(e, ev));
        n++;
    }
    return n;
}

static void *scope_new(enc_t *e, int signal, const pt_group_t *g, vec_t *recs)
{
    const pt_otlp_origin_t *o = g->ext;
    char *schema = S(e, o != NULL ? o->scope_schema_url : PT_STR_NULL);
    pb_scope_t *scope = scope_of(e, g);
    switch (signal) {
    case PT_SIGNAL_TRACES: {
        pb_scope_spans_t *ss = A(e, sizeof(*ss));
        if (ss == NULL) {
            return NULL;
        }
        opentelemetry__proto__trace__v1__scope_spans__init(ss);
        ss->scope = scope;
        ss->schema_url = schema;
        ss->spans = (pb_span_t **)recs->v;
        ss->n_spans = recs->n;
        return ss;
    }
    case PT_SIGNAL_METRICS: {
        pb_scope_metrics_t *ss = A(e, sizeof(*ss));
        if (ss == NULL) {
            return NULL;
        }
        opentelemetry__proto__metrics__v1__scope_metrics__init(ss);
        ss->scope = scope;
        ss->schema_url = schema;
        ss->metrics = (pb_metric_t **)recs->v;
        ss->n_metrics = recs->n;
        return ss;
    }
    default: {
        pb_scope_logs_t *ss = A(e, sizeof(*ss));
        if (ss == NULL) {
            return NULL;
        }
        opentelemetry__proto__logs__v1__scope_logs__init(ss);
        ss->scope = scope;
        ss->schema_url = schema;
        ss->log_records = (pb_log_record_t **)recs->v;
        ss->n_log_records = recs->n;
        return ss;
    }
    }
}

/* A ResourceX (by signal) for g's resource; res_set_scopes gives it its scopes once known. */
static void *resource_new(enc_t *e, int signal, const pt_group_t *g)
{
    const pt_otlp_origin_t *o = g->ext;
    pb_resource_t *r = resource_of(e, g);
    char *schema = S(e, o != NULL ? o->resource_schema_url : PT_STR_NULL);
    switch (signal) {
    case PT_SIGNAL_TRACES: {
        pb_resource_spans_t *rs = A(e, sizeof(*rs));
        if (rs == NULL) {
            return NULL;
        }
        opentelemetry__proto__trace__v1__resource_spans__init(rs);
        rs->resource = r;
        rs->schema_url = schema;
        return rs;
    }
    case PT_SIGNAL_METRICS: {
        pb_resource_metrics_t *rs = A(e, sizeof(*rs));
        if (rs == NULL) {
            return NULL;
        }
        opentelemetry__proto__metrics__v1__resource_metrics__init(rs);
        rs->resource = r;
        rs->schema_url = schema;
        return rs;
    }
    default: {
        pb_resource_logs_t *rs = A(e, sizeof(*rs));
        if (rs == NULL) {
            return NULL;
        }
        opentelemetry__proto__logs__v1__resource_logs__init(rs);
        rs->resource = r;
        rs->schema_url = schema;
        return rs;
    }
    }
}

/* Points a ResourceX (by signal) at its scopes. */
static void res_set_scopes(int signal, void *res, const vec_t *scopes)
{
    switch (signal) {
    case PT_SIGNAL_TRACES:
        ((pb_resource_spans_t *)res)->scope_spans = (pb_scope_spans_t **)scopes->v;
        ((pb_resource_spans_t *)res)->n_scope_spans = scopes->n;
        break;
    case PT_SIGNAL_METRICS:
        ((pb_resource_metrics_t *)res)->scope_metrics = (pb_scope_metrics_t **)scopes->v;
        ((pb_resource_metrics_t *)res)->n_scope_metrics = scopes->n;
        break;
    default:
        ((pb_resource_logs_t *)res)->scope_logs = (pb_scope_logs_t **)scopes->v;
        ((pb_resource_logs_t *)res)->n_scope_logs = scopes->n;
        break;
    }
}

/* The request of one signal: resources in group order, consecutive groups of one resource under
 * one ResourceX. */
static int encode_signal(enc_t *e, int signal, pt_group_t *const *groups, uint32_t n, pt_buf_t *out,
                         uint32_t *count)
{
    vec_t resources = {0};
    vec_t scopes = {0};
    const pt_group_t *res_group = NULL;
    void *cur = NULL;

    *count = 0;
    for (uint32_t gi = 0; gi < n; gi++) {
        const pt_group_t *g = groups[gi];
        vec_t recs = {0};
        uint32_t k = scope_records(e, signal, g, &recs);
        if (k == 0) {
            continue;
        }
        *count += k;
        if (cur == NULL || !same_resource(res_group, g)) {
            if (cur != NULL) {
                res_set_scopes(signal, cur, &scopes);
            }
            memset(&scopes, 0, sizeof(scopes));
            cur = resource_new(e, signal, g);
            pt_otlp_vec_push(e, &resources, cur);
            res_group = g;
        }
        pt_otlp_vec_push(e, &scopes, scope_new(e, signal, g, &recs));
        if (e->err != 0) {
            return e->err;
        }
    }
    if (cur != NULL) {
        res_set_scopes(signal, cur, &scopes);
    }
    if (*count == 0) {
        return 0;
    }
    ProtobufCMessage *req;
    switch (signal) {
    case PT_SIGNAL_TRACES: {
        pb_trace_req_t *r = A(e, sizeof(*r));
        if (r == NULL) {
            return -ENOMEM;
        }
        opentelemetry__proto__collector__trace__v1__export_trace_service_request__init(r);
        r->resource_spans = (pb_resource_spans_t **)resources.v;
        r->n_resource_spans = resources.n;
        req = &r->base;
        break;
    }
    case PT_SIGNAL_METRICS: {
        pb_metrics_req_t *r = A(e, sizeof(*r));
        if (r == NULL) {
            return -ENOMEM;
        }
        opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__init(r);
        r->resource_metrics = (pb_resource_metrics_t **)resources.v;
        r->n_resource_metrics = resources.n;
        req = &r->base;
        break;
    }
    default: {
        pb_logs_req_t *r = A(e, sizeof(*r));
        if (r == NULL) {
            return -ENOMEM;
        }
        opentelemetry__proto__collector__logs__v1__export_logs_service_request__init(r);
        r->resource_logs = (pb_resource_logs_t **)resources.v;
        r->n_resource_logs = resources.n;
        req = &r->base;
        break;
    }
    }
    if (e->err != 0) {
        return e->err;
    }
    size_t len = protobuf_c_message_get_packed_size(req);
    if (pt_buf_reserve(out, len + 1) != 0) {
        return -ENOMEM;
    }
    out->len += protobuf_c_message_pack(req, (uint8_t *)out->data + out->len);
    return 0;
}

int pt_otlp_encode_groups(pt_group_t *const *groups, uint32_t n, pt_buf_t *out[4],
                          uint32_t counts[4])
{
    enc_t e = {NULL, 0};
    int rc = 0;

    for (int sig = PT_SIGNAL_LOGS; sig <= PT_SIGNAL_TRACES && rc == 0; sig++) {
        counts[sig] = 0;
        if (out[sig] == NULL) {
            continue;
        }
        /* A scratch arena per signal: every struct goes at once after packing. */
        e.a = pt_arena_create(PT_ARENA_LARGE);
        e.err = 0;
        if (e.a == NULL) {
            return -ENOMEM;
        }
        rc = encode_signal(&e, sig, groups, n, out[sig], &counts[sig]);
        pt_arena_unref(e.a);
    }
    return rc;
}
