/* aggregator_opentelemetry: batches as aggregator_default does, but never mixes signals: logs,
 * metrics and traces go to separate batches (routes 0, 1, 2) by the real type of their events,
 * and each group is tagged "__logstore__" with the destination configured for its signal
 * (LogLogstore, MetricsLogstore, TraceLogstore), so a flusher can tell them apart. */
#include <stddef.h>
#include <string.h>

#include "core/plugin.h"

/* Routes, one per signal. */
#define ROUTE_LOGS 0u
#define ROUTE_METRICS 1u
#define ROUTE_TRACES 2u

typedef struct {
    pt_batch_conf_t batch; /* first: the core reads the limits from here */
    char *logs;
    char *metrics;
    char *traces;
} otel_conf_t;

static const pt_cfg_field_t otel_map[] = {
    {"LogLogstore", PT_CFG_STRING, NULL, 0, 0, NULL, 0, offsetof(otel_conf_t, logs), NULL,
     "Destination of log records (tag __logstore__ of their groups)"},
    {"MetricsLogstore", PT_CFG_STRING, NULL, 0, 0, NULL, 0, offsetof(otel_conf_t, metrics), NULL,
     "Destination of metric data points"},
    {"TraceLogstore", PT_CFG_STRING, NULL, 0, 0, NULL, 0, offsetof(otel_conf_t, traces), NULL,
     "Destination of spans"},
    PT_BATCH_CONFIG_FIELDS(otel_conf_t, batch),
};

static int otel_create(pt_plugin_inst_t *inst, const pt_plugin_env_t *env, pt_cfg_diag_t *d)
{
    PT_UNUSED(env);
    PT_UNUSED(d);
    inst->state = inst->config;
    return 0;
}

/* The signal of a group is that of its first live event: an OTLP input makes one group per
 * resource and scope of one signal, so the first event speaks for all of them. Events that are
 * neither metrics nor spans (raw lines, logs from files) count as logs. */
static uint32_t otel_route(pt_plugin_inst_t *inst, const pt_group_t *cg)
{
    const otel_conf_t *c = inst->state;
    uint32_t route = ROUTE_LOGS;
    const char *dest;

    for (uint32_t i = 0; i < cg->nevents; i++) {
        if (cg->events[i].flags & PT_EVENT_F_DROPPED) {
            continue;
        }
        if (cg->events[i].type == PT_EVENT_METRIC) {
            route = ROUTE_METRICS;
        } else if (cg->events[i].type == PT_EVENT_SPAN) {
            route = ROUTE_TRACES;
        }
        break;
    }
    dest = route == ROUTE_METRICS ? c->metrics : route == ROUTE_TRACES ? c->traces : c->logs;
    if (dest != NULL && dest[0] != '\0') {
        /* The core calls route() on the worker that holds the group, right before batching it;
         * nobody else sees the group then, so tagging it here is safe. The value is the
         * config's string, which outlives every group of the pipeline. */
        pt_group_t *g = (pt_group_t *)cg;
        if (pt_group_set_tag(g, PT_STR_LIT("__logstore__"), pt_str_c(dest)) != 0) {
            pt_counter_inc(inst->m.errors); /* out of arena memory: the route still holds */
        }
    }
    return route;
}

const pt_plugin_t pt_plugin_aggregator_opentelemetry = {
    .name = "aggregator_opentelemetry",
    .kind = PT_PLUGIN_AGGREGATOR,
    .description = "Batches logs, metrics and traces separately (routes 0, 1, 2) and tags each "
                   "group with the destination of its signal",
    .config_map = otel_map,
    .config_n = sizeof(otel_map) / sizeof(otel_map[0]),
    .config_size = sizeof(otel_conf_t),
    .create = otel_create,
    .route = otel_route,
};
