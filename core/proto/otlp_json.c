/* OTLP/JSON request decoding: the core tokenizer (core/json.h) yields tokens over the body, and
 * one walker driven by the protobuf-c descriptors fills the same generated structs the protobuf
 * path produces, so everything after decoding is shared. It follows the OTLP/JSON rules and is
 * lenient where real senders differ: keys in lowerCamelCase or snake_case, trace/span ids in hex
 * (base64 accepted too), enums as numbers or names, 64-bit integers as numbers or strings. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "core/json.h"
#include "core/mem.h"
#include "otlp.h"
#include "otlp_pb.h"

#define TRAIL_MAX 24

typedef struct {
    const char *s;
    const pt_json_tok_t *t;
    pt_arena_t *a;
    char msg[160]; /* what went wrong at the leaf */
    /* The path to the error, innermost first, filled while unwinding. */
    struct {
        const char *name;
        int index; /* -1: a field, else an array element */
    } trail[TRAIL_MAX];
    int ntrail;
} jctx_t;

static int jfail(jctx_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int jfail(jctx_t *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->msg, sizeof(c->msg), fmt, ap);
    va_end(ap);
    return -EINVAL;
}

static void trail(jctx_t *c, const char *name, int index)
{
    if (c->ntrail < TRAIL_MAX) {
        c->trail[c->ntrail].name = name;
        c->trail[c->ntrail].index = index;
        c->ntrail++;
    }
}

/* proto field name "dropped_attributes_count" -> JSON name "droppedAttributesCount", for the
 * error path. */
static void camel(const char *snake, char *out, size_t len)
{
    size_t k = 0;
    int up = 0;
    for (const char *p = snake; *p != '\0' && k + 1 < len; p++) {
        if (*p == '_') {
            up = 1;
            continue;
        }
        out[k++] = up ? (char)toupper((unsigned char)*p) : *p;
        up = 0;
    }
    out[k] = '\0';
}

static const char *tok_type_name(uint8_t type)
{
    switch (type) {
    case PT_JSON_OBJECT:
        return "an object";
    case PT_JSON_ARRAY:
        return "an array";
    case PT_JSON_STRING:
        return "a string";
    case PT_JSON_NUMBER:
        return "a number";
    case PT_JSON_TRUE:
    case PT_JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}

/* Key `k` (raw, unescaped) names proto field `name` when both spell the same letters ignoring
 * case and underscores: "traceId", "trace_id" and "TraceId" all name trace_id. */
static int key_names(const char *k, size_t klen, const char *name)
{
    size_t i = 0;
    const char *p = name;
    for (;;) {
        while (i < klen && k[i] == '_') {
            i++;
        }
        while (*p == '_') {
            p++;
        }
        if (i == klen || *p == '\0') {
            return i == klen && *p == '\0';
        }
        if (tolower((unsigned char)k[i]) != tolower((unsigned char)*p)) {
            return 0;
        }
        i++;
        p++;
    }
}

static const ProtobufCFieldDescriptor *find_field(const ProtobufCMessageDescriptor *d,
                                                  const char *k, size_t klen)
{
    for (unsigned i = 0; i < d->n_fields; i++) {
        if (key_names(k, klen, d->fields[i].name)) {
            return &d->fields[i];
        }
    }
    return NULL;
}

/* The text of a string token, unescaped when needed, in a scratch buffer of the caller
 * (truncated views are never used: callers pass buffers sized for the values they accept). */
static int tok_text(jctx_t *c, const pt_json_tok_t *t, char *buf, size_t cap, pt_str_t *out)
{
    if (!t->escaped) {
        *out = pt_str(c->s + t->start, t->len);
        return 0;
    }
    if (t->len > cap) {
        return -E2BIG;
    }
    int n = pt_json_unescape(c->s + t->start, t->len, buf);
    if (n < 0) {
        return n;
    }
    *out = pt_str(buf, (size_t)n);
    return 0;
}

/* ====================================================================== scalars ========== */

static int parse_int_text(pt_str_t s, int allow_neg, uint64_t *mag, int *neg)
{
    size_t i = 0;
    uint64_t v = 0;
    *neg = 0;
    if (s.len > 0 && s.ptr[0] == '-') {
        if (!allow_neg) {
            return -ERANGE;
        }
        *neg = 1;
        i = 1;
    }
    if (i == s.len) {
        return -EINVAL;
    }
    for (; i < s.len; i++) {
        char ch = s.ptr[i];
        if (ch < '0' || ch > '9') {
            /* "12.0" and "1e3" are integers written as decimals: accept exact ones. */
            char buf[64];
            char *end;
            if (s.len >= sizeof(buf)) {
                return -EINVAL;
            }
            memcpy(buf, s.ptr, s.len);
            buf[s.len] = '\0';
            double d = strtod(buf, &end);
            if (*end != '\0' || d != floor(d) || fabs(d) >= 18446744073709551616.0) {
                return -EINVAL;
            }
            *neg = d < 0;
            if (*neg && !allow_neg) {
                return -ERANGE;
            }
            *mag = (uint64_t)fabs(d);
            return 0;
        }
        if (v > (UINT64_MAX - (uint64_t)(ch - '0')) / 10) {
            return -ERANGE;
        }
        v = v * 10 + (uint64_t)(ch - '0');
    }
    *mag = v;
    return 0;
}

/* An integer given as a JSON number or a string. */
static int j_int(jctx_t *c, const pt_json_tok_t *t, int is_signed, int64_t min, uint64_t max,
                 void *out, size_t size)
{
    char buf[64];
    pt_str_t s = PT_STR_NULL;
    uint64_t mag;
    int neg;

    if (t->type != PT_JSON_NUMBER && t->type != PT_JSON_STRING) {
        return jfail(c, "expected an integer, got %s", tok_type_name(t->type));
    }
    if (tok_text(c, t, buf, sizeof(buf), &s) != 0 || parse_int_text(s, is_signed, &mag, &neg)) {
        return jfail(c, "invalid integer '%.*s'", (int)PT_MIN(s.len, 40u), s.ptr);
    }
    if (is_signed) {
        int64_t v;
        if (neg ? mag > (uint64_t)INT64_MAX + 1 : mag > (uint64_t)INT64_MAX) {
            return jfail(c, "integer '%.*s' out of range", (int)PT_MIN(s.len, 40u), s.ptr);
        }
        v = neg ? (int64_t)(0 - mag) : (int64_t)mag;
        if (v < min || (v > 0 && (uint64_t)v > max)) {
            return jfail(c, "integer '%.*s' out of range", (int)PT_MIN(s.len, 40u), s.ptr);
        }
        if (size == 4) {
            int32_t v32 = (int32_t)v;
            memcpy(out, &v32, 4);
        } else {
            memcpy(out, &v, 8);
        }
    } else {
        if (mag > max) {
            return jfail(c, "integer '%.*s' out of range", (int)PT_MIN(s.len, 40u), s.ptr);
        }
        if (size == 4) {
            uint32_t v32 = (uint32_t)mag;
            memcpy(out, &v32, 4);
        } else {
            memcpy(out, &mag, 8);
        }
    }
    return 0;
}

static int j_double(jctx_t *c, const pt_json_tok_t *t, double *out)
{
    char buf[64];
    char *end;
    pt_str_t s;

    if (t->type != PT_JSON_NUMBER && t->type != PT_JSON_STRING) {
        return jfail(c, "expected a number, got %s", tok_type_name(t->type));
    }
    if (tok_text(c, t, buf, sizeof(buf) - 1, &s) != 0 || s.len >= sizeof(buf) || s.len == 0) {
        return jfail(c, "invalid number");
    }
    if (t->type == PT_JSON_STRING) {
        if (pt_str_eq_c(s, "NaN")) {
            *out = NAN;
            return 0;
        }
        if (pt_str_eq_c(s, "Infinity")) {
            *out = INFINITY;
            return 0;
        }
        if (pt_str_eq_c(s, "-Infinity")) {
            *out = -INFINITY;
            return 0;
        }
    }
    if (s.ptr != buf) {
        memcpy(buf, s.ptr, s.len);
    }
    buf[s.len] = '\0';
    *out = strtod(buf, &end);
    if (*end != '\0' || isspace((unsigned char)buf[0])) {
        return jfail(c, "invalid number '%.*s'", (int)PT_MIN(s.len, 40u), s.ptr);
    }
    return 0;
}

static int j_enum(jctx_t *c, const pt_json_tok_t *t, const ProtobufCEnumDescriptor *ed, int *out)
{
    if (t->type == PT_JSON_NUMBER) {
        int64_t v;
        if (j_int(c, t, 1, INT32_MIN, INT32_MAX, &v, 8) != 0) {
            return -EINVAL;
        }
        /* proto3 enums are open: an unknown number is kept as it is. */
        *out = (int)v;
        return 0;
    }
    if (t->type == PT_JSON_STRING) {
        char name[128];
        pt_str_t s;
        if (tok_text(c, t, name, sizeof(name) - 1, &s) != 0 || s.len >= sizeof(name)) {
            return jfail(c, "unknown %s value", ed->short_name);
        }
        if (s.ptr != name) {
            memcpy(name, s.ptr, s.len);
        }
        name[s.len] = '\0';
        const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value_by_name(ed, name);
        if (ev == NULL) {
            /* Some senders write the number as a string. */
            uint64_t mag;
            int neg;
            if (parse_int_text(s, 1, &mag, &neg) == 0 && mag <= INT32_MAX) {
                *out = neg ? -(int)mag : (int)mag;
                return 0;
            }
            return jfail(c, "unknown %s value '%.*s'", ed->short_name, (int)PT_MIN(s.len, 40u),
                         s.ptr);
        }
        *out = ev->value;
        return 0;
    }
    return jfail(c, "expected an enum name or number, got %s", tok_type_name(t->type));
}

static int copy_str(jctx_t *c, const pt_json_tok_t *t, char **out, size_t *outlen)
{
    char *p = pt_arena_alloc(c->a, (size_t)t->len + 1);
    int n = (int)t->len;
    if (p == NULL) {
        return -ENOMEM;
    }
    if (t->escaped) {
        n = pt_json_unescape(c->s + t->start, t->len, p);
        if (n < 0) {
            return jfail(c, "invalid string escape");
        }
    } else {
        memcpy(p, c->s + t->start, t->len);
    }
    p[n] = '\0';
    *out = p;
    if (outlen != NULL) {
        *outlen = (size_t)n;
    }
    return 0;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9') {
        return ch - '0';
    }
    if (ch >= 'a' && ch <= 'f') {
        return ch - 'a' + 10;
    }
    if (ch >= 'A' && ch <= 'F') {
        return ch - 'A' + 10;
    }
    return -1;
}

/* bytes: ids ("trace_id", "span_id", "parent_span_id") are hex in OTLP/JSON; other bytes are
 * base64 as proto3 JSON has it. Each accepts the other form when its own does not fit. */
static int j_bytes(jctx_t *c, const pt_json_tok_t *t, const char *fname, ProtobufCBinaryData *out)
{
    size_t flen = strlen(fname);
    int is_id = flen >= 3 && strcmp(fname + flen - 3, "_id") == 0;
    char *text = NULL; /* set by copy_str; GCC -O2 cannot see it */
    size_t len = 0;
    int rc;

    if (t->type != PT_JSON_STRING) {
        return jfail(c, "expected a string, got %s", tok_type_name(t->type));
    }
    if ((rc = copy_str(c, t, &text, &len)) != 0) {
        return rc;
    }
    out->data = pt_arena_alloc(c->a, len / 2 + len + 1);
    if (out->data == NULL) {
        return -ENOMEM;
    }
    if (is_id && len % 2 == 0) {
        size_t i;
        for (i = 0; i < len; i += 2) {
            int hi = hexval(text[i]);
            int lo = hexval(text[i + 1]);
            if (hi < 0 || lo < 0) {
                break;
            }
            out->data[i / 2] = (uint8_t)(hi << 4 | lo);
        }
        if (i == len) {
            out->len = len / 2;
            return 0;
        }
    }
    long n = pt_otlp_b64_decode(text, len, out->data);
    if (n < 0) {
        return jfail(c, is_id ? "invalid id '%.*s' (expected hex)" : "invalid base64 '%.*s'",
                     (int)PT_MIN(len, 48u), text);
    }
    out->len = (size_t)n;
    return 0;
}

/* ====================================================================== walker =========== */

static int j_message(jctx_t *c, int i, const ProtobufCMessageDescriptor *d, ProtobufCMessage **out);

static size_t elem_size(ProtobufCType type)
{
    switch (type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
    case PROTOBUF_C_TYPE_ENUM:
        return 4;
    case PROTOBUF_C_TYPE_BOOL:
        return sizeof(protobuf_c_boolean);
    case PROTOBUF_C_TYPE_STRING:
        return sizeof(char *);
    case PROTOBUF_C_TYPE_BYTES:
        return sizeof(ProtobufCBinaryData);
    case PROTOBUF_C_TYPE_MESSAGE:
        return sizeof(ProtobufCMessage *);
    default:
        return 8;
    }
}

/* One value of field f at token i, stored at dst. */
static int j_value(jctx_t *c, int i, const ProtobufCFieldDescriptor *f, void *dst)
{
    const pt_json_tok_t *t = &c->t[i];
    switch (f->type) {
    case PROTOBUF_C_TYPE_INT32:
    case PROTOBUF_C_TYPE_SINT32:
    case PROTOBUF_C_TYPE_SFIXED32:
        return j_int(c, t, 1, INT32_MIN, INT32_MAX, dst, 4);
    case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_FIXED32:
        return j_int(c, t, 0, 0, UINT32_MAX, dst, 4);
    case PROTOBUF_C_TYPE_INT64:
    case PROTOBUF_C_TYPE_SINT64:
    case PROTOBUF_C_TYPE_SFIXED64:
        return j_int(c, t, 1, INT64_MIN, INT64_MAX, dst, 8);
    case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_FIXED64:
        return j_int(c, t, 0, 0, UINT64_MAX, dst, 8);
    case PROTOBUF_C_TYPE_FLOAT: {
        double d;
        int rc = j_double(c, t, &d);
        float fl = (float)d;
        if (rc == 0) {
            memcpy(dst, &fl, 4);
        }
        return rc;
    }
    case PROTOBUF_C_TYPE_DOUBLE:
        return j_double(c, t, dst);
    case PROTOBUF_C_TYPE_BOOL:
        if (t->type != PT_JSON_TRUE && t->type != PT_JSON_FALSE) {
            return jfail(c, "expected a boolean, got %s", tok_type_name(t->type));
        }
        *(protobuf_c_boolean *)dst = t->type == PT_JSON_TRUE;
        return 0;
    case PROTOBUF_C_TYPE_ENUM: {
        int v = 0;
        int rc = j_enum(c, t, f->descriptor, &v);
        if (rc == 0) {
            memcpy(dst, &v, 4);
        }
        return rc;
    }
    case PROTOBUF_C_TYPE_STRING:
        if (t->type != PT_JSON_STRING) {
            return jfail(c, "expected a string, got %s", tok_type_name(t->type));
        }
        return copy_str(c, t, dst, NULL);
    case PROTOBUF_C_TYPE_BYTES:
        return j_bytes(c, t, f->name, dst);
    case PROTOBUF_C_TYPE_MESSAGE:
        return j_message(c, i, f->descriptor, dst);
    default:
        return jfail(c, "unsupported field type");
    }
}

static int j_field(jctx_t *c, int v, const ProtobufCFieldDescriptor *f, ProtobufCMessage *m)
{
    const pt_json_tok_t *t = &c->t[v];
    char *base = (char *)m;
    int rc;

    if (t->type == PT_JSON_NULL) {
        return 0; /* null is the default */
    }
    if (f->label == PROTOBUF_C_LABEL_REPEATED) {
        size_t es = elem_size(f->type);
        size_t n = t->size;
        char *arr;
        int k = v + 1;
        if (t->type != PT_JSON_ARRAY) {
            return jfail(c, "expected an array, got %s", tok_type_name(t->type));
        }
        arr = n > 0 ? pt_arena_alloc(c->a, es * n) : NULL;
        if (n > 0 && arr == NULL) {
            return -ENOMEM;
        }
        for (size_t e = 0; e < n; e++) {
            if ((rc = j_value(c, k, f, arr + e * es)) != 0) {
                trail(c, NULL, (int)e);
                return rc;
            }
            k += (int)c->t[k].skip;
        }
        *(size_t *)(base + f->quantifier_offset) = n;
        *(void **)(base + f->offset) = arr;
        return 0;
    }
    if ((rc = j_value(c, v, f, base + f->offset)) != 0) {
        return rc;
    }
    if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
        *(uint32_t *)(base + f->quantifier_offset) = f->id;
    }
    return 0;
}

static int j_message(jctx_t *c, int i, const ProtobufCMessageDescriptor *d, ProtobufCMessage **out)
{
    const pt_json_tok_t *t = &c->t[i];
    ProtobufCMessage *m;
    int k;
    int end;

    if (t->type != PT_JSON_OBJECT) {
        return jfail(c, "expected an object, got %s", tok_type_name(t->type));
    }
    m = pt_arena_alloc(c->a, d->sizeof_message);
    if (m == NULL) {
        return -ENOMEM;
    }
    d->message_init(m);
    end = i + (int)t->skip;
    k = i + 1;
    while (k < end) {
        const pt_json_tok_t *key = &c->t[k];
        const ProtobufCFieldDescriptor *f;
        char kbuf[128];
        pt_str_t ks;
        int v = k + 1;

        if (tok_text(c, key, kbuf, sizeof(kbuf), &ks) == 0 &&
            (f = find_field(d, ks.ptr, ks.len)) != NULL) {
            int rc = j_field(c, v, f, m);
            if (rc != 0) {
                trail(c, f->name, -1);
                return rc;
            }
        }
        /* Unknown keys are skipped, as OTLP/JSON receivers must. */
        k = v + (int)c->t[v].skip;
    }
    *out = m;
    return 0;
}

static void format_error(const jctx_t *c, char *err, size_t errlen)
{
    size_t k = 0;
    err[0] = '\0';
    for (int i = c->ntrail - 1; i >= 0 && k < errlen; i--) {
        int n;
        if (c->trail[i].name != NULL) {
            char name[64];
            camel(c->trail[i].name, name, sizeof(name));
            n = snprintf(err + k, errlen - k, "%s%s", k > 0 ? "." : "", name);
        } else {
            n = snprintf(err + k, errlen - k, "[%d]", c->trail[i].index);
        }
        if (n < 0) {
            break;
        }
        k += (size_t)n;
    }
    if (k < errlen) {
        snprintf(err + k, errlen - k, "%s%s", k > 0 ? ": " : "", c->msg);
    }
}

int pt_otlp_decode_json(int signal, pt_arena_t *a, const char *data, size_t len,
                        ProtobufCMessage **msg, char *err, size_t errlen)
{
    const ProtobufCMessageDescriptor *d = pt_otlp_request_descriptor(signal);
    pt_json_tok_t *toks = NULL;
    size_t max;
    size_t off = 0;
    jctx_t c;
    int n;
    int rc;

    if (d == NULL) {
        snprintf(err, errlen, "unknown signal");
        return -EINVAL;
    }
    /* OTLP/JSON runs about one token per 8 bytes; retry with room for the worst case. */
    max = len / 6 + 16;
    for (;;) {
        pt_free(toks);
        toks = pt_malloc(max * sizeof(*toks));
        if (toks == NULL) {
            return -ENOMEM;
        }
        n = pt_json_tokenize(data, len, toks, max, &off);
        if (n != -ENOSPC || max >= len + 1) {
            break;
        }
        max = PT_MIN(max * 2, len + 1);
    }
    if (n < 0) {
        pt_free(toks);
        snprintf(err, errlen, "invalid JSON at byte %zu", off);
        return -EINVAL;
    }
    memset(&c, 0, sizeof(c));
    c.s = data;
    c.t = toks;
    c.a = a;
    rc = j_message(&c, 0, d, msg);
    pt_free(toks);
    if (rc == -EINVAL) {
        format_error(&c, err, errlen);
    } else if (rc == -ENOMEM) {
        snprintf(err, errlen, "out of memory");
    }
    return rc;
}
