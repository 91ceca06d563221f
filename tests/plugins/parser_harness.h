/* Shared harness of the parser plugin tests (test_parse_regex.c, test_parse_delimiter.c,
 * test_parse_timestamp.c): builds a processor from a YAML string through its own config map and
 * create(), as the pipeline builder does, makes groups by hand, and renders events as text for
 * exact comparison. Header-only (static functions): each test is its own executable. */
#ifndef PT_TESTS_PARSER_HARNESS_H
#define PT_TESTS_PARSER_HARNESS_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/cfgmap.h"
#include "config/node.h"
#include "core/arena.h"
#include "core/event.h"
#include "core/plugin.h"
#include "processors/common/parser_options.h"

typedef struct {
    const pt_plugin_t *pl;
    pt_plugin_inst_t inst;
    pt_node_t *tree;
    pt_counter_t c[6];
    pt_cfg_diag_t d;
    int made;
} proc_t;

static const char *const harness_ignore[] = {"Type", NULL};

/* What a test still holds when an assertion ends it early; the teardown frees it, so a failing
 * test reports its failure and not a leak as well. */
static proc_t *live_proc;
static pt_group_t *live_groups[8];

static inline void track_group(pt_group_t *g, int add)
{
    for (int i = 0; i < 8; i++) {
        if (add ? live_groups[i] == NULL : live_groups[i] == g) {
            live_groups[i] = add ? g : NULL;
            return;
        }
    }
}

static inline void group_free(pt_group_t *g)
{
    track_group(g, 0);
    pt_group_release(g);
}

static inline void proc_free(proc_t *p)
{
    live_proc = NULL;
    if (!p->made) {
        return;
    }
    p->made = 0;
    if (p->inst.state != NULL) {
        p->pl->destroy(&p->inst);
    }
    if (p->inst.config != NULL) {
        pt_cfg_free(p->pl->config_map, p->pl->config_n, p->inst.config);
        free(p->inst.config);
        p->inst.config = NULL;
    }
    if (p->tree != NULL) {
        pt_node_free(p->tree);
        p->tree = NULL;
    }
    pt_cfg_diag_free(&p->d);
}

static inline int cleanup(void **state)
{
    (void)state;
    for (int i = 0; i < 8; i++) {
        if (live_groups[i] != NULL) {
            group_free(live_groups[i]);
        }
    }
    if (live_proc != NULL) {
        proc_free(live_proc);
    }
    return 0;
}

/* Builds plugin `name` from YAML. Returns the load or create() status; diagnostics stay in
 * p->d until proc_free. */
static inline int proc_make(proc_t *p, const char *name, const char *yaml)
{
    memset(p, 0, sizeof(*p));
    p->pl = pt_plugin_find(name);
    assert_non_null(p->pl);
    pt_cfg_diag_init(&p->d, "test.yaml", "pipe");
    live_proc = p;
    p->made = 1;
    char err[256];
    p->tree = pt_node_parse_string(yaml, strlen(yaml), "test.yaml", err, sizeof(err));
    if (p->tree == NULL) {
        fail_msg("yaml: %s", err);
    }
    p->d.plugin = p->pl->name;
    p->inst.plugin = p->pl;
    p->inst.id = (char *)name;
    p->inst.line = 1;
    p->inst.config = calloc(1, p->pl->config_size);
    assert_non_null(p->inst.config);
    p->inst.m.events_in = &p->c[0];
    p->inst.m.events_out = &p->c[1];
    p->inst.m.events_dropped = &p->c[2];
    p->inst.m.bytes_in = &p->c[3];
    p->inst.m.bytes_out = &p->c[4];
    p->inst.m.errors = &p->c[5];
    int rc = pt_cfg_load(p->pl->config_map, p->pl->config_n, p->tree, p->inst.config,
                         harness_ignore, &p->d);
    if (rc != 0) {
        return rc;
    }
    pt_plugin_env_t env = {"/nonexistent", 0};
    return p->pl->create(&p->inst, &env, &p->d);
}

static inline void proc_ok(proc_t *p, const char *name, const char *yaml)
{
    int rc = proc_make(p, name, yaml);
    if (rc != 0) {
        fail_msg("create failed (%d): %s", rc, pt_cfg_diag_text(&p->d));
    }
    if (p->d.nwarnings != 0) {
        fail_msg("unexpected warning: %s", pt_cfg_diag_text(&p->d));
    }
}

/* Builds a config that must fail; returns the diagnostics text (valid until proc_free). */
static const char *proc_bad(proc_t *p, const char *name, const char *yaml)
{
    int rc = proc_make(p, name, yaml);
    if (rc == 0) {
        fail_msg("config accepted: %s", yaml);
    }
    return pt_cfg_diag_text(&p->d);
}

/* Parse failures: the instance's errors counter (and petrel_plugin_parse_failures_total, which
 * every parser's state starts with). */
static inline uint64_t parse_errors(proc_t *p)
{
    const pt_parser_t *ps = p->inst.state;
    assert_int_equal(pt_counter_get(ps->failures), pt_counter_get(p->inst.m.errors));
    return pt_counter_get(p->inst.m.errors);
}

static inline uint64_t missing_sources(proc_t *p)
{
    const pt_parser_t *ps = p->inst.state;
    return pt_counter_get(ps->missing);
}

static pt_group_t *group_new(void)
{
    pt_arena_t *a = pt_arena_create(PT_ARENA_SMALL);
    assert_non_null(a);
    pt_group_t *g = pt_group_create(a, 4);
    assert_non_null(g);
    pt_arena_unref(a);
    track_group(g, 1);
    return g;
}

/* The line is copied into the group's arena, as input_file's read buffer would hold it. */
static pt_event_t *add_raw_n(pt_group_t *g, const char *line, size_t n)
{
    pt_str_t s = pt_arena_strdup(g->arena, line, n);
    pt_event_t *ev = pt_group_add_event(g, PT_EVENT_RAW);
    assert_non_null(ev);
    ev->raw = s;
    ev->time_ns = 42;
    return ev;
}

static pt_event_t *add_raw(pt_group_t *g, const char *line)
{
    return add_raw_n(g, line, strlen(line));
}

/* A LOG event from "k", "v", ..., NULL. */
static pt_event_t *add_log(pt_group_t *g, ...)
{
    pt_event_t *ev = pt_group_add_event(g, PT_EVENT_LOG);
    assert_non_null(ev);
    ev->time_ns = 42;
    uint32_t idx = g->nevents - 1;
    va_list ap;
    va_start(ap, g);
    for (;;) {
        const char *k = va_arg(ap, const char *);
        if (k == NULL) {
            break;
        }
        const char *v = va_arg(ap, const char *);
        pt_str_t ks = pt_arena_strdup(g->arena, k, strlen(k));
        pt_str_t vs = pt_arena_strdup(g->arena, v, strlen(v));
        assert_int_equal(pt_event_append(g, &g->events[idx], ks, vs), 0);
    }
    va_end(ap);
    return &g->events[idx];
}

/* Renders an event as text: "RAW <line>", or "k=v | k=v", prefixed with "DROPPED " when
 * flagged. */
static const char *show(const pt_event_t *ev)
{
    static char out[16384];
    size_t n = 0;
    out[0] = '\0';
    if (ev->flags & PT_EVENT_F_DROPPED) {
        n += (size_t)snprintf(out + n, sizeof(out) - n, "DROPPED ");
    }
    if (ev->type == PT_EVENT_RAW) {
        snprintf(out + n, sizeof(out) - n, "RAW %.*s", (int)ev->raw.len, ev->raw.ptr);
        return out;
    }
    for (uint32_t i = 0; i < ev->nfields && n < sizeof(out); i++) {
        n += (size_t)snprintf(out + n, sizeof(out) - n, "%s%.*s=%.*s", i ? " | " : "",
                              (int)ev->fields[i].key.len, ev->fields[i].key.ptr,
                              (int)ev->fields[i].val.len, ev->fields[i].val.ptr);
    }
    return out;
}

static inline void process_ok(proc_t *p, pt_group_t *g)
{
    assert_int_equal(p->pl->process(&p->inst, g), 0);
}

/* True when the view points inside the event's original line [base, base + len). */
static inline int view_in(pt_str_t v, const char *base, size_t len)
{
    return v.ptr >= base && v.ptr + v.len <= base + len;
}

#endif
