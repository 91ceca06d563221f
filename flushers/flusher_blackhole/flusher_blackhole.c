/* flusher_blackhole: takes every batch and discards it, counting events. For benchmarks and for
 * measuring the pipeline without output cost. */
#include "core/plugin.h"

static int bh_create(pt_plugin_inst_t *inst, const pt_plugin_env_t *env, pt_cfg_diag_t *d)
{
    inst->state = inst;
    return 0;
}

static int bh_serialize(pt_plugin_inst_t *inst, const pt_batch_t *b, pt_payload_t *p)
{
    /* Nothing to serialize: the payload only carries the acks to the sender thread, so the
     * blackhole exercises the same hand-offs as a real flusher. */
    return 0;
}

static int bh_send(pt_plugin_inst_t *inst, pt_payload_t *p)
{
    pt_payload_done(p, 0);
    return PT_DONE;
}

const pt_plugin_t pt_plugin_flusher_blackhole = {
    .name = "flusher_blackhole",
    .kind = PT_PLUGIN_FLUSHER,
    .description = "Discards everything it receives (benchmarks, tests)",
    .create = bh_create,
    .serialize = bh_serialize,
    .send = bh_send,
};
