/* Zero-copy JSON reader (validate, tokenize, walk first-level members) and a JSON writer.
 * The reader is the hot path of log parsing: it never allocates, scans string bodies 16 bytes at a
 * time, and is one iterative state machine that the compiler specialises for each entry point. */
#include "json.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

/* SSE2 is part of the x86_64 baseline, so no runtime dispatch is needed. PT_JSON_NO_SIMD forces
 * the portable word-at-a-time path, so that tests can cover it on x86_64 too. */
#if defined(__SSE2__) && !defined(PT_JSON_NO_SIMD)
#include <emmintrin.h>
#define JSON_SSE2 1
#else
#define JSON_SSE2 0
#endif

#define JSON_INLINE inline __attribute__((always_inline))

/* ---- character tables ------------------------------------------------------------------- */

enum { SC_PLAIN = 0, SC_QUOTE, SC_BSLASH, SC_CTRL, SC_HIGH };
enum { ESC_U = 1 };

/* The tables keep one row per high nibble, so that an entry is easy to find. */
/* clang-format off */
/* What a string body byte needs: SC_PLAIN bytes are copied as they are; the others stop the
 * bulk scan. */
static const uint8_t str_class[256] = {
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
};

/* The four whitespace bytes RFC 8259 allows between tokens. */
static const uint8_t ws_class[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 1, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

/* Hex digit values; 0xff marks a non-hex byte, so or-ing four lookups and testing > 15 checks
 * a \uXXXX escape without branches. */
static const uint8_t hex_val[256] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
};

/* The byte after a backslash: the byte it decodes to, ESC_U for \u, or 0 when the escape is
 * not allowed. */
static const uint8_t esc_decode[256] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x22, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2f,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x5c, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x0c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x00,
    0x00, 0x00, 0x0d, 0x00, 0x09, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

/* UTF-8 lead byte class (0: cannot start a sequence); indexes the utf8_* arrays below. */
static const uint8_t utf8_lead[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    2, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 4, 3, 3,
    5, 6, 6, 6, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};
/* clang-format on */

/* Per lead class: sequence length and the allowed range of the second byte. The narrowed ranges
 * are what reject overlongs (E0, F0), UTF-16 surrogates (ED) and code points above U+10FFFF (F4);
 * the later bytes are always 80..BF (Unicode 15, table 3-7). */
static const uint8_t utf8_len[8] = {0, 2, 3, 3, 3, 4, 4, 4};
static const uint8_t utf8_lo[8] = {0, 0x80, 0xA0, 0x80, 0x80, 0x90, 0x80, 0x80};
static const uint8_t utf8_hi[8] = {0, 0xBF, 0xBF, 0xBF, 0x9F, 0xBF, 0xBF, 0x8F};

/* ---- scanning helpers -------------------------------------------------------------------- */

/* Reading past the end yields 0, a byte that no grammar state accepts, so callers need no
 * separate end-of-input branch. */
static JSON_INLINE unsigned peek(const uint8_t *p, const uint8_t *end)
{
    return p < end ? *p : 0;
}

static JSON_INLINE const uint8_t *skip_ws(const uint8_t *p, const uint8_t *end)
{
    while (p < end && ws_class[*p]) {
        p++;
    }
    return p;
}

static JSON_INLINE const uint8_t *skip_digits(const uint8_t *p, const uint8_t *end)
{
    while (p < end && (unsigned)(*p - '0') < 10) {
        p++;
    }
    return p;
}

/* Checks the UTF-8 sequence whose lead byte (>= 0x80) is at p. Returns its length, or 0 when it
 * is invalid; then *sub gets the length of its maximal subpart, which is how many bytes one
 * U+FFFD replaces (the Unicode "best practice" that browsers follow too). */
static JSON_INLINE size_t utf8_seq(const uint8_t *p, const uint8_t *end, size_t *sub)
{
    unsigned cls = utf8_lead[p[0]];
    size_t avail = (size_t)(end - p);
    size_t n = utf8_len[cls];

    if (cls == 0 || avail < 2 || p[1] < utf8_lo[cls] || p[1] > utf8_hi[cls]) {
        *sub = 1;
        return 0;
    }
    if (n > 2 && (avail < 3 || (p[2] & 0xC0) != 0x80)) {
        *sub = 2;
        return 0;
    }
    if (n > 3 && (avail < 4 || (p[3] & 0xC0) != 0x80)) {
        *sub = 3;
        return 0;
    }
    return n;
}

#if !JSON_SSE2
#define SWAR_ONES 0x0101010101010101ull
#define SWAR_HIGHS 0x8080808080808080ull

/* Non-zero when any of the 8 bytes in x is '"', '\\', below 0x20 or above 0x7f. Each term is the
 * classic "has a zero byte" test; it is exact as a yes/no answer, which is all we use. */
static JSON_INLINE uint64_t swar_special(uint64_t x)
{
    uint64_t q = x ^ (SWAR_ONES * '"');
    uint64_t b = x ^ (SWAR_ONES * '\\');
    uint64_t t = ((q - SWAR_ONES) & ~q) | ((b - SWAR_ONES) & ~b) | ((x - SWAR_ONES * 0x20) & ~x);
    return (t | x) & SWAR_HIGHS;
}
#endif

/* Returns the first byte at or after p that is not SC_PLAIN, or end. Log strings are mostly
 * plain ASCII, so this loop is where the reader and the writer spend their time. */
static JSON_INLINE const uint8_t *skip_plain(const uint8_t *p, const uint8_t *end)
{
#if JSON_SSE2
    const __m128i quote = _mm_set1_epi8('"');
    const __m128i bslash = _mm_set1_epi8('\\');
    const __m128i space = _mm_set1_epi8(0x20);

    while (end - p >= 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
        /* The signed compare catches both the control bytes and, as negative numbers, every
         * byte >= 0x80. */
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, quote), _mm_cmpeq_epi8(v, bslash)),
                                 _mm_cmplt_epi8(v, space));
        unsigned bits = (unsigned)_mm_movemask_epi8(m);
        if (bits != 0) {
            return p + __builtin_ctz(bits);
        }
        p += 16;
    }
#else
    while (end - p >= 8) {
        uint64_t x;
        memcpy(&x, p, sizeof(x));
        if (swar_special(x) != 0) {
            break;
        }
        p += 8;
    }
#endif
    while (p < end && str_class[*p] == SC_PLAIN) {
        p++;
    }
    return p;
}

/* Scans a string body; p is just past the opening quote. Returns the closing quote and sets *esc
 * if the body holds an escape, or returns NULL with *bad at the offending byte. Lone surrogate
 * escapes are accepted here: pt_json_unescape turns them into U+FFFD. */
static JSON_INLINE const uint8_t *scan_string(const uint8_t *p, const uint8_t *end, int *esc, const int lax,
                                              const uint8_t **bad)
{
    for (;;) {
        p = skip_plain(p, end);
        if (PT_UNLIKELY(p >= end)) {
            *bad = end;
            return NULL;
        }
        unsigned c = *p;
        if (PT_LIKELY(c == '"')) {
            return p;
        }
        if (c == '\\') {
            unsigned e = esc_decode[peek(p + 1, end)];
            *esc = 1;
            if (e == 0) {
                *bad = p;
                return NULL;
            }
            if (e != ESC_U) {
                p += 2;
                continue;
            }
            if (end - p < 6 ||
                (hex_val[p[2]] | hex_val[p[3]] | hex_val[p[4]] | hex_val[p[5]]) > 15) {
                *bad = p;
                return NULL;
            }
            p += 6;
            continue;
        }
        if (c < 0x20) {
            *bad = p;
            return NULL;
        }
        /* Runs of non-ASCII text (CJK, emoji) are validated here sequence by sequence without
         * going back to the vector loop, which would stop at once on the next lead byte. */
        do {
            size_t sub = 1;
            size_t n = utf8_seq(p, end, &sub);
            if (n == 0) {
                if (!lax) {
                    *bad = p;
                    return NULL;
                }
                n = 1; /* lax: a byte that is not valid UTF-8 is kept as it is */
            }
            p += n;
        } while (p < end && *p >= 0x80);
    }
}

/* Returns the end of the number that starts at p, or NULL with *bad at the offending byte. Only
 * the RFC 8259 grammar is checked: numbers stay text, so their magnitude never matters. */
static JSON_INLINE const uint8_t *scan_number(const uint8_t *p, const uint8_t *end,
                                              const uint8_t **bad)
{
    unsigned c;

    if (*p == '-') {
        p++;
    }
    c = peek(p, end);
    if (c == '0') {
        p++;
    } else if (c - '1' < 9u) {
        p = skip_digits(p + 1, end);
    } else {
        goto fail;
    }
    if (peek(p, end) == '.') {
        p++;
        if (peek(p, end) - '0' >= 10u) {
            goto fail;
        }
        p = skip_digits(p + 1, end);
    }
    if ((peek(p, end) | 0x20) == 'e') {
        p++;
        c = peek(p, end);
        if (c == '+' || c == '-') {
            p++;
        }
        if (peek(p, end) - '0' >= 10u) {
            goto fail;
        }
        p = skip_digits(p + 1, end);
    }
    return p;

fail:
    *bad = p;
    return NULL;
}

/* ---- the reader --------------------------------------------------------------------------- */

enum { MODE_VALIDATE, MODE_TOKENIZE, MODE_FOREACH, MODE_FOREACH_LAX };
#define IS_FOREACH(mode) ((mode) == MODE_FOREACH || (mode) == MODE_FOREACH_LAX)

typedef struct {
    pt_json_tok_t *toks;
    size_t max;
    pt_json_member_cb cb;
    void *ctx;
    size_t ntok; /* tokens the document needs; may exceed max */
} parse_t;

static JSON_INLINE void tok_put(parse_t *ps, size_t n, pt_json_type_t type, int esc, size_t start,
                                size_t len, uint32_t skip)
{
    if (n < ps->max) {
        pt_json_tok_t *t = &ps->toks[n];
        t->type = (uint8_t)type;
        t->escaped = (uint8_t)esc;
        t->start = (uint32_t)start;
        t->len = (uint32_t)len;
        t->size = 0;
        t->skip = skip;
    }
}

/* One parser for the three entry points; `mode` is a constant at every call site, so each
 * public function gets its own copy with the other modes' bookkeeping compiled out.
 *
 * It is a goto state machine over an explicit stack, so nesting costs no C stack beyond the
 * fixed arrays, and depth is bounded by PT_JSON_MAX_DEPTH. When tokenizing runs out of tokens it
 * keeps validating without storing, so that a malformed document reports -EINVAL, never -ENOSPC,
 * and ntok tells how many tokens the document needs. */
static JSON_INLINE int parse(const char *s, size_t len, const int mode, parse_t *ps,
                             size_t *err_off)
{
    /* closer[d] is the byte that closes the container open at depth d (1-based); '}' is '{' + 2
     * and ']' is '[' + 2. open_tok[d] is that container's token index (tokenize only). */
    uint8_t closer[PT_JSON_MAX_DEPTH + 1];
    uint32_t open_tok[PT_JSON_MAX_DEPTH + 1];
    uint32_t depth = 0;
    size_t n = 0;
    const uint8_t *base;
    const uint8_t *end;
    const uint8_t *p;
    const uint8_t *q;
    const uint8_t *bad;
    pt_json_type_t type;
    unsigned c;
    int esc;
    /* The first-level member being parsed (foreach only). */
    pt_str_t key = PT_STR_NULL;
    int key_esc = 0;
    const uint8_t *vstart = NULL;
    pt_json_type_t vtype = PT_JSON_NONE;
    int vesc = 0;

    if (len == 0) {
        /* Also keeps NULL + 0 pointer arithmetic away from an empty input. */
        if (err_off != NULL) {
            *err_off = 0;
        }
        return -EINVAL;
    }
    base = (const uint8_t *)s;
    end = base + len;
    p = base;

    if (IS_FOREACH(mode)) {
        p = skip_ws(p, end);
        if (peek(p, end) != '{') {
            goto fail;
        }
    }

value:
    p = skip_ws(p, end);
    if (PT_UNLIKELY(p >= end)) {
        goto fail;
    }
    if (IS_FOREACH(mode) && depth == 1) {
        vstart = p;
    }
    switch (*p) {
    case '"':
        esc = 0;
        q = scan_string(p + 1, end, &esc, mode == MODE_FOREACH_LAX, &bad);
        if (q == NULL) {
            p = bad;
            goto fail;
        }
        if (mode == MODE_TOKENIZE) {
            tok_put(ps, n++, PT_JSON_STRING, esc, (size_t)(p + 1 - base), (size_t)(q - p - 1), 1);
        }
        if (IS_FOREACH(mode) && depth == 1) {
            vtype = PT_JSON_STRING;
            vesc = esc;
        }
        p = q + 1;
        goto value_done;

    case '{':
    case '[':
        if (PT_UNLIKELY(depth == PT_JSON_MAX_DEPTH)) {
            goto fail;
        }
        type = *p == '{' ? PT_JSON_OBJECT : PT_JSON_ARRAY;
        if (IS_FOREACH(mode) && depth == 1) {
            vtype = type;
        }
        depth++;
        closer[depth] = (uint8_t)(*p + 2);
        if (mode == MODE_TOKENIZE) {
            /* n < len <= UINT32_MAX: every token takes at least one input byte. */
            open_tok[depth] = (uint32_t)n;
            tok_put(ps, n++, type, 0, (size_t)(p - base), 0, 0);
        }
        p = skip_ws(p + 1, end);
        if (peek(p, end) == closer[depth]) {
            p++;
            goto close_container;
        }
        if (type == PT_JSON_OBJECT) {
            goto member;
        }
        goto element;

    case 't':
        if (end - p < 4 || memcmp(p, "true", 4) != 0) {
            goto fail;
        }
        type = PT_JSON_TRUE;
        q = p + 4;
        break;

    case 'f':
        if (end - p < 5 || memcmp(p, "false", 5) != 0) {
            goto fail;
        }
        type = PT_JSON_FALSE;
        q = p + 5;
        break;

    case 'n':
        if (end - p < 4 || memcmp(p, "null", 4) != 0) {
            goto fail;
        }
        type = PT_JSON_NULL;
        q = p + 4;
        break;

    case '-':
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9':
        q = scan_number(p, end, &bad);
        if (q == NULL) {
            p = bad;
            goto fail;
        }
        type = PT_JSON_NUMBER;
        break;

    default:
        goto fail;
    }
    /* A scalar other than a string spans [p, q). Whatever follows it is checked by value_done,
     * which is what rejects "truex" and "0123". */
    if (mode == MODE_TOKENIZE) {
        tok_put(ps, n++, type, 0, (size_t)(p - base), (size_t)(q - p), 1);
    }
    if (IS_FOREACH(mode) && depth == 1) {
        vtype = type;
    }
    p = q;
    goto value_done;

element:
    if (mode == MODE_TOKENIZE && open_tok[depth] < ps->max) {
        ps->toks[open_tok[depth]].size++;
    }
    goto value;

member:
    p = skip_ws(p, end);
    if (peek(p, end) != '"') {
        goto fail;
    }
    esc = 0;
    q = scan_string(p + 1, end, &esc, mode == MODE_FOREACH_LAX, &bad);
    if (q == NULL) {
        p = bad;
        goto fail;
    }
    if (mode == MODE_TOKENIZE) {
        if (open_tok[depth] < ps->max) {
            ps->toks[open_tok[depth]].size++;
        }
        tok_put(ps, n++, PT_JSON_STRING, esc, (size_t)(p + 1 - base), (size_t)(q - p - 1), 1);
    }
    if (IS_FOREACH(mode) && depth == 1) {
        key = pt_str((const char *)p + 1, (size_t)(q - p - 1));
        key_esc = esc;
    }
    p = skip_ws(q + 1, end);
    if (peek(p, end) != ':') {
        goto fail;
    }
    p++;
    goto value;

close_container:
    /* p is just past the closing byte. */
    if (mode == MODE_TOKENIZE && open_tok[depth] < ps->max) {
        pt_json_tok_t *t = &ps->toks[open_tok[depth]];
        t->len = (uint32_t)(p - base) - t->start;
        t->skip = (uint32_t)(n - open_tok[depth]);
    }
    depth--;
    goto value_done;

value_done:
    if (IS_FOREACH(mode) && depth == 1) {
        /* A first-level member's value just ended (a scalar, or a container that closed back
         * to depth 1): hand it over before the rest of the document is seen. */
        pt_json_value_t v;
        int rc;
        v.type = vtype;
        if (vtype == PT_JSON_STRING) {
            v.escaped = vesc;
            v.raw = pt_str((const char *)vstart + 1, (size_t)(p - vstart - 2));
        } else {
            v.escaped = 0;
            v.raw = pt_str((const char *)vstart, (size_t)(p - vstart));
        }
        rc = ps->cb(ps->ctx, key, key_esc, &v);
        if (rc != 0) {
            return rc;
        }
    }
    p = skip_ws(p, end);
    if (depth == 0) {
        goto doc_end;
    }
    c = peek(p, end);
    if (c == ',') {
        p++;
        if (closer[depth] == '}') {
            goto member;
        }
        goto element;
    }
    if (c == closer[depth]) {
        p++;
        goto close_container;
    }
    goto fail;

doc_end:
    if (p != end) {
        goto fail;
    }
    ps->ntok = n;
    return 0;

fail:
    if (err_off != NULL) {
        *err_off = (size_t)(p - base);
    }
    return -EINVAL;
}

int pt_json_validate(const char *s, size_t len, size_t *err_off)
{
    parse_t ps = {NULL, 0, NULL, NULL, 0};
    return parse(s, len, MODE_VALIDATE, &ps, err_off);
}

int pt_json_tokenize(const char *s, size_t len, pt_json_tok_t *toks, size_t max, size_t *err_off)
{
    parse_t ps = {toks, max, NULL, NULL, 0};
    int rc;

    /* Token offsets are 32-bit. */
    if (len > UINT32_MAX) {
        if (err_off != NULL) {
            *err_off = UINT32_MAX;
        }
        return -EINVAL;
    }
    rc = parse(s, len, MODE_TOKENIZE, &ps, err_off);
    if (rc != 0) {
        return rc;
    }
    if (ps.ntok > max || ps.ntok > INT_MAX) {
        return -ENOSPC;
    }
    return (int)ps.ntok;
}

int pt_json_object_foreach(const char *s, size_t len, pt_json_member_cb cb, void *ctx,
                           size_t *err_off)
{
    parse_t ps = {NULL, 0, cb, ctx, 0};

    /* Views carry 32-bit lengths. */
    if (len > UINT32_MAX) {
        if (err_off != NULL) {
            *err_off = UINT32_MAX;
        }
        return -EINVAL;
    }
    return parse(s, len, MODE_FOREACH, &ps, err_off);
}

int pt_json_object_foreach_lax(const char *s, size_t len, pt_json_member_cb cb, void *ctx,
                               size_t *err_off)
{
    parse_t ps = {NULL, 0, cb, ctx, 0};

    if (len > UINT32_MAX) {
        if (err_off != NULL) {
            *err_off = UINT32_MAX;
        }
        return -EINVAL;
    }
    return parse(s, len, MODE_FOREACH_LAX, &ps, err_off);
}

/* ---- unescaping --------------------------------------------------------------------------- */

/* Reads the 4 hex digits of a \u escape at p[0..4); -1 if they are not all there. */
static int hex4(const char *p, const char *end)
{
    unsigned v;

    if (end - p < 4) {
        return -1;
    }
    v = (unsigned)hex_val[(uint8_t)p[0]] << 12 | (unsigned)hex_val[(uint8_t)p[1]] << 8 |
        (unsigned)hex_val[(uint8_t)p[2]] << 4 | hex_val[(uint8_t)p[3]];
    if ((hex_val[(uint8_t)p[0]] | hex_val[(uint8_t)p[1]] | hex_val[(uint8_t)p[2]] |
         hex_val[(uint8_t)p[3]]) > 15) {
        return -1;
    }
    return (int)v;
}

static size_t put_utf8(char *o, uint32_t cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12);
        o[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18);
    o[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    o[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Output never outruns input (an escape of 2, 6 or 12 bytes yields at most 1, 3 or 4), and each
 * escape is fully read before its bytes are written, so out may be s itself; memmove keeps that
 * in-place use defined. */
int pt_json_unescape(const char *s, size_t len, char *out)
{
    const char *p = s;
    const char *end;
    char *o = out;

    if (len > INT_MAX) {
        return -EINVAL;
    }
    if (len == 0) {
        return 0;
    }
    end = s + len;
    while (p < end) {
        const char *bs = memchr(p, '\\', (size_t)(end - p));
        unsigned e;
        int cp;
        int lo;

        if (bs == NULL) {
            memmove(o, p, (size_t)(end - p));
            o += end - p;
            break;
        }
        memmove(o, p, (size_t)(bs - p));
        o += bs - p;
        p = bs;
        if (end - p < 2) {
            return -EINVAL;
        }
        e = esc_decode[(uint8_t)p[1]];
        if (e == 0) {
            return -EINVAL;
        }
        if (e != ESC_U) {
            *o++ = (char)e;
            p += 2;
            continue;
        }
        cp = hex4(p + 2, end);
        if (cp < 0) {
            return -EINVAL;
        }
        p += 6;
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            /* A high surrogate joins only with a directly following low one; anything else
             * leaves it lone, and the next escape is decoded on its own. */
            lo = (end - p >= 6 && p[0] == '\\' && p[1] == 'u') ? hex4(p + 2, end) : -1;
            if (lo >= 0xDC00 && lo <= 0xDFFF) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                p += 6;
            } else {
                cp = 0xFFFD;
            }
        } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            cp = 0xFFFD;
        }
        o += put_utf8(o, (uint32_t)cp);
    }
    return (int)(o - out);
}

/* ---- the writer ---------------------------------------------------------------------------- */

/* Appends n bytes. The caller has reserved for the common case, so this is one compare. */
static JSON_INLINE int buf_put(pt_buf_t *b, const void *src, size_t n)
{
    if (PT_UNLIKELY(b->cap - b->len < n) && pt_buf_reserve(b, n) != 0) {
        return -ENOMEM;
    }
    memcpy(b->data + b->len, src, n);
    b->len += n;
    return 0;
}

/* Appends the escape for one '"', '\\' or control byte. */
static int put_escape(pt_buf_t *b, unsigned c)
{
    static const char hex[] = "0123456789abcdef";
    char e[6] = {'\\', 0, 0, 0, 0, 0};

    switch (c) {
    case '"':
    case '\\':
        e[1] = (char)c;
        return buf_put(b, e, 2);
    case '\b':
        e[1] = 'b';
        return buf_put(b, e, 2);
    case '\f':
        e[1] = 'f';
        return buf_put(b, e, 2);
    case '\n':
        e[1] = 'n';
        return buf_put(b, e, 2);
    case '\r':
        e[1] = 'r';
        return buf_put(b, e, 2);
    case '\t':
        e[1] = 't';
        return buf_put(b, e, 2);
    default:
        e[1] = 'u';
        e[2] = '0';
        e[3] = '0';
        e[4] = hex[c >> 4];
        e[5] = hex[c & 15];
        return buf_put(b, e, 6);
    }
}

int pt_json_write_str(pt_buf_t *b, const char *s, size_t len)
{
    static const char replacement[3] = {(char)0xEF, (char)0xBF, (char)0xBD};
    const size_t old_len = b->len;
    const uint8_t *p = (const uint8_t *)s;
    const uint8_t *end;
    const uint8_t *run;

    /* Room for the string as it is: with no escapes, nothing below reallocates. */
    if (pt_buf_reserve(b, len + 2) != 0) {
        return -ENOMEM;
    }
    b->data[b->len++] = '"';
    if (len == 0) {
        goto done;
    }
    end = p + len;
    /* [run, p) is copied verbatim in one go when an escape or a replacement interrupts it. */
    run = p;
    for (;;) {
        p = skip_plain(p, end);
        if (p >= end) {
            break;
        }
        if (*p >= 0x80) {
            size_t sub = 1;
            size_t n = utf8_seq(p, end, &sub);
            if (n != 0) {
                p += n;
                continue;
            }
            if (buf_put(b, run, (size_t)(p - run)) != 0 ||
                buf_put(b, replacement, sizeof(replacement)) != 0) {
                goto fail;
            }
            p += sub;
        } else {
            if (buf_put(b, run, (size_t)(p - run)) != 0 || put_escape(b, *p) != 0) {
                goto fail;
            }
            p++;
        }
        run = p;
    }
    if (buf_put(b, run, (size_t)(p - run)) != 0) {
        goto fail;
    }
done:
    if (buf_put(b, "\"", 1) != 0) {
        goto fail;
    }
    return 0;

fail:
    /* Same promise as pt_buf_append: on failure the buffer keeps its old contents. */
    b->len = old_len;
    return -ENOMEM;
}

/* The streaming writer. Every call is a no-op once w->err is set, so callers check once at the
 * end. first[d] is 1 until depth d has its first element; after_key means the next value
 * completes a member, so it takes no comma. */

void pt_jw_init(pt_jw_t *w, pt_buf_t *b)
{
    w->buf = b;
    w->err = 0;
    w->depth = 0;
    memset(w->first, 0, sizeof(w->first));
    w->first[0] = 1;
    w->after_key = 0;
}

static void jw_fail(pt_jw_t *w, int err)
{
    if (w->err == 0) {
        w->err = err;
    }
}

/* Starts a value or a key: writes the separating comma if one is due. Returns -1 when the
 * writer has failed, so the caller writes nothing. */
static int jw_begin(pt_jw_t *w)
{
    if (w->err != 0) {
        return -1;
    }
    if (w->after_key) {
        w->after_key = 0;
        return 0;
    }
    if (!w->first[w->depth] && pt_buf_putc(w->buf, ',') != 0) {
        jw_fail(w, -ENOMEM);
        return -1;
    }
    w->first[w->depth] = 0;
    return 0;
}

static void jw_put(pt_jw_t *w, const char *s, size_t len)
{
    if (pt_buf_append(w->buf, s, len) != 0) {
        jw_fail(w, -ENOMEM);
    }
}

static void jw_open(pt_jw_t *w, char c)
{
    if (jw_begin(w) != 0) {
        return;
    }
    /* first[] bounds the depth; deeper output is a caller bug, reported rather than written. */
    if (w->depth + 1 >= sizeof(w->first)) {
        jw_fail(w, -EINVAL);
        return;
    }
    jw_put(w, &c, 1);
    w->depth++;
    w->first[w->depth] = 1;
}

static void jw_close(pt_jw_t *w, char c)
{
    if (w->err != 0) {
        return;
    }
    if (w->depth == 0 || w->after_key) {
        jw_fail(w, -EINVAL);
        return;
    }
    jw_put(w, &c, 1);
    w->depth--;
}

void pt_jw_obj_open(pt_jw_t *w)
{
    jw_open(w, '{');
}

void pt_jw_obj_close(pt_jw_t *w)
{
    jw_close(w, '}');
}

void pt_jw_arr_open(pt_jw_t *w)
{
    jw_open(w, '[');
}

void pt_jw_arr_close(pt_jw_t *w)
{
    jw_close(w, ']');
}

void pt_jw_key(pt_jw_t *w, const char *k, size_t len)
{
    if (w->after_key) {
        /* Two keys in a row would produce invalid JSON. */
        jw_fail(w, -EINVAL);
    }
    if (jw_begin(w) != 0) {
        return;
    }
    if (pt_json_write_str(w->buf, k, len) != 0 || pt_buf_putc(w->buf, ':') != 0) {
        jw_fail(w, -ENOMEM);
        return;
    }
    w->after_key = 1;
}

void pt_jw_str(pt_jw_t *w, const char *s, size_t len)
{
    if (jw_begin(w) != 0) {
        return;
    }
    if (pt_json_write_str(w->buf, s, len) != 0) {
        jw_fail(w, -ENOMEM);
    }
}

void pt_jw_raw(pt_jw_t *w, const char *s, size_t len)
{
    if (jw_begin(w) != 0) {
        return;
    }
    jw_put(w, s, len);
}

/* Formats v into the end of tmp[24] and returns where the digits start. */
static char *fmt_u64(char *end, uint64_t v)
{
    char *p = end;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    return p;
}

void pt_jw_int(pt_jw_t *w, int64_t v)
{
    char tmp[24];
    char *end = tmp + sizeof(tmp);
    /* Negating in unsigned arithmetic keeps INT64_MIN defined. */
    char *p = fmt_u64(end, v < 0 ? 0 - (uint64_t)v : (uint64_t)v);

    if (v < 0) {
        *--p = '-';
    }
    pt_jw_raw(w, p, (size_t)(end - p));
}

void pt_jw_uint(pt_jw_t *w, uint64_t v)
{
    char tmp[24];
    char *end = tmp + sizeof(tmp);
    char *p = fmt_u64(end, v);

    pt_jw_raw(w, p, (size_t)(end - p));
}

void pt_jw_double(pt_jw_t *w, double v)
{
    char tmp[40];
    int n = 0;

    if (!isfinite(v)) {
        pt_jw_null(w);
        return;
    }
    /* 17 significant digits always round-trip; fewer usually do and read better (0.1 instead
     * of 0.10000000000000001). %g drops trailing zeros, so 3.0 comes out as 3. */
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
        if (prec == 17 || strtod(tmp, NULL) == v) {
            break;
        }
    }
    if (n <= 0 || (size_t)n >= sizeof(tmp)) {
        jw_fail(w, -EINVAL);
        return;
    }
    /* printf and strtod follow LC_NUMERIC; JSON always wants '.' as the radix. */
    for (int i = 0; i < n; i++) {
        char c = tmp[i];
        if (!((c >= '0' && c <= '9') || c == '-' || c == '+' || c == 'e')) {
            tmp[i] = '.';
        }
    }
    pt_jw_raw(w, tmp, (size_t)n);
}

void pt_jw_bool(pt_jw_t *w, int v)
{
    if (v) {
        pt_jw_raw(w, "true", 4);
    } else {
        pt_jw_raw(w, "false", 5);
    }
}

void pt_jw_null(pt_jw_t *w)
{
    pt_jw_raw(w, "null", 4);
}
