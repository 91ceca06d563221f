/* Unit tests for core/json.c: the JSONTestSuite conformance corpus, token structure, the member
 * walk, unescaping, limits, and the writer (escaping, U+FFFD replacement, exact pt_jw_* output,
 * round trips checked against an oracle that shares no code with the implementation). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/json.h"
#include "core/mem.h"
#include "core/str.h"

/* ---- helpers -------------------------------------------------------------------------------- */

/* A replaceable allocator that can be told to fail, so out-of-memory paths are exercised. */
static int fail_allocs;

static void *test_malloc_fn(size_t n)
{
    return fail_allocs ? NULL : malloc(n);
}

static void *test_realloc_fn(void *p, size_t n)
{
    return fail_allocs ? NULL : realloc(p, n);
}

static void *test_calloc_fn(size_t c, size_t n)
{
    return fail_allocs ? NULL : calloc(c, n);
}

static uint64_t rng_state;

/* xorshift64*: a fixed seed keeps every run identical, so a failure reproduces. */
static uint64_t rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

static int validate_str(const char *s)
{
    return pt_json_validate(s, strlen(s), NULL);
}

static size_t err_offset(const char *s)
{
    size_t off = (size_t)-1;
    assert_int_equal(pt_json_validate(s, strlen(s), &off), -EINVAL);
    return off;
}

/* Checks the subtree at toks[i] against the document and returns its token count. Every
 * invariant the header promises is asserted: skip, size, spans and the quote/bracket bytes. */
static uint32_t check_subtree(const char *doc, size_t len, const pt_json_tok_t *toks, int n, int i,
                              int depth)
{
    const pt_json_tok_t *t = &toks[i];
    uint32_t count = 1;
    uint32_t children = 0;

    assert_true(i < n);
    assert_true(depth <= PT_JSON_MAX_DEPTH);
    assert_true((size_t)t->start + t->len <= len);
    switch (t->type) {
    case PT_JSON_STRING:
        assert_true(t->start >= 1);
        assert_int_equal(doc[t->start - 1], '"');
        assert_int_equal(doc[t->start + t->len], '"');
        assert_int_equal(t->escaped, memchr(doc + t->start, '\\', t->len) != NULL);
        assert_int_equal(t->size, 0);
        assert_int_equal(t->skip, 1);
        break;
    case PT_JSON_OBJECT:
    case PT_JSON_ARRAY:
        assert_int_equal(doc[t->start], t->type == PT_JSON_OBJECT ? '{' : '[');
        assert_int_equal(doc[t->start + t->len - 1], t->type == PT_JSON_OBJECT ? '}' : ']');
        while (count < t->skip) {
            const pt_json_tok_t *c = &toks[i + (int)count];
            assert_true(c->start > t->start && c->start + c->len < t->start + t->len);
            if (t->type == PT_JSON_OBJECT) {
                assert_int_equal(c->type, PT_JSON_STRING);
                count += check_subtree(doc, len, toks, n, i + (int)count, depth + 1);
                assert_true(count < t->skip);
            }
            count += check_subtree(doc, len, toks, n, i + (int)count, depth + 1);
            children++;
        }
        assert_int_equal(count, t->skip);
        assert_int_equal(children, t->size);
        break;
    case PT_JSON_NUMBER:
    case PT_JSON_TRUE:
    case PT_JSON_FALSE:
    case PT_JSON_NULL:
        assert_true(t->len >= 1);
        assert_int_equal(t->size, 0);
        assert_int_equal(t->skip, 1);
        break;
    default:
        fail_msg("bad token type %d", t->type);
    }
    return count;
}

static void check_tokens(const char *doc, size_t len, const pt_json_tok_t *toks, int n)
{
    assert_true(n >= 1);
    assert_int_equal(check_subtree(doc, len, toks, n, 0, 0), (uint32_t)n);
}

/* ---- conformance corpus ------------------------------------------------------------------ */

/* The implementation-defined cases and the way json.h documents them. A new i_ file fails the
 * test until its decision is recorded here and in the header. */
static const struct {
    const char *name;
    int accept;
} i_cases[] = {
    {"i_number_double_huge_neg_exp.json", 1},
    {"i_number_huge_exp.json", 1},
    {"i_number_neg_int_huge_exp.json", 1},
    {"i_number_pos_double_huge_exp.json", 1},
    {"i_number_real_neg_overflow.json", 1},
    {"i_number_real_pos_overflow.json", 1},
    {"i_number_real_underflow.json", 1},
    {"i_number_too_big_neg_int.json", 1},
    {"i_number_too_big_pos_int.json", 1},
    {"i_number_very_big_negative_int.json", 1},
    {"i_object_key_lone_2nd_surrogate.json", 1},
    {"i_string_1st_surrogate_but_2nd_missing.json", 1},
    {"i_string_1st_valid_surrogate_2nd_invalid.json", 1},
    {"i_string_UTF-16LE_with_BOM.json", 0},
    {"i_string_UTF-8_invalid_sequence.json", 0},
    {"i_string_UTF8_surrogate_U+D800.json", 0},
    {"i_string_incomplete_surrogate_and_escape_valid.json", 1},
    {"i_string_incomplete_surrogate_pair.json", 1},
    {"i_string_incomplete_surrogates_escape_valid.json", 1},
    {"i_string_invalid_lonely_surrogate.json", 1},
    {"i_string_invalid_surrogate.json", 1},
    {"i_string_invalid_utf-8.json", 0},
    {"i_string_inverted_surrogates_U+1D11E.json", 1},
    {"i_string_iso_latin_1.json", 0},
    {"i_string_lone_second_surrogate.json", 1},
    {"i_string_lone_utf8_continuation_byte.json", 0},
    {"i_string_not_in_unicode_range.json", 0},
    {"i_string_overlong_sequence_2_bytes.json", 0},
    {"i_string_overlong_sequence_6_bytes.json", 0},
    {"i_string_overlong_sequence_6_bytes_null.json", 0},
    {"i_string_truncated-utf-8.json", 0},
    {"i_string_utf16BE_no_BOM.json", 0},
    {"i_string_utf16LE_no_BOM.json", 0},
    {"i_structure_500_nested_arrays.json", 1},
    {"i_structure_UTF-8_BOM_empty_object.json", 0},
};

static int count_member(void *ctx, pt_str_t key, int key_escaped, const pt_json_value_t *val)
{
    (void)key;
    (void)key_escaped;
    (void)val;
    (*(uint32_t *)ctx)++;
    return 0;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *data = NULL;
    long size;

    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    size = ftell(f);
    assert_true(size >= 0);
    rewind(f);
    /* One spare byte so that an empty file still gets a real buffer. */
    data = pt_malloc((size_t)size + 1);
    assert_non_null(data);
    assert_int_equal(fread(data, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    *len = (size_t)size;
    return data;
}

/* Runs one corpus file through every reader entry point; returns whether it was accepted. */
static int run_case(const char *name, const char *doc, size_t len)
{
    size_t max = len + 1; /* every token takes at least one byte */
    pt_json_tok_t *toks = pt_malloc(max * sizeof(*toks));
    size_t off = (size_t)-1;
    int v;
    int n;
    int f;
    uint32_t members = 0;

    assert_non_null(toks);
    v = pt_json_validate(doc, len, &off);
    if (v != 0) {
        assert_int_equal(v, -EINVAL);
        assert_true(off <= len);
    }
    n = pt_json_tokenize(doc, len, toks, max, NULL);
    if ((v == 0) != (n >= 0)) {
        fail_msg("%s: validate %d but tokenize %d", name, v, n);
    }
    if (n >= 0) {
        check_tokens(doc, len, toks, n);
        /* Exactly enough tokens is enough; one fewer is -ENOSPC, not -EINVAL. */
        assert_int_equal(pt_json_tokenize(doc, len, toks, (size_t)n, NULL), n);
        assert_int_equal(pt_json_tokenize(doc, len, toks, (size_t)n - 1, NULL), -ENOSPC);
        for (int i = 0; i < n; i++) {
            if (toks[i].type == PT_JSON_STRING) {
                char *out = pt_malloc(toks[i].len + 1);
                int d;
                assert_non_null(out);
                d = pt_json_unescape(doc + toks[i].start, toks[i].len, out);
                assert_true(d >= 0 && (uint32_t)d <= toks[i].len);
                pt_free(out);
            }
        }
    } else {
        assert_int_equal(n, -EINVAL);
    }
    f = pt_json_object_foreach(doc, len, count_member, &members, NULL);
    if (n >= 0 && toks[0].type == PT_JSON_OBJECT) {
        assert_int_equal(f, 0);
        assert_int_equal(members, toks[0].size);
    } else {
        assert_int_equal(f, -EINVAL);
    }
    pt_free(toks);
    return v == 0;
}

static void test_conformance_corpus(void **state)
{
    const char *src = getenv("PT_SOURCE_DIR");
    char dir[4096];
    char path[4400];
    unsigned y = 0, n = 0, i = 0;
    DIR *d;
    struct dirent *e;

    (void)state;
    if (src != NULL && src[0] != '\0') {
        snprintf(dir, sizeof(dir), "%s/tests/fixtures/json-conformance/test_parsing", src);
    } else {
        snprintf(dir, sizeof(dir), "fixtures/json-conformance/test_parsing");
    }
    d = opendir(dir);
    if (d == NULL) {
        fail_msg("cannot open %s: %s", dir, strerror(errno));
    }
    while ((e = readdir(d)) != NULL) {
        size_t len;
        char *doc;
        int accepted;

        if (e->d_name[0] == '.') {
            continue;
        }
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        doc = read_file(path, &len);
        accepted = run_case(e->d_name, doc, len);
        if (e->d_name[0] == 'y') {
            if (!accepted) {
                fail_msg("%s: valid JSON rejected", e->d_name);
            }
            y++;
        } else if (e->d_name[0] == 'n') {
            if (accepted) {
                fail_msg("%s: invalid JSON accepted", e->d_name);
            }
            n++;
        } else {
            size_t k;
            for (k = 0; k < sizeof(i_cases) / sizeof(i_cases[0]); k++) {
                if (strcmp(i_cases[k].name, e->d_name) == 0) {
                    break;
                }
            }
            if (k == sizeof(i_cases) / sizeof(i_cases[0])) {
                fail_msg("%s: no recorded decision for this case", e->d_name);
            }
            if (accepted != i_cases[k].accept) {
                fail_msg("%s: %s, but json.h says otherwise", e->d_name,
                         accepted ? "accepted" : "rejected");
            }
            i++;
        }
        pt_free(doc);
    }
    closedir(d);
    /* The JSONTestSuite parsing corpus: a missing or partial copy must fail, not pass. */
    assert_int_equal(y, 95);
    assert_int_equal(n, 188);
    assert_int_equal(i, sizeof(i_cases) / sizeof(i_cases[0]));
}

/* ---- token structure ---------------------------------------------------------------------- */

static void test_token_structure(void **state)
{
    static const char doc[] = " {\"a\" : [1, {\"b\":null}, []],\n\t\"c\\\"\":\"x\\ny\", \"d\":{},"
                              "\"e\":-0.5e+3, \"f\":[true,false]} \r\n";
    static const struct {
        pt_json_type_t type;
        int escaped;
        const char *text;
        uint32_t size;
        uint32_t skip;
    } want[] = {
        {PT_JSON_OBJECT, 0,
         "{\"a\" : [1, {\"b\":null}, []],\n\t\"c\\\"\":\"x\\ny\", \"d\":{},"
         "\"e\":-0.5e+3, \"f\":[true,false]}",
         5, 18},
        {PT_JSON_STRING, 0, "a", 0, 1},
        {PT_JSON_ARRAY, 0, "[1, {\"b\":null}, []]", 3, 6},
        {PT_JSON_NUMBER, 0, "1", 0, 1},
        {PT_JSON_OBJECT, 0, "{\"b\":null}", 1, 3},
        {PT_JSON_STRING, 0, "b", 0, 1},
        {PT_JSON_NULL, 0, "null", 0, 1},
        {PT_JSON_ARRAY, 0, "[]", 0, 1},
        {PT_JSON_STRING, 1, "c\\\"", 0, 1},
        {PT_JSON_STRING, 1, "x\\ny", 0, 1},
        {PT_JSON_STRING, 0, "d", 0, 1},
        {PT_JSON_OBJECT, 0, "{}", 0, 1},
        {PT_JSON_STRING, 0, "e", 0, 1},
        {PT_JSON_NUMBER, 0, "-0.5e+3", 0, 1},
        {PT_JSON_STRING, 0, "f", 0, 1},
        {PT_JSON_ARRAY, 0, "[true,false]", 2, 3},
        {PT_JSON_TRUE, 0, "true", 0, 1},
        {PT_JSON_FALSE, 0, "false", 0, 1},
    };
    pt_json_tok_t toks[32];
    size_t nwant = sizeof(want) / sizeof(want[0]);
    int n;

    (void)state;
    n = pt_json_tokenize(doc, sizeof(doc) - 1, toks, 32, NULL);
    assert_int_equal(n, (int)nwant);
    assert_int_equal(toks[0].skip, nwant);
    for (size_t i = 0; i < nwant; i++) {
        size_t tl = strlen(want[i].text);
        assert_int_equal(toks[i].type, want[i].type);
        assert_int_equal(toks[i].escaped, want[i].escaped);
        assert_int_equal(toks[i].len, tl);
        assert_memory_equal(doc + toks[i].start, want[i].text, tl);
        assert_int_equal(toks[i].size, want[i].size);
        assert_int_equal(toks[i].skip, want[i].skip);
    }
    check_tokens(doc, sizeof(doc) - 1, toks, n);

    /* Walking siblings with skip: the root's members are keys a, c", d, e, f. */
    {
        static const char *const keys[] = {"a", "c\\\"", "d", "e", "f"};
        int i = 1;
        for (size_t k = 0; k < 5; k++) {
            assert_int_equal(toks[i].type, PT_JSON_STRING);
            assert_memory_equal(doc + toks[i].start, keys[k], strlen(keys[k]));
            i += 1 + (int)toks[i + 1].skip;
        }
        assert_int_equal(i, n);
    }

    /* A scalar document is one token. */
    assert_int_equal(pt_json_tokenize(" 42 ", 4, toks, 1, NULL), 1);
    assert_int_equal(toks[0].type, PT_JSON_NUMBER);
    assert_int_equal(toks[0].start, 1);
    assert_int_equal(toks[0].len, 2);

    /* Too few tokens: -ENOSPC for a valid document, -EINVAL for an invalid one even after the
     * tokens ran out, and max 0 with no array at all is fine. */
    assert_int_equal(pt_json_tokenize("[1,2,3]", 7, toks, 2, NULL), -ENOSPC);
    assert_int_equal(pt_json_tokenize("[1,2,3]", 7, NULL, 0, NULL), -ENOSPC);
    {
        size_t off = 0;
        assert_int_equal(pt_json_tokenize("[1,2,3,x]", 9, toks, 2, &off), -EINVAL);
        assert_int_equal(off, 7);
    }
}

/* ---- object_foreach ------------------------------------------------------------------------ */

typedef struct {
    int calls;
    int stop_at;
    int stop_rc;
    char keys[16][32];
    int key_esc[16];
    pt_json_value_t vals[16];
} walk_t;

static int on_member(void *ctx, pt_str_t key, int key_escaped, const pt_json_value_t *val)
{
    walk_t *w = ctx;

    assert_true(w->calls < 16);
    assert_true(key.len < sizeof(w->keys[0]));
    memcpy(w->keys[w->calls], key.ptr, key.len);
    w->keys[w->calls][key.len] = '\0';
    w->key_esc[w->calls] = key_escaped;
    w->vals[w->calls] = *val;
    w->calls++;
    return w->calls == w->stop_at ? w->stop_rc : 0;
}

static void expect_member(const walk_t *w, int i, const char *key, int key_esc, pt_json_type_t type,
                          int esc, const char *raw)
{
    assert_string_equal(w->keys[i], key);
    assert_int_equal(w->key_esc[i], key_esc);
    assert_int_equal(w->vals[i].type, type);
    assert_int_equal(w->vals[i].escaped, esc);
    assert_int_equal(w->vals[i].raw.len, strlen(raw));
    assert_memory_equal(w->vals[i].raw.ptr, raw, strlen(raw));
}

/* A gateway app log line as OpenClaw's tslog writes it (from tools/gen-openclaw-logs). */
#define OC_META                                                                                    \
    "{\"runtime\":\"node\",\"runtimeVersion\":\"24.14.0\",\"hostname\":\"openclaw-k7x2q\","        \
    "\"name\":\"{\\\"subsystem\\\":\\\"gateway/heartbeat\\\"}\",\"parentNames\":[\"openclaw\"],"   \
    "\"date\":\"2026-03-14T08:00:00.290Z\",\"logLevelId\":3,\"logLevelName\":\"INFO\",\"path\":"   \
    "{\"fullFilePath\":\"file:///app/dist/subsystem-H8WF_vym.js:1150:14\",\"fileName\":"           \
    "\"subsystem-H8WF_vym.js\",\"fileNameWithLine\":\"subsystem-H8WF_vym.js:1150\","               \
    "\"fileColumn\":\"14\",\"fileLine\":\"1150\",\"filePath\":\"dist/subsystem-H8WF_vym.js\","     \
    "\"filePathWithLine\":\"dist/subsystem-H8WF_vym.js:1150\",\"method\":\"logToFile\"}}"
#define OC_LINE                                                                                    \
    "{\"0\":\"{\\\"subsystem\\\":\\\"gateway/heartbeat\\\"}\",\"1\":{\"intervalMs\":1800000},"     \
    "\"2\":\"heartbeat: started\",\"_meta\":" OC_META                                              \
    ",\"time\":\"2026-03-14T08:00:00.294+00:00\"}"

static void test_foreach_openclaw_line(void **state)
{
    static const char line[] = OC_LINE;
    walk_t w = {0};

    (void)state;
    assert_int_equal(pt_json_object_foreach(line, sizeof(line) - 1, on_member, &w, NULL), 0);
    assert_int_equal(w.calls, 5);
    expect_member(&w, 0, "0", 0, PT_JSON_STRING, 1,
                  "{\\\"subsystem\\\":\\\"gateway/heartbeat\\\"}");
    expect_member(&w, 1, "1", 0, PT_JSON_OBJECT, 0, "{\"intervalMs\":1800000}");
    expect_member(&w, 2, "2", 0, PT_JSON_STRING, 0, "heartbeat: started");
    expect_member(&w, 3, "_meta", 0, PT_JSON_OBJECT, 0, OC_META);
    expect_member(&w, 4, "time", 0, PT_JSON_STRING, 0, "2026-03-14T08:00:00.294+00:00");

    /* The escaped value decodes to the subsystem JSON, which is itself a valid document. */
    {
        char out[64];
        int d = pt_json_unescape(w.vals[0].raw.ptr, w.vals[0].raw.len, out);
        assert_int_equal(d, (int)strlen("{\"subsystem\":\"gateway/heartbeat\"}"));
        assert_memory_equal(out, "{\"subsystem\":\"gateway/heartbeat\"}", (size_t)d);
        assert_int_equal(pt_json_validate(out, (size_t)d, NULL), 0);
    }
}

static void test_foreach_value_types(void **state)
{
    static const char doc[] = " { \"n\" : -1.5e3 ,\"t\":true,\"f\":false,\"z\":null,\"a\":[1,[2]],"
                              "\"k\\u00e9\":\"caf\\u00e9\",\"e\":\"\",\"o\":{}\t}\n";
    walk_t w = {0};

    (void)state;
    assert_int_equal(pt_json_object_foreach(doc, sizeof(doc) - 1, on_member, &w, NULL), 0);
    assert_int_equal(w.calls, 8);
    expect_member(&w, 0, "n", 0, PT_JSON_NUMBER, 0, "-1.5e3");
    expect_member(&w, 1, "t", 0, PT_JSON_TRUE, 0, "true");
    expect_member(&w, 2, "f", 0, PT_JSON_FALSE, 0, "false");
    expect_member(&w, 3, "z", 0, PT_JSON_NULL, 0, "null");
    expect_member(&w, 4, "a", 0, PT_JSON_ARRAY, 0, "[1,[2]]");
    expect_member(&w, 5, "k\\u00e9", 1, PT_JSON_STRING, 1, "caf\\u00e9");
    expect_member(&w, 6, "e", 0, PT_JSON_STRING, 0, "");
    expect_member(&w, 7, "o", 0, PT_JSON_OBJECT, 0, "{}");

    /* An empty object has no members. */
    memset(&w, 0, sizeof(w));
    assert_int_equal(pt_json_object_foreach(" {  } ", 6, on_member, &w, NULL), 0);
    assert_int_equal(w.calls, 0);
}

static void test_foreach_rejects(void **state)
{
    static const char *const not_objects[] = {"[1,2]", "\"s\"", "1", "null", " ", "", "x"};
    walk_t w = {0};
    size_t off = 99;

    (void)state;
    for (size_t i = 0; i < sizeof(not_objects) / sizeof(not_objects[0]); i++) {
        const char *s = not_objects[i];
        assert_int_equal(pt_json_object_foreach(s, strlen(s), on_member, &w, &off), -EINVAL);
        assert_int_equal(w.calls, 0);
    }
    assert_int_equal(pt_json_object_foreach("  [1]", 5, on_member, &w, &off), -EINVAL);
    assert_int_equal(off, 2);

    /* A syntax error after some members: the callbacks already fired, the result is -EINVAL. */
    assert_int_equal(pt_json_object_foreach("{\"a\":1,\"b\":}", 12, on_member, &w, &off), -EINVAL);
    assert_int_equal(w.calls, 1);
    assert_int_equal(off, 11);
    memset(&w, 0, sizeof(w));
    assert_int_equal(pt_json_object_foreach("{\"a\":1} x", 9, on_member, &w, &off), -EINVAL);
    assert_int_equal(w.calls, 1);
    assert_int_equal(off, 8);
}

static void test_foreach_stop(void **state)
{
    static const char line[] = OC_LINE;
    walk_t w = {0};

    (void)state;
    w.stop_at = 2;
    w.stop_rc = 42;
    assert_int_equal(pt_json_object_foreach(line, sizeof(line) - 1, on_member, &w, NULL), 42);
    assert_int_equal(w.calls, 2);

    /* Any non-zero value, negative ones included, comes back unchanged. */
    memset(&w, 0, sizeof(w));
    w.stop_at = 5;
    w.stop_rc = -ECANCELED;
    assert_int_equal(pt_json_object_foreach(line, sizeof(line) - 1, on_member, &w, NULL),
                     -ECANCELED);
    assert_int_equal(w.calls, 5);
}

/* ---- unescape ------------------------------------------------------------------------------- */

static void expect_unescape(const char *in, const char *want, size_t want_len)
{
    char out[64];
    char inplace[64];
    size_t len = strlen(in);
    int d;

    assert_true(len < sizeof(out));
    d = pt_json_unescape(in, len, out);
    assert_int_equal(d, (int)want_len);
    assert_memory_equal(out, want, want_len);
    /* Decoding in place is supported, since output never outruns input. */
    memcpy(inplace, in, len);
    assert_int_equal(pt_json_unescape(inplace, len, inplace), (int)want_len);
    assert_memory_equal(inplace, want, want_len);
}

#define EXPECT_UNESCAPE(in, want) expect_unescape((in), (want), sizeof(want) - 1)

static void test_unescape(void **state)
{
    char out[16];

    (void)state;
    EXPECT_UNESCAPE("", "");
    EXPECT_UNESCAPE("plain text", "plain text");
    EXPECT_UNESCAPE("\\\"\\\\\\/\\b\\f\\n\\r\\t", "\"\\/\b\f\n\r\t");
    EXPECT_UNESCAPE("a\\u0041b", "aAb");
    EXPECT_UNESCAPE("\\u0000", "\0");
    EXPECT_UNESCAPE("\\u00e9\\u00E9", "\xC3\xA9\xC3\xA9");
    EXPECT_UNESCAPE("\\u20AC", "\xE2\x82\xAC");
    EXPECT_UNESCAPE("\\uFFFF", "\xEF\xBF\xBF");
    /* Surrogate pairs join into one 4-byte sequence, in either hex case. */
    EXPECT_UNESCAPE("\\ud83d\\ude00", "\xF0\x9F\x98\x80");
    EXPECT_UNESCAPE("\\uD834\\uDD1E", "\xF0\x9D\x84\x9E");
    EXPECT_UNESCAPE("\\uDBFF\\uDFFF", "\xF4\x8F\xBF\xBF");
    EXPECT_UNESCAPE("\\uD800\\uDC00", "\xF0\x90\x80\x80");
    /* Lone surrogates become U+FFFD, and whatever follows decodes on its own. */
    EXPECT_UNESCAPE("\\uD800", "\xEF\xBF\xBD");
    EXPECT_UNESCAPE("\\uDC00", "\xEF\xBF\xBD");
    EXPECT_UNESCAPE("\\uD800x", "\xEF\xBF\xBDx");
    EXPECT_UNESCAPE("\\uD800\\n", "\xEF\xBF\xBD\n");
    EXPECT_UNESCAPE("\\uD800\\u0041", "\xEF\xBF\xBD\x41");
    EXPECT_UNESCAPE("\\uD800\\uD800\\uDC00", "\xEF\xBF\xBD\xF0\x90\x80\x80");
    EXPECT_UNESCAPE("\\uDD1E\\uD834", "\xEF\xBF\xBD\xEF\xBF\xBD");
    EXPECT_UNESCAPE("\\uD800\\uE000", "\xEF\xBF\xBD\xEE\x80\x80");
    EXPECT_UNESCAPE("\\uDBFF\\uDBFF", "\xEF\xBF\xBD\xEF\xBF\xBD");

    /* Malformed escapes. */
    static const char *const bad[] = {"\\",    "a\\",     "\\x",     "\\U0041",      "\\u",
                                      "\\u12", "\\u12G4", "\\u 123", "\\uD800\\u12", "\\uDADA\\u",
                                      "\\'",   "\\a",     "\\0"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(pt_json_unescape(bad[i], strlen(bad[i]), out), -EINVAL);
    }
}

/* ---- limits and grammar ------------------------------------------------------------------- */

static char *nested(size_t depth, const char *open, const char *mid, const char *close)
{
    size_t lo = strlen(open), lm = strlen(mid), lc = strlen(close);
    char *s = pt_malloc(depth * (lo + lc) + lm + 1);
    char *p = s;

    assert_non_null(s);
    for (size_t i = 0; i < depth; i++, p += lo) {
        memcpy(p, open, lo);
    }
    memcpy(p, mid, lm);
    p += lm;
    for (size_t i = 0; i < depth; i++, p += lc) {
        memcpy(p, close, lc);
    }
    *p = '\0';
    return s;
}

static void test_depth_limit(void **state)
{
    pt_json_tok_t *toks = pt_malloc(2 * PT_JSON_MAX_DEPTH * sizeof(*toks));
    size_t off = 0;
    char *s;
    walk_t w = {0};

    (void)state;
    assert_non_null(toks);
    s = nested(PT_JSON_MAX_DEPTH, "[", "", "]");
    assert_int_equal(validate_str(s), 0);
    assert_int_equal(pt_json_tokenize(s, strlen(s), toks, 2 * PT_JSON_MAX_DEPTH, NULL),
                     PT_JSON_MAX_DEPTH);
    assert_int_equal(toks[0].skip, PT_JSON_MAX_DEPTH);
    assert_int_equal(toks[PT_JSON_MAX_DEPTH - 1].len, 2);
    pt_free(s);

    s = nested(PT_JSON_MAX_DEPTH + 1, "[", "", "]");
    assert_int_equal(pt_json_validate(s, strlen(s), &off), -EINVAL);
    assert_int_equal(off, PT_JSON_MAX_DEPTH);
    assert_int_equal(pt_json_tokenize(s, strlen(s), toks, 2 * PT_JSON_MAX_DEPTH, NULL), -EINVAL);
    pt_free(s);

    /* Objects count the same way, and the member walk shares the limit. */
    s = nested(PT_JSON_MAX_DEPTH, "{\"a\":", "1", "}");
    assert_int_equal(validate_str(s), 0);
    assert_int_equal(pt_json_object_foreach(s, strlen(s), on_member, &w, NULL), 0);
    assert_int_equal(w.calls, 1);
    assert_int_equal(w.vals[0].type, PT_JSON_OBJECT);
    pt_free(s);
    s = nested(PT_JSON_MAX_DEPTH + 1, "{\"a\":", "1", "}");
    assert_int_equal(validate_str(s), -EINVAL);
    memset(&w, 0, sizeof(w));
    assert_int_equal(pt_json_object_foreach(s, strlen(s), on_member, &w, NULL), -EINVAL);
    assert_int_equal(w.calls, 0);
    pt_free(s);

    /* Far beyond the limit it must fail fast and cleanly, not exhaust a stack. */
    s = nested(200000, "[", "", "]");
    assert_int_equal(validate_str(s), -EINVAL);
    pt_free(s);
    pt_free(toks);
}

static void test_numbers(void **state)
{
    static const char *const good[] = {"0",
                                       "-0",
                                       "7",
                                       "-7",
                                       "10",
                                       "0.5",
                                       "-0.0",
                                       "1e5",
                                       "1E5",
                                       "1e+5",
                                       "1e-5",
                                       "1.5E-05",
                                       "123.456e+78",
                                       "1e999999999",
                                       "-1E-999999999",
                                       "[1e1000,-1e-1000,0e0]",
                                       "18446744073709551616",
                                       "-9223372036854775809",
                                       "{\"n\":0.000005}",
                                       "1e-7"};
    static const char *const bad[] = {
        "01",    "-01",      "00",       "1.",        ".1",  "+1",   "1e",   "1e+",
        "1E-",   "-",        "--1",      "- 1",       "0x1", "1.0e", "1.e3", "0.e1",
        "1e3.5", "1ee2",     "Infinity", "-Infinity", "NaN", "1 2",  "[1,]", "[01]",
        "1_000", "\xd9\xa1", "1.5e+-3",  "[.5]",      "[-]", "2.",   "0.0.1"};
    char big[1200];

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (validate_str(good[i]) != 0) {
            fail_msg("rejected number %s", good[i]);
        }
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (validate_str(bad[i]) != -EINVAL) {
            fail_msg("accepted %s", bad[i]);
        }
    }
    /* Numbers stay text, so a thousand digits are as good as one. */
    big[0] = '-';
    for (size_t i = 1; i < 1000; i++) {
        big[i] = (char)('1' + i % 9);
    }
    memcpy(big + 1000, ".25e-99999", 11);
    assert_int_equal(validate_str(big), 0);
    {
        pt_json_tok_t t;
        assert_int_equal(pt_json_tokenize(big, strlen(big), &t, 1, NULL), 1);
        assert_int_equal(t.type, PT_JSON_NUMBER);
        assert_int_equal(t.len, strlen(big));
    }
}

/* Wraps bytes in quotes after a two-byte lead-in, so an error offset of 3 is the bad sequence. */
static int validate_in_string(const char *bytes, size_t *off)
{
    char doc[32];
    size_t n = strlen(bytes);

    assert_true(n + 4 < sizeof(doc));
    doc[0] = '"';
    doc[1] = 'a';
    doc[2] = 'b';
    memcpy(doc + 3, bytes, n);
    doc[3 + n] = '"';
    return pt_json_validate(doc, n + 4, off);
}

static void test_utf8_validation(void **state)
{
    /* Boundaries of each row of Unicode table 3-7, and the sequences just outside them. */
    static const char *const good[] = {"\xC2\x80",
                                       "\xDF\xBF",
                                       "\xE0\xA0\x80",
                                       "\xE0\xBF\xBF",
                                       "\xE1\x80\x80",
                                       "\xEC\xBF\xBF",
                                       "\xED\x80\x80",
                                       "\xED\x9F\xBF",
                                       "\xEE\x80\x80",
                                       "\xEF\xBF\xBF",
                                       "\xF0\x90\x80\x80",
                                       "\xF0\xBF\xBF\xBF",
                                       "\xF1\x80\x80\x80",
                                       "\xF3\xBF\xBF\xBF",
                                       "\xF4\x80\x80\x80",
                                       "\xF4\x8F\xBF\xBF",
                                       "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E",
                                       "\xE2\x87\x84 \xE2\x80\xA6",
                                       "\x7F"};
    static const char *const bad[] = {"\x80",
                                      "\xBF",
                                      "\xC0\x80",
                                      "\xC1\xBF",
                                      "\xC2",
                                      "\xC2\x7F",
                                      "\xC2\xC0",
                                      "\xE0\x80\x80",
                                      "\xE0\x9F\xBF",
                                      "\xE1\x80",
                                      "\xE1\x80\x7F",
                                      "\xED\xA0\x80",
                                      "\xED\xBF\xBF",
                                      "\xF0\x80\x80\x80",
                                      "\xF0\x8F\xBF\xBF",
                                      "\xF0\x90\x80",
                                      "\xF4\x90\x80\x80",
                                      "\xF5\x80\x80\x80",
                                      "\xF8\x88\x80\x80\x80",
                                      "\xFC\x84\x80\x80\x80\x80",
                                      "\xFE",
                                      "\xFF",
                                      "\xE2\x82",
                                      "\xF0\x9F\x98"};
    size_t off;

    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (validate_in_string(good[i], &off) != 0) {
            fail_msg("rejected valid UTF-8 #%zu", i);
        }
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        off = 0;
        if (validate_in_string(bad[i], &off) != -EINVAL) {
            fail_msg("accepted invalid UTF-8 #%zu", i);
        }
        assert_int_equal(off, 3);
    }
    /* Invalid UTF-8 in a key, and a sequence cut by the end of the input. */
    assert_int_equal(validate_str("{\"\xC0\xAF\":1}"), -EINVAL);
    assert_int_equal(pt_json_validate("\"ab\xE2\x82", 5, &off), -EINVAL);
    assert_int_equal(off, 3);
    /* Long strings go through the vector loop; put the bad byte at every position of a block. */
    for (size_t pos = 0; pos < 40; pos++) {
        char doc[48];
        memset(doc, 'x', sizeof(doc));
        doc[0] = '"';
        doc[47] = '"';
        doc[1 + pos] = (char)0xC0;
        assert_int_equal(pt_json_validate(doc, sizeof(doc), &off), -EINVAL);
        assert_int_equal(off, 1 + pos);
        doc[1 + pos] = 0x1F;
        assert_int_equal(pt_json_validate(doc, sizeof(doc), &off), -EINVAL);
        assert_int_equal(off, 1 + pos);
        doc[1 + pos] = '"';
        assert_int_equal(pt_json_validate(doc, sizeof(doc), &off), -EINVAL);
        assert_int_equal(off, 2 + pos);
        doc[1 + pos] = 'x';
        assert_int_equal(pt_json_validate(doc, sizeof(doc), &off), 0);
    }
}

static void test_syntax_errors(void **state)
{
    static const struct {
        const char *doc;
        size_t off;
    } cases[] = {
        {"{\"a\":1,}", 7}, {"[1 2]", 3},          {"tru", 0},
        {"\"abc", 4},      {"{\"a\" 1}", 5},      {"1 x", 2},
        {"\"\x01\"", 1},   {"[1,2", 4},           {"{\"a\":1", 6},
        {"{1:2}", 1},      {"[\"a\":1]", 4},      {"{\"a\":1]", 6},
        {"[1}", 2},        {"\"\\x\"", 1},        {"\"\\u12\"", 1},
        {"nul", 0},        {"truex", 4},          {"[true false]", 6},
        {"\t\n\r ", 4},    {"\"a\"\"b\"", 3},     {"{,}", 1},
        {"[,1]", 1},       {"\xEF\xBB\xBF{}", 0}, {"{}}", 2},
    };
    size_t off;

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        off = err_offset(cases[i].doc);
        if (off != cases[i].off) {
            fail_msg("case %zu: error at %zu, want %zu", i, off, cases[i].off);
        }
    }
    /* Only the four RFC whitespace bytes separate tokens. */
    assert_int_equal(validate_str(" \t\r\n[ \t\r\n1 \t\r\n, 2 ]\r\n"), 0);
    assert_int_equal(validate_str("\f1"), -EINVAL);
    assert_int_equal(validate_str("\v1"), -EINVAL);
    assert_int_equal(validate_str("[1,\xC2\xA0 2]"), -EINVAL);
    assert_int_equal(pt_json_validate("1\0", 2, NULL), -EINVAL);
    assert_int_equal(pt_json_validate("\"a\0b\"", 5, NULL), -EINVAL);
    assert_int_equal(pt_json_validate(NULL, 0, NULL), -EINVAL);
    assert_int_equal(pt_json_tokenize(NULL, 0, NULL, 0, NULL), -EINVAL);
    /* Escaped controls and a NUL escape are fine; "\/" is a valid escape. */
    assert_int_equal(validate_str("\"\\u0000\\u001F\\/\\b\\f\\n\\r\\t\\\"\\\\\""), 0);
}

/* ---- writer --------------------------------------------------------------------------------- */

static void expect_written(const char *in, size_t len, const char *want, size_t want_len)
{
    pt_buf_t b;

    pt_buf_init(&b);
    assert_int_equal(pt_json_write_str(&b, in, len), 0);
    assert_int_equal(b.len, want_len);
    assert_memory_equal(b.data, want, want_len);
    assert_int_equal(pt_json_validate(b.data, b.len, NULL), 0);
    pt_buf_free(&b);
}

#define EXPECT_WRITTEN(in, want) expect_written((in), sizeof(in) - 1, (want), sizeof(want) - 1)

static void test_write_str(void **state)
{
    (void)state;
    EXPECT_WRITTEN("", "\"\"");
    EXPECT_WRITTEN("hello, world", "\"hello, world\"");
    EXPECT_WRITTEN("a\"b\\c/d", "\"a\\\"b\\\\c/d\"");
    EXPECT_WRITTEN("\n\t\r\b\f", "\"\\n\\t\\r\\b\\f\"");
    EXPECT_WRITTEN("\x01\x1f\x0b\x7f", "\"\\u0001\\u001f\\u000b\x7f\"");
    EXPECT_WRITTEN("nul\0byte", "\"nul\\u0000byte\"");
    EXPECT_WRITTEN("caf\xC3\xA9 \xE2\x87\x84 \xF0\x9F\x98\x80",
                   "\"caf\xC3\xA9 \xE2\x87\x84 \xF0\x9F\x98\x80\"");
    /* Invalid UTF-8: one U+FFFD per maximal subpart. */
    EXPECT_WRITTEN("\xFF", "\"\xEF\xBF\xBD\"");
    EXPECT_WRITTEN("a\xE2\x82", "\"a\xEF\xBF\xBD\"");
    EXPECT_WRITTEN("\xE2\x82z", "\"\xEF\xBF\xBDz\"");
    EXPECT_WRITTEN("\xF0\x9F\x98", "\"\xEF\xBF\xBD\"");
    EXPECT_WRITTEN("\xC0\x80", "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");
    EXPECT_WRITTEN("\xED\xA0\x80", "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");
    EXPECT_WRITTEN("\xF4\x90\x80\x80", "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");
    EXPECT_WRITTEN("\x80\"", "\"\xEF\xBF\xBD\\\"\"");

    /* Appends: what was in the buffer stays. */
    {
        pt_buf_t b;
        pt_buf_init(&b);
        assert_int_equal(pt_buf_append(&b, "x=", 2), 0);
        assert_int_equal(pt_json_write_str(&b, "y", 1), 0);
        assert_int_equal(b.len, 5);
        assert_memory_equal(b.data, "x=\"y\"", 5);
        pt_buf_free(&b);
    }
}

/* An oracle for well-formed UTF-8 that shares no code with json.c: it lists the encoding of
 * every scalar value (sorted, because UTF-8 preserves code point order) and answers "is this a
 * prefix of some well-formed sequence" by binary search. */
typedef struct {
    uint32_t *seq[5]; /* seq[n]: the n-byte encodings, big-endian packed */
    size_t count[5];
} oracle_t;

static oracle_t oracle;

static size_t oracle_encode(uint32_t cp, uint8_t *b)
{
    static const uint8_t mark[5] = {0, 0, 0xC0, 0xE0, 0xF0};
    size_t n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;

    for (size_t i = n - 1; i > 0; i--) {
        b[i] = (uint8_t)(0x80 | (cp & 0x3F));
        cp >>= 6;
    }
    b[0] = (uint8_t)(mark[n] | cp);
    return n;
}

static void oracle_build(void)
{
    for (size_t n = 2; n <= 4; n++) {
        oracle.seq[n] = pt_malloc(0x110000 * sizeof(uint32_t));
        assert_non_null(oracle.seq[n]);
        oracle.count[n] = 0;
    }
    for (uint32_t cp = 0x80; cp <= 0x10FFFF; cp++) {
        uint8_t b[4];
        uint32_t key = 0;
        size_t n;
        if (cp >= 0xD800 && cp <= 0xDFFF) {
            continue;
        }
        n = oracle_encode(cp, b);
        for (size_t i = 0; i < n; i++) {
            key = key << 8 | b[i];
        }
        oracle.seq[n][oracle.count[n]++] = key;
    }
}

static void oracle_free(void)
{
    for (size_t n = 2; n <= 4; n++) {
        pt_free(oracle.seq[n]);
        oracle.seq[n] = NULL;
    }
}

/* Whether some n-byte encoding lies in [lo, hi). */
static int oracle_any(size_t n, uint64_t lo, uint64_t hi)
{
    size_t a = 0, z = oracle.count[n];
    while (a < z) {
        size_t m = a + (z - a) / 2;
        if (oracle.seq[n][m] < lo) {
            a = m + 1;
        } else {
            z = m;
        }
    }
    return a < oracle.count[n] && oracle.seq[n][a] < hi;
}

static int oracle_is_prefix(const uint8_t *b, size_t k, int complete)
{
    uint64_t prefix = 0;
    for (size_t i = 0; i < k; i++) {
        prefix = prefix << 8 | b[i];
    }
    for (size_t n = k < 2 ? 2 : k; n <= 4; n++) {
        unsigned shift = (unsigned)(8 * (n - k));
        if (complete && n != k) {
            break;
        }
        if (oracle_any(n, prefix << shift, (prefix + 1) << shift)) {
            return 1;
        }
    }
    return 0;
}

/* The bytes pt_json_write_str must encode: s with each maximal subpart of an ill-formed
 * sequence replaced by U+FFFD. Returns the length written to out (room: 3 * len). */
static size_t oracle_sanitize(const uint8_t *s, size_t len, uint8_t *out)
{
    size_t o = 0;
    size_t i = 0;

    while (i < len) {
        size_t k = 0;
        if (s[i] < 0x80) {
            out[o++] = s[i++];
            continue;
        }
        while (k < 4 && i + k < len && oracle_is_prefix(s + i, k + 1, 0)) {
            k++;
        }
        if (k >= 2 && oracle_is_prefix(s + i, k, 1)) {
            memcpy(out + o, s + i, k);
            o += k;
        } else {
            out[o++] = 0xEF;
            out[o++] = 0xBF;
            out[o++] = 0xBD;
        }
        i += k ? k : 1;
    }
    return o;
}

/* Random strings built to hit every writer path: plain runs, escapes, valid multi-byte text,
 * and the ill-formed sequences (stray, truncated, overlong, surrogate, out of range). */
static size_t random_string(uint8_t *s, size_t cap)
{
    size_t target = rng() % (cap - 8);
    size_t n = 0;

    while (n < target) {
        uint64_t r = rng();
        switch (r % 8) {
        case 0: {
            size_t run = 1 + (r >> 8) % 40;
            for (size_t i = 0; i < run && n < target; i++) {
                s[n++] = (uint8_t)(0x20 + rng() % 0x5F);
            }
            break;
        }
        case 1:
            s[n++] = (uint8_t)((r >> 8) % 33 == 32 ? 0x7F : (r >> 8) % 32);
            break;
        case 2:
            s[n++] = "\"\\/"[(r >> 8) % 3];
            break;
        case 3:
        case 4: {
            uint32_t cp = (uint32_t)((r >> 8) % 0x110000);
            if (cp >= 0xD800 && cp <= 0xDFFF) {
                cp = 0xFFFD;
            }
            n += oracle_encode(cp, s + n);
            break;
        }
        case 5: {
            uint8_t b[4];
            size_t len = oracle_encode(0x80 + (uint32_t)((r >> 8) % 0x10FF80), b);
            size_t cut = len > 1 ? 1 + (r >> 40) % (len - 1) : 1;
            memcpy(s + n, b, cut);
            n += cut;
            break;
        }
        case 6: {
            static const uint8_t forms[][4] = {{0xED, 0xA0, 0x80, 0},    {0xED, 0xBF, 0xBF, 0},
                                               {0xC0, 0xAF, 0, 0},       {0xE0, 0x80, 0xAF, 0},
                                               {0xF0, 0x80, 0x80, 0xAF}, {0xF4, 0x90, 0x80, 0x80},
                                               {0xF5, 0x80, 0x80, 0x80}, {0xC1, 0xBF, 0, 0}};
            const uint8_t *f = forms[(r >> 8) % 8];
            for (size_t i = 0; i < 4 && f[i] != 0; i++) {
                s[n++] = f[i];
            }
            break;
        }
        default:
            s[n++] = (uint8_t)(r >> 8);
            break;
        }
    }
    return n;
}

static void test_write_roundtrip_random(void **state)
{
    enum { CAP = 512 };
    uint8_t s[CAP];
    uint8_t want[3 * CAP];
    char out[6 * CAP + 2];
    pt_buf_t b;
    unsigned invalid = 0;

    (void)state;
    rng_state = 0x9E3779B97F4A7C15ull;
    oracle_build();
    pt_buf_init(&b);
    for (int iter = 0; iter < 5000; iter++) {
        size_t n = random_string(s, CAP);
        size_t wn = oracle_sanitize(s, n, want);
        pt_json_tok_t t[2];
        int d;

        invalid += wn != n || memcmp(want, s, n) != 0;
        b.len = 0;
        assert_int_equal(pt_json_write_str(&b, (const char *)s, n), 0);
        /* The output is always one valid JSON string... */
        assert_int_equal(pt_json_validate(b.data, b.len, NULL), 0);
        assert_int_equal(pt_json_tokenize(b.data, b.len, t, 2, NULL), 1);
        assert_int_equal(t[0].type, PT_JSON_STRING);
        assert_int_equal(t[0].start, 1);
        assert_int_equal(t[0].len, b.len - 2);
        /* ...that decodes to the input, with ill-formed bytes replaced. */
        d = pt_json_unescape(b.data + 1, t[0].len, out);
        assert_int_equal(d, (int)wn);
        assert_memory_equal(out, want, wn);
    }
    /* The generator must really produce both kinds, or the test proves little. */
    assert_true(invalid > 1000 && invalid < 4900);
    pt_buf_free(&b);
    oracle_free();
}

static void test_jw_nested(void **state)
{
    static const char want[] =
        "{\"name\":\"petrel\",\"n\":-42,\"min\":-9223372036854775808,"
        "\"u\":18446744073709551615,\"zero\":0,\"pi\":3.25,\"three\":3,\"ok\":true,\"no\":false,"
        "\"nil\":null,\"arr\":[1,\"two\",[],{},null,[[]]],\"obj\":{\"k\\\"\":\"v\\n\","
        "\"raw\":{\"x\":[1,2]}},\"e\":\"\"}";
    pt_buf_t b;
    pt_jw_t w;

    (void)state;
    pt_buf_init(&b);
    pt_jw_init(&w, &b);
    pt_jw_obj_open(&w);
    pt_jw_key(&w, "name", 4);
    pt_jw_str(&w, "petrel", 6);
    pt_jw_key(&w, "n", 1);
    pt_jw_int(&w, -42);
    pt_jw_key(&w, "min", 3);
    pt_jw_int(&w, INT64_MIN);
    pt_jw_key(&w, "u", 1);
    pt_jw_uint(&w, UINT64_MAX);
    pt_jw_key(&w, "zero", 4);
    pt_jw_uint(&w, 0);
    pt_jw_key(&w, "pi", 2);
    pt_jw_double(&w, 3.25);
    pt_jw_key(&w, "three", 5);
    pt_jw_double(&w, 3.0);
    pt_jw_key(&w, "ok", 2);
    pt_jw_bool(&w, 7);
    pt_jw_key(&w, "no", 2);
    pt_jw_bool(&w, 0);
    pt_jw_key(&w, "nil", 3);
    pt_jw_null(&w);
    pt_jw_key(&w, "arr", 3);
    pt_jw_arr_open(&w);
    pt_jw_int(&w, 1);
    pt_jw_str(&w, "two", 3);
    pt_jw_arr_open(&w);
    pt_jw_arr_close(&w);
    pt_jw_obj_open(&w);
    pt_jw_obj_close(&w);
    pt_jw_double(&w, NAN);
    pt_jw_arr_open(&w);
    pt_jw_arr_open(&w);
    pt_jw_arr_close(&w);
    pt_jw_arr_close(&w);
    pt_jw_arr_close(&w);
    pt_jw_key(&w, "obj", 3);
    pt_jw_obj_open(&w);
    pt_jw_key(&w, "k\"", 2);
    pt_jw_str(&w, "v\n", 2);
    pt_jw_key(&w, "raw", 3);
    pt_jw_raw(&w, "{\"x\":[1,2]}", 11);
    pt_jw_obj_close(&w);
    pt_jw_key(&w, "e", 1);
    pt_jw_str(&w, "", 0);
    pt_jw_obj_close(&w);

    assert_int_equal(w.err, 0);
    assert_int_equal(w.depth, 0);
    assert_int_equal(b.len, sizeof(want) - 1);
    assert_memory_equal(b.data, want, sizeof(want) - 1);
    assert_int_equal(pt_json_validate(b.data, b.len, NULL), 0);

    /* A top-level array of scalars. */
    b.len = 0;
    pt_jw_init(&w, &b);
    pt_jw_arr_open(&w);
    pt_jw_double(&w, INFINITY);
    pt_jw_double(&w, -INFINITY);
    pt_jw_int(&w, INT64_MAX);
    pt_jw_arr_close(&w);
    assert_int_equal(w.err, 0);
    assert_int_equal(b.len, strlen("[null,null,9223372036854775807]"));
    assert_memory_equal(b.data, "[null,null,9223372036854775807]", b.len);
    pt_buf_free(&b);
}

static void test_jw_misuse(void **state)
{
    pt_buf_t b;
    pt_jw_t w;

    (void)state;
    pt_buf_init(&b);
    pt_jw_init(&w, &b);
    pt_jw_obj_close(&w);
    assert_int_equal(w.err, -EINVAL);
    /* Errors are sticky: nothing more is written. */
    pt_jw_str(&w, "x", 1);
    assert_int_equal(b.len, 0);

    pt_jw_init(&w, &b);
    pt_jw_obj_open(&w);
    pt_jw_key(&w, "a", 1);
    pt_jw_key(&w, "b", 1);
    assert_int_equal(w.err, -EINVAL);

    /* first[] holds 64 levels: depth 63 is the deepest container. */
    b.len = 0;
    pt_jw_init(&w, &b);
    for (int i = 0; i < 63; i++) {
        pt_jw_arr_open(&w);
    }
    assert_int_equal(w.err, 0);
    pt_jw_arr_open(&w);
    assert_int_equal(w.err, -EINVAL);
    pt_buf_free(&b);
}

static void expect_double(double v, const char *want)
{
    pt_buf_t b;
    pt_jw_t w;

    pt_buf_init(&b);
    pt_jw_init(&w, &b);
    pt_jw_double(&w, v);
    assert_int_equal(w.err, 0);
    if (b.len != strlen(want) || memcmp(b.data, want, b.len) != 0) {
        fail_msg("%.17g written as %.*s, want %s", v, (int)b.len, b.data, want);
    }
    pt_buf_free(&b);
}

static void test_jw_double(void **state)
{
    pt_buf_t b;
    pt_jw_t w;
    char tmp[64];

    (void)state;
    expect_double(0.1, "0.1");
    expect_double(3.0, "3");
    expect_double(-2.5, "-2.5");
    expect_double(0.0, "0");
    expect_double(-0.0, "-0");
    expect_double(1e21, "1e+21");
    expect_double(1.5e-7, "1.5e-07");
    expect_double(0.30000000000000004, "0.30000000000000004");
    expect_double(1.0 / 3.0, "0.3333333333333333");
    expect_double(DBL_MAX, "1.7976931348623157e+308");
    /* The smallest denormal: 15 digits already read back (shortest would be 5e-324). */
    expect_double(5e-324, "4.94065645841247e-324");
    expect_double(123456789012345678.0, "1.2345678901234568e+17");
    expect_double(NAN, "null");
    expect_double(-INFINITY, "null");

    /* Random finite doubles: the text is a JSON number that reads back to the same bits. */
    rng_state = 42;
    pt_buf_init(&b);
    for (int i = 0; i < 20000; i++) {
        uint64_t bits = rng();
        double v;
        double back;
        memcpy(&v, &bits, sizeof(v));
        if (!isfinite(v)) {
            continue;
        }
        b.len = 0;
        pt_jw_init(&w, &b);
        pt_jw_double(&w, v);
        assert_int_equal(w.err, 0);
        assert_true(b.len < sizeof(tmp));
        assert_int_equal(pt_json_validate(b.data, b.len, NULL), 0);
        memcpy(tmp, b.data, b.len);
        tmp[b.len] = '\0';
        back = strtod(tmp, NULL);
        assert_memory_equal(&back, &v, sizeof(v));
    }
    pt_buf_free(&b);
}

static void test_out_of_memory(void **state)
{
    char ctl[200];
    char big[1000];
    pt_buf_t b;
    pt_jw_t w;

    (void)state;
    memset(ctl, 0x01, sizeof(ctl));
    memset(big, 'a', sizeof(big));
    pt_buf_init(&b);
    assert_int_equal(pt_buf_append(&b, "x", 1), 0);
    fail_allocs = 1;
    /* Fails up front... */
    assert_int_equal(pt_json_write_str(&b, big, sizeof(big)), -ENOMEM);
    assert_int_equal(b.len, 1);
    /* ...and half-way, when escapes outgrow the first reservation; the buffer is restored. */
    assert_int_equal(pt_json_write_str(&b, ctl, sizeof(ctl)), -ENOMEM);
    assert_int_equal(b.len, 1);
    assert_int_equal(b.data[0], 'x');

    pt_jw_init(&w, &b);
    pt_jw_arr_open(&w);
    pt_jw_str(&w, big, sizeof(big));
    assert_int_equal(w.err, -ENOMEM);
    pt_jw_str(&w, "y", 1);
    pt_jw_arr_close(&w);
    assert_int_equal(w.err, -ENOMEM);
    fail_allocs = 0;
    pt_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_conformance_corpus),
        cmocka_unit_test(test_token_structure),
        cmocka_unit_test(test_foreach_openclaw_line),
        cmocka_unit_test(test_foreach_value_types),
        cmocka_unit_test(test_foreach_rejects),
        cmocka_unit_test(test_foreach_stop),
        cmocka_unit_test(test_unescape),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_utf8_validation),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_write_str),
        cmocka_unit_test(test_write_roundtrip_random),
        cmocka_unit_test(test_jw_nested),
        cmocka_unit_test(test_jw_misuse),
        cmocka_unit_test(test_jw_double),
        cmocka_unit_test(test_out_of_memory),
    };

    /* Installed before any petrel call, as pt_replace_allocator requires. */
    if (pt_replace_allocator(test_malloc_fn, test_realloc_fn, test_calloc_fn, free) != 0) {
        return 1;
    }
    return cmocka_run_group_tests(tests, NULL, NULL);
}
