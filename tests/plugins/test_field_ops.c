/* Tests for the field operations processor_add_fields, processor_drop and processor_rename,
 * through their descriptors: the examples of LoongCollector's documentation, then the edge cases
 * (IgnoreIfExist, missing keys, repeated keys, renaming onto an existing key, swaps, raw lines,
 * metrics and spans, NoKeyError counts, bad configs). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness_processor.h"

#define ADD "processor_add_fields"
#define DROP "processor_drop"
#define RENAME "processor_rename"

/* ====================================================================== add_fields ======= */

/* Documentation: a raw line gets service: A. */
static void test_add_doc_example(void **state)
{
    (void)state;
    static proc_t p;
    proc_ok(&p, ADD, "Type: " ADD "\nFields:\n  service: A\nIgnoreIfExist: false\n");
    pt_group_t *g = group_new();
    add_raw(g, "this is a test log");
    process_ok(&p, g);
    assert_int_equal(g->events[0].type, PT_EVENT_LOG);
    assert_string_equal(show(&g->events[0]), "content=this is a test log | service=A");
    group_free(g);
    proc_free(&p);
}

static void test_add_existing_keys(void **state)
{
    (void)state;
    static proc_t p;
    /* Default (IgnoreIfExist false): an existing field takes the new value where it stands. */
    proc_ok(&p, ADD, "Type: " ADD "\nFields:\n  a: '1'\n  z: last\n  m: ''\n  n:\n");
    pt_group_t *g = group_new();
    add_log(g, "a", "0", "b", "x", NULL);
    add_log(g, NULL);
    process_ok(&p, g);
    /* In the config's order; a key with no value adds an empty string. */
    assert_string_equal(show(&g->events[0]), "a=1 | b=x | z=last | m= | n=");
    assert_string_equal(show(&g->events[1]), "a=1 | z=last | m= | n=");
    group_free(g);
    proc_free(&p);

    proc_ok(&p, ADD, "Type: " ADD "\nFields:\n  a: '1'\n  c: '3'\nIgnoreIfExist: true\n");
    g = group_new();
    add_log(g, "a", "0", "b", "x", NULL);
    add_log(g, "a", "", NULL); /* an empty value still exists */
    add_log(g, "c", "9", "a", "8", NULL);
    process_ok(&p, g);
    assert_string_equal(show(&g->events[0]), "a=0 | b=x | c=3");
    assert_string_equal(show(&g->events[1]), "a= | c=3");
    assert_string_equal(show(&g->events[2]), "c=9 | a=8");
    group_free(g);
    proc_free(&p);
}

/* Metrics and spans pass unchanged, dropped events are skipped, and the added text belongs to
 * the group: it outlives the processor. */
static void test_add_kinds_and_lifetime(void **state)
{
    (void)state;
    static proc_t p;
    proc_ok(&p, ADD, "Type: " ADD "\nFields: {env: prod, region: eu-1}\n");
    pt_group_t *g = group_new();
    add_typed(g, PT_EVENT_METRIC, "host", "h1", NULL);
    add_typed(g, PT_EVENT_SPAN, NULL);
    pt_event_t *ev = add_log(g, "k", "v", NULL);
    ev->flags |= PT_EVENT_F_DROPPED;
    add_log(g, "k", "v", NULL);
    process_ok(&p, g);
    proc_free(&p);
    assert_string_equal(show(&g->events[0]), "host=h1");
    assert_string_equal(show(&g->events[1]), "");
    assert_string_equal(show(&g->events[2]), "DROPPED k=v");
    assert_string_equal(show(&g->events[3]), "k=v | env=prod | region=eu-1");
    group_free(g);
}

/* ====================================================================== drop ============= */

/* Documentation: parsed {"key1": 123456, "key2": "abcd"}, drop key1. */
static void test_drop_doc_example(void **state)
{
    (void)state;
    static proc_t p;
    proc_ok(&p, DROP, "Type: " DROP "\nDropKeys:\n  - key1\n");
    pt_group_t *g = group_new();
    add_log(g, "key1", "123456", "key2", "abcd", NULL);
    process_ok(&p, g);
    assert_string_equal(show(&g->events[0]), "key2=abcd");
    group_free(g);
    proc_free(&p);
}

static void test_drop_cases(void **state)
{
    (void)state;
    static proc_t p;
    proc_ok(&p, DROP, "Type: " DROP "\nDropKeys: [a, c, missing]\n");
    pt_group_t *g = group_new();
    add_log(g, "a", "1", "b", "2", "c", "3", "a", "4", NULL); /* every occurrence goes */
    add_log(g, "a", "1", NULL);                               /* nothing left: still kept */
    add_log(g, "b", "2", NULL);
    add_raw(g, "a raw line"); /* no "content" to drop */
    add_typed(g, PT_EVENT_METRIC, "a", "1", NULL);
    process_ok(&p, g);
    assert_string_equal(show(&g->events[0]), "b=2");
    assert_string_equal(show(&g->events[1]), "");
    assert_false(g->events[1].flags & PT_EVENT_F_DROPPED);
    assert_string_equal(show(&g->events[2]), "b=2");
    assert_string_equal(show(&g->events[3]), "RAW a raw line");
    assert_string_equal(show(&g->events[4]), "a=1");
    group_free(g);
    proc_free(&p);

    proc_ok(&p, DROP, "Type: " DROP "\nDropKeys: content\n");
    g = group_new();
    add_raw(g, "a raw line");
    add_log(g, "content", "x", "k", "v", NULL);
    process_ok(&p, g);
    assert_int_equal(g->events[0].type, PT_EVENT_LOG);
    assert_string_equal(show(&g->events[0]), "");
    assert_string_equal(show(&g->events[1]), "k=v");
    assert_int_equal(pt_group_live_events(g), 2);
    group_free(g);
    proc_free(&p);
}

/* ====================================================================== rename =========== */

/* Documentation: parsed {"key1": 123456, "key2": "abcd"}, key1 -> new_key1. */
static void test_rename_doc_example(void **state)
{
    (void)state;
    static proc_t p;
    proc_ok(&p, RENAME, "Type: " RENAME "\nSourceKeys:\n  - key1\nDestKeys:\n  - new_key1\n");
    pt_group_t *g = group_new();
    add_log(g, "key1", "123456", "key2", "abcd", NULL);
    process_ok(&p, g);
    assert_string_equal(show(&g->events[0]), "new_key1=123456 | key2=abcd");
    group_free(g);
    proc_free(&p);
}

typedef struct {
    const char *src;
    const char *dst;
    const char *in[8]; /* k, v, ..., NULL */
    const char *out;
} rename_case_t;

static void test_rename_table(void **state)
{
    (void)state;
    static const rename_case_t cases[] = {
        /* Onto an existing key: the renamed value wins, the old field goes. */
        {"[a]", "[b]", {"a", "1", "b", "2", "c", "3", NULL}, "b=1 | c=3"},
        {"[a]", "[b]", {"b", "2", "a", "1", NULL}, "b=1"},
        /* Without the source, an existing destination is left alone. */
        {"[a]", "[b]", {"b", "2", NULL}, "b=2"},
        /* All at once: a swap, and no chaining. */
        {"[a, b]", "[b, a]", {"a", "1", "b", "2", NULL}, "b=1 | a=2"},
        {"[a, b]", "[b, c]", {"a", "1", "b", "2", NULL}, "b=1 | c=2"},
        {"[a, b]", "[b, c]", {"a", "1", NULL}, "b=1"},
        /* Two sources onto one name: the later pair wins. */
        {"[a, b]", "[x, x]", {"a", "1", "b", "2", "x", "0", NULL}, "x=2"},
        {"[a, b]", "[x, x]", {"a", "1", "x", "0", NULL}, "x=1"},
        /* A source repeated in the event: its last field is the one renamed. */
        {"[a]", "[b]", {"a", "1", "a", "2", NULL}, "b=2"},
        /* Renaming to itself changes nothing. */
        {"[a, b]", "[a, c]", {"a", "1", "b", "2", NULL}, "a=1 | c=2"},
        /* Empty value, and keys absent. */
        {"[a]", "[b]", {"a", "", NULL}, "b="},
        {"[q]", "[r]", {"a", "1", NULL}, "a=1"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        static proc_t p;
        char yaml[256];
        snprintf(yaml, sizeof(yaml), "Type: " RENAME "\nSourceKeys: %s\nDestKeys: %s\n",
                 cases[i].src, cases[i].dst);
        proc_ok(&p, RENAME, yaml);
        pt_group_t *g = group_new();
        pt_event_t *ev = add_log(g, NULL);
        for (int k = 0; cases[i].in[k] != NULL; k += 2) {
            pt_str_t ks = pt_arena_strdup(g->arena, cases[i].in[k], strlen(cases[i].in[k]));
            pt_str_t vs = pt_arena_strdup(g->arena, cases[i].in[k + 1], strlen(cases[i].in[k + 1]));
            assert_int_equal(pt_event_append(g, ev, ks, vs), 0);
        }
        process_ok(&p, g);
        if (strcmp(show(&g->events[0]), cases[i].out) != 0) {
            fail_msg("case %zu (%s -> %s): got '%s', expected '%s'", i, cases[i].src, cases[i].dst,
                     show(&g->events[0]), cases[i].out);
        }
        group_free(g);
        proc_free(&p);
    }
}

static void test_rename_kinds_and_lifetime(void **state)
{
    (void)state;
    static proc_t p;
    proc_ok(&p, RENAME,
            "Type: " RENAME "\nSourceKeys: [content, host]\nDestKeys: [msg, hostname]\n");
    pt_group_t *g = group_new();
    add_raw(g, "a raw line");
    add_typed(g, PT_EVENT_METRIC, "host", "h1", "x", "1", NULL); /* tags are renamed too */
    add_typed(g, PT_EVENT_SPAN, "host", "h2", NULL);
    pt_event_t *ev = add_log(g, "host", "h3", NULL);
    ev->flags |= PT_EVENT_F_DROPPED;
    process_ok(&p, g);
    proc_free(&p); /* the new names belong to the group */
    assert_int_equal(g->events[0].type, PT_EVENT_LOG);
    assert_string_equal(show(&g->events[0]), "msg=a raw line");
    assert_string_equal(show(&g->events[1]), "hostname=h1 | x=1");
    assert_string_equal(show(&g->events[2]), "hostname=h2");
    assert_string_equal(show(&g->events[3]), "DROPPED host=h3");
    group_free(g);

    /* A raw line stays raw when "content" is not renamed. */
    proc_ok(&p, RENAME, "Type: " RENAME "\nSourceKeys: [a]\nDestKeys: [b]\n");
    g = group_new();
    add_raw(g, "line");
    process_ok(&p, g);
    assert_string_equal(show(&g->events[0]), "RAW line");
    group_free(g);
    proc_free(&p);
}

/* NoKeyError counts the events that lack a source key (errors metric). */
static void test_rename_no_key_error(void **state)
{
    (void)state;
    static proc_t p;
    proc_ok(&p, RENAME,
            "Type: " RENAME "\nSourceKeys: [a, b]\nDestKeys: [x, y]\nNoKeyError: true\n");
    pt_group_t *g = group_new();
    add_log(g, "a", "1", "b", "2", NULL);
    add_log(g, "a", "1", NULL);
    add_log(g, "c", "1", NULL);
    add_raw(g, "raw");
    process_ok(&p, g);
    assert_string_equal(show(&g->events[0]), "x=1 | y=2");
    assert_string_equal(show(&g->events[1]), "x=1");
    assert_string_equal(show(&g->events[2]), "c=1");
    assert_int_equal(proc_errors(&p), 3);
    group_free(g);
    proc_free(&p);

    proc_ok(&p, RENAME, "Type: " RENAME "\nSourceKeys: [a, b]\nDestKeys: [x, y]\n");
    g = group_new();
    add_log(g, "c", "1", NULL);
    process_ok(&p, g);
    assert_int_equal(proc_errors(&p), 0);
    group_free(g);
    proc_free(&p);
}

/* ====================================================================== bad configs ====== */

typedef struct {
    const char *name;
    const char *yaml;
    const char *error;
} bad_case_t;

static void test_bad_configs(void **state)
{
    (void)state;
    static const bad_case_t cases[] = {
        {ADD, "Type: " ADD "\n", "[test.yaml:1] pipe/" ADD ".Fields: required key is missing"},
        {ADD, "Type: " ADD "\nFields: {}\n",
         "[test.yaml:1] pipe/" ADD ".Fields: must name at least one field"},
        {ADD, "Type: " ADD "\nFields: [a, b]\n",
         "[test.yaml:2] pipe/" ADD ".Fields: expected a map of strings, got a list"},
        {ADD, "Type: " ADD "\nFields: {a: [1]}\n", ".Fields.a: expected a string, got a list"},
        {ADD, "Type: " ADD "\nFields: {a: b}\nIgnoreIfExist: sometimes\n",
         ".IgnoreIfExist: expected true or false"},
        {DROP, "Type: " DROP "\n", "[test.yaml:1] pipe/" DROP ".DropKeys: required key is missing"},
        {DROP, "Type: " DROP "\nDropKeys: []\n",
         "[test.yaml:1] pipe/" DROP ".DropKeys: must name at least one field"},
        {RENAME, "Type: " RENAME "\nSourceKeys: [a, b]\nDestKeys: [c]\n",
         "[test.yaml:1] pipe/" RENAME ".DestKeys: has 1 entry but SourceKeys has 2; they must "
         "pair up one to one"},
        {RENAME, "Type: " RENAME "\nSourceKeys: [a]\nDestKeys: [c, d, e]\n",
         ".DestKeys: has 3 entries but SourceKeys has 1"},
        {RENAME, "Type: " RENAME "\nSourceKeys: []\nDestKeys: []\n",
         ".SourceKeys: must name at least one field"},
        {RENAME, "Type: " RENAME "\nDestKeys: [a]\n", ".SourceKeys: required key is missing"},
        {RENAME, "Type: " RENAME "\nSourceKeys: [a]\n", ".DestKeys: required key is missing"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        static proc_t p;
        const char *text = proc_bad(&p, cases[i].name, cases[i].yaml);
        if (strstr(text, cases[i].error) == NULL) {
            fail_msg("case %zu: expected \"%s\" in:\n%s", i, cases[i].error, text);
        }
        proc_free(&p);
    }

    /* A source listed twice: a warning, and the last destination wins. */
    static proc_t p;
    assert_int_equal(
        proc_make(&p, RENAME, "Type: " RENAME "\nSourceKeys: [a, a]\nDestKeys: [b, c]\n"), 0);
    assert_contains(pt_cfg_diag_text(&p.d),
                    "[test.yaml:1] pipe/" RENAME ".SourceKeys: warning: 'a' is listed more than "
                    "once; the last destination wins");
    pt_group_t *g = group_new();
    add_log(g, "a", "1", NULL);
    process_ok(&p, g);
    assert_string_equal(show(&g->events[0]), "c=1");
    group_free(g);
    proc_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_add_doc_example, cleanup),
        cmocka_unit_test_teardown(test_add_existing_keys, cleanup),
        cmocka_unit_test_teardown(test_add_kinds_and_lifetime, cleanup),
        cmocka_unit_test_teardown(test_drop_doc_example, cleanup),
        cmocka_unit_test_teardown(test_drop_cases, cleanup),
        cmocka_unit_test_teardown(test_rename_doc_example, cleanup),
        cmocka_unit_test_teardown(test_rename_table, cleanup),
        cmocka_unit_test_teardown(test_rename_kinds_and_lifetime, cleanup),
        cmocka_unit_test_teardown(test_rename_no_key_error, cleanup),
        cmocka_unit_test_teardown(test_bad_configs, cleanup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
