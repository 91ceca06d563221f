/* Private to the core: pipeline, scheduler and sender internals. Plugins never include this. */
#ifndef PT_PIPELINE_INTERNAL_H
#define PT_PIPELINE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "config/node.h"
#include "plugin.h"

/* A batch being filled on a shard (core/batcher.c). */
typedef struct pt_open_batch_s {
    pt_batch_t b;
    uint32_t capgroups;
    uint64_t opened_ns;
    uint64_t key;                  /* hash of the route and (GroupByTags) the tags */
    int urgent;                    /* holds a PT_GROUP_F_FLUSH group */
    struct pt_open_batch_s *hnext; /* hash bucket chain */
    struct pt_open_batch_s *prev;  /* open list, oldest first (also the spare list) */
    struct pt_open_batch_s *next;
} pt_open_batch_t;

#define PT_MAX_ROUTES 8

/* A shard of a pipeline's process queue: sources hash to one shard, and one worker at a time
 * holds a shard, which keeps order per source while shards run in parallel. */
typedef struct pt_shard_s {
    pt_pipeline_t *p;
    pt_group_t *head;
    pt_group_t *tail;
    uint32_t nqueued;
    int busy;
    pt_open_batch_t **buckets; /* open batches by key; nbuckets is a power of two */
    uint32_t nbuckets;
    pt_open_batch_t *oldest; /* open batches, each with at least one group, oldest first */
    pt_open_batch_t *newest;
    pt_open_batch_t *spare; /* emitted, kept for reuse */
    uint32_t nopen;
    uint32_t nurgent;    /* open batches holding a PT_GROUP_F_FLUSH group */
    uint64_t open_bytes; /* input bytes held by the open batches */
} pt_shard_t;

/* The open batch for g on route (one per route and, with by_tags, per tag set), opened at now
 * if there is none; NULL when out of memory. Worker holding the shard. */
pt_open_batch_t *pt_batcher_get(pt_shard_t *s, const pt_group_t *g, uint32_t route, int by_tags,
                                uint64_t now);
/* Adds g (live events) to ob. 0 or -ENOMEM (g is not added). */
int pt_batcher_append(pt_shard_t *s, pt_open_batch_t *ob, pt_group_t *g, uint32_t live);
/* Takes an emitted (or emptied) batch off the shard and keeps it for reuse. */
void pt_batcher_retire(pt_shard_t *s, pt_open_batch_t *ob);
/* Frees the shard's batches; the open ones must hold no group any more. */
void pt_batcher_free(pt_shard_t *s);

typedef struct pt_delivery_s pt_delivery_t;

/* Per-flusher sender accounting. */
typedef struct pt_flusher_rt_s {
    atomic_uint_fast64_t inflight_bytes;
    uint64_t cap_bytes;
    pt_delivery_t *dl; /* spool + retries (network flushers); sender loop only */
    atomic_int spool_full; /* the spool is at its cap: hold intake */
    atomic_int busy;       /* the delivery layer holds data (spooled, queued or in flight) */
} pt_flusher_rt_t;

typedef enum {
    PT_PIPE_BUILT = 0,
    PT_PIPE_RUNNING,
    PT_PIPE_STOPPING,
} pt_pipe_state_t;

struct pt_pipeline_s {
    char *name;
    char *file;
    const char *data_dir;
    pt_node_t *tree; /* owns every NODE-typed config value */
    int priority;
    int state;
    uint64_t content_hash;
    pt_buf_t source; /* the config text this version was built from (to restore it) */

    pt_plugin_inst_t *inputs;
    int ninputs;
    pt_plugin_inst_t *processors;
    int nprocessors;
    pt_plugin_inst_t *aggregator; /* exactly one: aggregator_default when none configured */
    pt_plugin_inst_t *flushers;
    int nflushers;
    pt_flusher_rt_t *frt;

    pt_shard_t *shards;
    int nshards;

    /* Batching limits, from the aggregator's config. */
    uint32_t batch_max_events;
    uint64_t batch_max_bytes;
    uint64_t batch_timeout_ns;
    uint64_t batch_hard_max; /* a batch never grows past this (a bigger group goes alone) */
    uint64_t batch_open_cap; /* input bytes all open batches of a shard may hold */
    uint32_t batch_open_max; /* open batches per shard */
    int batch_by_tags;       /* one batch per tag set (GroupByTags) */

    /* Process queue accounting (scheduler lock). */
    uint64_t queued_bytes;
    uint64_t high_watermark;
    uint64_t low_watermark;
    int input_blocked;
    int draining;
    atomic_int sender_blocked;

    /* Input-loop-only counters: groups pushed and groups whose ack came back. */
    uint64_t pushed;
    uint64_t acked;
    uv_async_t *resume_async;

    pt_gauge_t *m_queue_bytes;
    pt_counter_t *m_groups_in;
    pt_counter_t *m_events_dropped;

    pt_pipeline_t *next; /* manager list */
};

/* ---- build & lifecycle (core/pipeline.c) -------------------------------------------------- */

typedef struct pt_pipeline_opts_s {
    const char *data_dir;
    int oneshot;
    int nshards;
    uint64_t high_watermark;
    uint64_t sender_cap;
} pt_pipeline_opts_t;

/* Builds (parse + create every plugin, no I/O) a pipeline from a config file. name is the
 * pipeline name. On failure returns NULL with errors in d. Main/input thread. */
pt_pipeline_t *pt_pipeline_build(const char *file, const char *name, const pt_pipeline_opts_t *o,
                                 pt_cfg_diag_t *d);
/* Same from an already-parsed tree (takes ownership of tree, even on failure). */
pt_pipeline_t *pt_pipeline_build_tree(pt_node_t *tree, const char *file, const char *name,
                                      const pt_pipeline_opts_t *o, pt_cfg_diag_t *d);
/* FNV-1a hash of a config file's bytes (0 if unreadable); appends the bytes to keep when not
 * NULL. Used to tell whether a file changed. */
uint64_t pt_config_file_hash(const char *file, pt_buf_t *keep);
/* 0 when the tree's `enable` is false. */
int pt_pipeline_is_enabled(const pt_node_t *tree);
/* Starts flushers on the sender loop, registers shards, starts inputs on `loop`. */
int pt_pipeline_start(pt_pipeline_t *p, uv_loop_t *loop);
/* Stops every flusher on the sender loop (after its last payload). Input thread. */
void pt_pipeline_stop_flushers(pt_pipeline_t *p);
/* Stops the inputs and asks workers to flush what is batched. Input loop. */
void pt_pipeline_stop_inputs(pt_pipeline_t *p);
/* Asks workers to send open batches now (oneshot end). Any thread. */
void pt_pipeline_flush_batches(pt_pipeline_t *p);
/* 1 when every pushed group was acknowledged. Input loop. */
int pt_pipeline_drained(const pt_pipeline_t *p);
/* 1 when no flusher's delivery layer holds data (spool empty, nothing queued or in flight). */
int pt_pipeline_delivered(const pt_pipeline_t *p);
/* 1 when all inputs report finished (oneshot). */
int pt_pipeline_inputs_finished(pt_pipeline_t *p);
/* Asks inputs to persist their state (checkpoints). Input loop. */
void pt_pipeline_flush_state(pt_pipeline_t *p);
/* Unregisters from the scheduler, stops flushers, destroys plugins, frees. Input loop; call
 * only after stop_inputs (and normally after drained). */
void pt_pipeline_destroy(pt_pipeline_t *p);
/* Called by the ack machinery on the input loop when a group of p has been acknowledged. */
void pt_pipeline_ack_done(pt_pipeline_t *p);

/* Processes one group on a worker (core/pipeline.c). Shard is held by the caller. */
void pt_pipeline_process(pt_shard_t *s, pt_group_t *g);
/* Emits the batches holding a PT_GROUP_F_FLUSH group: the worker calls it when the shard's
 * queue has nothing more for now, so that groups arriving together still share a batch. */
void pt_pipeline_flush_urgent(pt_shard_t *s);
/* Emits open batches of the shard that are due (all when force). Returns the earliest pending
 * deadline (ns, monotonic) or UINT64_MAX. */
uint64_t pt_pipeline_flush_due(pt_shard_t *s, uint64_t now, int force);
/* 1 when a flusher of p is above its sender cap. */
int pt_pipeline_sender_full(pt_pipeline_t *p);

/* Registers / unregisters the standard per-plugin counters (core/plugin_metrics.c). */
void pt_plugin_metrics_init(pt_plugin_inst_t *inst);
void pt_plugin_metrics_free(pt_plugin_inst_t *inst);

/* ---- scheduler (core/scheduler.c) ----------------------------------------------------------- */

int pt_sched_start(int nworkers);
void pt_sched_stop(void);
void pt_sched_add(pt_pipeline_t *p);
/* Waits until no worker holds a shard of p, then forgets p. Its queues must be empty. */
void pt_sched_remove(pt_pipeline_t *p);
int pt_sched_push(pt_pipeline_t *p, pt_group_t *g);
/* Wakes the workers (new work, sender room, draining). Any thread. */
void pt_sched_kick(void);
int pt_sched_nworkers(void);

/* ---- sender thread (core/sender.c) ---------------------------------------------------------- */

int pt_sender_start(void);
void pt_sender_stop(void);
/* Queues a payload for its flusher's send() on the sender loop. Any thread. */
void pt_sender_submit(pt_payload_t *p);
/* Runs fn(arg) on the sender loop and waits for it. Not from the sender thread itself. */
void pt_sender_call(void (*fn)(void *), void *arg);
uv_loop_t *pt_sender_loop(void);

/* ---- delivery: spool, retries, dead letters (core/delivery.c); sender loop only --------- */

int pt_delivery_create(pt_plugin_inst_t *f, pt_flusher_rt_t *rt, uv_loop_t *loop,
                       pt_delivery_t **out);
/* Spools what is still in memory, closes timers; frees itself once they are closed. */
void pt_delivery_destroy(pt_delivery_t *d);
void pt_delivery_submit(pt_delivery_t *d, pt_payload_t *p);
void pt_delivery_done(pt_delivery_t *d, pt_payload_t *p, int status);
/* Shutdown: write every payload held in memory (queued or in flight) to the spool so its acks
 * can be released before the process exits. */
void pt_delivery_spool_all(pt_delivery_t *d);
/* Spools everything of every flusher of p that has a delivery layer (input thread; blocks on a
 * call to the sender loop). */
void pt_pipeline_spool_all(pt_pipeline_t *p);

/* Payload helpers for the delivery layer (core/pipeline.c). */
pt_payload_t *pt_payload_alloc(pt_plugin_inst_t *f);
void pt_payload_release_acks(pt_payload_t *p, int status);
/* Frees a payload that the delivery layer has finished with (acks already released). */
void pt_payload_free(pt_payload_t *p);
/* Memory accounting: the payload's bytes left the flusher's in-memory queue. */
void pt_payload_left_memory(pt_payload_t *p);

/* Frees the object pools' free lists (shutdown). */
void pt_pipeline_pools_purge(void);

/* Frees a payload that never reached the sender (serialize failed or declined): releases its
 * ack references with status. */
void pt_payload_discard(pt_payload_t *p, int status);

#endif
