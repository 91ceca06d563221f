/* Tests for processor_parse_regex_native, driven through its descriptor. The tables hold the
 * input/output example of LoongCollector's documentation and the cases of its unit tests
 * (ProcessorParseRegexNativeUnittest), then petrel's edge cases. */
#include <pthread.h>

#include "parser_harness.h"

#define PLUGIN "processor_parse_regex_native"
#define CFG "Type: processor_parse_regex_native\nSourceKey: content\n"

/* ===================================================================== table ===== */

typedef struct {
    const char *name;
    const char *cfg; /* appended to CFG */
    const char *in;  /* a raw line */
    const char *want;
    int failed; /* expected parse failures for this line */
} rx_case_t;

/* The documentation's example, verbatim (YAML plain scalar: backslashes are literal). */
#define DOC_REGEX                                                                                  \
    "Regex: ([\\d\\.]+) \\S+ \\S+ \\[(\\S+) \\S+\\] \\\"(\\w+) ([^\\\\\"]*)\\\" ([\\d\\.]+) "      \
    "(\\d+) (\\d+) (\\d+|-) \\\"([^\\\\\"]*)\\\" \\\"([^\\\\\"]*)\\\"\n"                           \
    "Keys:\n  - ip\n  - time\n  - method\n  - url\n  - request_time\n  - request_length\n"         \
    "  - status\n  - length\n  - ref_url\n  - browser\n"

static const rx_case_t cases[] = {
    {"doc example", DOC_REGEX,
     "127.0.0.1 - - [07/Jul/2022:10:43:30 +0800] \"POST /PutData?Category=YunOsAccountOpLog\" "
     "0.024 18204 200 37 \"-\" \"aliyun-sdk-java\"",
     "ip=127.0.0.1 | time=07/Jul/2022:10:43:30 | method=POST | "
     "url=/PutData?Category=YunOsAccountOpLog | request_time=0.024 | request_length=18204 | "
     "status=200 | length=37 | ref_url=- | browser=aliyun-sdk-java",
     0},
    /* LoongCollector's TestProcessRegex / TestProcessRegexRaw / TestProcessRegexContent. */
    {"keep source on success",
     "Regex: '(\\w+)\\t(\\w+).*'\nKeys: [key1, key2]\n"
     "KeepingSourceWhenParseFail: true\nKeepingSourceWhenParseSucceed: true\n"
     "CopingRawLog: true\nRenamedSourceKey: rawLog\n",
     "value1\tvalue2", "key1=value1 | key2=value2 | rawLog=value1\tvalue2", 0},
    {"parsed key equal to RenamedSourceKey wins",
     "Regex: '(\\w+)\\t(\\w+).*'\n"
     "Keys: [rawLog, key2]\nKeepingSourceWhenParseFail: true\n"
     "KeepingSourceWhenParseSucceed: true\nCopingRawLog: true\nRenamedSourceKey: rawLog\n",
     "value1\tvalue2", "rawLog=value1 | key2=value2", 0},
    {"parsed key equal to SourceKey overwrites it in place",
     "Regex: '(\\w+)\\t(\\w+).*'\n"
     "Keys: [content, key2]\nKeepingSourceWhenParseFail: true\n"
     "KeepingSourceWhenParseSucceed: true\nCopingRawLog: true\nRenamedSourceKey: rawLog\n",
     "value1\tvalue2", "content=value1 | key2=value2 | rawLog=value1\tvalue2", 0},
    /* TestProcessWholeLine: "(.*)" takes the value as it is, newlines included. */
    {"whole line",
     "Regex: (.*)\nKeys: [content]\nKeepingSourceWhenParseFail: true\n"
     "RenamedSourceKey: rawLog\n",
     "line1\nline2", "content=line1\nline2", 0},
    {"whole line renamed", "Regex: (.*)\nKeys: [msg]\n", "any \xff bytes", "msg=any \xff bytes", 0},
    /* TestProcessEventKeepUnmatch / TestProcessEventDiscardUnmatch. */
    {"unmatched kept",
     "Regex: '(\\w+)\\t(\\w+).*'\nKeys: [key1, key2]\n"
     "KeepingSourceWhenParseFail: true\nRenamedSourceKey: rawLog\n",
     "value1", "rawLog=value1", 1},
    {"unmatched discarded", "Regex: '(\\w+)\\t(\\w+).*'\nKeys: [key1, key2]\n", "value1",
     "DROPPED ", 1},
    {"unmatched kept with __raw_log__",
     "Regex: '(\\d+)'\nKeys: [n]\n"
     "KeepingSourceWhenParseFail: true\nCopingRawLog: true\n",
     "abc", "content=abc | __raw_log__=abc", 1},
    /* Full match, both ends, as boost::regex_match. */
    {"full match: trailing text", "Regex: '(\\d+)'\nKeys: [n]\n", "123abc", "DROPPED ", 1},
    {"full match: leading text", "Regex: '(\\d+)'\nKeys: [n]\n", "abc123", "DROPPED ", 1},
    {"full match backtracks into the alternative that reaches the end",
     "Regex: '(a|ab)(c|bcd)'\nKeys: [k1, k2]\n", "abcd", "k1=a | k2=bcd", 0},
    {"unset optional group is empty", "Regex: '(\\w+)(?:-(\\d+))?'\nKeys: [name, num]\n", "abc",
     "name=abc | num=", 0},
    {"empty value matching", "Regex: '(\\d*)'\nKeys: [n]\n", "", "n=", 0},
    {"empty value not matching",
     "Regex: '(\\d+)'\nKeys: [n]\n"
     "KeepingSourceWhenParseFail: true\n",
     "", "content=", 1},
    /* Bytes, not UTF-8: a Latin-1 byte matches \S and '.', as with boost. */
    {"non-UTF-8 bytes", "Regex: '(\\S+) (.*)'\nKeys: [k1, k2]\n", "caf\xe9 na\xefve \xc3\x28",
     "k1=caf\xe9 | k2=na\xefve \xc3\x28", 0},
    {"UTF-8 text", "Regex: '(\\S+) (\\S+)'\nKeys: [k1, k2]\n", "h\xc3\xa9llo w\xc3\xb6rld",
     "k1=h\xc3\xa9llo | k2=w\xc3\xb6rld", 0},
    /* '.' matches a newline and '^'/'$' match at line breaks (Boost defaults). */
    {"dot matches newline", "Regex: '(\\w+) (.*)'\nKeys: [k1, k2]\n", "first multi\nline",
     "k1=first | k2=multi\nline", 0},
    {"$ at a line break", "Regex: '(\\w+)$\\n(\\w+)'\nKeys: [k1, k2]\n", "ab\ncd", "k1=ab | k2=cd",
     0},
    {"Keys as one comma-joined string", "Regex: '(\\w+) (\\w+)'\nKeys: k1,k2\n", "a b",
     "k1=a | k2=b", 0},
    {"Keys as a list of one comma-joined string (old Logtail form)",
     "Regex: '(\\w+) (\\w+)'\nKeys: ['k1, k2']\n", "a b", "k1=a | k2=b", 0},
    {"repeated key: the later capture wins", "Regex: '(\\w)(\\w)'\nKeys: [a, a]\n", "xy", "a=y", 0},
    {"named and non-capturing groups",
     "Regex: '(?<lvl>[A-Z]+) (?:at )?(\\d+)'\n"
     "Keys: [level, n]\n",
     "WARN at 42", "level=WARN | n=42", 0},
    {"case-insensitive inline flag", "Regex: '(?i)(get|post) (\\S+)'\nKeys: [m, path]\n", "POST /x",
     "m=POST | path=/x", 0},
};

static void test_table(void **state)
{
    (void)state;
    static proc_t p; /* static: the teardown may still need it */
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const rx_case_t *c = &cases[i];
        char yaml[2048];
        snprintf(yaml, sizeof(yaml), "%s%s", CFG, c->cfg);
        proc_ok(&p, PLUGIN, yaml);
        pt_group_t *g = group_new();
        add_raw(g, c->in);
        process_ok(&p, g);
        if (strcmp(show(&g->events[0]), c->want) != 0) {
            fail_msg("case '%s':\n  want: %s\n  got:  %s", c->name, c->want, show(&g->events[0]));
        }
        if (parse_errors(&p) != (uint64_t)c->failed) {
            fail_msg("case '%s': %llu failure(s), want %d", c->name,
                     (unsigned long long)parse_errors(&p), c->failed);
        }
        group_free(g);
        proc_free(&p);
    }
}

/* ================================================================= events ===== */

static void test_log_events_and_missing_key(void **state)
{
    (void)state;
    static proc_t p;
    proc_ok(&p, PLUGIN, CFG "Regex: '(\\w+) (\\w+)'\nKeys: [host, x]\n");
    pt_group_t *g = group_new();
    /* A parsed key that exists is overwritten in place; the source is removed. */
    add_log(g, "host", "h1", "content", "a b", "tail", "t", NULL);
    /* No content field: untouched, counted as missing, not as a failure. */
    add_log(g, "msg", "a b", NULL);
    /* Already dropped by an earlier processor: untouched. */
    pt_event_t *d = add_raw(g, "c d");
    d->flags |= PT_EVENT_F_DROPPED;
    /* Unmatched with another field left: kept (not discarded), source removed. */
    add_log(g, "host", "h2", "content", "nomatch", NULL);
    process_ok(&p, g);
    assert_string_equal(show(&g->events[0]), "host=a | tail=t | x=b");
    assert_string_equal(show(&g->events[1]), "msg=a b");
    assert_string_equal(show(&g->events[2]), "DROPPED RAW c d");
    assert_string_equal(show(&g->events[3]), "host=h2");
    assert_int_equal(parse_errors(&p), 1);
    assert_int_equal(missing_sources(&p), 1);
    assert_int_equal(g->events[0].time_ns, 42);
    group_free(g);
    proc_free(&p);

    /* SourceKey other than content: a raw line has no such field and stays raw. */
    proc_ok(&p, PLUGIN,
            "Type: processor_parse_regex_native\nSourceKey: msg\n"
            "Regex: '(\\w+)'\nKeys: [w]\n");
    g = group_new();
    add_raw(g, "word");
    add_log(g, "msg", "word", "content", "c", NULL);
    process_ok(&p, g);
    assert_string_equal(show(&g->events[0]), "RAW word");
    assert_string_equal(show(&g->events[1]), "content=c | w=word");
    assert_int_equal(missing_sources(&p), 1);
    group_free(g);
    proc_free(&p);
}

static void test_values_are_views_into_the_line(void **state)
{
    (void)state;
    static proc_t p;
    proc_ok(&p, PLUGIN, CFG "Regex: '(\\d+)-(\\w+)'\nKeys: [n, w]\n");
    pt_group_t *g = group_new();
    pt_event_t *ev = add_raw(g, "123-abc");
    const char *line = ev->raw.ptr;
    process_ok(&p, g);
    ev = &g->events[0];
    assert_int_equal(ev->nfields, 2);
    assert_true(view_in(ev->fields[0].val, line, 7));
    assert_true(view_in(ev->fields[1].val, line, 7));
    assert_ptr_equal(ev->fields[0].val.ptr, line);
    assert_ptr_equal(ev->fields[1].val.ptr, line + 4);
    group_free(g);
    proc_free(&p);
}

static void test_many_groups(void **state)
{
    (void)state;
    static proc_t p;
    /* 40 capture groups: more than the processor keeps on its stack. */
    char yaml[4096];
    size_t n = (size_t)snprintf(yaml, sizeof(yaml), "%sRegex: '", CFG);
    for (int i = 0; i < 40; i++) {
        n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "%s(\\d+)", i ? "," : "");
    }
    n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "'\nKeys:\n");
    for (int i = 0; i < 40; i++) {
        n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "  - k%d\n", i);
    }
    proc_ok(&p, PLUGIN, yaml);
    char line[1024];
    size_t m = 0;
    for (int i = 0; i < 40; i++) {
        m += (size_t)snprintf(line + m, sizeof(line) - m, "%s%d", i ? "," : "", i * 7);
    }
    pt_group_t *g = group_new();
    add_raw(g, line);
    add_raw(g, line);
    process_ok(&p, g);
    for (int e = 0; e < 2; e++) {
        const pt_event_t *ev = &g->events[e];
        assert_int_equal(ev->nfields, 40);
        for (int i = 0; i < 40; i++) {
            char k[8];
            char v[8];
            snprintf(k, sizeof(k), "k%d", i);
            snprintf(v, sizeof(v), "%d", i * 7);
            assert_true(pt_str_eq_c(ev->fields[i].key, k));
            assert_true(pt_str_eq_c(ev->fields[i].val, v));
        }
    }
    group_free(g);
    proc_free(&p);
}

/* A pattern that backtracks exponentially: the matcher gives up at its match limit, the line
 * counts as a failure, and the next lines are parsed normally. */
static void test_catastrophic_pattern_fails_the_line_only(void **state)
{
    (void)state;
    static proc_t p;
    proc_ok(&p, PLUGIN,
            CFG "Regex: '((x+x+)+)y'\nKeys: [x, y]\nKeepingSourceWhenParseFail: true\n");
    pt_group_t *g = group_new();
    char line[64];
    memset(line, 'x', 32);
    memcpy(line + 32, "zy", 3);
    add_raw(g, line);
    add_raw(g, "xxxy");
    process_ok(&p, g);
    assert_string_equal(show(&g->events[0]), "content=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxzy");
    assert_string_equal(show(&g->events[1]), "x=xxx | y=xxx");
    assert_int_equal(parse_errors(&p), 1);
    group_free(g);
    proc_free(&p);
}

/* ============================================================== concurrency ===== */

/* Workers run one instance on several threads at once: each thread has its own match data. */
typedef struct {
    proc_t *p;
    int id;
    int bad;
} worker_arg_t;

static void *worker(void *arg)
{
    worker_arg_t *w = arg;
    for (int round = 0; round < 50; round++) {
        pt_arena_t *a = pt_arena_create(PT_ARENA_SMALL);
        pt_group_t *g = pt_group_create(a, 64);
        pt_arena_unref(a);
        char line[64];
        for (int i = 0; i < 64; i++) {
            int n = snprintf(line, sizeof(line), "t%d r%d i%d", w->id, round, i);
            pt_event_t *ev = pt_group_add_event(g, PT_EVENT_RAW);
            ev->raw = pt_arena_strdup(g->arena, line, (size_t)n);
        }
        if (w->p->pl->process(&w->p->inst, g) != 0) {
            w->bad++;
        }
        for (int i = 0; i < 64; i++) {
            char want[64];
            snprintf(want, sizeof(want), "r%d", round);
            const pt_event_t *ev = &g->events[i];
            char wt[16];
            snprintf(wt, sizeof(wt), "t%d", w->id);
            if (ev->nfields != 3 || !pt_str_eq_c(ev->fields[0].val, wt) ||
                !pt_str_eq_c(ev->fields[1].val, want)) {
                w->bad++;
            }
        }
        pt_group_release(g);
    }
    pt_arena_thread_flush();
    return NULL;
}

static void test_concurrent_workers(void **state)
{
    (void)state;
    static proc_t p;
    proc_ok(&p, PLUGIN, CFG "Regex: '(t\\d+) (r\\d+) (i\\d+)'\nKeys: [t, r, i]\n");
    pthread_t th[4];
    worker_arg_t args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (worker_arg_t){&p, i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, worker, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].bad, 0);
    }
    assert_int_equal(parse_errors(&p), 0);
    proc_free(&p);
}

/* =================================================================== config ===== */

static void test_config_errors(void **state)
{
    (void)state;
    static proc_t p;
    const char *t;

    t = proc_bad(&p, PLUGIN, CFG "Regex: '(\\d+'\nKeys: [a]\n");
    assert_string_equal(t, "[test.yaml:1] pipe/processor_parse_regex_native.Regex: invalid regex "
                           "at offset 4: missing closing parenthesis\n");
    proc_free(&p);

    t = proc_bad(&p, PLUGIN, CFG "Regex: 'a[b'\nKeys: [a]\n");
    assert_non_null(strstr(t, "Regex: invalid regex at offset 3: missing terminating ] for "
                              "character class"));
    proc_free(&p);

    t = proc_bad(&p, PLUGIN, CFG "Regex: '(\\d+) (\\d+)'\nKeys: [a]\n");
    assert_string_equal(t, "[test.yaml:1] pipe/processor_parse_regex_native.Keys: 1 key(s) given "
                           "but Regex has 2 capture group(s); they must be equal\n");
    proc_free(&p);

    t = proc_bad(&p, PLUGIN, CFG "Regex: '(\\d+)'\nKeys: [a, b, c]\n");
    assert_non_null(strstr(t, "Keys: 3 key(s) given but Regex has 1 capture group(s)"));
    proc_free(&p);

    /* (.*) takes exactly one key too. */
    t = proc_bad(&p, PLUGIN, CFG "Regex: (.*)\nKeys: [a, b]\n");
    assert_non_null(strstr(t, "Keys: 2 key(s) given but Regex has 1 capture group(s)"));
    proc_free(&p);

    t = proc_bad(&p, PLUGIN, CFG "Regex: ''\nKeys: [a]\n");
    assert_non_null(strstr(t, "pipe/processor_parse_regex_native.Regex: must not be empty"));
    proc_free(&p);

    t = proc_bad(&p, PLUGIN, CFG "Keys: [a]\n");
    assert_non_null(strstr(t, "Regex"));
    proc_free(&p);

    t = proc_bad(&p, PLUGIN, CFG "Regex: (a)\n");
    assert_non_null(strstr(t, "Keys"));
    proc_free(&p);

    t = proc_bad(&p, PLUGIN, CFG "Regex: (a)(b)\nKeys: ['a,,b']\n");
    assert_non_null(strstr(t, "Keys: key 2 is empty"));
    proc_free(&p);

    t = proc_bad(&p, PLUGIN, "Type: processor_parse_regex_native\nRegex: (a)\nKeys: [a]\n");
    assert_non_null(strstr(t, "SourceKey"));
    proc_free(&p);

    t = proc_bad(&p, PLUGIN,
                 "Type: processor_parse_regex_native\nSourceKey: ''\nRegex: (a)\n"
                 "Keys: [a]\n");
    assert_non_null(strstr(t, "pipe/processor_parse_regex_native.SourceKey: must not be empty"));
    proc_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_table, cleanup),
        cmocka_unit_test_teardown(test_log_events_and_missing_key, cleanup),
        cmocka_unit_test_teardown(test_values_are_views_into_the_line, cleanup),
        cmocka_unit_test_teardown(test_many_groups, cleanup),
        cmocka_unit_test_teardown(test_catastrophic_pattern_fails_the_line_only, cleanup),
        cmocka_unit_test_teardown(test_concurrent_workers, cleanup),
        cmocka_unit_test_teardown(test_config_errors, cleanup),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    pt_arena_pool_purge();
    return rc;
}
