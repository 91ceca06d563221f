/* The agent config (petrel.yaml): data dir, threads, limits, admin endpoint. Loaded once at
 * start on the main thread; read-only afterwards. */
#ifndef PT_CONFIG_AGENT_H
#define PT_CONFIG_AGENT_H

#include <stdint.h>

#include "config/cfgmap.h"

typedef struct pt_agent_conf_s {
    char *data_dir;
    char *config_dir;
    char *log_level;
    int64_t processor_threads;
    int64_t shutdown_timeout_ms;
    int64_t reload_drain_timeout_ms;
    int64_t queue_high_bytes;
    int64_t sender_queue_bytes;
    int admin_enable;
    char *admin_host;
    int64_t admin_port;
} pt_agent_conf_t;

extern const pt_cfg_field_t pt_agent_conf_map[];
extern const size_t pt_agent_conf_map_n;

/* Fills c with defaults, then from `path` when not NULL. Errors go to d; returns 0 or -EINVAL.
 * Free with pt_agent_conf_free. */
int pt_agent_conf_load(pt_agent_conf_t *c, const char *path, pt_cfg_diag_t *d);
void pt_agent_conf_free(pt_agent_conf_t *c);

#endif
