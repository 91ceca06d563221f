/* Tests for processor_desensitize_native, through its descriptor. The cases are those of
 * LoongCollector's documentation and unit tests (ProcessorDesensitizeNativeUnittest: the same
 * inputs and the same expected outputs, MD5 digests included), then edge cases: adjacent and
 * overlapping matches, empty matches, group references, raw lines, limits, bad configs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "harness_processor.h"

#define NAME "processor_desensitize_native"
#define TYPE "Type: " NAME "\n"

/* LoongCollector's test config: SourceKey cast1, pwd= then [^,]+, ReplacingAll false unless a
 * case says true. (The option's own default is true: see test_replacing_all_default.) */
#define LC_BASE                                                                                    \
    TYPE "SourceKey: cast1\nContentPatternBeforeReplacedString: 'pwd='\n"                          \
         "ReplacedContentPattern: '[^,]+'\n"
#define LC_CONST LC_BASE "Method: const\nReplacingString: '********'\nReplacingAll: false\n"
#define LC_MD5 LC_BASE "Method: md5\nReplacingAll: false\n"
#define LC_CONST_ALL LC_BASE "Method: const\nReplacingString: '********'\nReplacingAll: true\n"
#define LC_MD5_ALL LC_BASE "Method: md5\nReplacingAll: true\n"

typedef struct {
    const char *cfg;
    const char *in;
    const char *out;
} mask_case_t;

/* Runs one value through a processor built from cfg, as field cast1 of a LOG event between two
 * other fields, and checks the result and that the neighbours are untouched. */
static void run_case(size_t i, const mask_case_t *c)
{
    static proc_t p;
    proc_ok(&p, NAME, c->cfg);
    pt_group_t *g = group_new();
    pt_event_t *ev = add_log(g, "before", "x", "cast1", c->in, "after", "pwd=keep", NULL);
    const char *in_ptr = ev->fields[1].val.ptr;
    process_ok(&p, g);
    ev = &g->events[0];
    assert_int_equal(ev->nfields, 3);
    const pt_str_t v = ev->fields[1].val;
    if (v.len != strlen(c->out) || memcmp(v.ptr, c->out, v.len) != 0) {
        fail_msg("case %zu: '%s'\n  got      '%.*s'\n  expected '%s'", i, c->in, (int)v.len, v.ptr,
                 c->out);
    }
    /* Unchanged values stay views into the line; changed ones are new text. */
    if (strcmp(c->in, c->out) == 0) {
        assert_ptr_equal(v.ptr, in_ptr);
    } else {
        assert_ptr_not_equal(v.ptr, in_ptr);
    }
    assert_true(pt_str_eq_c(ev->fields[0].val, "x"));
    assert_true(pt_str_eq_c(ev->fields[2].val, "pwd=keep"));
    assert_false(ev->flags & PT_EVENT_F_DROPPED);
    group_free(g);
    proc_free(&p);
}

static void run_table(const mask_case_t *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        run_case(i, &cases[i]);
    }
}

/* ===================================================================== LoongCollector ==== */

static void test_lc_const(void **state)
{
    (void)state;
    static const mask_case_t cases[] = {
        {LC_CONST, "asf@@@324 FS2$%pwd,pwd=saf543#$@,,", "asf@@@324 FS2$%pwd,pwd=********,,"},
        {LC_CONST, "\r\n\r\nasf@@\n\n@324 FS2$%pwd,pwd=saf543#$@,,",
         "\r\n\r\nasf@@\n\n@324 FS2$%pwd,pwd=********,,"},
        /* ReplacingAll false: the first match only. */
        {LC_CONST, "asf@@@324 FS2$%pwd,pwd=saf543#$@,,pwd=12341,df",
         "asf@@@324 FS2$%pwd,pwd=********,,pwd=12341,df"},
        {LC_CONST_ALL, "asf@@@324 FS2$%pwd,pwd=saf543#$@,,pwd=12341,df",
         "asf@@@324 FS2$%pwd,pwd=********,,pwd=********,df"},
        {LC_CONST_ALL, "asf@@@324 FS2$%pwd,pwd=sdfpsw=543#$@,,pwd=12341,df",
         "asf@@@324 FS2$%pwd,pwd=********,,pwd=********,df"},
        /* No match ("psw" is not "pwd"): unchanged. */
        {LC_CONST, "asf@@@324 FS2$%psw,psw=saf543#$@,,", "asf@@@324 FS2$%psw,psw=saf543#$@,,"},
        /* A value with a line break: both lines are one value. */
        {LC_CONST, "asf@@@324 FS2$%pwd,pwd=saf543#$@,,\ndbf@@@324 FS2$%pwd,pwd=saf543#$@,,",
         "asf@@@324 FS2$%pwd,pwd=********,,\ndbf@@@324 FS2$%pwd,pwd=saf543#$@,,"},
    };
    run_table(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_lc_md5(void **state)
{
    (void)state;
    static const mask_case_t cases[] = {
        {LC_MD5, "asf@@@324 FS2$%pwd,pwd=saf543#$@,,",
         "asf@@@324 FS2$%pwd,pwd=91F6CFCF46787E8A02082B58F7117AFA,,"},
        {LC_MD5, "pwd=saf543#$@,,pwd=12341,df",
         "pwd=91F6CFCF46787E8A02082B58F7117AFA,,pwd=12341,df"},
        {LC_MD5, "pwdsaf543#$@,,pwd=12341", "pwdsaf543#$@,,pwd=F190CE9AC8445D249747CAB7BE43F7D5"},
        {LC_MD5, "pwd=12341", "pwd=F190CE9AC8445D249747CAB7BE43F7D5"},
        {LC_MD5_ALL, "asf@@@324 FS2$%pwd,pwd=saf543#$@,,pwd=12341,df",
         "asf@@@324 FS2$%pwd,pwd=91F6CFCF46787E8A02082B58F7117AFA,,"
         "pwd=F190CE9AC8445D249747CAB7BE43F7D5,df"},
        {LC_MD5_ALL, "pwd=saf543#$@,,pwd=12341f",
         "pwd=91F6CFCF46787E8A02082B58F7117AFA,,pwd=2369B00C6DB80BF0794658225730FF0B"},
        {LC_MD5_ALL, "pwd=saf543#$@,,pwd=12341f,asfasf",
         "pwd=91F6CFCF46787E8A02082B58F7117AFA,,pwd=2369B00C6DB80BF0794658225730FF0B,asfasf"},
        {LC_MD5_ALL, "asf@@@324 FS2$%pwd,pwd=saf543#$@,,",
         "asf@@@324 FS2$%pwd,pwd=91F6CFCF46787E8A02082B58F7117AFA,,"},
        {LC_MD5_ALL, "asf@@@324 FS2$%pwd,\npwd=saf543#$@,,",
         "asf@@@324 FS2$%pwd,\npwd=91F6CFCF46787E8A02082B58F7117AFA,,"},
        {LC_MD5, "nothing to see", "nothing to see"},
    };
    run_table(cases, sizeof(cases) / sizeof(cases[0]));
}

/* Without ReplacingAll, every match is replaced. */
static void test_replacing_all_default(void **state)
{
    (void)state;
    static const mask_case_t cases[] = {
        {LC_BASE "Method: const\nReplacingString: '********'\n", "pwd=a,pwd=b",
         "pwd=********,pwd=********"},
        {LC_BASE "Method: md5\n", "pwd=a,pwd=b",
         "pwd=0CC175B9C0F1B6A831C399E269772661,pwd=92EB5FFEE6AE2FEC3AD71C777531578F"},
    };
    run_table(cases, sizeof(cases) / sizeof(cases[0]));
}

/* The key is missing, or the value is empty: nothing happens. */
static void test_lc_fail_cases(void **state)
{
    (void)state;
    static proc_t p;
    proc_ok(&p, NAME, LC_CONST);
    pt_group_t *g = group_new();
    add_log(g, "cast0", "asf@@@324 FS2$%pwd,pwd=saf543#$@,,", NULL);
    add_log(g, "123214", "asf@@@324 FS2$%psw,pwd=saf543#$@,,pwd=12341,df", NULL);
    add_log(g, "cast1", "", NULL);
    add_raw(g, "pwd=secret");
    process_ok(&p, g);
    assert_string_equal(show(&g->events[0]), "cast0=asf@@@324 FS2$%pwd,pwd=saf543#$@,,");
    assert_string_equal(show(&g->events[1]), "123214=asf@@@324 FS2$%psw,pwd=saf543#$@,,"
                                             "pwd=12341,df");
    assert_string_equal(show(&g->events[2]), "cast1=");
    /* A raw line has only "content". */
    assert_string_equal(show(&g->events[3]), "RAW pwd=secret");
    assert_int_equal(pt_group_live_events(g), 4);
    assert_int_equal(proc_errors(&p), 0);
    group_free(g);
    proc_free(&p);
}

/* LoongCollector's log-group case: three processors over two events. */
static void test_lc_loggroup(void **state)
{
    (void)state;
    static proc_t p1, p2, p3;
    proc_ok(&p1, NAME, LC_CONST);
    proc_ok(&p2, NAME,
            TYPE "SourceKey: id\nMethod: const\nReplacingString: '********'\n"
                 "ContentPatternBeforeReplacedString: '\\d{6}'\nReplacedContentPattern: "
                 "'\\d{8}'\nReplacingAll: true\n");
    proc_ok(&p3, NAME,
            TYPE "SourceKey: content\nMethod: const\nReplacingString: '********'\n"
                 "ContentPatternBeforeReplacedString: \"'password':'\"\n"
                 "ReplacedContentPattern: \"[^']*\"\nReplacingAll: true\n");
    pt_group_t *g = group_new();
    add_log(g, "user", "ali-sls-logtail", "cast1", "pwd=donottellanyone!,", "id",
            "33032119850506123X", "content",
            "{'account':'18122100036969','password':'04adf38'};akProxy=null;", NULL);
    add_log(g, "user", "ali-sls-logtail1", "cast1", "pwd=dafddasf@@!123!,", "id",
            "33032119891206123X", NULL);
    process_ok(&p1, g);
    process_ok(&p2, g);
    process_ok(&p3, g);
    assert_string_equal(show(&g->events[0]),
                        "user=ali-sls-logtail | cast1=pwd=********, | id=330321********123X | "
                        "content={'account':'18122100036969','password':'********'};"
                        "akProxy=null;");
    assert_string_equal(show(&g->events[1]),
                        "user=ali-sls-logtail1 | cast1=pwd=********, | id=330321********123X");
    group_free(g);
    proc_free(&p1);
    proc_free(&p2);
    proc_free(&p3);
}

/* The documented example, on a raw line: masked where it stands, still a raw line. */
static void test_doc_example(void **state)
{
    (void)state;
    static proc_t p;
    proc_ok(&p, NAME,
            TYPE "SourceKey: content\nMethod: const\nReplacingString: '******'\n"
                 "ContentPatternBeforeReplacedString: 'password\":\"'\n"
                 "ReplacedContentPattern: '[^\"]+'\n");
    pt_group_t *g = group_new();
    add_raw(g, "{\"account\":\"1812213231432969\",\"password\":\"04a23f38\"}");
    add_log(g, "content", "{\"account\":\"1812213231432969\",\"password\":\"04a23f38\"}", NULL);
    process_ok(&p, g);
    assert_int_equal(g->events[0].type, PT_EVENT_RAW);
    assert_string_equal(show(&g->events[0]),
                        "RAW {\"account\":\"1812213231432969\",\"password\":\"******\"}");
    assert_string_equal(show(&g->events[1]),
                        "content={\"account\":\"1812213231432969\",\"password\":\"******\"}");
    group_free(g);
    proc_free(&p);
}

/* ===================================================================== edge cases ======== */

#define CFG(before, replaced, extra)                                                               \
    TYPE "SourceKey: cast1\nContentPatternBeforeReplacedString: '" before "'\n"                    \
         "ReplacedContentPattern: '" replaced "'\n" extra

static void test_edge_cases(void **state)
{
    (void)state;
    static const mask_case_t cases[] = {
        /* Adjacent matches, each with its own prefix. */
        {CFG("k=", "[^,]+", "Method: const\nReplacingString: '#'\n"), "k=a,k=b,k=c", "k=#,k=#,k=#"},
        {CFG("k=", "[^,]+", "Method: md5\n"), "k=a,k=b",
         "k=0CC175B9C0F1B6A831C399E269772661,k=92EB5FFEE6AE2FEC3AD71C777531578F"},
        /* Overlapping candidates: a match consumes its text, the next search starts after it. */
        {CFG("a", "a", "Method: const\nReplacingString: X\n"), "aaaaa", "aXaXa"},
        {CFG("a", "a", "Method: md5\n"), "aaaa",
         "a0CC175B9C0F1B6A831C399E269772661a0CC175B9C0F1B6A831C399E269772661"},
        /* ReplacingAll false with md5: the first only. */
        {CFG("k=", "[^,]+", "Method: md5\nReplacingAll: false\n"), "k=a,k=b",
         "k=0CC175B9C0F1B6A831C399E269772661,k=b"},
        /* The prefix pattern may itself hold groups and alternatives; it is kept as matched. */
        {CFG("(token|key)\\s*[:=]\\s*", "\\w+", "Method: const\nReplacingString: '<hidden>'\n"),
         "token = abc key:def tokenx=1", "token = <hidden> key:<hidden> tokenx=1"},
        /* Group references: \1 is the whole prefix, \2 the first group inside it; \\ is a
         * backslash. */
        {CFG("(user|pwd)=", "[^,]+", "Method: const\nReplacingString: '<\\2>\\\\'\n"),
         "user=bob,pwd=x", "user=<user>\\,pwd=<pwd>\\"},
        /* An empty match is allowed once per position (RE2::GlobalReplace); multi-byte
         * characters are stepped over whole. */
        {CFG("", "x*", "Method: const\nReplacingString: '#'\n"), "ab\xc3\xa9", "#a#b#\xc3\xa9#"},
        {CFG("", "x*", "Method: const\nReplacingString: '#'\nReplacingAll: false\n"), "ab", "#ab"},
        /* md5 never accepts a match that does not move forward: unchanged. */
        {CFG("", "x*", "Method: md5\n"), "ab", "ab"},
        /* An empty sensitive part hashes to the MD5 of nothing. */
        {CFG("pwd=", "[^,]*", "Method: md5\n"), "pwd=,x", "pwd=D41D8CD98F00B204E9800998ECF8427E,x"},
        /* Const matches see the whole value: ^ holds only at its start. */
        {CFG("^", "\\d+", "Method: const\nReplacingString: '#'\n"), "123 456", "# 456"},
        /* Bytes: an invalid UTF-8 byte inside a secret is masked with it. */
        {CFG("sk-", "[A-Za-z0-9\\x80-\\xff]+", "Method: const\nReplacingString: '***'\n"),
         "key sk-ab\xff\xfe"
         "cd end",
         "key sk-*** end"},
        {CFG("sk-", "[^ ]+", "Method: const\nReplacingString: '***'\n"),
         "key sk-ab\xff"
         "cd end",
         "key sk-*** end"},
        /* The whole value is sensitive. */
        {CFG("", ".+", "Method: const\nReplacingString: '***'\n"), "secret", "***"},
        /* Replacement longer than the value, and an empty replacement. */
        {CFG("=", ".", "Method: const\nReplacingString: '[a much longer replacement]'\n"), "a=b",
         "a=[a much longer replacement]"},
        {CFG("=", "[^,]+", "Method: const\nReplacingString: ''\n"), "a=b,c=d", "a=,c="},
        /* Masked down to nothing. */
        {CFG("", ".+", "Method: const\nReplacingString: ''\n"), "secret", ""},
    };
    run_table(cases, sizeof(cases) / sizeof(cases[0]));
}

/* A token pattern on agent transcripts, the chain test's mask. */
static void test_token_pattern(void **state)
{
    (void)state;
    static const mask_case_t cases[] = {
        {CFG("\"thinkingSignature\":\"", "[^\"]+", "Method: const\nReplacingString: 'REDACTED'\n"),
         "{\"thinking\":\"plan\",\"thinkingSignature\":\"tRcQX72m8twz0u41oL+/=\"}",
         "{\"thinking\":\"plan\",\"thinkingSignature\":\"REDACTED\"}"},
        {CFG("etag=", "[0-9a-f]{32}", "Method: md5\n"),
         "object 897672 stored etag=6f98c6ba1ae15a85727ea4f730df9967 size=8640074",
         "object 897672 stored etag=3142D5D2C3AD7F3E59139F6CC1FFF28B size=8640074"},
    };
    run_table(cases, sizeof(cases) / sizeof(cases[0]));
}

/* Every field named SourceKey is masked (a repeated key), metrics and spans are not, and events
 * dropped earlier are left alone. */
static void test_event_kinds(void **state)
{
    (void)state;
    static proc_t p;
    proc_ok(&p, NAME, LC_CONST_ALL);
    pt_group_t *g = group_new();
    add_log(g, "cast1", "pwd=a", "cast1", "pwd=b", NULL);
    add_typed(g, PT_EVENT_METRIC, "cast1", "pwd=m", NULL);
    add_typed(g, PT_EVENT_SPAN, "cast1", "pwd=s", NULL);
    pt_event_t *ev = add_log(g, "cast1", "pwd=d", NULL);
    ev->flags |= PT_EVENT_F_DROPPED;
    process_ok(&p, g);
    assert_string_equal(show(&g->events[0]), "cast1=pwd=******** | cast1=pwd=********");
    assert_string_equal(show(&g->events[1]), "cast1=pwd=m");
    assert_string_equal(show(&g->events[2]), "cast1=pwd=s");
    assert_string_equal(show(&g->events[3]), "DROPPED cast1=pwd=d");
    group_free(g);
    proc_free(&p);
}

/* A value the patterns cannot finish matching (backtracking limit) is not let through in clear:
 * the event is dropped and counted. */
static void test_backtracking_limit_drops(void **state)
{
    (void)state;
    static proc_t p;
    proc_ok(&p, NAME, CFG("k=", "(a|aa)*[bc]", "Method: const\nReplacingString: '#'\n"));
    pt_group_t *g = group_new();
    char v[300];
    memcpy(v, "k=", 2);
    memset(v + 2, 'a', sizeof(v) - 3);
    v[sizeof(v) - 1] = '\0';
    add_log(g, "cast1", v, NULL);
    add_log(g, "cast1", "k=aab", NULL);
    process_ok(&p, g);
    assert_true(g->events[0].flags & PT_EVENT_F_DROPPED);
    assert_string_equal(show(&g->events[1]), "cast1=k=#");
    assert_int_equal(proc_errors(&p), 1);
    group_free(g);
    proc_free(&p);
}

/* ===================================================================== bad configs ======= */

typedef struct {
    const char *yaml;
    const char *error;
} bad_case_t;

static void test_bad_configs(void **state)
{
    (void)state;
    static const bad_case_t cases[] = {
        {LC_BASE "Method: sha1\n",
         "[test.yaml:5] pipe/" NAME ".Method: must be one of: const, md5; got 'sha1'"},
        {LC_BASE "Method: MD5\n", "must be one of: const, md5; got 'MD5'"},
        {LC_BASE, "[test.yaml:1] pipe/" NAME ".Method: required key is missing"},
        {LC_BASE "Method: const\n",
         "[test.yaml:1] pipe/" NAME ".ReplacingString: required when Method is const"},
        {TYPE "Method: md5\nContentPatternBeforeReplacedString: a\nReplacedContentPattern: b\n",
         ".SourceKey: required key is missing"},
        {TYPE "SourceKey: k\nMethod: md5\nReplacedContentPattern: b\n",
         ".ContentPatternBeforeReplacedString: required key is missing"},
        {TYPE "SourceKey: k\nMethod: md5\nContentPatternBeforeReplacedString: a\n",
         ".ReplacedContentPattern: required key is missing"},
        {TYPE "SourceKey: ''\nMethod: md5\nContentPatternBeforeReplacedString: a\n"
              "ReplacedContentPattern: b\n",
         ".SourceKey: must not be empty"},
        /* Regex errors name the option and the offset inside it. */
        {TYPE "SourceKey: k\nMethod: md5\nContentPatternBeforeReplacedString: 'ab(c'\n"
              "ReplacedContentPattern: b\n",
         "[test.yaml:1] pipe/" NAME ".ContentPatternBeforeReplacedString: invalid regex 'ab(c': "
         "missing closing parenthesis at offset 4"},
        {TYPE "SourceKey: k\nMethod: md5\nContentPatternBeforeReplacedString: 'ab'\n"
              "ReplacedContentPattern: 'x[y'\n",
         "[test.yaml:1] pipe/" NAME ".ReplacedContentPattern: invalid regex 'x[y': missing "
         "terminating ] for character class at offset 3"},
        {TYPE "SourceKey: k\nMethod: md5\nContentPatternBeforeReplacedString: 'a'\n"
              "ReplacedContentPattern: 'b{2,1}'\n",
         ".ReplacedContentPattern: invalid regex 'b{2,1}': numbers out of order in {} quantifier "
         "at offset 5"},
        {TYPE "SourceKey: k\nMethod: md5\nContentPatternBeforeReplacedString: '*a'\n"
              "ReplacedContentPattern: 'b'\n",
         ".ContentPatternBeforeReplacedString: invalid regex '*a': quantifier does not follow a "
         "repeatable item at offset 0"},
        /* Rewrite strings follow RE2: \\ and \0-\9 only, and only existing groups. */
        {LC_BASE "Method: const\nReplacingString: 'a\\nb'\n",
         ".ReplacingString: invalid escape at offset 1: write \\\\ for a backslash, \\0 to \\9 "
         "for a group"},
        {LC_BASE "Method: const\nReplacingString: 'x\\'\n", ".ReplacingString: invalid escape at "
                                                            "offset 1"},
        {LC_BASE "Method: const\nReplacingString: '\\2'\n",
         ".ReplacingString: refers to group \\2 but the patterns have 1 group(s), counting the "
         "prefix as \\1"},
        {LC_BASE "Method: md5\nReplacingAll: maybe\n",
         ".ReplacingAll: expected true or false, got 'maybe'"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        static proc_t p;
        const char *text = proc_bad(&p, NAME, cases[i].yaml);
        if (strstr(text, cases[i].error) == NULL) {
            fail_msg("case %zu: expected \"%s\" in:\n%s", i, cases[i].error, text);
        }
        proc_free(&p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_lc_const, cleanup),
        cmocka_unit_test_teardown(test_lc_md5, cleanup),
        cmocka_unit_test_teardown(test_replacing_all_default, cleanup),
        cmocka_unit_test_teardown(test_lc_fail_cases, cleanup),
        cmocka_unit_test_teardown(test_lc_loggroup, cleanup),
        cmocka_unit_test_teardown(test_doc_example, cleanup),
        cmocka_unit_test_teardown(test_edge_cases, cleanup),
        cmocka_unit_test_teardown(test_token_pattern, cleanup),
        cmocka_unit_test_teardown(test_event_kinds, cleanup),
        cmocka_unit_test_teardown(test_backtracking_limit_drops, cleanup),
        cmocka_unit_test_teardown(test_bad_configs, cleanup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
