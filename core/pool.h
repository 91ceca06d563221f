/* Object pools: free lists of fixed-size objects (ack tokens, payloads) so the data path does not
 * go to malloc for every group. Each thread keeps a small cache; the rest spills to a shared list
 * under a mutex, so an object freed on the sender thread is reused by the input thread. */
#ifndef PT_POOL_H
#define PT_POOL_H

#include <pthread.h>
#include <stddef.h>

typedef struct pt_pool_s {
    size_t size;      /* object size */
    unsigned max_shared;
    pthread_mutex_t lock;
    void *shared;     /* singly linked through the first word of each free object */
    unsigned nshared;
    unsigned slot;    /* index of this pool's per-thread cache */
} pt_pool_t;

/* Statically initialise a pool of objects of `size` bytes (size >= sizeof(void *)). Each pool
 * needs a distinct slot below PT_POOL_SLOTS. */
#define PT_POOL_SLOTS 4
#define PT_POOL_INIT(sz, slotno)                                                              \
    {.size = (sz), .max_shared = 4096, .lock = PTHREAD_MUTEX_INITIALIZER, .shared = NULL,      \
     .nshared = 0, .slot = (slotno)}

/* Returns an uninitialised object, or NULL on ENOMEM. Any thread. */
void *pt_pool_get(pt_pool_t *p);
/* Returns an object to the pool. Any thread. NULL is a no-op. */
void pt_pool_put(pt_pool_t *p, void *obj);
/* Frees this thread's caches (call before a thread exits). */
void pt_pool_thread_flush(void);
/* Frees the shared list of a pool (shutdown, tests). */
void pt_pool_purge(pt_pool_t *p);

#endif
