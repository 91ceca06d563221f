/* processor_add_fields: adds constant fields to every log event, as LoongCollector's processor of
 * the same name. An existing field of the same name gets the new value, or is left as it is with
 * IgnoreIfExist. Metrics and spans pass unchanged. */
#include <stddef.h>
#include <string.h>

#include "core/mem.h"
#include "core/plugin.h"

typedef struct {
    pt_strmap_t fields;
    int ignore_if_exist;
} af_conf_t;

static const pt_cfg_field_t af_map[] = {
    {"Fields", PT_CFG_STRMAP, NULL, 0, 0, NULL, PT_CFG_REQUIRED, offsetof(af_conf_t, fields), NULL,
     "Fields to add: a map of name -> value, added in this order"},
    {"IgnoreIfExist", PT_CFG_BOOL, "false", 0, 0, NULL, 0, offsetof(af_conf_t, ignore_if_exist),
     NULL, "Leave a field that already exists as it is (false: overwrite its value)"},
};

typedef struct {
    const af_conf_t *c;
    size_t bytes; /* keys and values, for the per-group arena copy */
} af_state_t;

static int af_create(pt_plugin_inst_t *inst, const pt_plugin_env_t *env, pt_cfg_diag_t *d)
{
    af_conf_t *c = inst->config;
    if (c->fields.n == 0) {
        pt_cfg_error(d, inst->line, "Fields", "must name at least one field");
        return -EINVAL;
    }
    af_state_t *s = pt_calloc(1, sizeof(*s));
    if (s == NULL) {
        return -ENOMEM;
    }
    s->c = c;
    for (size_t i = 0; i < c->fields.n; i++) {
        s->bytes += strlen(c->fields.keys[i]) + strlen(c->fields.vals[i]);
    }
    inst->state = s;
    return 0;
}

static void af_destroy(pt_plugin_inst_t *inst)
{
    pt_free(inst->state);
    inst->state = NULL;
}

/* The fields copied into the group's arena, once per group: a group may outlive this instance
 * (a reload replaces it while batches are still queued), and its views must stay valid. */
static pt_field_t *copy_fields(const af_state_t *s, pt_group_t *g)
{
    const pt_strmap_t *m = &s->c->fields;
    pt_field_t *f = pt_arena_alloc(g->arena, sizeof(*f) * m->n + s->bytes + 1);
    if (f == NULL) {
        return NULL;
    }
    char *p = (char *)(f + m->n);
    for (size_t i = 0; i < m->n; i++) {
        size_t kn = strlen(m->keys[i]);
        size_t vn = strlen(m->vals[i]);
        memcpy(p, m->keys[i], kn);
        f[i].key = pt_str(p, kn);
        p += kn;
        memcpy(p, m->vals[i], vn);
        f[i].val = pt_str(p, vn);
        p += vn;
    }
    return f;
}

static int af_process(pt_plugin_inst_t *inst, pt_group_t *g)
{
    const af_state_t *s = inst->state;
    const size_t n = s->c->fields.n;
    pt_field_t *add = NULL;

    for (uint32_t i = 0; i < g->nevents; i++) {
        pt_event_t *ev = &g->events[i];
        if ((ev->flags & PT_EVENT_F_DROPPED) ||
            (ev->type != PT_EVENT_RAW && ev->type != PT_EVENT_LOG)) {
            continue;
        }
        if (add == NULL && (add = copy_fields(s, g)) == NULL) {
            return -ENOMEM;
        }
        if (pt_event_to_log(g, ev) != 0) {
            return -ENOMEM;
        }
        for (size_t k = 0; k < n; k++) {
            int rc;
            if (s->c->ignore_if_exist) {
                rc = pt_event_get(ev, add[k].key) != NULL
                         ? 0
                         : pt_event_append(g, ev, add[k].key, add[k].val);
            } else {
                rc = pt_event_set(g, ev, add[k].key, add[k].val);
            }
            if (rc != 0) {
                return -ENOMEM;
            }
        }
    }
    return 0;
}

const pt_plugin_t pt_plugin_processor_add_fields = {
    .name = "processor_add_fields",
    .kind = PT_PLUGIN_PROCESSOR,
    .description = "Adds constant fields to every log event",
    .config_map = af_map,
    .config_n = sizeof(af_map) / sizeof(af_map[0]),
    .config_size = sizeof(af_conf_t),
    .create = af_create,
    .destroy = af_destroy,
    .process = af_process,
};
