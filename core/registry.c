/* The plugin registry, generated at compile time from core/plugins.list. Also knows the names of
 * LoongCollector plugins that petrel does not build (yet), so that a config naming one gets
 * "not available in this build" instead of "unknown plugin". */
#include <string.h>

#include "plugin.h"

#define PT_PLUGIN(name) extern const pt_plugin_t pt_plugin_##name;
#include "plugins.list.h"
#undef PT_PLUGIN

static const pt_plugin_t *const registry[] = {
#define PT_PLUGIN(name) &pt_plugin_##name,
#include "plugins.list.h"
#undef PT_PLUGIN
};

/* Plugin types of LoongCollector's configs that this build does not provide. */
static const char *const unavailable[] = {
    "input_container_stdio", "input_prometheus", "input_host_meta",
    "input_ebpf_file_security", "input_ebpf_network_observer", "input_journal", "input_syslog",
    "processor_spl",
    "processor_json",
    "processor_regex", "processor_split_log_string",
    "aggregator_context", "aggregator_content_value_group", "aggregator_metadata_group",
    "flusher_sls", "flusher_prometheus", "flusher_loki", "flusher_elasticsearch",
    "flusher_clickhouse", "flusher_pulsar",
};

const pt_plugin_t *pt_plugin_find(const char *name)
{
    for (size_t i = 0; i < sizeof(registry) / sizeof(registry[0]); i++) {
        if (strcmp(registry[i]->name, name) == 0) {
            return registry[i];
        }
    }
    return NULL;
}

int pt_plugin_is_known_unavailable(const char *name)
{
    for (size_t i = 0; i < sizeof(unavailable) / sizeof(unavailable[0]); i++) {
        if (strcmp(unavailable[i], name) == 0) {
            return 1;
        }
    }
    return 0;
}

const pt_plugin_t *pt_plugin_at(size_t i)
{
    return i < sizeof(registry) / sizeof(registry[0]) ? registry[i] : NULL;
}
