/* processor_parse_regex_native: matches SourceKey against Regex (the whole value, as
 * LoongCollector's boost::regex_match does) and turns the capture groups into the fields named by
 * Keys. PCRE2 with JIT through core/regex (match state per worker thread); the captured values
 * are views into the line. The regex "(.*)" takes the whole value without running the matcher,
 * as LoongCollector does. */
#include <stddef.h>
#include <string.h>

#include "core/log.h"
#include "core/mem.h"
#include "core/plugin.h"
#include "core/regex.h"
#include "processors/common/parser_options.h"

typedef struct {
    pt_parser_conf_t common;
    char *regex;
    pt_strlist_t keys;
} rx_conf_t;

static const pt_cfg_field_t rx_map[] = {
    PT_PARSER_CONF_FIELDS(rx_conf_t, common),
    {"Regex", PT_CFG_STRING, NULL, 0, 0, NULL, PT_CFG_REQUIRED, offsetof(rx_conf_t, regex), NULL,
     "Regular expression (PCRE2) that must match the whole value; one capture group per key"},
    {"Keys", PT_CFG_STRLIST, NULL, 0, 0, NULL, PT_CFG_REQUIRED | PT_CFG_COMMA,
     offsetof(rx_conf_t, keys), NULL, "Field names for the capture groups, in order"},
};

typedef struct {
    pt_parser_t parser;
    pt_regex_t *re;
    int whole_line; /* Regex is exactly "(.*)" */
    unsigned flags; /* PT_PARSER_UNIQUE when the keys are distinct */
    uint32_t nkeys;
    pt_str_t *keys; /* views into the config strings */
} rx_state_t;

/* ============================================================================ create ===== */

static void rx_destroy(pt_plugin_inst_t *inst)
{
    rx_state_t *s = inst->state;
    if (s != NULL) {
        pt_parser_close(&s->parser);
        pt_regex_free(s->re);
        pt_free(s->keys);
        pt_free(s);
    }
    inst->state = NULL;
}

static int rx_create(pt_plugin_inst_t *inst, const pt_plugin_env_t *env, pt_cfg_diag_t *d)
{
    rx_conf_t *c = inst->config;
    int rc = -ENOMEM;
    rx_state_t *s = pt_calloc(1, sizeof(*s));
    if (s == NULL) {
        return -ENOMEM;
    }
    inst->state = s;
    rc = pt_parser_init(&s->parser, &c->common, inst, d);
    if (rc != 0) {
        goto fail;
    }
    rc = pt_parser_keys(&c->keys, inst, d, &s->keys, &s->nkeys);
    if (rc != 0) {
        goto fail;
    }
    /* A repeated key: the later capture wins, so fields are set one by one. */
    s->flags = pt_parser_keys_unique(s->keys, s->nkeys) ? PT_PARSER_UNIQUE : 0;
    if (c->regex == NULL || c->regex[0] == '\0') {
        pt_cfg_error(d, inst->line, "Regex", "must not be empty");
        rc = -EINVAL;
        goto fail;
    }

    /* A full match, as boost::regex_match; with Boost's defaults ('.' matches a newline, '^'
     * and '$' match at line breaks), so multi-line events parse as in LoongCollector. The
     * subject is matched as bytes (no UTF mode), as boost::regex does, so a stray byte that is
     * not UTF-8 never makes a line unmatchable; a pattern can opt in with (*UTF). */
    char err[256];
    size_t off = 0;
    s->re = pt_regex_compile(c->regex, strlen(c->regex), PT_RE_FULL | PT_RE_BOOST, err, sizeof(err),
                             &off);
    if (s->re == NULL) {
        if (strcmp(err, "out of memory") == 0) {
            rc = -ENOMEM;
            goto fail;
        }
        pt_cfg_error(d, inst->line, "Regex", "invalid regex at offset %zu: %s", off, err);
        rc = -EINVAL;
        goto fail;
    }
    uint32_t ncap = pt_regex_groups(s->re);
    if (ncap != s->nkeys) {
        pt_cfg_error(d, inst->line, "Keys",
                     "%u key(s) given but Regex has %u capture group(s); they must be equal",
                     s->nkeys, ncap);
        rc = -EINVAL;
        goto fail;
    }
    s->whole_line = strcmp(c->regex, "(.*)") == 0;
    return 0;

fail:
    rx_destroy(inst);
    return rc;
}

/* =========================================================================== process ===== */

#define RX_STACK_FIELDS 32

static int rx_process(pt_plugin_inst_t *inst, pt_group_t *g)
{
    const rx_state_t *s = inst->state;
    pt_parser_stats_t st = {0, 0, 0};
    pt_field_t fstack[RX_STACK_FIELDS];
    size_t ovstack[2 * (RX_STACK_FIELDS + 1)];
    pt_field_t *f = fstack;
    size_t *ov = ovstack;
    uint64_t gave_up = 0;
    int rc = 0;

    if (s->nkeys > RX_STACK_FIELDS) {
        f = pt_arena_alloc(g->arena, sizeof(*f) * s->nkeys);
        ov = pt_arena_alloc(g->arena, sizeof(*ov) * 2 * (s->nkeys + 1));
        if (f == NULL || ov == NULL) {
            return -ENOMEM;
        }
    }
    for (uint32_t i = 0; i < s->nkeys; i++) {
        f[i].key = s->keys[i];
    }

    for (uint32_t i = 0; i < g->nevents; i++) {
        pt_event_t *ev = &g->events[i];
        pt_str_t src;
        if (pt_parser_source(&s->parser, ev, &src, &st) != 0) {
            continue;
        }
        int ok = 1;
        if (s->whole_line) {
            f[0].val = src;
        } else {
            int m = pt_regex_match(s->re, src.ptr, src.len, 0, ov, s->nkeys + 1);
            if (m == -ENOMEM) {
                rc = m;
                break;
            }
            if (m == 1) {
                for (uint32_t k = 0; k < s->nkeys; k++) {
                    size_t a = ov[2 * (k + 1)];
                    size_t b = ov[2 * (k + 1) + 1];
                    /* A group that did not take part in the match is an empty value, as boost
                     * gives for it. */
                    f[k].val = a == PT_RE_UNSET ? pt_str(src.ptr, 0) : pt_str(src.ptr + a, b - a);
                }
            } else {
                ok = 0;
                gave_up += m == -E2BIG; /* a backtracking limit: a failure all the same */
            }
        }
        rc = pt_parser_apply(&s->parser, g, ev, src, ok, f, s->nkeys, s->flags, &st);
        if (rc != 0) {
            break;
        }
    }
    if (gave_up > 0) {
        PT_LOG(PT_LOG_WARN, s->parser.id,
               "%llu line(s) not parsed: the regex hit its backtracking limit on them",
               (unsigned long long)gave_up);
    }
    pt_parser_stats_flush(&s->parser, inst, &st);
    return rc;
}

const pt_plugin_t pt_plugin_processor_parse_regex_native = {
    .name = "processor_parse_regex_native",
    .kind = PT_PLUGIN_PROCESSOR,
    .description = "Extracts fields from a field with the capture groups of a regular expression",
    .config_map = rx_map,
    .config_n = sizeof(rx_map) / sizeof(rx_map[0]),
    .config_size = sizeof(rx_conf_t),
    .create = rx_create,
    .destroy = rx_destroy,
    .process = rx_process,
};
