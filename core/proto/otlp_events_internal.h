/* Private to the OTLP decoder's event side (otlp_events*.c): the per-request conversion state and
 * the calls its per-signal files share (value text, attributes as fields, one group per
 * ResourceX/ScopeX). Everything allocates in the request arena cv->a. */
#ifndef PT_OTLP_EVENTS_INTERNAL_H
#define PT_OTLP_EVENTS_INTERNAL_H

#include <string.h>

#include "core/arena.h"
#include "core/event.h"
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

/* A resource's typed attributes, loaded once and shared by the groups of its scopes. */
typedef struct {
    pt_attr_t *attrs;
    uint32_t nattrs;
    uint32_t dropped;
    pt_str_t schema_url;
} res_t;

/* A view of a protobuf-c string (NULL reads as ""). */
static inline pt_str_t cstr(const char *s)
{
    return s != NULL ? pt_str(s, strlen(s)) : pt_str("", 0);
}

/* Counts n rejected records; the first one's reason (fmt with what) is kept for the response. */
void pt_otlp_conv_reject(conv_t *cv, uint64_t n, const char *fmt, const char *what);

/* Text and type of an AnyValue (core/event.h rules) in cv's arena. Returns 0 or -ENOMEM. */
int pt_otlp_conv_any(conv_t *cv, const pb_any_t *v, pt_str_t *out, uint8_t *type);

/* Typed copies of key/values (attributes nobody processes: span events, links, exemplars,
 * metadata, and the originals of tags). Returns 0 or -ENOMEM. */
int pt_otlp_conv_typed_attrs(conv_t *cv, pb_kv_t *const *kvs, size_t n, pt_attr_t **out,
                             uint32_t *nout);

/* Sizes the event's field array for n fields and gives a hints array of the same size (NULL
 * when n is 0). Fields are then appended with pt_otlp_conv_field_add. Returns 0 or -ENOMEM. */
int pt_otlp_conv_fields_alloc(conv_t *cv, pt_event_t *ev, size_t n, pt_attr_t **hints);

/* Appends a value as a field, with a hint when it is not a string. */
void pt_otlp_conv_field_add(pt_event_t *ev, pt_str_t key, pt_str_t val, uint8_t type,
                            pt_attr_t *hints, uint32_t *nhints);

/* Appends attributes as fields (with hints). Returns 0 or -ENOMEM. */
int pt_otlp_conv_attrs_to_fields(conv_t *cv, pt_event_t *ev, pt_attr_t *hints, uint32_t *nhints,
                                 pb_kv_t *const *kvs, size_t n);

/* Loads a ResourceX's resource and schema URL into out. Returns 0 or -ENOMEM. */
int pt_otlp_conv_resource_load(conv_t *cv, const pb_resource_t *r, const char *schema_url,
                               res_t *out);

/* A new group for one scope of a resource (tags, pt_otlp_origin_t), registered in the output
 * with room for nrecords events. NULL on allocation failure. */
pt_group_t *pt_otlp_conv_group_open(conv_t *cv, int signal, const res_t *res,
                                    const pb_scope_t *scope, const char *scope_schema_url,
                                    size_t nrecords);

/* Drops a group left without events (every record rejected). */
void pt_otlp_conv_group_close(conv_t *cv, pt_group_t *g);

/* A request of each signal to groups (otlp_events_traces.c, _logs.c, _metrics.c). Return 0 or
 * -ENOMEM. */
int pt_otlp_conv_traces(conv_t *cv, const pb_trace_req_t *req);
int pt_otlp_conv_logs(conv_t *cv, const pb_logs_req_t *req);
int pt_otlp_conv_metrics(conv_t *cv, const pb_metrics_req_t *req);

#endif
