/* Arena allocator: bump allocation in fixed blocks, refcounted, with pooled blocks.
 * A thread keeps a few free blocks of each class for itself and spills the rest to a shared,
 * mutex-protected pool; blocks are large (64 KiB / 512 KiB), so the lock is taken rarely. */
#include "arena.h"

#include <pthread.h>
#include <string.h>

#include "common.h"
#include "mem.h"

struct pt_arena_block_s {
    pt_arena_block_t *next;
    uint32_t size; /* usable bytes in data[] */
    uint32_t used;
    uint32_t pooled_class; /* 0 when this block is not pooled (oversized) */
    uint32_t pad;
    char data[];
};

#define LOCAL_MAX 8   /* blocks of each class a thread keeps */
#define SHARED_MAX 64 /* blocks of each class the shared pool keeps */

typedef struct {
    pt_arena_block_t *head;
    unsigned n;
} block_list_t;

static _Thread_local block_list_t local_free[2];
static block_list_t shared_free[2];
static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;

static int class_index(uint32_t cls)
{
    return cls == PT_ARENA_LARGE ? 1 : 0;
}

static pt_arena_block_t *block_get(uint32_t cls)
{
    int ci = class_index(cls);
    block_list_t *l = &local_free[ci];
    pt_arena_block_t *b = l->head;
    if (b != NULL) {
        l->head = b->next;
        l->n--;
    } else {
        pthread_mutex_lock(&shared_lock);
        b = shared_free[ci].head;
        if (b != NULL) {
            shared_free[ci].head = b->next;
            shared_free[ci].n--;
        }
        pthread_mutex_unlock(&shared_lock);
    }
    if (b == NULL) {
        b = pt_malloc(sizeof(*b) + cls);
        if (b == NULL) {
            return NULL;
        }
        b->size = cls;
        b->pooled_class = cls;
    }
    b->next = NULL;
    b->used = 0;
    return b;
}

static void block_put(pt_arena_block_t *b)
{
    if (b->pooled_class == 0) {
        pt_free(b);
        return;
    }
    int ci = class_index(b->pooled_class);
    block_list_t *l = &local_free[ci];
    if (l->n < LOCAL_MAX) {
        b->next = l->head;
        l->head = b;
        l->n++;
        return;
    }
    pthread_mutex_lock(&shared_lock);
    if (shared_free[ci].n < SHARED_MAX) {
        b->next = shared_free[ci].head;
        shared_free[ci].head = b;
        shared_free[ci].n++;
        b = NULL;
    }
    pthread_mutex_unlock(&shared_lock);
    pt_free(b);
}

pt_arena_t *pt_arena_create(uint32_t block_class)
{
    if (block_class != PT_ARENA_LARGE) {
        block_class = PT_ARENA_SMALL;
    }
    pt_arena_block_t *b = block_get(block_class);
    if (b == NULL) {
        return NULL;
    }
    /* The arena header lives at the start of its own first block. */
    pt_arena_t *a = (pt_arena_t *)b->data;
    b->used = (uint32_t)((sizeof(*a) + 7u) & ~7u);
    atomic_init(&a->refs, 1);
    a->block_class = block_class;
    a->head = b;
    a->bytes = b->size;
    return a;
}

void pt_arena_ref(pt_arena_t *a)
{
    atomic_fetch_add_explicit(&a->refs, 1, memory_order_relaxed);
}

void pt_arena_unref(pt_arena_t *a)
{
    if (a == NULL) {
        return;
    }
    if (atomic_fetch_sub_explicit(&a->refs, 1, memory_order_acq_rel) != 1) {
        return;
    }
    pt_arena_block_t *b = a->head;
    while (b != NULL) {
        pt_arena_block_t *next = b->next;
        block_put(b); /* the header block goes last: it holds `a` itself */
        b = next;
    }
}

static pt_arena_block_t *arena_grow(pt_arena_t *a, size_t min)
{
    pt_arena_block_t *b;
    if (min <= a->block_class) {
        b = block_get(a->block_class);
    } else {
        if (min > UINT32_MAX - 64) {
            return NULL;
        }
        b = pt_malloc(sizeof(*b) + min);
        if (b != NULL) {
            b->size = (uint32_t)min;
            b->used = 0;
            b->pooled_class = 0;
        }
    }
    if (b == NULL) {
        return NULL;
    }
    /* Keep the header block last in the chain so unref frees it after the others; new blocks
     * go in front and become current. */
    b->next = a->head;
    a->head = b;
    a->bytes += b->size;
    return b;
}

void *pt_arena_alloc(pt_arena_t *a, size_t n)
{
    pt_arena_block_t *b = a->head;
    size_t off = (b->used + 7u) & ~(size_t)7u;
    if (PT_UNLIKELY(off > b->size || n > b->size - off)) {
        b = arena_grow(a, n);
        if (b == NULL) {
            return NULL;
        }
        off = 0;
    }
    b->used = (uint32_t)(off + n);
    return b->data + off;
}

pt_str_t pt_arena_strdup(pt_arena_t *a, const char *s, size_t n)
{
    char *p = pt_arena_alloc(a, n ? n : 1);
    if (p == NULL) {
        return PT_STR_NULL;
    }
    memcpy(p, s, n);
    return pt_str(p, n);
}

char *pt_arena_reserve(pt_arena_t *a, size_t min, size_t *avail)
{
    pt_arena_block_t *b = a->head;
    if (min > UINT32_MAX - 64) {
        return NULL;
    }
    if (b->size - b->used < min) {
        b = arena_grow(a, min);
        if (b == NULL) {
            return NULL;
        }
    }
    *avail = b->size - b->used;
    return b->data + b->used;
}

void pt_arena_commit(pt_arena_t *a, size_t used)
{
    PT_ASSERT(a->head->used + used <= a->head->size);
    a->head->used += (uint32_t)used;
}

static void list_free(block_list_t *l)
{
    while (l->head != NULL) {
        pt_arena_block_t *b = l->head;
        l->head = b->next;
        pt_free(b);
    }
    l->n = 0;
}

void pt_arena_thread_flush(void)
{
    list_free(&local_free[0]);
    list_free(&local_free[1]);
}

void pt_arena_pool_purge(void)
{
    pt_arena_thread_flush();
    pthread_mutex_lock(&shared_lock);
    list_free(&shared_free[0]);
    list_free(&shared_free[1]);
    pthread_mutex_unlock(&shared_lock);
}
