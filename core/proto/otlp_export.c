/* Event groups back to OTLP requests, for exporters: the inverse of otlp_events.c. Each group
 * becomes a ScopeX under a ResourceX (consecutive groups of one resource share it), with the
 * resource and scope taken from the group's tags and its pt_otlp_origin_t, attribute types
 * restored from the hints, and every field of spans, data points and log records written back.
 * Events that did not come from OTLP are exported too: raw lines and file logs as log records,
 * their fields as string attributes. Structs are built in a scratch arena and packed at once. */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "core/json.h"
#include "core/mem.h"
#include "otlp.h"
#include "otlp_pb.h"

#define SCOPE_PREFIX "otlp.scope."
#define SCOPE_PREFIX_LEN 11

typedef struct {
    pt_arena_t *a;
    int err;
} enc_t;

static void *A(enc_t *e, size_t n)
{
    void *p = pt_arena_alloc(e->a, n ? n : 1);
    if (p == NULL) {
        e->err = -ENOMEM;
    }
    return p;
}

/* A NUL-terminated copy: protobuf-c measures strings with strlen. */
static char *S(enc_t *e, pt_str_t s)
{
    if (s.len == 0) {
        return (char *)protobuf_c_empty_string;
    }
    char *p = A(e, (size_t)s.len + 1);
    if (p == NULL) {
        return (char *)protobuf_c_empty_string;
    }
    memcpy(p, s.ptr, s.len);
    p[s.len] = '\0';
    return p;
}

/* A string for a oneof member: protobuf-c leaves a oneof string out of the wire when it is its
 * default pointer (protobuf_c_empty_string), which would turn a present empty string value
 * into no value at all; an arena copy of "" is another pointer. */
static char *S1(enc_t *e, pt_str_t s)
{
    if (s.len > 0) {
        return S(e, s);
    }
    char *p = A(e, 1);
    if (p == NULL) {
        return (char *)protobuf_c_empty_string;
    }
    p[0] = '\0';
    return p;
}

static ProtobufCBinaryData bin(enc_t *e, const uint8_t *id, size_t n)
{
    ProtobufCBinaryData b = {0, NULL};
    uint8_t *p = A(e, n);
    if (p != NULL) {
        memcpy(p, id, n);
        b.data = p;
        b.len = n;
    }
    return b;
}

/* A growable array of pointers in the arena. */
typedef struct {
    void **v;
    size_t n;
    size_t cap;
} vec_t;

static void vec_push(enc_t *e, vec_t *v, void *p)
{
    if (v->n == v->cap) {
        size_t ncap = v->cap ? v->cap * 2 : 8;
        void **nv = A(e, ncap * sizeof(*nv));
        if (nv == NULL) {
            return;
        }
        if (v->n > 0) {
            memcpy(nv, v->v, v->n * sizeof(*nv));
        }
        v->v = nv;
        v->cap = ncap;
    }
    v->v[v->n++] = p;
}

/* ================================================================= values ================ */

static double text_double(pt_str_t s)
{
    char buf[64];
    if (pt_str_eq_c(s, "NaN")) {
        return NAN;
    }
    if (pt_str_eq_c(s, "Infinity")) {
        return INFINITY;
    }
    if (pt_str_eq_c(s, "-Infinity")) {
        return -INFINITY;
    }
    size_t n = PT_MIN(s.len, sizeof(buf) - 1);
    memcpy(buf, s.ptr, n);
    buf[n] = '\0';
    return strtod(buf, NULL);
}

static pb_any_t *any_json(enc_t *e, const char *src, const pt_json_tok_t *t, int i, int *next);

/* JSON text of an array or kvlist (as otlp_events.c writes it) back to an AnyValue: numbers with
 * '.', 'e' or 'E' are doubles, the others ints. */
static pb_any_t *any_json(enc_t *e, const char *src, const pt_json_tok_t *t, int i, int *next)
{
    pb_any_t *v = A(e, sizeof(*v));
    const pt_json_tok_t *k = &t[i];
    if (v == NULL) {
        return NULL;
    }
    opentelemetry__proto__common__v1__any_value__init(v);
    *next = i + (int)k->skip;
    switch (k->type) {
    case PT_JSON_STRING: {
        char *p = A(e, (size_t)k->len + 1);
        int n = p != NULL ? pt_json_unescape(src + k->start, k->len, p) : -1;
        v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
        if (n < 0) {
            v->string_value = S1(e, PT_STR_NULL);
        } else {
            p[n] = '\0';
            v->string_value = p;
        }
        break;
    }
    case PT_JSON_NUMBER: {
        pt_str_t s = pt_str(src + k->start, k->len);
        if (memchr(s.ptr, '.', s.len) || memchr(s.ptr, 'e', s.len) || memchr(s.ptr, 'E', s.len)) {
            v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
            v->double_value = text_double(s);
        } else {
            v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
            v->int_value = strtoll(s.ptr, NULL, 10);
        }
        break;
    }
    case PT_JSON_TRUE:
    case PT_JSON_FALSE:
        v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
        v->bool_value = k->type == PT_JSON_TRUE;
        break;
    case PT_JSON_ARRAY: {
        pb_array_t *arr = A(e, sizeof(*arr));
        if (arr == NULL) {
            return v;
        }
        opentelemetry__proto__common__v1__array_value__init(arr);
        arr->values = A(e, k->size * sizeof(*arr->values));
        int j = i + 1;
        for (uint32_t c = 0; c < k->size && arr->values != NULL; c++) {
            arr->values[arr->n_values++] = any_json(e, src, t, j, &j);
        }
        v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE;
        v->array_value = arr;
        break;
    }
    case PT_JSON_OBJECT: {
        pb_kvlist_t *kl = A(e, sizeof(*kl));
        if (kl == NULL) {
            return v;
        }
        opentelemetry__proto__common__v1__key_value_list__init(kl);
        kl->values = A(e, k->size * sizeof(*kl->values));
        int j = i + 1;
        for (uint32_t c = 0; c < k->size && kl->values != NULL; c++) {
            pb_kv_t *kv = A(e, sizeof(*kv));
            if (kv == NULL) {
                break;
            }
            opentelemetry__proto__common__v1__key_value__init(kv);
            char *key = A(e, (size_t)t[j].len + 1);
            int n = key != NULL ? pt_json_unescape(src + t[j].start, t[j].len, key) : -1;
            if (n >= 0) {
                key[n] = '\0';
                kv->key = key;
            }
            kv->value = any_json(e, src, t, j + 1, &j);
            kl->values[kl->n_values++] = kv;
        }
        v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE;
        v->kvlist_value = kl;
        break;
    }
    default:
        break; /* null: an empty value */
    }
    return v;
}

/* A value's text (core/event.h rules) back to an AnyValue of its type. */
static pb_any_t *any_from(enc_t *e, uint8_t type, pt_str_t s)
{
    pb_any_t *v = A(e, sizeof(*v));
    if (v == NULL) {
        return NULL;
    }
    opentelemetry__proto__common__v1__any_value__init(v);
    switch (type) {
    case PT_VAL_BOOL:
        v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE;
        v->bool_value = pt_str_eq_c(s, "true");
        return v;
    case PT_VAL_INT: {
        char buf[32];
        size_t n = PT_MIN(s.len, sizeof(buf) - 1);
        memcpy(buf, s.ptr, n);
        buf[n] = '\0';
        v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE;
        v->int_value = strtoll(buf, NULL, 10);
        return v;
    }
    case PT_VAL_DOUBLE:
        v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE;
        v->double_value = text_double(s);
        return v;
    case PT_VAL_BYTES: {
        uint8_t *out = A(e, (size_t)s.len * 3 / 4 + 3);
        long n = out != NULL ? pt_otlp_b64_decode(s.ptr, s.len, out) : -1;
        if (n < 0) {
            /* Not base64 any more (a processor rewrote it): keep the text. */
            v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
            v->string_value = S1(e, s);
            return v;
        }
        v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE;
        v->bytes_value.data = out;
        v->bytes_value.len = (size_t)n;
        return v;
    }
    case PT_VAL_ARRAY:
    case PT_VAL_KVLIST: {
        pt_json_tok_t small[64];
        pt_json_tok_t *t = small;
        int n = pt_json_tokenize(s.ptr, s.len, small, PT_ARRAY_SIZE(small), NULL);
        if (n == -ENOSPC) {
            t = pt_malloc(((size_t)s.len + 1) * sizeof(*t));
            n = t != NULL ? pt_json_tokenize(s.ptr, s.len, t, (size_t)s.len + 1, NULL) : -ENOMEM;
        }
        if (n > 0) {
            int next;
            pb_any_t *j = any_json(e, s.ptr, t, 0, &next);
            if (j != NULL) {
                v = j;
            }
        } else {
            /* Not JSON (a processor wrote text with the old view?): keep the text. */
            v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
            v->string_value = S1(e, s);
        }
        if (t != small) {
            pt_free(t);
        }
        return v;
    }
    case PT_VAL_EMPTY:
        return v;
    default:
        v->value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
        v->string_value = S1(e, s);
        return v;
    }
}

static pb_kv_t *kv_new(enc_t *e, pt_str_t key, uint8_t type, pt_str_t val)
{
    pb_kv_t *kv = A(e, sizeof(*kv));
    if (kv == NULL) {
        return NULL;
    }
    opentelemetry__proto__common__v1__key_value__init(kv);
    kv->key = S(e, key);
    kv->value = any_from(e, type, val);
    return kv;
}

static pb_kv_t **attrs_kvs(enc_t *e, const pt_attr_t *a, uint32_t n, size_t *nout)
{
    pb_kv_t **v = A(e, n * sizeof(*v));
    *nout = 0;
    for (uint32_t i = 0; v != NULL && i < n; i++) {
        v[(*nout)++] = kv_new(e, a[i].key, a[i].type, a[i].val);
    }
    return v;
}

/* The event's fields as attributes, typed by their hints; skip (a key pointer) is left out (the
 * log body). */
static pb_kv_t **fields_kvs(enc_t *e, const pt_event_t *ev, const pt_attr_t *hints, uint32_t nhints,
                            const char *skip, size_t *nout)
{
    pb_kv_t **v = A(e, ev->nfields * sizeof(*v));
    uint32_t cursor = 0;
    *nout = 0;
    for (uint32_t i = 0; v != NULL && i < ev->nfields; i++) {
        const pt_field_t *f = &ev->fields[i];
        if (skip != NULL && f->key.ptr == skip) {
            continue;
        }
        v[(*nout)++] = kv_new(e, f->key, pt_field_type(hints, nhints, &cursor, f), f->val);
    }
    return v;
}

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
        r->attributes[r->n_attributes++] = kv_new(e, t->key, h != NULL ? h->type : 0, t->val);
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
        sc->attributes[sc->n_attributes++] = kv_new(e, k, h != NULL ? h->type : 0, t->val);
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
        sp->attributes = fields_kvs(e, ev, NULL, 0, NULL, &sp->n_attributes);
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
    sp->attributes = fields_kvs(e, ev, x->hints, x->nhints, NULL, &sp->n_attributes);
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
            o->attributes = attrs_kvs(e, x->events[i].attrs, x->events[i].nattrs, &o->n_attributes);
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
            o->attributes = attrs_kvs(e, l->attrs, l->nattrs, &o->n_attributes);
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
        lr->body = any_from(e, PT_VAL_STRING, ev->raw);
        return lr;
    }
    if (x == NULL) {
        /* A log from another input: its "content" is the body, the rest are attributes. */
        const char *body_key = NULL;
        for (uint32_t i = 0; i < ev->nfields; i++) {
            if (pt_str_eq_c(ev->fields[i].key, "content")) {
                body_key = ev->fields[i].key.ptr;
                lr->body = any_from(e, PT_VAL_STRING, ev->fields[i].val);
                break;
            }
        }
        lr->time_unix_nano = lr->observed_time_unix_nano = (uint64_t)ev->time_ns;
        lr->attributes = fields_kvs(e, ev, NULL, 0, body_key, &lr->n_attributes);
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
                lr->body = any_from(e, pt_field_type(x->hints, x->nhints, &cursor, &ev->fields[i]),
                                    ev->fields[i].val);
                break;
            }
        }
    }
    lr->attributes = fields_kvs(e, ev, x->hints, x->nhints, x->body_key, &lr->n_attributes);
    return lr;
}

static pb_exemplar_t **exemplars_of(enc_t *e, const pt_metric_ext_t *x, size_t *n)
{
    pb_exemplar_t **v = A(e, x->nexemplars * sizeof(*v));
    *n = 0;
    for (uint32_t i = 0; v != NULL && i < x->nexemplars; i++) {
        const pt_exemplar_t *ex = &x->exemplars[i];
        pb_exemplar_t *o = A(e, sizeof(*o));
        if (o == NULL) {
            break;
        }
        opentelemetry__proto__metrics__v1__exemplar__init(o);
        o->time_unix_nano = ex->time_ns;
        if (ex->is_int) {
            o->value_case = OPENTELEMETRY__PROTO__METRICS__V1__EXEMPLAR__VALUE_AS_INT;
            o->as_int = ex->int_value;
        } else {
            o->value_case = OPENTELEMETRY__PROTO__METRICS__V1__EXEMPLAR__VALUE_AS_DOUBLE;
            o->as_double = ex->value;
        }
        if (ex->has_trace) {
            o->trace_id = bin(e, ex->trace_id, 16);
            o->span_id = bin(e, ex->span_id, 8);
        }
        o->filtered_attributes = attrs_kvs(e, ex->attrs, ex->nattrs, &o->n_filtered_attributes);
        v[(*n)++] = o;
    }
    return v;
}

/* Appends ev's data point to metric m (whose kind matches). */
static void point_add(enc_t *e, pb_metric_t *m, const pt_event_t *ev, vec_t *points)
{
    const pt_metric_ext_t *x = ev->ext;
    uint8_t mtype = x != NULL ? x->mtype : PT_METRIC_GAUGE;
    uint64_t time = x != NULL && x->detailed ? x->time_ns : (uint64_t)ev->time_ns;
    uint64_t start = x != NULL ? x->start_ns : 0;
    uint32_t flags = x != NULL ? x->flags : 0;
    size_t nattrs;
    pb_kv_t **attrs =
        fields_kvs(e, ev, x != NULL ? x->hints : NULL, x != NULL ? x->nhints : 0, NULL, &nattrs);

    if (mtype == PT_METRIC_GAUGE || mtype == PT_METRIC_SUM) {
        pb_number_dp_t *dp = A(e, sizeof(*dp));
        if (dp == NULL) {
            return;
        }
        opentelemetry__proto__metrics__v1__number_data_point__init(dp);
        dp->attributes = attrs;
        dp->n_attributes = nattrs;
        dp->start_time_unix_nano = start;
        dp->time_unix_nano = time;
        dp->flags = flags;
        if (x != NULL && x->is_int) {
            dp->value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_INT;
            dp->as_int = x->int_value;
        } else if (x == NULL || !x->detailed || (x->has & PT_METRIC_HAS_VALUE)) {
            dp->value_case = OPENTELEMETRY__PROTO__METRICS__V1__NUMBER_DATA_POINT__VALUE_AS_DOUBLE;
            dp->as_double = x != NULL ? x->value : 0;
        }
        if (x != NULL) {
            dp->exemplars = exemplars_of(e, x, &dp->n_exemplars);
        }
        vec_push(e, points, dp);
    } else if (mtype == PT_METRIC_HISTOGRAM) {
        pb_histogram_dp_t *dp = A(e, sizeof(*dp));
        if (dp == NULL) {
            return;
        }
        opentelemetry__proto__metrics__v1__histogram_data_point__init(dp);
        dp->attributes = attrs;
        dp->n_attributes = nattrs;
        dp->start_time_unix_nano = start;
        dp->time_unix_nano = time;
        dp->flags = flags;
        dp->count = x->count;
        if (x->has & PT_METRIC_HAS_SUM) {
            dp->sum__case = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__SUM__SUM;
            dp->sum = x->sum;
        }
        if (x->has & PT_METRIC_HAS_MIN) {
            dp->min__case = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__MIN__MIN;
            dp->min = x->min;
        }
        if (x->has & PT_METRIC_HAS_MAX) {
            dp->max__case = OPENTELEMETRY__PROTO__METRICS__V1__HISTOGRAM_DATA_POINT__MAX__MAX;
            dp->max = x->max;
        }
        dp->bucket_counts = x->bucket_counts;
        dp->n_bucket_counts = x->nbucket_counts;
        dp->explicit_bounds = x->bounds;
        dp->n_explicit_bounds = x->nbounds;
        dp->exemplars = exemplars_of(e, x, &dp->n_exemplars);
        vec_push(e, points, dp);
    } else if (mtype == PT_METRIC_EXP_HISTOGRAM) {
        pb_exp_histogram_dp_t *dp = A(e, sizeof(*dp));
        pb_buckets_t *pos = A(e, sizeof(*pos));
        pb_buckets_t *neg = A(e, sizeof(*neg));
        if (dp == NULL || pos == NULL || neg == NULL) {
            return;
        }
        opentelemetry__proto__metrics__v1__exponential_histogram_data_point__init(dp);
        opentelemetry__proto__metrics__v1__exponential_histogram_data_point__buckets__init(pos);
        opentelemetry__proto__metrics__v1__exponential_histogram_data_point__buckets__init(neg);
        dp->attributes = attrs;
        dp->n_attributes = nattrs;
        dp->start_time_unix_nano = start;
        dp->time_unix_nano = time;
        dp->flags = flags;
        dp->count = x->count;
        if (x->has & PT_METRIC_HAS_SUM) {
            dp->sum__case =
                OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT__SUM__SUM;
            dp->sum = x->sum;
        }
        if (x->has & PT_METRIC_HAS_MIN) {
            dp->min__case =
                OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT__MIN__MIN;
            dp->min = x->min;
        }
        if (x->has & PT_METRIC_HAS_MAX) {
            dp->max__case =
                OPENTELEMETRY__PROTO__METRICS__V1__EXPONENTIAL_HISTOGRAM_DATA_POINT__MAX__MAX;
            dp->max = x->max;
        }
        dp->scale = x->scale;
        dp->zero_count = x->zero_count;
        dp->zero_threshold = x->zero_threshold;
        pos->offset = x->pos_offset;
        pos->bucket_counts = x->pos_counts;
        pos->n_bucket_counts = x->npos;
        neg->offset = x->neg_offset;
        neg->bucket_counts = x->neg_counts;
        neg->n_bucket_counts = x->nneg;
        dp->positive = pos;
        dp->negative = neg;
        dp->exemplars = exemplars_of(e, x, &dp->n_exemplars);
        vec_push(e, points, dp);
    } else {
        pb_summary_dp_t *dp = A(e, sizeof(*dp));
        if (dp == NULL) {
            return;
        }
        opentelemetry__proto__metrics__v1__summary_data_point__init(dp);
        dp->attributes = attrs;
        dp->n_attributes = nattrs;
        dp->start_time_unix_nano = start;
        dp->time_unix_nano = time;
        dp->flags = flags;
        dp->count = x->count;
        dp->sum = x->sum;
        dp->quantile_values = A(e, x->nquantiles * sizeof(*dp->quantile_values));
        for (uint32_t i = 0; dp->quantile_values != NULL && i < x->nquantiles; i++) {
            pb_quantile_t *q = A(e, sizeof(*q));
            if (q == NULL) {
                break;
            }
            opentelemetry__proto__metrics__v1__summary_data_point__value_at_quantile__init(q);
            q->quantile = x->quantiles[i].quantile;
            q->value = x->quantiles[i].value;
            dp->quantile_values[dp->n_quantile_values++] = q;
        }
        vec_push(e, points, dp);
    }
}

/* Points of one metric are consecutive events with the same name, kind and metric details. */
static int same_metric(const pt_event_t *a, const pt_event_t *b)
{
    const pt_metric_ext_t *x = a->ext;
    const pt_metric_ext_t *y = b->ext;
    if (x == NULL || y == NULL) {
        return x == y;
    }
    return x->mtype == y->mtype && pt_str_eq(x->name, y->name) && pt_str_eq(x->unit, y->unit) &&
           pt_str_eq(x->description, y->description) && x->temporality == y->temporality &&
           x->is_monotonic == y->is_monotonic && x->metadata == y->metadata;
}

static pb_metric_t *metric_open(enc_t *e, const pt_event_t *ev)
{
    const pt_metric_ext_t *x = ev->ext;
    pb_metric_t *m = A(e, sizeof(*m));
    if (m == NULL) {
        return NULL;
    }
    opentelemetry__proto__metrics__v1__metric__init(m);
    if (x != NULL) {
        m->name = S(e, x->name);
        m->description = S(e, x->description);
        m->unit = S(e, x->unit);
        m->metadata = attrs_kvs(e, x->metadata, x->nmetadata, &m->n_metadata);
    }
    return m;
}

static void metric_close(enc_t *e, pb_metric_t *m, const pt_event_t *first, vec_t *pts)
{
    const pt_metric_ext_t *x = first->ext;
    uint8_t mtype = x != NULL ? x->mtype : PT_METRIC_GAUGE;
    switch (mtype) {
    case PT_METRIC_SUM: {
        pb_sum_t *s = A(e, sizeof(*s));
        if (s == NULL) {
            return;
        }
        opentelemetry__proto__metrics__v1__sum__init(s);
        s->data_points = (pb_number_dp_t **)pts->v;
        s->n_data_points = pts->n;
        s->aggregation_temporality = x->temporality;
        s->is_monotonic = x->is_monotonic;
        m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUM;
        m->sum = s;
        break;
    }
    case PT_METRIC_HISTOGRAM: {
        pb_histogram_t *h = A(e, sizeof(*h));
        if (h == NULL) {
            return;
        }
        opentelemetry__proto__metrics__v1__histogram__init(h);
        h->data_points = (pb_histogram_dp_t **)pts->v;
        h->n_data_points = pts->n;
        h->aggregation_temporality = x->temporality;
        m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_HISTOGRAM;
        m->histogram = h;
        break;
    }
    case PT_METRIC_EXP_HISTOGRAM: {
        pb_exp_histogram_t *h = A(e, sizeof(*h));
        if (h == NULL) {
            return;
        }
        opentelemetry__proto__metrics__v1__exponential_histogram__init(h);
        h->data_points = (pb_exp_histogram_dp_t **)pts->v;
        h->n_data_points = pts->n;
        h->aggregation_temporality = x->temporality;
        m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_EXPONENTIAL_HISTOGRAM;
        m->exponential_histogram = h;
        break;
    }
    case PT_METRIC_SUMMARY: {
        pb_summary_t *s = A(e, sizeof(*s));
        if (s == NULL) {
            return;
        }
        opentelemetry__proto__metrics__v1__summary__init(s);
        s->data_points = (pb_summary_dp_t **)pts->v;
        s->n_data_points = pts->n;
        m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_SUMMARY;
        m->summary = s;
        break;
    }
    default: {
        pb_gauge_t *gg = A(e, sizeof(*gg));
        if (gg == NULL) {
            return;
        }
        opentelemetry__proto__metrics__v1__gauge__init(gg);
        gg->data_points = (pb_number_dp_t **)pts->v;
        gg->n_data_points = pts->n;
        m->data_case = OPENTELEMETRY__PROTO__METRICS__V1__METRIC__DATA_GAUGE;
        m->gauge = gg;
        break;
    }
    }
}

/* ===================================================================== requests ========== */

/* Fills ss (a ScopeSpans, ScopeMetrics or ScopeLogs by signal) with g's records of that signal;
 * returns how many. */
static uint32_t scope_records(enc_t *e, int signal, const pt_group_t *g, vec_t *recs)
{
    uint32_t n = 0;
    if (signal == PT_SIGNAL_METRICS) {
        const pt_event_t *first = NULL;
        pb_metric_t *m = NULL;
        vec_t pts = {0};
        for (uint32_t i = 0; i < g->nevents; i++) {
            const pt_event_t *ev = &g->events[i];
            if ((ev->flags & PT_EVENT_F_DROPPED) || signal_of(ev) != signal) {
                continue;
            }
            if (m == NULL || !same_metric(first, ev)) {
                if (m != NULL) {
                    metric_close(e, m, first, &pts);
                }
                m = metric_open(e, ev);
                vec_push(e, recs, m);
                first = ev;
                memset(&pts, 0, sizeof(pts));
            }
            point_add(e, m, ev, &pts);
            n++;
        }
        if (m != NULL) {
            metric_close(e, m, first, &pts);
        }
        return n;
    }
    for (uint32_t i = 0; i < g->nevents; i++) {
        const pt_event_t *ev = &g->events[i];
        if ((ev->flags & PT_EVENT_F_DROPPED) || signal_of(ev) != signal) {
            continue;
        }
        vec_push(e, recs,
                 signal == PT_SIGNAL_TRACES ? (void *)span_of(e, ev) : (void *)log_of(e, ev));
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

static void *resource_new(enc_t *e, int signal, const pt_group_t *g, vec_t *scopes)
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
        rs->scope_spans = (pb_scope_spans_t **)scopes->v;
        rs->n_scope_spans = scopes->n;
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
        rs->scope_metrics = (pb_scope_metrics_t **)scopes->v;
        rs->n_scope_metrics = scopes->n;
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
        rs->scope_logs = (pb_scope_logs_t **)scopes->v;
        rs->n_scope_logs = scopes->n;
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
            cur = resource_new(e, signal, g, &scopes);
            vec_push(e, &resources, cur);
            res_group = g;
        }
        vec_push(e, &scopes, scope_new(e, signal, g, &recs));
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
