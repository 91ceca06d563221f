/* Tests for processor_filter_regex_native, through its descriptor. The expected results are
 * LoongCollector's (ProcessorFilterNative and its documentation): full matches, every rule must
 * hold, missing keys and empty events fail a rule, the older Include form, ConditionExp trees,
 * and DiscardingNonUTF8 blanking invalid bytes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness_processor.h"

#define NAME "processor_filter_regex_native"
#define TYPE "Type: " NAME "\n"

static int dropped(const pt_event_t *ev)
{
    return (ev->flags & PT_EVENT_F_DROPPED) != 0;
}

/* ===================================================================== documentation ==== */

/* The documented example: fields parsed from an access log; keep POST or PUT with status 200. */
static void test_doc_example(void **state)
{
    (void)state;
    static proc_t p;
    proc_ok(&p, NAME,
            TYPE "FilterKey:\n  - method\n  - status\nFilterRegex:\n  - ^(POST|PUT)$\n"
                 "  - ^200$\n");
    pt_group_t *g = group_new();
    add_log(g, "ip", "127.0.0.1", "time", "07/Jul/2022:10:43:30", "method", "POST", "url",
            "/PutData?Category=YunOsAccountOpLog", "request_time", "0.024", "request_length",
            "18204", "status", "200", "length", "37", "ref_url", "-", "browser", "aliyun-sdk-java",
            NULL);
    add_log(g, "ip", "127.0.0.1", "time", "07/Jul/2022:10:44:30", "method", "Get", "url",
            "/PutData?Category=YunOsAccountOpLog", "request_time", "0.024", "request_length",
            "18204", "status", "200", "length", "37", "ref_url", "-", "browser", "aliyun-sdk-java",
            NULL);
    process_ok(&p, g);
    assert_string_equal(show(&g->events[0]),
                        "ip=127.0.0.1 | time=07/Jul/2022:10:43:30 | method=POST | "
                        "url=/PutData?Category=YunOsAccountOpLog | request_time=0.024 | "
                        "request_length=18204 | status=200 | length=37 | ref_url=- | "
                        "browser=aliyun-sdk-java");
    assert_true(dropped(&g->events[1]));
    assert_int_equal(pt_group_live_events(g), 1);
    group_free(g);
    proc_free(&p);
}

/* ===================================================================== FilterKey rules === */

typedef struct {
    const char *regex;
    const char *value; /* NULL: the field is missing */
    int kept;
} match_case_t;

/* Table: the value must match the whole regex, not a part of it. */
static void test_full_match_table(void **state)
{
    (void)state;
    static const match_case_t cases[] = {
        {"POST", "POST", 1},
        {"POST", "POSTX", 0}, /* a prefix match is not enough */
        {"POST", "XPOST", 0}, /* nor a suffix */
        {"PO", "POST", 0},    /* nor a part */
        {"a|ab", "ab", 1},    /* backtracks into the longer alternative */
        {"(a+)+b", "aaab", 1},
        {".*", "", 1}, /* empty value, pattern that accepts it */
        {".+", "", 0}, /* empty value, pattern that needs a character */
        {"", "", 1},
        {"", "x", 0},
        {"\\d{3}", "200", 1},
        {"\\d{3}", "2000", 0},
        {".*error.*", "an error here", 1},
        {"(?i)warn", "WARN", 1}, /* Perl syntax, as boost::regex */
        {"a.c", "a\nc", 1},      /* Boost's default: '.' matches a newline too */
        {".*Exception.*", "java.lang.IllegalStateException: x\n\tat A.b(A.java:1)", 1},
        {"^at .*", "x\nat y", 0}, /* '^' at a line start, but a full match starts at 0 */
        {"x", NULL, 0},           /* missing key */
        {".*", NULL, 0},          /* even a pattern that accepts anything needs the key */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        static proc_t p;
        char yaml[256];
        snprintf(yaml, sizeof(yaml), TYPE "FilterKey: [k]\nFilterRegex: ['%s']\n", cases[i].regex);
        proc_ok(&p, NAME, yaml);
        pt_group_t *g = group_new();
        if (cases[i].value != NULL) {
            add_log(g, "other", "1", "k", cases[i].value, NULL);
        } else {
            add_log(g, "other", "1", NULL);
        }
        process_ok(&p, g);
        if (dropped(&g->events[0]) == cases[i].kept) {
            fail_msg("case %zu: regex '%s' value '%s': expected %s", i, cases[i].regex,
                     cases[i].value ? cases[i].value : "(missing)",
                     cases[i].kept ? "kept" : "dropped");
        }
        group_free(g);
        proc_free(&p);
    }
}

static void test_every_rule_must_hold(void **state)
{
    (void)state;
    static proc_t p;
    proc_ok(&p, NAME, TYPE "FilterKey: [a, b, a]\nFilterRegex: ['x.*', 'y', '.*z']\n");
    pt_group_t *g = group_new();
    add_log(g, "a", "xz", "b", "y", NULL);  /* all three hold */
    add_log(g, "a", "xa", "b", "y", NULL);  /* third fails */
    add_log(g, "a", "xz", "b", "yy", NULL); /* second fails */
    add_log(g, "a", "xz", NULL);            /* b missing */
    add_log(g, "b", "y", "a", "xyz", NULL); /* order of fields does not matter */
    process_ok(&p, g);
    assert_false(dropped(&g->events[0]));
    assert_true(dropped(&g->events[1]));
    assert_true(dropped(&g->events[2]));
    assert_true(dropped(&g->events[3]));
    assert_false(dropped(&g->events[4]));
    /* Kept events are untouched. */
    assert_string_equal(show(&g->events[4]), "b=y | a=xyz");
    group_free(g);
    proc_free(&p);
}

/* A raw line is the field "content": filtered where it stands, without becoming a log event. */
static void test_raw_lines(void **state)
{
    (void)state;
    static proc_t p;
    proc_ok(&p, NAME,
            TYPE "FilterKey: [content]\nFilterRegex: ['.*\"level\":\"(warn|error)\".*']\n");
    pt_group_t *g = group_new();
    add_raw(g, "{\"level\":\"info\",\"msg\":\"a\"}");
    add_raw(g, "{\"level\":\"error\",\"msg\":\"b\"}");
    add_raw(g, "");
    process_ok(&p, g);
    assert_true(dropped(&g->events[0]));
    assert_string_equal(show(&g->events[1]), "RAW {\"level\":\"error\",\"msg\":\"b\"}");
    assert_int_equal(g->events[1].type, PT_EVENT_RAW);
    assert_true(dropped(&g->events[2]));
    group_free(g);
    proc_free(&p);

    /* Any other key is missing from a raw line. */
    proc_ok(&p, NAME, TYPE "FilterKey: [level]\nFilterRegex: ['.*']\n");
    g = group_new();
    add_raw(g, "level=error");
    process_ok(&p, g);
    assert_true(dropped(&g->events[0]));
    group_free(g);
    proc_free(&p);
}

/* An event without any field fails every rule (LoongCollector); metrics and spans pass; events
 * dropped earlier stay dropped and are not looked at. */
static void test_empty_metric_span_and_dropped(void **state)
{
    (void)state;
    static proc_t p;
    proc_ok(&p, NAME, TYPE "FilterKey: [k]\nFilterRegex: ['.*']\n");
    pt_group_t *g = group_new();
    add_log(g, NULL);
    add_typed(g, PT_EVENT_METRIC, "host", "h1", NULL);
    add_typed(g, PT_EVENT_SPAN, NULL);
    pt_event_t *ev = add_log(g, "k", "v", NULL);
    ev->flags |= PT_EVENT_F_DROPPED;
    add_log(g, "k", "v", NULL);
    process_ok(&p, g);
    assert_true(dropped(&g->events[0]));
    assert_false(dropped(&g->events[1]));
    assert_false(dropped(&g->events[2]));
    assert_true(dropped(&g->events[3]));
    assert_false(dropped(&g->events[4]));
    assert_int_equal(proc_errors(&p), 0);
    group_free(g);
    proc_free(&p);

    /* No rule at all: everything passes, even an empty event. */
    proc_ok(&p, NAME, TYPE);
    g = group_new();
    add_log(g, NULL);
    add_raw(g, "x");
    process_ok(&p, g);
    assert_int_equal(pt_group_live_events(g), 2);
    group_free(g);
    proc_free(&p);
}

/* ===================================================================== Include ============ */

/* LoongCollector's unit test: Include {key1: .*value1, key2: value2.*}. */
static void test_include(void **state)
{
    (void)state;
    static proc_t p;
    proc_ok(&p, NAME, TYPE "Include:\n  key1: .*value1\n  key2: value2.*\n");
    pt_group_t *g = group_new();
    add_log(g, "key1", "value1xxxxx", "key2", "value2xxxxx", NULL);
    add_log(g, "key1", "abcdeavalue1", "key2", "value2xxxxx", NULL);
    add_log(g, "key1", "abcvalue1", NULL);
    process_ok(&p, g);
    assert_true(dropped(&g->events[0]));
    assert_string_equal(show(&g->events[1]), "key1=abcdeavalue1 | key2=value2xxxxx");
    assert_true(dropped(&g->events[2]));
    group_free(g);
    proc_free(&p);
}

/* FilterKey wins over Include, and Include over ConditionExp; the ignored ones are named. */
static void test_precedence_warnings(void **state)
{
    (void)state;
    static proc_t p;
    assert_int_equal(proc_make(&p, NAME,
                               TYPE "FilterKey: [a]\nFilterRegex: ['1']\nInclude:\n  a: '2'\n"
                                    "ConditionExp: {key: a, exp: '3', type: regex}\n"),
                     0);
    assert_int_equal(p.d.nwarnings, 2);
    assert_contains(pt_cfg_diag_text(&p.d),
                    "[test.yaml:1] pipe/" NAME ".Include: warning: ignored: FilterKey and "
                    "FilterRegex are set");
    assert_contains(pt_cfg_diag_text(&p.d),
                    "[test.yaml:6] pipe/" NAME ".ConditionExp: warning: ignored: FilterKey and "
                    "FilterRegex are set");
    pt_group_t *g = group_new();
    add_log(g, "a", "1", NULL);
    add_log(g, "a", "2", NULL);
    process_ok(&p, g);
    assert_false(dropped(&g->events[0]));
    assert_true(dropped(&g->events[1]));
    group_free(g);
    proc_free(&p);

    assert_int_equal(proc_make(&p, NAME,
                               TYPE "Include:\n  a: '2'\nConditionExp: {key: a, exp: '3', "
                                    "type: regex}\n"),
                     0);
    assert_int_equal(p.d.nwarnings, 1);
    assert_contains(pt_cfg_diag_text(&p.d), ".ConditionExp: warning: ignored: Include is set");
    g = group_new();
    add_log(g, "a", "2", NULL);
    add_log(g, "a", "3", NULL);
    process_ok(&p, g);
    assert_false(dropped(&g->events[0]));
    assert_true(dropped(&g->events[1]));
    group_free(g);
    proc_free(&p);
}

/* ===================================================================== ConditionExp ======= */

/* LoongCollector's unit test: (a and not d) and (b or c), in YAML. */
#define EXP_LC                                                                                     \
    "ConditionExp:\n"                                                                              \
    "  operator: and\n"                                                                            \
    "  operands:\n"                                                                                \
    "    - operator: and\n"                                                                        \
    "      operands:\n"                                                                            \
    "        - {type: regex, key: a, exp: '\\d+'}\n"                                               \
    "        - operator: not\n"                                                                    \
    "          operands:\n"                                                                        \
    "            - {type: regex, key: d, exp: '20\\d{1,2}-\\d{1,2}-\\d{1,2}'}\n"                   \
    "    - operator: or\n"                                                                         \
    "      operands:\n"                                                                            \
    "        - {type: regex, key: b, exp: '\\S+'}\n"                                               \
    "        - type: regex\n"                                                                      \
    "          key: c\n"                                                                           \
    "          exp: '((2[0-4]\\d|25[0-5]|[01]?\\d\\d?)\\.){3}(2[0-4]\\d|25[0-5]|[01]?\\d\\d?)'\n"

static void test_condition_exp_lc_case(void **state)
{
    (void)state;
    static proc_t p;
    proc_ok(&p, NAME, TYPE EXP_LC "DiscardingNonUTF8: true\n");
    pt_group_t *g = group_new();
    add_log(g, "a", "100", "b", "xxx", "c", "192.168.1.1", "d", "2008-08-08", NULL);
    add_log(g, "a", "100", "b", "xxx", "c", "888.168.1.1", "d", "1999-1-1", NULL);
    add_log(g, "a", "aaa", "b", "xxx", "c", "8.8.8.8", "d", "2222-22-22", NULL);
    /* b has a space so \S+ fails, c is an address: the or holds through c. */
    add_log(g, "a", "7", "b", "x y", "c", "10.0.0.1", NULL);
    /* neither b nor c holds. */
    add_log(g, "a", "7", "b", "x y", "c", "10.0.0", NULL);
    process_ok(&p, g);
    assert_true(dropped(&g->events[0]));
    assert_string_equal(show(&g->events[1]), "a=100 | b=xxx | c=888.168.1.1 | d=1999-1-1");
    assert_true(dropped(&g->events[2]));
    assert_false(dropped(&g->events[3]));
    assert_true(dropped(&g->events[4]));
    group_free(g);
    proc_free(&p);
}

static void test_condition_exp_forms(void **state)
{
    (void)state;
    static proc_t p;
    /* A single leaf; LoongCollector lower-cases operator and type. */
    proc_ok(&p, NAME, TYPE "ConditionExp: {key: a, exp: 'x+', type: REGEX}\n");
    pt_group_t *g = group_new();
    add_log(g, "a", "xxx", NULL);
    add_log(g, "a", "xxy", NULL);
    add_log(g, NULL);
    process_ok(&p, g);
    assert_false(dropped(&g->events[0]));
    assert_true(dropped(&g->events[1]));
    assert_true(dropped(&g->events[2])); /* empty events never pass an expression */
    group_free(g);
    proc_free(&p);

    /* not on a missing key: the leaf is false, so not is true. */
    proc_ok(&p, NAME,
            TYPE "ConditionExp:\n  operator: NOT\n  operands:\n    - {key: lvl, exp: debug, "
                 "type: Regex}\n");
    g = group_new();
    add_log(g, "lvl", "debug", NULL);
    add_log(g, "lvl", "info", NULL);
    add_log(g, "msg", "no level", NULL);
    process_ok(&p, g);
    assert_true(dropped(&g->events[0]));
    assert_false(dropped(&g->events[1]));
    assert_false(dropped(&g->events[2]));
    group_free(g);
    proc_free(&p);

    /* or with three operands (LoongCollector takes exactly two; more combine the same way). */
    proc_ok(&p, NAME,
            TYPE "ConditionExp:\n  operator: or\n  operands:\n    - {key: a, exp: '1', type: "
                 "regex}\n    - {key: a, exp: '2', type: regex}\n    - {key: b, exp: '.*', "
                 "type: regex}\n");
    g = group_new();
    add_log(g, "a", "1", NULL);
    add_log(g, "a", "3", NULL);
    add_log(g, "a", "3", "b", "", NULL);
    process_ok(&p, g);
    assert_false(dropped(&g->events[0]));
    assert_true(dropped(&g->events[1]));
    assert_false(dropped(&g->events[2]));
    group_free(g);
    proc_free(&p);

    /* The JSON form of a pipeline config works as well. */
    proc_ok(&p, NAME,
            "{\"Type\": \"" NAME "\", \"ConditionExp\": {\"operator\": \"and\", \"operands\": "
            "[{\"key\": \"a\", \"exp\": \"\\\\d+\", \"type\": \"regex\"}, {\"key\": \"b\", "
            "\"exp\": \"ok\", \"type\": \"regex\"}]}}");
    g = group_new();
    add_log(g, "a", "12", "b", "ok", NULL);
    add_log(g, "a", "12", "b", "no", NULL);
    process_ok(&p, g);
    assert_false(dropped(&g->events[0]));
    assert_true(dropped(&g->events[1]));
    group_free(g);
    proc_free(&p);
}

/* ===================================================================== bad configs ======== */

typedef struct {
    const char *yaml;
    const char *error; /* a substring of the diagnostics */
} bad_case_t;

static void test_bad_configs(void **state)
{
    (void)state;
    static const bad_case_t cases[] = {
        {"FilterKey: [a, c]\nFilterRegex: [b]\n",
         "[test.yaml:1] pipe/" NAME ".FilterRegex: has 1 entry but FilterKey has 2; they must "
         "pair up one to one"},
        {"FilterRegex: [b]\n", "has 1 entry but FilterKey has 0"},
        {"FilterKey: [a, a]\nFilterRegex: [b, '[a']\n",
         "[test.yaml:1] pipe/" NAME ".FilterRegex[1]: invalid regex '[a': missing terminating ] "
         "for character class at offset 2"},
        /* Every bad entry is reported, not only the first. */
        {"FilterKey: [a, b]\nFilterRegex: ['(x', 'y)']\n",
         "FilterRegex[0]: invalid regex '(x': missing closing parenthesis at offset 2"},
        {"FilterKey: [a, b]\nFilterRegex: ['(x', 'y)']\n",
         "FilterRegex[1]: invalid regex 'y)': unmatched closing parenthesis at offset 1"},
        {"Include:\n  lvl: '*x'\n",
         "pipe/" NAME ".Include.lvl: invalid regex '*x': quantifier does not follow a repeatable "
         "item at offset 0"},
        {"ConditionExp: [a]\n",
         "[test.yaml:2] pipe/" NAME ".ConditionExp: expected a map: {operator, operands} or "
         "{key, exp, type}, got a list"},
        {"ConditionExp:\n  operator: xor\n  operands: []\n",
         "[test.yaml:3] pipe/" NAME ".ConditionExp.operator: unknown operator 'xor'; expected "
         "and, or or not"},
        {"ConditionExp:\n  operator: and\n  operands:\n    - {key: a, exp: '1', type: regex}\n",
         "[test.yaml:5] pipe/" NAME ".ConditionExp.operands: 'and' takes at least 2 operands, "
         "got 1"},
        {"ConditionExp:\n  operator: not\n  operands:\n    - {key: a, exp: '1', type: regex}\n"
         "    - {key: a, exp: '1', type: regex}\n",
         "'not' takes exactly 1 operand, got 2"},
        {"ConditionExp:\n  operator: and\n",
         "[test.yaml:3] pipe/" NAME ".ConditionExp.operands: 'and' needs a list of operands, "
         "got nothing"},
        /* LoongCollector's "missing reg" case: a leaf without exp. */
        {"ConditionExp:\n  operator: and\n  operands:\n    - {type: regex, key: a, exp: r1}\n"
         "    - operator: or\n      operands:\n        - {type: regex, key: b}\n"
         "        - {type: regex, key: c, exp: r3}\n",
         "[test.yaml:8] pipe/" NAME ".ConditionExp.operands[1].operands[0].exp: missing"},
        /* LoongCollector's "missing op" case: operands without operator. */
        {"ConditionExp:\n  operator: and\n  operands:\n    - {type: regex, key: a, exp: r1}\n"
         "    - operands:\n        - {type: regex, key: b, exp: r2}\n"
         "        - {type: regex, key: c, exp: r3}\n",
         "[test.yaml:6] pipe/" NAME ".ConditionExp.operands[1].key: missing"},
        {"ConditionExp: {key: a, exp: x}\n",
         "[test.yaml:2] pipe/" NAME ".ConditionExp.type: missing; the only type is regex"},
        {"ConditionExp: {key: a, exp: x, type: glob}\n",
         "ConditionExp.type: unknown type 'glob'; the only type is regex"},
        {"ConditionExp: {key: a, exp: [x], type: regex}\n",
         "ConditionExp.exp: expected a string, got a list"},
        {"ConditionExp:\n  key: a\n  type: regex\n  exp: 'a{2,1}'\n",
         "[test.yaml:5] pipe/" NAME ".ConditionExp.exp: invalid regex 'a{2,1}': numbers out of "
         "order in {} quantifier at offset 5"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        static proc_t p;
        char yaml[1024];
        snprintf(yaml, sizeof(yaml), TYPE "%s", cases[i].yaml);
        const char *text = proc_bad(&p, NAME, yaml);
        if (strstr(text, cases[i].error) == NULL) {
            fail_msg("case %zu: expected \"%s\" in:\n%s", i, cases[i].error, text);
        }
        proc_free(&p);
    }
}

static void test_unknown_expression_key_warns(void **state)
{
    (void)state;
    static proc_t p;
    assert_int_equal(proc_make(&p, NAME,
                               TYPE "ConditionExp:\n  operator: not\n  operand:\n    - x\n"
                                    "  operands:\n    - {key: a, exp: b, type: regex}\n"),
                     0);
    assert_int_equal(p.d.nwarnings, 1);
    assert_contains(pt_cfg_diag_text(&p.d),
                    "[test.yaml:4] pipe/" NAME ".ConditionExp.operand: warning: unknown key");
    proc_free(&p);
}

/* ===================================================================== non-UTF-8 ========== */

typedef struct {
    const char *in;
    size_t len;
    const char *out; /* same length as in */
} utf8_case_t;

#define U8(s, o)                                                                                   \
    {                                                                                              \
        s, sizeof(s) - 1, o                                                                        \
    }

/* LoongCollector's repair: every byte that starts no valid sequence becomes one space; valid
 * sequences (including 3-byte surrogates, which it lets through) are untouched. */
static void test_non_utf8_table(void **state)
{
    (void)state;
    static const utf8_case_t cases[] = {
        U8("plain ascii", "plain ascii"),
        U8("caf\xc3\xa9", "caf\xc3\xa9"),             /* 2 bytes */
        U8("\xe2\x82\xac 1", "\xe2\x82\xac 1"),       /* 3 bytes */
        U8("\xf0\x9f\x98\x80!", "\xf0\x9f\x98\x80!"), /* 4 bytes */
        U8("a\x80"
           "b",
           "a b"),                           /* lone continuation byte */
        U8("a\xc3", "a "),                   /* truncated at the end */
        U8("\xc3(", " ("),                   /* bad continuation */
        U8("\xc0\xaf", "  "),                /* overlong '/' */
        U8("\xe0\x80\xaf", "   "),           /* overlong, 3 bytes */
        U8("\xe2\x82", "  "),                /* truncated 3-byte */
        U8("\xe2(\xa1", " ( "),              /* 1110xxxx 0xxxxxxx 10xxxxxx */
        U8("\xed\xa0\x80", "\xed\xa0\x80"),  /* surrogate: let through */
        U8("\xf4\x90\x80\x80", "    "),      /* past U+10FFFF */
        U8("\xf8\x88\x80\x80\x80", "     "), /* 5-byte form */
        U8("\xff\xfe", "  "),
        U8("ok\xc3\xa9\xe9ok", "ok\xc3\xa9 ok"), /* Latin-1 after valid UTF-8 */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        static proc_t p;
        proc_ok(&p, NAME, TYPE "DiscardingNonUTF8: true\n");
        pt_group_t *g = group_new();
        pt_event_t *raw = add_raw_n(g, cases[i].in, cases[i].len);
        const char *before = raw->raw.ptr;
        pt_event_t *log = add_log(g, "k", "", NULL);
        log->fields[0].val = pt_arena_strdup(g->arena, cases[i].in, cases[i].len);
        process_ok(&p, g);
        raw = &g->events[0];
        log = &g->events[1];
        assert_int_equal(raw->type, PT_EVENT_RAW);
        assert_int_equal(raw->raw.len, cases[i].len);
        assert_int_equal(log->fields[0].val.len, cases[i].len);
        if (memcmp(raw->raw.ptr, cases[i].out, cases[i].len) != 0 ||
            memcmp(log->fields[0].val.ptr, cases[i].out, cases[i].len) != 0) {
            fail_msg("case %zu: got '%.*s' / '%.*s', expected '%s'", i, (int)raw->raw.len,
                     raw->raw.ptr, (int)log->fields[0].val.len, log->fields[0].val.ptr,
                     cases[i].out);
        }
        /* Valid text is not copied; repaired text is a copy (the line is never written). */
        if (strcmp(cases[i].in, cases[i].out) == 0) {
            assert_ptr_equal(raw->raw.ptr, before);
        } else {
            assert_ptr_not_equal(raw->raw.ptr, before);
            assert_int_equal(memcmp(before, cases[i].in, cases[i].len), 0);
        }
        group_free(g);
        proc_free(&p);
    }
}

/* A key with bad bytes is repaired and moves to the end, replacing a field of that name. */
static void test_non_utf8_keys_and_rules(void **state)
{
    (void)state;
    static proc_t p;
    proc_ok(&p, NAME, TYPE "DiscardingNonUTF8: true\n");
    pt_group_t *g = group_new();
    add_log(g, "a\xff", "1", "b", "2", "a ", "3", "c\xfe", "v\xfd", NULL);
    process_ok(&p, g);
    assert_string_equal(show(&g->events[0]), "b=2 | a =1 | c =v ");
    group_free(g);
    proc_free(&p);

    /* Only kept events are repaired; the rule sees the original bytes. */
    proc_ok(&p, NAME, TYPE "FilterKey: [k]\nFilterRegex: ['a.b']\nDiscardingNonUTF8: true\n");
    g = group_new();
    add_log(g, "k",
            "a\xff"
            "b",
            NULL);
    add_log(g, "k",
            "a\xff"
            "c",
            NULL);
    process_ok(&p, g);
    assert_string_equal(show(&g->events[0]), "k=a b");
    assert_true(dropped(&g->events[1]));
    assert_string_equal(show(&g->events[1]), "DROPPED k=a\xff"
                                             "c");
    group_free(g);
    proc_free(&p);

    /* Off by default: bytes pass as they are. */
    proc_ok(&p, NAME, TYPE);
    g = group_new();
    add_log(g, "k", "a\xff", NULL);
    process_ok(&p, g);
    assert_string_equal(show(&g->events[0]), "k=a\xff");
    group_free(g);
    proc_free(&p);
}

/* A pattern that backtracks past the limit counts as no match and as an error, without
 * stalling the worker. */
static void test_backtracking_limit(void **state)
{
    (void)state;
    static proc_t p;
    proc_ok(&p, NAME, TYPE "FilterKey: [k]\nFilterRegex: ['(a|aa)*[bc]']\n");
    pt_group_t *g = group_new();
    char v[200];
    memset(v, 'a', sizeof(v) - 1);
    v[sizeof(v) - 1] = '\0';
    add_log(g, "k", v, NULL);
    add_log(g, "k", "aab", NULL);
    process_ok(&p, g);
    assert_true(dropped(&g->events[0]));
    assert_false(dropped(&g->events[1]));
    assert_int_equal(proc_errors(&p), 1);
    group_free(g);
    proc_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_doc_example, cleanup),
        cmocka_unit_test_teardown(test_full_match_table, cleanup),
        cmocka_unit_test_teardown(test_every_rule_must_hold, cleanup),
        cmocka_unit_test_teardown(test_raw_lines, cleanup),
        cmocka_unit_test_teardown(test_empty_metric_span_and_dropped, cleanup),
        cmocka_unit_test_teardown(test_include, cleanup),
        cmocka_unit_test_teardown(test_precedence_warnings, cleanup),
        cmocka_unit_test_teardown(test_condition_exp_lc_case, cleanup),
        cmocka_unit_test_teardown(test_condition_exp_forms, cleanup),
        cmocka_unit_test_teardown(test_bad_configs, cleanup),
        cmocka_unit_test_teardown(test_unknown_expression_key_warns, cleanup),
        cmocka_unit_test_teardown(test_non_utf8_table, cleanup),
        cmocka_unit_test_teardown(test_non_utf8_keys_and_rules, cleanup),
        cmocka_unit_test_teardown(test_backtracking_limit, cleanup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
