/* Test harness for processors, driven through their descriptors: the config comes from a YAML
 * string through the plugin's own config map, process() runs on groups built by hand, and
 * events are rendered as text for exact comparison. Header-only: each test file includes it
 * once (after cmocka.h) and lists `cleanup` as the teardown of every test. */
#ifndef PT_TEST_HARNESS_PROCESSOR_H
#define PT_TEST_HARNESS_PROCESSOR_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/cfgmap.h"
#include "config/node.h"
#include "core/arena.h"
#include "core/event.h"
#include "core/plugin.h"

typedef struct {
    const pt_plugin_t *pl;
    pt_plugin_inst_t inst;
    pt_node_t *tree;
    pt_counter_t c[6];
    pt_cfg_diag_t d;
} proc_t;

static const char *const ignore_keys[] = {"Type", NULL};

/* What a test still holds when an assertion ends it early; the teardown frees it, so a failing
 * test reports its failure and not a leak as well. */
#define HARNESS_MAX 8
static proc_t *live_procs[HARNESS_MAX];
static pt_group_t *live_groups[HARNESS_MAX];

static void proc_free(proc_t *p);

static void track(void **slots, void *x, int add)
{
    for (int i = 0; i < HARNESS_MAX; i++) {
        if (add ? slots[i] == NULL : slots[i] == x) {
            slots[i] = add ? x : NULL;
            return;
        }
    }
}

static void group_free(pt_group_t *g)
{
    track((void **)live_groups, g, 0);
    pt_group_release(g);
}

static int cleanup(void **state)
{
    (void)state;
    for (int i = 0; i < HARNESS_MAX; i++) {
        if (live_groups[i] != NULL) {
            group_free(live_groups[i]);
        }
        if (live_procs[i] != NULL) {
            proc_free(live_procs[i]);
        }
    }
    return 0;
}

/* Builds plugin `name` from YAML (which also carries "Type: ..."). Returns the load or create()
 * status; diagnostics stay in p->d. p must be static in the caller (the teardown may need it). */
static int proc_make(proc_t *p, const char *name, const char *yaml)
{
    memset(p, 0, sizeof(*p));
    track((void **)live_procs, p, 1);
    p->pl = pt_plugin_find(name);
    assert_non_null(p->pl);
    char err[256];
    p->tree = pt_node_parse_string(yaml, strlen(yaml), "test.yaml", err, sizeof(err));
    if (p->tree == NULL) {
        fail_msg("yaml: %s", err);
    }
    pt_cfg_diag_init(&p->d, "test.yaml", "pipe");
    p->d.plugin = p->pl->name;
    p->inst.plugin = p->pl;
    p->inst.id = "pipe/plugin";
    p->inst.line = 1;
    p->inst.config = calloc(1, p->pl->config_size);
    assert_non_null(p->inst.config);
    p->inst.m.events_in = &p->c[0];
    p->inst.m.events_out = &p->c[1];
    p->inst.m.events_dropped = &p->c[2];
    p->inst.m.bytes_in = &p->c[3];
    p->inst.m.bytes_out = &p->c[4];
    p->inst.m.errors = &p->c[5];
    int rc = pt_cfg_load(p->pl->config_map, p->pl->config_n, p->tree, p->inst.config, ignore_keys,
                         &p->d);
    if (rc != 0) {
        return rc;
    }
    pt_plugin_env_t env = {"/nonexistent", 0};
    return p->pl->create(&p->inst, &env, &p->d);
}

static void proc_free(proc_t *p)
{
    track((void **)live_procs, p, 0);
    if (p->inst.state != NULL) {
        p->pl->destroy(&p->inst);
    }
    if (p->inst.config != NULL) {
        pt_cfg_free(p->pl->config_map, p->pl->config_n, p->inst.config);
        free(p->inst.config);
    }
    pt_node_free(p->tree);
    pt_cfg_diag_free(&p->d);
    memset(p, 0, sizeof(*p));
}

/* Builds a processor that must load without error or warning. */
static void proc_ok(proc_t *p, const char *name, const char *yaml)
{
    int rc = proc_make(p, name, yaml);
    if (rc != 0) {
        fail_msg("create failed (%d): %s", rc, pt_cfg_diag_text(&p->d));
    }
    if (p->d.nwarnings != 0) {
        fail_msg("unexpected warnings: %s", pt_cfg_diag_text(&p->d));
    }
}

/* Builds a processor that must fail; returns the diagnostics (valid until proc_free). */
static const char *proc_bad(proc_t *p, const char *name, const char *yaml)
{
    int rc = proc_make(p, name, yaml);
    if (rc == 0) {
        fail_msg("expected a config error for:\n%s", yaml);
    }
    assert_true(p->d.nerrors > 0);
    return pt_cfg_diag_text(&p->d);
}

static uint64_t proc_errors(proc_t *p)
{
    return pt_counter_get(p->inst.m.errors);
}

static pt_group_t *group_new(void)
{
    pt_arena_t *a = pt_arena_create(PT_ARENA_SMALL);
    assert_non_null(a);
    pt_group_t *g = pt_group_create(a, 4);
    assert_non_null(g);
    pt_arena_unref(a);
    track((void **)live_groups, g, 1);
    return g;
}

/* A RAW event; the line (len bytes, may hold NULs) is copied into the group's arena as
 * input_file's read buffer would hold it. */
static pt_event_t *add_raw_n(pt_group_t *g, const char *line, size_t len)
{
    pt_str_t s = pt_arena_strdup(g->arena, line, len);
    pt_event_t *ev = pt_group_add_event(g, PT_EVENT_RAW);
    assert_non_null(ev);
    ev->raw = s;
    return ev;
}

static pt_event_t *add_raw(pt_group_t *g, const char *line)
{
    return add_raw_n(g, line, strlen(line));
}

/* A LOG event from "k", "v", ..., NULL (of type `type`: LOG, METRIC or SPAN). */
static pt_event_t *add_typed_v(pt_group_t *g, pt_event_type_t type, va_list ap)
{
    pt_event_t *ev = pt_group_add_event(g, type);
    assert_non_null(ev);
    uint32_t idx = g->nevents - 1;
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
    return &g->events[idx];
}

static pt_event_t *add_log(pt_group_t *g, ...)
{
    va_list ap;
    va_start(ap, g);
    pt_event_t *ev = add_typed_v(g, PT_EVENT_LOG, ap);
    va_end(ap);
    return ev;
}

static pt_event_t *add_typed(pt_group_t *g, pt_event_type_t type, ...)
{
    va_list ap;
    va_start(ap, type);
    pt_event_t *ev = add_typed_v(g, type, ap);
    va_end(ap);
    return ev;
}

/* Renders an event as text for exact comparison: "RAW <line>", or "k=v | k=v", prefixed with
 * "DROPPED " when flagged. */
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

static void process_ok(proc_t *p, pt_group_t *g)
{
    assert_int_equal(p->pl->process(&p->inst, g), 0);
}

/* Asserts that `text` contains `needle`. */
#define assert_contains(text, needle)                                                              \
    do {                                                                                           \
        const char *t_ = (text);                                                                   \
        if (strstr(t_, (needle)) == NULL) {                                                        \
            fail_msg("expected to find \"%s\" in:\n%s", (needle), t_);                             \
        }                                                                                          \
    } while (0)

#endif
