/* Tests for core/regex.c: compile errors with PCRE2's message and offset, full matches versus
 * searches, capture offsets, search context, the backtracking limit, UTF-8 mode, and one shared
 * pattern matched from several threads at once. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/regex.h"

static pt_regex_t *compile_ok(const char *pat, unsigned flags)
{
    char err[256];
    size_t off = 0;
    pt_regex_t *re = pt_regex_compile(pat, strlen(pat), flags, err, sizeof(err), &off);
    if (re == NULL) {
        fail_msg("'%s': %s at %zu", pat, err, off);
    }
    return re;
}

static void test_compile_errors(void **state)
{
    (void)state;
    static const struct {
        const char *pat;
        const char *msg;
        size_t off;
    } cases[] = {
        {"(abc", "missing closing parenthesis", 4},
        {"abc)", "unmatched closing parenthesis", 3},
        {"[a-", "missing terminating ] for character class", 3},
        {"a{3,1}", "numbers out of order in {} quantifier", 5},
        {"*a", "quantifier does not follow a repeatable item", 0},
        {"\\", "\\ at end of pattern", 1},
        {"(?<n>a)(?<n>b)", "two named subpatterns have the same name (PCRE2_DUPNAMES not set)", 12},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char err[256];
        size_t off = 99;
        pt_regex_t *re =
            pt_regex_compile(cases[i].pat, strlen(cases[i].pat), 0, err, sizeof(err), &off);
        assert_null(re);
        if (strcmp(err, cases[i].msg) != 0 || off != cases[i].off) {
            fail_msg("'%s': got '%s' at %zu, expected '%s' at %zu", cases[i].pat, err, off,
                     cases[i].msg, cases[i].off);
        }
    }
    /* A short error buffer is still terminated; NULL erroff is allowed. */
    char small[8];
    assert_null(pt_regex_compile("(", 1, 0, small, sizeof(small), NULL));
    assert_true(strlen(small) < sizeof(small));
    /* Invalid UTF-8 in the pattern is an error in UTF mode only. */
    char err[256];
    size_t off = 0;
    assert_null(pt_regex_compile("a\xff", 2, PT_RE_UTF, err, sizeof(err), &off));
    assert_int_equal(off, 1);
    pt_regex_t *re = compile_ok("a\xff", 0);
    assert_int_equal(pt_regex_match(re, "a\xff", 2, 0, NULL, 0), 1);
    pt_regex_free(re);
    pt_regex_free(NULL);
}

static void test_full_versus_search(void **state)
{
    (void)state;
    pt_regex_t *full = compile_ok("a|ab", PT_RE_FULL);
    pt_regex_t *search = compile_ok("a|ab", 0);
    assert_int_equal(pt_regex_groups(full), 0);
    /* Full: backtracks into the second alternative to end at the subject's end. */
    assert_int_equal(pt_regex_match(full, "ab", 2, 0, NULL, 0), 1);
    assert_int_equal(pt_regex_match(full, "abc", 3, 0, NULL, 0), 0);
    assert_int_equal(pt_regex_match(full, "xab", 3, 0, NULL, 0), 0);
    size_t ov[2];
    assert_int_equal(pt_regex_match(search, "xab", 3, 0, ov, 1), 1);
    assert_int_equal(ov[0], 1);
    assert_int_equal(ov[1], 2); /* leftmost-first: "a" */
    /* Subjects may hold NUL bytes, and an empty subject may be NULL. */
    pt_regex_t *nul = compile_ok("a\\x00b", PT_RE_FULL);
    assert_int_equal(pt_regex_match(nul, "a\0b", 3, 0, NULL, 0), 1);
    pt_regex_t *empty = compile_ok("", PT_RE_FULL);
    assert_int_equal(pt_regex_match(empty, NULL, 0, 0, NULL, 0), 1);
    assert_int_equal(pt_regex_match(empty, "x", 1, 2, NULL, 0), -EINVAL);
    pt_regex_free(full);
    pt_regex_free(search);
    pt_regex_free(nul);
    pt_regex_free(empty);
}

static void test_groups_and_context(void **state)
{
    (void)state;
    pt_regex_t *re = compile_ok("(k)=(x)?(\\w+)", 0);
    assert_int_equal(pt_regex_groups(re), 3);
    size_t ov[2 * 6];
    assert_int_equal(pt_regex_match(re, "a k=vv", 6, 0, ov, 6), 1);
    assert_int_equal(ov[0], 2);
    assert_int_equal(ov[1], 6);
    assert_int_equal(ov[2], 2);
    assert_int_equal(ov[3], 3);
    assert_true(ov[4] == PT_RE_UNSET && ov[5] == PT_RE_UNSET); /* (x)? did not take part */
    assert_int_equal(ov[6], 4);
    assert_int_equal(ov[7], 6);
    assert_true(ov[8] == PT_RE_UNSET && ov[10] == PT_RE_UNSET); /* beyond the pattern */
    pt_regex_free(re);

    /* A search from an offset still sees what came before it. */
    re = compile_ok("(?<=a)b|^c", 0);
    assert_int_equal(pt_regex_match(re, "ab", 2, 1, ov, 1), 1);
    assert_int_equal(pt_regex_match(re, "xc", 2, 1, ov, 1), 0);
    pt_regex_free(re);
}

static void test_limit(void **state)
{
    (void)state;
    pt_regex_t *re = compile_ok("(a|aa)*[bc]", PT_RE_FULL);
    char s[400];
    memset(s, 'a', sizeof(s));
    assert_int_equal(pt_regex_match(re, s, sizeof(s), 0, NULL, 0), -E2BIG);
    assert_int_equal(pt_regex_match(re, "aab", 3, 0, NULL, 0), 1);
    pt_regex_free(re);
}

static void test_utf_mode(void **state)
{
    (void)state;
    pt_regex_t *u = compile_ok("k=.", PT_RE_UTF | PT_RE_FULL);
    pt_regex_t *b = compile_ok("k=.", PT_RE_FULL);
    assert_int_equal(pt_regex_match(u, "k=\xc3\xa9", 4, 0, NULL, 0), 1); /* one character */
    assert_int_equal(pt_regex_match(b, "k=\xc3\xa9", 4, 0, NULL, 0), 0); /* two bytes */
    /* Invalid UTF-8 subjects do not fail in UTF mode; the bad byte just matches nothing. */
    assert_int_equal(pt_regex_match(u, "k=\xff", 3, 0, NULL, 0), 0);
    assert_int_equal(pt_regex_match(b, "k=\xff", 3, 0, NULL, 0), 1);
    pt_regex_free(u);
    pt_regex_free(b);
}

/* ---- threads ------------------------------------------------------------------------------ */

typedef struct {
    const pt_regex_t *re;
    int id;
    int cleanup;
    int bad;
} worker_t;

static void *worker(void *arg)
{
    worker_t *w = arg;
    char line[64];
    for (int i = 0; i < 20000; i++) {
        int n = snprintf(line, sizeof(line), "user=u%d-%d id=%d", w->id, i, i);
        size_t ov[2 * 3];
        if (pt_regex_match(w->re, line, (size_t)n, 0, ov, 3) != 1) {
            w->bad++;
            continue;
        }
        char want[32];
        int wn = snprintf(want, sizeof(want), "u%d-%d", w->id, i);
        /* Each thread must see its own captures, never another thread's. */
        if (ov[3] - ov[2] != (size_t)wn || memcmp(line + ov[2], want, (size_t)wn) != 0) {
            w->bad++;
        }
    }
    if (w->cleanup) {
        pt_regex_thread_cleanup();
        pt_regex_thread_cleanup(); /* twice is harmless */
    }
    return NULL;
}

static void test_shared_between_threads(void **state)
{
    (void)state;
    pt_regex_t *re = compile_ok("user=(\\S+) id=(\\d+)", PT_RE_FULL);
    pthread_t t[4];
    worker_t w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (worker_t){re, i, 1, 0};
        assert_int_equal(pthread_create(&t[i], NULL, worker, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(w[i].bad, 0);
    }
    /* A thread that exits without cleaning up is freed by the key destructor (LeakSanitizer
     * checks this in sanitizer builds). */
    worker_t lazy = {re, 9, 0, 0};
    pthread_t tl;
    assert_int_equal(pthread_create(&tl, NULL, worker, &lazy), 0);
    assert_int_equal(pthread_join(tl, NULL), 0);
    assert_int_equal(lazy.bad, 0);
    pt_regex_free(re);
    pt_regex_thread_cleanup();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compile_errors),     cmocka_unit_test(test_full_versus_search),
        cmocka_unit_test(test_groups_and_context), cmocka_unit_test(test_limit),
        cmocka_unit_test(test_utf_mode),           cmocka_unit_test(test_shared_between_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
