/* processor_parse_timestamp_native: reads the time in SourceKey with SourceFormat and makes it
 * the event's time (nanoseconds), as LoongCollector's processor of the same name. The field is
 * left as it is; a value that does not parse is counted and the event keeps its time. */
#include <stddef.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/mem.h"
#include "core/plugin.h"
#include "processors/common/parser_options.h"
#include "timestamp_internal.h"

typedef struct {
    char *source_key;
    char *format;
    char *zone;
    int64_t year;
} ts_conf_t;

static const pt_cfg_field_t ts_map[] = {
    {"SourceKey", PT_CFG_STRING, NULL, 0, 0, NULL, PT_CFG_REQUIRED, offsetof(ts_conf_t, source_key),
     NULL, "Field holding the time (content for the raw line)"},
    {"SourceFormat", PT_CFG_STRING, NULL, 0, 0, NULL, PT_CFG_REQUIRED, offsetof(ts_conf_t, format),
     NULL, "strptime-like format: %Y %m %d %H %M %S %f (fraction) %s (epoch seconds) %z %b %p ..."},
    {"SourceTimezone", PT_CFG_STRING, NULL, 0, 0, NULL, 0, offsetof(ts_conf_t, zone), NULL,
     "Zone of times without one, GMT+HH:MM or GMT-HH:MM; default: the host's local zone"},
    {"SourceYear", PT_CFG_INT, "-1", -1, 9999, NULL, PT_CFG_BOUNDED, offsetof(ts_conf_t, year),
     NULL, "Year for formats without one; -1 or 0: the current year"},
};

typedef struct {
    pt_parser_t parser; /* source lookup and counters; none of the parse-result options */
    pt_ts_format_t fmt;
    int local;      /* host zone with daylight saving: looked up per hour of log time */
    int32_t offset; /* seconds east of UTC otherwise */
    int32_t year;
} ts_state_t;

static void ts_destroy(pt_plugin_inst_t *inst)
{
    ts_state_t *s = inst->state;
    if (s != NULL) {
        pt_parser_close(&s->parser);
        pt_free(s);
    }
    inst->state = NULL;
}

/* The host's zone, read once. A zone whose offset is the same in January and July has no
 * daylight saving (UTC, as containers usually run, or Asia/Shanghai): a constant. */
static void host_zone(ts_state_t *s)
{
    tzset();
    time_t now = time(NULL);
    struct tm tm;
    int32_t off[2] = {0, 0};
    if (gmtime_r(&now, &tm) != NULL) {
        for (int i = 0; i < 2; i++) {
            int64_t t = pt_ts_days_from_civil(tm.tm_year + 1900, i == 0 ? 1 : 7, 1) * 86400;
            time_t tt = (time_t)t;
            struct tm lt;
            if (localtime_r(&tt, &lt) != NULL) {
                off[i] = (int32_t)lt.tm_gmtoff;
            }
        }
    }
    s->local = off[0] != off[1];
    s->offset = off[0];
}

static int ts_create(pt_plugin_inst_t *inst, const pt_plugin_env_t *env, pt_cfg_diag_t *d)
{
    ts_conf_t *c = inst->config;
    int rc;
    ts_state_t *s = pt_calloc(1, sizeof(*s));
    if (s == NULL) {
        return -ENOMEM;
    }
    inst->state = s;
    pt_parser_conf_t pc = {c->source_key, 0, 0, NULL, 0};
    rc = pt_parser_init(&s->parser, &pc, inst, d);
    if (rc != 0) {
        goto fail;
    }
    char err[128];
    if (pt_ts_compile(&s->fmt, c->format, err, sizeof(err)) != 0) {
        pt_cfg_error(d, inst->line, "SourceFormat", "%s", err);
        rc = -EINVAL;
        goto fail;
    }
    if (c->zone != NULL && c->zone[0] != '\0') {
        if (pt_ts_parse_zone(c->zone, &s->offset) != 0) {
            pt_cfg_error(d, inst->line, "SourceTimezone",
                         "expected GMT+HH:MM or GMT-HH:MM (e.g. GMT+08:00), got '%s'", c->zone);
            rc = -EINVAL;
            goto fail;
        }
        s->local = 0;
    } else {
        host_zone(s);
    }
    s->year = (int32_t)c->year;
    return 0;

fail:
    ts_destroy(inst);
    return rc;
}

static int ts_process(pt_plugin_inst_t *inst, pt_group_t *g)
{
    const ts_state_t *s = inst->state;
    pt_parser_stats_t st = {0, 0, 0};
    pt_ts_env_t env;
    pt_ts_env_init(&env, s->local, s->offset, s->year, pt_now_wall_ns() / 1000000000);

    for (uint32_t i = 0; i < g->nevents; i++) {
        pt_event_t *ev = &g->events[i];
        pt_str_t src;
        if (pt_parser_source(&s->parser, ev, &src, &st) != 0) {
            continue;
        }
        int64_t ns;
        if (pt_ts_parse(&s->fmt, src.ptr, src.len, &env, &ns) == 0) {
            ev->time_ns = ns;
        } else {
            st.failed++;
        }
    }
    pt_parser_stats_flush(&s->parser, inst, &st);
    return 0;
}

const pt_plugin_t pt_plugin_processor_parse_timestamp_native = {
    .name = "processor_parse_timestamp_native",
    .kind = PT_PLUGIN_PROCESSOR,
    .description = "Sets the event time from a field, read with a strptime-like format",
    .config_map = ts_map,
    .config_n = sizeof(ts_map) / sizeof(ts_map[0]),
    .config_size = sizeof(ts_conf_t),
    .create = ts_create,
    .destroy = ts_destroy,
    .process = ts_process,
};
