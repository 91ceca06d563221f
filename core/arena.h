/* pt_arena: a refcounted chain of fixed-size blocks with bump allocation.
 * Blocks never move once a view points into them; the whole arena is freed at once when the
 * last holder lets go. Standard-size blocks come back to per-thread free lists, which spill
 * into a shared pool so that a block freed on a worker can be reused by the input thread. */
#ifndef PT_ARENA_H
#define PT_ARENA_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "str.h"

/* The two pooled block classes. A request larger than the arena's block class gets its own
 * block of exactly that size (not pooled). */
#define PT_ARENA_SMALL (64u * 1024u)
#define PT_ARENA_LARGE (512u * 1024u)

typedef struct pt_arena_block_s pt_arena_block_t;

typedef struct pt_arena_s {
    atomic_uint refs;
    uint32_t block_class; /* PT_ARENA_SMALL or PT_ARENA_LARGE */
    pt_arena_block_t *head; /* current block; older blocks follow through ->next */
    size_t bytes;          /* total bytes of all blocks, for accounting */
} pt_arena_t;

/* Creates an arena with one reference. block_class is PT_ARENA_SMALL or PT_ARENA_LARGE.
 * Any thread. Returns NULL on ENOMEM. Free by dropping the last reference. */
pt_arena_t *pt_arena_create(uint32_t block_class);
/* Reference counting; any thread. The last unref frees every block. */
void pt_arena_ref(pt_arena_t *a);
void pt_arena_unref(pt_arena_t *a);

/* Bump-allocates n bytes aligned to 8. Only the thread that owns the arena's current stage may
 * allocate (allocation is not synchronised). The memory lives until the arena is freed.
 * Returns NULL on ENOMEM. */
void *pt_arena_alloc(pt_arena_t *a, size_t n);
/* Copies s into the arena; returns a view of the copy (len 0 / ptr NULL on ENOMEM if n > 0). */
pt_str_t pt_arena_strdup(pt_arena_t *a, const char *s, size_t n);
/* Returns the writable bytes left in the current block (for read(2) straight into it), after
 * making sure at least `min` are available (allocating a new block if needed). *avail gets the
 * size. Commit what was used with pt_arena_commit. Returns NULL on ENOMEM. */
char *pt_arena_reserve(pt_arena_t *a, size_t min, size_t *avail);
void pt_arena_commit(pt_arena_t *a, size_t used);

/* Releases this thread's cached blocks to the shared pool (call before a thread exits). */
void pt_arena_thread_flush(void);
/* Frees every pooled block (shutdown, tests). */
void pt_arena_pool_purge(void);

#endif
