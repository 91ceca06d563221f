/* Tests for processor_timestamp_filter_native, through its descriptor, against LoongCollector's
 * documentation and source: inclusive bounds, the event's own time or an integer field, second /
 * millisecond / nanosecond precision, and events kept when their time cannot be read. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness_processor.h"

#define NAME "processor_timestamp_filter_native"
#define TYPE "Type: " NAME "\n"
#define NS 1000000000LL

static int dropped(const pt_event_t *ev)
{
    return (ev->flags & PT_EVENT_F_DROPPED) != 0;
}

/* Returns the events' kept/dropped pattern as a string of 'k' and 'd'. */
static const char *pattern(const pt_group_t *g)
{
    static char out[64];
    uint32_t i;
    for (i = 0; i < g->nevents && i < sizeof(out) - 1; i++) {
        out[i] = dropped(&g->events[i]) ? 'd' : 'k';
    }
    out[i] = '\0';
    return out;
}

static pt_event_t *at(pt_event_t *ev, int64_t time_ns)
{
    ev->time_ns = time_ns;
    return ev;
}

/* Documentation, example 1: the event's own time (set by processor_parse_timestamp_native),
 * bounds in seconds, both inclusive. */
static void test_doc_event_time(void **state)
{
    (void)state;
    static proc_t p;
    proc_ok(&p, NAME, TYPE "LowerBound: 1705286400\nUpperBound: 1705287000\n");
    pt_group_t *g = group_new();
    at(add_raw(g, "2024-01-15 10:00:00 [INFO] Application started"), 1705286100 * NS);
    at(add_raw(g, "2024-01-15 10:05:00 [INFO] Processing request"), 1705286700 * NS);
    at(add_raw(g, "2024-01-15 10:10:00 [INFO] Request completed"), 1705287300 * NS);
    at(add_raw(g, "at the lower bound"), 1705286400 * NS);
    at(add_raw(g, "at the upper bound, plus 0.9 s"), 1705287000 * NS + 900000000);
    at(add_raw(g, "one second past"), 1705287001 * NS);
    at(add_raw(g, "one nanosecond before the lower bound"), 1705286400 * NS - 1);
    process_ok(&p, g);
    /* Second precision compares whole seconds, as __time__ shows them. */
    assert_string_equal(pattern(g), "dkdkkdd");
    assert_string_equal(show(&g->events[1]), "RAW 2024-01-15 10:05:00 [INFO] Processing request");
    assert_int_equal(g->events[1].type, PT_EVENT_RAW);
    assert_int_equal(proc_errors(&p), 0);
    group_free(g);
    proc_free(&p);
}

/* Documentation, example 2: a field in seconds. */
static void test_doc_field_seconds(void **state)
{
    (void)state;
    static proc_t p;
    proc_ok(&p, NAME,
            TYPE "SourceKey: timestamp\nTimestampPrecision: second\nLowerBound: 1705286400\n"
                 "UpperBound: 1705287000\n");
    pt_group_t *g = group_new();
    add_log(g, "timestamp", "1705286400", "message", "Event 1", "level", "INFO", NULL);
    add_log(g, "timestamp", "1705287000", "message", "Event 2", "level", "INFO", NULL);
    add_log(g, "timestamp", "1705287600", "message", "Event 3", "level", "INFO", NULL);
    process_ok(&p, g);
    assert_string_equal(pattern(g), "kkd");
    assert_string_equal(show(&g->events[0]), "timestamp=1705286400 | message=Event 1 | level=INFO");
    group_free(g);
    proc_free(&p);
}

/* Documentation, example 3: a field in milliseconds, bounds in milliseconds. */
static void test_doc_field_millis(void **state)
{
    (void)state;
    static proc_t p;
    proc_ok(&p, NAME,
            TYPE "SourceKey: ts\nTimestampPrecision: millisecond\nLowerBound: 1705286400000\n"
                 "UpperBound: 1705287000000\n");
    pt_group_t *g = group_new();
    add_log(g, "ts", "1705286400000", "message", "Event with millisecond timestamp", NULL);
    add_log(g, "ts", "1705287000000", "message", "Event with millisecond timestamp 2", NULL);
    add_log(g, "ts", "1705287000001", NULL);
    add_log(g, "ts", "1705286399999", NULL);
    process_ok(&p, g);
    assert_string_equal(pattern(g), "kkdd");
    group_free(g);
    proc_free(&p);
}

typedef struct {
    const char *cfg;
    int64_t time_ns;   /* the event's own time */
    const char *field; /* value of "t", or NULL for no field */
    int kept;
    int unreadable; /* counted as an error */
} tf_case_t;

#define SEC TYPE "SourceKey: t\nLowerBound: 100\nUpperBound: 200\n"
#define MS TYPE "SourceKey: t\nTimestampPrecision: millisecond\nLowerBound: 100\nUpperBound: 200\n"
#define NSP TYPE "SourceKey: t\nTimestampPrecision: nanosecond\nLowerBound: 100\nUpperBound: 200\n"
#define OWN_MS TYPE "TimestampPrecision: millisecond\nLowerBound: 100\nUpperBound: 200\n"
#define OWN_NS TYPE "TimestampPrecision: nanosecond\nLowerBound: 100\nUpperBound: 200\n"

static void test_table(void **state)
{
    (void)state;
    static const tf_case_t cases[] = {
        /* Field values must be whole decimal integers. */
        {SEC, 0, "150", 1, 0},
        {SEC, 0, "99", 0, 0},
        {SEC, 0, "201", 0, 0},
        {SEC, 0, "0150", 1, 0},
        {SEC, 0, NULL, 1, 1},   /* missing: kept */
        {SEC, 0, "", 1, 1},     /* empty: kept */
        {SEC, 0, "15O", 1, 1},  /* not a number: kept */
        {SEC, 0, "+150", 1, 1}, /* no '+' (std::from_chars) */
        {SEC, 0, " 150", 1, 1}, /* no spaces */
        {SEC, 0, "150 ", 1, 1},
        {SEC, 0, "1.5e2", 1, 1}, /* no fraction or exponent */
        {SEC, 0, "-", 1, 1},
        {SEC, 0, "99999999999999999999", 1, 1}, /* overflow */
        {SEC, 0, "-5", 0, 0},                   /* negative: below the default lower bound */
        {SEC, 0, "9223372036854775807", 0, 0},
        /* The field decides even when the event's own time is inside. */
        {SEC, 150 * NS, "300", 0, 0},
        /* Milliseconds: the value and the bounds are both ms. */
        {MS, 0, "100", 1, 0},
        {MS, 0, "200", 1, 0},
        {MS, 0, "201", 0, 0},
        {MS, 0, "9223372036854775807", 0, 0}, /* saturates instead of overflowing */
        {NSP, 0, "100", 1, 0},
        {NSP, 0, "99", 0, 0},
        /* The event's own time in ms/ns precision is compared to the nanosecond. */
        {OWN_MS, 200 * 1000000LL, NULL, 1, 0},
        {OWN_MS, 200 * 1000000LL + 1, NULL, 0, 0},
        {OWN_MS, 100 * 1000000LL - 1, NULL, 0, 0},
        {OWN_NS, 200, NULL, 1, 0},
        {OWN_NS, 201, NULL, 0, 0},
        /* No upper bound: 0 or less means none (LoongCollector). */
        {TYPE "SourceKey: t\nUpperBound: 0\n", 0, "9223372036854775807", 1, 0},
        {TYPE "SourceKey: t\nUpperBound: -1\nLowerBound: 5\n", 0, "4", 0, 0},
        {TYPE "SourceKey: t\nUpperBound: -1\nLowerBound: 5\n", 0, "5", 1, 0},
        /* Negative lower bounds are allowed. */
        {TYPE "SourceKey: t\nLowerBound: -10\nUpperBound: 10\n", 0, "-10", 1, 0},
        {TYPE "SourceKey: t\nLowerBound: -10\nUpperBound: 10\n", 0, "-11", 0, 0},
        /* Defaults: [0, no bound] on the event's own time. */
        {TYPE, 0, NULL, 1, 0},
        {TYPE, -1, NULL, 1, 0},  /* -1 ns is second 0 (truncated, as __time__) */
        {TYPE, -NS, NULL, 0, 0}, /* second -1 */
        {TYPE "TimestampPrecision: MilliSecond\n", -1, NULL, 0, 0}, /* case-insensitive */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        static proc_t p;
        proc_ok(&p, NAME, cases[i].cfg);
        pt_group_t *g = group_new();
        pt_event_t *ev = cases[i].field != NULL ? add_log(g, "t", cases[i].field, NULL)
                                                : add_log(g, "other", "x", NULL);
        ev->time_ns = cases[i].time_ns;
        process_ok(&p, g);
        if (dropped(&g->events[0]) == cases[i].kept ||
            proc_errors(&p) != (uint64_t)cases[i].unreadable) {
            fail_msg("case %zu (%s): expected %s with %d error(s), got %s with %llu", i,
                     cases[i].field ? cases[i].field : "(no field)",
                     cases[i].kept ? "kept" : "dropped", cases[i].unreadable,
                     dropped(&g->events[0]) ? "dropped" : "kept",
                     (unsigned long long)proc_errors(&p));
        }
        group_free(g);
        proc_free(&p);
    }
}

/* A raw line is the field "content"; metrics and spans pass; dropped events stay dropped. */
static void test_event_kinds(void **state)
{
    (void)state;
    static proc_t p;
    proc_ok(&p, NAME, TYPE "SourceKey: content\nLowerBound: 100\nUpperBound: 200\n");
    pt_group_t *g = group_new();
    add_raw(g, "150");
    add_raw(g, "250");
    add_raw(g, "not a time");
    add_typed(g, PT_EVENT_METRIC, "content", "999", NULL);
    add_typed(g, PT_EVENT_SPAN, "content", "999", NULL);
    pt_event_t *ev = add_log(g, "content", "150", NULL);
    ev->flags |= PT_EVENT_F_DROPPED;
    process_ok(&p, g);
    assert_string_equal(pattern(g), "kdkkkd");
    assert_int_equal(g->events[0].type, PT_EVENT_RAW);
    assert_int_equal(proc_errors(&p), 1);
    group_free(g);
    proc_free(&p);

    proc_ok(&p, NAME, TYPE "SourceKey: t\nLowerBound: 100\n");
    g = group_new();
    add_raw(g, "150"); /* a raw line has no field t: kept, counted */
    process_ok(&p, g);
    assert_string_equal(pattern(g), "k");
    assert_int_equal(proc_errors(&p), 1);
    group_free(g);
    proc_free(&p);
}

static void test_bad_configs(void **state)
{
    (void)state;
    static proc_t p;
    const char *text = proc_bad(&p, NAME, TYPE "TimestampPrecision: ms\n");
    assert_contains(text, "[test.yaml:1] pipe/" NAME ".TimestampPrecision: must be second, "
                          "millisecond or nanosecond; got ms");
    proc_free(&p);
    text = proc_bad(&p, NAME, TYPE "UpperBound: soon\n");
    assert_contains(text, "[test.yaml:2] pipe/" NAME ".UpperBound: expected an integer");
    proc_free(&p);
    text = proc_bad(&p, NAME, TYPE "LowerBound: 1.5\n");
    assert_contains(text, "[test.yaml:2] pipe/" NAME ".LowerBound: expected an integer");
    proc_free(&p);

    /* Bounds that keep nothing are accepted, with a warning. */
    assert_int_equal(proc_make(&p, NAME, TYPE "LowerBound: 300\nUpperBound: 200\n"), 0);
    assert_contains(pt_cfg_diag_text(&p.d),
                    "[test.yaml:1] pipe/" NAME ".LowerBound: warning: is after UpperBound: every "
                    "event with a readable time will be dropped");
    proc_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_doc_event_time, cleanup),
        cmocka_unit_test_teardown(test_doc_field_seconds, cleanup),
        cmocka_unit_test_teardown(test_doc_field_millis, cleanup),
        cmocka_unit_test_teardown(test_table, cleanup),
        cmocka_unit_test_teardown(test_event_kinds, cleanup),
        cmocka_unit_test_teardown(test_bad_configs, cleanup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
