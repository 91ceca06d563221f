/* processor_timestamp_filter_native: drops the events whose time is outside [LowerBound,
 * UpperBound], as LoongCollector's processor of the same name. The time is the event's own
 * (what __time__ shows), or an integer epoch read from SourceKey; TimestampPrecision says
 * whether that integer and the bounds are seconds, milliseconds or nanoseconds. */
#include <limits.h>
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "core/mem.h"
#include "core/plugin.h"

typedef struct {
    char *source_key;
    char *precision;
    int64_t upper;
    int64_t lower;
} tf_conf_t;

static const pt_cfg_field_t tf_map[] = {
    {"SourceKey", PT_CFG_STRING, NULL, 0, 0, NULL, 0, offsetof(tf_conf_t, source_key), NULL,
     "Field holding an integer epoch time; empty: the event's own time (__time__)"},
    {"TimestampPrecision", PT_CFG_STRING, "second", 0, 0, NULL, 0, offsetof(tf_conf_t, precision),
     NULL, "second, millisecond or nanosecond: unit of the SourceKey value and of both bounds"},
    {"UpperBound", PT_CFG_INT, "0", 0, 0, NULL, 0, offsetof(tf_conf_t, upper), NULL,
     "Latest time kept (inclusive); 0 or less: no upper bound"},
    {"LowerBound", PT_CFG_INT, "0", 0, 0, NULL, 0, offsetof(tf_conf_t, lower), NULL,
     "Earliest time kept (inclusive)"},
};

enum { TF_SEC = 0, TF_MS, TF_NS };

typedef struct {
    pt_str_t key; /* len 0: the event time */
    int precision;
    /* Bounds in the unit of the comparison: seconds for TF_SEC, nanoseconds otherwise (as
     * LoongCollector compares millisecond precision in nanoseconds). */
    int64_t lo;
    int64_t hi;
    const char *id;
} tf_state_t;

static int64_t mul_sat(int64_t v, int64_t m)
{
    if (v > INT64_MAX / m) {
        return INT64_MAX;
    }
    if (v < INT64_MIN / m) {
        return INT64_MIN;
    }
    return v * m;
}

static int tf_create(pt_plugin_inst_t *inst, const pt_plugin_env_t *env, pt_cfg_diag_t *d)
{
    tf_conf_t *c = inst->config;
    int precision;

    /* LoongCollector lower-cases the precision. It falls back to seconds on an unknown value;
     * here that is an error, since bounds meant as milliseconds but compared as seconds would
     * silently drop everything. */
    if (strcasecmp(c->precision, "second") == 0) {
        precision = TF_SEC;
    } else if (strcasecmp(c->precision, "millisecond") == 0) {
        precision = TF_MS;
    } else if (strcasecmp(c->precision, "nanosecond") == 0) {
        precision = TF_NS;
    } else {
        pt_cfg_error(d, inst->line, "TimestampPrecision",
                     "must be second, millisecond or nanosecond; got %s", c->precision);
        return -EINVAL;
    }
    tf_state_t *s = pt_calloc(1, sizeof(*s));
    if (s == NULL) {
        return -ENOMEM;
    }
    s->key = c->source_key != NULL ? pt_str_c(c->source_key) : PT_STR_LIT("");
    s->precision = precision;
    s->id = inst->id;
    int64_t scale = precision == TF_MS ? 1000000 : 1;
    s->lo = mul_sat(c->lower, scale);
    s->hi = c->upper > 0 ? mul_sat(c->upper, scale) : INT64_MAX;
    if (s->lo > s->hi) {
        pt_cfg_warn(d, inst->line, "LowerBound",
                    "is after UpperBound: every event with a readable time will be dropped");
    }
    inst->state = s;
    return 0;
}

static void tf_destroy(pt_plugin_inst_t *inst)
{
    pt_free(inst->state);
    inst->state = NULL;
}

/* A whole-string decimal integer with an optional '-' (std::from_chars, as LoongCollector's
 * StringTo): no sign '+', no spaces, no fraction, no overflow. */
static int parse_int64(pt_str_t v, int64_t *out)
{
    size_t i = 0;
    int neg = 0;
    uint64_t acc = 0;
    uint64_t limit;

    if (v.len > 0 && v.ptr[0] == '-') {
        neg = 1;
        i = 1;
    }
    if (i == v.len) {
        return -EINVAL;
    }
    limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (; i < v.len; i++) {
        unsigned dgt = (unsigned char)v.ptr[i] - '0';
        if (dgt > 9) {
            return -EINVAL;
        }
        if (acc > (limit - dgt) / 10) {
            return -ERANGE;
        }
        acc = acc * 10 + dgt;
    }
    *out = neg ? (int64_t)(0 - acc) : (int64_t)acc;
    return 0;
}

/* The time of ev in the comparison unit, or -ENOENT / -EINVAL when it cannot be read. */
static int event_time(const tf_state_t *s, const pt_event_t *ev, int64_t *t)
{
    if (s->key.len == 0) {
        /* Seconds as __time__ shows them (truncated), or the full nanoseconds. */
        *t = s->precision == TF_SEC ? ev->time_ns / 1000000000 : ev->time_ns;
        return 0;
    }
    const pt_str_t *v;
    if (ev->type == PT_EVENT_RAW) {
        v = pt_str_eq_c(s->key, "content") ? &ev->raw : NULL;
    } else {
        v = pt_event_get(ev, s->key);
    }
    if (v == NULL) {
        return -ENOENT;
    }
    int64_t n;
    if (parse_int64(*v, &n) != 0) {
        return -EINVAL;
    }
    *t = s->precision == TF_MS ? mul_sat(n, 1000000) : n;
    return 0;
}

static int tf_process(pt_plugin_inst_t *inst, pt_group_t *g)
{
    const tf_state_t *s = inst->state;
    uint64_t unreadable = 0;

    for (uint32_t i = 0; i < g->nevents; i++) {
        pt_event_t *ev = &g->events[i];
        if ((ev->flags & PT_EVENT_F_DROPPED) ||
            (ev->type != PT_EVENT_RAW && ev->type != PT_EVENT_LOG)) {
            continue; /* metrics and spans pass, as in LoongCollector */
        }
        int64_t t;
        if (event_time(s, ev, &t) != 0) {
            unreadable++; /* kept: LoongCollector never drops an event it cannot date */
            continue;
        }
        if (t < s->lo || t > s->hi) {
            ev->flags |= PT_EVENT_F_DROPPED;
        }
    }
    if (unreadable > 0) {
        pt_counter_add(inst->m.errors, unreadable);
        PT_LOG(PT_LOG_DEBUG, s->id, "%llu event(s) kept without a readable time in %.*s",
               (unsigned long long)unreadable, (int)s->key.len, s->key.ptr);
    }
    return 0;
}

const pt_plugin_t pt_plugin_processor_timestamp_filter_native = {
    .name = "processor_timestamp_filter_native",
    .kind = PT_PLUGIN_PROCESSOR,
    .description = "Drops the events whose time is outside [LowerBound, UpperBound]",
    .config_map = tf_map,
    .config_n = sizeof(tf_map) / sizeof(tf_map[0]),
    .config_size = sizeof(tf_conf_t),
    .create = tf_create,
    .destroy = tf_destroy,
    .process = tf_process,
};
