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

typedef struct pt_metric_ext_s {
    pt_str_t name;
    uint8_t mtype; /* 0 gauge, 1 counter(sum), 2 histogram, 3 exp-histogram, 4 summary */
    double value;
} pt_metric_ext_t;

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
    void *ext;          /* METRIC: pt_metric_ext_t, SPAN: pt_span_ext_t */
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
    uint32_t reserved;
};

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
