/* The delimiter splitter: columns are views into the line, found with one vector scan for the
 * separator and the quote together; only a quoted field with doubled quotes is rebuilt (in the
 * group's arena). The accepted syntax is LoongCollector's DelimiterModeFsmParser. */
#include "delimiter_internal.h"

#include <errno.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* First byte of [p, end) equal to a or b, or end. Sixteen bytes at a time: columns are short,
 * so this mostly answers from its first load, without the call overhead of two memchr. */
static const char *find2(const char *p, const char *end, char a, char b)
{
#if defined(__SSE2__)
    const __m128i va = _mm_set1_epi8(a);
    const __m128i vb = _mm_set1_epi8(b);
    while (end - p >= 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
        int m = _mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(x, va), _mm_cmpeq_epi8(x, vb)));
        if (m != 0) {
            return p + __builtin_ctz((unsigned)m);
        }
        p += 16;
    }
#endif
    while (p < end && *p != a && *p != b) {
        p++;
    }
    return p;
}

/* First occurrence of the (1..4 byte) separator in [p, end), or end. */
static const char *find_sep(const pt_delim_t *d, const char *p, const char *end)
{
    if (d->seplen == 1) {
        const char *r = memchr(p, d->sep[0], (size_t)(end - p));
        return r != NULL ? r : end;
    }
    while (end - p >= (ptrdiff_t)d->seplen) {
        const char *r = memchr(p, d->sep[0], (size_t)(end - p) - d->seplen + 1);
        if (r == NULL) {
            break;
        }
        if (memcmp(r + 1, d->sep + 1, d->seplen - 1u) == 0) {
            return r;
        }
        p = r + 1;
    }
    return end;
}

static int push(pt_delim_cols_t *c, const char *p, size_t n)
{
    if (c->n == c->cap) {
        uint32_t ncap = c->cap ? c->cap * 2 : 16;
        pt_str_t *nv = pt_arena_alloc(c->arena, sizeof(*nv) * ncap);
        if (nv == NULL) {
            return -ENOMEM;
        }
        if (c->n > 0) {
            memcpy(nv, c->v, sizeof(*nv) * c->n);
        }
        c->v = nv;
        c->cap = ncap;
    }
    c->v[c->n++] = pt_str(p, n);
    return 0;
}

/* ===================================================================== plain split ===== */

/* LoongCollector's SplitString: no quoting. */
static int split_plain(const pt_delim_t *d, const char *s, size_t len, pt_delim_cols_t *c)
{
    const char *end = s + len;
    const char *p = s;
    if (len < d->seplen) {
        return push(c, s, len);
    }
    while (end - p >= (ptrdiff_t)d->seplen) {
        const char *r = find_sep(d, p, end);
        if (push(c, p, (size_t)(r - p)) != 0) {
            return -ENOMEM;
        }
        if (r == end) {
            return 0;
        }
        p = r + d->seplen;
        if (d->overflow != PT_DELIM_EXTEND && c->n >= d->nkeys) {
            /* The rest, separator included, is one column. */
            return push(c, r, (size_t)(end - r));
        }
    }
    return push(c, p, (size_t)(end - p));
}

/* ===================================================================== quoted split ===== */

/* Copies a quoted field's contents q[0..n) into the arena with each doubled quote made one. */
static int unescape(pt_delim_cols_t *c, const char *q, size_t n, char quote)
{
    char *out = pt_arena_alloc(c->arena, n ? n : 1);
    if (out == NULL) {
        return -ENOMEM;
    }
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        out[j++] = q[i];
        if (q[i] == quote) {
            i++; /* the second of the pair */
        }
    }
    return push(c, out, j);
}

/* Parses one field at p. Returns the position of the separator that ends it, end when the line
 * ends with it, or NULL on a quoting error. */
static const char *field(const pt_delim_t *d, const char *p, const char *end, pt_delim_cols_t *c,
                         int *err)
{
    const char sep = d->sep[0];
    const char quote = d->quote;
    if (p < end && *p == quote) {
        /* Quoted: up to a quote that is not doubled, which must end the field. */
        const char *q = p + 1;
        int escaped = 0;
        for (;;) {
            const char *r = memchr(q, quote, (size_t)(end - q));
            if (r == NULL) {
                *err = -EINVAL; /* unterminated */
                return NULL;
            }
            if (r + 1 < end && r[1] == quote) {
                escaped = 1;
                q = r + 2;
                continue;
            }
            if (r + 1 < end && r[1] != sep) {
                *err = -EINVAL; /* text after the closing quote */
                return NULL;
            }
            int rc = escaped ? unescape(c, p + 1, (size_t)(r - p - 1), quote)
                             : push(c, p + 1, (size_t)(r - p - 1));
            if (rc != 0) {
                *err = rc;
                return NULL;
            }
            return r + 1;
        }
    }
    const char *r = find2(p, end, sep, quote);
    if (r < end && *r == quote) {
        *err = -EINVAL; /* a quote inside an unquoted field */
        return NULL;
    }
    int rc = push(c, p, (size_t)(r - p));
    if (rc != 0) {
        *err = rc;
        return NULL;
    }
    return r;
}

/* KEEP/DISCARD once nkeys columns are out: the rest, from the separator at r, is one column.
 * LoongCollector rebuilds it as separator + value for each remaining column; without a quote in
 * it that is exactly the raw text, so the view is kept. Otherwise the remaining fields must
 * still be valid, and are joined in the arena. */
static int rest_column(const pt_delim_t *d, const char *r, const char *end, pt_delim_cols_t *c)
{
    if (memchr(r, d->quote, (size_t)(end - r)) == NULL) {
        return push(c, r, (size_t)(end - r));
    }
    pt_str_t stack[16];
    pt_delim_cols_t tmp = {stack, 0, 16, c->arena};
    const char *p = r + 1;
    int err = 0;
    for (;;) {
        const char *e = field(d, p, end, &tmp, &err);
        if (e == NULL) {
            return err;
        }
        if (e == end) {
            break;
        }
        p = e + 1;
    }
    size_t total = 0;
    for (uint32_t i = 0; i < tmp.n; i++) {
        total += 1 + tmp.v[i].len;
    }
    char *out = pt_arena_alloc(c->arena, total);
    if (out == NULL) {
        return -ENOMEM;
    }
    size_t j = 0;
    for (uint32_t i = 0; i < tmp.n; i++) {
        out[j++] = d->sep[0];
        if (tmp.v[i].len > 0) {
            memcpy(out + j, tmp.v[i].ptr, tmp.v[i].len);
            j += tmp.v[i].len;
        }
    }
    return push(c, out, total);
}

static int split_quoted(const pt_delim_t *d, const char *s, size_t len, pt_delim_cols_t *c)
{
    const char *end = s + len;
    const char *p = s;
    int err = 0;
    for (;;) {
        /* A separator at the very end leaves an empty last field, as the state machine ends in
         * its initial state. */
        const char *r = field(d, p, end, c, &err);
        if (r == NULL) {
            return err;
        }
        if (r == end) {
            return 0;
        }
        if (d->overflow != PT_DELIM_EXTEND && c->n >= d->nkeys) {
            return rest_column(d, r, end, c);
        }
        p = r + 1;
    }
}

int pt_delim_split(const pt_delim_t *d, const char *s, size_t len, pt_delim_cols_t *cols)
{
    cols->n = 0;
    return d->use_quote ? split_quoted(d, s, len, cols) : split_plain(d, s, len, cols);
}
