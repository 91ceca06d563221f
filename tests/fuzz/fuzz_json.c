/* libFuzzer target for core/json.c. Every reader entry point must agree on the same input, the
 * token tree must be well formed, and the writer must turn any bytes (and any parsed document)
 * into JSON that reads back to the same thing. Run with the conformance corpus as seeds:
 * fuzz_json corpus/ tests/fixtures/json-conformance/test_parsing */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "core/json.h"
#include "core/mem.h"
#include "core/str.h"

/* Few enough that most documents overflow it, so the -ENOSPC path runs constantly. */
#define SMALL_TOKENS 4

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Checks toks[i]'s subtree (within [lo, hi) of the document) and returns its token count. */
static uint32_t check_tree(const char *doc, const pt_json_tok_t *toks, int n, int i, size_t lo,
                           size_t hi)
{
    const pt_json_tok_t *t = &toks[i];
    uint32_t count = 1;
    uint32_t children = 0;

    PT_ASSERT(i < n);
    PT_ASSERT(t->start >= lo && (size_t)t->start + t->len <= hi);
    if (t->type == PT_JSON_STRING) {
        PT_ASSERT(doc[t->start - 1] == '"' && doc[t->start + t->len] == '"');
        PT_ASSERT(t->escaped == (memchr(doc + t->start, '\\', t->len) != NULL));
    }
    if (t->type != PT_JSON_OBJECT && t->type != PT_JSON_ARRAY) {
        PT_ASSERT(t->type >= PT_JSON_STRING && t->type <= PT_JSON_NULL);
        PT_ASSERT(t->skip == 1 && t->size == 0 && t->len >= (t->type == PT_JSON_STRING ? 0 : 1));
        return 1;
    }
    PT_ASSERT(doc[t->start] == (t->type == PT_JSON_OBJECT ? '{' : '['));
    PT_ASSERT(doc[t->start + t->len - 1] == (t->type == PT_JSON_OBJECT ? '}' : ']'));
    PT_ASSERT(t->skip >= 1 && (size_t)i + t->skip <= (size_t)n);
    while (count < t->skip) {
        if (t->type == PT_JSON_OBJECT) {
            PT_ASSERT(toks[i + (int)count].type == PT_JSON_STRING);
            count += check_tree(doc, toks, n, i + (int)count, t->start + 1, t->start + t->len);
            PT_ASSERT(count < t->skip);
        }
        count += check_tree(doc, toks, n, i + (int)count, t->start + 1, t->start + t->len);
        children++;
    }
    PT_ASSERT(count == t->skip && children == t->size);
    return count;
}

/* foreach must report exactly the root object's members, as views of the same bytes. */
typedef struct {
    const char *doc;
    const pt_json_tok_t *toks; /* NULL when the document is invalid */
    int n;
    int next; /* token index of the next expected key */
    uint32_t calls;
    uint32_t stop_at;
} walk_t;

static int on_member(void *ctx, pt_str_t key, int key_escaped, const pt_json_value_t *val)
{
    walk_t *w = ctx;

    if (w->toks != NULL) {
        const pt_json_tok_t *k = &w->toks[w->next];
        const pt_json_tok_t *v = &w->toks[w->next + 1];
        PT_ASSERT(w->next + 1 < w->n);
        PT_ASSERT(key.ptr == w->doc + k->start && key.len == k->len);
        PT_ASSERT(key_escaped == k->escaped);
        PT_ASSERT(val->type == (pt_json_type_t)v->type && val->escaped == v->escaped);
        PT_ASSERT(val->raw.ptr == w->doc + v->start && val->raw.len == v->len);
        w->next += 1 + (int)v->skip;
    }
    w->calls++;
    return w->calls == w->stop_at ? 77 : 0;
}

static int has_replacement(const char *s, size_t len)
{
    for (size_t i = 0; i + 3 <= len; i++) {
        if (memcmp(s + i, "\xEF\xBF\xBD", 3) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Decodes a string token into a fresh pt_malloc buffer; NULL only on ENOMEM. */
static char *decode(const char *doc, const pt_json_tok_t *t, int *len)
{
    char *out = pt_malloc((size_t)t->len + 1);
    if (out == NULL) {
        return NULL;
    }
    *len = pt_json_unescape(doc + t->start, t->len, out);
    /* The token validated, so its escapes are well formed. */
    PT_ASSERT(*len >= 0 && (uint32_t)*len <= t->len);
    return out;
}

/* Re-serialises toks[i]'s subtree through pt_jw_*; returns the tokens consumed. */
static int rewrite(pt_jw_t *w, const char *doc, const pt_json_tok_t *toks, int i)
{
    const pt_json_tok_t *t = &toks[i];
    int used = 1;
    int len;
    char *s;

    switch (t->type) {
    case PT_JSON_OBJECT:
    case PT_JSON_ARRAY:
        if (t->type == PT_JSON_OBJECT) {
            pt_jw_obj_open(w);
        } else {
            pt_jw_arr_open(w);
        }
        while ((uint32_t)used < t->skip) {
            if (t->type == PT_JSON_OBJECT) {
                s = decode(doc, &toks[i + used], &len);
                if (s == NULL) {
                    w->err = -ENOMEM;
                    return (int)t->skip;
                }
                pt_jw_key(w, s, (size_t)len);
                pt_free(s);
                used++;
            }
            used += rewrite(w, doc, toks, i + used);
        }
        if (t->type == PT_JSON_OBJECT) {
            pt_jw_obj_close(w);
        } else {
            pt_jw_arr_close(w);
        }
        return used;
    case PT_JSON_STRING:
        s = decode(doc, t, &len);
        if (s == NULL) {
            w->err = -ENOMEM;
            return 1;
        }
        pt_jw_str(w, s, (size_t)len);
        pt_free(s);
        return 1;
    case PT_JSON_TRUE:
    case PT_JSON_FALSE:
        pt_jw_bool(w, t->type == PT_JSON_TRUE);
        return 1;
    case PT_JSON_NULL:
        pt_jw_null(w);
        return 1;
    default:
        pt_jw_raw(w, doc + t->start, t->len);
        return 1;
    }
}

/* The rewritten document must have the same shape and decode to the same strings. */
static void check_rewrite(const char *doc, const pt_json_tok_t *toks, int n)
{
    pt_buf_t b;
    pt_jw_t w;
    pt_json_tok_t *again = NULL;

    pt_buf_init(&b);
    pt_jw_init(&w, &b);
    rewrite(&w, doc, toks, 0);
    /* The writer tracks 63 levels; deeper documents are reported, not written. */
    if (w.err != 0) {
        PT_ASSERT(w.err == -ENOMEM || w.err == -EINVAL);
        goto done;
    }
    PT_ASSERT(w.depth == 0);
    again = pt_malloc((size_t)n * sizeof(*again));
    if (again == NULL) {
        goto done;
    }
    PT_ASSERT(pt_json_tokenize(b.data, b.len, again, (size_t)n, NULL) == n);
    for (int i = 0; i < n; i++) {
        PT_ASSERT(again[i].type == toks[i].type && again[i].size == toks[i].size);
        PT_ASSERT(again[i].skip == toks[i].skip);
        if (toks[i].type == PT_JSON_STRING) {
            int l1, l2;
            char *s1 = decode(doc, &toks[i], &l1);
            char *s2 = decode(b.data, &again[i], &l2);
            if (s1 != NULL && s2 != NULL) {
                PT_ASSERT(l1 == l2 && memcmp(s1, s2, (size_t)l1) == 0);
            }
            pt_free(s1);
            pt_free(s2);
        } else if (toks[i].type == PT_JSON_NUMBER) {
            PT_ASSERT(again[i].len == toks[i].len);
            PT_ASSERT(memcmp(b.data + again[i].start, doc + toks[i].start, toks[i].len) == 0);
        }
    }
done:
    pt_free(again);
    pt_buf_free(&b);
}

/* Any bytes written as a JSON string must validate and decode to the input, except that
 * ill-formed UTF-8 becomes U+FFFD; writing the decoded text again must change nothing. */
static void check_write_str(const char *s, size_t len)
{
    pt_buf_t b1, b2;
    pt_json_tok_t t[2];
    char *out = NULL;
    int d;

    pt_buf_init(&b1);
    pt_buf_init(&b2);
    if (pt_json_write_str(&b1, s, len) != 0) {
        goto done;
    }
    PT_ASSERT(pt_json_validate(b1.data, b1.len, NULL) == 0);
    PT_ASSERT(pt_json_tokenize(b1.data, b1.len, t, 2, NULL) == 1);
    PT_ASSERT(t[0].type == PT_JSON_STRING && t[0].start == 1 && t[0].len == b1.len - 2);
    out = decode(b1.data, &t[0], &d);
    if (out == NULL) {
        goto done;
    }
    if (!has_replacement(out, (size_t)d)) {
        PT_ASSERT((size_t)d == len && memcmp(out, s, len) == 0);
    }
    if (pt_json_write_str(&b2, out, (size_t)d) == 0) {
        PT_ASSERT(b2.len == b1.len && memcmp(b1.data, b2.data, b1.len) == 0);
    }
done:
    pt_free(out);
    pt_buf_free(&b1);
    pt_buf_free(&b2);
}

static void check_double(const uint8_t *data, size_t size)
{
    pt_buf_t b;
    pt_jw_t w;
    double v;
    char tmp[64];

    if (size < sizeof(v)) {
        return;
    }
    memcpy(&v, data, sizeof(v));
    pt_buf_init(&b);
    pt_jw_init(&w, &b);
    pt_jw_double(&w, v);
    if (w.err == 0) {
        PT_ASSERT(pt_json_validate(b.data, b.len, NULL) == 0);
        if (isfinite(v)) {
            double back;
            PT_ASSERT(b.len < sizeof(tmp));
            memcpy(tmp, b.data, b.len);
            tmp[b.len] = '\0';
            back = strtod(tmp, NULL);
            PT_ASSERT(memcmp(&back, &v, sizeof(v)) == 0);
        } else {
            PT_ASSERT(b.len == 4 && memcmp(b.data, "null", 4) == 0);
        }
    }
    pt_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *doc = (const char *)data;
    pt_json_tok_t small[SMALL_TOKENS];
    pt_json_tok_t *toks;
    size_t max = size + 1; /* every token takes at least one input byte: always enough */
    size_t off = (size_t)-1;
    walk_t w;
    int v, n, ns, f;

    v = pt_json_validate(doc, size, &off);
    PT_ASSERT(v == 0 || (v == -EINVAL && off <= size));

    toks = pt_malloc(max * sizeof(*toks));
    if (toks == NULL) {
        return 0;
    }
    n = pt_json_tokenize(doc, size, toks, max, NULL);
    PT_ASSERT(v == 0 ? n >= 1 : n == -EINVAL);
    if (n > 0) {
        PT_ASSERT(check_tree(doc, toks, n, 0, 0, size) == (uint32_t)n);
    }

    /* A short token array changes nothing but the -ENOSPC answer. */
    ns = pt_json_tokenize(doc, size, small, SMALL_TOKENS, NULL);
    if (v != 0) {
        PT_ASSERT(ns == -EINVAL);
    } else if (n <= SMALL_TOKENS) {
        PT_ASSERT(ns == n);
        for (int i = 0; i < n; i++) {
            /* Field by field: the struct has padding that nobody writes. */
            PT_ASSERT(small[i].type == toks[i].type && small[i].escaped == toks[i].escaped);
            PT_ASSERT(small[i].start == toks[i].start && small[i].len == toks[i].len);
            PT_ASSERT(small[i].size == toks[i].size && small[i].skip == toks[i].skip);
        }
    } else {
        PT_ASSERT(ns == -ENOSPC);
    }

    memset(&w, 0, sizeof(w));
    w.doc = doc;
    w.toks = n > 0 ? toks : NULL;
    w.n = n;
    w.next = 1;
    f = pt_json_object_foreach(doc, size, on_member, &w, NULL);
    if (n > 0 && toks[0].type == PT_JSON_OBJECT) {
        PT_ASSERT(f == 0 && w.calls == toks[0].size && w.next == n);
        if (toks[0].size > 0) {
            /* A stopping callback ends the walk at once with its own value. */
            memset(&w, 0, sizeof(w));
            w.stop_at = 1 + (uint32_t)data[size - 1] % toks[0].size;
            PT_ASSERT(pt_json_object_foreach(doc, size, on_member, &w, NULL) == 77);
            PT_ASSERT(w.calls == w.stop_at);
        }
    } else {
        PT_ASSERT(f == -EINVAL);
    }

    if (n > 0) {
        for (int i = 0; i < n; i++) {
            if (toks[i].type == PT_JSON_STRING) {
                int len;
                char *s = decode(doc, &toks[i], &len);
                if (s != NULL) {
                    check_write_str(s, (size_t)len);
                }
                pt_free(s);
            }
        }
        check_rewrite(doc, toks, n);
    }
    pt_free(toks);

    /* Raw bytes: unescape must fail cleanly or shrink; the writer must cope with anything. */
    {
        char *out = pt_malloc(size + 1);
        if (out != NULL) {
            int d = pt_json_unescape(doc, size, out);
            PT_ASSERT(d == -EINVAL || (d >= 0 && (size_t)d <= size));
            pt_free(out);
        }
    }
    check_write_str(doc, size);
    check_double(data, size);
    return 0;
}
