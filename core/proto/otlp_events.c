/* Decoded OTLP requests to event groups: one group per ResourceX/ScopeX, one event per span,
 * data point or log record, every field of the data model kept (core/event.h). Attribute values
 * become text views in the request arena; the OTLP type of the ones that are not strings is kept
 * as a hint beside them. Nothing here copies a string protobuf-c or the JSON decoder already put
 * in the arena: fields are views of those copies. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "core/json.h"
#include "core/mem.h"
#include "otlp.h"
#include "otlp_pb.h"

typedef struct {
    pt_arena_t *a;
    int64_t now_ns;
    pt_otlp_groups_t *out;
    uint32_t capgroups;
    const char *body_key; /* "content", one copy per request: its address marks the body */
    pt_buf_t scratch;     /* JSON text of arrays and kvlists */
} conv_t;

static pt_str_t cstr(const char *s)
{
    return s != NULL ? pt_str(s, strlen(s)) : pt_str("", 0);
}

static void reject(conv_t *cv, uint64_t n, const char *fmt, const char *what)
{
    if (cv->out->rejected == 0) {
        snprintf(cv->out->reason, sizeof(cv->out->reason), fmt, what);
    }
    cv->out->rejected += n;
}

/* ================================================================= value text ============ */

/* Shortest text that reads back to d, always with a '.' or an exponent so that an array's JSON
 * text keeps ints and doubles apart. Non-finite values are "NaN", "Infinity", "-Infinity". */
static int fmt_double(double d, char *buf, size_t cap)
{
    int n = 0;
    if (isnan(d)) {
        return snprintf(buf, cap, "NaN");
    }
    if (isinf(d)) {
        return snprintf(buf, cap, d > 0 ? "Infinity" : "-Infinity");
    }
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(buf, cap, "%.*g", prec, d);
        if (strtod(buf, NULL) == d) {
            break;
        }
    }
    if (strpbrk(buf, ".eEn") == NULL && (size_t)n + 2 < cap) {
        buf[n++] = '.';
        buf[n++] = '0';
        buf[n] = '\0';
    }
    return n;
}

static void jw_any(pt_jw_t *w, const pb_any_t *v, int depth);

static void jw_bytes(pt_jw_t *w, const ProtobufCBinaryData *b)
{
    char small[256];
    size_t need = (b->len + 2) / 3 * 4;
    char *p = need <= sizeof(small) ? small : pt_malloc(need);
    if (p == NULL) {
        w->err = -ENOMEM;
        return;
    }
    pt_jw_str(w, p, pt_otlp_b64_encode(b->data, b->len, p, 1));
    if (p != small) {
        pt_free(p);
    }
}

static void jw_any(pt_jw_t *w, const pb_any_t *v, int depth)
{
    char num[40];
    int n;

    if (v == NULL || depth > PT_OTLP_MAX_DEPTH) {
        pt_jw_null(w);
        return;
    }
    switch (v->value_case) {
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE:
        pt_jw_str(w, v->string_value, strlen(v->string_value));
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
        pt_jw_bool(w, v->bool_value);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
        pt_jw_int(w, v->int_value);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
        n = fmt_double(v->double_value, num, sizeof(num));
        if (isfinite(v->double_value)) {
            pt_jw_raw(w, num, (size_t)n);
        } else {
            pt_jw_str(w, num, (size_t)n);
        }
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE:
        jw_bytes(w, &v->bytes_value);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE:
        pt_jw_arr_open(w);
        if (v->array_value != NULL) {
            for (size_t i = 0; i < v->array_value->n_values; i++) {
                jw_any(w, v->array_value->values[i], depth + 1);
            }
        }
        pt_jw_arr_close(w);
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE:
        pt_jw_obj_open(w);
        if (v->kvlist_value != NULL) {
            for (size_t i = 0; i < v->kvlist_value->n_values; i++) {
                const pb_kv_t *kv = v->kvlist_value->values[i];
                pt_jw_key(w, kv->key, strlen(kv->key));
                jw_any(w, kv->value, depth + 1);
            }
        }
        pt_jw_obj_close(w);
        break;
    default:
        pt_jw_null(w);
        break;
    }
}

static int any_text(pt_arena_t *a, pt_buf_t *scratch, const pb_any_t *v, pt_str_t *out,
                    uint8_t *type)
{
    char num[40];
    int n;

    if (v == NULL) {
        *out = pt_str("", 0);
        *type = PT_VAL_EMPTY;
        return 0;
    }
    switch (v->value_case) {
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE:
        *out = cstr(v->string_value);
        *type = PT_VAL_STRING;
        return 0;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
        *out = v->bool_value ? PT_STR_LIT("true") : PT_STR_LIT("false");
        *type = PT_VAL_BOOL;
        return 0;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
        n = snprintf(num, sizeof(num), "%" PRId64, v->int_value);
        *type = PT_VAL_INT;
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
        n = fmt_double(v->double_value, num, sizeof(num));
        *type = PT_VAL_DOUBLE;
        break;
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE: {
        char *p = pt_arena_alloc(a, (v->bytes_value.len + 2) / 3 * 4 + 1);
        if (p == NULL) {
            return -ENOMEM;
        }
        *out = pt_str(p, pt_otlp_b64_encode(v->bytes_value.data, v->bytes_value.len, p, 1));
        *type = PT_VAL_BYTES;
        return 0;
    }
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE:
    case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE: {
        pt_jw_t w;
        scratch->len = 0;
        pt_jw_init(&w, scratch);
        jw_any(&w, v, 0);
        if (w.err != 0) {
            return w.err;
        }
        *out = pt_arena_strdup(a, scratch->data, scratch->len);
        if (out->ptr == NULL) {
            return -ENOMEM;
        }
        *type = v->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE
                    ? PT_VAL_ARRAY
                    : PT_VAL_KVLIST;
        return 0;
    }
    default:
        *out = pt_str("", 0);
        *type = PT_VAL_EMPTY;
        return 0;
    }
    *out = pt_arena_strdup(a, num, (size_t)n);
    return out->ptr != NULL ? 0 : -ENOMEM;
}

int pt_otlp_any_text(pt_arena_t *a, const void *any_value, pt_str_t *out, uint8_t *type)
{
    pt_buf_t scratch;
    pt_buf_init(&scratch);
    int rc = any_text(a, &scratch, any_value, out, type);
    pt_buf_free(&scratch);
    return rc;
}

/* ================================================================= attributes ============ */

/* Typed copies of key/values (attributes nobody processes: span events, links, exemplars,
 * metadata, and the originals of tags). */
static int typed_attrs(conv_t *cv, pb_kv_t *const *kvs, size_t n, pt_attr_t **out, uint32_t *nout)
{
    pt_attr_t *v;
    *out = NULL;
    *nout = 0;
    if (n == 0) {
        return 0;
    }
    v = pt_arena_alloc(cv->a, n * sizeof(*v));
    if (v == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        v[i].key = cstr(kvs[i]->key);
        int rc = any_text(cv->a, &cv->scratch, kvs[i]->value, &v[i].val, &v[i].type);
        if (rc != 0) {
            return rc;
        }
    }
    *out = v;
    *nout = (uint32_t)n;
    return 0;
}

/* Appends a value as a field, with a hint when it is not a string. The hints array has room
 * for every field (allocated by the caller). */
static void field_add(pt_event_t *ev, pt_str_t key, pt_str_t val, uint8_t type, pt_attr_t *hints,
                      uint32_t *nhints)
{
    ev->fields[ev->nfields].key = key;
    ev->fields[ev->nfields].val = val;
    ev->nfields++;
    if (type != PT_VAL_STRING) {
        hints[*nhints].key = key;
        hints[*nhints].val = val;
        hints[*nhints].type = type;
        (*nhints)++;
    }
}

/* Sizes the event's field array for n fields and gives a hints array of the same size (NULL
 * when n is 0). Fields are then appended with field_add. Returns 0 or -ENOMEM. */
static int fields_alloc(conv_t *cv, pt_event_t *ev, size_t n, pt_attr_t **hints)
{
    *hints = NULL;
    if (n == 0) {
        return 0;
    }
    ev->fields = pt_arena_alloc(cv->a, n * sizeof(pt_field_t));
    *hints = pt_arena_alloc(cv->a, n * sizeof(pt_attr_t));
    if (ev->fields == NULL || *hints == NULL) {
        return -ENOMEM;
    }
    ev->capfields = (uint32_t)n;
    return 0;
}

static int attrs_to_fields(conv_t *cv, pt_event_t *ev, pt_attr_t *hints, uint32_t *nhints,
                           pb_kv_t *const *kvs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        pt_str_t val;
        uint8_t type;
        int rc = any_text(cv->a, &cv->scratch, kvs[i]->value, &val, &type);
        if (rc != 0) {
            return rc;
        }
        field_add(ev, cstr(kvs[i]->key), val, type, hints, nhints);
    }
    return 0;
}

/* ==================================================================== groups ============= */

typedef struct {
    pt_attr_t *attrs;
    uint32_t nattrs;
    uint32_t dropped;
    pt_str_t schema_url;
} res_t;

static int resource_load(conv_t *cv, const pb_resource_t *r, const char *schema_url, res_t *out)
{
    memset(out, 0, sizeof(*out));
    out->schema_url = cstr(schema_url);
    if (r == NULL) {
        return 0;
    }
    out->dropped = r->dropped_attributes_count;
    return typed_attrs(cv, r->attributes, r->n_attributes, &out->attrs, &out->nattrs);
}

static pt_str_t concat(pt_arena_t *a, const char *prefix, pt_str_t s)
{
    size_t pl = strlen(prefix);
    char *p = pt_arena_alloc(a, pl + s.len + 1);
    if (p == NULL) {
        return PT_STR_NULL;
    }
    memcpy(p, prefix, pl);
    memcpy(p + pl, s.ptr, s.len);
    p[pl + s.len] = '\0';
    return pt_str(p, pl + s.len);
}

/* 1 when one of the group's first n tags has key k. */
static int tag_among(const pt_group_t *g, uint32_t n, pt_str_t k)
{
    for (uint32_t i = 0; i < n; i++) {
        if (pt_str_eq(g->tags[i].key, k)) {
            return 1;
        }
    }
    return 0;
}

/* A new group for one scope of a resource, registered in the output. */
static pt_group_t *group_open(conv_t *cv, int signal, const res_t *res, const pb_scope_t *scope,
                              const char *scope_schema_url, size_t nrecords)
{
    pt_otlp_origin_t *o;
    pt_group_t *g;
    size_t nscope = scope != NULL ? scope->n_attributes : 0;

    if (cv->out->ngroups == cv->capgroups) {
        uint32_t ncap = cv->capgroups ? cv->capgroups * 2 : 4;
        pt_group_t **ng = pt_arena_alloc(cv->a, ncap * sizeof(*ng));
        if (ng == NULL) {
            return NULL;
        }
        if (cv->out->ngroups > 0) {
            memcpy(ng, cv->out->groups, cv->out->ngroups * sizeof(*ng));
        }
        cv->out->groups = ng;
        cv->capgroups = ncap;
    }
    g = pt_group_create(cv->a, (uint32_t)PT_MIN(nrecords, 1u << 20));
    if (g == NULL) {
        return NULL;
    }
    cv->out->groups[cv->out->ngroups++] = g;
    o = pt_arena_alloc(cv->a, sizeof(*o));
    if (o == NULL) {
        return NULL;
    }
    memset(o, 0, sizeof(*o));
    o->signal = (uint8_t)signal;
    o->resource_attrs = res->attrs;
    o->nresource_attrs = res->nattrs;
    o->resource_dropped_attributes_count = res->dropped;
    o->resource_schema_url = res->schema_url;
    o->scope_schema_url = cstr(scope_schema_url);
    g->ext = o;
    g->tags = pt_arena_alloc(cv->a, (res->nattrs + nscope + 2) * sizeof(pt_field_t));
    if (g->tags == NULL) {
        return NULL;
    }
    g->captags = res->nattrs + (uint32_t)nscope + 2;
    for (uint32_t i = 0; i < res->nattrs; i++) {
        if (pt_group_set_tag(g, res->attrs[i].key, res->attrs[i].val) != 0) {
            return NULL;
        }
    }
    if (scope != NULL) {
        o->scope_name = cstr(scope->name);
        o->scope_version = cstr(scope->version);
        o->scope_dropped_attributes_count = scope->dropped_attributes_count;
        if (typed_attrs(cv, scope->attributes, nscope, &o->scope_attrs, &o->nscope_attrs) != 0) {
            return NULL;
        }
        /* Clashes: a resource attribute keeps its tag, and the scope's own name and version
         * beat a scope attribute called "name" or "version" (which then is not a tag), so that
         * every tag says where it came from and an exporter can put it back there. */
        uint32_t nres = g->ntags;
        for (uint32_t i = 0; i < o->nscope_attrs; i++) {
            pt_str_t k = concat(cv->a, "otlp.scope.", o->scope_attrs[i].key);
            if (k.ptr == NULL) {
                return NULL;
            }
            o->scope_attrs[i].key = k;
            if (tag_among(g, nres, k) ||
                (o->scope_name.len > 0 && pt_str_eq_c(k, "otlp.scope.name")) ||
                (o->scope_version.len > 0 && pt_str_eq_c(k, "otlp.scope.version"))) {
                continue;
            }
            if (pt_group_set_tag(g, k, o->scope_attrs[i].val) != 0) {
                return NULL;
            }
        }
        if ((o->scope_name.len > 0 && !tag_among(g, nres, PT_STR_LIT("otlp.scope.name")) &&
             pt_group_set_tag(g, PT_STR_LIT("otlp.scope.name"), o->scope_name) != 0) ||
            (o->scope_version.len > 0 && !tag_among(g, nres, PT_STR_LIT("otlp.scope.version")) &&
             pt_group_set_tag(g, PT_STR_LIT("otlp.scope.version"), o->scope_version) != 0)) {
            return NULL;
        }
    }
    return g;
}

/* Drops a group left without events (every record rejected). */
static void group_close(conv_t *cv, pt_group_t *g)
{
    if (g->nevents == 0) {
        pt_group_release(g);
        cv->out->ngroups--;
    }
}

/* ===================================================================== traces ============ */

static int span_event(conv_t *cv, pt_group_t *g, const pb_span_t *sp)
{
    pt_span_ext_t *x;
    pt_event_t *ev;
    pt_attr_t *hints;
    int rc;

    ev = pt_group_add_event(g, PT_EVENT_SPAN);
    x = pt_arena_alloc(cv->a, sizeof(*x));
    if (ev == NULL || x == NULL) {
        return -ENOMEM;
    }
    memset(x, 0, sizeof(*x));
    ev->ext = x;
    memcpy(x->trace_id, sp->trace_id.data, 16);
    memcpy(x->span_id, sp->span_id.data, 8);
    if (sp->parent_span_id.len == 8) {
        memcpy(x->parent_span_id, sp->parent_span_id.data, 8);
        x->has_parent = 1;
    }
    x->detailed = 1;
    x->name = cstr(sp->name);
    x->kind = (uint8_t)sp->kind;
    x->start_ns = sp->start_time_unix_nano;
    x->end_ns = sp->end_time_unix_nano;
    x->flags = sp->flags;
    x->trace_state = cstr(sp->trace_state);
    x->dropped_attributes_count = sp->dropped_attributes_count;
    x->dropped_events_count = sp->dropped_events_count;
    x->dropped_links_count = sp->dropped_links_count;
    if (sp->status != NULL) {
        x->status_code = (uint8_t)sp->status->code;
        x->status_message = cstr(sp->status->message);
    }
    ev->time_ns = sp->start_time_unix_nano ? (int64_t)sp->start_time_unix_nano : cv->now_ns;
    if (sp->n_events > 0) {
        x->events = pt_arena_alloc(cv->a, sp->n_events * sizeof(*x->events));
        if (x->events == NULL) {
            return -ENOMEM;
        }
        for (size_t i = 0; i < sp->n_events; i++) {
            const pb_span_event_t *e = sp->events[i];
            pt_span_event_t *o = &x->events[i];
            o->time_ns = e->time_unix_nano;
            o->name = cstr(e->name);
            o->dropped_attributes_count = e->dropped_attributes_count;
            if ((rc = typed_attrs(cv, e->attributes, e->n_attributes, &o->attrs, &o->nattrs))) {
                return rc;
            }
        }
        x->nevents = (uint32_t)sp->n_events;
    }
    if (sp->n_links > 0) {
        x->links = pt_arena_alloc(cv->a, sp->n_links * sizeof(*x->links));
        if (x->links == NULL) {
            return -ENOMEM;
        }
        memset(x->links, 0, sp->n_links * sizeof(*x->links));
        for (size_t i = 0; i < sp->n_links; i++) {
            const pb_span_link_t *l = sp->links[i];
            pt_span_link_t *o = &x->links[i];
            memcpy(o->trace_id, l->trace_id.data, PT_MIN(l->trace_id.len, 16u));
            memcpy(o->span_id, l->span_id.data, PT_MIN(l->span_id.len, 8u));
            o->trace_state = cstr(l->trace_state);
            o->flags = l->flags;
            o->dropped_attributes_count = l->dropped_attributes_count;
            if ((rc = typed_attrs(cv, l->attributes, l->n_attributes, &o->attrs, &o->nattrs))) {
                return rc;
            }
        }
        x->nlinks = (uint32_t)sp->n_links;
    }
    if (fields_alloc(cv, ev, sp->n_attributes, &hints) != 0) {
        return -ENOMEM;
    }
    x->hints = hints;
    return attrs_to_fields(cv, ev, hints, &x->nhints, sp->attributes, sp->n_attributes);
}

static const char *span_invalid(const pb_span_t *sp)
{
    if (sp->trace_id.len != 16 || pt_otlp_id_zero(sp->trace_id.data, 16)) {
        return "trace_id must be 16 bytes, not all zero";
    }
    if (sp->span_id.len != 8 || pt_otlp_id_zero(sp->span_id.data, 8)) {
        return "span_id must be 8 bytes, not all zero";
    }
    if (sp->parent_span_id.len != 0 && sp->parent_span_id.len != 8) {
        return "parent_span_id must be empty or 8 bytes";
    }
    for (size_t i = 0; i < sp->n_links; i++) {
        if (sp->links[i]->trace_id.len != 16 || sp->links[i]->span_id.len != 8) {
            return "a link's trace_id/span_id must be 16/8 bytes";
        }
    }
    return NULL;
}

static int conv_traces(conv_t *cv, const pb_trace_req_t *req)
{
    for (size_t r = 0; r < req->n_resource_spans; r++) {
        const pb_resource_spans_t *rs = req->resource_spans[r];
        res_t res;
        int rc = resource_load(cv, rs->resource, rs->schema_url, &res);
        if (rc != 0) {
            return rc;
        }
        for (size_t s = 0; s < rs->n_scope_spans; s++) {
            const pb_scope_spans_t *ss = rs->scope_spans[s];
            pt_group_t *g;
            if (ss->n_spans == 0) {
                continue;
            }
            g = group_open(cv, PT_SIGNAL_TRACES, &res, ss->scope, ss->schema_url, ss->n_spans);
            if (g == NULL) {
                return -ENOMEM;
            }
            for (size_t i = 0; i < ss->n_spans; i++) {
                const char *bad = span_invalid(ss->spans[i]);
                if (bad != NULL) {
                    reject(cv, 1, "%s", bad);
                    continue;
                }
                if ((rc = span_event(cv, g, ss->spans[i])) != 0) {
                    return rc;
                }
                cv->out->records++;
            }
            group_close(cv, g);
        }
    }
    return 0;
}

/* ======================================================================= logs ============ */

static int log_event(conv_t *cv, pt_group_t *g, const pb_log_record_t *lr)
{
    pt_log_ext_t *x;
    pt_event_t *ev;
    pt_attr_t *hints;
    int has_body =
        lr->body != NULL &&
        lr->body->value_case != OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE__NOT_SET;
    int rc;

    ev = pt_group_add_event(g, PT_EVENT_LOG);
    x = pt_arena_alloc(cv->a, sizeof(*x));
    if (ev == NULL || x == NULL) {
        return -ENOMEM;
    }
    memset(x, 0, sizeof(*x));
    ev->ext = x;
    x->time_ns = lr->time_unix_nano;
    x->observed_ns = lr->observed_time_unix_nano;
    x->severity_number = (uint8_t)PT_MIN((unsigned)lr->severity_number, 255u);
    x->severity_text = cstr(lr->severity_text);
    x->event_name = cstr(lr->event_name);
    x->flags = lr->flags;
    x->dropped_attributes_count = lr->dropped_attributes_count;
    if (lr->trace_id.len == 16) {
        memcpy(x->trace_id, lr->trace_id.data, 16);
        x->has_trace = 1;
    }
    if (lr->span_id.len == 8) {
        memcpy(x->span_id, lr->span_id.data, 8);
        x->has_span = 1;
    }
    ev->time_ns = lr->time_unix_nano            ? (int64_t)lr->time_unix_nano
                  : lr->observed_time_unix_nano ? (int64_t)lr->observed_time_unix_nano
                                                : cv->now_ns;
    if (fields_alloc(cv, ev, lr->n_attributes + (size_t)has_body, &hints) != 0) {
        return -ENOMEM;
    }
    x->hints = hints;
    if (has_body) {
        pt_str_t val;
        uint8_t type;
        if ((rc = any_text(cv->a, &cv->scratch, lr->body, &val, &type)) != 0) {
            return rc;
        }
        field_add(ev, pt_str(cv->body_key, 7), val, type, hints, &x->nhints);
        x->body_key = cv->body_key;
    }
    return attrs_to_fields(cv, ev, hints, &x->nhints, lr->attributes, lr->n_attributes);
}

static int conv_logs(conv_t *cv, const pb_logs_req_t *req)
{
    for (size_t r = 0; r < req->n_resource_logs; r++) {
        const pb_resource_logs_t *rl = req->resource_logs[r];
        res_t res;
        int rc = resource_load(cv, rl->resource, rl->schema_url, &res);
        if (rc != 0) {
            return rc;
        }
        for (size_t s = 0; s < rl->n_scope_logs; s++) {
            const pb_scope_logs_t *sl = rl->scope_logs[s];
            pt_group_t *g;
            if (sl->n_log_records == 0) {
                continue;
            }
            g = group_open(cv, PT_SIGNAL_LOGS, &res, sl->scope, sl->schema_url, sl->n_log_records);
            if (g == NULL) {
                return -ENOMEM;
            }
            for (size_t i = 0; i < sl->n_log_records; i++) {
                const pb_log_record_t *lr = sl->log_records[i];
                if ((lr->trace_id.len != 0 && lr->trace_id.len != 16) ||
                    (lr->span_id.len != 0 && lr->span_id.len != 8)) {
                    reject(cv, 1, "%s", "trace_id/span_id must be empty or 16/8 bytes");
                    continue;
                }
                if ((rc = log_event(cv, g, lr)) != 0) {
                    return rc;
                }
                cv->out->records++;
            }
            group_close(cv, g);
        }
    }
    return 0;
}

/* ==================================================================== metrics ============ */

typedef struct {
    const pb_metric_t *m;
    uint8_t mtype;
    uint8_t temporality;
    uint8_t is_monotonic;
    pt_attr_t *metadata;
    uint32_t nmetadata;
} metric_info_t;

static int exemplars_load(conv_t *cv, pt_metric_ext_t *x, pb_exemplar_t *const *ex, size_t n)
{
    if (n == 0) {
        return 0;
    }
    x->exemplars = pt_arena_alloc(cv->a, n * sizeof(*x->exemplars));
    if (x->exemplars == NULL) {
        return -ENOMEM;
    }
    memset(x->exemplars, 0, n * sizeof(*x->exemplars));
    for (size_t i = 0; i < n; i++) {
        pt_exemplar_t *o = &x->exemplars[i];
        o->time_ns = ex[i]->time_unix_nano;
        if (ex[i]->value_case == OPENTELEMETRY__PROTO__METRICS__V1__EXEMPLAR__VALUE_AS_INT) {
            o->is_int = 1;
            o->int_value = ex[i]->as_int;
            o->value = (double)ex[i]->as_int;
        } else {
            o->value = ex[i]->as_double;
        }
        if (ex[i]->trace_id.len == 16 && ex[i]->span_id.len == 8) {
            memcpy(o->trace_id, ex[i]->trace_id.data, 16);
            memcpy(o->span_id, ex[i]->span_id.data, 8);
            o->has_trace = 1;
        }
        int rc = typed_attrs(cv, ex[i]->filtered_attributes, ex[i]->n_filtered_attributes,
                             &o->attrs, &o->nattrs);
        if (rc != 0) {
            return rc;
        }
    }
    x->nexemplars = (uint32_t)n;
    return 0;
}

/* A new metric event with the metric-level details; the caller fills the point. */
static pt_metric_ext_t *point_open(conv_t *cv, pt_group_t *g, const metric_info_t *mi,
                                   pt_event_t **evp, pb_kv_t *const *attrs, size_t nattrs,
                                   uint64_t start, uint64_t time, uint32_t flags)
{
    pt_metric_ext_t *x;
    pt_event_t *ev = pt_group_add_event(g, PT_EVENT_METRIC);
    pt_attr_t *hints;

    x = pt_arena_alloc(cv->a, sizeof(*x));
    if (ev == NULL || x == NULL) {
        return NULL;
    }
    memset(x, 0, sizeof(*x));
    ev->ext = x;
    x->name = cstr(mi->m->name);
    x->description = cstr(mi->m->description);
    x->unit = cstr(mi->m->unit);
    x->mtype = mi->mtype;
    x->temporality = mi->temporality;
    x->is_monotonic = mi->is_monotonic;
    x->metadata = mi->metadata;
    x->nmetadata = mi->nmetadata;
    x->detailed = 1;
    x->start_ns = start;
    x->time_ns = time;
    x->flags = flags;
    ev->time_ns = time ? (int64_t)time : cv->now_ns;
    if (fields_alloc(cv, ev, nattrs, &hints) != 0) {
        return NULL;
    }
    x->hints = hints;
    if (attrs_to_fields(cv, ev, hints, &x->nhints, attrs, nattrs) != 0) {
        return NULL;
    }
    *evp = ev;
    return x;
}

static int number_points(conv_t *cv, pt_group_t *g, const metric_info_t *mi,
                         pb_number_dp_t *const *dps, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const pb_number_dp_t *dp = dps[i];
        pt_event_t *ev;
        pt_metric_ext_t *x = point_open(cv, g, mi, &ev, dp->attributes, dp->n_attributes,
                                        dp->start_time_unix_nano, dp->time_unix_nano, dp->flags);
        if (x == NULL) {
            return -ENOMEM;
        }
        if (dp->value_case == OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT) {
            x->is_int = 1;
            x->int_value = dp->as_int;
            x->value = (double)dp->as_int;
            x->has |= PT_METRIC_HAS_VALUE;
        } else if (dp->value_case ==
                   OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE) {
            x->value = dp->as_double;
            x->has |= PT_METRIC_HAS_VALUE;
        }
        int rc = exemplars_load(cv, x, dp->exemplars, dp->n_exemplars);
        if (rc != 0) {
            return rc;
        }
        cv->out->records++;
    }
    return 0;
}

static int histogram_points(conv_t *cv, pt_group_t *g, const metric_info_t *mi,
                            pb_histogram_dp_t *const *dps, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const pb_histogram_dp_t *dp = dps[i];
        pt_event_t *ev;
        pt_metric_ext_t *x;
        if (dp->n_bucket_counts != 0 && dp->n_bucket_counts != dp->n_explicit_bounds + 1) {
            reject(cv, 1, "%s", "a histogram needs one more bucket count than bounds");
            continue;
        }
        x = point_open(cv, g, mi, &ev, dp->attributes, dp->n_attributes, dp->start_time_unix_nano,
                       dp->time_unix_nano, dp->flags);
        if (x == NULL) {
            return -ENOMEM;
        }
        x->count = dp->count;
        if (dp->sum__case == OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__SUM__SUM) {
            x->sum = x->value = dp->sum;
            x->has |= PT_METRIC_HAS_SUM;
        }
        if (dp->min__case == OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__MIN__MIN) {
            x->min = dp->min;
            x->has |= PT_METRIC_HAS_MIN;
        }
        if (dp->max__case == OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__MAX__MAX) {
            x->max = dp->max;
            x->has |= PT_METRIC_HAS_MAX;
        }
        x->bucket_counts = dp->bucket_counts;
        x->nbucket_counts = (uint32_t)dp->n_bucket_counts;
        x->bounds = dp->explicit_bounds;
        x->nbounds = (uint32_t)dp->n_explicit_bounds;
        int rc = exemplars_load(cv, x, dp->exemplars, dp->n_exemplars);
        if (rc != 0) {
            return rc;
        }
        cv->out->records++;
    }
    return 0;
}

static int exp_histogram_points(conv_t *cv, pt_group_t *g, const metric_info_t *mi,
                                pb_exp_histogram_dp_t *const *dps, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const pb_exp_histogram_dp_t *dp = dps[i];
        pt_event_t *ev;
        pt_metric_ext_t *x = point_open(cv, g, mi, &ev, dp->attributes, dp->n_attributes,
                                        dp->start_time_unix_nano, dp->time_unix_nano, dp->flags);
        if (x == NULL) {
            return -ENOMEM;
        }
        x->count = dp->count;
        if (dp->sum__case ==
            OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT__SUM__SUM) {
            x->sum = x->value = dp->sum;
            x->has |= PT_METRIC_HAS_SUM;
        }
        if (dp->min__case ==
            OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT__MIN__MIN) {
            x->min = dp->min;
            x->has |= PT_METRIC_HAS_MIN;
        }
        if (dp->max__case ==
            OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT__MAX__MAX) {
            x->max = dp->max;
            x->has |= PT_METRIC_HAS_MAX;
        }
        x->scale = dp->scale;
        x->zero_count = dp->zero_count;
        x->zero_threshold = dp->zero_threshold;
        if (dp->positive != NULL) {
            x->pos_offset = dp->positive->offset;
            x->pos_counts = dp->positive->bucket_counts;
            x->npos = (uint32_t)dp->positive->n_bucket_counts;
        }
        if (dp->negative != NULL) {
            x->neg_offset = dp->negative->offset;
            x->neg_counts = dp->negative->bucket_counts;
            x->nneg = (uint32_t)dp->negative->n_bucket_counts;
        }
        int rc = exemplars_load(cv, x, dp->exemplars, dp->n_exemplars);
        if (rc != 0) {
            return rc;
        }
        cv->out->records++;
    }
    return 0;
}

static int summary_points(conv_t *cv, pt_group_t *g, const metric_info_t *mi,
                          pb_summary_dp_t *const *dps, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const pb_summary_dp_t *dp = dps[i];
        pt_event_t *ev;
        pt_metric_ext_t *x = point_open(cv, g, mi, &ev, dp->attributes, dp->n_attributes,
                                        dp->start_time_unix_nano, dp->time_unix_nano, dp->flags);
        if (x == NULL) {
            return -ENOMEM;
        }
        x->count = dp->count;
        x->sum = x->value = dp->sum;
        x->has |= PT_METRIC_HAS_SUM;
        if (dp->n_quantile_values > 0) {
            x->quantiles = pt_arena_alloc(cv->a, dp->n_quantile_values * sizeof(*x->quantiles));
            if (x->quantiles == NULL) {
                return -ENOMEM;
            }
            for (size_t q = 0; q < dp->n_quantile_values; q++) {
                x->quantiles[q].quantile = dp->quantile_values[q]->quantile;
                x->quantiles[q].value = dp->quantile_values[q]->value;
            }
            x->nquantiles = (uint32_t)dp->n_quantile_values;
        }
        cv->out->records++;
    }
    return 0;
}

static size_t metric_points(const pb_metric_t *m)
{
    switch (m->data_case) {
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE:
        return m->gauge->n_data_points;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM:
        return m->sum->n_data_points;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM:
        return m->histogram->n_data_points;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM:
        return m->exponential_histogram->n_data_points;
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY:
        return m->summary->n_data_points;
    default:
        return 0;
    }
}

static int metric_events(conv_t *cv, pt_group_t *g, const pb_metric_t *m)
{
    metric_info_t mi;
    int rc;

    memset(&mi, 0, sizeof(mi));
    mi.m = m;
    if ((rc = typed_attrs(cv, m->metadata, m->n_metadata, &mi.metadata, &mi.nmetadata)) != 0) {
        return rc;
    }
    switch (m->data_case) {
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE:
        mi.mtype = PT_METRIC_GAUGE;
        return number_points(cv, g, &mi, m->gauge->data_points, m->gauge->n_data_points);
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM:
        mi.mtype = PT_METRIC_SUM;
        mi.temporality = (uint8_t)m->sum->aggregation_temporality;
        mi.is_monotonic = (uint8_t)m->sum->is_monotonic;
        return number_points(cv, g, &mi, m->sum->data_points, m->sum->n_data_points);
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM:
        mi.mtype = PT_METRIC_HISTOGRAM;
        mi.temporality = (uint8_t)m->histogram->aggregation_temporality;
        return histogram_points(cv, g, &mi, m->histogram->data_points, m->histogram->n_data_points);
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM:
        mi.mtype = PT_METRIC_EXP_HISTOGRAM;
        mi.temporality = (uint8_t)m->exponential_histogram->aggregation_temporality;
        return exp_histogram_points(cv, g, &mi, m->exponential_histogram->data_points,
                                    m->exponential_histogram->n_data_points);
    case OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY:
        mi.mtype = PT_METRIC_SUMMARY;
        return summary_points(cv, g, &mi, m->summary->data_points, m->summary->n_data_points);
    default:
        return 0;
    }
}

static int conv_metrics(conv_t *cv, const pb_metrics_req_t *req)
{
    for (size_t r = 0; r < req->n_resource_metrics; r++) {
        const pb_resource_metrics_t *rm = req->resource_metrics[r];
        res_t res;
        int rc = resource_load(cv, rm->resource, rm->schema_url, &res);
        if (rc != 0) {
            return rc;
        }
        for (size_t s = 0; s < rm->n_scope_metrics; s++) {
            const pb_scope_metrics_t *sm = rm->scope_metrics[s];
            size_t npoints = 0;
            pt_group_t *g;
            for (size_t i = 0; i < sm->n_metrics; i++) {
                npoints += metric_points(sm->metrics[i]);
            }
            if (npoints == 0) {
                continue;
            }
            g = group_open(cv, PT_SIGNAL_METRICS, &res, sm->scope, sm->schema_url, npoints);
            if (g == NULL) {
                return -ENOMEM;
            }
            for (size_t i = 0; i < sm->n_metrics; i++) {
                const pb_metric_t *m = sm->metrics[i];
                if (m->name == NULL || m->name[0] == '\0') {
                    reject(cv, metric_points(m), "%s", "a metric needs a name");
                    continue;
                }
                if ((rc = metric_events(cv, g, m)) != 0) {
                    return rc;
                }
            }
            group_close(cv, g);
        }
    }
    return 0;
}

/* ==================================================================== entry ============== */

int pt_otlp_to_groups(int signal, const ProtobufCMessage *msg, pt_arena_t *a, int64_t now_ns,
                      pt_otlp_groups_t *out)
{
    conv_t cv;
    char *body_key;
    int rc;

    memset(out, 0, sizeof(*out));
    memset(&cv, 0, sizeof(cv));
    cv.a = a;
    cv.now_ns = now_ns;
    cv.out = out;
    pt_buf_init(&cv.scratch);
    body_key = pt_arena_alloc(a, 8);
    if (body_key == NULL) {
        return -ENOMEM;
    }
    memcpy(body_key, "content", 8);
    cv.body_key = body_key;
    switch (signal) {
    case PT_SIGNAL_TRACES:
        rc = conv_traces(&cv, (const pb_trace_req_t *)msg);
        break;
    case PT_SIGNAL_METRICS:
        rc = conv_metrics(&cv, (const pb_metrics_req_t *)msg);
        break;
    case PT_SIGNAL_LOGS:
        rc = conv_logs(&cv, (const pb_logs_req_t *)msg);
        break;
    default:
        rc = -EINVAL;
        break;
    }
    pt_buf_free(&cv.scratch);
    if (rc != 0) {
        for (uint32_t i = 0; i < out->ngroups; i++) {
            pt_group_release(out->groups[i]);
        }
        out->ngroups = 0;
        out->groups = NULL;
    }
    return rc;
}
