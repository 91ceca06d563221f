/* processor_drop: removes the named fields from every log event, as LoongCollector's processor
 * of the same name (the event itself is kept, even with no field left). Metrics and spans pass
 * unchanged. */
#include <stddef.h>
#include <string.h>

#include "core/mem.h"
#include "core/plugin.h"

typedef struct {
    pt_strlist_t drop_keys;
} dk_conf_t;

static const pt_cfg_field_t dk_map[] = {
    {"DropKeys", PT_CFG_STRLIST, NULL, 0, 0, NULL, PT_CFG_REQUIRED, offsetof(dk_conf_t, drop_keys),
     NULL, "Fields to remove (every occurrence)"},
};

typedef struct {
    pt_str_t *keys;
    size_t n;
    int content; /* "content" is one of them: raw lines lose their text */
} dk_state_t;

static int dk_create(pt_plugin_inst_t *inst, const pt_plugin_env_t *env, pt_cfg_diag_t *d)
{
    dk_conf_t *c = inst->config;
    if (c->drop_keys.n == 0) {
        pt_cfg_error(d, inst->line, "DropKeys", "must name at least one field");
        return -EINVAL;
    }
    dk_state_t *s = pt_calloc(1, sizeof(*s));
    if (s == NULL) {
        return -ENOMEM;
    }
    s->keys = pt_calloc(c->drop_keys.n, sizeof(*s->keys));
    if (s->keys == NULL) {
        pt_free(s);
        return -ENOMEM;
    }
    for (size_t i = 0; i < c->drop_keys.n; i++) {
        s->keys[s->n++] = pt_str_c(c->drop_keys.v[i]);
        s->content |= strcmp(c->drop_keys.v[i], "content") == 0;
    }
    inst->state = s;
    return 0;
}

static void dk_destroy(pt_plugin_inst_t *inst)
{
    dk_state_t *s = inst->state;
    if (s != NULL) {
        pt_free(s->keys);
        pt_free(s);
    }
    inst->state = NULL;
}

static int dropped(const dk_state_t *s, pt_str_t key)
{
    for (size_t i = 0; i < s->n; i++) {
        if (pt_str_eq(s->keys[i], key)) {
            return 1;
        }
    }
    return 0;
}

static int dk_process(pt_plugin_inst_t *inst, pt_group_t *g)
{
    const dk_state_t *s = inst->state;

    for (uint32_t i = 0; i < g->nevents; i++) {
        pt_event_t *ev = &g->events[i];
        if (ev->flags & PT_EVENT_F_DROPPED) {
            continue;
        }
        if (ev->type == PT_EVENT_RAW) {
            /* A raw line is one field, "content": untouched unless that is what goes. */
            if (s->content) {
                ev->type = PT_EVENT_LOG;
                ev->raw = PT_STR_NULL;
                ev->nfields = 0;
            }
            continue;
        }
        if (ev->type != PT_EVENT_LOG) {
            continue;
        }
        uint32_t w = 0;
        for (uint32_t f = 0; f < ev->nfields; f++) {
            if (!dropped(s, ev->fields[f].key)) {
                ev->fields[w++] = ev->fields[f];
            }
        }
        ev->nfields = w;
    }
    return 0;
}

const pt_plugin_t pt_plugin_processor_drop = {
    .name = "processor_drop",
    .kind = PT_PLUGIN_PROCESSOR,
    .description = "Removes the named fields from every log event",
    .config_map = dk_map,
    .config_n = sizeof(dk_map) / sizeof(dk_map[0]),
    .config_size = sizeof(dk_conf_t),
    .create = dk_create,
    .destroy = dk_destroy,
    .process = dk_process,
};
