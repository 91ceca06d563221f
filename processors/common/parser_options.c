/* The common parser options and the one place where LoongCollector's rules for the source
 * field, the kept source, __raw_log__ and discarded events are applied (its
 * CommonParserOptions plus the tail of each parser's ProcessEvent). */
#include "parser_options.h"

#include <string.h>

#include "core/log.h"
#include "core/mem.h"

static const pt_str_t raw_log_key = PT_STR_LIT("__raw_log__");
static const pt_str_t content_key = PT_STR_LIT("content");

int pt_parser_init(pt_parser_t *p, const pt_parser_conf_t *c, const pt_plugin_inst_t *inst,
                   pt_cfg_diag_t *d)
{
    memset(p, 0, sizeof(*p));
    if (c->source_key == NULL || c->source_key[0] == '\0') {
        pt_cfg_error(d, inst->line, "SourceKey", "must not be empty");
        return -EINVAL;
    }
    p->source = pt_str_c(c->source_key);
    /* LoongCollector: an empty RenamedSourceKey means "keep the name". */
    p->renamed = (c->renamed_source_key != NULL && c->renamed_source_key[0] != '\0')
                     ? pt_str_c(c->renamed_source_key)
                     : p->source;
    p->keep_fail = c->keep_source_fail != 0;
    p->keep_succeed = c->keep_source_succeed != 0;
    p->copy_raw = c->coping_raw_log != 0;
    p->source_is_content = pt_str_eq(p->source, content_key);
    p->id = inst->id;
    /* Plugin tests build instances without a pipeline: they read the local counters. */
    if (inst->pipeline != NULL) {
        p->failures = pt_plugin_counter(inst, "petrel_plugin_parse_failures_total",
                                        "Events whose source field did not parse");
        p->missing = pt_plugin_counter(inst, "petrel_plugin_source_missing_total",
                                       "Events without the parser's source field (untouched)");
    } else {
        p->failures = &p->local[0];
        p->missing = &p->local[1];
    }
    return 0;
}

void pt_parser_close(pt_parser_t *p)
{
    if (p->failures != NULL && p->failures != &p->local[0]) {
        pt_plugin_counter_free(p->failures);
    }
    if (p->missing != NULL && p->missing != &p->local[1]) {
        pt_plugin_counter_free(p->missing);
    }
    p->failures = NULL;
    p->missing = NULL;
}

int pt_parser_source(const pt_parser_t *p, const pt_event_t *ev, pt_str_t *val,
                     pt_parser_stats_t *st)
{
    if (ev->flags & PT_EVENT_F_DROPPED) {
        return PT_DECLINED;
    }
    if (ev->type == PT_EVENT_RAW) {
        if (!p->source_is_content) {
            st->missing++; /* a raw line has no other field */
            return PT_DECLINED;
        }
        *val = ev->raw;
        return 0;
    }
    if (ev->type != PT_EVENT_LOG) {
        return PT_DECLINED; /* LoongCollector's parsers take log events only */
    }
    const pt_str_t *v = pt_event_get(ev, p->source);
    if (v == NULL) {
        st->missing++;
        return PT_DECLINED;
    }
    *val = *v;
    return 0;
}

int pt_parser_reserve(pt_group_t *g, pt_event_t *ev, uint32_t extra)
{
    if (ev->capfields - ev->nfields >= extra) {
        return 0;
    }
    uint32_t cap = ev->nfields + extra;
    cap = cap < 8 ? 8 : cap;
    pt_field_t *nf = pt_arena_alloc(g->arena, sizeof(*nf) * cap);
    if (nf == NULL) {
        return -ENOMEM;
    }
    if (ev->nfields > 0) {
        memcpy(nf, ev->fields, sizeof(*nf) * ev->nfields);
    }
    ev->fields = nf;
    ev->capfields = cap;
    return 0;
}

/* LoongCollector adds the kept source and __raw_log__ with overwritten = false. */
static int add_if_absent(pt_group_t *g, pt_event_t *ev, pt_str_t key, pt_str_t val)
{
    if (pt_event_get(ev, key) != NULL) {
        return 0;
    }
    return pt_event_append(g, ev, key, val);
}

int pt_parser_apply(const pt_parser_t *p, pt_group_t *g, pt_event_t *ev, pt_str_t src, int ok,
                    const pt_field_t *f, uint32_t n, unsigned flags, pt_parser_stats_t *st)
{
    int overwritten = 0;
    if (ok) {
        for (uint32_t i = 0; i < n; i++) {
            if (pt_str_eq(f[i].key, p->source)) {
                overwritten = 1;
                break;
            }
        }
    } else {
        n = 0;
    }
    /* Room for the parsed fields plus the kept source and __raw_log__: one allocation. */
    uint32_t room = n + 2;
    if (ev->type == PT_EVENT_RAW) {
        /* The raw line becomes a log event. Its only field, content, is the source: it is
         * written only when a parsed key is going to overwrite it in place. */
        pt_field_t *nf = pt_arena_alloc(g->arena, sizeof(*nf) * (room + 1));
        if (nf == NULL) {
            return -ENOMEM;
        }
        ev->fields = nf;
        ev->capfields = room + 1;
        ev->nfields = 0;
        if (overwritten) {
            nf[0].key = content_key;
            nf[0].val = src;
            ev->nfields = 1;
        }
        ev->type = PT_EVENT_LOG;
        ev->raw = PT_STR_NULL;
    } else {
        if (!overwritten) {
            pt_event_del(ev, p->source);
        }
        if (pt_parser_reserve(g, ev, room) != 0) {
            return -ENOMEM;
        }
    }
    if (ok) {
        if ((flags & PT_PARSER_UNIQUE) && ev->nfields == 0) {
            /* Nothing to overwrite and no repeated key: plain appends, room reserved above. */
            memcpy(ev->fields, f, sizeof(*f) * n);
            ev->nfields = n;
        } else {
            for (uint32_t i = 0; i < n; i++) {
                if (pt_event_set(g, ev, f[i].key, f[i].val) != 0) {
                    return -ENOMEM;
                }
            }
        }
        if (p->keep_succeed && add_if_absent(g, ev, p->renamed, src) != 0) {
            return -ENOMEM;
        }
        return 0;
    }
    st->failed++;
    if (p->keep_fail) {
        if (add_if_absent(g, ev, p->renamed, src) != 0) {
            return -ENOMEM;
        }
        if (p->copy_raw && add_if_absent(g, ev, raw_log_key, src) != 0) {
            return -ENOMEM;
        }
    } else if (ev->nfields == 0) {
        ev->flags |= PT_EVENT_F_DROPPED;
        st->discarded++;
    }
    return 0;
}

void pt_parser_stats_flush(const pt_parser_t *p, pt_plugin_inst_t *inst,
                           const pt_parser_stats_t *st)
{
    if (st->failed > 0) {
        if (inst->m.errors != NULL) {
            pt_counter_add(inst->m.errors, st->failed);
        }
        if (p->failures != NULL) {
            pt_counter_add(p->failures, st->failed);
        }
        PT_LOG(PT_LOG_DEBUG, p->id, "%llu event(s) failed to parse (%llu discarded)",
               (unsigned long long)st->failed, (unsigned long long)st->discarded);
    }
    if (st->missing > 0 && p->missing != NULL) {
        pt_counter_add(p->missing, st->missing);
    }
}

static pt_str_t trimmed(const char *p, size_t len)
{
    while (len > 0 && (*p == ' ' || *p == '\t')) {
        p++;
        len--;
    }
    while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t')) {
        len--;
    }
    return pt_str(p, len);
}

int pt_parser_keys(const pt_strlist_t *l, const pt_plugin_inst_t *inst, pt_cfg_diag_t *d,
                   pt_str_t **keys, uint32_t *n)
{
    *keys = NULL;
    *n = 0;
    size_t cnt = l->n;
    const char *one = cnt == 1 ? l->v[0] : NULL;
    if (one != NULL && strchr(one, ',') != NULL) {
        cnt = 1;
        for (const char *p = one; *p != '\0'; p++) {
            cnt += *p == ',';
        }
    } else {
        one = NULL;
    }
    if (cnt == 0) {
        pt_cfg_error(d, inst->line, "Keys", "must name at least one field");
        return -EINVAL;
    }
    if (cnt > UINT32_MAX / 2) {
        pt_cfg_error(d, inst->line, "Keys", "too many keys");
        return -EINVAL;
    }
    pt_str_t *k = pt_calloc(cnt, sizeof(*k));
    if (k == NULL) {
        return -ENOMEM;
    }
    const char *p = one;
    for (size_t i = 0; i < cnt; i++) {
        if (one != NULL) {
            const char *c = strchr(p, ',');
            size_t len = c != NULL ? (size_t)(c - p) : strlen(p);
            k[i] = trimmed(p, len);
            p = c != NULL ? c + 1 : p + len;
        } else {
            k[i] = pt_str_c(l->v[i]);
        }
        if (k[i].len == 0) {
            pt_cfg_error(d, inst->line, "Keys", "key %zu is empty", i + 1);
            pt_free(k);
            return -EINVAL;
        }
    }
    *keys = k;
    *n = (uint32_t)cnt;
    return 0;
}

int pt_parser_keys_unique(const pt_str_t *keys, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        for (uint32_t j = 0; j < i; j++) {
            if (pt_str_eq(keys[i], keys[j])) {
                return 0;
            }
        }
    }
    return 1;
}
