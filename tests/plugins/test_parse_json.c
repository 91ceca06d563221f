/* Tests for processor_parse_json_native, driven through its descriptor: the config comes from a
 * YAML string through the plugin's own config map, and process() runs on groups built by hand.
 * The expected results are LoongCollector's (ProcessorParseJsonNative + CommonParserOptions),
 * except where petrel documents its own choice (numbers, literals and nested values keep their
 * JSON text). */
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

/* ========================================================================= harness ====== */

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
static proc_t *live_proc;
static pt_group_t *live_groups[8];

static void proc_free(proc_t *p);
static void group_free(pt_group_t *g);
static void track_group(pt_group_t *g, int add);

static int cleanup(void **state)
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

static void track_group(pt_group_t *g, int add)
{
    for (int i = 0; i < 8; i++) {
        if (add ? live_groups[i] == NULL : live_groups[i] == g) {
            live_groups[i] = add ? g : NULL;
            return;
        }
    }
}

static void group_free(pt_group_t *g)
{
    track_group(g, 0);
    pt_group_release(g);
}

/* Builds the processor from YAML. Returns the create() status; diagnostics stay in p->d. */
static int proc_make(proc_t *p, const char *yaml)
{
    memset(p, 0, sizeof(*p));
    live_proc = p;
    p->pl = pt_plugin_find("processor_parse_json_native");
    assert_non_null(p->pl);
    char err[256];
    p->tree = pt_node_parse_string(yaml, strlen(yaml), "test.yaml", err, sizeof(err));
    if (p->tree == NULL) {
        fail_msg("yaml: %s", err);
    }
    pt_cfg_diag_init(&p->d, "test.yaml", "pipe");
    p->d.plugin = p->pl->name;
    p->inst.plugin = p->pl;
    p->inst.id = "pipe/processor_parse_json_native";
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
    live_proc = NULL;
    if (p->inst.state != NULL) {
        p->pl->destroy(&p->inst);
    }
    pt_cfg_free(p->pl->config_map, p->pl->config_n, p->inst.config);
    free(p->inst.config);
    pt_node_free(p->tree);
    pt_cfg_diag_free(&p->d);
}

static void proc_ok(proc_t *p, const char *yaml)
{
    int rc = proc_make(p, yaml);
    if (rc != 0) {
        fail_msg("create failed (%d): %s", rc, pt_cfg_diag_text(&p->d));
    }
    assert_int_equal(p->d.nwarnings, 0);
}

static uint64_t parse_errors(proc_t *p)
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
    track_group(g, 1);
    return g;
}

/* The line is copied into the group's arena, as input_file's read buffer would hold it. */
static pt_event_t *add_raw(pt_group_t *g, const char *line)
{
    pt_str_t s = pt_arena_strdup(g->arena, line, strlen(line));
    pt_event_t *ev = pt_group_add_event(g, PT_EVENT_RAW);
    assert_non_null(ev);
    ev->raw = s;
    return ev;
}

/* A LOG event from "k", "v", ..., NULL. */
static pt_event_t *add_log(pt_group_t *g, ...)
{
    pt_event_t *ev = pt_group_add_event(g, PT_EVENT_LOG);
    assert_non_null(ev);
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

/* Renders an event as text for exact comparison: "RAW <line>", or "k=v | k=v", prefixed with
 * "DROPPED " when flagged. */
static const char *show(const pt_event_t *ev)
{
    static char out[8192];
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

#define CFG_BASE "Type: processor_parse_json_native\nSourceKey: content\n"

/* ========================================================================== success ===== */

static void test_first_level_fields(void **state)
{
    (void)state;
    static proc_t p; /* static: the teardown may still need it */
    proc_ok(&p, CFG_BASE);
    pt_group_t *g = group_new();
    add_raw(g, "{\"a\":\"x\",\"n\":12,\"f\":-1.50e3,\"t\":true,\"no\":false,\"nul\":null,"
               "\"o\":{\"k\": [1, 2]},\"arr\":[ \"x\" ,{}],\"e\":\"\"}");
    process_ok(&p, g);
    assert_int_equal(g->events[0].type, PT_EVENT_LOG);
    assert_string_equal(show(&g->events[0]),
                        "a=x | n=12 | f=-1.50e3 | t=true | no=false | nul=null | "
                        "o={\"k\": [1, 2]} | arr=[ \"x\" ,{}] | e=");
    assert_int_equal(parse_errors(&p), 0);
    group_free(g);
    proc_free(&p);
}

static void test_escapes_decoded(void **state)
{
    (void)state;
    static proc_t p; /* static: the teardown may still need it */
    proc_ok(&p, CFG_BASE);
    pt_group_t *g = group_new();
    add_raw(g, "{\"msg\":\"l1\\nl2 \\\"q\\\" \\u00e9 \\ud83d\\ude00 \\/ \\\\ t\\t\","
               "\"k\\u0041y\":\"v\",\"raw\":\"caf\xc3\xa9\"}");
    process_ok(&p, g);
    assert_string_equal(show(&g->events[0]), "msg=l1\nl2 \"q\" \xc3\xa9 \xf0\x9f\x98\x80 / \\ t\t"
                                             " | kAy=v | raw=caf\xc3\xa9");
    group_free(g);
    proc_free(&p);
}

static void test_whitespace_empty_object_duplicates(void **state)
{
    (void)state;
    static proc_t p; /* static: the teardown may still need it */
    proc_ok(&p, CFG_BASE);
    pt_group_t *g = group_new();
    add_raw(g, "  \t{ \"a\" : \"1\" }\r ");
    add_raw(g, "{}");
    add_raw(g, "{\"a\":\"1\",\"b\":\"2\",\"a\":\"3\"}");
    process_ok(&p, g);
    assert_string_equal(show(&g->events[0]), "a=1");
    /* A parsed empty object leaves an event with no field; LoongCollector keeps it. */
    assert_string_equal(show(&g->events[1]), "");
    assert_int_equal(g->events[1].flags & PT_EVENT_F_DROPPED, 0);
    /* A repeated key: the last value wins, in the first one's place. */
    assert_string_equal(show(&g->events[2]), "a=3 | b=2");
    assert_int_equal(parse_errors(&p), 0);
    group_free(g);
    proc_free(&p);
}

static void test_many_members(void **state)
{
    (void)state;
    static proc_t p; /* static: the teardown may still need it */
    proc_ok(&p, CFG_BASE);
    pt_group_t *g = group_new();
    /* 300 members: more than the processor's on-stack room, and some escaped. */
    char line[16384];
    size_t n = 0;
    line[n++] = '{';
    for (int i = 0; i < 300; i++) {
        n += (size_t)snprintf(line + n, sizeof(line) - n, "%s\"k%d\":\"%s%d\"", i ? "," : "", i,
                              i % 3 ? "v" : "\\u0076", i);
    }
    line[n++] = '}';
    line[n] = '\0';
    add_raw(g, line);
    process_ok(&p, g);
    const pt_event_t *ev = &g->events[0];
    assert_int_equal(ev->nfields, 300);
    for (int i = 0; i < 300; i++) {
        char k[16];
        char v[16];
        snprintf(k, sizeof(k), "k%d", i);
        snprintf(v, sizeof(v), "v%d", i);
        assert_true(pt_str_eq_c(ev->fields[i].key, k));
        assert_true(pt_str_eq_c(ev->fields[i].val, v));
    }
    group_free(g);
    proc_free(&p);
}

static void test_keep_source_on_success(void **state)
{
    (void)state;
    static proc_t p; /* static: the teardown may still need it */
    proc_ok(&p, CFG_BASE "KeepingSourceWhenParseSucceed: true\n");
    pt_group_t *g = group_new();
    add_raw(g, "{\"a\":\"1\"}");
    add_raw(g, "not json");
    process_ok(&p, g);
    assert_string_equal(show(&g->events[0]), "a=1 | content={\"a\":\"1\"}");
    /* Failure with KeepingSourceWhenParseFail false (default): nothing left, dropped. */
    assert_string_equal(show(&g->events[1]), "DROPPED ");
    assert_int_equal(parse_errors(&p), 1);
    group_free(g);
    proc_free(&p);

    proc_ok(&p, CFG_BASE "KeepingSourceWhenParseSucceed: true\nRenamedSourceKey: src\n"
                         "CopingRawLog: true\n");
    g = group_new();
    add_raw(g, "{\"a\":\"1\"}");
    process_ok(&p, g);
    /* CopingRawLog only applies to failures. */
    assert_string_equal(show(&g->events[0]), "a=1 | src={\"a\":\"1\"}");
    group_free(g);
    proc_free(&p);
}

static void test_key_equal_to_source_key(void **state)
{
    (void)state;
    static proc_t p; /* static: the teardown may still need it */
    proc_ok(&p, CFG_BASE);
    pt_group_t *g = group_new();
    add_raw(g, "{\"a\":\"1\",\"content\":\"inner\",\"b\":\"2\"}");
    add_log(g, "host", "h1", "content", "{\"cont\\u0065nt\":\"esc\",\"z\":\"9\"}", "tail", "t",
            NULL);
    process_ok(&p, g);
    /* The source is overwritten where it stands, not deleted and re-added. */
    assert_string_equal(show(&g->events[0]), "content=inner | a=1 | b=2");
    assert_string_equal(show(&g->events[1]), "host=h1 | content=esc | tail=t | z=9");
    group_free(g);
    proc_free(&p);
}

/* ========================================================================== failures ===== */

static void test_failure_dropped_unless_other_fields(void **state)
{
    (void)state;
    static proc_t p; /* static: the teardown may still need it */
    proc_ok(&p, CFG_BASE);
    pt_group_t *g = group_new();
    add_raw(g, "plain text");
    add_log(g, "content", "{broken", "host", "h1", NULL);
    add_log(g, "content", "{broken", NULL);
    process_ok(&p, g);
    assert_string_equal(show(&g->events[0]), "DROPPED ");
    assert_string_equal(show(&g->events[1]), "host=h1");
    assert_string_equal(show(&g->events[2]), "DROPPED ");
    assert_int_equal(pt_group_live_events(g), 1);
    assert_int_equal(parse_errors(&p), 3);
    group_free(g);
    proc_free(&p);
}

static void test_failure_keeps_source(void **state)
{
    (void)state;
    static proc_t p; /* static: the teardown may still need it */
    proc_ok(&p, CFG_BASE "KeepingSourceWhenParseFail: true\n");
    pt_group_t *g = group_new();
    add_raw(g, "plain text");
    add_log(g, "content", "[1]", "host", "h1", NULL);
    process_ok(&p, g);
    /* Under RenamedSourceKey, which defaults to SourceKey: deleted, then added at the end. */
    assert_string_equal(show(&g->events[0]), "content=plain text");
    assert_string_equal(show(&g->events[1]), "host=h1 | content=[1]");
    assert_int_equal(pt_group_live_events(g), 2);
    group_free(g);
    proc_free(&p);

    proc_ok(&p, CFG_BASE "KeepingSourceWhenParseFail: true\nRenamedSourceKey: __src__\n"
                         "CopingRawLog: true\n");
    g = group_new();
    add_raw(g, "plain text");
    add_raw(g, "{\"ok\":\"1\"}");
    process_ok(&p, g);
    assert_string_equal(show(&g->events[0]), "__src__=plain text | __raw_log__=plain text");
    assert_string_equal(show(&g->events[1]), "ok=1");
    group_free(g);
    proc_free(&p);

    /* CopingRawLog without KeepingSourceWhenParseFail adds nothing. */
    proc_ok(&p, CFG_BASE "CopingRawLog: true\n");
    g = group_new();
    add_raw(g, "plain text");
    add_log(g, "content", "x", "host", "h1", NULL);
    process_ok(&p, g);
    assert_string_equal(show(&g->events[0]), "DROPPED ");
    assert_string_equal(show(&g->events[1]), "host=h1");
    group_free(g);
    proc_free(&p);
}

static void test_non_objects_fail(void **state)
{
    (void)state;
    static proc_t p; /* static: the teardown may still need it */
    proc_ok(&p, CFG_BASE "KeepingSourceWhenParseFail: true\n");
    const char *bad[] = {"[1,2]",
                         "42",
                         "\"str\"",
                         "null",
                         "true",
                         "",
                         "   ",
                         "{",
                         "}",
                         "{\"a\":1}x",
                         "{\"a\":1}{\"b\":2}",
                         "{\"a\"}",
                         "{'a':1}",
                         "{\"a\":01}"};
    size_t n = sizeof(bad) / sizeof(bad[0]);
    pt_group_t *g = group_new();
    for (size_t i = 0; i < n; i++) {
        add_raw(g, bad[i]);
    }
    process_ok(&p, g);
    for (size_t i = 0; i < n; i++) {
        char want[128];
        snprintf(want, sizeof(want), "content=%s", bad[i]);
        assert_string_equal(show(&g->events[i]), want);
    }
    assert_int_equal(parse_errors(&p), n);
    group_free(g);
    proc_free(&p);
}

static void test_late_error_leaves_no_partial_fields(void **state)
{
    (void)state;
    static proc_t p; /* static: the teardown may still need it */
    proc_ok(&p, CFG_BASE "KeepingSourceWhenParseFail: true\n");
    pt_group_t *g = group_new();
    /* Members that would be valid fields, then a syntax error; once with few members and once
     * with more than fit on the processor's stack. */
    char line[8192];
    size_t n = 0;
    line[n++] = '{';
    for (int i = 0; i < 100; i++) {
        n += (size_t)snprintf(line + n, sizeof(line) - n, "\"k%d\":\"\\u0041%d\",", i, i);
    }
    n += (size_t)snprintf(line + n, sizeof(line) - n, "\"z\":}");
    add_raw(g, "{\"a\":\"1\",\"content\":\"x\",\"b\":[1,2,}");
    add_raw(g, line);
    add_log(g, "keep", "me", "content", "{\"a\":\"1\",\"b\":tru}", NULL);
    process_ok(&p, g);
    assert_string_equal(show(&g->events[0]), "content={\"a\":\"1\",\"content\":\"x\",\"b\":[1,2,}");
    assert_int_equal(g->events[1].nfields, 1);
    assert_true(pt_str_eq_c(g->events[1].fields[0].key, "content"));
    assert_true(pt_str_eq_c(g->events[1].fields[0].val, line));
    assert_string_equal(show(&g->events[2]), "keep=me | content={\"a\":\"1\",\"b\":tru}");
    assert_int_equal(parse_errors(&p), 3);
    group_free(g);
    proc_free(&p);
}

/* ========================================================================== untouched ==== */

static void test_untouched_events(void **state)
{
    (void)state;
    static proc_t p; /* static: the teardown may still need it */
    proc_ok(&p, CFG_BASE);
    pt_group_t *g = group_new();
    add_log(g, "a", "1", "msg", "{\"x\":\"y\"}", NULL); /* no SourceKey */
    pt_event_t *d = add_raw(g, "{\"x\":\"y\"}");        /* already dropped */
    d->flags |= PT_EVENT_F_DROPPED;
    process_ok(&p, g);
    assert_string_equal(show(&g->events[0]), "a=1 | msg={\"x\":\"y\"}");
    assert_string_equal(show(&g->events[1]), "DROPPED RAW {\"x\":\"y\"}");
    assert_int_equal(parse_errors(&p), 0);
    group_free(g);
    proc_free(&p);

    /* SourceKey other than content: a raw line has no such field and stays raw. */
    proc_ok(&p, "Type: processor_parse_json_native\nSourceKey: msg\n");
    g = group_new();
    add_raw(g, "{\"a\":\"1\"}");
    add_log(g, "msg", "{\"b\":\"2\"}", "content", "{\"c\":\"3\"}", NULL);
    process_ok(&p, g);
    assert_string_equal(show(&g->events[0]), "RAW {\"a\":\"1\"}");
    assert_string_equal(show(&g->events[1]), "content={\"c\":\"3\"} | b=2");
    group_free(g);
    proc_free(&p);
}

/* ============================================================= LoongCollector parity ===== */

/* LoongCollector adds the kept source and __raw_log__ with AddLog(..., overwritten = false): a
 * field that already exists -- from the JSON itself or from the event -- is never replaced. */
static void test_kept_source_on_success_never_overwrites(void **state)
{
    (void)state;
    static proc_t p; /* static: the teardown may still need it */
    proc_ok(&p, CFG_BASE "KeepingSourceWhenParseSucceed: true\n");
    pt_group_t *g = group_new();
    add_raw(g, "{\"content\":\"inner\",\"a\":\"1\"}");
    process_ok(&p, g);
    assert_string_equal(show(&g->events[0]), "content=inner | a=1");
    group_free(g);
    proc_free(&p);
}

static void test_kept_source_on_failure_never_overwrites(void **state)
{
    (void)state;
    static proc_t p; /* static: the teardown may still need it */
    pt_group_t *g;
    proc_ok(&p, CFG_BASE "KeepingSourceWhenParseFail: true\nRenamedSourceKey: host\n"
                         "CopingRawLog: true\n");
    g = group_new();
    add_log(g, "host", "h1", "__raw_log__", "earlier", "content", "bad", NULL);
    process_ok(&p, g);
    assert_string_equal(show(&g->events[0]), "host=h1 | __raw_log__=earlier");
    group_free(g);
    proc_free(&p);
}

/* rapidjson, which LoongCollector parses with (default flags, no kParseValidateEncodingFlag),
 * does not validate UTF-8 inside strings: a line with a stray Latin-1 or GBK byte parses, and
 * the bytes are kept. With the default KeepingSourceWhenParseFail: false, rejecting it drops
 * the whole event. */
static void test_non_utf8_bytes_in_strings_parse(void **state)
{
    (void)state;
    static proc_t p; /* static: the teardown may still need it */
    proc_ok(&p, CFG_BASE);
    pt_group_t *g = group_new();
    add_raw(g, "{\"user\":\"Jos\xe9\",\"n\":\"1\"}");
    process_ok(&p, g);
    assert_string_equal(show(&g->events[0]), "user=Jos\xe9 | n=1");
    assert_int_equal(parse_errors(&p), 0);
    group_free(g);
    proc_free(&p);
}

/* ============================================================================ config ===== */

static void test_config_errors(void **state)
{
    (void)state;
    static proc_t p; /* static: the teardown may still need it */
    assert_int_not_equal(proc_make(&p, "Type: processor_parse_json_native\n"), 0);
    assert_non_null(strstr(pt_cfg_diag_text(&p.d), "SourceKey"));
    assert_int_equal(p.d.nerrors, 1);
    proc_free(&p);
    assert_int_equal(proc_make(&p, "Type: processor_parse_json_native\nSourceKey: \"\"\n"),
                     -EINVAL);
    assert_non_null(strstr(pt_cfg_diag_text(&p.d), "processor_parse_json_native.SourceKey"));
    proc_free(&p);
    /* A misspelt key is a warning naming the right one. */
    assert_int_equal(proc_make(&p, CFG_BASE "KeepingSourceWhenParseFial: true\n"), 0);
    assert_int_equal(p.d.nwarnings, 1);
    assert_non_null(strstr(pt_cfg_diag_text(&p.d), "KeepingSourceWhenParseFail"));
    proc_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_first_level_fields, cleanup),
        cmocka_unit_test_teardown(test_escapes_decoded, cleanup),
        cmocka_unit_test_teardown(test_whitespace_empty_object_duplicates, cleanup),
        cmocka_unit_test_teardown(test_many_members, cleanup),
        cmocka_unit_test_teardown(test_keep_source_on_success, cleanup),
        cmocka_unit_test_teardown(test_key_equal_to_source_key, cleanup),
        cmocka_unit_test_teardown(test_failure_dropped_unless_other_fields, cleanup),
        cmocka_unit_test_teardown(test_failure_keeps_source, cleanup),
        cmocka_unit_test_teardown(test_non_objects_fail, cleanup),
        cmocka_unit_test_teardown(test_late_error_leaves_no_partial_fields, cleanup),
        cmocka_unit_test_teardown(test_untouched_events, cleanup),
        cmocka_unit_test_teardown(test_kept_source_on_success_never_overwrites, cleanup),
        cmocka_unit_test_teardown(test_kept_source_on_failure_never_overwrites, cleanup),
        cmocka_unit_test_teardown(test_non_utf8_bytes_in_strings_parse, cleanup),
        cmocka_unit_test_teardown(test_config_errors, cleanup),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    pt_arena_pool_purge();
    return rc;
}
