/* Tests for core/ack.c on a real libuv loop: tokens held several times and released from other
 * threads call back exactly once, on the loop thread, with the right status; and an acker can be
 * destroyed as soon as its owner has seen every callback. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <unistd.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "core/ack.h"
#include "core/mem.h"
#include "core/pipeline_internal.h"

/* ====================================================== allocator with a quarantine ===== */

/* Blocks freed while `quarantine` is on are kept (and poisoned) instead of being returned to
 * malloc, so a test can tell for sure whether a pointer refers to freed memory. */
#define HDR 16u

typedef struct qblock_s {
    struct qblock_s *next;
    char *ptr; /* the user pointer of a block kept back */
    size_t size;
} qblock_t;

static pthread_mutex_t q_lock = PTHREAD_MUTEX_INITIALIZER;
static int quarantine;
static qblock_t *quarantined;
static atomic_long live_allocs;

static void *q_malloc(size_t n)
{
    char *p = malloc(n + HDR);
    if (p == NULL) {
        return NULL;
    }
    memcpy(p, &n, sizeof(n));
    atomic_fetch_add(&live_allocs, 1);
    return p + HDR;
}

static void q_free(void *ptr)
{
    if (ptr == NULL) {
        return;
    }
    char *p = (char *)ptr - HDR;
    size_t n;
    memcpy(&n, p, sizeof(n));
    atomic_fetch_sub(&live_allocs, 1);
    pthread_mutex_lock(&q_lock);
    qblock_t *q = quarantine ? malloc(sizeof(*q)) : NULL;
    if (q != NULL) {
        memset(ptr, 0xdd, n);
        q->ptr = ptr;
        q->size = n;
        q->next = quarantined;
        quarantined = q;
        pthread_mutex_unlock(&q_lock);
        return;
    }
    pthread_mutex_unlock(&q_lock);
    free(p);
}

/* 1 when p points into a block that was freed while the quarantine was on. */
static int in_freed_block(const void *p)
{
    int found = 0;
    pthread_mutex_lock(&q_lock);
    for (qblock_t *q = quarantined; q != NULL && !found; q = q->next) {
        found = (const char *)p >= q->ptr && (const char *)p < q->ptr + q->size;
    }
    pthread_mutex_unlock(&q_lock);
    return found;
}

static void quarantine_release(void)
{
    pthread_mutex_lock(&q_lock);
    quarantine = 0;
    while (quarantined != NULL) {
        qblock_t *q = quarantined;
        quarantined = q->next;
        free(q->ptr - HDR);
        free(q);
    }
    pthread_mutex_unlock(&q_lock);
}

static void *q_calloc(size_t c, size_t n)
{
    if (n != 0 && c > SIZE_MAX / n) {
        return NULL;
    }
    void *p = q_malloc(c * n);
    if (p != NULL) {
        memset(p, 0, c * n);
    }
    return p;
}

static void *q_realloc(void *ptr, size_t n)
{
    if (ptr == NULL) {
        return q_malloc(n);
    }
    size_t old;
    memcpy(&old, (char *)ptr - HDR, sizeof(old));
    void *np = q_malloc(n);
    if (np == NULL) {
        return NULL;
    }
    memcpy(np, ptr, old < n ? old : n);
    q_free(ptr);
    return np;
}

/* ============================================================ a seam in uv_async_send ===== */

/* ack.c wakes the acker's loop with uv_async_send after it has queued a token. This definition
 * takes the place of libuv's for the code linked into this test (calls are forwarded to the real
 * one), so that a test can hold a releasing thread right at that point, as a preemption would. */
typedef int (*uv_async_send_fn)(uv_async_t *);

static _Thread_local int stall_next_send;
static sem_t send_stalled;
static sem_t send_go;
static atomic_int send_on_freed;

int uv_async_send(uv_async_t *h)
{
    static uv_async_send_fn real;
    if (real == NULL) {
        real = (uv_async_send_fn)dlsym(RTLD_NEXT, "uv_async_send");
    }
    if (stall_next_send) {
        stall_next_send = 0;
        sem_post(&send_stalled);
        sem_wait(&send_go);
        if (in_freed_block(h)) {
            /* Calling libuv now would write into freed memory (and maybe a closed loop's fd). */
            atomic_store(&send_on_freed, 1);
            return 0;
        }
    }
    return real(h);
}

/* ============================================================================ tests ======= */

#define NTOKENS 300
#define NTHREADS 4

typedef struct {
    pthread_t loop_thread;
    atomic_int calls[NTOKENS];
    atomic_int status[NTOKENS];
    atomic_int total;
    atomic_int wrong_thread;
    atomic_int wrong_fields;
    pt_ack_t *tok[NTOKENS];
    int owner_tag;
} ctx_t;

static ctx_t C;

static void on_ack(pt_ack_t *ack, int status)
{
    uint64_t i = ack->value;
    if (!pthread_equal(pthread_self(), C.loop_thread)) {
        atomic_fetch_add(&C.wrong_thread, 1);
    }
    if (i >= NTOKENS || ack->owner != &C.owner_tag || ack->target != (void *)(uintptr_t)(i + 1)) {
        atomic_fetch_add(&C.wrong_fields, 1);
        return;
    }
    atomic_fetch_add(&C.calls[i], 1);
    atomic_store(&C.status[i], status);
    atomic_fetch_add(&C.total, 1);
}

static int expected_status_of(int i, int thread)
{
    /* Token i gets a negative status from thread 2 when i % 10 == 0, from threads 1 and 3 (two
     * different errors) when i % 7 == 0; every other release is 0. */
    if (i % 10 == 0 && thread == 2) {
        return -EIO;
    }
    if (i % 7 == 0 && thread == 1) {
        return -EPIPE;
    }
    if (i % 7 == 0 && thread == 3) {
        return -ECONNRESET;
    }
    return 0;
}

static void *releaser(void *arg)
{
    int t = (int)(intptr_t)arg;
    /* Different threads walk the tokens in different orders, so last releases are spread. */
    for (int k = 0; k < NTOKENS; k++) {
        int i = (t % 2) ? NTOKENS - 1 - k : k;
        pt_ack_release(C.tok[i], expected_status_of(i, t));
    }
    return NULL;
}

static void run_until(uv_loop_t *loop, atomic_int *counter, int want)
{
    for (int spins = 0; atomic_load(counter) < want && spins < 100000; spins++) {
        uv_run(loop, UV_RUN_ONCE);
    }
}

static void close_loop(uv_loop_t *loop)
{
    uv_run(loop, UV_RUN_DEFAULT); /* closes what is closing; no handle is active any more */
    assert_int_equal(uv_loop_close(loop), 0);
}

static int reset(void **state)
{
    (void)state;
    memset(&C, 0, sizeof(C));
    C.loop_thread = pthread_self();
    return 0;
}

static void test_release_from_threads(void **state)
{
    (void)state;
    long allocs0 = atomic_load(&live_allocs);
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    pt_acker_t *k = NULL;
    assert_int_equal(pt_acker_create(&loop, &k), 0);
    assert_non_null(k);
    for (int i = 0; i < NTOKENS; i++) {
        C.tok[i] = pt_ack_create(k, on_ack, &C.owner_tag, (void *)(uintptr_t)(i + 1), (uint64_t)i);
        assert_non_null(C.tok[i]);
        pt_ack_hold(C.tok[i], NTHREADS); /* creator + one per thread */
    }
    pthread_t th[NTHREADS];
    for (int t = 0; t < NTHREADS; t++) {
        assert_int_equal(pthread_create(&th[t], NULL, releaser, (void *)(intptr_t)t), 0);
    }
    for (int t = 0; t < NTHREADS; t++) {
        assert_int_equal(pthread_join(th[t], NULL), 0);
    }
    /* Every thread has released; the creator's reference still holds every token. */
    uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(atomic_load(&C.total), 0);
    for (int i = 0; i < NTOKENS; i++) {
        pt_ack_release(C.tok[i], 0); /* the last one, on the loop thread itself */
    }
    /* Not called back synchronously from release: only from the loop. */
    assert_int_equal(atomic_load(&C.total), 0);
    run_until(&loop, &C.total, NTOKENS);
    uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(atomic_load(&C.total), NTOKENS);
    assert_int_equal(atomic_load(&C.wrong_thread), 0);
    assert_int_equal(atomic_load(&C.wrong_fields), 0);
    for (int i = 0; i < NTOKENS; i++) {
        assert_int_equal(atomic_load(&C.calls[i]), 1);
        int st = atomic_load(&C.status[i]);
        if (i % 7 == 0) {
            assert_true(st == -EPIPE || st == -ECONNRESET || (i % 10 == 0 && st == -EIO));
        } else if (i % 10 == 0) {
            assert_int_equal(st, -EIO);
        } else {
            assert_int_equal(st, 0);
        }
    }
    pt_acker_destroy(k);
    close_loop(&loop);
    /* Tokens go back to their pool; once it is purged, nothing is left. */
    pt_pipeline_pools_purge();
    assert_int_equal(atomic_load(&live_allocs), allocs0);
}

/* The last release happens on worker threads while the loop runs. */
typedef struct {
    pt_ack_t **toks;
    int from;
    int to;
} range_arg_t;

static void *last_releaser(void *arg)
{
    range_arg_t *r = arg;
    for (int i = r->from; i < r->to; i++) {
        pt_ack_release(r->toks[i], i % 3 == 0 ? -EIO : 0);
    }
    return NULL;
}

static void test_last_release_on_workers_while_running(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    pt_acker_t *k = NULL;
    assert_int_equal(pt_acker_create(&loop, &k), 0);
    for (int i = 0; i < NTOKENS; i++) {
        C.tok[i] = pt_ack_create(k, on_ack, &C.owner_tag, (void *)(uintptr_t)(i + 1), (uint64_t)i);
        assert_non_null(C.tok[i]);
    }
    pthread_t th[NTHREADS];
    range_arg_t ra[NTHREADS];
    for (int t = 0; t < NTHREADS; t++) {
        ra[t] = (range_arg_t){C.tok, t * NTOKENS / NTHREADS, (t + 1) * NTOKENS / NTHREADS};
        assert_int_equal(pthread_create(&th[t], NULL, last_releaser, &ra[t]), 0);
    }
    run_until(&loop, &C.total, NTOKENS);
    for (int t = 0; t < NTHREADS; t++) {
        assert_int_equal(pthread_join(th[t], NULL), 0);
    }
    uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(atomic_load(&C.total), NTOKENS);
    assert_int_equal(atomic_load(&C.wrong_thread), 0);
    for (int i = 0; i < NTOKENS; i++) {
        assert_int_equal(atomic_load(&C.calls[i]), 1);
        assert_int_equal(atomic_load(&C.status[i]), i % 3 == 0 ? -EIO : 0);
    }
    pt_acker_destroy(k);
    close_loop(&loop);
}

/* Destroy completes the tokens already released (on the calling thread) before closing. */
static void test_destroy_completes_pending(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    pt_acker_t *k = NULL;
    assert_int_equal(pt_acker_create(&loop, &k), 0);
    C.tok[0] = pt_ack_create(k, on_ack, &C.owner_tag, (void *)1, 0);
    C.tok[1] = pt_ack_create(k, on_ack, &C.owner_tag, (void *)2, 1);
    pt_ack_release(C.tok[0], -ENOSPC);
    assert_int_equal(atomic_load(&C.total), 0);
    pt_acker_destroy(k);
    assert_int_equal(atomic_load(&C.total), 1);
    assert_int_equal(atomic_load(&C.calls[0]), 1);
    assert_int_equal(atomic_load(&C.status[0]), -ENOSPC);
    assert_int_equal(atomic_load(&C.wrong_thread), 0);
    /* A token nobody released is given up without a callback. */
    pt_ack_abandon(C.tok[1]);
    pt_ack_abandon(NULL);
    close_loop(&loop);
    assert_int_equal(atomic_load(&C.calls[1]), 0);
}

/* A releasing thread queues its token and wakes the loop under the acker's lock. If it is held
 * inside uv_async_send, the owner -- which may destroy its acker as soon as every callback came
 * back, as input_file does once its pipeline is drained -- must not free the acker before that
 * call returns: pt_acker_destroy waits for the lock. */
static void *stalled_releaser(void *arg)
{
    stall_next_send = 1;
    pt_ack_release(arg, 0);
    return NULL;
}

static void *release_send_later(void *arg)
{
    (void)arg;
    usleep(200 * 1000);
    sem_post(&send_go);
    return NULL;
}

static void test_release_does_not_touch_destroyed_acker(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    pt_acker_t *k = NULL;
    assert_int_equal(pt_acker_create(&loop, &k), 0);
    sem_init(&send_stalled, 0, 0);
    sem_init(&send_go, 0, 0);
    atomic_store(&send_on_freed, 0);

    C.tok[0] = pt_ack_create(k, on_ack, &C.owner_tag, (void *)1, 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, stalled_releaser, C.tok[0]), 0);
    sem_wait(&send_stalled);
    /* The releaser is now inside uv_async_send. Let it go on only in 200 ms, and destroy the
     * acker meanwhile: destroy must wait, deliver the token, and only then free. */
    pthread_t go;
    assert_int_equal(pthread_create(&go, NULL, release_send_later, NULL), 0);
    quarantine = 1;
    pt_acker_destroy(k);
    assert_int_equal(atomic_load(&C.calls[0]), 1);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(pthread_join(go, NULL), 0);
    assert_int_equal(uv_loop_close(&loop), 0);
    int touched = atomic_load(&send_on_freed);
    quarantine_release();
    sem_destroy(&send_stalled);
    sem_destroy(&send_go);
    assert_int_equal(touched, 0);
}

int main(void)
{
    /* Installed before any petrel call, as pt_replace_allocator requires. */
    if (pt_replace_allocator(q_malloc, q_realloc, q_calloc, q_free) != 0) {
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_release_from_threads, reset),
        cmocka_unit_test_setup(test_last_release_on_workers_while_running, reset),
        cmocka_unit_test_setup(test_destroy_completes_pending, reset),
        cmocka_unit_test_setup(test_release_does_not_touch_destroyed_acker, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
