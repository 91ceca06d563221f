/* The replaceable allocator behind pt_malloc and friends. */
#include "mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static pt_malloc_fn mem_malloc = malloc;
static pt_realloc_fn mem_realloc = realloc;
static pt_calloc_fn mem_calloc = calloc;
static pt_free_fn mem_free = free;

int pt_replace_allocator(pt_malloc_fn m, pt_realloc_fn r, pt_calloc_fn c, pt_free_fn f)
{
    if (m == NULL || r == NULL || c == NULL || f == NULL) {
        return -EINVAL;
    }
    mem_malloc = m;
    mem_realloc = r;
    mem_calloc = c;
    mem_free = f;
    return 0;
}

void *pt_malloc(size_t size)
{
    return mem_malloc(size);
}

void *pt_calloc(size_t count, size_t size)
{
    return mem_calloc(count, size);
}

void *pt_realloc(void *ptr, size_t size)
{
    return mem_realloc(ptr, size);
}

void pt_free(void *ptr)
{
    if (ptr != NULL) {
        mem_free(ptr);
    }
}

char *pt_strndup(const char *s, size_t n)
{
    char *p = mem_malloc(n + 1);
    if (p == NULL) {
        return NULL;
    }
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *pt_strdup(const char *s)
{
    return pt_strndup(s, strlen(s));
}
