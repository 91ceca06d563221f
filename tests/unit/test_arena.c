/* Tests for core/arena.c: alignment, views that stay valid while the arena grows, oversized
 * requests, reserve/commit, cross-thread refcounting, and block reuse through the free lists,
 * measured with a counting allocator installed through pt_replace_allocator. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/mem.h"

/* ================================================================ counting allocator ==== */

/* Every block carries its size in a 16-byte header so frees can be counted; 16 keeps the
 * alignment malloc promises. */
#define HDR 16u

static atomic_llong live_bytes;
static atomic_llong live_blocks;
static atomic_llong nmallocs;

static void *count_malloc(size_t n)
{
    char *p = malloc(n + HDR);
    if (p == NULL) {
        return NULL;
    }
    memcpy(p, &n, sizeof(n));
    atomic_fetch_add(&live_bytes, (long long)n);
    atomic_fetch_add(&live_blocks, 1);
    atomic_fetch_add(&nmallocs, 1);
    return p + HDR;
}

static void count_free(void *ptr)
{
    if (ptr == NULL) {
        return;
    }
    char *p = (char *)ptr - HDR;
    size_t n;
    memcpy(&n, p, sizeof(n));
    atomic_fetch_sub(&live_bytes, (long long)n);
    atomic_fetch_sub(&live_blocks, 1);
    free(p);
}

static void *count_calloc(size_t c, size_t n)
{
    if (n != 0 && c > SIZE_MAX / n) {
        return NULL;
    }
    void *p = count_malloc(c * n);
    if (p != NULL) {
        memset(p, 0, c * n);
    }
    return p;
}

static void *count_realloc(void *ptr, size_t n)
{
    if (ptr == NULL) {
        return count_malloc(n);
    }
    size_t old;
    memcpy(&old, (char *)ptr - HDR, sizeof(old));
    void *np = count_malloc(n);
    if (np == NULL) {
        return NULL;
    }
    memcpy(np, ptr, old < n ? old : n);
    count_free(ptr);
    return np;
}

/* Every test starts and ends with no pooled block cached anywhere, so live_bytes is exactly
 * what the test itself holds. */
static int purge(void **state)
{
    (void)state;
    pt_arena_pool_purge();
    return 0;
}

static void fill(void *p, size_t n, unsigned seed)
{
    unsigned char *c = p;
    for (size_t i = 0; i < n; i++) {
        c[i] = (unsigned char)(seed * 31u + i * 7u);
    }
}

static int check(const void *p, size_t n, unsigned seed)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++) {
        if (c[i] != (unsigned char)(seed * 31u + i * 7u)) {
            return 0;
        }
    }
    return 1;
}

/* ===================================================================== single thread ===== */

static void test_alignment_and_no_overlap(void **state)
{
    (void)state;
    pt_arena_t *a = pt_arena_create(PT_ARENA_SMALL);
    assert_non_null(a);
    assert_int_equal(atomic_load(&a->refs), 1);
    assert_int_equal(a->block_class, PT_ARENA_SMALL);

    /* Odd sizes from 0 to 3000 bytes: about 1.5 MB, so the arena crosses many blocks. */
    enum { N = 1000 };
    static void *ptrs[N];
    static size_t sizes[N];
    for (unsigned i = 0; i < N; i++) {
        sizes[i] = (i * 3u) % 3001u;
        ptrs[i] = pt_arena_alloc(a, sizes[i]);
        assert_non_null(ptrs[i]);
        assert_int_equal((uintptr_t)ptrs[i] % 8u, 0);
        fill(ptrs[i], sizes[i], i);
    }
    for (unsigned i = 0; i < N; i++) {
        assert_true(check(ptrs[i], sizes[i], i));
    }
    /* An unknown class falls back to the small one. */
    pt_arena_t *b = pt_arena_create(12345);
    assert_non_null(b);
    assert_int_equal(b->block_class, PT_ARENA_SMALL);
    assert_int_equal((uintptr_t)pt_arena_alloc(b, 1) % 8u, 0);
    assert_int_equal((uintptr_t)pt_arena_alloc(b, 3) % 8u, 0);
    pt_arena_unref(b);
    pt_arena_unref(a);
    assert_int_equal(atomic_load(&live_bytes) > 0, 1); /* pooled blocks, until the purge */
    pt_arena_pool_purge();
    assert_int_equal(atomic_load(&live_bytes), 0);
    assert_int_equal(atomic_load(&live_blocks), 0);
}

static void test_views_survive_growth(void **state)
{
    (void)state;
    pt_arena_t *a = pt_arena_create(PT_ARENA_SMALL);
    assert_non_null(a);
    size_t first_bytes = a->bytes;
    assert_int_equal(first_bytes, PT_ARENA_SMALL);

    /* Views into the first block, as an input would hold. */
    enum { NV = 64 };
    pt_str_t views[NV];
    char text[NV][40];
    for (int i = 0; i < NV; i++) {
        int n = snprintf(text[i], sizeof(text[i]), "line %d of the first block", i);
        views[i] = pt_arena_strdup(a, text[i], (size_t)n);
        assert_non_null(views[i].ptr);
        assert_int_equal(views[i].len, n);
        assert_ptr_not_equal(views[i].ptr, text[i]);
    }
    /* Then 8 MB more, in pieces of every size, some larger than a block. */
    size_t total = 0;
    unsigned k = 0;
    while (total < (8u << 20)) {
        size_t n = (k % 7u == 0) ? 100000u : (k * 37u) % 20000u + 1u;
        char *p = pt_arena_alloc(a, n);
        assert_non_null(p);
        memset(p, 0xA5, n);
        total += n;
        k++;
    }
    assert_true(a->bytes >= first_bytes + total);
    for (int i = 0; i < NV; i++) {
        assert_int_equal(views[i].len, strlen(text[i]));
        assert_memory_equal(views[i].ptr, text[i], views[i].len);
    }
    /* strdup of zero bytes gives an empty, non-NULL view. */
    pt_str_t e = pt_arena_strdup(a, "", 0);
    assert_non_null(e.ptr);
    assert_int_equal(e.len, 0);
    pt_arena_unref(a);
}

static void test_oversized(void **state)
{
    (void)state;
    pt_arena_t *a = pt_arena_create(PT_ARENA_SMALL);
    assert_non_null(a);
    char *small = pt_arena_alloc(a, 100);
    assert_non_null(small);
    memset(small, 'x', 100);

    /* 1 MiB from a 64 KiB arena: its own block of exactly that size. */
    size_t before = a->bytes;
    size_t big_n = 1u << 20;
    char *big = pt_arena_alloc(a, big_n);
    assert_non_null(big);
    assert_int_equal((uintptr_t)big % 8u, 0);
    assert_int_equal(a->bytes, before + big_n);
    memset(big, 'B', big_n); /* ASan would catch a block smaller than asked */

    /* The arena goes on allocating normally after it. */
    char *after = pt_arena_alloc(a, 64);
    assert_non_null(after);
    memset(after, 'a', 64);
    assert_int_equal(a->bytes, before + big_n + PT_ARENA_SMALL);
    for (size_t i = 0; i < 100; i++) {
        assert_int_equal(small[i], 'x');
    }
    assert_int_equal(big[0], 'B');
    assert_int_equal(big[big_n - 1], 'B');

    /* Exactly one block's worth fits in a fresh block (no header inside later blocks). */
    char *exact = pt_arena_alloc(a, PT_ARENA_SMALL);
    assert_non_null(exact);
    memset(exact, 'e', PT_ARENA_SMALL);

    /* A large arena keeps requests below 512 KiB inside its pooled blocks. */
    pt_arena_t *l = pt_arena_create(PT_ARENA_LARGE);
    assert_non_null(l);
    assert_int_equal(l->bytes, PT_ARENA_LARGE);
    assert_non_null(pt_arena_alloc(l, 300000));
    assert_int_equal(l->bytes, PT_ARENA_LARGE);
    assert_non_null(pt_arena_alloc(l, 300000));
    assert_int_equal(l->bytes, 2u * PT_ARENA_LARGE);

    pt_arena_unref(l);
    pt_arena_unref(a);
    pt_arena_pool_purge();
    assert_int_equal(atomic_load(&live_bytes), 0);
}

/* A request whose size is absurd (a length computed as -1) must fail, not wrap around the
 * bounds check and hand out memory the arena already gave away. */
static void test_absurd_sizes_fail(void **state)
{
    (void)state;
    pt_arena_t *a = pt_arena_create(PT_ARENA_SMALL);
    assert_non_null(a);
    char *first = pt_arena_alloc(a, 16);
    assert_non_null(first);
    memcpy(first, "0123456789abcdef", 16);

    /* Results are collected first and checked after the arena is gone, so a failure does not
     * leak it. */
    void *r_u32 = pt_arena_alloc(a, (size_t)UINT32_MAX);
    void *r_u32p1 = pt_arena_alloc(a, (size_t)UINT32_MAX + 1u);
    size_t avail = 0;
    void *r_reserve = pt_arena_reserve(a, SIZE_MAX, &avail);
    void *r_max8 = pt_arena_alloc(a, SIZE_MAX - 8u);
    void *r_max = pt_arena_alloc(a, SIZE_MAX);

    /* Whatever happened above, the next allocation must not overlap the first one. */
    char *next = pt_arena_alloc(a, 16);
    int disjoint = next != NULL && (next >= first + 16 || next + 16 <= first);
    if (disjoint) {
        memset(next, 'z', 16);
    }
    int intact = memcmp(first, "0123456789abcdef", 16) == 0;
    pt_arena_unref(a);

    assert_null(r_u32);
    assert_null(r_u32p1);
    assert_null(r_reserve);
    assert_null(r_max8);
    assert_null(r_max);
    assert_true(disjoint);
    assert_true(intact);
}

static void test_reserve_commit(void **state)
{
    (void)state;
    pt_arena_t *a = pt_arena_create(PT_ARENA_SMALL);
    assert_non_null(a);
    size_t avail = 0;
    char *buf = pt_arena_reserve(a, 100, &avail);
    assert_non_null(buf);
    /* The rest of the first block, after the arena's own header. */
    assert_true(avail >= 100);
    assert_true(avail < PT_ARENA_SMALL);
    size_t first_avail = avail;
    memset(buf, 'r', avail); /* all of it is writable */

    /* Reserving again without a commit hands out the same bytes. */
    size_t avail2 = 0;
    assert_ptr_equal(pt_arena_reserve(a, 1, &avail2), buf);
    assert_int_equal(avail2, first_avail);

    /* Commit 13 bytes: the next allocation starts after them, aligned. */
    memcpy(buf, "thirteen-byte", 13);
    pt_arena_commit(a, 13);
    char *p = pt_arena_alloc(a, 8);
    assert_non_null(p);
    assert_ptr_equal(p, buf + 16);
    memcpy(p, "ABCDEFGH", 8);
    assert_memory_equal(buf, "thirteen-byte", 13);

    /* A reservation larger than what is left opens a new block; old views stay. */
    size_t left = 0;
    char *rest = pt_arena_reserve(a, 1, &left);
    assert_ptr_equal(rest, p + 8);
    char *nb = pt_arena_reserve(a, left + 1, &avail);
    assert_non_null(nb);
    assert_int_equal(avail, PT_ARENA_SMALL);
    memset(nb, 'n', avail);
    pt_arena_commit(a, avail); /* a full block */
    assert_memory_equal(buf, "thirteen-byte", 13);
    assert_memory_equal(p, "ABCDEFGH", 8);

    /* Beyond the block class: an exact-size block. */
    char *huge = pt_arena_reserve(a, 3u * PT_ARENA_SMALL + 5u, &avail);
    assert_non_null(huge);
    assert_int_equal(avail, 3u * PT_ARENA_SMALL + 5u);
    memset(huge, 'h', avail);
    pt_arena_commit(a, avail);
    assert_int_equal(a->bytes, 2u * PT_ARENA_SMALL + 3u * PT_ARENA_SMALL + 5u);

    /* After a full block, alloc moves on to a new one. */
    char *q = pt_arena_alloc(a, 1);
    assert_non_null(q);
    assert_true(q < huge || q >= huge + avail);
    pt_arena_unref(a);
}

/* Committing more than was reserved is a memory-corrupting bug: PT_ASSERT aborts. */
static void test_commit_overflow_aborts(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        pt_arena_t *a = pt_arena_create(PT_ARENA_SMALL);
        size_t avail = 0;
        (void)pt_arena_reserve(a, 1, &avail);
        int devnull = open("/dev/null", 1);
        dup2(devnull, 2);
        pt_arena_commit(a, avail + 1);
        _exit(0);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGABRT);
}

/* ======================================================================= refcounting ===== */

#define REF_THREADS 4
#define REF_ROUNDS 100000

static void *ref_worker(void *arg)
{
    pt_arena_t *a = arg;
    for (int i = 0; i < REF_ROUNDS; i++) {
        pt_arena_ref(a);
        pt_arena_unref(a);
    }
    return NULL;
}

static void test_refcount_threads(void **state)
{
    (void)state;
    long long base = atomic_load(&live_bytes);
    pt_arena_t *a = pt_arena_create(PT_ARENA_SMALL);
    assert_non_null(a);
    char *p = pt_arena_alloc(a, 200000); /* several blocks */
    assert_non_null(p);
    memset(p, 1, 200000);
    pthread_t t[REF_THREADS];
    for (int i = 0; i < REF_THREADS; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, ref_worker, a), 0);
    }
    for (int i = 0; i < REF_THREADS; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
    }
    assert_int_equal(atomic_load(&a->refs), 1);
    assert_int_equal(p[199999], 1); /* still alive: no worker freed it */
    pt_arena_unref(a);
    pt_arena_pool_purge();
    assert_int_equal(atomic_load(&live_bytes), base);
    pt_arena_unref(NULL); /* a no-op */
}

/* The last reference dropped on a worker thread: the blocks land in that thread's cache, which
 * pt_arena_thread_flush gives back before the thread exits. */
typedef struct {
    pt_arena_t *a;
    pthread_barrier_t *bar;
} last_ref_arg_t;

static void *last_ref_worker(void *arg)
{
    last_ref_arg_t *x = arg;
    for (int i = 0; i < REF_ROUNDS / 10; i++) {
        pt_arena_ref(x->a);
        pt_arena_unref(x->a);
    }
    pthread_barrier_wait(x->bar);
    pt_arena_unref(x->a); /* one of the four frees it */
    pt_arena_thread_flush();
    return NULL;
}

static void test_last_unref_on_worker(void **state)
{
    (void)state;
    long long base = atomic_load(&live_bytes);
    long long bbase = atomic_load(&live_blocks);
    pthread_barrier_t bar;
    pthread_barrier_init(&bar, NULL, REF_THREADS);
    pt_arena_t *a = pt_arena_create(PT_ARENA_LARGE);
    assert_non_null(a);
    assert_non_null(pt_arena_alloc(a, 2u * PT_ARENA_LARGE)); /* plus an oversized block */
    for (int i = 0; i < REF_THREADS - 1; i++) {
        pt_arena_ref(a); /* one reference per worker */
    }
    last_ref_arg_t arg = {a, &bar};
    pthread_t t[REF_THREADS];
    for (int i = 0; i < REF_THREADS; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, last_ref_worker, &arg), 0);
    }
    for (int i = 0; i < REF_THREADS; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
    }
    pthread_barrier_destroy(&bar);
    pt_arena_pool_purge();
    assert_int_equal(atomic_load(&live_bytes), base);
    assert_int_equal(atomic_load(&live_blocks), bbase);
}

/* ======================================================================== free lists ===== */

/* A producer thread creates arenas (as the input thread does), a consumer thread drops them (as
 * a worker does). In lock step, round after round: once warm, every block must come from the
 * free lists, so neither the allocation count nor the live bytes may grow. */
#define FL_ROUNDS 400
#define FL_ARENAS 8 /* per round; each spans 4 small blocks */

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pt_arena_t *slot[FL_ARENAS];
    int full;  /* producer filled the slots */
    int round; /* rounds the consumer finished */
    long long live_after[FL_ROUNDS];
    long long mallocs_after[FL_ROUNDS];
    int bad;
} fl = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static void *fl_producer(void *arg)
{
    (void)arg;
    for (int r = 0; r < FL_ROUNDS; r++) {
        pt_arena_t *made[FL_ARENAS];
        for (int i = 0; i < FL_ARENAS; i++) {
            made[i] = pt_arena_create(PT_ARENA_SMALL);
            if (made[i] == NULL) {
                fl.bad = 1;
                continue;
            }
            for (int k = 0; k < 4; k++) {
                /* 40000 bytes: a block holds one, so the arena spans 4 blocks. */
                char *p = pt_arena_alloc(made[i], 40000);
                if (p == NULL) {
                    fl.bad = 1;
                    break;
                }
                memset(p, r & 0xff, 40000);
            }
        }
        pthread_mutex_lock(&fl.lock);
        memcpy(fl.slot, made, sizeof(made));
        fl.full = 1;
        pthread_cond_broadcast(&fl.cond);
        while (fl.round <= r) {
            pthread_cond_wait(&fl.cond, &fl.lock);
        }
        pthread_mutex_unlock(&fl.lock);
    }
    pt_arena_thread_flush();
    return NULL;
}

static void *fl_consumer(void *arg)
{
    (void)arg;
    for (int r = 0; r < FL_ROUNDS; r++) {
        pthread_mutex_lock(&fl.lock);
        while (!fl.full) {
            pthread_cond_wait(&fl.cond, &fl.lock);
        }
        fl.full = 0;
        pthread_mutex_unlock(&fl.lock);
        for (int i = 0; i < FL_ARENAS; i++) {
            pt_arena_unref(fl.slot[i]);
        }
        pthread_mutex_lock(&fl.lock);
        fl.live_after[r] = atomic_load(&live_bytes);
        fl.mallocs_after[r] = atomic_load(&nmallocs);
        fl.round = r + 1;
        pthread_cond_broadcast(&fl.cond);
        pthread_mutex_unlock(&fl.lock);
    }
    pt_arena_thread_flush();
    return NULL;
}

static void test_free_lists_cross_thread(void **state)
{
    (void)state;
    long long base = atomic_load(&live_bytes);
    long long bbase = atomic_load(&live_blocks);
    long long mbase = atomic_load(&nmallocs);
    pthread_t prod;
    pthread_t cons;
    assert_int_equal(pthread_create(&cons, NULL, fl_consumer, NULL), 0);
    assert_int_equal(pthread_create(&prod, NULL, fl_producer, NULL), 0);
    assert_int_equal(pthread_join(prod, NULL), 0);
    assert_int_equal(pthread_join(cons, NULL), 0);
    assert_int_equal(fl.bad, 0);

    /* 32 blocks per round. Round 0 mallocs 32; the consumer keeps 8 in its own cache and
     * spills 24 to the shared pool. Round 1 takes those 24 and mallocs 8 more; from then on
     * the consumer's cache is full, all 32 go through the shared pool and come back to the
     * producer: no malloc at all, and a constant 40 cached blocks. */
    assert_int_equal(fl.mallocs_after[0] - mbase, 32);
    assert_int_equal(fl.mallocs_after[1] - mbase, 40);
    for (int r = 2; r < FL_ROUNDS; r++) {
        assert_int_equal(fl.mallocs_after[r] - mbase, 40);
        assert_int_equal(fl.live_after[r], fl.live_after[1]);
    }
    assert_true(fl.live_after[1] - base >= 40LL * PT_ARENA_SMALL);
    assert_true(fl.live_after[1] - base <= 40LL * (PT_ARENA_SMALL + 64));

    /* Both threads flushed their caches on exit; the purge empties the shared pool. */
    pt_arena_pool_purge();
    assert_int_equal(atomic_load(&live_bytes), base);
    assert_int_equal(atomic_load(&live_blocks), bbase);
}

/* Many arenas made and freed on one thread reuse its own cache: after the first, no malloc. */
static void test_free_lists_same_thread(void **state)
{
    (void)state;
    pt_arena_t *a = pt_arena_create(PT_ARENA_LARGE);
    assert_non_null(a);
    pt_arena_unref(a);
    long long m0 = atomic_load(&nmallocs);
    long long l0 = atomic_load(&live_bytes);
    for (int i = 0; i < 10000; i++) {
        a = pt_arena_create(PT_ARENA_LARGE);
        assert_non_null(a);
        assert_non_null(pt_arena_alloc(a, 1000));
        pt_arena_unref(a);
    }
    assert_int_equal(atomic_load(&nmallocs), m0);
    assert_int_equal(atomic_load(&live_bytes), l0);
    /* Oversized blocks are never pooled: each one is freed with its arena. */
    a = pt_arena_create(PT_ARENA_SMALL);
    assert_non_null(pt_arena_alloc(a, 5u * PT_ARENA_SMALL));
    long long with_big = atomic_load(&live_bytes);
    assert_true(with_big >= l0 + 5LL * PT_ARENA_SMALL);
    pt_arena_unref(a);
    assert_true(atomic_load(&live_bytes) < with_big - 4LL * PT_ARENA_SMALL);
}

int main(void)
{
    /* Installed before any petrel call, as pt_replace_allocator requires. */
    if (pt_replace_allocator(count_malloc, count_realloc, count_calloc, count_free) != 0) {
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_alignment_and_no_overlap, purge),
        cmocka_unit_test_teardown(test_views_survive_growth, purge),
        cmocka_unit_test_teardown(test_oversized, purge),
        cmocka_unit_test_teardown(test_absurd_sizes_fail, purge),
        cmocka_unit_test_teardown(test_reserve_commit, purge),
        cmocka_unit_test_teardown(test_commit_overflow_aborts, purge),
        cmocka_unit_test_setup_teardown(test_refcount_threads, purge, purge),
        cmocka_unit_test_setup_teardown(test_last_unref_on_worker, purge, purge),
        cmocka_unit_test_setup_teardown(test_free_lists_cross_thread, purge, purge),
        cmocka_unit_test_setup_teardown(test_free_lists_same_thread, purge, purge),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    pt_arena_pool_purge();
    if (rc == 0 && atomic_load(&live_bytes) != 0) {
        fprintf(stderr, "leak: %lld bytes still allocated\n", atomic_load(&live_bytes));
        return 1;
    }
    return rc;
}
