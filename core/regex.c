/* PCRE2 with JIT behind a small API: compiled patterns are shared read-only, match state lives
 * in thread-local storage, and every PCRE2 allocation goes through core/mem.h. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <pcre2.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "common.h"
#include "mem.h"
#include "regex.h"

/* Backtracking budget per match. PCRE2's default (10 million) lets one hostile line pin a worker
 * for seconds; a million steps is far beyond what any sane log pattern needs on a long line. */
#define RE_MATCH_LIMIT 1000000u
/* The JIT stack starts small and may grow to this; deeper recursion fails the match (-E2BIG). */
#define RE_JIT_STACK_START (32u * 1024u)
#define RE_JIT_STACK_MAX (1024u * 1024u)

struct pt_regex_s {
    pcre2_code *code;
    uint32_t groups;
    int jit; /* 1 when JIT compilation succeeded; otherwise the interpreter runs */
};

/* ---- allocation through core/mem.h ------------------------------------------------------- */

static void *re_malloc(PCRE2_SIZE n, void *ud)
{
    (void)ud;
    return pt_malloc(n);
}

static void re_free(void *p, void *ud)
{
    (void)ud;
    pt_free(p);
}

static pthread_once_t gctx_once = PTHREAD_ONCE_INIT;
static pcre2_general_context *gctx; /* NULL if it could not be made: PCRE2 then uses malloc */

static void gctx_init(void)
{
    gctx = pcre2_general_context_create(re_malloc, re_free, NULL);
}

static pcre2_general_context *general(void)
{
    pthread_once(&gctx_once, gctx_init);
    return gctx;
}

/* ---- compile ----------------------------------------------------------------------------- */

static void set_err(char *err, size_t errlen, const char *msg)
{
    if (errlen > 0) {
        snprintf(err, errlen, "%s", msg);
    }
}

pt_regex_t *pt_regex_compile(const char *pat, size_t len, unsigned flags, char *err, size_t errlen,
                             size_t *erroff)
{
    pcre2_compile_context *cctx = NULL;
    pt_regex_t *re = NULL;
    uint32_t opts = 0;
    int code = 0;
    PCRE2_SIZE off = 0;

    if (erroff != NULL) {
        *erroff = 0;
    }
    if (flags & PT_RE_FULL) {
        /* Compile-time anchoring keeps backtracking until a match ends at the subject's end,
         * which is what a full match means (a plain search would stop at the first match). */
        opts |= PCRE2_ANCHORED | PCRE2_ENDANCHORED;
    }
    if (flags & PT_RE_UTF) {
        opts |= PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
    }
    if (flags & PT_RE_BOOST) {
        opts |= PCRE2_DOTALL | PCRE2_MULTILINE;
    }
    re = pt_calloc(1, sizeof(*re));
    if (re == NULL) {
        goto nomem;
    }
    cctx = pcre2_compile_context_create(general());
    if (cctx == NULL) {
        goto nomem;
    }
    re->code = pcre2_compile((PCRE2_SPTR)(pat != NULL ? pat : ""), len, opts, &code, &off, cctx);
    pcre2_compile_context_free(cctx);
    if (re->code == NULL) {
        if (code == PCRE2_ERROR_HEAP_FAILED) {
            goto nomem;
        }
        if (errlen > 0 && pcre2_get_error_message(code, (PCRE2_UCHAR *)err, errlen) < 0 &&
            err[0] == '\0') {
            set_err(err, errlen, "invalid regular expression");
        }
        if (erroff != NULL) {
            *erroff = off;
        }
        pt_free(re);
        return NULL;
    }
    (void)pcre2_pattern_info(re->code, PCRE2_INFO_CAPTURECOUNT, &re->groups);
    /* Without JIT (no executable memory allowed, or an unsupported pattern) the interpreter
     * gives the same results, only slower. */
    re->jit = pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE) == 0;
    return re;

nomem:
    pt_free(re);
    set_err(err, errlen, "out of memory");
    return NULL;
}

void pt_regex_free(pt_regex_t *re)
{
    if (re == NULL) {
        return;
    }
    pcre2_code_free(re->code);
    pt_free(re);
}

uint32_t pt_regex_groups(const pt_regex_t *re)
{
    return re->groups;
}

/* ---- per-thread match state -------------------------------------------------------------- */

typedef struct {
    pcre2_match_data *md;
    uint32_t pairs;
    pcre2_match_context *mctx;
    pcre2_jit_stack *stack;
} re_tls_t;

static _Thread_local re_tls_t *tls;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t tls_key;
static int key_ok;

static void tls_destroy(void *p)
{
    re_tls_t *t = p;
    if (t == NULL) {
        return;
    }
    pcre2_match_data_free(t->md);
    pcre2_match_context_free(t->mctx);
    pcre2_jit_stack_free(t->stack);
    pt_free(t);
    if (tls == t) {
        tls = NULL;
    }
}

static void key_init(void)
{
    /* The key exists only for its destructor: it frees a worker's state when the thread ends. */
    key_ok = pthread_key_create(&tls_key, tls_destroy) == 0;
}

static re_tls_t *tls_get(uint32_t pairs)
{
    re_tls_t *t = tls;
    if (PT_LIKELY(t != NULL && t->pairs >= pairs)) {
        return t;
    }
    if (t == NULL) {
        pthread_once(&key_once, key_init);
        t = pt_calloc(1, sizeof(*t));
        if (t == NULL) {
            return NULL;
        }
        t->mctx = pcre2_match_context_create(general());
        t->stack = pcre2_jit_stack_create(RE_JIT_STACK_START, RE_JIT_STACK_MAX, general());
        if (t->mctx == NULL || t->stack == NULL) {
            tls_destroy(t);
            return NULL;
        }
        pcre2_set_match_limit(t->mctx, RE_MATCH_LIMIT);
        pcre2_jit_stack_assign(t->mctx, NULL, t->stack);
        tls = t;
        if (key_ok) {
            (void)pthread_setspecific(tls_key, t);
        }
    }
    if (t->pairs < pairs) {
        uint32_t want = pairs < 16 ? 16 : pairs;
        pcre2_match_data *md = pcre2_match_data_create(want, general());
        if (md == NULL) {
            return NULL;
        }
        pcre2_match_data_free(t->md);
        t->md = md;
        t->pairs = want;
    }
    return t;
}

void pt_regex_thread_cleanup(void)
{
    re_tls_t *t = tls;
    if (t == NULL) {
        return;
    }
    if (key_ok) {
        (void)pthread_setspecific(tls_key, NULL);
    }
    tls_destroy(t);
    tls = NULL;
}

/* ---- match ------------------------------------------------------------------------------- */

int pt_regex_match(const pt_regex_t *re, const char *subj, size_t n, size_t start, size_t *ov,
                   uint32_t npairs)
{
    if (start > n) {
        return -EINVAL;
    }
    re_tls_t *t = tls_get(re->groups + 1);
    if (t == NULL) {
        return -ENOMEM;
    }
    /* PCRE2 reads nothing through a NULL subject even when n is 0, but it wants a pointer. */
    PCRE2_SPTR s = (PCRE2_SPTR)(subj != NULL ? subj : "");
    int rc = re->jit ? pcre2_jit_match(re->code, s, n, start, 0, t->md, t->mctx)
                     : pcre2_match(re->code, s, n, start, 0, t->md, t->mctx);
    if (rc == PCRE2_ERROR_NOMATCH) {
        return 0;
    }
    if (rc < 0) {
        switch (rc) {
        case PCRE2_ERROR_MATCHLIMIT:
        case PCRE2_ERROR_DEPTHLIMIT:
        case PCRE2_ERROR_HEAPLIMIT:
        case PCRE2_ERROR_JIT_STACKLIMIT:
            return -E2BIG;
        case PCRE2_ERROR_NOMEMORY:
            return -ENOMEM;
        default:
            return -EINVAL;
        }
    }
    if (ov != NULL) {
        const PCRE2_SIZE *v = pcre2_get_ovector_pointer(t->md);
        /* rc is 1 + the highest group that was set (0 only if the ovector were too small, which
         * tls_get rules out). */
        uint32_t set = (uint32_t)rc;
        for (uint32_t i = 0; i < npairs; i++) {
            if (i < set) {
                ov[2 * i] = v[2 * i];
                ov[2 * i + 1] = v[2 * i + 1];
            } else {
                ov[2 * i] = PT_RE_UNSET;
                ov[2 * i + 1] = PT_RE_UNSET;
            }
        }
    }
    return 1;
}
