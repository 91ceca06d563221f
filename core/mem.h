/* The one replaceable allocator. Every allocation in petrel goes through these calls so that
 * tests and fuzzers can make allocation fail (libuv's uv_replace_allocator, Fluent Bit's flb_mem).
 * All functions are thread-safe as long as the installed allocator is. */
#ifndef PT_MEM_H
#define PT_MEM_H

#include <stddef.h>

typedef void *(*pt_malloc_fn)(size_t size);
typedef void *(*pt_realloc_fn)(void *ptr, size_t size);
typedef void *(*pt_calloc_fn)(size_t count, size_t size);
typedef void (*pt_free_fn)(void *ptr);

/* Installs a new allocator. Call before any other petrel function (no allocation may be live).
 * Returns 0, or -EINVAL if any function is NULL. */
int pt_replace_allocator(pt_malloc_fn m, pt_realloc_fn r, pt_calloc_fn c, pt_free_fn f);

/* Same contracts as the libc calls: NULL on failure, pt_free(NULL) is a no-op. */
void *pt_malloc(size_t size);
void *pt_calloc(size_t count, size_t size);
void *pt_realloc(void *ptr, size_t size);
void pt_free(void *ptr);
/* Heap copy of s (n bytes, NUL-terminated); the caller frees with pt_free. NULL on ENOMEM. */
char *pt_strndup(const char *s, size_t n);
char *pt_strdup(const char *s);

#endif
