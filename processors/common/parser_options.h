/* The common options of every LoongCollector parser (SourceKey, KeepingSourceWhenParseFail,
 * KeepingSourceWhenParseSucceed, RenamedSourceKey, CopingRawLog) and one helper that applies a
 * parse result to an event by LoongCollector's rules, so that every parser treats the source
 * field, the kept source, __raw_log__ and discarded events the same way. */
#ifndef PT_PROCESSORS_PARSER_OPTIONS_H
#define PT_PROCESSORS_PARSER_OPTIONS_H

#include <stddef.h>
#include <stdint.h>

#include "core/plugin.h"

/* The options as the config loader fills them. Embed it in a parser's config struct and list
 * PT_PARSER_CONF_FIELDS(conf_type, member) in its config map. */
typedef struct pt_parser_conf_s {
    char *source_key;
    int keep_source_fail;
    int keep_source_succeed;
    char *renamed_source_key;
    int coping_raw_log;
} pt_parser_conf_t;

/* Config map entries for a pt_parser_conf_t at `member` inside `type`. */
#define PT_PARSER_CONF_FIELDS(type, member)                                                        \
    {"SourceKey",                                                                                  \
     PT_CFG_STRING,                                                                                \
     NULL,                                                                                         \
     0,                                                                                            \
     0,                                                                                            \
     NULL,                                                                                         \
     PT_CFG_REQUIRED,                                                                              \
     offsetof(type, member.source_key),                                                            \
     NULL,                                                                                         \
     "Field to parse (content for the raw line)"},                                                 \
        {"KeepingSourceWhenParseFail",                                                             \
         PT_CFG_BOOL,                                                                              \
         "false",                                                                                  \
         0,                                                                                        \
         0,                                                                                        \
         NULL,                                                                                     \
         0,                                                                                        \
         offsetof(type, member.keep_source_fail),                                                  \
         NULL,                                                                                     \
         "When parsing fails, keep the source text (under RenamedSourceKey); otherwise an "        \
         "event left without fields is discarded"},                                                \
        {"KeepingSourceWhenParseSucceed",                                                          \
         PT_CFG_BOOL,                                                                              \
         "false",                                                                                  \
         0,                                                                                        \
         0,                                                                                        \
         NULL,                                                                                     \
         0,                                                                                        \
         offsetof(type, member.keep_source_succeed),                                               \
         NULL,                                                                                     \
         "When parsing succeeds, keep the source text (under RenamedSourceKey)"},                  \
        {"RenamedSourceKey",                                                                       \
         PT_CFG_STRING,                                                                            \
         NULL,                                                                                     \
         0,                                                                                        \
         0,                                                                                        \
         NULL,                                                                                     \
         0,                                                                                        \
         offsetof(type, member.renamed_source_key),                                                \
         NULL,                                                                                     \
         "Field name for the kept source text; default: SourceKey"},                               \
    {                                                                                              \
        "CopingRawLog", PT_CFG_BOOL, "false", 0, 0, NULL, 0,                                       \
            offsetof(type, member.coping_raw_log), NULL,                                           \
            "When parsing fails and the source is kept, also copy it to __raw_log__"               \
    }

/* The options ready for the data path. Filled by pt_parser_init on the thread that creates the
 * plugin, read-only afterwards (workers share it); released with pt_parser_close. */
typedef struct pt_parser_s {
    pt_str_t source;  /* views into the config strings: valid while the plugin's config lives */
    pt_str_t renamed; /* RenamedSourceKey, or SourceKey when not set */
    uint8_t keep_fail;
    uint8_t keep_succeed;
    uint8_t copy_raw;
    uint8_t source_is_content; /* a raw line has this field */
    const char *id;            /* "pipeline/plugin", for log lines */
    pt_counter_t *failures;    /* petrel_plugin_parse_failures_total */
    pt_counter_t *missing;     /* petrel_plugin_source_missing_total */
    pt_counter_t local[2];     /* used instead when the instance has no pipeline (tests) */
} pt_parser_t;

/* What one process() call saw; added to the counters once by pt_parser_stats_flush. */
typedef struct pt_parser_stats_s {
    uint64_t failed;    /* parse failures */
    uint64_t missing;   /* events without the source field */
    uint64_t discarded; /* failures that left an event with no field: flagged DROPPED */
} pt_parser_stats_t;

/* Checks the options (SourceKey must not be empty; the error names the key) and registers the
 * counters. Call from create(). Returns 0, -EINVAL (reported in d) or -ENOMEM. */
int pt_parser_init(pt_parser_t *p, const pt_parser_conf_t *c, const pt_plugin_inst_t *inst,
                   pt_cfg_diag_t *d);
/* Unregisters the counters. Safe on a zeroed or half-initialised struct. */
void pt_parser_close(pt_parser_t *p);

/* Finds the value to parse. Returns 0 and sets *val, or PT_DECLINED when the event is not
 * for this parser: already DROPPED, not a log or raw event, or without the source field (a raw
 * line only has "content"). Missing fields are counted in st. Worker thread; *val is a view that
 * lives as long as the group. */
int pt_parser_source(const pt_parser_t *p, const pt_event_t *ev, pt_str_t *val,
                     pt_parser_stats_t *st);

/* pt_parser_apply flags. */
#define PT_PARSER_UNIQUE 0x1u /* the keys of `f` are distinct: append without a lookup */

/* Applies a parse result to ev, by LoongCollector's rules (CommonParserOptions):
 *  - a raw event becomes a log event;
 *  - on success, the n parsed fields `f` are set (a key that exists is overwritten in place);
 *  - the source field is removed, unless parsing succeeded and a parsed key overwrote it;
 *  - the source text `src` is added under RenamedSourceKey, never replacing an existing field,
 *    when (ok && KeepingSourceWhenParseSucceed) || (!ok && KeepingSourceWhenParseFail);
 *  - it is also added as __raw_log__ (never replacing) when !ok && KeepingSourceWhenParseFail &&
 *    CopingRawLog;
 *  - on failure without KeepingSourceWhenParseFail, an event left with no field is flagged
 *    DROPPED and counted in st->discarded. Failures are counted in st->failed.
 * Views in f and src must live as long as the group. Worker thread. Returns 0 or -ENOMEM (the
 * event may then be half-updated: the caller drops the group). */
int pt_parser_apply(const pt_parser_t *p, pt_group_t *g, pt_event_t *ev, pt_str_t src, int ok,
                    const pt_field_t *f, uint32_t n, unsigned flags, pt_parser_stats_t *st);

/* Adds the call's statistics to the counters: failures to petrel_plugin_parse_failures_total
 * and to the instance's errors counter, missing source fields to
 * petrel_plugin_source_missing_total. Worker thread. */
void pt_parser_stats_flush(const pt_parser_t *p, pt_plugin_inst_t *inst,
                           const pt_parser_stats_t *st);

/* Makes sure ev (LOG) has room for `extra` more fields, so that appends do not re-allocate one
 * by one. Returns 0 or -ENOMEM. */
int pt_parser_reserve(pt_group_t *g, pt_event_t *ev, uint32_t extra);

/* Keys as LoongCollector takes them: a list, or one comma-joined string (also inside a list of
 * one, the old Logtail layout; the config loader splits a bare string already). Sets *keys to a
 * pt_malloc'd array of views into l's strings (free with pt_free) and *n. Returns 0, -EINVAL
 * when there is no key or a key is empty (reported on Keys), or -ENOMEM. */
int pt_parser_keys(const pt_strlist_t *l, const pt_plugin_inst_t *inst, pt_cfg_diag_t *d,
                   pt_str_t **keys, uint32_t *n);
/* 1 when no two keys are equal. */
int pt_parser_keys_unique(const pt_str_t *keys, uint32_t n);

#endif
