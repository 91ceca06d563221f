/* The plugin interface. One const descriptor per plugin: name, kind, config map, and hooks
 * split by time: create (parse and validate, no I/O), start (on its loop), stop, destroy.
 * Plugins include this header, core/event.h, core/ack.h, core/log.h and config/cfgmap.h; never
 * the *_internal.h files. */
#ifndef PT_PLUGIN_H
#define PT_PLUGIN_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "ack.h"
#include "common.h"
#include "config/cfgmap.h"
#include "event.h"
#include "metrics.h"
#include "str.h"

typedef enum {
    PT_PLUGIN_INPUT = 0,
    PT_PLUGIN_PROCESSOR,
    PT_PLUGIN_AGGREGATOR,
    PT_PLUGIN_FLUSHER,
} pt_plugin_kind_t;

typedef struct pt_plugin_s pt_plugin_t;
typedef struct pt_plugin_inst_s pt_plugin_inst_t;
typedef struct pt_pipeline_s pt_pipeline_t;
typedef struct pt_payload_s pt_payload_t;
typedef struct pt_batch_s pt_batch_t;

/* Per-instance counters every plugin gets, registered as petrel_plugin_* series. */
typedef struct pt_plugin_metrics_s {
    pt_counter_t *events_in;
    pt_counter_t *events_out;
    pt_counter_t *events_dropped;
    pt_counter_t *bytes_in;
    pt_counter_t *bytes_out;
    pt_counter_t *errors;
} pt_plugin_metrics_t;

/* A flusher's `Match` (LoongCollector's router): which groups it takes. */
typedef struct pt_match_s {
    int kind;       /* 0: everything; 1: event type; 2: group tag key == value */
    int event_type; /* kind 1: PT_EVENT_LOG (also raw lines), PT_EVENT_METRIC or PT_EVENT_SPAN */
    char *key;      /* kind 2 */
    char *value;
} pt_match_t;

/* A plugin instance inside a pipeline. Created by the pipeline builder; the plugin owns only
 * `state`. `config` points to a struct of plugin->config_size bytes filled from the config map
 * before create() runs, and freed by the core after destroy(). */
struct pt_plugin_inst_s {
    const pt_plugin_t *plugin;
    pt_pipeline_t *pipeline;
    void *config;
    void *state;
    char *id;    /* "pipeline/plugin" for log prefixes; "pipeline/plugin#2" when repeated */
    int index;   /* position among the pipeline's plugins of the same kind */
    int line;    /* config line of this plugin, for messages */
    pt_plugin_metrics_t m;
    pt_match_t match; /* flushers only */
};

/* What the core tells a plugin at create() time. */
typedef struct pt_plugin_env_s {
    const char *data_dir; /* agent data dir (exists) */
    int oneshot;          /* read inputs to their end, then stop */
} pt_plugin_env_t;

/* A batch handed to a flusher's serialize(): whole groups, in order. Read-only. */
struct pt_batch_s {
    pt_group_t **groups;
    uint32_t ngroups;
    uint32_t nevents; /* live events */
    uint64_t bytes;
    uint32_t route;
};

/* A serialized request for one flusher. Created by the core, filled by serialize() on a worker,
 * sent by send() on the sender loop, completed by pt_payload_done() (exactly once). */
struct pt_payload_s {
    pt_buf_t data;
    uint32_t nevents;
    uint32_t route;
    pt_plugin_inst_t *flusher;
    pt_ack_t **acks;
    uint32_t nacks;
    uint32_t capacks;
    uint64_t enqueued_ns;
    void *user; /* flusher's own per-request state */
    pt_payload_t *next;
    /* Set by send() before completing with PT_RETRY / a permanent error (delivery layer). */
    uint32_t retry_after_ms; /* the destination's Retry-After, 0 if none */
    uint8_t throttled;       /* the destination asked to slow down (429, 503, RESOURCE_EXHAUSTED) */
    char reason[120];        /* why it failed, for logs and the dead-letter index */
    /* Owned by the delivery layer. */
    uint8_t from_spool;     /* re-read from the spool: no acks, the spool record is the truth */
    uint8_t acks_released;  /* the data is in the spool; acks were already released */
    uint8_t mem_counted;    /* its bytes count against the flusher's in-memory cap */
    uint64_t spool_seg;
    uint64_t spool_off;
    uint32_t spool_idx;
    uint32_t attempts;
};

/* Delivery options of network flushers: spool, retries, concurrency. A flusher that sets
 * delivery_offset in its descriptor embeds this struct in its config (its map includes
 * PT_DELIVERY_CONFIG_FIELDS) and gets the spool, backoff and dead-letter handling of
 * core/delivery.c: its send() then completes with 0, PT_RETRY or a permanent error. */
typedef struct pt_delivery_conf_s {
    char *spool_mode;   /* on_failure | always */
    int64_t spool_max_bytes;
    char *spool_fsync;  /* batch | interval */
    int drop_oldest;
    int64_t retry_initial_ms;
    int64_t retry_max_ms;
    int64_t concurrency;
    int64_t batch_min_cnt;   /* 0: the pipeline's aggregator decides */
    int64_t batch_min_bytes;
    int64_t batch_timeout_secs;
    int64_t batch_max_bytes; /* 0: no cap besides the send threshold */
} pt_delivery_conf_t;

#define PT_DELIVERY_CONFIG_FIELDS(type, member)                                                \
    {"Spool", PT_CFG_SECTION, NULL, 0, 0, NULL, 0, 0, NULL, "Disk buffer of this flusher"},    \
    {"Spool.Mode", PT_CFG_STRING, "on_failure", 0, 0, "on_failure|always", 0,                   \
     offsetof(type, member.spool_mode), NULL,                                                   \
     "on_failure: spool when a send fails, while the destination backs off and at shutdown; "   \
     "always: write ahead, acknowledge once spooled"},                                          \
    {"Spool.MaxBytes", PT_CFG_INT, "268435456", 1048576, 1099511627776.0, NULL, PT_CFG_BOUNDED, \
     offsetof(type, member.spool_max_bytes), NULL,                                              \
     "Spool size cap; at the cap intake is held back (inputs pause, OTLP answers 503)"},        \
    {"Spool.Fsync", PT_CFG_STRING, "batch", 0, 0, "batch|interval", 0,                          \
     offsetof(type, member.spool_fsync), NULL,                                                  \
     "batch: fsync before acknowledging; interval: fsync at most every 500 ms"},                \
    {"Spool.DropOldest", PT_CFG_BOOL, "false", 0, 0, NULL, 0, offsetof(type, member.drop_oldest), \
     NULL, "At the cap, delete the oldest spooled data instead of holding intake (loss)"},      \
    {"Retry", PT_CFG_SECTION, NULL, 0, 0, NULL, 0, 0, NULL, "Retry backoff"},                  \
    {"Retry.InitialDelayMs", PT_CFG_INT, "1000", 1, 3600000, NULL, PT_CFG_BOUNDED,              \
     offsetof(type, member.retry_initial_ms), NULL,                                             \
     "First backoff delay; doubles per failure, with full jitter"},                             \
    {"Retry.MaxDelayMs", PT_CFG_INT, "30000", 1, 3600000, NULL, PT_CFG_BOUNDED,                 \
     offsetof(type, member.retry_max_ms), NULL, "Backoff cap"},                                 \
    {"Concurrency", PT_CFG_INT, "4", 1, 256, NULL, PT_CFG_BOUNDED,                              \
     offsetof(type, member.concurrency), NULL,                                                  \
     "Most requests in flight; adapts down on throttling and back up on success"},              \
    {"Batch", PT_CFG_SECTION, NULL, 0, 0, NULL, 0, 0, NULL, "Request size"},                   \
    {"Batch.MinCnt", PT_CFG_INT, "0", 0, 1000000, NULL, PT_CFG_BOUNDED,                         \
     offsetof(type, member.batch_min_cnt), NULL,                                                \
     "Send once a batch holds this many events (0: the aggregator's MaxLogCount)"},             \
    {"Batch.MinSizeBytes", PT_CFG_INT, "0", 0, 268435456, NULL, PT_CFG_BOUNDED,                 \
     offsetof(type, member.batch_min_bytes), NULL,                                              \
     "Send once a batch holds this many input bytes (0: the aggregator's MaxSizeBytes)"},       \
    {"Batch.TimeoutSecs", PT_CFG_INT, "0", 0, 3600, NULL, PT_CFG_BOUNDED,                       \
     offsetof(type, member.batch_timeout_secs), NULL,                                           \
     "Send a batch at the latest this long after its first event (0: the aggregator's)"},     \
    {"Batch.MaxSizeBytes", PT_CFG_INT, "0", 0, 268435456, NULL, PT_CFG_BOUNDED,                 \
     offsetof(type, member.batch_max_bytes), NULL,                                              \
     "A batch never grows past this many input bytes: a group that would take it over starts "  \
     "a new batch (one group larger than this is sent alone). It counts input bytes (a request "  \
     "may be larger after serialization) and applies to the whole pipeline. 0: no cap."}

struct pt_plugin_s {
    const char *name;
    pt_plugin_kind_t kind;
    const char *description;
    const pt_cfg_field_t *config_map;
    size_t config_n;
    size_t config_size;

    /* Validate inst->config and set inst->state. No I/O beyond checks (e.g. compiling a regex).
     * Report problems through pt_cfg_error(d, inst->line, key, ...) and return -EINVAL. */
    int (*create)(pt_plugin_inst_t *inst, const pt_plugin_env_t *env, pt_cfg_diag_t *d);
    /* Inputs: on the input loop. Flushers: on the sender loop. Others: never called. */
    int (*start)(pt_plugin_inst_t *inst, uv_loop_t *loop);
    /* Inputs: stop intake (input loop); in-flight acks may still arrive afterwards and must be
     * handled until destroy. Flushers: on the sender loop, after the last payload completed. */
    void (*stop)(pt_plugin_inst_t *inst);
    /* Frees state. Main/input thread, after stop and after every ack came back. */
    void (*destroy)(pt_plugin_inst_t *inst);

    /* Inputs. */
    void (*resume)(pt_plugin_inst_t *inst); /* backpressure lifted: push again (input loop) */
    int (*finished)(pt_plugin_inst_t *inst); /* oneshot: 1 when everything was read */
    void (*flush_state)(pt_plugin_inst_t *inst); /* write checkpoints now (input loop) */

    /* Processors (worker thread). Modify the group in place: flag events DROPPED, add fields,
     * allocate new values in g->arena. Return 0, or a negative errno to drop the whole group
     * (counted). One instance may run on several workers at once for different groups: keep
     * per-call state on the stack or in per-worker storage. */
    int (*process)(pt_plugin_inst_t *inst, pt_group_t *g);

    /* Aggregators (worker thread): return the route of a group; batches never mix routes. */
    uint32_t (*route)(pt_plugin_inst_t *inst, const pt_group_t *g);

    /* Flushers. serialize runs on a worker and appends the request bytes to p->data; return 0,
     * PT_DECLINED to skip this batch (nothing to send: counts as delivered), or -errno (counted
     * as dropped). send runs on the sender loop and must end in pt_payload_done(p, status),
     * synchronously or later on that loop. */
    int (*serialize)(pt_plugin_inst_t *inst, const pt_batch_t *b, pt_payload_t *p);
    int (*send)(pt_plugin_inst_t *inst, pt_payload_t *p);
    /* Network flushers: offsetof(config struct, its pt_delivery_conf_t) + 1; 0 for none. */
    size_t delivery_offset;
};

/* Every aggregator's config struct starts with this: the batch limits the core applies. */
typedef struct pt_batch_conf_s {
    int64_t max_events;
    int64_t max_bytes;
    int64_t timeout_ms;
    int group_by_tags; /* one batch per tag set */
} pt_batch_conf_t;

/* The config-map entries of pt_batch_conf_t, for every aggregator's map. */
#define PT_BATCH_CONFIG_FIELDS(type, member)                                                   \
    {"MaxLogCount", PT_CFG_INT, "4096", 1, 1000000, NULL, PT_CFG_BOUNDED,                       \
     offsetof(type, member.max_events), NULL, "A batch is sent once it holds this many events"}, \
    {"MaxSizeBytes", PT_CFG_INT, "1048576", 1024, 268435456, NULL, PT_CFG_BOUNDED,              \
     offsetof(type, member.max_bytes), NULL,                                                    \
     "A batch is sent once its input bytes reach this size"},                                   \
    {"TimeoutMs", PT_CFG_INT, "1000", 0, 3600000, NULL, PT_CFG_BOUNDED,                         \
     offsetof(type, member.timeout_ms), NULL,                                                   \
     "A batch is sent at the latest this long after its first event"},                          \
    {"GroupByTags", PT_CFG_BOOL, "true", 0, 0, NULL, 0, offsetof(type, member.group_by_tags),   \
     NULL,                                                                                      \
     "One batch per tag set, so that each request carries one source's tags (file path, "       \
     "resource attributes, pod metadata), as LoongCollector's batcher; false mixes sources in "  \
     "a batch for fewer, larger requests"}

/* ---- services for plugins ---------------------------------------------------------------- */

/* Inputs: hands a group to the pipeline (input loop). Returns 0 when taken (the pipeline owns
 * the group and its ack from then on), PT_AGAIN when the process queue is above its high
 * watermark (the caller keeps the group, stops reading, and waits for its resume hook), or a
 * negative errno. */
int pt_pipeline_push(pt_pipeline_t *p, pt_group_t *g);
/* Name of the pipeline (for checkpoints and logs); valid while the pipeline lives. */
const char *pt_pipeline_name(const pt_pipeline_t *p);

/* Flushers: completes a payload on the sender loop. status 0 = delivered; negative = dropped.
 * Releases its acks and frees it. */
void pt_payload_done(pt_payload_t *p, int status);

/* Serializers: all the fields of an event as a JSON object line (LoongCollector's layout:
 * "__time__" seconds, the fields, then "__tag__:<k>" for each group tag), used by file, stdout
 * and HTTP jsonline output. Appends to b; returns 0 or -ENOMEM. */
int pt_event_write_json(pt_buf_t *b, const pt_group_t *g, const pt_event_t *ev);

/* Registers a counter / gauge labelled with this instance's pipeline and plugin. Never NULL: on
 * failure a private dummy is returned (updates still work, nothing is rendered). Release with
 * pt_plugin_counter_free / pt_plugin_gauge_free (NULL and dummies are ignored). */
pt_counter_t *pt_plugin_counter(const pt_plugin_inst_t *inst, const char *name, const char *help);
pt_gauge_t *pt_plugin_gauge(const pt_plugin_inst_t *inst, const char *name, const char *help);
void pt_plugin_counter_free(pt_counter_t *c);
void pt_plugin_gauge_free(pt_gauge_t *g);
/* Same with an explicit label string. */
pt_counter_t *pt_counter_new(const char *name, const char *help, const char *labels);
pt_gauge_t *pt_gauge_new(const char *name, const char *help, const char *labels);

/* 1 when a group passes a flusher's Match (type of its first live event, or a tag). */
int pt_match_group(const pt_match_t *m, const pt_group_t *g);

/* Serializers: every live event of the batch as JSON lines (pt_event_write_json), with or
 * without the group tags. Returns 0 or -ENOMEM. */
int pt_batch_write_jsonl(pt_buf_t *b, const pt_batch_t *batch, int with_tags);
/* write(2) until done, retrying EINTR. Returns 0 or -errno. */
int pt_write_all(int fd, const char *p, size_t n);

/* The registry (core/registry.c, generated from core/plugins.list). */
const pt_plugin_t *pt_plugin_find(const char *name);
/* Known to LoongCollector but not built into petrel yet: returns 1 for such a name. */
int pt_plugin_is_known_unavailable(const char *name);
/* Iterates the registry: returns the i-th plugin or NULL past the end. */
const pt_plugin_t *pt_plugin_at(size_t i);

#endif
