/* Ack delivery across threads: a mutex-protected list drained by a uv_async on the input loop.
 * Acks are per group (hundreds of KiB), so a short lock per ack costs nothing measurable. */
#include "ack.h"

#include <errno.h>
#include <pthread.h>

#include "common.h"
#include "mem.h"
#include "pipeline_internal.h"
#include "pool.h"

/* Ack tokens come from a pool: one is made per group, at thousands of groups a second. */
pt_pool_t pt_ack_pool = PT_POOL_INIT(sizeof(pt_ack_t), 0);

struct pt_acker_s {
    uv_async_t async;
    pthread_mutex_t lock;
    pt_ack_t *head;
    pt_ack_t *tail;
};

static void acker_drain(pt_acker_t *k)
{
    for (;;) {
        pthread_mutex_lock(&k->lock);
        pt_ack_t *list = k->head;
        k->head = k->tail = NULL;
        pthread_mutex_unlock(&k->lock);
        if (list == NULL) {
            return;
        }
        while (list != NULL) {
            pt_ack_t *a = list;
            list = a->next;
            a->cb(a, atomic_load(&a->status));
            if (a->pipeline != NULL) {
                pt_pipeline_ack_done(a->pipeline);
            }
            pt_pool_put(&pt_ack_pool, a);
        }
    }
}

static void on_acks(uv_async_t *h)
{
    acker_drain(h->data);
}

int pt_acker_create(uv_loop_t *loop, pt_acker_t **out)
{
    pt_acker_t *k = pt_calloc(1, sizeof(*k));
    if (k == NULL) {
        return -ENOMEM;
    }
    pthread_mutex_init(&k->lock, NULL);
    int rc = uv_async_init(loop, &k->async, on_acks);
    if (rc != 0) {
        pthread_mutex_destroy(&k->lock);
        pt_free(k);
        return rc;
    }
    k->async.data = k;
    *out = k;
    return 0;
}

static void on_acker_closed(uv_handle_t *h)
{
    pt_acker_t *k = h->data;
    pthread_mutex_destroy(&k->lock);
    pt_free(k);
}

void pt_acker_destroy(pt_acker_t *k)
{
    if (k == NULL) {
        return;
    }
    acker_drain(k);
    /* Wait out a releaser that is still inside pt_ack_release (it sends under the lock). */
    pthread_mutex_lock(&k->lock);
    pthread_mutex_unlock(&k->lock);
    uv_close((uv_handle_t *)&k->async, on_acker_closed);
}

pt_ack_t *pt_ack_create(pt_acker_t *acker, pt_ack_cb cb, void *owner, void *target,
                        uint64_t value)
{
    pt_ack_t *a = pt_pool_get(&pt_ack_pool);
    if (a == NULL) {
        return NULL;
    }
    atomic_init(&a->refs, 1);
    atomic_init(&a->status, 0);
    a->cb = cb;
    a->acker = acker;
    a->owner = owner;
    a->target = target;
    a->value = value;
    a->pipeline = NULL;
    a->next = NULL;
    return a;
}

void pt_ack_hold(pt_ack_t *ack, int n)
{
    atomic_fetch_add_explicit(&ack->refs, n, memory_order_relaxed);
}

void pt_ack_release(pt_ack_t *ack, int status)
{
    if (status != 0) {
        atomic_store(&ack->status, status);
    }
    int prev = atomic_fetch_sub_explicit(&ack->refs, 1, memory_order_acq_rel);
    PT_ASSERT(prev > 0);
    if (prev != 1) {
        return;
    }
    pt_acker_t *k = ack->acker;
    ack->next = NULL;
    pthread_mutex_lock(&k->lock);
    if (k->tail != NULL) {
        k->tail->next = ack;
    } else {
        k->head = ack;
    }
    k->tail = ack;
    /* Wake the loop before unlocking: once the lock is released the token may already have been
     * delivered and its owner may destroy the acker (pt_acker_destroy takes this lock first). */
    uv_async_send(&k->async);
    pthread_mutex_unlock(&k->lock);
}

void pt_ack_abandon(pt_ack_t *ack)
{
    pt_pool_put(&pt_ack_pool, ack);
}
