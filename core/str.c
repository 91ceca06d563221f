/* Growable byte buffer used by serializers, the config loader and the HTTP server. */
#include "str.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "mem.h"

void pt_buf_init(pt_buf_t *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void pt_buf_free(pt_buf_t *b)
{
    pt_free(b->data);
    pt_buf_init(b);
}

int pt_buf_reserve(pt_buf_t *b, size_t extra)
{
    size_t need = b->len + extra;
    if (need <= b->cap) {
        return 0;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need) {
        cap *= 2;
    }
    char *p = pt_realloc(b->data, cap);
    if (p == NULL) {
        return -ENOMEM;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

int pt_buf_append(pt_buf_t *b, const void *p, size_t n)
{
    if (n == 0) {
        return 0;
    }
    if (pt_buf_reserve(b, n) != 0) {
        return -ENOMEM;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

int pt_buf_append_str(pt_buf_t *b, const char *cstr)
{
    return pt_buf_append(b, cstr, strlen(cstr));
}

int pt_buf_appendf(pt_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    char tmp[256];
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0) {
        return -EINVAL;
    }
    if ((size_t)n < sizeof(tmp)) {
        return pt_buf_append(b, tmp, (size_t)n);
    }
    if (pt_buf_reserve(b, (size_t)n + 1) != 0) {
        return -ENOMEM;
    }
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return 0;
}

char *pt_buf_steal(pt_buf_t *b, size_t *len)
{
    char *p = b->data;
    if (len != NULL) {
        *len = b->len;
    }
    pt_buf_init(b);
    return p;
}
