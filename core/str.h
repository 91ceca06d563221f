/* String views and a growable byte buffer.
 * A pt_str_t never owns its bytes: it points into a file chunk, a request body or an arena,
 * and is valid only as long as that memory (normally: until its group is released). */
#ifndef PT_STR_H
#define PT_STR_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct pt_str_s {
    const char *ptr;
    uint32_t len;
} pt_str_t;

#define PT_STR_LIT(s) ((pt_str_t){(s), (uint32_t)(sizeof(s) - 1)})
#define PT_STR_NULL ((pt_str_t){NULL, 0})

static inline pt_str_t pt_str(const char *p, size_t n)
{
    pt_str_t s = {p, (uint32_t)n};
    return s;
}

static inline pt_str_t pt_str_c(const char *cstr)
{
    return pt_str(cstr, strlen(cstr));
}

static inline int pt_str_eq(pt_str_t a, pt_str_t b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static inline int pt_str_eq_c(pt_str_t a, const char *cstr)
{
    return pt_str_eq(a, pt_str_c(cstr));
}

/* Growable heap buffer. Owned by whoever embeds it: pt_buf_init, then pt_buf_free.
 * Appends return 0 or -ENOMEM; on failure the buffer keeps its old contents. */
typedef struct pt_buf_s {
    char *data;
    size_t len;
    size_t cap;
} pt_buf_t;

void pt_buf_init(pt_buf_t *b);
void pt_buf_free(pt_buf_t *b);
int pt_buf_reserve(pt_buf_t *b, size_t extra);
int pt_buf_append(pt_buf_t *b, const void *p, size_t n);
int pt_buf_append_str(pt_buf_t *b, const char *cstr);
int pt_buf_appendf(pt_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the bytes to the caller (free with pt_free) and leaves b empty. */
char *pt_buf_steal(pt_buf_t *b, size_t *len);

static inline int pt_buf_putc(pt_buf_t *b, char c)
{
    if (b->len + 1 > b->cap && pt_buf_reserve(b, 1) != 0) {
        return -12; /* -ENOMEM */
    }
    b->data[b->len++] = c;
    return 0;
}

#endif
