/* Private to the OTLP encoder (otlp_export*.c): the scratch-arena state and allocation helpers
 * every part of it uses, and the calls that cross its files. Everything is built in e->a and
 * goes at once after packing; an allocation failure sets e->err and is reported by the caller. */
#ifndef PT_OTLP_EXPORT_INTERNAL_H
#define PT_OTLP_EXPORT_INTERNAL_H

#include <errno.h>
#include <string.h>

#include "core/arena.h"
#include "core/event.h"
#include "otlp_pb.h"

typedef struct {
    pt_arena_t *a;
    int err;
} enc_t;

/* An allocation in the scratch arena (never NULL for n == 0); a failure sets e->err. */
static inline void *A(enc_t *e, size_t n)
{
    void *p = pt_arena_alloc(e->a, n ? n : 1);
    if (p == NULL) {
        e->err = -ENOMEM;
    }
    return p;
}

/* A NUL-terminated copy: protobuf-c measures strings with strlen. */
static inline char *S(enc_t *e, pt_str_t s)
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
static inline char *S1(enc_t *e, pt_str_t s)
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

static inline ProtobufCBinaryData bin(enc_t *e, const uint8_t *id, size_t n)
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

/* Appends p to v (growing it in e's arena; on failure e->err is set and p is not added). */
void pt_otlp_vec_push(enc_t *e, vec_t *v, void *p);

/* A value's text (core/event.h rules) back to an AnyValue of its type, in e's arena. */
pb_any_t *pt_otlp_enc_any(enc_t *e, uint8_t type, pt_str_t s);

/* One KeyValue: key, and the value text val of the given type (pt_otlp_enc_any). */
pb_kv_t *pt_otlp_enc_kv(enc_t *e, pt_str_t key, uint8_t type, pt_str_t val);

/* Typed attributes (pt_attr_t) as KeyValues; *nout gets how many. */
pb_kv_t **pt_otlp_enc_attrs(enc_t *e, const pt_attr_t *a, uint32_t n, size_t *nout);

/* The event's fields as KeyValues typed by the hints; the field whose key pointer is skip (the
 * log body) is left out. *nout gets how many. */
pb_kv_t **pt_otlp_enc_fields(enc_t *e, const pt_event_t *ev, const pt_attr_t *hints,
                             uint32_t nhints, const char *skip, size_t *nout);

/* Appends to recs the Metrics of g's live METRIC events (consecutive points of one metric share
 * a Metric); returns the number of data points. */
uint32_t pt_otlp_enc_metrics(enc_t *e, const pt_group_t *g, vec_t *recs);

#endif
