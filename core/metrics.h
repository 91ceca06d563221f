/* Self-metrics registry: counters and gauges that any thread updates with relaxed atomics, and a
 * renderer for the Prometheus text exposition format 0.0.4 that the admin endpoint serves.
 * Registration, unregistration and rendering take one mutex; updates never do. */
#ifndef PT_METRICS_H
#define PT_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

#include "str.h"

/* A counter: a value that only goes up. Handles come from pt_metrics_counter_register; the
 * struct is public only so that the update functions below can be inline. */
typedef struct pt_counter_s {
    _Atomic uint64_t value;
} pt_counter_t;

/* A gauge: a value that goes up and down. Same ownership as pt_counter_t. */
typedef struct pt_gauge_s {
    _Atomic int64_t value;
} pt_gauge_t;

/* A gauge whose value is read from a callback at render time (queue depths, spool bytes). */
typedef struct pt_gauge_fn_s pt_gauge_fn_t;

/* Returns the current value. Called by pt_metrics_render on the rendering thread (normally the
 * input loop, for GET /metrics) with the registry mutex held: it must be thread-safe with respect
 * to whatever it reads (an atomic load is the usual body), must not block, and must not call any
 * pt_metrics_* function. */
typedef int64_t (*pt_metrics_gauge_cb)(void *ud);

/* ---- hot path: any thread, lock-free, no allocation ------------------------------------------
 * Relaxed ordering: a metric is a statistic, not a synchronisation point. The handle must be
 * registered and not yet unregistered. */

static inline void pt_counter_add(pt_counter_t *c, uint64_t n)
{
    atomic_fetch_add_explicit(&c->value, n, memory_order_relaxed);
}

static inline void pt_counter_inc(pt_counter_t *c)
{
    atomic_fetch_add_explicit(&c->value, 1, memory_order_relaxed);
}

static inline uint64_t pt_counter_get(pt_counter_t *c)
{
    return atomic_load_explicit(&c->value, memory_order_relaxed);
}

static inline void pt_gauge_set(pt_gauge_t *g, int64_t v)
{
    atomic_store_explicit(&g->value, v, memory_order_relaxed);
}

static inline void pt_gauge_add(pt_gauge_t *g, int64_t delta)
{
    atomic_fetch_add_explicit(&g->value, delta, memory_order_relaxed);
}

static inline int64_t pt_gauge_get(pt_gauge_t *g)
{
    return atomic_load_explicit(&g->value, memory_order_relaxed);
}

/* ---- registration: any thread, takes the registry mutex --------------------------------------
 *
 * name:   a Prometheus metric name, [a-zA-Z_:][a-zA-Z0-9_:]*; counters should end in "_total".
 * help:   one line of text (escaped on output); the first registration of a name sets it.
 * labels: NULL or "" for none, else the inside of the braces, already escaped, for example
 *         `pipeline="p1",plugin="input_file"` (build it with pt_metrics_label_append). Series are
 *         identified by the exact string, so always list labels in the same order.
 *
 * Every registration of a name shares one # HELP/# TYPE block. Registering a counter or gauge
 * whose name and labels are already registered returns the same, shared handle, so a pipeline
 * rebuilt by a hot reload carries its counters on while the old one is still running; each
 * registration is balanced by one unregister, and the series leaves the output with the last.
 * The registry copies name, help and labels.
 *
 * Errors: -EINVAL (bad name or labels, or the name is registered with another type), -EEXIST (a
 * name the renderer owns: process_* and petrel_build_info), -ENOMEM. *out is set only on 0. */
int pt_metrics_counter_register(const char *name, const char *help, const char *labels,
                                pt_counter_t **out);
int pt_metrics_gauge_register(const char *name, const char *help, const char *labels,
                              pt_gauge_t **out);

/* Registers a gauge read through fn(ud) at render time. The handle is the caller's until it
 * unregisters it; fn and ud must stay valid until then. Several callback gauges (and a plain
 * gauge) with the same name and labels render as one sample holding the sum of their values:
 * while a hot reload overlaps an old and a new pipeline, their queue depths add up. Errors as
 * above. */
int pt_metrics_gauge_fn_register(const char *name, const char *help, const char *labels,
                                 pt_metrics_gauge_cb fn, void *ud, pt_gauge_fn_t **out);

/* Drops one registration. The handle must not be used afterwards (another holder of a shared
 * series may still use its own copy of the pointer). Any thread; NULL is a no-op. After
 * pt_metrics_gauge_fn_unregister returns, fn is not running and will not be called again. */
void pt_metrics_counter_unregister(pt_counter_t *c);
void pt_metrics_gauge_unregister(pt_gauge_t *g);
void pt_metrics_gauge_fn_unregister(pt_gauge_fn_t *g);

/* Appends `key="value"` to a label string, with a comma first if labels is not empty. value is
 * escaped as the format requires (backslash, double quote, newline); key must be a valid label
 * name. The caller owns the buffer. Returns 0, -EINVAL (bad key) or -ENOMEM. */
int pt_metrics_label_append(pt_buf_t *labels, const char *key, const char *value);

/* Appends the whole exposition to out (the caller owns it; on error out may hold part of the
 * text): every registered family sorted by name, each series sorted by its label string, then
 * the process metrics (process_cpu_seconds_total, process_resident_memory_bytes,
 * process_virtual_memory_bytes, process_start_time_seconds) and petrel_build_info{version=...}.
 * Any thread; callback gauges run on the calling thread. Returns 0 or -ENOMEM. */
int pt_metrics_render(pt_buf_t *out);

#endif
