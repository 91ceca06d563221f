/* Values for the OTLP encoder: petrel's typed value text (core/event.h rules, with the hints
 * otlp_events.c kept) back to AnyValues, and attributes and fields back to KeyValues. Arrays and
 * kvlists come back from the JSON text otlp_events.c wrote for them. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "core/json.h"
#include "core/mem.h"
#include "otlp.h"
#include "otlp_export_internal.h"

void pt_otlp_vec_push(enc_t *e, vec_t *v, void *p)
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
pb_any_t *pt_otlp_enc_any(enc_t *e, uint8_t type, pt_str_t s)
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

pb_kv_t *pt_otlp_enc_kv(enc_t *e, pt_str_t key, uint8_t type, pt_str_t val)
{
    pb_kv_t *kv = A(e, sizeof(*kv));
    if (kv == NULL) {
        return NULL;
    }
    opentelemetry__proto__common__v1__key_value__init(kv);
    kv->key = S(e, key);
    kv->value = pt_otlp_enc_any(e, type, val);
    return kv;
}

pb_kv_t **pt_otlp_enc_attrs(enc_t *e, const pt_attr_t *a, uint32_t n, size_t *nout)
{
    pb_kv_t **v = A(e, n * sizeof(*v));
    *nout = 0;
    for (uint32_t i = 0; v != NULL && i < n; i++) {
        v[(*nout)++] = pt_otlp_enc_kv(e, a[i].key, a[i].type, a[i].val);
    }
    return v;
}

/* The event's fields as attributes, typed by their hints; skip (a key pointer) is left out (the
 * log body). */
pb_kv_t **pt_otlp_enc_fields(enc_t *e, const pt_event_t *ev, const pt_attr_t *hints,
                             uint32_t nhints, const char *skip, size_t *nout)
{
    pb_kv_t **v = A(e, ev->nfields * sizeof(*v));
    uint32_t cursor = 0;
    *nout = 0;
    for (uint32_t i = 0; v != NULL && i < ev->nfields; i++) {
        const pt_field_t *f = &ev->fields[i];
        if (skip != NULL && f->key.ptr == skip) {
            continue;
        }
        v[(*nout)++] = pt_otlp_enc_kv(e, f->key, pt_field_type(hints, nhints, &cursor, f), f->val);
    }
    return v;
}
