/* aggregator_default: batches whole groups by event count, bytes or age, as LoongCollector's
 * default aggregator does; the core applies the limits (pt_batch_conf_t). */
#include <stddef.h>

#include "core/plugin.h"

typedef struct {
    pt_batch_conf_t batch;
} agg_conf_t;

static const pt_cfg_field_t agg_map[] = {
    PT_BATCH_CONFIG_FIELDS(agg_conf_t, batch),
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
