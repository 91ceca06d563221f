/* Fixed-size object pools with per-thread caches that spill to a shared, locked list. */
#include "pool.h"

#include "mem.h"

#define LOCAL_MAX 256

typedef struct {
    void *head;
    unsigned n;
    pt_pool_t *pool;
} local_cache_t;

static _Thread_local local_cache_t caches[PT_POOL_SLOTS];

void *pt_pool_get(pt_pool_t *p)
{
    local_cache_t *c = &caches[p->slot];
    void *obj = c->head;
    if (obj != NULL) {
        c->head = *(void **)obj;
        c->n--;
        return obj;
    }
    pthread_mutex_lock(&p->lock);
    obj = p->shared;
    if (obj != NULL) {
        p->shared = *(void **)obj;
        p->nshared--;
    }
    pthread_mutex_unlock(&p->lock);
    if (obj == NULL) {
        obj = pt_malloc(p->size);
    }
    return obj;
}

void pt_pool_put(pt_pool_t *p, void *obj)
{
    if (obj == NULL) {
        return;
    }
    local_cache_t *c = &caches[p->slot];
    c->pool = p;
    if (c->n < LOCAL_MAX) {
        *(void **)obj = c->head;
        c->head = obj;
        c->n++;
        return;
    }
    pthread_mutex_lock(&p->lock);
    if (p->nshared < p->max_shared) {
        *(void **)obj = p->shared;
        p->shared = obj;
        p->nshared++;
        obj = NULL;
    }
    pthread_mutex_unlock(&p->lock);
    pt_free(obj);
}

void pt_pool_thread_flush(void)
{
    for (int i = 0; i < PT_POOL_SLOTS; i++) {
        local_cache_t *c = &caches[i];
        while (c->head != NULL) {
            void *obj = c->head;
            c->head = *(void **)obj;
            pt_free(obj);
        }
        c->n = 0;
    }
}

void pt_pool_purge(pt_pool_t *p)
{
    pthread_mutex_lock(&p->lock);
    while (p->shared != NULL) {
        void *obj = p->shared;
        p->shared = *(void **)obj;
        pt_free(obj);
    }
    p->nshared = 0;
    pthread_mutex_unlock(&p->lock);
}
