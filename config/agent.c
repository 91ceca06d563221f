/* Agent config map and loader (petrel.yaml). */
#include "config/agent.h"

#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "config/node.h"

const pt_cfg_field_t pt_agent_conf_map[] = {
    {"data_dir", PT_CFG_STRING, "./data", 0, 0, NULL, 0, offsetof(pt_agent_conf_t, data_dir), NULL,
     "Checkpoints, output of the default config and (later) spools live here"},
    {"config_dir", PT_CFG_STRING, NULL, 0, 0, NULL, 0, offsetof(pt_agent_conf_t, config_dir), NULL,
     "Watched directory of pipeline configs (*.yaml, *.yml, *.json), one pipeline per file"},
    {"log_level", PT_CFG_STRING, "info", 0, 0, "error|warn|info|debug|trace", 0,
     offsetof(pt_agent_conf_t, log_level), NULL, "Internal log level (stderr)"},
    {"processor_threads", PT_CFG_INT, "0", 0, 256, NULL, PT_CFG_BOUNDED,
     offsetof(pt_agent_conf_t, processor_threads), NULL,
     "Processor worker threads; 0 means one per core"},
    {"shutdown_timeout_ms", PT_CFG_INT, "500", 0, 600000, NULL, PT_CFG_BOUNDED,
     offsetof(pt_agent_conf_t, shutdown_timeout_ms), "ShutdownTimeoutMs",
     "On SIGTERM, how long to drain before writing checkpoints and exiting"},
    {"reload_drain_timeout_ms", PT_CFG_INT, "10000", 0, 600000, NULL, PT_CFG_BOUNDED,
     offsetof(pt_agent_conf_t, reload_drain_timeout_ms), NULL,
     "On reload, how long the new pipeline waits for the old one to drain"},
    {"queue_high_bytes", PT_CFG_INT, "8388608", 65536, 17179869184.0, NULL, PT_CFG_BOUNDED,
     offsetof(pt_agent_conf_t, queue_high_bytes), NULL,
     "Process queue high watermark per pipeline; inputs pause above it, resume below half"},
    {"sender_queue_bytes", PT_CFG_INT, "33554432", 65536, 17179869184.0, NULL, PT_CFG_BOUNDED,
     offsetof(pt_agent_conf_t, sender_queue_bytes), NULL,
     "Serialized bytes in flight per flusher before workers hold back"},
    {"admin", PT_CFG_SECTION, NULL, 0, 0, NULL, 0, 0, NULL, "Admin HTTP endpoint"},
    {"admin.enable", PT_CFG_BOOL, "true", 0, 0, NULL, 0, offsetof(pt_agent_conf_t, admin_enable),
     NULL, "Serve /metrics, /healthz and /readyz"},
    {"admin.host", PT_CFG_STRING, "127.0.0.1", 0, 0, NULL, 0,
     offsetof(pt_agent_conf_t, admin_host), NULL, "Address to listen on (loopback by default)"},
    {"admin.port", PT_CFG_INT, "9477", 0, 65535, NULL, PT_CFG_BOUNDED,
     offsetof(pt_agent_conf_t, admin_port), NULL, "Port to listen on (0: any free port)"},
};

const size_t pt_agent_conf_map_n = sizeof(pt_agent_conf_map) / sizeof(pt_agent_conf_map[0]);

int pt_agent_conf_load(pt_agent_conf_t *c, const char *path, pt_cfg_diag_t *d)
{
    memset(c, 0, sizeof(*c));
    pt_node_t empty = {.type = PT_NODE_MAP};
    pt_node_t *tree = &empty;
    if (path != NULL) {
        pt_node_err_t err;
        tree = pt_node_parse_file_ex(path, &err);
        if (tree == NULL) {
            pt_cfg_load(pt_agent_conf_map, pt_agent_conf_map_n, &empty, c, NULL, d);
            pt_cfg_error(d, err.line, NULL, "%s", err.reason);
            return -EINVAL;
        }
    }
    int rc = pt_cfg_load(pt_agent_conf_map, pt_agent_conf_map_n, tree, c, NULL, d);
    if (tree != &empty) {
        pt_node_free(tree);
    }
    return rc;
}

void pt_agent_conf_free(pt_agent_conf_t *c)
{
    pt_cfg_free(pt_agent_conf_map, pt_agent_conf_map_n, c);
}
