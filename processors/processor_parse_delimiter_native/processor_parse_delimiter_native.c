/* processor_parse_delimiter_native: splits SourceKey on Separator (CSV-like quoting with Quote
 * for a one-character separator) and names the columns with Keys, as LoongCollector's processor
 * of the same name, including its rules for short lines (AllowingShortenedFields) and extra
 * columns (OverflowedFieldsTreatment). Columns are views into the line. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "core/mem.h"
#include "core/plugin.h"
#include "delimiter_internal.h"
#include "processors/common/parser_options.h"

typedef struct {
    pt_parser_conf_t common;
    char *separator;
    char *quote;
    pt_strlist_t keys;
    int allow_short;
    char *overflow;
} dl_conf_t;

static const pt_cfg_field_t dl_map[] = {
    PT_PARSER_CONF_FIELDS(dl_conf_t, common),
    {"Separator", PT_CFG_STRING, NULL, 0, 0, NULL, PT_CFG_REQUIRED, offsetof(dl_conf_t, separator),
     NULL, "Column separator, 1 to 4 characters; the two characters \\t stand for a tab"},
    {"Quote", PT_CFG_STRING, "\"", 0, 0, NULL, 0, offsetof(dl_conf_t, quote), NULL,
     "Quote character for fields that contain the separator (a doubled quote is a literal "
     "quote); used only with a one-character Separator"},
    {"Keys", PT_CFG_STRLIST, NULL, 0, 0, NULL, PT_CFG_REQUIRED | PT_CFG_COMMA,
     offsetof(dl_conf_t, keys), NULL, "Field names for the columns, in order"},
    {"AllowingShortenedFields", PT_CFG_BOOL, "true", 0, 0, NULL, 0,
     offsetof(dl_conf_t, allow_short), NULL,
     "Accept lines with fewer columns than Keys (otherwise they fail to parse)"},
    {"OverflowedFieldsTreatment", PT_CFG_STRING, "extend", 0, 0, "extend|keep|discard", 0,
     offsetof(dl_conf_t, overflow), NULL,
     "Columns beyond Keys: extend (each becomes __column<i>__, i counted from 0 over all "
     "columns), keep (the rest of the line from its separator on becomes __column<N>__, N = "
     "number of Keys), discard (dropped; a key named _ also drops its column)"},
};

/* Names of the first extra columns, made once; beyond them names are made in the arena. */
#define DL_NAMED_EXTRA 64

typedef struct {
    pt_parser_t parser;
    pt_delim_t d;
    pt_str_t *keys;
    uint32_t nkeys;
    int allow_short;
    unsigned flags;
    uint8_t *skip;   /* DISCARD: 1 for keys named "_" */
    pt_str_t *extra; /* names of columns nkeys .. nkeys + DL_NAMED_EXTRA - 1 */
    char *extra_buf;
} dl_state_t;

static void dl_destroy(pt_plugin_inst_t *inst)
{
    dl_state_t *s = inst->state;
    if (s != NULL) {
        pt_parser_close(&s->parser);
        pt_free(s->keys);
        pt_free(s->skip);
        pt_free(s->extra);
        pt_free(s->extra_buf);
        pt_free(s);
    }
    inst->state = NULL;
}

/* LoongCollector's name for an extra column: its index among all columns. */
static int column_name(char *buf, size_t size, uint32_t idx)
{
    return snprintf(buf, size, "__column%u__", idx);
}

static int dl_separator(dl_state_t *s, const dl_conf_t *c, const pt_plugin_inst_t *inst,
                        pt_cfg_diag_t *d)
{
    const char *sep = c->separator;
    if (sep == NULL || sep[0] == '\0') {
        pt_cfg_error(d, inst->line, "Separator", "must not be empty");
        return -EINVAL;
    }
    /* LoongCollector's compatibility rule: the two characters \t mean a tab. */
    if (strcmp(sep, "\\t") == 0) {
        sep = "\t";
    }
    size_t n = strlen(sep);
    if (n > sizeof(s->d.sep)) {
        pt_cfg_error(d, inst->line, "Separator", "must be 1 to 4 characters, got %zu", n);
        return -EINVAL;
    }
    memcpy(s->d.sep, sep, n);
    s->d.seplen = (uint8_t)n;

    const char *q = c->quote != NULL && c->quote[0] != '\0' ? c->quote : "\"";
    if (strlen(q) > 1) {
        pt_cfg_error(d, inst->line, "Quote", "must be a single character, got %zu", strlen(q));
        return -EINVAL;
    }
    s->d.quote = q[0];
    if (n > 1) {
        if (q[0] != '"') {
            pt_cfg_warn(d, inst->line, "Quote",
                        "ignored: quoting applies only to a one-character Separator");
        }
        s->d.use_quote = 0;
    } else if (q[0] == sep[0]) {
        pt_cfg_warn(d, inst->line, "Quote", "equals Separator: fields are not unquoted");
        s->d.use_quote = 0;
    } else {
        s->d.use_quote = 1;
    }
    return 0;
}

static int dl_create(pt_plugin_inst_t *inst, const pt_plugin_env_t *env, pt_cfg_diag_t *d)
{
    dl_conf_t *c = inst->config;
    int rc;
    dl_state_t *s = pt_calloc(1, sizeof(*s));
    if (s == NULL) {
        return -ENOMEM;
    }
    inst->state = s;
    rc = pt_parser_init(&s->parser, &c->common, inst, d);
    if (rc != 0) {
        goto fail;
    }
    rc = dl_separator(s, c, inst, d);
    if (rc != 0) {
        goto fail;
    }
    rc = pt_parser_keys(&c->keys, inst, d, &s->keys, &s->nkeys);
    if (rc != 0) {
        goto fail;
    }
    s->d.nkeys = s->nkeys;
    s->allow_short = c->allow_short;
    const char *ov = c->overflow != NULL ? c->overflow : "extend";
    s->d.overflow = strcmp(ov, "keep") == 0      ? PT_DELIM_KEEP
                    : strcmp(ov, "discard") == 0 ? PT_DELIM_DISCARD
                                                 : PT_DELIM_EXTEND;

    /* Plain appends are safe when no two output names can be equal: distinct keys, and none
     * that looks like an extra column's name. */
    s->flags = pt_parser_keys_unique(s->keys, s->nkeys) ? PT_PARSER_UNIQUE : 0;
    rc = -ENOMEM;
    s->skip = pt_calloc(s->nkeys, 1);
    if (s->skip == NULL) {
        goto fail;
    }
    for (uint32_t i = 0; i < s->nkeys; i++) {
        if (s->keys[i].len >= 8 && memcmp(s->keys[i].ptr, "__column", 8) == 0) {
            s->flags = 0;
        }
        s->skip[i] = s->d.overflow == PT_DELIM_DISCARD && pt_str_eq_c(s->keys[i], "_");
    }
    size_t per = sizeof("__column4294967295__");
    s->extra = pt_calloc(DL_NAMED_EXTRA, sizeof(*s->extra));
    s->extra_buf = pt_malloc(per * DL_NAMED_EXTRA);
    if (s->extra == NULL || s->extra_buf == NULL) {
        goto fail;
    }
    for (uint32_t i = 0; i < DL_NAMED_EXTRA; i++) {
        char *b = s->extra_buf + per * i;
        int n = column_name(b, per, s->nkeys + i);
        s->extra[i] = pt_str(b, (size_t)n);
    }
    return 0;

fail:
    dl_destroy(inst);
    return rc;
}

static pt_str_t extra_name(const dl_state_t *s, pt_group_t *g, uint32_t idx)
{
    if (idx - s->nkeys < DL_NAMED_EXTRA) {
        return s->extra[idx - s->nkeys];
    }
    char buf[32];
    int n = column_name(buf, sizeof(buf), idx);
    return pt_arena_strdup(g->arena, buf, (size_t)n);
}

#define DL_STACK_COLS 64

static int dl_process(pt_plugin_inst_t *inst, pt_group_t *g)
{
    const dl_state_t *s = inst->state;
    pt_parser_stats_t st = {0, 0, 0};
    pt_str_t colstack[DL_STACK_COLS];
    pt_field_t fstack[DL_STACK_COLS];
    pt_field_t *f = fstack;
    uint32_t fcap = DL_STACK_COLS;
    int rc = 0;

    for (uint32_t i = 0; i < g->nevents; i++) {
        pt_event_t *ev = &g->events[i];
        pt_str_t src;
        if (pt_parser_source(&s->parser, ev, &src, &st) != 0) {
            continue;
        }
        /* LoongCollector trims trailing spaces and \r and leading spaces; a value with nothing
         * else is a failure that leaves the event as it is. */
        const char *b = src.ptr;
        const char *e = src.ptr + src.len;
        while (e > b && (e[-1] == ' ' || e[-1] == '\r')) {
            e--;
        }
        while (b < e && *b == ' ') {
            b++;
        }
        if (b == e) {
            st.failed++;
            continue;
        }
        pt_delim_cols_t cols = {colstack, 0, DL_STACK_COLS, g->arena};
        int sr = pt_delim_split(&s->d, b, (size_t)(e - b), &cols);
        if (sr == -ENOMEM) {
            rc = sr;
            break;
        }
        int ok = sr == 0 && cols.n > 0 && (s->allow_short || cols.n >= s->nkeys);
        uint32_t nf = 0;
        if (ok) {
            if (cols.n > fcap) {
                f = pt_arena_alloc(g->arena, sizeof(*f) * cols.n);
                if (f == NULL) {
                    rc = -ENOMEM;
                    break;
                }
                fcap = cols.n;
            }
            for (uint32_t k = 0; k < cols.n; k++) {
                if (k < s->nkeys) {
                    if (s->skip[k]) {
                        continue;
                    }
                    f[nf].key = s->keys[k];
                } else if (s->d.overflow == PT_DELIM_DISCARD) {
                    break;
                } else {
                    f[nf].key = extra_name(s, g, k);
                    if (f[nf].key.ptr == NULL) {
                        rc = -ENOMEM;
                        break;
                    }
                }
                f[nf].val = cols.v[k];
                nf++;
            }
            if (rc != 0) {
                break;
            }
        }
        rc = pt_parser_apply(&s->parser, g, ev, src, ok, f, nf, s->flags, &st);
        if (rc != 0) {
            break;
        }
    }
    pt_parser_stats_flush(&s->parser, inst, &st);
    return rc;
}

const pt_plugin_t pt_plugin_processor_parse_delimiter_native = {
    .name = "processor_parse_delimiter_native",
    .kind = PT_PLUGIN_PROCESSOR,
    .description = "Splits a field on a separator (CSV-like quoting) into the fields named by Keys",
    .config_map = dl_map,
    .config_n = sizeof(dl_map) / sizeof(dl_map[0]),
    .config_size = sizeof(dl_conf_t),
    .create = dl_create,
    .destroy = dl_destroy,
    .process = dl_process,
};
