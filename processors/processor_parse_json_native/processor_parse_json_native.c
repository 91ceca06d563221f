/* processor_parse_json_native: parses the JSON object in SourceKey into first-level fields, as
 * LoongCollector's processor of the same name. Keys and string values are views into the line
 * (decoded into the group's arena only when they contain escapes); nested objects, arrays,
 * numbers and literals keep their JSON text as the value. */
#include <stddef.h>
#include <string.h>

#include "core/json.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/plugin.h"

typedef struct {
    char *source_key;
    int keep_source_fail;
    int keep_source_succeed;
    char *renamed_source_key;
    int coping_raw_log;
} pj_conf_t;

static const pt_cfg_field_t pj_map[] = {
    {"SourceKey", PT_CFG_STRING, NULL, 0, 0, NULL, PT_CFG_REQUIRED,
     offsetof(pj_conf_t, source_key), NULL, "Field holding the JSON text (content for raw lines)"},
    {"KeepingSourceWhenParseFail", PT_CFG_BOOL, "false", 0, 0, NULL, 0,
     offsetof(pj_conf_t, keep_source_fail), NULL,
     "When parsing fails, keep the source text (under RenamedSourceKey)"},
    {"KeepingSourceWhenParseSucceed", PT_CFG_BOOL, "false", 0, 0, NULL, 0,
     offsetof(pj_conf_t, keep_source_succeed), NULL,
     "When parsing succeeds, keep the source text (under RenamedSourceKey)"},
    {"RenamedSourceKey", PT_CFG_STRING, NULL, 0, 0, NULL, 0,
     offsetof(pj_conf_t, renamed_source_key), NULL,
     "Field name for the kept source text; default: SourceKey"},
    {"CopingRawLog", PT_CFG_BOOL, "false", 0, 0, NULL, 0, offsetof(pj_conf_t, coping_raw_log),
     NULL, "When parsing fails and the source is kept, also copy it to __raw_log__"},
};

typedef struct {
    const pj_conf_t *c;
    pt_str_t source;
    pt_str_t renamed;
    const char *id;
} pj_state_t;

static int pj_create(pt_plugin_inst_t *inst, const pt_plugin_env_t *env, pt_cfg_diag_t *d)
{
    pj_conf_t *c = inst->config;
    if (c->source_key == NULL || c->source_key[0] == '\0') {
        pt_cfg_error(d, inst->line, "SourceKey", "must not be empty");
        return -EINVAL;
    }
    pj_state_t *s = pt_calloc(1, sizeof(*s));
    if (s == NULL) {
        return -ENOMEM;
    }
    s->c = c;
    s->source = pt_str_c(c->source_key);
    s->renamed = (c->renamed_source_key != NULL && c->renamed_source_key[0] != '\0')
                     ? pt_str_c(c->renamed_source_key)
                     : s->source;
    s->id = inst->id;
    inst->state = s;
    return 0;
}

static void pj_destroy(pt_plugin_inst_t *inst)
{
    pt_free(inst->state);
    inst->state = NULL;
}

#define PJ_STACK_MEMBERS 64

/* Members are collected first and applied only when the whole document is valid, so a late
 * syntax error leaves the event untouched. */
typedef struct {
    pt_group_t *g;
    pt_field_t *m;
    uint32_t n;
    uint32_t cap;
    int err;
} pj_collect_t;

static pt_str_t decode(pt_group_t *g, pt_str_t raw, int escaped, int *err)
{
    if (!escaped) {
        return raw;
    }
    char *out = pt_arena_alloc(g->arena, raw.len ? raw.len : 1);
    if (out == NULL) {
        *err = -ENOMEM;
        return PT_STR_NULL;
    }
    int n = pt_json_unescape(raw.ptr, raw.len, out);
    if (n < 0) {
        *err = n;
        return PT_STR_NULL;
    }
    return pt_str(out, (size_t)n);
}

static int on_member(void *ctx, pt_str_t key, int key_escaped, const pt_json_value_t *val)
{
    pj_collect_t *c = ctx;
    if (c->n == c->cap) {
        uint32_t ncap = c->cap * 2;
        pt_field_t *nm = pt_arena_alloc(c->g->arena, sizeof(*nm) * ncap);
        if (nm == NULL) {
            return -ENOMEM;
        }
        memcpy(nm, c->m, sizeof(*nm) * c->n);
        c->m = nm;
        c->cap = ncap;
    }
    pt_field_t *f = &c->m[c->n++];
    f->key = decode(c->g, key, key_escaped, &c->err);
    if (val->type == PT_JSON_STRING) {
        f->val = decode(c->g, val->raw, val->escaped, &c->err);
    } else {
        f->val = val->raw;
    }
    return c->err;
}

/* LoongCollector adds the kept source and __raw_log__ without overwriting an existing field. */
static int add_if_absent(pt_group_t *g, pt_event_t *ev, pt_str_t key, pt_str_t val)
{
    if (pt_event_get(ev, key) != NULL) {
        return 0;
    }
    return pt_event_append(g, ev, key, val);
}

static int pj_process(pt_plugin_inst_t *inst, pt_group_t *g)
{
    const pj_state_t *s = inst->state;
    const pj_conf_t *c = s->c;
    pt_field_t stack[PJ_STACK_MEMBERS];
    uint64_t failures = 0;
    uint64_t erased = 0;

    for (uint32_t i = 0; i < g->nevents; i++) {
        pt_event_t *ev = &g->events[i];
        if (ev->flags & PT_EVENT_F_DROPPED) {
            continue;
        }
        if (ev->type == PT_EVENT_RAW) {
            if (!pt_str_eq_c(s->source, "content")) {
                continue; /* a raw line has no other field */
            }
            if (pt_event_to_log(g, ev) != 0) {
                return -ENOMEM;
            }
        }
        const pt_str_t *src = pt_event_get(ev, s->source);
        if (src == NULL) {
            continue;
        }
        pt_str_t raw = *src;
        pj_collect_t col = {g, stack, 0, PJ_STACK_MEMBERS, 0};
        int rc = pt_json_object_foreach_lax(raw.ptr, raw.len, on_member, &col, NULL);
        if (rc == -ENOMEM) {
            return rc;
        }
        int ok = rc == 0;
        if (ok) {
            int overwritten = 0;
            for (uint32_t k = 0; k < col.n; k++) {
                overwritten |= pt_str_eq(col.m[k].key, s->source);
            }
            if (!overwritten) {
                pt_event_del(ev, s->source);
            }
            for (uint32_t k = 0; k < col.n; k++) {
                if (pt_event_set(g, ev, col.m[k].key, col.m[k].val) != 0) {
                    return -ENOMEM;
                }
            }
            if (c->keep_source_succeed && add_if_absent(g, ev, s->renamed, raw) != 0) {
                return -ENOMEM;
            }
            continue;
        }
        failures++;
        pt_event_del(ev, s->source);
        if (c->keep_source_fail) {
            if (add_if_absent(g, ev, s->renamed, raw) != 0) {
                return -ENOMEM;
            }
            if (c->coping_raw_log &&
                add_if_absent(g, ev, PT_STR_LIT("__raw_log__"), raw) != 0) {
                return -ENOMEM;
            }
        } else if (ev->nfields == 0) {
            ev->flags |= PT_EVENT_F_DROPPED;
            erased++;
        }
    }
    if (failures > 0) {
        pt_counter_add(inst->m.errors, failures);
        PT_LOG(PT_LOG_DEBUG, s->id, "%llu event(s) failed to parse (%llu discarded)",
               (unsigned long long)failures, (unsigned long long)erased);
    }
    return 0;
}

const pt_plugin_t pt_plugin_processor_parse_json_native = {
    .name = "processor_parse_json_native",
    .kind = PT_PLUGIN_PROCESSOR,
    .description = "Parses a JSON object field into first-level fields",
    .config_map = pj_map,
    .config_n = sizeof(pj_map) / sizeof(pj_map[0]),
    .config_size = sizeof(pj_conf_t),
    .create = pj_create,
    .destroy = pj_destroy,
    .process = pj_process,
};
