/* Events and event groups: the unit of data that flows through a pipeline.
 * Events live in arrays inside their group's arena and hold views into the bytes that were read.
 * A group is created by an input, owned by the pipeline once pushed, and released (arena unref)
 * after the aggregator and flushers are done with it. Nothing here is thread-safe: a group is
 * touched by one thread at a time (input, then one worker). */
#ifndef PT_EVENT_H
#define PT_EVENT_H

#include <stdint.h>

#include "arena.h"
#include "str.h"

typedef enum {
    PT_EVENT_RAW = 0, /* one line or record in `raw`; fastest path */
    PT_EVENT_LOG,     /* key/value fields */
    PT_EVENT_METRIC,  /* fields are the tags; details in ext */
    PT_EVENT_SPAN,    /* fields are the attributes; details in ext */
} pt_event_type_t;

#define PT_EVENT_F_TRUNCATED 0x1u /* the record was cut at the line-length cap */
#define PT_EVENT_F_DROPPED 0x2u   /* removed by a processor; skipped by everyone after */

typedef struct pt_field_s {
    pt_str_t key;
    pt_str_t val;
} pt_field_t;

/* ---- OTLP details ---------------------------------------------------------------------------
 * Events decoded from OTLP keep every field of the data model. Attributes that processors may
 * see are the event's fields (and resource/scope attributes the group's tags), all as text; the
 * OTLP type of the values that are not strings is kept beside them as a hint (pt_attr_t with the
 * same key and value pointers), so that an OTLP exporter restores it as long as nobody changed
 * the field. Everything lives in the group's arena. */

/* OTLP value types (common.v1.AnyValue) and their text form. */
typedef enum {
    PT_VAL_STRING = 0, /* the string */
    PT_VAL_BOOL,       /* "true" / "false" */
    PT_VAL_INT,        /* decimal */
    PT_VAL_DOUBLE,     /* shortest round-trip decimal; "NaN", "Infinity", "-Infinity" */
    PT_VAL_BYTES,      /* base64 */
    PT_VAL_ARRAY,      /* JSON array; doubles always carry '.' or an exponent */
    PT_VAL_KVLIST,     /* JSON object, same rule */
    PT_VAL_EMPTY,      /* "" (no value set) */
} pt_val_type_t;

/* A typed key/value in text form: attributes that processors never see (span events, links,
 * exemplars, metric metadata), and the type hints of fields and tags. */
typedef struct pt_attr_s {
    pt_str_t key;
    pt_str_t val;
    uint8_t type; /* pt_val_type_t */
} pt_attr_t;

/* The OTLP type of field f: that of the hint with the same key and value views, else
 * PT_VAL_STRING (a field a processor rewrote is text). *cursor (start at 0) remembers where the
 * last hint matched, so walking the fields in order costs one comparison each. Any thread. */
uint8_t pt_field_type(const pt_attr_t *hints, uint32_t nhints, uint32_t *cursor,
                      const pt_field_t *f);

typedef struct pt_exemplar_s {
    uint64_t time_ns;
    double value;
    int64_t int_value;
    uint8_t is_int;
    uint8_t has_trace; /* trace_id/span_id set */
    uint8_t trace_id[16];
    uint8_t span_id[8];
    pt_attr_t *attrs; /* filtered_attributes */
    uint32_t nattrs;
} pt_exemplar_t;

typedef struct pt_quantile_s {
    double quantile;
    double value;
} pt_quantile_t;

/* mtype values. */
#define PT_METRIC_GAUGE 0
#define PT_METRIC_SUM 1
#define PT_METRIC_HISTOGRAM 2
#define PT_METRIC_EXP_HISTOGRAM 3
#define PT_METRIC_SUMMARY 4

/* has flags of pt_metric_ext_t. */
#define PT_METRIC_HAS_SUM 0x1u
#define PT_METRIC_HAS_MIN 0x2u
#define PT_METRIC_HAS_MAX 0x4u
#define PT_METRIC_HAS_VALUE 0x8u /* gauge/sum point carried a value (as_int or as_double) */

/* One data point. The event's fields are the point's attributes. */
typedef struct pt_metric_ext_s {
    pt_str_t name;
    uint8_t mtype; /* 0 gauge, 1 counter(sum), 2 histogram, 3 exp-histogram, 4 summary */
    double value;  /* gauge/sum: the value; histogram/summary: the sum */

    /* OTLP details, valid when `detailed` is set (zero otherwise). */
    uint8_t detailed;
    uint8_t is_int;       /* gauge/sum: the value was as_int (int_value holds it exactly) */
    uint8_t temporality;  /* 0 unspecified, 1 delta, 2 cumulative */
    uint8_t is_monotonic; /* sum */
    uint8_t has;          /* PT_METRIC_HAS_* */
    uint32_t flags;       /* DataPointFlags */
    int64_t int_value;
    pt_str_t description;
    pt_str_t unit;
    uint64_t start_ns;
    uint64_t time_ns; /* time_unix_nano as sent */
    uint64_t count;   /* histogram, exp-histogram, summary */
    double sum, min, max;
    uint64_t *bucket_counts; /* histogram */
    uint32_t nbucket_counts;
    uint32_t nbounds;
    double *bounds;
    int32_t scale; /* exp-histogram */
    int32_t pos_offset;
    int32_t neg_offset;
    uint32_t npos;
    uint32_t nneg;
    uint32_t nquantiles;
    uint64_t *pos_counts;
    uint64_t *neg_counts;
    uint64_t zero_count;
    double zero_threshold;
    pt_quantile_t *quantiles; /* summary */
    pt_exemplar_t *exemplars;
    uint32_t nexemplars;
    uint32_t nmetadata;
    pt_attr_t *metadata; /* Metric.metadata */
    pt_attr_t *hints;    /* types of the fields that are not strings */
    uint32_t nhints;
} pt_metric_ext_t;

typedef struct pt_span_event_s {
    uint64_t time_ns;
    pt_str_t name;
    pt_attr_t *attrs;
    uint32_t nattrs;
    uint32_t dropped_attributes_count;
} pt_span_event_t;

typedef struct pt_span_link_s {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint32_t flags;
    pt_str_t trace_state;
    pt_attr_t *attrs;
    uint32_t nattrs;
    uint32_t dropped_attributes_count;
} pt_span_link_t;

/* A log record. The event's fields are the body (key "content", when the record has a body:
 * the field whose key pointer is body_key) and the attributes. */
typedef struct pt_log_ext_s {
    uint64_t time_ns;     /* time_unix_nano as sent (ev->time_ns falls back to observed) */
    uint64_t observed_ns; /* observed_time_unix_nano */
    uint8_t severity_number;
    uint8_t has_trace; /* trace_id set */
    uint8_t has_span;  /* span_id set */
    uint32_t flags;
    uint32_t dropped_attributes_count;
    uint8_t trace_id[16];
    uint8_t span_id[8];
    pt_str_t severity_text;
    pt_str_t event_name;
    const char *body_key; /* key.ptr of the body field; NULL: no body */
    pt_attr_t *hints;     /* types of the fields that are not strings (the body included) */
    uint32_t nhints;
} pt_log_ext_t;

typedef struct pt_span_ext_s {
    uint8_t trace_id[16];
    uint8_t span_id[8];
    uint8_t parent_span_id[8];
    pt_str_t name;
    uint8_t kind;
    uint8_t status_code;
    pt_str_t status_message;
    uint64_t start_ns;
    uint64_t end_ns;

    /* OTLP details, valid when `detailed` is set (zero otherwise). */
    uint8_t detailed;
    uint8_t has_parent; /* parent_span_id set */
    uint32_t flags;
    pt_str_t trace_state;
    uint32_t dropped_attributes_count;
    uint32_t dropped_events_count;
    uint32_t dropped_links_count;
    uint32_t nevents;
    pt_span_event_t *events;
    pt_span_link_t *links;
    uint32_t nlinks;
    uint32_t nhints;
    pt_attr_t *hints; /* types of the fields that are not strings */
} pt_span_ext_t;

typedef struct pt_event_s {
    uint8_t type;
    uint8_t flags;
    uint16_t reserved;
    uint32_t nfields;
    uint32_t capfields;
    uint32_t reserved2;
    int64_t time_ns;
    pt_str_t raw;       /* RAW: the record, without its line terminator */
    pt_field_t *fields; /* LOG/METRIC/SPAN */
    void *ext;          /* METRIC: pt_metric_ext_t, SPAN: pt_span_ext_t, LOG: NULL or
                         * pt_log_ext_t */
} pt_event_t;

typedef struct pt_ack_s pt_ack_t;
typedef struct pt_group_s pt_group_t;

struct pt_group_s {
    pt_arena_t *arena; /* holds this struct, the events and every view they point to */
    pt_event_t *events;
    uint32_t nevents;
    uint32_t capevents;
    pt_field_t *tags; /* group tags: __path__, resource attributes, k8s metadata */
    uint32_t ntags;
    uint32_t captags;
    uint64_t source;  /* ordering key: one file or one connection keeps its order */
    uint64_t bytes;   /* input bytes, for queue accounting */
    pt_ack_t *ack;    /* may be NULL (nothing to acknowledge) */
    pt_group_t *next; /* queue link, owned by whoever queues the group */
    uint32_t route;   /* set by the aggregator's router */
    uint32_t flags;   /* PT_GROUP_F_* */
    void *ext; /* NULL, or where the group came from: pt_otlp_origin_t (OTLP inputs) */
};

/* Someone waits for this group's ack (a client holding its answer until the data is durable):
 * its batch is sent as soon as the shard's queue has no more groups for now, without waiting
 * for the batch timeout. */
#define PT_GROUP_F_FLUSH 1u

/* OTLP signal of a group (pt_otlp_origin_t.signal). */
#define PT_SIGNAL_LOGS 1
#define PT_SIGNAL_METRICS 2
#define PT_SIGNAL_TRACES 3

/* The resource and scope a group of OTLP events came with (one group per ResourceX/ScopeX).
 * Their attributes are also the group's tags (resource attributes under their own key, the
 * scope's as "otlp.scope.name", "otlp.scope.version" and "otlp.scope.<key>"); the typed
 * originals here are hints in the pt_attr_t sense for those tags. */
typedef struct pt_otlp_origin_s {
    uint8_t signal; /* PT_SIGNAL_* */
    uint32_t resource_dropped_attributes_count;
    uint32_t scope_dropped_attributes_count;
    pt_str_t resource_schema_url;
    pt_str_t scope_schema_url;
    pt_str_t scope_name;
    pt_str_t scope_version;
    pt_attr_t *resource_attrs;
    uint32_t nresource_attrs;
    uint32_t nscope_attrs;
    pt_attr_t *scope_attrs; /* keys as the tags carry them ("otlp.scope.<key>") */
} pt_otlp_origin_t;

/* Creates a group inside `arena`, taking one reference on it. Any thread. NULL on ENOMEM. */
pt_group_t *pt_group_create(pt_arena_t *arena, uint32_t event_hint);
/* Drops the group's arena reference; the group and its views are gone afterwards. Does not
 * touch the ack token (the pipeline does). */
void pt_group_release(pt_group_t *g);

/* Appends an event of `type`, zeroed, time 0. Returns NULL on ENOMEM. The pointer is valid until
 * the next append (the array may be re-allocated in the arena). */
pt_event_t *pt_group_add_event(pt_group_t *g, pt_event_type_t type);
/* Adds or replaces a group tag (views must outlive the group: use constants or arena copies). */
int pt_group_set_tag(pt_group_t *g, pt_str_t key, pt_str_t val);
const pt_str_t *pt_group_get_tag(const pt_group_t *g, pt_str_t key);
/* Number of events not flagged DROPPED. */
uint32_t pt_group_live_events(const pt_group_t *g);

/* Turns a RAW event into a LOG event with the single field {"content": raw}. No-op for LOG. */
int pt_event_to_log(pt_group_t *g, pt_event_t *ev);
/* Field access on LOG/METRIC/SPAN events. get returns NULL when absent. */
const pt_str_t *pt_event_get(const pt_event_t *ev, pt_str_t key);
/* Appends a field without looking for an existing one (parsers that build new events). */
int pt_event_append(pt_group_t *g, pt_event_t *ev, pt_str_t key, pt_str_t val);
/* Replaces the value of an existing key, or appends. */
int pt_event_set(pt_group_t *g, pt_event_t *ev, pt_str_t key, pt_str_t val);
/* Removes a key, keeping the order of the others. Returns 1 if removed, 0 if absent. */
int pt_event_del(pt_event_t *ev, pt_str_t key);

#endif
