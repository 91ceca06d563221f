/* aggregator_default: batches whole groups by event count, bytes or age, as LoongCollector's
 * default aggregator does; the core applies the limits (pt_batch_conf_t). */
#include <stddef.h>

#include "core/plugin.h"

typedef struct {
    pt_batch_conf_t batch;
} agg_conf_t;

static const pt_cfg_field_t agg_map[] = {
    {"MaxLogCount", PT_CFG_INT, "4096", 1, 1000000, NULL, PT_CFG_BOUNDED,
     offsetof(agg_conf_t, batch.max_events), NULL,
     "A batch is sent once it holds this many events"},
    {"MaxSizeBytes", PT_CFG_INT, "1048576", 1024, 268435456, NULL, PT_CFG_BOUNDED,
     offsetof(agg_conf_t, batch.max_bytes), NULL,
     "A batch is sent once its input bytes reach this size"},
    {"TimeoutMs", PT_CFG_INT, "1000", 0, 3600000, NULL, PT_CFG_BOUNDED,
     offsetof(agg_conf_t, batch.timeout_ms), NULL,
     "A batch is sent at the latest this long after its first event"},
};

static int agg_create(pt_plugin_inst_t *inst, const pt_plugin_env_t *env, pt_cfg_diag_t *d)
{
    inst->state = inst->config;
    return 0;
}

const pt_plugin_t pt_plugin_aggregator_default = {
    .name = "aggregator_default",
    .kind = PT_PLUGIN_AGGREGATOR,
    .description = "Batches events by count, size and time (used when no aggregator is set)",
    .config_map = agg_map,
    .config_n = sizeof(agg_map) / sizeof(agg_map[0]),
    .config_size = sizeof(agg_conf_t),
    .create = agg_create,
};
