/* Tests for processor_parse_timestamp_native: the documentation's example and the cases of
 * LoongCollector's unit tests (ProcessorParseTimestampNativeUnittest: TestParseLogTime and the
 * accepted conversions of TestCheckTime), then petrel's edge cases: leap years, zones in the
 * value and in SourceTimezone, the host zone with daylight saving, %s with fractions, years
 * deduced across New Year, bad formats and zones. Expected instants are computed with timegm,
 * independently of the parser's own calendar arithmetic. */
#include <time.h>
#include <unistd.h>

#include "parser_harness.h"

#include "processors/processor_parse_timestamp_native/timestamp_internal.h"

#define PLUGIN "processor_parse_timestamp_native"
#define NS 1000000000LL

/* Seconds of a UTC civil time, by the C library. */
static int64_t utc(int y, int mo, int d, int h, int mi, int s)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    return (int64_t)timegm(&tm);
}

/* Parses one value through the plugin and returns the event's time (42 when untouched). */
static int64_t run_one(proc_t *p, const char *zone, const char *year, const char *fmt,
                       const char *value, uint64_t *failures)
{
    char yaml[1024];
    snprintf(
        yaml, sizeof(yaml),
        "Type: processor_parse_timestamp_native\nSourceKey: time\nSourceFormat: '%s'\n%s%s%s%s",
        fmt, zone ? "SourceTimezone: " : "", zone ? zone : "", zone ? "\n" : "", year ? year : "");
    proc_ok(p, PLUGIN, yaml);
    pt_group_t *g = group_new();
    add_log(g, "time", value, "msg", "m", NULL);
    process_ok(p, g);
    int64_t t = g->events[0].time_ns;
    /* The source field is never touched. */
    char want[512];
    snprintf(want, sizeof(want), "time=%s | msg=m", value);
    assert_string_equal(show(&g->events[0]), want);
    *failures = parse_errors(p);
    group_free(g);
    proc_free(p);
    return t;
}

typedef struct {
    const char *value;
    const char *fmt;
    int64_t sec; /* expected seconds (UTC), or -1: must fail */
    int32_t nsec;
} ts_case_t;

static void run_cases(const ts_case_t *cases, size_t n, const char *zone)
{
    static proc_t p;
    for (size_t i = 0; i < n; i++) {
        const ts_case_t *c = &cases[i];
        uint64_t failures = 0;
        int64_t t = run_one(&p, zone, NULL, c->fmt, c->value, &failures);
        if (c->sec < 0) {
            if (t != 42 || failures != 1) {
                fail_msg("'%s' with '%s': should fail, got %lld (%llu failures)", c->value, c->fmt,
                         (long long)t, (unsigned long long)failures);
            }
            continue;
        }
        int64_t want = c->sec * NS + c->nsec;
        if (t != want || failures != 0) {
            fail_msg("'%s' with '%s' (zone %s): want %lld, got %lld (%llu failures)", c->value,
                     c->fmt, zone ? zone : "host", (long long)want, (long long)t,
                     (unsigned long long)failures);
        }
    }
}

/* ================================================================= LoongCollector ===== */

static void test_loongcollector_cases(void **state)
{
    (void)state;
    const int64_t t0 = utc(2017, 1, 11, 15, 5, 7);
    /* ProcessorParseLogTimeUnittest::TestParseLogTime, SourceTimezone GMT+00:00. */
    const ts_case_t cases[] = {
        {"2017-1-11 15:05:07.012", "%Y-%m-%d %H:%M:%S.%f", t0, 12000000},
        {"[2017-1-11 15:05:07.0123]", "[%Y-%m-%d %H:%M:%S.%f", t0, 12300000},
        {"11 Jan 17 15:05 MST", "%d %b %y %H:%M", t0 - 7, 0},
        {"11 Jan 17 15:05 -0700", "%d %b %y %H:%M", t0 - 7, 0},
        {"Tuesday, 11-Jan-17 15:05:07.0123 MST", "%A, %d-%b-%y %H:%M:%S.%f", t0, 12300000},
        {"Tuesday, 11 Jan 2017 15:05:07 MST", "%A, %d %b %Y %H:%M:%S", t0, 0},
        {"2017-01-11T15:05:07Z08:00", "%Y-%m-%dT%H:%M:%S", t0, 0},
        {"2017-01-11T15:05:07.012999999Z07:00", "%Y-%m-%dT%H:%M:%S.%f", t0, 12999999},
        {"1484147107", "%s", t0, 0},
        {"1484147107123", "%s", t0, 123000000},
        {"15:05:07.012 2017-1-11", "%H:%M:%S.%f %Y-%m-%d", t0, 12000000},
        /* "+0700 (UTC)": the later zone, UTC, wins. */
        {"2017-1-11 15:05:07.012 +0700 (UTC)", "%Y-%m-%d %H:%M:%S.%f %z (%Z)", t0, 12000000},
        /* Compatibility: text after the format is ignored, fraction included. */
        {"2017-1-11 15:05:07.012", "%Y-%m-%d %H:%M:%S", t0, 0},
        /* TestProcessRegularFormatFailed: a date without the time. */
        {"2017-01-11", "%Y-%m-%d %H:%M:%S", -1, 0},
    };
    run_cases(cases, sizeof(cases) / sizeof(cases[0]), "GMT+00:00");
}

/* The documentation's example: its host ran at UTC+8. */
static void test_doc_example(void **state)
{
    (void)state;
    static proc_t p;
    uint64_t failures = 0;
    int64_t t = run_one(&p, "GMT+08:00", NULL, "%Y-%m-%dT%H:%M:%S", "2023-12-28T08:07:12.187340",
                        &failures);
    assert_int_equal(t, 1703722032LL * NS);
    assert_int_equal(failures, 0);
}

/* TestCheckTime: every conversion LoongCollector accepts parses its example. */
static void test_every_conversion(void **state)
{
    (void)state;
    static const char *const pairs[][2] = {
        {"Fri", "%a"},
        {"Friday", "%A"},
        {"Jan", "%b"},
        {"January", "%B"},
        {"19", "%d"},
        {"Jan", "%h"},
        {"22", "%H"},
        {"01", "%I"},
        {"08", "%m"},
        {"01", "%M"},
        {"\n", "%n"},
        {"AM", "%p"},
        {"11:59:59 AM", "%r"},
        {"23:59", "%R"},
        {"59", "%S"},
        {" ", "%t"},
        {"98", "%y"},
        {"2004", "%Y"},
        {"20", "%C"},
        {"31", "%e"},
        {"365", "%j"},
        {"2", "%u"},
        {"53", "%U"},
        {"24", "%V"},
        {"5", "%w"},
        {"23", "%W"},
        {"Tue Nov 20 14:12:58 2020", "%c"},
        {"10/26/23", "%x"},
        {"14:12:58", "%X"},
        {"1605853978", "%s"},
        {"123456789", "%f"},
        {"2021-11-25 14:16:46.123456789", "%Y-%m-%d %H:%M:%S.%f"},
        {"11/20/20", "%D"},
        {"2020-11-20", "%F"},
        {"14:12:58", "%T"},
        {"+0800", "%z"},
        {"CST", "%Z"},
        {"%", "%%"},
        {"2020", "%G"},
        {"20", "%g"},
        {"7", "%k"},
        {"7", "%l"},
        {"2020", "%EY"},
        {"08", "%Om"},
    };
    static proc_t p;
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        uint64_t failures = 0;
        int64_t t = run_one(&p, "GMT+00:00", NULL, pairs[i][1], pairs[i][0], &failures);
        if (failures != 0 || t == 42) {
            fail_msg("'%s' did not parse with '%s'", pairs[i][0], pairs[i][1]);
        }
    }
}

/* ================================================================== petrel cases ===== */

static void test_calendar_and_fields(void **state)
{
    (void)state;
    const ts_case_t cases[] = {
        /* Leap years, including the 100/400 rules; an impossible day rolls over as mktime. */
        {"2024-02-29 12:00:00", "%Y-%m-%d %H:%M:%S", utc(2024, 2, 29, 12, 0, 0), 0},
        {"2000-02-29 00:00:00", "%Y-%m-%d %H:%M:%S", utc(2000, 2, 29, 0, 0, 0), 0},
        {"2100-02-29 00:00:00", "%Y-%m-%d %H:%M:%S", utc(2100, 3, 1, 0, 0, 0), 0},
        {"2023-02-29 00:00:00", "%Y-%m-%d %H:%M:%S", utc(2023, 3, 1, 0, 0, 0), 0},
        {"2024-12-31 23:59:60", "%Y-%m-%d %H:%M:%S", utc(2025, 1, 1, 0, 0, 0), 0},
        {"2024 366", "%Y %j", utc(2024, 12, 31, 0, 0, 0), 0},
        {"2023 366", "%Y %j", -1, 0},
        {"2023 060 10:00", "%Y %j %H:%M", utc(2023, 3, 1, 10, 0, 0), 0},
        /* Limits of the range: after the epoch, before int64 nanoseconds overflow. */
        {"1970-01-01 00:00:01", "%Y-%m-%d %H:%M:%S", 1, 0},
        {"1970-01-01 00:00:00", "%Y-%m-%d %H:%M:%S", -1, 0},
        {"1969-12-31 23:59:59", "%Y-%m-%d %H:%M:%S", -1, 0},
        {"2262-04-11 00:00:00", "%Y-%m-%d %H:%M:%S", utc(2262, 4, 11, 0, 0, 0), 0},
        {"2263-01-01 00:00:00", "%Y-%m-%d %H:%M:%S", -1, 0},
        /* Ranges of each field. */
        {"2024-13-01", "%Y-%m-%d", -1, 0},
        {"2024-00-01", "%Y-%m-%d", -1, 0},
        {"2024-01-32", "%Y-%m-%d", -1, 0},
        {"2024-01-01 24:00", "%Y-%m-%d %H:%M", -1, 0},
        /* LoongCollector's conv_num stops before a digit that could only overflow: "60" for
         * %M reads as 6, and the "0" left over is ignored like any trailing text. */
        {"2024-01-01 23:60", "%Y-%m-%d %H:%M", utc(2024, 1, 1, 23, 6, 0), 0},
        {"2024-01-01 23:60:00", "%Y-%m-%d %H:%M:%S", -1, 0},
        {"2024-1-2 3:4:5", "%Y-%m-%d %H:%M:%S", utc(2024, 1, 2, 3, 4, 5), 0},
        /* 12-hour clock. */
        {"2024-01-01 12:30:00 AM", "%Y-%m-%d %I:%M:%S %p", utc(2024, 1, 1, 0, 30, 0), 0},
        {"2024-01-01 12:30:00 PM", "%Y-%m-%d %I:%M:%S %p", utc(2024, 1, 1, 12, 30, 0), 0},
        {"2024-01-01 01:00:00 pm", "%Y-%m-%d %I:%M:%S %p", utc(2024, 1, 1, 13, 0, 0), 0},
        {"2024-01-01 13:00 PM", "%Y-%m-%d %H:%M %p", -1, 0},
        /* Names, any case; %e with a padding space; %y pivot at 68. */
        {"JANUARY 5 2024", "%B %e %Y", utc(2024, 1, 5, 0, 0, 0), 0},
        {"dec/ 7/2024", "%b/%e/%Y", utc(2024, 12, 7, 0, 0, 0), 0},
        {"Sat, 07 Dec 68", "%a, %d %b %y", utc(2068, 12, 7, 0, 0, 0), 0},
        {"Sat, 07 Dec 69", "%a, %d %b %y", -1, 0}, /* 1969 */
        {"Sun, 07 Dec 99", "%a, %d %b %y", utc(1999, 12, 7, 0, 0, 0), 0},
        {"20 24-06-01", "%C %y-%m-%d", utc(2024, 6, 1, 0, 0, 0), 0},
        /* Fractions: 1 to 9 digits; more are dropped. */
        {"2024-01-01 00:00:00.5", "%Y-%m-%d %H:%M:%S.%f", utc(2024, 1, 1, 0, 0, 0), 500000000},
        {"2024-01-01 00:00:00,123456", "%Y-%m-%d %H:%M:%S,%f", utc(2024, 1, 1, 0, 0, 0), 123456000},
        {"2024-01-01 00:00:00.1234567891", "%Y-%m-%d %H:%M:%S.%f", utc(2024, 1, 1, 0, 0, 0),
         123456789},
        {"2024-01-01 00:00:00.", "%Y-%m-%d %H:%M:%S.%f", -1, 0},
        /* %s: seconds, then a fraction from digits past the tenth, or after a dot. */
        {"1700000000", "%s", 1700000000, 0},
        {"1700000000123456", "%s", 1700000000, 123456000},
        {"1700000000.25", "%s.%f", 1700000000, 250000000},
        {"1700000000999", "%s%f", 1700000000, 999000000},
        {"[1700000000] x", "[%s]", 1700000000, 0},
        {"0", "%s", -1, 0},
        {"-5", "%s", -1, 0},
        {"abc", "%s", -1, 0},
        /* Literals, white space and mismatches. */
        {"2017/01/11", "%Y-%m-%d", -1, 0},
        {"", "%Y-%m-%d", -1, 0},
        {"\xff"
         "2017-01-11",
         "%Y-%m-%d", -1, 0},
        {"2017-01-11\t \n10:00", "%Y-%m-%d %H:%M", utc(2017, 1, 11, 10, 0, 0), 0},
        {"2017-01-1110:00", "%Y-%m-%d%n%H:%M", utc(2017, 1, 11, 10, 0, 0), 0},
        {"100% 2017", "100%% %Y", utc(2017, 1, 1, 0, 0, 0), 0},
    };
    run_cases(cases, sizeof(cases) / sizeof(cases[0]), "GMT+00:00");
}

static void test_zones(void **state)
{
    (void)state;
    const int64_t base = utc(2026, 3, 14, 8, 0, 0);
    const ts_case_t plus8[] = {
        {"2026-03-14 08:00:00", "%Y-%m-%d %H:%M:%S", base - 8 * 3600, 0},
        /* A zone in the value wins over SourceTimezone. */
        {"2026-03-14T08:00:00.003+00:00", "%Y-%m-%dT%H:%M:%S.%f%z", base, 3000000},
        {"2026-03-14T08:00:00Z", "%Y-%m-%dT%H:%M:%S%z", base, 0},
        {"2026-03-14T08:00:00 -0530", "%Y-%m-%dT%H:%M:%S %z", base + 5 * 3600 + 1800, 0},
        {"2026-03-14T08:00:00+05", "%Y-%m-%dT%H:%M:%S%z", base - 5 * 3600, 0},
        {"2026-03-14T08:00:00 GMT", "%Y-%m-%dT%H:%M:%S %Z", base, 0},
        {"2026-03-14T08:00:00 UTC", "%Y-%m-%dT%H:%M:%S %z", base, 0},
        {"2026-03-14T08:00:00 PST", "%Y-%m-%dT%H:%M:%S %z", base + 8 * 3600, 0},
        /* An abbreviation other than GMT/UTC is skipped: SourceTimezone applies. */
        {"2026-03-14T08:00:00 CST", "%Y-%m-%dT%H:%M:%S %Z", base - 8 * 3600, 0},
        {"2026-03-14T08:00:00+5", "%Y-%m-%dT%H:%M:%S%z", -1, 0},
        {"2026-03-14T08:00:00+0560", "%Y-%m-%dT%H:%M:%S%z", -1, 0},
        {"2026-03-14T08:00:00+", "%Y-%m-%dT%H:%M:%S%z", -1, 0},
        /* %s is absolute: no zone applies. */
        {"1773475200", "%s", 1773475200, 0},
    };
    run_cases(plus8, sizeof(plus8) / sizeof(plus8[0]), "GMT+08:00");
    const ts_case_t minus330[] = {
        {"2026-03-14 08:00:00", "%Y-%m-%d %H:%M:%S", base + 3 * 3600 + 1800, 0},
    };
    run_cases(minus330, 1, "GMT-03:30");
    const ts_case_t zero[] = {
        {"2026-03-14 08:00:00", "%Y-%m-%d %H:%M:%S", base, 0},
    };
    run_cases(zero, 1, "GMT");
}

/* Without SourceTimezone, the host's zone, with its daylight saving. */
static void test_host_zone(void **state)
{
    (void)state;
    if (access("/usr/share/zoneinfo/America/New_York", R_OK) != 0) {
        skip(); /* no tzdata */
    }
    const char *saved = getenv("TZ");
    char *keep = saved ? strdup(saved) : NULL;
    setenv("TZ", "America/New_York", 1);
    tzset();
    const ts_case_t ny[] = {
        {"2024-01-15 12:00:00", "%Y-%m-%d %H:%M:%S", utc(2024, 1, 15, 17, 0, 0), 0},
        {"2024-07-15 12:00:00", "%Y-%m-%d %H:%M:%S", utc(2024, 7, 15, 16, 0, 0), 0},
        /* Around the spring change (2024-03-10 02:00 EST -> 03:00 EDT). */
        {"2024-03-10 01:59:59", "%Y-%m-%d %H:%M:%S", utc(2024, 3, 10, 6, 59, 59), 0},
        {"2024-03-10 03:00:00", "%Y-%m-%d %H:%M:%S", utc(2024, 3, 10, 7, 0, 0), 0},
        {"2024-11-03 12:00:00", "%Y-%m-%d %H:%M:%S", utc(2024, 11, 3, 17, 0, 0), 0},
        {"2024-07-15 12:00:00 +0000", "%Y-%m-%d %H:%M:%S %z", utc(2024, 7, 15, 12, 0, 0), 0},
    };
    run_cases(ny, sizeof(ny) / sizeof(ny[0]), NULL);
    setenv("TZ", "Asia/Shanghai", 1);
    tzset();
    const ts_case_t sh[] = {
        {"2023-12-28T08:07:12", "%Y-%m-%dT%H:%M:%S", 1703722032, 0},
    };
    run_cases(sh, 1, NULL);
    setenv("TZ", "UTC", 1);
    tzset();
    const ts_case_t u[] = {
        {"2023-12-28T08:07:12", "%Y-%m-%dT%H:%M:%S", 1703722032 + 8 * 3600, 0},
    };
    run_cases(u, 1, NULL);
    if (keep != NULL) {
        setenv("TZ", keep, 1);
        free(keep);
    } else {
        unsetenv("TZ");
    }
    tzset();
}

/* Formats without a year: SourceYear, else the current year, with LoongCollector's New Year
 * rule. Driven through the parser directly, with a fixed clock. */
static void test_year_deduction(void **state)
{
    (void)state;
    pt_ts_format_t f;
    char err[128];
    assert_int_equal(pt_ts_compile(&f, "%m-%d %H:%M:%S", err, sizeof(err)), 0);
    pt_ts_env_t e;
    int64_t ns = 0;

    pt_ts_env_init(&e, 0, 0, -1, utc(2025, 12, 31, 10, 0, 0));
    assert_int_equal(pt_ts_parse(&f, "12-31 09:00:00", 14, &e, &ns), 0);
    assert_int_equal(ns, utc(2025, 12, 31, 9, 0, 0) * NS);
    /* Read on Dec 31, a Jan 1 line is next year's. */
    assert_int_equal(pt_ts_parse(&f, "01-01 00:00:01", 14, &e, &ns), 0);
    assert_int_equal(ns, utc(2026, 1, 1, 0, 0, 1) * NS);

    pt_ts_env_init(&e, 0, 0, -1, utc(2026, 1, 1, 0, 5, 0));
    assert_int_equal(pt_ts_parse(&f, "12-31 23:59:59", 14, &e, &ns), 0);
    assert_int_equal(ns, utc(2025, 12, 31, 23, 59, 59) * NS);
    assert_int_equal(pt_ts_parse(&f, "06-01 00:00:00", 14, &e, &ns), 0);
    assert_int_equal(ns, utc(2026, 6, 1, 0, 0, 0) * NS);

    /* The current year is the zone's: 2025-12-31T20:00Z is already 2026 at UTC+8. */
    pt_ts_env_init(&e, 0, 8 * 3600, -1, utc(2025, 12, 31, 20, 0, 0));
    assert_int_equal(pt_ts_parse(&f, "06-01 08:00:00", 14, &e, &ns), 0);
    assert_int_equal(ns, utc(2026, 6, 1, 0, 0, 0) * NS);

    /* SourceYear wins; 0 means "current" as -1 does. */
    pt_ts_env_init(&e, 0, 0, 2019, utc(2025, 12, 31, 10, 0, 0));
    assert_int_equal(pt_ts_parse(&f, "02-28 00:00:00", 14, &e, &ns), 0);
    assert_int_equal(ns, utc(2019, 2, 28, 0, 0, 0) * NS);
    pt_ts_env_init(&e, 0, 0, 0, utc(2025, 5, 5, 10, 0, 0));
    assert_int_equal(pt_ts_parse(&f, "02-28 00:00:00", 14, &e, &ns), 0);
    assert_int_equal(ns, utc(2025, 2, 28, 0, 0, 0) * NS);

    /* A time of day alone is today's, in the zone. */
    assert_int_equal(pt_ts_compile(&f, "%H:%M:%S.%f", err, sizeof(err)), 0);
    pt_ts_env_init(&e, 0, -3 * 3600, -1, utc(2025, 5, 5, 1, 0, 0)); /* May 4, 22:00 local */
    assert_int_equal(pt_ts_parse(&f, "10:00:00.25", 11, &e, &ns), 0);
    assert_int_equal(ns, (utc(2025, 5, 4, 10, 0, 0) + 3 * 3600) * NS + 250000000);
}

static void test_source_year_option(void **state)
{
    (void)state;
    static proc_t p;
    uint64_t failures = 0;
    /* LoongCollector's TestProcessNoYearFormat shape, with a fixed year. */
    int64_t t = run_one(&p, "GMT+08:00", "SourceYear: 2021\n", "%m-%d %H:%M:%S.%f",
                        "07-04 10:11:12.999999999", &failures);
    assert_int_equal(t, (utc(2021, 7, 4, 10, 11, 12) - 8 * 3600) * NS + 999999999);
    assert_int_equal(failures, 0);
}

/* A raw line: the time is read from its start, the line stays raw; missing fields are counted;
 * failures keep the event's time. */
static void test_events(void **state)
{
    (void)state;
    static proc_t p;
    proc_ok(&p, PLUGIN,
            "Type: processor_parse_timestamp_native\nSourceKey: content\n"
            "SourceFormat: '%Y-%m-%d %H:%M:%S.%f'\nSourceTimezone: GMT+00:00\n");
    pt_group_t *g = group_new();
    add_raw(g, "2024-05-06 07:08:09.010 INFO started");
    add_raw(g, "garbage");
    add_log(g, "msg", "2024-05-06 07:08:09.010", NULL);
    add_log(g, "content", "2024-05-06 07:08:09", "x", "y", NULL);
    pt_event_t *d = add_raw(g, "2024-05-06 07:08:09.010");
    d->flags |= PT_EVENT_F_DROPPED;
    process_ok(&p, g);
    assert_int_equal(g->events[0].time_ns, utc(2024, 5, 6, 7, 8, 9) * NS + 10000000);
    assert_string_equal(show(&g->events[0]), "RAW 2024-05-06 07:08:09.010 INFO started");
    assert_int_equal(g->events[1].time_ns, 42);
    assert_int_equal(g->events[2].time_ns, 42);
    assert_int_equal(g->events[3].time_ns, 42); /* no fraction: %f fails */
    assert_int_equal(g->events[4].time_ns, 42);
    assert_int_equal(parse_errors(&p), 2);
    assert_int_equal(missing_sources(&p), 1);
    assert_int_equal(pt_group_live_events(g), 4);
    group_free(g);
    proc_free(&p);
}

static void test_config_errors(void **state)
{
    (void)state;
    static proc_t p;
    const char *t;
#define TSCFG "Type: processor_parse_timestamp_native\nSourceKey: time\n"

    t = proc_bad(&p, PLUGIN, TSCFG "SourceFormat: '%Y-%m-%d %Q'\n");
    assert_string_equal(t, "[test.yaml:1] pipe/processor_parse_timestamp_native.SourceFormat: "
                           "unsupported conversion %Q at offset 9\n");
    proc_free(&p);

    t = proc_bad(&p, PLUGIN, TSCFG "SourceFormat: '%Y-%m-%d %'\n");
    assert_non_null(strstr(t, "SourceFormat: '%' at the end of the format (offset 9)"));
    proc_free(&p);

    t = proc_bad(&p, PLUGIN, TSCFG "SourceFormat: ''\n");
    assert_non_null(strstr(t, "SourceFormat: must not be empty"));
    proc_free(&p);

    t = proc_bad(&p, PLUGIN, TSCFG);
    assert_non_null(strstr(t, "SourceFormat"));
    proc_free(&p);

    const char *zones[] = {"GMT+8",     "Asia/Shanghai", "GMT+08:60", "GMT+15:00",
                           "UTC+08:00", "GMT 08:00",     "gmt+08:00", "+08:00"};
    for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
        char yaml[256];
        snprintf(yaml, sizeof(yaml), TSCFG "SourceFormat: '%%s'\nSourceTimezone: '%s'\n", zones[i]);
        t = proc_bad(&p, PLUGIN, yaml);
        char want[256];
        snprintf(want, sizeof(want),
                 "[test.yaml:1] pipe/processor_parse_timestamp_native.SourceTimezone: expected "
                 "GMT+HH:MM or GMT-HH:MM (e.g. GMT+08:00), got '%s'\n",
                 zones[i]);
        assert_string_equal(t, want);
        proc_free(&p);
    }

    t = proc_bad(&p, PLUGIN, TSCFG "SourceFormat: '%s'\nSourceYear: 10000\n");
    assert_non_null(strstr(t, "SourceYear: must be between -1 and 9999"));
    proc_free(&p);
#undef TSCFG
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_loongcollector_cases, cleanup),
        cmocka_unit_test_teardown(test_doc_example, cleanup),
        cmocka_unit_test_teardown(test_every_conversion, cleanup),
        cmocka_unit_test_teardown(test_calendar_and_fields, cleanup),
        cmocka_unit_test_teardown(test_zones, cleanup),
        cmocka_unit_test_teardown(test_host_zone, cleanup),
        cmocka_unit_test_teardown(test_year_deduction, cleanup),
        cmocka_unit_test_teardown(test_source_year_option, cleanup),
        cmocka_unit_test_teardown(test_events, cleanup),
        cmocka_unit_test_teardown(test_config_errors, cleanup),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    pt_arena_pool_purge();
    return rc;
}
