/* processor_rename: renames fields, as LoongCollector's processor of the same name: SourceKeys[i]
 * becomes DestKeys[i], in place, all renames at once (so a -> b, b -> a swaps). A renamed field
 * replaces a field that already had the new name. Metric tags and span attributes (their fields
 * here) are renamed too. With NoKeyError, missing source keys are counted and logged. */
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>

#include "core/log.h"
#include "core/mem.h"
#include "core/plugin.h"

typedef struct {
    pt_strlist_t source_keys;
    pt_strlist_t dest_keys;
    int no_key_error;
} rn_conf_t;

static const pt_cfg_field_t rn_map[] = {
    {"SourceKeys", PT_CFG_STRLIST, NULL, 0, 0, NULL, PT_CFG_REQUIRED,
     offsetof(rn_conf_t, source_keys), NULL, "Fields to rename"},
    {"DestKeys", PT_CFG_STRLIST, NULL, 0, 0, NULL, PT_CFG_REQUIRED, offsetof(rn_conf_t, dest_keys),
     NULL, "New names, one per SourceKeys entry (same length)"},
    {"NoKeyError", PT_CFG_BOOL, "false", 0, 0, NULL, 0, offsetof(rn_conf_t, no_key_error), NULL,
     "Count (errors metric) and log events that lack a source key"},
};

/* Don't let a stream of events without the key flood the log: one line per interval. */
#define RN_WARN_INTERVAL_NS (10ull * 1000000000ull)

typedef struct {
    pt_str_t src;
    pt_str_t dst;
} rn_pair_t;

typedef struct {
    rn_pair_t *pairs; /* distinct sources; a repeated source keeps its last destination */
    size_t n;
    size_t dst_bytes;
    int no_key_error;
    const char *id;
    _Atomic uint64_t last_warn_ns; /* shared by workers: updated with compare-and-swap */
} rn_state_t;

static int rn_create(pt_plugin_inst_t *inst, const pt_plugin_env_t *env, pt_cfg_diag_t *d)
{
    rn_conf_t *c = inst->config;
    if (c->source_keys.n != c->dest_keys.n) {
        pt_cfg_error(d, inst->line, "DestKeys",
                     "has %zu entr%s but SourceKeys has %zu; they must pair up one to one",
                     c->dest_keys.n, c->dest_keys.n == 1 ? "y" : "ies", c->source_keys.n);
        return -EINVAL;
    }
    if (c->source_keys.n == 0) {
        pt_cfg_error(d, inst->line, "SourceKeys", "must name at least one field");
        return -EINVAL;
    }
    rn_state_t *s = pt_calloc(1, sizeof(*s));
    if (s == NULL) {
        return -ENOMEM;
    }
    s->pairs = pt_calloc(c->source_keys.n, sizeof(*s->pairs));
    if (s->pairs == NULL) {
        pt_free(s);
        return -ENOMEM;
    }
    s->no_key_error = c->no_key_error;
    s->id = inst->id;
    atomic_init(&s->last_warn_ns, 0);
    for (size_t i = 0; i < c->source_keys.n; i++) {
        pt_str_t src = pt_str_c(c->source_keys.v[i]);
        pt_str_t dst = pt_str_c(c->dest_keys.v[i]);
        size_t j = 0;
        while (j < s->n && !pt_str_eq(s->pairs[j].src, src)) {
            j++;
        }
        if (j < s->n) {
            pt_cfg_warn(d, inst->line, "SourceKeys",
                        "'%s' is listed more than once; the last destination wins", src.ptr);
        }
        s->pairs[j] = (rn_pair_t){src, dst};
        if (j == s->n) {
            s->n++;
        }
    }
    /* Renaming a key to itself changes nothing (LoongCollector skips it too). */
    size_t w = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (!pt_str_eq(s->pairs[i].src, s->pairs[i].dst)) {
            s->pairs[w++] = s->pairs[i];
            s->dst_bytes += s->pairs[i].dst.len;
        }
    }
    s->n = w;
    inst->state = s;
    return 0;
}

static void rn_destroy(pt_plugin_inst_t *inst)
{
    rn_state_t *s = inst->state;
    if (s != NULL) {
        pt_free(s->pairs);
        pt_free(s);
    }
    inst->state = NULL;
}

/* The destination names copied into the group's arena once per group, so that the events'
 * keys stay valid as long as the group, whatever happens to this instance. */
static pt_str_t *copy_dests(const rn_state_t *s, pt_group_t *g)
{
    pt_str_t *d = pt_arena_alloc(g->arena, sizeof(*d) * s->n + s->dst_bytes + 1);
    if (d == NULL) {
        return NULL;
    }
    char *p = (char *)(d + s->n);
    for (size_t i = 0; i < s->n; i++) {
        memcpy(p, s->pairs[i].dst.ptr, s->pairs[i].dst.len);
        d[i] = pt_str(p, s->pairs[i].dst.len);
        p += s->pairs[i].dst.len;
    }
    return d;
}

static int pair_of(const rn_state_t *s, pt_str_t key)
{
    for (size_t i = 0; i < s->n; i++) {
        if (pt_str_eq(s->pairs[i].src, key)) {
            return (int)i;
        }
    }
    return -1;
}

#define RN_STACK 64

/* Renames the fields of one event. *missing gets how many sources were absent. */
static int rename_event(const rn_state_t *s, pt_group_t *g, pt_event_t *ev, const pt_str_t *dst,
                        size_t *missing)
{
    int by_stack[RN_STACK];
    int win_stack[RN_STACK];
    int *by =
        ev->nfields <= RN_STACK ? by_stack : pt_arena_alloc(g->arena, sizeof(int) * ev->nfields);
    int *win = s->n <= RN_STACK ? win_stack : pt_arena_alloc(g->arena, sizeof(int) * s->n);
    int any = 0;

    if (by == NULL || win == NULL) {
        return -ENOMEM;
    }
    for (size_t p = 0; p < s->n; p++) {
        win[p] = -1;
    }
    /* Pass 1: which pair renames each field, judged on the original keys (so renames do not
     * chain: with a -> b and b -> c, the old a becomes b and the old b becomes c). A source
     * that occurs twice in one event: its last field is the one renamed. */
    for (uint32_t f = 0; f < ev->nfields; f++) {
        by[f] = pair_of(s, ev->fields[f].key);
        if (by[f] >= 0) {
            win[by[f]] = (int)f;
            any = 1;
        }
    }
    size_t found = 0;
    for (size_t p = 0; p < s->n; p++) {
        found += win[p] >= 0;
    }
    *missing = s->n - found;
    if (!any) {
        return 0;
    }
    /* When two sources of one event go to the same name, the later pair in the config wins:
     * the earlier pair's field is dropped (win = -2). */
    for (size_t p = 0; p < s->n; p++) {
        for (size_t q = p + 1; q < s->n && win[p] >= 0; q++) {
            if (win[q] >= 0 && pt_str_eq(dst[p], dst[q])) {
                win[p] = -2;
            }
        }
    }
    /* Pass 2: rename in place; a field whose name is taken by a rename is replaced by it. */
    uint32_t w = 0;
    for (uint32_t f = 0; f < ev->nfields; f++) {
        pt_field_t fld = ev->fields[f];
        if (by[f] >= 0) {
            if (win[by[f]] != (int)f) {
                continue;
            }
            fld.key = dst[by[f]];
        } else {
            int taken = 0;
            for (size_t p = 0; p < s->n && !taken; p++) {
                taken = win[p] >= 0 && pt_str_eq(dst[p], fld.key);
            }
            if (taken) {
                continue;
            }
        }
        ev->fields[w++] = fld;
    }
    ev->nfields = w;
    return 0;
}

static void warn_missing(rn_state_t *s, uint64_t events)
{
    uint64_t now = pt_now_mono_ns();
    uint64_t last = atomic_load_explicit(&s->last_warn_ns, memory_order_relaxed);
    if (last != 0 && now - last < RN_WARN_INTERVAL_NS) {
        return;
    }
    if (!atomic_compare_exchange_strong(&s->last_warn_ns, &last, now)) {
        return; /* another worker logged it just now */
    }
    pt_buf_t b;
    pt_buf_init(&b);
    for (size_t i = 0; i < s->n; i++) {
        pt_buf_appendf(&b, "%s%.*s", i ? ", " : "", (int)s->pairs[i].src.len, s->pairs[i].src.ptr);
    }
    pt_buf_putc(&b, '\0');
    PT_LOG(PT_LOG_WARN, s->id,
           "%llu event(s) lacked at least one of the source keys [%s] (NoKeyError; counted in "
           "petrel_plugin_errors_total; logged at most every 10 s)",
           (unsigned long long)events, b.data != NULL ? b.data : "");
    pt_buf_free(&b);
}

static int rn_process(pt_plugin_inst_t *inst, pt_group_t *g)
{
    rn_state_t *s = inst->state;
    pt_str_t *dst = NULL;
    uint64_t lacking = 0;

    if (s->n == 0) {
        return 0;
    }
    for (uint32_t i = 0; i < g->nevents; i++) {
        pt_event_t *ev = &g->events[i];
        size_t missing = 0;
        if (ev->flags & PT_EVENT_F_DROPPED) {
            continue;
        }
        if (ev->type == PT_EVENT_RAW) {
            /* A raw line only needs fields when "content" itself is renamed. */
            if (pair_of(s, PT_STR_LIT("content")) < 0) {
                lacking += s->no_key_error;
                continue;
            }
            if (pt_event_to_log(g, ev) != 0) {
                return -ENOMEM;
            }
        }
        if (dst == NULL && (dst = copy_dests(s, g)) == NULL) {
            return -ENOMEM;
        }
        if (rename_event(s, g, ev, dst, &missing) != 0) {
            return -ENOMEM;
        }
        lacking += s->no_key_error && missing > 0;
    }
    if (lacking > 0) {
        pt_counter_add(inst->m.errors, lacking);
        warn_missing(s, lacking);
    }
    return 0;
}

const pt_plugin_t pt_plugin_processor_rename = {
    .name = "processor_rename",
    .kind = PT_PLUGIN_PROCESSOR,
    .description = "Renames fields",
    .config_map = rn_map,
    .config_n = sizeof(rn_map) / sizeof(rn_map[0]),
    .config_size = sizeof(rn_conf_t),
    .create = rn_create,
    .destroy = rn_destroy,
    .process = rn_process,
};
