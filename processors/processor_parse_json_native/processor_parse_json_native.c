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
#include "processors/common/parser_options.h"

typedef struct {
    pt_parser_conf_t common;
} pj_conf_t;

static const pt_cfg_field_t pj_map[] = {
    PT_PARSER_CONF_FIELDS(pj_conf_t, common),
};

typedef struct {
    pt_parser_t parser;
} pj_state_t;

static int pj_create(pt_plugin_inst_t *inst, const pt_plugin_env_t *env, pt_cfg_diag_t *d)
{
    pj_conf_t *c = inst->config;
    pj_state_t *s = pt_calloc(1, sizeof(*s));
    if (s == NULL) {
        return -ENOMEM;
    }
    int rc = pt_parser_init(&s->parser, &c->common, inst, d);
    if (rc != 0) {
        pt_free(s);
        return rc;
    }
    inst->state = s;
    return 0;
}

static void pj_destroy(pt_plugin_inst_t *inst)
{
    pj_state_t *s = inst->state;
    if (s != NULL) {
        pt_parser_close(&s->parser);
        pt_free(s);
    }
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

static int pj_process(pt_plugin_inst_t *inst, pt_group_t *g)
{
    const pj_state_t *s = inst->state;
    pt_field_t stack[PJ_STACK_MEMBERS];
    pt_parser_stats_t st = {0, 0, 0};
    int rc = 0;

    for (uint32_t i = 0; i < g->nevents; i++) {
        pt_event_t *ev = &g->events[i];
        pt_str_t raw;
        if (pt_parser_source(&s->parser, ev, &raw, &st) != 0) {
            continue;
        }
        pj_collect_t col = {g, stack, 0, PJ_STACK_MEMBERS, 0};
        rc = pt_json_object_foreach_lax(raw.ptr, raw.len, on_member, &col, NULL);
        if (rc == -ENOMEM) {
            break;
        }
        /* A JSON object may repeat a key (the last value wins, in the first one's place), so
         * the members are set one by one rather than appended. */
        rc = pt_parser_apply(&s->parser, g, ev, raw, rc == 0, col.m, col.n, 0, &st);
        if (rc != 0) {
            break;
        }
    }
    pt_parser_stats_flush(&s->parser, inst, &st);
    return rc;
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
