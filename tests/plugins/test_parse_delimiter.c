/* Tests for processor_parse_delimiter_native, driven through its descriptor. The tables hold the
 * input/output example of LoongCollector's documentation and the cases of its unit tests
 * (ProcessorParseDelimiterNativeUnittest: quotes, doubled quotes, multi-character separators,
 * shortened lines, overflow modes, kept sources), then petrel's edge cases. */
#include "parser_harness.h"

#include "processors/processor_parse_delimiter_native/delimiter_internal.h"

#define PLUGIN "processor_parse_delimiter_native"
#define CFG "Type: processor_parse_delimiter_native\nSourceKey: content\n"

typedef struct {
    const char *name;
    const char *cfg; /* appended to CFG */
    const char *in;  /* a raw line */
    const char *want;
    int failed;
} dl_case_t;

/* LoongCollector's TestProcessQuote / TestProcessDoubleQuote config. */
#define LC_QUOTE                                                                                   \
    "Separator: ','\nQuote: \"'\"\nKeys: [time, method, url, request_time]\n"                      \
    "KeepingSourceWhenParseFail: true\nRenamedSourceKey: rawLog\nAllowingShortenedFields: false\n"
#define LC_ROW(url) "2013-10-31 21:03:49,POST," url ",0.024"
#define LC_OK(url) "time=2013-10-31 21:03:49 | method=POST | url=" url " | request_time=0.024"
#define LC_KEPT(url) "rawLog=" LC_ROW(url)

/* LoongCollector's "@@" cases (TestExtend, TestMultipleLines, TestAllowingShortenedFields).
 * Its tests also set Quote, which a multi-character separator ignores (with a warning, there and
 * here: see test_config_errors), so it is left out. */
#define LC_AT "Separator: '@@'\nKeepingSourceWhenParseFail: true\nRenamedSourceKey: __raw__\n"

static const dl_case_t cases[] = {
    {"doc example",
     "Separator: ','\nQuote: '\"'\nKeys: [ip, time, method, url, request_time, request_length, "
     "status, length, ref_url, browser]\n",
     "127.0.0.1,07/Jul/2022:10:43:30 +0800,POST,PutData?Category=YunOsAccountOpLog,0.024,18204,"
     "200,37,-,aliyun-sdk-java",
     "ip=127.0.0.1 | time=07/Jul/2022:10:43:30 +0800 | method=POST | "
     "url=PutData?Category=YunOsAccountOpLog | request_time=0.024 | request_length=18204 | "
     "status=200 | length=37 | ref_url=- | browser=aliyun-sdk-java",
     0},
    /* TestProcessQuote / TestProcessDoubleQuote, line by line. */
    {"quoted field", LC_QUOTE, LC_ROW("'PutData?Category=YunOsAccountOpLog'"),
     LC_OK("PutData?Category=YunOsAccountOpLog"), 0},
    {"unterminated quote", LC_QUOTE, LC_ROW("'PutData?Category=YunOsAccountOpLog"),
     LC_KEPT("'PutData?Category=YunOsAccountOpLog"), 1},
    {"text after a closing quote", LC_QUOTE, LC_ROW("'PutData?Category=YunOs'AccountOpLog'"),
     LC_KEPT("'PutData?Category=YunOs'AccountOpLog'"), 1},
    {"doubled quote opening a field", LC_QUOTE, LC_ROW("''PutData?Category=YunOsAccountOpLog"),
     LC_KEPT("''PutData?Category=YunOsAccountOpLog"), 1},
    {"quotes inside an unquoted field", LC_QUOTE, LC_ROW("PutData?Category=YunOs''AccountOpLog"),
     LC_KEPT("PutData?Category=YunOs''AccountOpLog"), 1},
    {"quotes ending an unquoted field", LC_QUOTE, LC_ROW("PutData?Category=YunOsAccountOpLog''"),
     LC_KEPT("PutData?Category=YunOsAccountOpLog''"), 1},
    {"doubled then single quote", LC_QUOTE, LC_ROW("''PutData?Category=YunOsAccountOpLog'"),
     LC_KEPT("''PutData?Category=YunOsAccountOpLog'"), 1},
    {"lone quotes inside a quoted field", LC_QUOTE,
     LC_ROW("'PutData?Category=Yun'Os'AccountOpLog'"),
     LC_KEPT("'PutData?Category=Yun'Os'AccountOpLog'"), 1},
    {"doubled quote inside a quoted field", LC_QUOTE,
     LC_ROW("'PutData?Category=YunOs''AccountOpLog'"), LC_OK("PutData?Category=YunOs'AccountOpLog"),
     0},
    {"escaped quote then the separator, unterminated", LC_QUOTE,
     LC_ROW("'PutData?Category=YunOsAccountOpLog''"),
     LC_KEPT("'PutData?Category=YunOsAccountOpLog''"), 1},
    {"tripled quotes", LC_QUOTE, LC_ROW("'''PutData?Category=YunOs''AccountOpLog'''"),
     LC_OK("'PutData?Category=YunOs'AccountOpLog'"), 0},
    /* TestProcessQuote: space separator, a newline inside a quoted field. */
    {"space separator, newline in quotes",
     "Separator: ' '\nQuote: \"'\"\nKeys: ['1', '2', '3', '4', '5', '6', '7', '8', '9']\n",
     "'-' 'file0' '947113' '192.168.0.3' '2024-08-15T15:25:24.195264681' 'PUT\n/dir/resource.txt\n"
     "HTTP/2.0' '200' '154' 'go-sdk'",
     "1=- | 2=file0 | 3=947113 | 4=192.168.0.3 | 5=2024-08-15T15:25:24.195264681 | "
     "6=PUT\n/dir/resource.txt\nHTTP/2.0 | 7=200 | 8=154 | 9=go-sdk",
     0},
    /* TestProcessQuote: pipes, leading spaces trimmed, a quoted field holding separators, a
     * short line allowed. */
    {"pipe separator, quoted separators, leading spaces",
     "Separator: '|'\nQuote: \"'\"\nKeys: ['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', "
     "'11']\n",
     "    2023-12-25 1|zdfvzdfv zfdv|zfdvzdfv zfd|fzdvzdfvzdfvz|zfvzfdzv zfdb|zfdvzdfbvzb|"
     "zdfvzdfbvzdb|'advfawevaevb|dvzdfvzdbfazdb|zdfvbzdfb '|zdfbvzbszfbsfb",
     "1=2023-12-25 1 | 2=zdfvzdfv zfdv | 3=zfdvzdfv zfd | 4=fzdvzdfvzdfvz | 5=zfvzfdzv zfdb | "
     "6=zfdvzdfbvzb | 7=zdfvzdfbvzdb | 8=advfawevaevb|dvzdfvzdbfazdb|zdfvbzdfb  | "
     "9=zdfbvzbszfbsfb",
     0},
    /* TestAllowingShortenedFields / TestMultipleLines. */
    {"short line refused", LC_AT "Keys: [a, b, c]\nAllowingShortenedFields: false\n", "123@@45",
     "__raw__=123@@45", 1},
    {"short line allowed", LC_AT "Keys: [a, b, c]\nAllowingShortenedFields: true\n", "123@@45",
     "a=123 | b=45", 0},
    {"exact column count", LC_AT "Keys: [a, b, c]\nAllowingShortenedFields: false\n",
     "123@@456@@789", "a=123 | b=456 | c=789", 0},
    {"extend (default)", LC_AT "Keys: [a, b]\n", "123@@456@@789", "a=123 | b=456 | __column2__=789",
     0},
    /* TestExtend. */
    {"keep: the rest with its separator",
     LC_AT "Keys: [a, b, c]\nOverflowedFieldsTreatment: keep\n", "123@@456@@1@@2@@3",
     "a=123 | b=456 | c=1 | __column3__=@@2@@3", 0},
    {"extend: one field per extra column", LC_AT "Keys: [a, b, c]\n", "123@@456@@1@@2@@3",
     "a=123 | b=456 | c=1 | __column3__=2 | __column4__=3", 0},
    {"discard", LC_AT "Keys: [a, b, c]\nOverflowedFieldsTreatment: discard\n", "123@@456@@1@@2@@3",
     "a=123 | b=456 | c=1", 0},
    /* TestUploadRawLog / TestAllowingShortenedFields (kept sources). */
    {"kept source on success",
     "Separator: ','\nQuote: \"'\"\nKeys: [time, method, url, request_time]\n"
     "KeepingSourceWhenParseFail: true\nKeepingSourceWhenParseSucceed: true\nCopingRawLog: true\n"
     "RenamedSourceKey: rawLog\nAllowingShortenedFields: false\n",
     LC_ROW("'PutData?Category=YunOsAccountOpLog'"),
     LC_OK("PutData?Category=YunOsAccountOpLog") " | " LC_KEPT(
         "'PutData?Category=YunOsAccountOpLog'"),
     0},
    {"kept source and __raw_log__ on failure",
     "Separator: ','\nQuote: \"'\"\nKeys: [time, method, url, request_time]\n"
     "KeepingSourceWhenParseFail: true\nKeepingSourceWhenParseSucceed: true\nCopingRawLog: true\n"
     "RenamedSourceKey: rawLog\nAllowingShortenedFields: false\n",
     "value1", "rawLog=value1 | __raw_log__=value1", 1},
    {"short line with the source kept",
     "Separator: ','\nQuote: \"'\"\nKeys: [time, method, url, request_time]\n"
     "KeepingSourceWhenParseFail: true\nKeepingSourceWhenParseSucceed: true\nCopingRawLog: true\n"
     "RenamedSourceKey: rawLog\n",
     "value1", "time=value1 | rawLog=value1", 0},
    /* TestProcessKeyOverwritten: keys named like the source and the kept fields. */
    {"keys overwrite source, renamed source and __raw_log__",
     "Separator: ','\nQuote: \"'\"\nKeys: [time, rawLog, content, __raw_log__]\n"
     "KeepingSourceWhenParseFail: true\nKeepingSourceWhenParseSucceed: true\nCopingRawLog: true\n"
     "RenamedSourceKey: rawLog\nAllowingShortenedFields: false\n",
     LC_ROW("'PutData?Category=YunOsAccountOpLog'"),
     "content=PutData?Category=YunOsAccountOpLog | time=2013-10-31 21:03:49 | rawLog=POST | "
     "__raw_log__=0.024",
     0},
    {"failure with keys named like the kept fields",
     "Separator: ','\nQuote: \"'\"\nKeys: [time, rawLog, content, __raw_log__]\n"
     "KeepingSourceWhenParseFail: true\nKeepingSourceWhenParseSucceed: true\nCopingRawLog: true\n"
     "RenamedSourceKey: rawLog\nAllowingShortenedFields: false\n",
     "value1", "rawLog=value1 | __raw_log__=value1", 1},
    /* TestProcessEventDiscardUnmatch. */
    {"failure discards the event",
     "Separator: ','\nQuote: \"'\"\nKeys: [time, method, url, request_time]\n"
     "KeepingSourceWhenParseFail: false\nRenamedSourceKey: rawLog\nAllowingShortenedFields: "
     "false\n",
     "value1", "DROPPED ", 1},

    /* ---- petrel's edge cases ---- */
    {"CSV with the default quote", "Separator: ','\nKeys: [a, b, c]\n", "x,\"y,z\",w",
     "a=x | b=y,z | c=w", 0},
    {"doubled quotes in CSV", "Separator: ','\nKeys: [a, b]\n", "\"he said \"\"hi\"\"\",x",
     "a=he said \"hi\" | b=x", 0},
    {"empty quoted field", "Separator: ','\nKeys: [a, b]\n", "\"\",x", "a= | b=x", 0},
    {"only an escaped quote", "Separator: ','\nKeys: [a, b]\n", "\"\"\"\",x", "a=\" | b=x", 0},
    {"empty fields", "Separator: ','\nKeys: [a, b, c]\n", ",,", "a= | b= | c=", 0},
    {"trailing separator leaves an empty last field", "Separator: ','\nKeys: [a, b, c]\n", "1,2,",
     "a=1 | b=2 | c=", 0},
    {"trailing multi-character separator", "Separator: '::'\nKeys: [a, b, c]\n",
     "1::2::", "a=1 | b=2 | c=", 0},
    {"trailing spaces and CR trimmed, leading spaces too", "Separator: ','\nKeys: [a, b]\n",
     "  a,b  \r", "a=a | b=b", 0},
    {"tab separator written as \\t", "Separator: '\\t'\nKeys: [a, b]\n", "1\t2", "a=1 | b=2", 0},
    {"tab separator as a real tab", "Separator: \"\\t\"\nKeys: [a, b]\n", "1\t2", "a=1 | b=2", 0},
    {"separator longer than the line", "Separator: '@@@@'\nKeys: [a, b]\n", "ab", "a=ab", 0},
    {"overlapping multi-character separator", "Separator: 'aa'\nKeys: [x, y]\n", "1aaa2",
     "x=1 | y=a2", 0},
    {"multi-character separator does not unquote", "Separator: '||'\nKeys: [a, b]\n", "\"x||y\"||z",
     "a=\"x | b=y\" | __column2__=z", 0},
    {"non-UTF-8 bytes", "Separator: ','\nKeys: [a, b]\n", "caf\xe9,\xff\xfe",
     "a=caf\xe9 | b=\xff\xfe", 0},
    {"keep with a quoted rest is rebuilt",
     "Separator: ','\nKeys: [a, b]\n"
     "OverflowedFieldsTreatment: keep\n",
     "1,2,3,\"4,x\",\"q\"\"q\"", "a=1 | b=2 | __column2__=,3,4,x,q\"q", 0},
    {"keep with a broken quote in the rest fails",
     "Separator: ','\nKeys: [a, b]\n"
     "OverflowedFieldsTreatment: keep\nKeepingSourceWhenParseFail: true\n",
     "1,2,3,4\"", "content=1,2,3,4\"", 1},
    {"keep without overflow", "Separator: ','\nKeys: [a, b]\nOverflowedFieldsTreatment: keep\n",
     "1,2", "a=1 | b=2", 0},
    {"keep with an empty rest", "Separator: ','\nKeys: [a, b]\nOverflowedFieldsTreatment: keep\n",
     "1,2,", "a=1 | b=2 | __column2__=,", 0},
    {"discard skips keys named _",
     "Separator: ','\nKeys: [a, _, c]\n"
     "OverflowedFieldsTreatment: discard\n",
     "1,2,3,4", "a=1 | c=3", 0},
    {"_ is a plain key outside discard", "Separator: ','\nKeys: [a, _]\n", "1,2", "a=1 | _=2", 0},
    {"a key named like an extra column", "Separator: ','\nKeys: [a, __column2__]\n", "1,2,3",
     "a=1 | __column2__=3", 0},
    {"repeated key: the later column wins", "Separator: ','\nKeys: [a, a]\n", "1,2", "a=2", 0},
    {"Keys as one comma-joined string", "Separator: '|'\nKeys: 'a,b'\n", "1|2", "a=1 | b=2", 0},
};

static void test_table(void **state)
{
    (void)state;
    static proc_t p; /* static: the teardown may still need it */
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const dl_case_t *c = &cases[i];
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

/* LoongCollector leaves an empty or blank value alone (counted as a failure): the event is not
 * converted, not discarded, and keeps its source. */
static void test_blank_values_untouched(void **state)
{
    (void)state;
    static proc_t p;
    proc_ok(&p, PLUGIN, CFG "Separator: ','\nKeys: [a, b]\n");
    pt_group_t *g = group_new();
    add_raw(g, "");
    add_raw(g, "   \r");
    add_log(g, "content", " ", "host", "h", NULL);
    process_ok(&p, g);
    assert_string_equal(show(&g->events[0]), "RAW ");
    assert_string_equal(show(&g->events[1]), "RAW    \r");
    assert_string_equal(show(&g->events[2]), "content=  | host=h");
    assert_int_equal(parse_errors(&p), 3);
    assert_int_equal(pt_group_live_events(g), 3);
    group_free(g);
    proc_free(&p);
}

static void test_missing_key_and_log_events(void **state)
{
    (void)state;
    static proc_t p;
    proc_ok(&p, PLUGIN,
            "Type: processor_parse_delimiter_native\nSourceKey: line\n"
            "Separator: ','\nKeys: [host, b]\n");
    pt_group_t *g = group_new();
    add_raw(g, "1,2");                                        /* raw: no "line" field */
    add_log(g, "content", "1,2", NULL);                       /* no "line" field */
    add_log(g, "host", "h0", "line", "h1,x", "z", "9", NULL); /* host overwritten in place */
    process_ok(&p, g);
    assert_string_equal(show(&g->events[0]), "RAW 1,2");
    assert_string_equal(show(&g->events[1]), "content=1,2");
    assert_string_equal(show(&g->events[2]), "host=h1 | z=9 | b=x");
    assert_int_equal(missing_sources(&p), 2);
    assert_int_equal(parse_errors(&p), 0);
    group_free(g);
    proc_free(&p);
}

/* Unquoted and plainly quoted fields are views into the line; only a field with doubled quotes
 * is rebuilt. */
static void test_zero_copy(void **state)
{
    (void)state;
    static proc_t p;
    proc_ok(&p, PLUGIN, CFG "Separator: ','\nKeys: [a, b, c]\n");
    pt_group_t *g = group_new();
    const char *in = "plain,\"quoted, no escape\",\"esc \"\"x\"\"\"";
    pt_event_t *ev = add_raw(g, in);
    const char *line = ev->raw.ptr;
    size_t len = strlen(in);
    process_ok(&p, g);
    ev = &g->events[0];
    assert_string_equal(show(ev), "a=plain | b=quoted, no escape | c=esc \"x\"");
    assert_true(view_in(ev->fields[0].val, line, len));
    assert_true(view_in(ev->fields[1].val, line, len));
    assert_false(view_in(ev->fields[2].val, line, len));
    group_free(g);
    proc_free(&p);
}

static void test_many_columns(void **state)
{
    (void)state;
    static proc_t p;
    proc_ok(&p, PLUGIN, CFG "Separator: ','\nKeys: [k]\n");
    char line[2048];
    size_t n = 0;
    for (int i = 0; i < 150; i++) {
        n += (size_t)snprintf(line + n, sizeof(line) - n, "%sv%d", i ? "," : "", i);
    }
    pt_group_t *g = group_new();
    add_raw(g, line);
    process_ok(&p, g);
    const pt_event_t *ev = &g->events[0];
    assert_int_equal(ev->nfields, 150);
    assert_true(pt_str_eq_c(ev->fields[0].key, "k"));
    for (int i = 1; i < 150; i++) {
        char k[32];
        char v[16];
        snprintf(k, sizeof(k), "__column%d__", i);
        snprintf(v, sizeof(v), "v%d", i);
        assert_true(pt_str_eq_c(ev->fields[i].key, k));
        assert_true(pt_str_eq_c(ev->fields[i].val, v));
    }
    group_free(g);
    proc_free(&p);
}

/* The splitter on its own: every column of a long line found across the 16-byte blocks. */
static void test_split_direct(void **state)
{
    (void)state;
    pt_arena_t *a = pt_arena_create(PT_ARENA_SMALL);
    pt_delim_t d = {{','}, 1, '"', 1, PT_DELIM_EXTEND, 2};
    pt_str_t stack[4];
    pt_delim_cols_t cols = {stack, 0, 4, a};
    char line[1024];
    for (int len = 1; len < 120; len++) {
        /* columns of length len, eight of them */
        size_t n = 0;
        for (int c = 0; c < 8; c++) {
            if (c > 0) {
                line[n++] = ',';
            }
            memset(line + n, 'a' + c, (size_t)len);
            n += (size_t)len;
        }
        cols.v = stack;
        cols.cap = 4;
        assert_int_equal(pt_delim_split(&d, line, n, &cols), 0);
        assert_int_equal(cols.n, 8);
        for (int c = 0; c < 8; c++) {
            assert_int_equal(cols.v[c].len, len);
            assert_int_equal(cols.v[c].ptr[0], 'a' + c);
        }
    }
    /* A quote found by the vector scan inside an unquoted field is an error. */
    memset(line, 'x', 40);
    line[33] = '"';
    cols.v = stack;
    cols.cap = 4;
    assert_int_equal(pt_delim_split(&d, line, 40, &cols), -EINVAL);
    pt_arena_unref(a);
}

static void test_config_errors(void **state)
{
    (void)state;
    static proc_t p;
    const char *t;

    t = proc_bad(&p, PLUGIN, CFG "Separator: '@@@@@'\nKeys: [a]\n");
    assert_string_equal(t, "[test.yaml:1] pipe/processor_parse_delimiter_native.Separator: must "
                           "be 1 to 4 characters, got 5\n");
    proc_free(&p);

    t = proc_bad(&p, PLUGIN, CFG "Separator: ''\nKeys: [a]\n");
    assert_non_null(strstr(t, "processor_parse_delimiter_native.Separator: must not be empty"));
    proc_free(&p);

    t = proc_bad(&p, PLUGIN, CFG "Keys: [a]\n");
    assert_non_null(strstr(t, "Separator"));
    proc_free(&p);

    t = proc_bad(&p, PLUGIN, CFG "Separator: ','\nQuote: \"''\"\nKeys: [a]\n");
    assert_string_equal(t, "[test.yaml:1] pipe/processor_parse_delimiter_native.Quote: must be a "
                           "single character, got 2\n");
    proc_free(&p);

    t = proc_bad(&p, PLUGIN, CFG "Separator: ','\nKeys: [a]\nOverflowedFieldsTreatment: extra\n");
    assert_non_null(strstr(t, "OverflowedFieldsTreatment: must be one of"));
    proc_free(&p);

    t = proc_bad(&p, PLUGIN, CFG "Separator: ','\n");
    assert_non_null(strstr(t, "Keys"));
    proc_free(&p);

    t = proc_bad(&p, PLUGIN, CFG "Separator: ','\nKeys: []\n");
    assert_non_null(strstr(t, "Keys: must name at least one field"));
    proc_free(&p);

    t = proc_bad(&p, PLUGIN, CFG "Separator: ','\nKeys: [a, '']\n");
    assert_non_null(strstr(t, "Keys: key 2 is empty"));
    proc_free(&p);

    /* Quote with a multi-character separator: a warning, as LoongCollector ignores it. */
    assert_int_equal(proc_make(&p, PLUGIN, CFG "Separator: '||'\nQuote: \"'\"\nKeys: [a]\n"), 0);
    assert_int_equal(p.d.nwarnings, 1);
    assert_non_null(strstr(pt_cfg_diag_text(&p.d),
                           "Quote: warning: ignored: quoting applies only to a one-character "
                           "Separator"));
    proc_free(&p);

    /* Quote equal to Separator: a warning, and the line is split plainly. */
    assert_int_equal(proc_make(&p, PLUGIN, CFG "Separator: '\"'\nQuote: '\"'\nKeys: [a, b]\n"), 0);
    assert_int_equal(p.d.nwarnings, 1);
    assert_non_null(strstr(pt_cfg_diag_text(&p.d), "Quote: warning: equals Separator"));
    pt_group_t *g = group_new();
    add_raw(g, "1\"2");
    process_ok(&p, g);
    assert_string_equal(show(&g->events[0]), "a=1 | b=2");
    group_free(g);
    proc_free(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_table, cleanup),
        cmocka_unit_test_teardown(test_blank_values_untouched, cleanup),
        cmocka_unit_test_teardown(test_missing_key_and_log_events, cleanup),
        cmocka_unit_test_teardown(test_zero_copy, cleanup),
        cmocka_unit_test_teardown(test_many_columns, cleanup),
        cmocka_unit_test_teardown(test_split_direct, cleanup),
        cmocka_unit_test_teardown(test_config_errors, cleanup),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    pt_arena_pool_purge();
    return rc;
}
