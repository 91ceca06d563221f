/* The one generic loader behind every plugin's config: it walks a table of declared keys, fills a
 * struct from a parsed node tree with type, bound and choice checks, and turns every problem into
 * a "[file:line] pipeline/plugin.Key: reason" line. The same tables produce the Markdown docs. */
#include "config/cfgmap.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/mem.h"

#define CFG_LABEL_MAX 256 /* longest key path shown in a message */
#define CFG_SHOW_MAX 96   /* buffer for a value echoed in a message */
#define CFG_LEV_MAX 64    /* keys longer than this get no "did you mean" */
#define CFG_HIDDEN "a hidden value"

typedef struct {
    const pt_cfg_field_t *map;
    size_t n;
    const pt_node_t *root;
    void *out;
    const char *const *ignore;
    pt_cfg_diag_t *d;
} loader_t;

/* ---- diagnostics ----------------------------------------------------------------------------- */

void pt_cfg_diag_init(pt_cfg_diag_t *d, const char *file, const char *pipeline)
{
    d->file = file;
    d->pipeline = pipeline;
    d->plugin = NULL;
    d->nerrors = 0;
    d->nwarnings = 0;
    pt_buf_init(&d->text);
}

void pt_cfg_diag_free(pt_cfg_diag_t *d)
{
    pt_buf_free(&d->text);
    d->nerrors = 0;
    d->nwarnings = 0;
}

const char *pt_cfg_diag_text(const pt_cfg_diag_t *d)
{
    return d->text.len > 0 ? d->text.data : "";
}

/* Copies user text into a message: control characters escaped and long text cut, so that one
 * message always stays one line. */
static void append_clean(pt_buf_t *b, const char *s, size_t max)
{
    size_t i = 0;
    for (; s[i] != '\0' && i < max; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) {
            pt_buf_appendf(b, "\\x%02x", c);
        } else {
            pt_buf_putc(b, (char)c);
        }
    }
    if (s[i] != '\0') {
        pt_buf_append_str(b, "...");
    }
}

static void emit(pt_cfg_diag_t *d, const char *level, int line, const char *key, const char *fmt,
                 va_list ap) __attribute__((format(printf, 5, 0)));

static void emit(pt_cfg_diag_t *d, const char *level, int line, const char *key, const char *fmt,
                 va_list ap)
{
    pt_buf_t *b = &d->text;
    const char *sep = "";

    pt_buf_appendf(b, "[%s", d->file != NULL ? d->file : "<config>");
    if (line > 0) {
        pt_buf_appendf(b, ":%d", line);
    }
    pt_buf_append_str(b, "] ");
    if (d->pipeline != NULL) {
        append_clean(b, d->pipeline, CFG_LABEL_MAX);
        sep = ".";
    }
    if (d->plugin != NULL) {
        if (*sep != '\0') {
            pt_buf_putc(b, '/');
        }
        append_clean(b, d->plugin, CFG_LABEL_MAX);
        sep = ".";
    }
    if (key != NULL) {
        pt_buf_append_str(b, sep);
        append_clean(b, key, CFG_LABEL_MAX);
    }
    pt_buf_append_str(b, ": ");
    pt_buf_append_str(b, level);

    char reason[1024];
    vsnprintf(reason, sizeof(reason), fmt, ap);
    append_clean(b, reason, sizeof(reason));
    pt_buf_putc(b, '\n');
    /* Keep the text NUL-terminated (outside len) so pt_cfg_diag_text can hand it out as is. */
    if (pt_buf_reserve(b, 1) == 0) {
        b->data[b->len] = '\0';
    } else if (b->len > 0) {
        b->data[b->len - 1] = '\0';
        b->len--;
    }
}

void pt_cfg_error(pt_cfg_diag_t *d, int line, const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit(d, "", line, key, fmt, ap);
    va_end(ap);
    d->nerrors++;
}

void pt_cfg_warn(pt_cfg_diag_t *d, int line, const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit(d, "warning: ", line, key, fmt, ap);
    va_end(ap);
    d->nwarnings++;
}

/* How a value is named in a message: its kind for collections and null, its text in quotes for
 * scalars, and never the text of a SECRET field. */
static const char *show(const pt_cfg_field_t *f, const pt_node_t *v, int quote, char *buf,
                        size_t size)
{
    if (v->type != PT_NODE_SCALAR || v->is_null) {
        return pt_node_kind(v);
    }
    if (f->flags & PT_CFG_SECRET) {
        return CFG_HIDDEN;
    }
    size_t o = 0;
    size_t i = 0;
    if (quote) {
        buf[o++] = '\'';
    }
    for (; i < v->len && o + 10 < size; i++) {
        unsigned char c = (unsigned char)v->scalar[i];
        if (c < 0x20 || c == 0x7f) {
            o += (size_t)snprintf(buf + o, size - o, "\\x%02x", c);
        } else {
            buf[o++] = (char)c;
        }
    }
    if (i < v->len) {
        while (o > 1 && ((unsigned char)buf[o - 1] & 0xc0) == 0x80) {
            o--;
        }
        if (o > 1 && ((unsigned char)buf[o - 1] & 0xc0) == 0xc0) {
            o--;
        }
        memcpy(buf + o, "...", 3);
        o += 3;
    }
    if (quote) {
        buf[o++] = '\'';
    }
    buf[o] = '\0';
    return buf;
}

/* ---- field access ---------------------------------------------------------------------------- */

static void *slot(const pt_cfg_field_t *f, void *out)
{
    return (char *)out + f->offset;
}

static size_t prefix_len(const char *key)
{
    const char *dot = strrchr(key, '.');
    return dot != NULL ? (size_t)(dot - key) : 0;
}

static const char *leaf(const char *key)
{
    const char *dot = strrchr(key, '.');
    return dot != NULL ? dot + 1 : key;
}

static const pt_cfg_field_t *find_field(const loader_t *ld, const char *key, size_t len)
{
    for (size_t i = 0; i < ld->n; i++) {
        if (strlen(ld->map[i].key) == len && memcmp(ld->map[i].key, key, len) == 0) {
            return &ld->map[i];
        }
    }
    return NULL;
}

static int map_find(const pt_node_t *map, const char *key, size_t len)
{
    for (size_t i = 0; i < map->n; i++) {
        if (strlen(map->keys[i]) == len && memcmp(map->keys[i], key, len) == 0) {
            return (int)i;
        }
    }
    return -1;
}

/* Resolves the map that holds the keys under `prefix` ("" for the top level, "Batch" for
 * "Batch.MinCnt"). Returns 1 with *out set, 0 if a section on the way is absent or null, -1 if
 * one is not a map (that error is reported once, on the section's own field). */
static int section_node(const loader_t *ld, const char *prefix, size_t plen, const pt_node_t **out)
{
    *out = NULL;
    if (plen == 0) {
        *out = ld->root;
        return ld->root != NULL ? 1 : 0;
    }
    size_t pp = 0;
    for (size_t i = plen; i > 0; i--) {
        if (prefix[i - 1] == '.') {
            pp = i - 1;
            break;
        }
    }
    const pt_node_t *parent;
    int rc = section_node(ld, prefix, pp, &parent);
    if (rc != 1) {
        return rc;
    }
    const char *name = pp > 0 ? prefix + pp + 1 : prefix;
    size_t nlen = pp > 0 ? plen - pp - 1 : plen;
    int idx = map_find(parent, name, nlen);
    if (idx < 0) {
        const pt_cfg_field_t *sf = find_field(ld, prefix, plen);
        if (sf != NULL && sf->alias != NULL) {
            idx = map_find(parent, sf->alias, strlen(sf->alias));
        }
    }
    if (idx < 0) {
        return 0;
    }
    const pt_node_t *v = parent->items[idx];
    if (v->type == PT_NODE_SCALAR && v->is_null) {
        return 0;
    }
    if (v->type != PT_NODE_MAP) {
        return -1;
    }
    *out = v;
    return 1;
}

/* ---- conversions ----------------------------------------------------------------------------- */

/* Integers as YAML writes them: optional sign, then decimal digits or 0x hex digits. */
static int parse_int(const char *s, int64_t *out)
{
    const char *p = s;
    int base = 10;
    if (*p == '-' || *p == '+') {
        p++;
    }
    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
    }
    if (*p == '\0') {
        return -EINVAL;
    }
    for (const char *q = p; *q != '\0'; q++) {
        int ok = base == 16 ? ((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f') ||
                               (*q >= 'A' && *q <= 'F'))
                            : (*q >= '0' && *q <= '9');
        if (!ok) {
            return -EINVAL;
        }
    }
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, base == 16 ? 16 : 10);
    if (errno == ERANGE) {
        return -ERANGE;
    }
    if (*end != '\0') {
        return -EINVAL;
    }
    *out = (int64_t)v;
    return 0;
}

/* Decimal numbers only: strtod alone would also take "inf", "nan" and hex floats. */
static int parse_double(const char *s, double *out)
{
    int digits = 0;
    for (const char *q = s; *q != '\0'; q++) {
        if (*q >= '0' && *q <= '9') {
            digits++;
        } else if (strchr("+-.eE", *q) == NULL) {
            return -EINVAL;
        }
    }
    if (digits == 0) {
        return -EINVAL;
    }
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (*end != '\0' || end == s) {
        return -EINVAL;
    }
    if (!isfinite(v)) {
        return -ERANGE;
    }
    *out = v;
    return 0;
}

static int parse_bool(const char *s, int *out)
{
    if (strcasecmp(s, "true") == 0) {
        *out = 1;
        return 0;
    }
    if (strcasecmp(s, "false") == 0) {
        *out = 0;
        return 0;
    }
    return -EINVAL;
}

/* Appends s[0..len) to l, trimmed of spaces and tabs. Empty pieces are dropped when skip_empty. */
static int strlist_push(pt_strlist_t *l, const char *s, size_t len, int trim, int skip_empty)
{
    if (trim) {
        while (len > 0 && (*s == ' ' || *s == '\t')) {
            s++;
            len--;
        }
        while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t')) {
            len--;
        }
    }
    if (len == 0 && skip_empty) {
        return 0;
    }
    char **v = pt_realloc(l->v, (l->n + 1) * sizeof(*v));
    if (v == NULL) {
        return -ENOMEM;
    }
    l->v = v;
    l->v[l->n] = pt_strndup(s, len);
    if (l->v[l->n] == NULL) {
        return -ENOMEM;
    }
    l->n++;
    return 0;
}

static int strlist_split(pt_strlist_t *l, const char *s)
{
    for (;;) {
        const char *comma = strchr(s, ',');
        size_t len = comma != NULL ? (size_t)(comma - s) : strlen(s);
        if (strlist_push(l, s, len, 1, 1) != 0) {
            return -ENOMEM;
        }
        if (comma == NULL) {
            return 0;
        }
        s = comma + 1;
    }
}

/* Overwrites (without freeing: the slot holds garbage or was just reset) a field with its
 * default. A default that does not parse is a bug in the table; it is reported as an error so
 * that tests catch it. */
static int apply_default(loader_t *ld, const pt_cfg_field_t *f)
{
    void *p = slot(f, ld->out);
    const char *def = f->def;
    int rc = 0;

    switch (f->type) {
    case PT_CFG_BOOL:
        *(int *)p = 0;
        if (def != NULL) {
            rc = parse_bool(def, (int *)p);
        }
        break;
    case PT_CFG_INT:
        *(int64_t *)p = 0;
        if (def != NULL) {
            rc = parse_int(def, (int64_t *)p);
        }
        break;
    case PT_CFG_DOUBLE:
        *(double *)p = 0;
        if (def != NULL) {
            rc = parse_double(def, (double *)p);
        }
        break;
    case PT_CFG_STRING:
        *(char **)p = NULL;
        if (def != NULL) {
            *(char **)p = pt_strdup(def);
            rc = *(char **)p == NULL ? -ENOMEM : 0;
        }
        break;
    case PT_CFG_STRLIST: {
        pt_strlist_t *l = p;
        l->v = NULL;
        l->n = 0;
        if (def != NULL) {
            rc = strlist_split(l, def);
        }
        break;
    }
    case PT_CFG_STRMAP: {
        pt_strmap_t *m = p;
        m->keys = NULL;
        m->vals = NULL;
        m->n = 0;
        break;
    }
    case PT_CFG_NODE:
        *(const pt_node_t **)p = NULL;
        break;
    case PT_CFG_SECTION:
        if (f->flags & PT_CFG_PRESENCE) {
            *(const pt_node_t **)p = NULL;
        }
        break;
    }
    if (rc == -ENOMEM) {
        pt_cfg_error(ld->d, 0, f->key, "out of memory");
    } else if (rc != 0) {
        pt_cfg_error(ld->d, 0, f->key, "invalid default '%s' in the key table",
                     (f->flags & PT_CFG_SECRET) ? "(hidden)" : def);
    }
    return rc;
}

static int check_text(loader_t *ld, const char *label, const pt_node_t *v)
{
    if (strlen(v->scalar) != v->len) {
        pt_cfg_error(ld->d, v->line, label, "must not contain a NUL character");
        return -EINVAL;
    }
    return 0;
}

static int check_choices(loader_t *ld, const pt_cfg_field_t *f, const char *label,
                         const pt_node_t *v)
{
    const char *c = f->choices;
    size_t vlen = strlen(v->scalar);
    for (;;) {
        const char *bar = strchr(c, '|');
        size_t len = bar != NULL ? (size_t)(bar - c) : strlen(c);
        if (len == vlen && memcmp(c, v->scalar, len) == 0) {
            return 0;
        }
        if (bar == NULL) {
            break;
        }
        c = bar + 1;
    }
    pt_buf_t list;
    pt_buf_init(&list);
    for (c = f->choices; *c != '\0'; c++) {
        if (*c == '|') {
            pt_buf_append_str(&list, ", ");
        } else {
            pt_buf_putc(&list, *c);
        }
    }
    pt_buf_putc(&list, '\0');
    char buf[CFG_SHOW_MAX];
    pt_cfg_error(ld->d, v->line, label, "must be one of: %s; got %s",
                 list.data != NULL ? list.data : "", show(f, v, 1, buf, sizeof(buf)));
    pt_buf_free(&list);
    return -EINVAL;
}

/* Bounds are printed as integers when they are whole numbers, which they are for INT fields. */
static void format_bound(double x, char *buf, size_t size)
{
    if (x == floor(x) && fabs(x) < 1e18) {
        snprintf(buf, size, "%lld", (long long)x);
    } else {
        snprintf(buf, size, "%g", x);
    }
}

static int check_bounds(loader_t *ld, const pt_cfg_field_t *f, const char *label,
                        const pt_node_t *v, double x)
{
    if (!(f->flags & PT_CFG_BOUNDED) || (x >= f->min && x <= f->max)) {
        return 0;
    }
    char lo[48];
    char hi[48];
    char buf[CFG_SHOW_MAX];
    format_bound(f->min, lo, sizeof(lo));
    format_bound(f->max, hi, sizeof(hi));
    pt_cfg_error(ld->d, v->line, label, "must be between %s and %s, got %s", lo, hi,
                 show(f, v, 0, buf, sizeof(buf)));
    return -EINVAL;
}

static int load_strlist(loader_t *ld, const pt_cfg_field_t *f, const char *label,
                        const pt_node_t *v, pt_strlist_t *l)
{
    char buf[CFG_SHOW_MAX];
    char item[CFG_LABEL_MAX + 24];

    if (v->type == PT_NODE_MAP) {
        pt_cfg_error(ld->d, v->line, label, "expected a list of strings, got a map");
        return -EINVAL;
    }
    if (v->type == PT_NODE_SCALAR) {
        if (check_text(ld, label, v) != 0) {
            return -EINVAL;
        }
        if (f->flags & PT_CFG_COMMA) {
            return strlist_split(l, v->scalar);
        }
        return strlist_push(l, v->scalar, v->len, 0, 0);
    }
    for (size_t i = 0; i < v->n; i++) {
        const pt_node_t *it = v->items[i];
        snprintf(item, sizeof(item), "%s[%zu]", label, i);
        if (it->type != PT_NODE_SCALAR || it->is_null) {
            pt_cfg_error(ld->d, it->line, item, "expected a string, got %s",
                         show(f, it, 1, buf, sizeof(buf)));
            return -EINVAL;
        }
        if (check_text(ld, item, it) != 0) {
            return -EINVAL;
        }
        if (strlist_push(l, it->scalar, it->len, 0, 0) != 0) {
            return -ENOMEM;
        }
    }
    return 0;
}

static int load_strmap(loader_t *ld, const char *label, const pt_node_t *v, pt_strmap_t *m)
{
    char item[CFG_LABEL_MAX * 2];

    if (v->type != PT_NODE_MAP) {
        pt_cfg_error(ld->d, v->line, label, "expected a map of strings, got %s", pt_node_kind(v));
        return -EINVAL;
    }
    if (v->n == 0) {
        return 0;
    }
    m->keys = pt_calloc(v->n, sizeof(*m->keys));
    m->vals = pt_calloc(v->n, sizeof(*m->vals));
    if (m->keys == NULL || m->vals == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < v->n; i++) {
        const pt_node_t *it = v->items[i];
        snprintf(item, sizeof(item), "%s.%s", label, v->keys[i]);
        if (it->type != PT_NODE_SCALAR) {
            pt_cfg_error(ld->d, it->line, item, "expected a string, got %s", pt_node_kind(it));
            return -EINVAL;
        }
        if (check_text(ld, item, it) != 0) {
            return -EINVAL;
        }
        /* A key with no value ("X-Empty:") is an empty string, as in the Go agent. */
        m->keys[m->n] = pt_strdup(v->keys[i]);
        m->vals[m->n] = pt_strdup(it->is_null ? "" : it->scalar);
        if (m->keys[m->n] == NULL || m->vals[m->n] == NULL) {
            pt_free(m->keys[m->n]);
            pt_free(m->vals[m->n]);
            m->keys[m->n] = NULL;
            m->vals[m->n] = NULL;
            return -ENOMEM;
        }
        m->n++;
    }
    return 0;
}

/* Converts a present, non-null value into the field's slot. Returns 0, -EINVAL after reporting,
 * or -ENOMEM (reported by the caller). On failure the slot keeps its default. */
static int load_value(loader_t *ld, const pt_cfg_field_t *f, const char *label, const pt_node_t *v)
{
    void *p = slot(f, ld->out);
    char buf[CFG_SHOW_MAX];
    int rc;

    if (f->type == PT_CFG_NODE) {
        *(const pt_node_t **)p = v;
        return 0;
    }
    if (f->type == PT_CFG_SECTION) {
        if (v->type != PT_NODE_MAP) {
            pt_cfg_error(ld->d, v->line, label, "expected a map, got %s", pt_node_kind(v));
            return -EINVAL;
        }
        if (f->flags & PT_CFG_PRESENCE) {
            *(const pt_node_t **)p = v;
        }
        return 0;
    }
    if (f->type == PT_CFG_STRLIST) {
        pt_strlist_t l = {NULL, 0};
        rc = load_strlist(ld, f, label, v, &l);
        if (rc != 0) {
            pt_strlist_free(&l);
            return rc;
        }
        pt_strlist_free(p);
        *(pt_strlist_t *)p = l;
        return 0;
    }
    if (f->type == PT_CFG_STRMAP) {
        pt_strmap_t m = {NULL, NULL, 0};
        rc = load_strmap(ld, label, v, &m);
        if (rc != 0) {
            pt_strmap_free(&m);
            return rc;
        }
        pt_strmap_free(p);
        *(pt_strmap_t *)p = m;
        return 0;
    }

    /* The remaining types take one scalar. */
    if (v->type != PT_NODE_SCALAR) {
        static const char *const want[] = {
            [PT_CFG_BOOL] = "true or false",
            [PT_CFG_INT] = "an integer",
            [PT_CFG_DOUBLE] = "a number",
            [PT_CFG_STRING] = "a string",
        };
        pt_cfg_error(ld->d, v->line, label, "expected %s, got %s", want[f->type], pt_node_kind(v));
        return -EINVAL;
    }
    if (check_text(ld, label, v) != 0) {
        return -EINVAL;
    }
    switch (f->type) {
    case PT_CFG_BOOL: {
        int b;
        if (parse_bool(v->scalar, &b) != 0) {
            pt_cfg_error(ld->d, v->line, label, "expected true or false, got %s",
                         show(f, v, 1, buf, sizeof(buf)));
            return -EINVAL;
        }
        *(int *)p = b;
        return 0;
    }
    case PT_CFG_INT: {
        int64_t x;
        rc = parse_int(v->scalar, &x);
        if (rc == -ERANGE) {
            pt_cfg_error(ld->d, v->line, label, "integer out of range, got %s",
                         show(f, v, 1, buf, sizeof(buf)));
            return -EINVAL;
        }
        if (rc != 0) {
            pt_cfg_error(ld->d, v->line, label, "expected an integer, got %s",
                         show(f, v, 1, buf, sizeof(buf)));
            return -EINVAL;
        }
        if (check_bounds(ld, f, label, v, (double)x) != 0) {
            return -EINVAL;
        }
        *(int64_t *)p = x;
        return 0;
    }
    case PT_CFG_DOUBLE: {
        double x;
        rc = parse_double(v->scalar, &x);
        if (rc == -ERANGE) {
            pt_cfg_error(ld->d, v->line, label, "number out of range, got %s",
                         show(f, v, 1, buf, sizeof(buf)));
            return -EINVAL;
        }
        if (rc != 0) {
            pt_cfg_error(ld->d, v->line, label, "expected a number, got %s",
                         show(f, v, 1, buf, sizeof(buf)));
            return -EINVAL;
        }
        if (check_bounds(ld, f, label, v, x) != 0) {
            return -EINVAL;
        }
        *(double *)p = x;
        return 0;
    }
    case PT_CFG_STRING: {
        if (f->choices != NULL && check_choices(ld, f, label, v) != 0) {
            return -EINVAL;
        }
        char *s = pt_strdup(v->scalar);
        if (s == NULL) {
            return -ENOMEM;
        }
        pt_free(*(char **)p);
        *(char **)p = s;
        return 0;
    }
    default:
        return 0;
    }
}

/* Finds and loads one field. An explicit null ("Key:" with nothing after it) counts as absent,
 * so the default stays; a REQUIRED key must have a real value. */
static void load_field(loader_t *ld, const pt_cfg_field_t *f)
{
    size_t plen = prefix_len(f->key);
    const pt_node_t *sec;
    char label[CFG_LABEL_MAX];

    if (section_node(ld, f->key, plen, &sec) != 1) {
        /* Absent section: only REQUIRED matters. A non-map section was reported on its own. */
        if ((f->flags & PT_CFG_REQUIRED) && section_node(ld, f->key, plen, &sec) == 0) {
            const pt_node_t *anchor = ld->root;
            /* Point at the deepest enclosing map that exists. */
            for (size_t p = plen; p > 0; p--) {
                if (p == plen || f->key[p] == '.') {
                    if (section_node(ld, f->key, p, &sec) == 1) {
                        anchor = sec;
                        break;
                    }
                }
            }
            pt_cfg_error(ld->d, anchor != NULL ? anchor->line : 0, f->key,
                         "required key is missing");
        }
        return;
    }
    const char *name = leaf(f->key);
    int ik = map_find(sec, name, strlen(name));
    int ia = f->alias != NULL ? map_find(sec, f->alias, strlen(f->alias)) : -1;
    int idx = ik >= 0 ? ik : ia;

    snprintf(label, sizeof(label), "%.*s%s%s", (int)plen, f->key, plen > 0 ? "." : "",
             ik < 0 && ia >= 0 ? f->alias : name);
    if (ik >= 0 && ia >= 0) {
        pt_cfg_error(ld->d, sec->key_lines[ia], label, "both '%s' and its alias '%s' are set", name,
                     f->alias);
        return;
    }
    if (idx < 0 || (sec->items[idx]->type == PT_NODE_SCALAR && sec->items[idx]->is_null &&
                    f->type != PT_CFG_SECTION)) {
        if (f->flags & PT_CFG_REQUIRED) {
            if (idx < 0) {
                pt_cfg_error(ld->d, sec->line, label, "required key is missing");
            } else {
                pt_cfg_error(ld->d, sec->key_lines[idx], label, "required key has no value");
            }
        }
        return;
    }
    const pt_node_t *v = sec->items[idx];
    if (f->type == PT_CFG_SECTION && v->type == PT_NODE_SCALAR && v->is_null) {
        return;
    }
    if (load_value(ld, f, label, v) == -ENOMEM) {
        pt_cfg_error(ld->d, v->line, label, "out of memory");
    }
}

/* ---- unknown keys ---------------------------------------------------------------------------- */

/* Case-insensitive Levenshtein distance; SIZE_MAX for strings too long to bother with. */
static size_t lev_ci(const char *a, const char *b)
{
    size_t na = strlen(a);
    size_t nb = strlen(b);
    size_t row[CFG_LEV_MAX + 1];

    if (na > CFG_LEV_MAX || nb > CFG_LEV_MAX) {
        return SIZE_MAX;
    }
    for (size_t j = 0; j <= nb; j++) {
        row[j] = j;
    }
    for (size_t i = 1; i <= na; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= nb; j++) {
            size_t up = row[j];
            int same = tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 1]);
            size_t best = diag + (same ? 0 : 1);
            if (up + 1 < best) {
                best = up + 1;
            }
            if (row[j - 1] + 1 < best) {
                best = row[j - 1] + 1;
            }
            row[j] = best;
            diag = up;
        }
    }
    return row[nb];
}

typedef struct {
    const char *best;
    size_t dist;
    size_t limit;
    const char *key;
} nearest_t;

static void nearest_try(nearest_t *nr, const char *cand)
{
    size_t klen = strlen(nr->key);
    size_t clen = strlen(cand);
    /* The distance is at least the difference in length: skip the table walk when that alone is
     * too far, which keeps maps with thousands of unknown keys cheap. */
    if ((klen > clen ? klen - clen : clen - klen) > nr->limit) {
        return;
    }
    size_t dist = lev_ci(nr->key, cand);
    if (dist <= nr->limit && dist < nr->dist) {
        nr->best = cand;
        nr->dist = dist;
    }
}

static void nearest_init(nearest_t *nr, const char *key)
{
    size_t len = strlen(key);
    nr->best = NULL;
    nr->dist = SIZE_MAX;
    nr->limit = len / 3 > 2 ? len / 3 : 2;
    nr->key = key;
}

/* Nearest among the keys declared directly under `prefix` (leaf names and aliases). */
static const char *nearest_in(const pt_cfg_field_t *map, size_t n, const char *prefix, size_t plen,
                              const char *key, const char *const *extra)
{
    nearest_t nr;
    nearest_init(&nr, key);
    for (size_t i = 0; i < n; i++) {
        if (prefix_len(map[i].key) != plen || memcmp(map[i].key, prefix, plen) != 0) {
            continue;
        }
        nearest_try(&nr, leaf(map[i].key));
        if (map[i].alias != NULL) {
            nearest_try(&nr, map[i].alias);
        }
    }
    for (size_t i = 0; extra != NULL && extra[i] != NULL; i++) {
        nearest_try(&nr, extra[i]);
    }
    return nr.best;
}

const char *pt_cfg_nearest(const pt_cfg_field_t *map, size_t n, const char *key)
{
    nearest_t nr;
    nearest_init(&nr, key);
    for (size_t i = 0; i < n; i++) {
        nearest_try(&nr, map[i].key);
        if (map[i].alias != NULL) {
            nearest_try(&nr, map[i].alias);
        }
    }
    return nr.best;
}

/* A key under `prefix` is known if a field declares it (or its alias) there, or if some dotted
 * field lives below it (a section whose SECTION entry was left out of the table). */
static int is_known(const loader_t *ld, const char *prefix, size_t plen, const char *key)
{
    size_t klen = strlen(key);
    for (size_t i = 0; i < ld->n; i++) {
        const char *fk = ld->map[i].key;
        if (plen > 0 && (strncmp(fk, prefix, plen) != 0 || fk[plen] != '.')) {
            continue;
        }
        const char *rest = plen > 0 ? fk + plen + 1 : fk;
        size_t rlen = strlen(rest);
        const char *dot = strchr(rest, '.');
        if (dot == NULL) {
            if ((rlen == klen && memcmp(rest, key, klen) == 0) ||
                (ld->map[i].alias != NULL && strcmp(ld->map[i].alias, key) == 0)) {
                return 1;
            }
        } else if ((size_t)(dot - rest) == klen && memcmp(rest, key, klen) == 0) {
            return 1;
        }
    }
    if (plen == 0) {
        for (size_t i = 0; ld->ignore != NULL && ld->ignore[i] != NULL; i++) {
            if (strcmp(ld->ignore[i], key) == 0) {
                return 1;
            }
        }
    }
    return 0;
}

static void warn_unknown(const loader_t *ld, const pt_node_t *map, const char *prefix, size_t plen)
{
    char label[CFG_LABEL_MAX];
    for (size_t i = 0; i < map->n; i++) {
        const char *key = map->keys[i];
        if (is_known(ld, prefix, plen, key)) {
            continue;
        }
        snprintf(label, sizeof(label), "%.*s%s%s", (int)plen, prefix, plen > 0 ? "." : "", key);
        const char *near =
            nearest_in(ld->map, ld->n, prefix, plen, key, plen == 0 ? ld->ignore : NULL);
        if (near == NULL) {
            /* A sub-key written at the wrong level ("MinCnt" beside "Batch"): name its full
             * dotted key so the user sees where it belongs. */
            nearest_t nr;
            nearest_init(&nr, key);
            for (size_t j = 0; j < ld->n; j++) {
                size_t fp = prefix_len(ld->map[j].key);
                if (fp != plen || strncmp(ld->map[j].key, prefix, plen) != 0) {
                    size_t before = nr.dist;
                    nearest_try(&nr, leaf(ld->map[j].key));
                    if (nr.dist < before) {
                        nr.best = ld->map[j].key;
                    }
                }
            }
            near = nr.best;
        }
        if (near != NULL) {
            pt_cfg_warn(ld->d, map->key_lines[i], label, "unknown key; did you mean '%s'?", near);
        } else {
            pt_cfg_warn(ld->d, map->key_lines[i], label, "unknown key");
        }
    }
}

/* ---- load and free --------------------------------------------------------------------------- */

int pt_cfg_load(const pt_cfg_field_t *map, size_t n, const pt_node_t *node, void *out,
                const char *const *ignore, pt_cfg_diag_t *d)
{
    loader_t ld = {map, n, node, out, ignore, d};
    int before = d->nerrors;

    for (size_t i = 0; i < n; i++) {
        apply_default(&ld, &map[i]);
    }
    if (node != NULL && node->type == PT_NODE_SCALAR && node->is_null) {
        /* "global:" with nothing under it is an empty map. */
        ld.root = NULL;
    } else if (node != NULL && node->type != PT_NODE_MAP) {
        pt_cfg_error(d, node->line, NULL, "expected a map, got %s", pt_node_kind(node));
        return -EINVAL;
    }
    for (size_t i = 0; i < n; i++) {
        load_field(&ld, &map[i]);
    }
    if (ld.root != NULL) {
        warn_unknown(&ld, ld.root, "", 0);
        for (size_t i = 0; i < n; i++) {
            const pt_node_t *sec;
            if (map[i].type == PT_CFG_SECTION &&
                section_node(&ld, map[i].key, strlen(map[i].key), &sec) == 1) {
                warn_unknown(&ld, sec, map[i].key, strlen(map[i].key));
            }
        }
    }
    return d->nerrors > before ? -EINVAL : 0;
}

/* Secrets are wiped before their memory goes back to the allocator. */
static void free_text(char *s, int wipe)
{
    if (s != NULL && wipe) {
        explicit_bzero(s, strlen(s));
    }
    pt_free(s);
}

void pt_strlist_free(pt_strlist_t *l)
{
    for (size_t i = 0; i < l->n; i++) {
        pt_free(l->v[i]);
    }
    pt_free(l->v);
    l->v = NULL;
    l->n = 0;
}

void pt_strmap_free(pt_strmap_t *m)
{
    for (size_t i = 0; i < m->n; i++) {
        pt_free(m->keys[i]);
        pt_free(m->vals[i]);
    }
    pt_free(m->keys);
    pt_free(m->vals);
    m->keys = NULL;
    m->vals = NULL;
    m->n = 0;
}

void pt_cfg_free(const pt_cfg_field_t *map, size_t n, void *out)
{
    for (size_t i = 0; i < n; i++) {
        const pt_cfg_field_t *f = &map[i];
        void *p = slot(f, out);
        int wipe = (f->flags & PT_CFG_SECRET) != 0;
        switch (f->type) {
        case PT_CFG_STRING:
            free_text(*(char **)p, wipe);
            *(char **)p = NULL;
            break;
        case PT_CFG_STRLIST: {
            pt_strlist_t *l = p;
            for (size_t j = 0; wipe && j < l->n; j++) {
                explicit_bzero(l->v[j], strlen(l->v[j]));
            }
            pt_strlist_free(l);
            break;
        }
        case PT_CFG_STRMAP: {
            pt_strmap_t *m = p;
            for (size_t j = 0; wipe && j < m->n; j++) {
                explicit_bzero(m->vals[j], strlen(m->vals[j]));
            }
            pt_strmap_free(m);
            break;
        }
        case PT_CFG_NODE:
            *(const pt_node_t **)p = NULL;
            break;
        case PT_CFG_SECTION:
            if (map[i].flags & PT_CFG_PRESENCE) {
                *(const pt_node_t **)p = NULL;
            }
            break;
        default:
            break;
        }
    }
}

/* ---- docs ------------------------------------------------------------------------------------ */

static const char *type_name(pt_cfg_type_t t)
{
    switch (t) {
    case PT_CFG_BOOL:
        return "bool";
    case PT_CFG_INT:
        return "int";
    case PT_CFG_DOUBLE:
        return "double";
    case PT_CFG_STRING:
        return "string";
    case PT_CFG_STRLIST:
        return "list of strings";
    case PT_CFG_STRMAP:
        return "map of strings";
    case PT_CFG_NODE:
        return "any";
    case PT_CFG_SECTION:
        return "map";
    }
    return "?";
}

/* Table cells cannot hold '|' or line breaks. */
static int append_cell(pt_buf_t *b, const char *s)
{
    for (; *s != '\0'; s++) {
        int rc;
        if (*s == '|') {
            rc = pt_buf_append_str(b, "\\|");
        } else if (*s == '\n' || *s == '\r') {
            rc = pt_buf_putc(b, ' ');
        } else {
            rc = pt_buf_putc(b, *s);
        }
        if (rc != 0) {
            return rc;
        }
    }
    return 0;
}

int pt_cfg_doc(const pt_cfg_field_t *map, size_t n, pt_buf_t *b)
{
    char lo[48];
    char hi[48];

    if (pt_buf_append_str(b, "| Key | Type | Default | Description |\n"
                             "|-----|------|---------|-------------|\n") != 0) {
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        const pt_cfg_field_t *f = &map[i];
        const char *sp = "";
        if (pt_buf_append_str(b, "| ") != 0 || append_cell(b, f->key) != 0 ||
            pt_buf_appendf(b, " | %s | ", type_name(f->type)) != 0) {
            goto fail;
        }
        if (f->def != NULL && (f->flags & PT_CFG_SECRET)) {
            if (pt_buf_append_str(b, "(hidden)") != 0) {
                goto fail;
            }
        } else if (f->def != NULL) {
            if (pt_buf_putc(b, '`') != 0 || append_cell(b, f->def) != 0 ||
                pt_buf_putc(b, '`') != 0) {
                goto fail;
            }
        }
        if (pt_buf_append_str(b, " | ") != 0) {
            goto fail;
        }
        if (f->desc != NULL) {
            if (append_cell(b, f->desc) != 0) {
                goto fail;
            }
            sp = " ";
        }
        if (f->flags & PT_CFG_REQUIRED) {
            if (pt_buf_appendf(b, "%sRequired.", sp) != 0) {
                goto fail;
            }
            sp = " ";
        }
        if (f->flags & PT_CFG_BOUNDED) {
            format_bound(f->min, lo, sizeof(lo));
            format_bound(f->max, hi, sizeof(hi));
            if (pt_buf_appendf(b, "%sBetween %s and %s.", sp, lo, hi) != 0) {
                goto fail;
            }
            sp = " ";
        }
        if (f->choices != NULL) {
            if (pt_buf_appendf(b, "%sOne of: `", sp) != 0) {
                goto fail;
            }
            for (const char *c = f->choices; *c != '\0'; c++) {
                int rc = *c == '|' ? pt_buf_append_str(b, "`, `") : pt_buf_putc(b, *c);
                if (rc != 0) {
                    goto fail;
                }
            }
            if (pt_buf_append_str(b, "`.") != 0) {
                goto fail;
            }
            sp = " ";
        }
        if (f->type == PT_CFG_STRLIST && (f->flags & PT_CFG_COMMA)) {
            if (pt_buf_appendf(b, "%sA comma-separated string is also accepted.", sp) != 0) {
                goto fail;
            }
            sp = " ";
        }
        if (f->alias != NULL) {
            if (pt_buf_appendf(b, "%sAlso accepted as `", sp) != 0 ||
                append_cell(b, f->alias) != 0 || pt_buf_append_str(b, "`.") != 0) {
                goto fail;
            }
            sp = " ";
        }
        if (f->flags & PT_CFG_SECRET) {
            if (pt_buf_appendf(b, "%sSecret: never logged.", sp) != 0) {
                goto fail;
            }
        }
        if (pt_buf_append_str(b, " |\n") != 0) {
            goto fail;
        }
    }
    return 0;

fail:
    return -ENOMEM;
}
