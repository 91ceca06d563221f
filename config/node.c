/* Builds a pt_node_t tree from libyaml's event stream, keeping the position of every node and
 * map key so that config errors can point at the line the user has to fix. Anchors are expanded
 * by copying, under node, byte and depth budgets, so that a hostile file cannot blow up memory. */
#include "config/node.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include "core/mem.h"
#include "core/str.h"

#define NODE_TAG_STR "tag:yaml.org,2002:str"
#define NODE_TAG_NULL "tag:yaml.org,2002:null"

/* An anchor seen so far. Collections are registered when they start (done == 0) so that an alias
 * to an enclosing node can be told apart from an undefined one. */
typedef struct {
    char *name;
    pt_node_t *node;
    int done;
    /* A map key's scalar is not part of the tree; when it carries an anchor the anchor table
     * keeps it alive for later aliases and frees it at the end. */
    int owned;
} anchor_t;

typedef struct {
    yaml_parser_t yp;
    const char *text;
    size_t len;
    pt_node_err_t *err;
    int failed;
    size_t nodes;       /* nodes created, copies included */
    size_t alias_bytes; /* text copied by aliases */
    anchor_t *anchors;
    size_t nanchors;
    size_t anchors_cap;
    /* Open-addressing index from anchor name to its latest definition (index + 1; 0 is empty),
     * so that a file full of aliases resolves in linear time. */
    uint32_t *aslots;
    size_t acap;
} reader_t;

/* Open-addressing set of the keys seen in one map, so that duplicate detection stays linear on
 * large maps. Slots hold index + 1 into the map's keys; 0 is empty. */
typedef struct {
    uint32_t *slots;
    size_t cap;
} keyset_t;

static int parse_value(reader_t *r, yaml_event_t *ev, int depth, pt_node_t **out);

/* ---- errors ---------------------------------------------------------------------------------- */

static void set_error(reader_t *r, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Keeps the first error only: later ones are consequences of it. */
static void set_error(reader_t *r, int line, int col, const char *fmt, ...)
{
    if (r->failed) {
        return;
    }
    r->failed = 1;
    r->err->line = line;
    r->err->col = col;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err->reason, sizeof(r->err->reason), fmt, ap);
    va_end(ap);
}

static int mark_line(yaml_mark_t m)
{
    return m.line >= (size_t)INT32_MAX ? INT32_MAX : (int)m.line + 1;
}

static int mark_col(yaml_mark_t m)
{
    return m.column >= (size_t)INT32_MAX ? INT32_MAX : (int)m.column + 1;
}

static void set_oom(reader_t *r)
{
    set_error(r, 0, 0, "out of memory");
}

/* The input byte at a mark. Marks count characters, so the column is walked in UTF-8. */
static int char_at(const reader_t *r, yaml_mark_t m)
{
    size_t i = 0;
    for (size_t line = 0; line < m.line; i++) {
        if (i >= r->len) {
            return -1;
        }
        if (r->text[i] == '\n') {
            line++;
        }
    }
    for (size_t col = 0; i < r->len; i++) {
        if (((unsigned char)r->text[i] & 0xc0) != 0x80) {
            if (col == m.column) {
                return (unsigned char)r->text[i];
            }
            col++;
        }
    }
    return -1;
}

/* At the end of a file without a final newline libyaml points one line past the last one; point
 * just after the last character instead, on a line the user can find. */
static yaml_mark_t clamp_mark(const reader_t *r, yaml_mark_t m)
{
    size_t lines = 0;
    size_t last = 0; /* start of the last line */
    for (size_t i = 0; i < r->len; i++) {
        if (r->text[i] == '\n') {
            lines++;
            last = i + 1;
        }
    }
    if (m.line > lines) {
        m.line = lines;
        m.column = 0;
        for (size_t i = last; i < r->len; i++) {
            m.column += ((unsigned char)r->text[i] & 0xc0) != 0x80;
        }
    }
    return m;
}

/* Translates libyaml's error state. Reader errors (bad encoding) carry a byte offset instead of a
 * mark, so their line and column are counted from the input. */
static void set_yaml_error(reader_t *r)
{
    yaml_parser_t *p = &r->yp;
    const char *problem = p->problem != NULL ? p->problem : "malformed YAML";

    switch (p->error) {
    case YAML_MEMORY_ERROR:
        set_oom(r);
        break;
    case YAML_READER_ERROR: {
        int line = 1;
        int col = 1;
        size_t end = p->problem_offset < r->len ? p->problem_offset : r->len;
        for (size_t i = 0; i < end; i++) {
            if (r->text[i] == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        if (p->problem_value != -1) {
            set_error(r, line, col, "%s (byte 0x%02x)", problem,
                      (unsigned)p->problem_value & 0xffu);
        } else {
            set_error(r, line, col, "%s", problem);
        }
        break;
    }
    default:
        p->problem_mark = clamp_mark(r, p->problem_mark);
        if (p->error == YAML_SCANNER_ERROR && char_at(r, p->problem_mark) == '\t') {
            /* libyaml's own words for this ("cannot start any token") leave users guessing. */
            set_error(r, mark_line(p->problem_mark), mark_col(p->problem_mark),
                      "tab characters must not be used for indentation");
        } else if (p->context != NULL && p->context_mark.index == p->problem_mark.index) {
            set_error(r, mark_line(p->problem_mark), mark_col(p->problem_mark), "%s (%s)", problem,
                      p->context);
        } else if (p->context != NULL) {
            set_error(r, mark_line(p->problem_mark), mark_col(p->problem_mark),
                      "%s (%s started at %d:%d)", problem, p->context, mark_line(p->context_mark),
                      mark_col(p->context_mark));
        } else {
            set_error(r, mark_line(p->problem_mark), mark_col(p->problem_mark), "%s", problem);
        }
        break;
    }
}

/* Renders user text for an error message: one line, at most about 60 bytes, control characters
 * escaped, so that a hostile key cannot forge extra lines in the agent's log. */
static const char *show_text(const char *s, char *buf, size_t size)
{
    size_t o = 0;
    size_t i = 0;
    for (; s[i] != '\0' && o + 8 < size && i < 60; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) {
            o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
        } else {
            buf[o++] = (char)c;
        }
    }
    if (s[i] != '\0') {
        /* Back off to a character boundary before the ellipsis. */
        while (o > 0 && ((unsigned char)buf[o - 1] & 0xc0) == 0x80) {
            o--;
        }
        if (o > 0 && ((unsigned char)buf[o - 1] & 0xc0) == 0xc0) {
            o--;
        }
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    buf[o] = '\0';
    return buf;
}

static int next_event(reader_t *r, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&r->yp, ev)) {
        set_yaml_error(r);
        return -EINVAL;
    }
    return 0;
}

/* ---- nodes ----------------------------------------------------------------------------------- */

/* Every node, parsed or copied, is created here so that the node budget covers all of them. */
static pt_node_t *node_new(reader_t *r, pt_node_type_t type, int line, int col, yaml_mark_t at)
{
    if (r->nodes >= PT_NODE_MAX_NODES) {
        set_error(r, mark_line(at), mark_col(at),
                  "document has more than %d nodes after expanding aliases", PT_NODE_MAX_NODES);
        return NULL;
    }
    pt_node_t *n = pt_calloc(1, sizeof(*n));
    if (n == NULL) {
        set_oom(r);
        return NULL;
    }
    r->nodes++;
    n->type = type;
    n->line = line;
    n->col = col;
    return n;
}

void pt_node_free(pt_node_t *n)
{
    if (n == NULL) {
        return;
    }
    pt_free(n->scalar);
    for (size_t i = 0; i < n->n; i++) {
        if (n->keys != NULL) {
            pt_free(n->keys[i]);
        }
        pt_node_free(n->items[i]);
    }
    pt_free(n->keys);
    pt_free(n->key_lines);
    pt_free(n->key_cols);
    pt_free(n->items);
    pt_free(n);
}

/* Grows the entry arrays of a map or sequence to hold at least n + 1 entries. Each array is
 * replaced as soon as its realloc succeeds, so a failure halfway leaves a consistent node. */
static int node_grow(pt_node_t *n, size_t *cap)
{
    if (n->n < *cap) {
        return 0;
    }
    size_t ncap = *cap ? *cap * 2 : 4;
    void *p = pt_realloc(n->items, ncap * sizeof(*n->items));
    if (p == NULL) {
        return -ENOMEM;
    }
    n->items = p;
    if (n->type == PT_NODE_MAP) {
        p = pt_realloc(n->keys, ncap * sizeof(*n->keys));
        if (p == NULL) {
            return -ENOMEM;
        }
        n->keys = p;
        p = pt_realloc(n->key_lines, ncap * sizeof(*n->key_lines));
        if (p == NULL) {
            return -ENOMEM;
        }
        n->key_lines = p;
        p = pt_realloc(n->key_cols, ncap * sizeof(*n->key_cols));
        if (p == NULL) {
            return -ENOMEM;
        }
        n->key_cols = p;
    }
    *cap = ncap;
    return 0;
}

static int charge_alias_bytes(reader_t *r, size_t len, yaml_mark_t at)
{
    if (len > PT_NODE_MAX_ALIAS_BYTES - r->alias_bytes) {
        set_error(r, mark_line(at), mark_col(at), "aliases expand to more than %u bytes of text",
                  PT_NODE_MAX_ALIAS_BYTES);
        return -E2BIG;
    }
    r->alias_bytes += len;
    return 0;
}

/* Deep copy for an alias found at nesting `depth`. The copy keeps the anchor's positions. */
static int node_copy(reader_t *r, const pt_node_t *src, int depth, yaml_mark_t at, pt_node_t **out)
{
    *out = NULL;
    if (src->type != PT_NODE_SCALAR && depth > PT_NODE_MAX_DEPTH) {
        set_error(r, mark_line(at), mark_col(at), "nesting is deeper than %d levels",
                  PT_NODE_MAX_DEPTH);
        return -E2BIG;
    }
    pt_node_t *n = node_new(r, src->type, src->line, src->col, at);
    if (n == NULL) {
        return -E2BIG;
    }
    if (src->type == PT_NODE_SCALAR) {
        if (charge_alias_bytes(r, src->len, at) != 0) {
            goto fail;
        }
        n->scalar = pt_strndup(src->scalar, src->len);
        if (n->scalar == NULL) {
            set_oom(r);
            goto fail;
        }
        n->len = src->len;
        n->quoted = src->quoted;
        n->is_null = src->is_null;
        *out = n;
        return 0;
    }
    size_t cap = 0;
    for (size_t i = 0; i < src->n; i++) {
        if (node_grow(n, &cap) != 0) {
            set_oom(r);
            goto fail;
        }
        if (n->type == PT_NODE_MAP) {
            size_t klen = strlen(src->keys[i]);
            if (charge_alias_bytes(r, klen, at) != 0) {
                goto fail;
            }
            n->keys[i] = pt_strndup(src->keys[i], klen);
            if (n->keys[i] == NULL) {
                set_oom(r);
                goto fail;
            }
            n->key_lines[i] = src->key_lines[i];
            n->key_cols[i] = src->key_cols[i];
        }
        /* The item slot is filled before recursing so that pt_node_free sees a whole entry. */
        n->items[i] = NULL;
        n->n++;
        if (node_copy(r, src->items[i], depth + 1, at, &n->items[i]) != 0) {
            goto fail;
        }
    }
    *out = n;
    return 0;

fail:
    pt_node_free(n);
    return -EINVAL;
}

/* ---- anchors --------------------------------------------------------------------------------- */

/* FNV-1a, for the anchor and key sets. */
static uint32_t key_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s != '\0'; s++) {
        h = (h ^ (unsigned char)*s) * 16777619u;
    }
    return h;
}

/* Returns the slot for `name`: the one holding it, or the empty one where it would go. */
static size_t anchor_slot(const reader_t *r, const char *name)
{
    size_t j = key_hash(name) & (r->acap - 1);
    while (r->aslots[j] != 0 && strcmp(r->anchors[r->aslots[j] - 1].name, name) != 0) {
        j = (j + 1) & (r->acap - 1);
    }
    return j;
}

static int anchor_index_grow(reader_t *r)
{
    if ((r->nanchors + 1) * 2 <= r->acap) {
        return 0;
    }
    size_t ncap = r->acap ? r->acap * 2 : 16;
    uint32_t *slots = pt_calloc(ncap, sizeof(*slots));
    if (slots == NULL) {
        return -ENOMEM;
    }
    pt_free(r->aslots);
    r->aslots = slots;
    r->acap = ncap;
    /* Re-adding in order leaves each name on its latest definition. */
    for (size_t i = 0; i < r->nanchors; i++) {
        r->aslots[anchor_slot(r, r->anchors[i].name)] = (uint32_t)i + 1;
    }
    return 0;
}

static int anchor_add(reader_t *r, const yaml_char_t *name, pt_node_t *node, int done)
{
    if (name == NULL) {
        return 0;
    }
    if (anchor_index_grow(r) != 0) {
        set_oom(r);
        return -ENOMEM;
    }
    if (r->nanchors == r->anchors_cap) {
        size_t ncap = r->anchors_cap ? r->anchors_cap * 2 : 8;
        anchor_t *a = pt_realloc(r->anchors, ncap * sizeof(*a));
        if (a == NULL) {
            set_oom(r);
            return -ENOMEM;
        }
        r->anchors = a;
        r->anchors_cap = ncap;
    }
    anchor_t *a = &r->anchors[r->nanchors];
    a->name = pt_strdup((const char *)name);
    if (a->name == NULL) {
        set_oom(r);
        return -ENOMEM;
    }
    a->node = node;
    a->done = done;
    a->owned = 0;
    /* YAML lets a later anchor reuse a name; the most recent definition wins. */
    r->aslots[anchor_slot(r, a->name)] = (uint32_t)r->nanchors + 1;
    r->nanchors++;
    return 0;
}

static anchor_t *anchor_find(reader_t *r, const char *name)
{
    if (r->acap == 0) {
        return NULL;
    }
    uint32_t idx = r->aslots[anchor_slot(r, name)];
    return idx != 0 ? &r->anchors[idx - 1] : NULL;
}

/* Searching backward passes only the anchors nested inside this node, and nesting is bounded,
 * so the total cost stays linear. */
static void anchor_done(reader_t *r, const pt_node_t *node)
{
    for (size_t i = r->nanchors; i > 0; i--) {
        if (r->anchors[i - 1].node == node) {
            r->anchors[i - 1].done = 1;
            return;
        }
    }
}

static void anchors_free(reader_t *r)
{
    for (size_t i = 0; i < r->nanchors; i++) {
        pt_free(r->anchors[i].name);
        if (r->anchors[i].owned) {
            pt_node_free(r->anchors[i].node);
        }
    }
    pt_free(r->anchors);
    pt_free(r->aslots);
    r->anchors = NULL;
    r->aslots = NULL;
    r->nanchors = 0;
    r->anchors_cap = 0;
    r->acap = 0;
}

/* ---- builders -------------------------------------------------------------------------------- */

static int is_null_word(const char *s, size_t len)
{
    return len == 0 || (len == 1 && s[0] == '~') ||
           (len == 4 &&
            (strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 || strcmp(s, "NULL") == 0));
}

static int build_scalar(reader_t *r, yaml_event_t *ev, pt_node_t **out)
{
    yaml_mark_t m = ev->start_mark;
    const char *tag = (const char *)ev->data.scalar.tag;
    pt_node_t *n = node_new(r, PT_NODE_SCALAR, mark_line(m), mark_col(m), m);
    if (n == NULL) {
        return -EINVAL;
    }
    n->len = ev->data.scalar.length;
    n->scalar = pt_strndup((const char *)ev->data.scalar.value, n->len);
    if (n->scalar == NULL) {
        set_oom(r);
        goto fail;
    }
    yaml_scalar_style_t style = ev->data.scalar.style;
    n->quoted = style != YAML_PLAIN_SCALAR_STYLE && style != YAML_ANY_SCALAR_STYLE;
    /* An explicit !!str makes a plain "123" or "null" text, exactly as quoting would. */
    if (tag != NULL && strcmp(tag, NODE_TAG_STR) == 0) {
        n->quoted = 1;
    }
    if (!n->quoted) {
        n->is_null =
            is_null_word(n->scalar, n->len) || (tag != NULL && strcmp(tag, NODE_TAG_NULL) == 0);
    }
    if (anchor_add(r, ev->data.scalar.anchor, n, 1) != 0) {
        goto fail;
    }
    *out = n;
    return 0;

fail:
    pt_node_free(n);
    return -EINVAL;
}

static int build_alias(reader_t *r, yaml_event_t *ev, int depth, pt_node_t **out)
{
    yaml_mark_t m = ev->start_mark;
    const char *name = (const char *)ev->data.alias.anchor;
    anchor_t *a = anchor_find(r, name);
    if (a == NULL) {
        set_error(r, mark_line(m), mark_col(m), "undefined alias '*%s'", name);
        return -EINVAL;
    }
    if (!a->done) {
        set_error(r, mark_line(m), mark_col(m), "alias '*%s' refers to a node that contains it",
                  name);
        return -EINVAL;
    }
    return node_copy(r, a->node, depth, m, out);
}

static int build_seq(reader_t *r, yaml_event_t *start, int depth, pt_node_t **out)
{
    yaml_mark_t m = start->start_mark;
    yaml_event_t ev;
    size_t cap = 0;
    pt_node_t *n = node_new(r, PT_NODE_SEQ, mark_line(m), mark_col(m), m);
    if (n == NULL) {
        return -EINVAL;
    }
    if (anchor_add(r, start->data.sequence_start.anchor, n, 0) != 0) {
        goto fail;
    }
    for (;;) {
        if (next_event(r, &ev) != 0) {
            goto fail;
        }
        if (ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        if (node_grow(n, &cap) != 0) {
            yaml_event_delete(&ev);
            set_oom(r);
            goto fail;
        }
        n->items[n->n] = NULL;
        n->n++;
        if (parse_value(r, &ev, depth + 1, &n->items[n->n - 1]) != 0) {
            goto fail;
        }
    }
    anchor_done(r, n);
    *out = n;
    return 0;

fail:
    pt_node_free(n);
    return -EINVAL;
}

/* Returns the index of `key` in map, or -1 after inserting it (index n) into the set. */
static long keyset_check_add(keyset_t *ks, const pt_node_t *map, const char *key, int *oom)
{
    *oom = 0;
    if ((map->n + 1) * 2 > ks->cap) {
        size_t ncap = ks->cap ? ks->cap * 2 : 16;
        uint32_t *slots = pt_calloc(ncap, sizeof(*slots));
        if (slots == NULL) {
            *oom = 1;
            return -1;
        }
        for (size_t i = 0; i < map->n; i++) {
            size_t j = key_hash(map->keys[i]) & (ncap - 1);
            while (slots[j] != 0) {
                j = (j + 1) & (ncap - 1);
            }
            slots[j] = (uint32_t)i + 1;
        }
        pt_free(ks->slots);
        ks->slots = slots;
        ks->cap = ncap;
    }
    size_t j = key_hash(key) & (ks->cap - 1);
    while (ks->slots[j] != 0) {
        uint32_t idx = ks->slots[j] - 1;
        if (strcmp(map->keys[idx], key) == 0) {
            return (long)idx;
        }
        j = (j + 1) & (ks->cap - 1);
    }
    ks->slots[j] = (uint32_t)map->n + 1;
    return -1;
}

/* Reads one map key into *key (heap string). Keys must be scalars without NUL bytes. */
static int build_key(reader_t *r, yaml_event_t *ev, int depth, char **key)
{
    yaml_mark_t m = ev->start_mark;
    pt_node_t *k = NULL;
    *key = NULL;
    if (ev->type == YAML_MAPPING_START_EVENT || ev->type == YAML_SEQUENCE_START_EVENT) {
        set_error(r, mark_line(m), mark_col(m), "map keys must be scalars, got %s",
                  ev->type == YAML_MAPPING_START_EVENT ? "a map" : "a list");
        yaml_event_delete(ev);
        return -EINVAL;
    }
    if (parse_value(r, ev, depth, &k) != 0) {
        return -EINVAL;
    }
    if (k->type != PT_NODE_SCALAR) {
        /* Only an alias gets here: its target was a collection. */
        set_error(r, mark_line(m), mark_col(m), "map keys must be scalars, got %s",
                  pt_node_kind(k));
        goto fail;
    }
    if (strlen(k->scalar) != k->len) {
        set_error(r, mark_line(m), mark_col(m), "map key contains a NUL character");
        goto fail;
    }
    if (r->nanchors > 0 && r->anchors[r->nanchors - 1].node == k) {
        /* The key carries an anchor: keep the node for aliases and copy its text. */
        r->anchors[r->nanchors - 1].owned = 1;
        *key = pt_strndup(k->scalar, k->len);
        if (*key == NULL) {
            set_oom(r);
            return -ENOMEM;
        }
        return 0;
    }
    *key = k->scalar;
    k->scalar = NULL;
    pt_node_free(k);
    return 0;

fail:
    /* An anchored key node is owned by the anchor table; anything else is ours to free. */
    if (!(r->nanchors > 0 && r->anchors[r->nanchors - 1].node == k)) {
        pt_node_free(k);
    } else {
        r->anchors[r->nanchors - 1].owned = 1;
    }
    return -EINVAL;
}

static int build_map(reader_t *r, yaml_event_t *start, int depth, pt_node_t **out)
{
    yaml_mark_t m = start->start_mark;
    yaml_event_t ev;
    keyset_t ks = {NULL, 0};
    size_t cap = 0;
    pt_node_t *n = node_new(r, PT_NODE_MAP, mark_line(m), mark_col(m), m);
    if (n == NULL) {
        return -EINVAL;
    }
    if (anchor_add(r, start->data.mapping_start.anchor, n, 0) != 0) {
        goto fail;
    }
    for (;;) {
        if (next_event(r, &ev) != 0) {
            goto fail;
        }
        if (ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        yaml_mark_t km = ev.start_mark;
        char *key;
        if (build_key(r, &ev, depth + 1, &key) != 0) {
            goto fail;
        }
        int oom;
        long prev = keyset_check_add(&ks, n, key, &oom);
        if (oom) {
            pt_free(key);
            set_oom(r);
            goto fail;
        }
        if (prev >= 0) {
            char shown[80];
            set_error(r, mark_line(km), mark_col(km),
                      "duplicate key '%s' (first defined at line %d)",
                      show_text(key, shown, sizeof(shown)), n->key_lines[prev]);
            pt_free(key);
            goto fail;
        }
        if (node_grow(n, &cap) != 0) {
            pt_free(key);
            set_oom(r);
            goto fail;
        }
        n->keys[n->n] = key;
        n->key_lines[n->n] = mark_line(km);
        n->key_cols[n->n] = mark_col(km);
        n->items[n->n] = NULL;
        n->n++;
        if (next_event(r, &ev) != 0) {
            goto fail;
        }
        if (parse_value(r, &ev, depth + 1, &n->items[n->n - 1]) != 0) {
            goto fail;
        }
    }
    pt_free(ks.slots);
    anchor_done(r, n);
    *out = n;
    return 0;

fail:
    pt_free(ks.slots);
    pt_node_free(n);
    return -EINVAL;
}

/* Builds the node that starts with *ev, consuming (and deleting) the event. `depth` is the
 * nesting level the node would sit at; the root is 1. */
static int parse_value(reader_t *r, yaml_event_t *ev, int depth, pt_node_t **out)
{
    int rc;
    yaml_mark_t m = ev->start_mark;
    *out = NULL;
    switch (ev->type) {
    case YAML_SCALAR_EVENT:
        rc = build_scalar(r, ev, out);
        break;
    case YAML_ALIAS_EVENT:
        rc = build_alias(r, ev, depth, out);
        break;
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT:
        if (depth > PT_NODE_MAX_DEPTH) {
            set_error(r, mark_line(m), mark_col(m), "nesting is deeper than %d levels",
                      PT_NODE_MAX_DEPTH);
            rc = -E2BIG;
            break;
        }
        rc = ev->type == YAML_SEQUENCE_START_EVENT ? build_seq(r, ev, depth, out)
                                                   : build_map(r, ev, depth, out);
        break;
    default:
        /* libyaml only yields node events here; anything else means a broken event stream. */
        set_error(r, mark_line(m), mark_col(m), "unexpected YAML event %d", (int)ev->type);
        rc = -EINVAL;
        break;
    }
    yaml_event_delete(ev);
    return rc;
}

/* ---- documents ------------------------------------------------------------------------------- */

static pt_node_t *empty_map(reader_t *r, int line, int col)
{
    yaml_mark_t m = {0, 0, 0};
    return node_new(r, PT_NODE_MAP, line, col, m);
}

/* Reads the stream up to the end of its first document. Later documents are not parsed. */
static pt_node_t *read_first_document(reader_t *r)
{
    yaml_event_t ev;
    pt_node_t *root = NULL;

    if (next_event(r, &ev) != 0) {
        return NULL;
    }
    yaml_event_delete(&ev); /* STREAM-START */
    if (next_event(r, &ev) != 0) {
        return NULL;
    }
    if (ev.type == YAML_STREAM_END_EVENT) {
        /* Nothing but comments and blank lines. */
        yaml_event_delete(&ev);
        return empty_map(r, 1, 1);
    }
    yaml_event_delete(&ev); /* DOCUMENT-START */
    if (next_event(r, &ev) != 0) {
        return NULL;
    }
    if (parse_value(r, &ev, 1, &root) != 0) {
        return NULL;
    }
    /* DOCUMENT-END, then the start of whatever follows: libyaml reports junk after the root node
     * ("[1]\n]") only when asked for the next document. Its content is never read. */
    for (int i = 0; i < 2; i++) {
        if (next_event(r, &ev) != 0) {
            goto fail;
        }
        yaml_event_delete(&ev);
    }
    if (root->type == PT_NODE_SCALAR && root->is_null && root->len == 0) {
        /* An explicit but empty document ("---") is as empty as an empty file. */
        pt_node_t *map = empty_map(r, root->line, root->col);
        pt_node_free(root);
        return map;
    }
    return root;

fail:
    pt_node_free(root);
    return NULL;
}

pt_node_t *pt_node_parse_string_ex(const char *text, size_t len, pt_node_err_t *err)
{
    reader_t r;
    pt_node_err_t scratch;
    memset(&r, 0, sizeof(r));
    r.text = text != NULL ? text : "";
    r.len = text != NULL ? len : 0;
    r.err = err != NULL ? err : &scratch;
    r.err->line = 0;
    r.err->col = 0;
    r.err->reason[0] = '\0';
    if (!yaml_parser_initialize(&r.yp)) {
        set_oom(&r);
        return NULL;
    }
    yaml_parser_set_input_string(&r.yp, (const unsigned char *)r.text, r.len);
    pt_node_t *root = read_first_document(&r);
    anchors_free(&r);
    yaml_parser_delete(&r.yp);
    return root;
}

pt_node_t *pt_node_parse_file_ex(const char *path, pt_node_err_t *err)
{
    pt_buf_t b;
    char chunk[65536];
    pt_node_t *root = NULL;
    const char *why = NULL;

    pt_buf_init(&b);
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        why = strerror(errno);
        goto fail;
    }
    for (;;) {
        size_t got = fread(chunk, 1, sizeof(chunk), f);
        if (got > 0) {
            if (b.len + got > PT_NODE_MAX_FILE) {
                why = "file is larger than 64 MiB";
                goto fail;
            }
            if (pt_buf_append(&b, chunk, got) != 0) {
                why = "out of memory";
                goto fail;
            }
        }
        if (got < sizeof(chunk)) {
            if (ferror(f)) {
                why = strerror(errno);
                goto fail;
            }
            break;
        }
    }
    fclose(f);
    f = NULL;
    root = pt_node_parse_string_ex(b.data, b.len, err);
    pt_buf_free(&b);
    return root;

fail:
    if (f != NULL) {
        fclose(f);
    }
    pt_buf_free(&b);
    if (err != NULL) {
        err->line = 0;
        err->col = 0;
        snprintf(err->reason, sizeof(err->reason), "%s", why);
    }
    return NULL;
}

/* The one-string form: "name:line:col: reason", or "name: reason" without a position. */
static void format_error(const pt_node_err_t *e, const char *name, char *out, size_t outlen)
{
    if (out == NULL || outlen == 0) {
        return;
    }
    if (e->line > 0) {
        snprintf(out, outlen, "%s:%d:%d: %s", name, e->line, e->col, e->reason);
    } else {
        snprintf(out, outlen, "%s: %s", name, e->reason);
    }
}

pt_node_t *pt_node_parse_string(const char *text, size_t len, const char *name, char *err,
                                size_t errlen)
{
    pt_node_err_t e;
    pt_node_t *root = pt_node_parse_string_ex(text, len, &e);
    if (root == NULL) {
        format_error(&e, name != NULL ? name : "<string>", err, errlen);
    } else if (err != NULL && errlen > 0) {
        err[0] = '\0';
    }
    return root;
}

pt_node_t *pt_node_parse_file(const char *path, char *err, size_t errlen)
{
    pt_node_err_t e;
    pt_node_t *root = pt_node_parse_file_ex(path, &e);
    if (root == NULL) {
        format_error(&e, path, err, errlen);
    } else if (err != NULL && errlen > 0) {
        err[0] = '\0';
    }
    return root;
}

/* ---- lookups --------------------------------------------------------------------------------- */

const pt_node_t *pt_node_get(const pt_node_t *map, const char *key)
{
    if (map == NULL || map->type != PT_NODE_MAP || key == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < map->n; i++) {
        if (strcmp(map->keys[i], key) == 0) {
            return map->items[i];
        }
    }
    return NULL;
}

/* Keys may contain dots themselves, so every key that is a prefix of the remaining path ending on
 * a dot is tried; an exact match of the whole remainder wins. Depth is bounded by the tree's. */
static const pt_node_t *get_path(const pt_node_t *map, const char *path, size_t len)
{
    if (map == NULL || map->type != PT_NODE_MAP) {
        return NULL;
    }
    for (size_t i = 0; i < map->n; i++) {
        if (strlen(map->keys[i]) == len && memcmp(map->keys[i], path, len) == 0) {
            return map->items[i];
        }
    }
    for (size_t i = 0; i < map->n; i++) {
        size_t klen = strlen(map->keys[i]);
        if (klen < len && path[klen] == '.' && memcmp(map->keys[i], path, klen) == 0) {
            const pt_node_t *found = get_path(map->items[i], path + klen + 1, len - klen - 1);
            if (found != NULL) {
                return found;
            }
        }
    }
    return NULL;
}

const pt_node_t *pt_node_get_path(const pt_node_t *map, const char *dotted)
{
    if (dotted == NULL) {
        return NULL;
    }
    return get_path(map, dotted, strlen(dotted));
}

/* Plain scalars that YAML's core schema would read as numbers: [-+]digits, 0x.., 0o.., decimal
 * fractions with an optional exponent, and .inf / .nan. */
static int looks_numeric(const char *s)
{
    if (strcmp(s, ".inf") == 0 || strcmp(s, "-.inf") == 0 || strcmp(s, "+.inf") == 0 ||
        strcmp(s, ".nan") == 0 || strcmp(s, ".Inf") == 0 || strcmp(s, ".NaN") == 0) {
        return 1;
    }
    if (*s == '-' || *s == '+') {
        s++;
    }
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'o') && s[2] != '\0') {
        for (s += 2; *s != '\0'; s++) {
            if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') ||
                  (*s >= 'A' && *s <= 'F'))) {
                return 0;
            }
        }
        return 1;
    }
    int digits = 0;
    while (*s >= '0' && *s <= '9') {
        s++;
        digits++;
    }
    if (*s == '.') {
        s++;
        while (*s >= '0' && *s <= '9') {
            s++;
            digits++;
        }
    }
    if (digits == 0) {
        return 0;
    }
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '-' || *s == '+') {
            s++;
        }
        if (!(*s >= '0' && *s <= '9')) {
            return 0;
        }
        while (*s >= '0' && *s <= '9') {
            s++;
        }
    }
    return *s == '\0';
}

const char *pt_node_kind(const pt_node_t *n)
{
    if (n == NULL) {
        return "nothing";
    }
    switch (n->type) {
    case PT_NODE_MAP:
        return "a map";
    case PT_NODE_SEQ:
        return "a list";
    case PT_NODE_SCALAR:
        break;
    }
    if (n->quoted) {
        return "a string";
    }
    if (n->is_null) {
        return "null";
    }
    if (strcasecmp(n->scalar, "true") == 0 || strcasecmp(n->scalar, "false") == 0) {
        return "a boolean";
    }
    if (looks_numeric(n->scalar)) {
        return "a number";
    }
    return "a string";
}
