/* Building pipelines from their config trees (parse, validate, create every plugin; no I/O),
 * and tearing them down. Main/input thread. */
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "log.h"
#include "mem.h"
#include "pipeline_internal.h"

/* ========================================================================= building ====== */

static const char *const kind_names[] = {"input", "processor", "aggregator", "flusher"};
static const char *const section_names[] = {"inputs", "processors", "aggregators", "flushers"};

static const char *const plugin_ignore[] = {"Type", "Match", NULL};

typedef struct {
    char *type;
    char *key;
    char *value;
} match_conf_t;

static const pt_cfg_field_t match_map[] = {
    {"Type", PT_CFG_STRING, NULL, 0, 0, "event_type|tag", PT_CFG_REQUIRED,
     offsetof(match_conf_t, type), NULL, "event_type: by signal; tag: by a group tag's value"},
    {"Key", PT_CFG_STRING, NULL, 0, 0, NULL, 0, offsetof(match_conf_t, key), NULL,
     "Tag key (Type tag)"},
    {"Value", PT_CFG_STRING, NULL, 0, 0, NULL, PT_CFG_REQUIRED, offsetof(match_conf_t, value),
     NULL, "log, metric or trace (Type event_type); the tag value (Type tag)"},
};

/* Parses a flusher's Match into inst->match. */
static int match_init(pt_plugin_inst_t *inst, const pt_node_t *node, pt_cfg_diag_t *d)
{
    const pt_node_t *mn = pt_node_get(node, "Match");
    if (mn == NULL || (mn->type == PT_NODE_SCALAR && mn->is_null)) {
        return 0;
    }
    char where[300];
    snprintf(where, sizeof(where), "%s.Match", strchr(inst->id, '/') + 1);
    const char *saved = d->plugin;
    d->plugin = where;
    int rc = 0;
    match_conf_t mc;
    memset(&mc, 0, sizeof(mc));
    if (mn->type != PT_NODE_MAP) {
        pt_cfg_error(d, mn->line, NULL, "must be a map with Type and Value, got %s",
                     pt_node_kind(mn));
        rc = -EINVAL;
    } else if (pt_cfg_load(match_map, PT_ARRAY_SIZE(match_map), mn, &mc, NULL, d) != 0) {
        rc = -EINVAL;
    } else if (strcmp(mc.type, "event_type") == 0) {
        inst->match.kind = 1;
        if (strcmp(mc.value, "log") == 0) {
            inst->match.event_type = PT_EVENT_LOG;
        } else if (strcmp(mc.value, "metric") == 0) {
            inst->match.event_type = PT_EVENT_METRIC;
        } else if (strcmp(mc.value, "trace") == 0 || strcmp(mc.value, "span") == 0) {
            inst->match.event_type = PT_EVENT_SPAN;
        } else {
            pt_cfg_error(d, mn->line, "Value", "must be log, metric or trace, got '%s'", mc.value);
            rc = -EINVAL;
        }
    } else {
        if (mc.key == NULL || mc.key[0] == '\0') {
            pt_cfg_error(d, mn->line, "Key", "required with Type tag");
            rc = -EINVAL;
        } else {
            inst->match.kind = 2;
            inst->match.key = pt_strdup(mc.key);
            inst->match.value = pt_strdup(mc.value);
        }
    }
    pt_cfg_free(match_map, PT_ARRAY_SIZE(match_map), &mc);
    d->plugin = saved;
    return rc;
}

/* Creates one plugin instance from its config map node. */
static int inst_init(pt_pipeline_t *p, pt_plugin_inst_t *inst, const pt_plugin_t *pl,
                     const pt_node_t *node, int index, int nsame, const pt_pipeline_opts_t *o,
                     pt_cfg_diag_t *d)
{
    char id[256];
    if (nsame > 1) {
        snprintf(id, sizeof(id), "%s/%s#%d", p->name, pl->name, index + 1);
    } else {
        snprintf(id, sizeof(id), "%s/%s", p->name, pl->name);
    }
    inst->plugin = pl;
    inst->pipeline = p;
    inst->index = index;
    inst->line = node != NULL ? node->line : 0;
    inst->id = pt_strdup(id);
    inst->config = pt_calloc(1, pl->config_size ? pl->config_size : 1);
    if (inst->id == NULL || inst->config == NULL) {
        pt_cfg_error(d, inst->line, NULL, "out of memory");
        return -ENOMEM;
    }
    const char *saved = d->plugin;
    d->plugin = strchr(inst->id, '/') + 1;
    int rc = 0;
    if (node != NULL && pl->config_map != NULL) {
        rc = pt_cfg_load(pl->config_map, pl->config_n, node, inst->config, plugin_ignore, d);
    }
    if (rc == 0 && pl->kind == PT_PLUGIN_FLUSHER && node != NULL) {
        rc = match_init(inst, node, d);
    }
    if (rc == 0 && pl->create != NULL) {
        pt_plugin_env_t env = {o->data_dir, o->oneshot};
        rc = pl->create(inst, &env, d);
        if (rc != 0 && d->nerrors == 0) {
            pt_cfg_error(d, inst->line, NULL, "cannot create plugin: %s", pt_strerror(rc));
        }
    }
    d->plugin = saved;
    if (rc == 0) {
        pt_plugin_metrics_init(inst);
    }
    return rc;
}

static void inst_destroy(pt_plugin_inst_t *inst)
{
    if (inst->plugin == NULL) {
        return;
    }
    if (inst->state != NULL && inst->plugin->destroy != NULL) {
        inst->plugin->destroy(inst);
    }
    if (inst->m.events_in != NULL) {
        pt_plugin_metrics_free(inst);
    }
    if (inst->config != NULL && inst->plugin->config_map != NULL) {
        pt_cfg_free(inst->plugin->config_map, inst->plugin->config_n, inst->config);
    }
    pt_free(inst->config);
    pt_free(inst->id);
    pt_free(inst->match.key);
    pt_free(inst->match.value);
}

/* Builds the instances of one section ("inputs", ...). */
static int build_section(pt_pipeline_t *p, const pt_node_t *root, pt_plugin_kind_t kind,
                         pt_plugin_inst_t **out, int *nout, const pt_pipeline_opts_t *o,
                         pt_cfg_diag_t *d)
{
    const char *section = section_names[kind];
    const pt_node_t *list = pt_node_get(root, section);
    *out = NULL;
    *nout = 0;
    if (list == NULL || (list->type == PT_NODE_SCALAR && list->is_null)) {
        return 0;
    }
    if (list->type != PT_NODE_SEQ) {
        pt_cfg_error(d, list->line, section, "must be a list of plugins, got %s",
                     pt_node_kind(list));
        return -EINVAL;
    }
    if (list->n == 0) {
        return 0;
    }
    pt_plugin_inst_t *insts = pt_calloc(list->n, sizeof(*insts));
    if (insts == NULL) {
        return -ENOMEM;
    }
    *out = insts;
    int rc = 0;
    for (size_t i = 0; i < list->n; i++) {
        const pt_node_t *item = list->items[i];
        char key[64];
        snprintf(key, sizeof(key), "%s[%zu]", section, i);
        if (item->type != PT_NODE_MAP) {
            pt_cfg_error(d, item->line, key, "must be a map with a Type, got %s",
                         pt_node_kind(item));
            rc = -EINVAL;
            continue;
        }
        const pt_node_t *type = pt_node_get(item, "Type");
        if (type == NULL || type->type != PT_NODE_SCALAR || type->len == 0) {
            pt_cfg_error(d, item->line, key, "missing Type");
            rc = -EINVAL;
            continue;
        }
        const pt_plugin_t *pl = pt_plugin_find(type->scalar);
        if (pl == NULL) {
            if (pt_plugin_is_known_unavailable(type->scalar)) {
                pt_cfg_error(d, type->line, key,
                             "plugin '%s' is not available in this build of petrel",
                             type->scalar);
            } else {
                pt_cfg_error(d, type->line, key, "unknown plugin type '%s'", type->scalar);
            }
            rc = -EINVAL;
            continue;
        }
        if (pl->kind != kind) {
            pt_cfg_error(d, type->line, key, "'%s' is a %s plugin, not a %s", pl->name,
                         kind_names[pl->kind], kind_names[kind]);
            rc = -EINVAL;
            continue;
        }
        int nsame = 0;
        int index = 0;
        for (size_t j = 0; j < list->n; j++) {
            const pt_node_t *t = pt_node_get(list->items[j], "Type");
            if (t != NULL && t->type == PT_NODE_SCALAR && strcmp(t->scalar, pl->name) == 0) {
                index += j < i;
                nsame++;
            }
        }
        int r = inst_init(p, &insts[*nout], pl, item, index, nsame, o, d);
        (*nout)++;
        if (r != 0) {
            rc = r;
        }
    }
    return rc;
}

static const pt_cfg_field_t global_map[] = {
    {"Priority", PT_CFG_INT, "1", 0, 2, NULL, PT_CFG_BOUNDED, 0, NULL,
     "Scheduling priority of the pipeline's processing: 0 is served first, then 1, then 2"},
    {"EnableTimestampNanosecond", PT_CFG_BOOL, "false", 0, 0, NULL, 0, 0, NULL,
     "Accepted for LoongCollector compatibility; petrel always keeps nanoseconds"},
    {"UsingOldContentTag", PT_CFG_BOOL, "false", 0, 0, NULL, 0, 0, NULL,
     "Accepted for LoongCollector compatibility (no effect)"},
    {"DefaultLogQueueSize", PT_CFG_INT, "0", 0, 0, NULL, 0, 0, NULL,
     "Accepted for LoongCollector compatibility (queues are sized in bytes by petrel.yaml)"},
    {"DefaultLogGroupQueueSize", PT_CFG_INT, "0", 0, 0, NULL, 0, 0, NULL,
     "Accepted for LoongCollector compatibility (no effect)"},
    {"StructureType", PT_CFG_STRING, NULL, 0, 0, NULL, 0, 0, NULL,
     "Accepted for LoongCollector compatibility (no effect)"},
};

typedef struct {
    int64_t priority;
    int enable_ns;
    int old_tag;
    int64_t q1;
    int64_t q2;
    char *structure;
} global_conf_t;

static const pt_cfg_field_t top_map[] = {
    {"enable", PT_CFG_BOOL, "true", 0, 0, NULL, 0, 0, NULL, "Run this pipeline"},
    {"global", PT_CFG_NODE, NULL, 0, 0, NULL, 0, 0, NULL, "Pipeline-wide settings"},
    {"inputs", PT_CFG_NODE, NULL, 0, 0, NULL, PT_CFG_REQUIRED, 0, NULL, "Input plugins"},
    {"processors", PT_CFG_NODE, NULL, 0, 0, NULL, 0, 0, NULL, "Processor plugins, in order"},
    {"aggregators", PT_CFG_NODE, NULL, 0, 0, NULL, 0, 0, NULL, "At most one aggregator"},
    {"flushers", PT_CFG_NODE, NULL, 0, 0, NULL, PT_CFG_REQUIRED, 0, NULL, "Flusher plugins"},
};

/* Finds the pipeline body: a plain pipeline, or a Kubernetes custom resource whose
 * spec.config is the pipeline. */
static const pt_node_t *pipeline_root(const pt_node_t *tree)
{
    const pt_node_t *spec = pt_node_get(tree, "spec");
    const pt_node_t *kind = pt_node_get(tree, "kind");
    if (spec != NULL && kind != NULL && pt_node_get(tree, "inputs") == NULL) {
        const pt_node_t *cfg = pt_node_get(spec, "config");
        if (cfg != NULL) {
            return cfg;
        }
    }
    return tree;
}

uint64_t pt_config_file_hash(const char *file, pt_buf_t *keep)
{
    FILE *f = fopen(file, "rb");
    uint64_t h = 1469598103934665603ull;
    if (f == NULL) {
        return 0;
    }
    char tmp[4096];
    size_t r;
    while ((r = fread(tmp, 1, sizeof(tmp), f)) > 0) {
        if (keep != NULL) {
            pt_buf_append(keep, tmp, r);
        }
        for (size_t i = 0; i < r; i++) {
            h = (h ^ (uint8_t)tmp[i]) * 1099511628211ull;
        }
    }
    fclose(f);
    return h;
}

int pt_pipeline_is_enabled(const pt_node_t *tree)
{
    const pt_node_t *root = pipeline_root(tree);
    const pt_node_t *en = pt_node_get(root, "enable");
    if (en != NULL && en->type == PT_NODE_SCALAR &&
        (strcmp(en->scalar, "false") == 0 || strcmp(en->scalar, "False") == 0)) {
        return 0;
    }
    return 1;
}

pt_pipeline_t *pt_pipeline_build_tree(pt_node_t *tree, const char *file, const char *name,
                                      const pt_pipeline_opts_t *o, pt_cfg_diag_t *d)
{
    pt_pipeline_t *p = pt_calloc(1, sizeof(*p));
    if (p == NULL) {
        pt_node_free(tree);
        return NULL;
    }
    p->tree = tree;
    p->name = pt_strdup(name);
    p->data_dir = o->data_dir;
    p->file = pt_strdup(file);
    if (p->name == NULL || p->file == NULL) {
        goto fail;
    }
    /* The text is kept so that a version that fails to start can be replaced by this one. */
    p->content_hash = pt_config_file_hash(file, &p->source);
    const pt_node_t *root = pipeline_root(tree);
    if (root->type != PT_NODE_MAP) {
        pt_cfg_error(d, root->line, NULL, "a pipeline config must be a map, got %s",
                     pt_node_kind(root));
        goto fail;
    }

    struct {
        int enable;
        const pt_node_t *global, *inputs, *processors, *aggregators, *flushers;
    } top;
    pt_cfg_field_t topm[PT_ARRAY_SIZE(top_map)];
    memcpy(topm, top_map, sizeof(topm));
    topm[0].offset = offsetof(__typeof__(top), enable);
    topm[1].offset = offsetof(__typeof__(top), global);
    topm[2].offset = offsetof(__typeof__(top), inputs);
    topm[3].offset = offsetof(__typeof__(top), processors);
    topm[4].offset = offsetof(__typeof__(top), aggregators);
    topm[5].offset = offsetof(__typeof__(top), flushers);
    memset(&top, 0, sizeof(top));
    int rc = pt_cfg_load(topm, PT_ARRAY_SIZE(topm), root, &top, NULL, d);
    pt_cfg_free(topm, PT_ARRAY_SIZE(topm), &top);

    p->priority = 1;
    if (top.global != NULL && !(top.global->type == PT_NODE_SCALAR && top.global->is_null)) {
        pt_cfg_field_t gm[PT_ARRAY_SIZE(global_map)];
        memcpy(gm, global_map, sizeof(gm));
        gm[0].offset = offsetof(global_conf_t, priority);
        gm[1].offset = offsetof(global_conf_t, enable_ns);
        gm[2].offset = offsetof(global_conf_t, old_tag);
        gm[3].offset = offsetof(global_conf_t, q1);
        gm[4].offset = offsetof(global_conf_t, q2);
        gm[5].offset = offsetof(global_conf_t, structure);
        global_conf_t gc;
        memset(&gc, 0, sizeof(gc));
        const char *saved = d->plugin;
        d->plugin = NULL;
        if (top.global->type != PT_NODE_MAP) {
            pt_cfg_error(d, top.global->line, "global", "must be a map, got %s",
                         pt_node_kind(top.global));
            rc = -EINVAL;
        } else if (pt_cfg_load(gm, PT_ARRAY_SIZE(gm), top.global, &gc, NULL, d) != 0) {
            rc = -EINVAL;
        }
        p->priority = (int)gc.priority;
        pt_cfg_free(gm, PT_ARRAY_SIZE(gm), &gc);
        d->plugin = saved;
    }

    if (build_section(p, root, PT_PLUGIN_INPUT, &p->inputs, &p->ninputs, o, d) != 0) {
        rc = -EINVAL;
    }
    if (build_section(p, root, PT_PLUGIN_PROCESSOR, &p->processors, &p->nprocessors, o, d) != 0) {
        rc = -EINVAL;
    }
    pt_plugin_inst_t *aggs = NULL;
    int naggs = 0;
    if (build_section(p, root, PT_PLUGIN_AGGREGATOR, &aggs, &naggs, o, d) != 0) {
        rc = -EINVAL;
    }
    if (build_section(p, root, PT_PLUGIN_FLUSHER, &p->flushers, &p->nflushers, o, d) != 0) {
        rc = -EINVAL;
    }
    if (naggs > 1) {
        pt_cfg_error(d, aggs[1].line, "aggregators", "at most one aggregator is supported");
        rc = -EINVAL;
    }
    if (naggs == 0 && rc == 0) {
        /* No aggregator configured: batch with aggregator_default's defaults. */
        aggs = pt_calloc(1, sizeof(*aggs));
        const pt_plugin_t *def = pt_plugin_find("aggregator_default");
        if (aggs == NULL || def == NULL) {
            goto fail;
        }
        pt_node_t empty = {.type = PT_NODE_MAP};
        if (inst_init(p, aggs, def, &empty, 0, 1, o, d) != 0) {
            rc = -EINVAL;
        }
        naggs = 1;
    }
    p->aggregator = aggs;
    if (naggs > 1) {
        for (int i = 1; i < naggs; i++) {
            inst_destroy(&aggs[i]);
        }
    }
    if (rc == 0 && p->ninputs == 0) {
        pt_cfg_error(d, root->line, "inputs", "a pipeline needs at least one input");
        rc = -EINVAL;
    }
    if (rc == 0 && p->nflushers == 0) {
        pt_cfg_error(d, root->line, "flushers", "a pipeline needs at least one flusher");
        rc = -EINVAL;
    }
    if (rc != 0 || d->nerrors > 0) {
        goto fail;
    }

    p->frt = pt_calloc((size_t)p->nflushers, sizeof(*p->frt));
    p->nshards = o->nshards > 0 ? o->nshards : 1;
    p->shards = pt_calloc((size_t)p->nshards, sizeof(*p->shards));
    if (p->frt == NULL || p->shards == NULL) {
        goto fail;
    }
    for (int i = 0; i < p->nflushers; i++) {
        p->frt[i].cap_bytes = o->sender_cap;
    }
    for (int i = 0; i < p->nshards; i++) {
        p->shards[i].p = p;
    }
    const pt_batch_conf_t *bc = p->aggregator->config;
    p->batch_max_events = bc->max_events > 0 ? (uint32_t)bc->max_events : 4096;
    p->batch_max_bytes = bc->max_bytes > 0 ? (uint64_t)bc->max_bytes : (1u << 20);
    p->batch_timeout_ns = (uint64_t)(bc->timeout_ms >= 0 ? bc->timeout_ms : 1000) * 1000000ull;
    p->batch_by_tags = bc->group_by_tags;
    p->batch_hard_max = UINT64_MAX;
    /* A pipeline batches once, for all its flushers: a flusher's Batch.* lowers the limits. */
    for (int i = 0; i < p->nflushers; i++) {
        const pt_plugin_inst_t *f = &p->flushers[i];
        if (f->plugin->delivery_offset == 0) {
            continue;
        }
        const pt_delivery_conf_t *dc =
            (const pt_delivery_conf_t *)((const char *)f->config + f->plugin->delivery_offset - 1);
        if (dc->batch_min_cnt > 0 && (uint32_t)dc->batch_min_cnt < p->batch_max_events) {
            p->batch_max_events = (uint32_t)dc->batch_min_cnt;
        }
        if (dc->batch_min_bytes > 0 && (uint64_t)dc->batch_min_bytes < p->batch_max_bytes) {
            p->batch_max_bytes = (uint64_t)dc->batch_min_bytes;
        }
        if (dc->batch_max_bytes > 0 && (uint64_t)dc->batch_max_bytes < p->batch_hard_max) {
            p->batch_hard_max = (uint64_t)dc->batch_max_bytes;
        }
        uint64_t tns = (uint64_t)dc->batch_timeout_secs * 1000000000ull;
        if (tns > 0 && tns < p->batch_timeout_ns) {
            p->batch_timeout_ns = tns;
        }
    }
    /* With one batch per tag set, many sources mean many open batches: together they hold at
     * most a few batches' worth, the oldest going out first beyond it. */
    p->batch_open_cap = p->batch_max_bytes * 2;
    p->batch_open_max = 256;
    p->high_watermark = o->high_watermark;
    p->low_watermark = o->high_watermark / 2;
    pt_buf_t lb;
    pt_buf_init(&lb);
    pt_metrics_label_append(&lb, "pipeline", p->name);
    pt_buf_putc(&lb, '\0');
    const char *labels = lb.data ? lb.data : "";
    p->m_queue_bytes = pt_gauge_new("petrel_pipeline_queue_bytes",
                                    "Bytes waiting in the process queue", labels);
    p->m_groups_in =
        pt_counter_new("petrel_pipeline_groups_in_total", "Event groups accepted", labels);
    p->m_events_dropped = pt_counter_new("petrel_pipeline_events_dropped_total",
                                         "Events dropped in the pipeline (all reasons)", labels);
    pt_buf_free(&lb);
    return p;

fail:
    pt_pipeline_destroy(p);
    return NULL;
}

pt_pipeline_t *pt_pipeline_build(const char *file, const char *name, const pt_pipeline_opts_t *o,
                                 pt_cfg_diag_t *d)
{
    pt_node_err_t err;
    pt_node_t *tree = pt_node_parse_file_ex(file, &err);
    if (tree == NULL) {
        pt_cfg_error(d, err.line, NULL, "%s", err.reason);
        return NULL;
    }
    return pt_pipeline_build_tree(tree, file, name, o, d);
}

const char *pt_pipeline_name(const pt_pipeline_t *p)
{
    return p->name;
}

static void on_resume_closed(uv_handle_t *h)
{
    pt_free(h);
}

void pt_pipeline_destroy(pt_pipeline_t *p)
{
    if (p == NULL) {
        return;
    }
    int was_started = p->state != PT_PIPE_BUILT;
    if (was_started) {
        pt_sched_remove(p);
        pt_pipeline_stop_flushers(p);
        uv_close((uv_handle_t *)p->resume_async, on_resume_closed);
    }
    for (int i = 0; i < p->ninputs; i++) {
        inst_destroy(&p->inputs[i]);
    }
    for (int i = 0; i < p->nprocessors; i++) {
        inst_destroy(&p->processors[i]);
    }
    if (p->aggregator != NULL) {
        inst_destroy(p->aggregator);
    }
    for (int i = 0; i < p->nflushers; i++) {
        inst_destroy(&p->flushers[i]);
    }
    pt_free(p->inputs);
    pt_free(p->processors);
    pt_free(p->aggregator);
    pt_free(p->flushers);
    pt_free(p->frt);
    if (p->shards != NULL) {
        for (int i = 0; i < p->nshards; i++) {
            pt_batcher_free(&p->shards[i]);
        }
    }
    pt_free(p->shards);
    pt_plugin_gauge_free(p->m_queue_bytes);
    pt_plugin_counter_free(p->m_groups_in);
    pt_plugin_counter_free(p->m_events_dropped);
    pt_node_free(p->tree);
    pt_buf_free(&p->source);
    pt_free(p->name);
    pt_free(p->file);
    pt_free(p);
}
