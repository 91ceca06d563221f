/* Decoded OTLP requests to event groups: one group per ResourceX/ScopeX, one event per span,
 * data point or log record, every field of the data model kept (core/event.h). Attribute values
 * become text views in the request arena; the OTLP type of the ones that are not strings is kept
 * as a hint beside them. Nothing here copies a string protobuf-c or the JSON decoder already put
 * in the arena: fields are views of those copies. This file holds what every signal shares
 * (value text, attributes as fields, groups); otlp_events_{traces,logs,metrics}.c the records. */
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
#include "otlp_events_internal.h"

void pt_otlp_conv_reject(conv_t *cv, uint64_t n, const char *fmt, const char *what)
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

int pt_otlp_conv_any(conv_t *cv, const pb_any_t *v, pt_str_t *out, uint8_t *type)
{
    return any_text(cv->a, &cv->scratch, v, out, type);
}

/* ================================================================= attributes ============ */

/* Typed copies of key/values (attributes nobody processes: span events, links, exemplars,
 * metadata, and the originals of tags). */
int pt_otlp_conv_typed_attrs(conv_t *cv, pb_kv_t *const *kvs, size_t n, pt_attr_t **out,
                             uint32_t *nout)
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
void pt_otlp_conv_field_add(pt_event_t *ev, pt_str_t key, pt_str_t val, uint8_t type,
                            pt_attr_t *hints, uint32_t *nhints)
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
 * when n is 0). Fields are then appended with pt_otlp_conv_field_add. Returns 0 or -ENOMEM. */
int pt_otlp_conv_fields_alloc(conv_t *cv, pt_event_t *ev, size_t n, pt_attr_t **hints)
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

int pt_otlp_conv_attrs_to_fields(conv_t *cv, pt_event_t *ev, pt_attr_t *hints, uint32_t *nhints,
                                 pb_kv_t *const *kvs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        pt_str_t val;
        uint8_t type;
        int rc = any_text(cv->a, &cv->scratch, kvs[i]->value, &val, &type);
        if (rc != 0) {
            return rc;
        }
        pt_otlp_conv_field_add(ev, cstr(kvs[i]->key), val, type, hints, nhints);
    }
    return 0;
}

/* ==================================================================== groups ============= */

int pt_otlp_conv_resource_load(conv_t *cv, const pb_resource_t *r, const char *schema_url,
                               res_t *out)
{
    memset(out, 0, sizeof(*out));
    out->schema_url = cstr(schema_url);
    if (r == NULL) {
        return 0;
    }
    out->dropped = r->dropped_attributes_count;
    return pt_otlp_conv_typed_attrs(cv, r->attributes, r->n_attributes, &out->attrs, &out->nattrs);
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
pt_group_t *pt_otlp_conv_group_open(conv_t *cv, int signal, const res_t *res,
                                    const pb_scope_t *scope, const char *scope_schema_url,
                                    size_t nrecords)
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
        if (pt_otlp_conv_typed_attrs(cv, scope->attributes, nscope, &o->scope_attrs,
                                     &o->nscope_attrs) != 0) {
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
void pt_otlp_conv_group_close(conv_t *cv, pt_group_t *g)
{
    if (g->nevents == 0) {
        pt_group_release(g);
        cv->out->ngroups--;
    }
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
        rc = pt_otlp_conv_traces(&cv, (const pb_trace_req_t *)msg);
        break;
    case PT_SIGNAL_METRICS:
        rc = pt_otlp_conv_metrics(&cv, (const pb_metrics_req_t *)msg);
        break;
    case PT_SIGNAL_LOGS:
        rc = pt_otlp_conv_logs(&cv, (const pb_logs_req_t *)msg);
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
