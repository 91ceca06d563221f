/* flusher_stdout: writes every event as one JSON line to standard output (or standard error),
 * for debugging pipelines. */
#include <stddef.h>
#include <unistd.h>

#include "core/plugin.h"

typedef struct {
    int only_stdout;
    int tags;
} stdout_conf_t;

static const pt_cfg_field_t stdout_map[] = {
    {"OnlyStdout", PT_CFG_BOOL, "true", 0, 0, NULL, 0, offsetof(stdout_conf_t, only_stdout), NULL,
     "Write to standard output; false writes to standard error"},
    {"Tags", PT_CFG_BOOL, "true", 0, 0, NULL, 0, offsetof(stdout_conf_t, tags), NULL,
     "Include the group tags as \"__tag__:<key>\" fields"},
};

static int so_create(pt_plugin_inst_t *inst, const pt_plugin_env_t *env, pt_cfg_diag_t *d)
{
    inst->state = inst->config;
    return 0;
}

static int so_serialize(pt_plugin_inst_t *inst, const pt_batch_t *b, pt_payload_t *p)
{
    const stdout_conf_t *c = inst->state;
    return pt_batch_write_jsonl(&p->data, b, c->tags);
}

static int so_send(pt_plugin_inst_t *inst, pt_payload_t *p)
{
    const stdout_conf_t *c = inst->state;
    int rc = pt_write_all(c->only_stdout ? STDOUT_FILENO : STDERR_FILENO, p->data.data,
                          p->data.len);
    pt_payload_done(p, rc);
    return PT_DONE;
}

const pt_plugin_t pt_plugin_flusher_stdout = {
    .name = "flusher_stdout",
    .kind = PT_PLUGIN_FLUSHER,
    .description = "Writes events as JSON lines to standard output",
    .config_map = stdout_map,
    .config_n = sizeof(stdout_map) / sizeof(stdout_map[0]),
    .config_size = sizeof(stdout_conf_t),
    .create = so_create,
    .serialize = so_serialize,
    .send = so_send,
};
