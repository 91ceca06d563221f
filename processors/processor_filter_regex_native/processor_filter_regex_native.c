/* processor_filter_regex_native: keeps only the events whose fields fully match regular
 * expressions, as LoongCollector's processor of the same name: FilterKey + FilterRegex (every
 * key present and matching), the older Include map, or a ConditionExp tree of and/or/not over
 * regex leaves; DiscardingNonUTF8 blanks the bytes of kept events that are not valid UTF-8. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "core/mem.h"
#include "core/plugin.h"
#include "core/regex.h"

typedef struct {
    pt_strlist_t filter_key;
    pt_strlist_t filter_regex;
    pt_strmap_t include;
    const pt_node_t *condition;
    int discard_non_utf8;
} fr_conf_t;

static const pt_cfg_field_t fr_map[] = {
    {"FilterKey", PT_CFG_STRLIST, NULL, 0, 0, NULL, 0, offsetof(fr_conf_t, filter_key), NULL,
     "Fields to test; an event is kept only if every one exists and fully matches its regex"},
    {"FilterRegex", PT_CFG_STRLIST, NULL, 0, 0, NULL, 0, offsetof(fr_conf_t, filter_regex), NULL,
     "One regex per FilterKey entry (same length), matched against the whole value"},
    {"Include", PT_CFG_STRMAP, NULL, 0, 0, NULL, 0, offsetof(fr_conf_t, include), NULL,
     "Older form: map of field -> regex, all must match; used only without FilterKey"},
    {"ConditionExp", PT_CFG_NODE, NULL, 0, 0, NULL, 0, offsetof(fr_conf_t, condition), NULL,
     "Expression tree: {operator: and, or or not; operands: [...]} or {key, exp, type: regex}; "
     "used only without FilterKey and Include"},
    {"DiscardingNonUTF8", PT_CFG_BOOL, "false", 0, 0, NULL, 0,
     offsetof(fr_conf_t, discard_non_utf8), NULL,
     "Replace each byte of a kept event's keys and values that is not valid UTF-8 with a space"},
};

/* ====================================================================== filter model ==== */

enum { FR_LEAF = 0, FR_AND, FR_OR, FR_NOT };

/* One node of a condition: a leaf tests one field against one regex; and/or/not combine. The
 * FilterKey and Include forms are an AND of leaves. Immutable after create(), so workers share
 * it freely. */
typedef struct fr_node_s {
    int op;
    pt_str_t key; /* leaf: field name (heap copy owned by the node) */
    pt_regex_t *re;
    struct fr_node_s **kids;
    uint32_t nkids;
} fr_node_t;

typedef struct {
    fr_node_t *root; /* NULL: keep everything (no rule configured) */
    int discard_non_utf8;
    const char *id;
} fr_state_t;

static void node_free(fr_node_t *n)
{
    if (n == NULL) {
        return;
    }
    for (uint32_t i = 0; i < n->nkids; i++) {
        node_free(n->kids[i]);
    }
    pt_free(n->kids);
    pt_regex_free(n->re);
    pt_free((char *)n->key.ptr);
    pt_free(n);
}

static fr_node_t *node_new(int op, uint32_t nkids)
{
    fr_node_t *n = pt_calloc(1, sizeof(*n));
    if (n == NULL) {
        return NULL;
    }
    n->op = op;
    if (nkids > 0) {
        n->kids = pt_calloc(nkids, sizeof(*n->kids));
        if (n->kids == NULL) {
            pt_free(n);
            return NULL;
        }
    }
    return n;
}

/* Makes a leaf for `key` and regex `exp`. Reports a bad regex as "<label>: invalid regex: ..."
 * at `line`. Returns NULL on error (reported, or -ENOMEM in *rc). */
static fr_node_t *leaf_new(const char *key, const char *exp, pt_cfg_diag_t *d, int line,
                           const char *label, int *rc)
{
    char msg[256];
    size_t off = 0;
    fr_node_t *n = node_new(FR_LEAF, 0);
    char *k = pt_strdup(key);
    if (n == NULL || k == NULL) {
        pt_free(n);
        pt_free(k);
        *rc = -ENOMEM;
        return NULL;
    }
    n->key = pt_str_c(k);
    /* boost::regex_match with Boost's Perl defaults, as LoongCollector: '.' matches a newline
     * too, so a multi-line event (a stack trace) matches ".*Exception.*". */
    n->re = pt_regex_compile(exp, strlen(exp), PT_RE_FULL | PT_RE_BOOST, msg, sizeof(msg), &off);
    if (n->re == NULL) {
        pt_cfg_error(d, line, label, "invalid regex '%s': %s at offset %zu", exp, msg, off);
        node_free(n);
        *rc = -EINVAL;
        return NULL;
    }
    return n;
}

/* FilterKey + FilterRegex, or Include: an AND of leaves. Every bad regex is reported, not only
 * the first, so that one `petrel check` run shows them all. Errors name the entry:
 * "FilterRegex[1]" or "Include.<key>". */
static int build_and(fr_state_t *s, char **keys, char **exps, size_t n, int by_key,
                     const char *what, pt_cfg_diag_t *d, int line)
{
    char label[160];
    int rc = 0;
    int bad = 0;
    fr_node_t *root = node_new(FR_AND, (uint32_t)n);
    if (root == NULL) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < n && rc != -ENOMEM; i++) {
        if (by_key) {
            snprintf(label, sizeof(label), "%s.%s", what, keys[i]);
        } else {
            snprintf(label, sizeof(label), "%s[%zu]", what, i);
        }
        fr_node_t *leaf = leaf_new(keys[i], exps[i], d, line, label, &rc);
        if (leaf == NULL) {
            bad = 1;
            continue;
        }
        root->kids[root->nkids++] = leaf;
    }
    if (bad) {
        node_free(root);
        return rc != 0 ? rc : -EINVAL;
    }
    s->root = root;
    return 0;
}

/* ---- ConditionExp ------------------------------------------------------------------------ */

static const pt_node_t *map_get(const pt_node_t *m, const char *key)
{
    return pt_node_get(m, key);
}

static int is_string(const pt_node_t *v)
{
    return v != NULL && v->type == PT_NODE_SCALAR && !v->is_null;
}

/* Parses one expression node. `path` names it in messages ("ConditionExp.operands[1]"). */
static fr_node_t *parse_exp(const pt_node_t *v, const char *path, pt_cfg_diag_t *d, int *rc)
{
    static const char *const known[] = {"operator", "operands", "key", "exp", "type", NULL};
    char sub[200];

    if (v == NULL || v->type != PT_NODE_MAP) {
        pt_cfg_error(d, v != NULL ? v->line : 0, path,
                     "expected a map: {operator, operands} or {key, exp, type}, got %s",
                     pt_node_kind(v));
        *rc = -EINVAL;
        return NULL;
    }
    for (size_t i = 0; i < v->n; i++) {
        int ok = 0;
        for (int k = 0; known[k] != NULL; k++) {
            ok |= strcmp(v->keys[i], known[k]) == 0;
        }
        if (!ok) {
            snprintf(sub, sizeof(sub), "%s.%s", path, v->keys[i]);
            pt_cfg_warn(d, v->key_lines[i], sub,
                        "unknown key; an expression has operator and operands, or key, exp "
                        "and type");
        }
    }

    const pt_node_t *op = map_get(v, "operator");
    if (op != NULL) {
        const pt_node_t *args = map_get(v, "operands");
        int kind;
        if (!is_string(op)) {
            snprintf(sub, sizeof(sub), "%s.operator", path);
            pt_cfg_error(d, op->line, sub, "expected and, or or not, got %s", pt_node_kind(op));
            *rc = -EINVAL;
            return NULL;
        }
        /* LoongCollector lower-cases the operator before comparing. */
        if (strcasecmp(op->scalar, "and") == 0) {
            kind = FR_AND;
        } else if (strcasecmp(op->scalar, "or") == 0) {
            kind = FR_OR;
        } else if (strcasecmp(op->scalar, "not") == 0) {
            kind = FR_NOT;
        } else {
            snprintf(sub, sizeof(sub), "%s.operator", path);
            pt_cfg_error(d, op->line, sub, "unknown operator '%s'; expected and, or or not",
                         op->scalar);
            *rc = -EINVAL;
            return NULL;
        }
        snprintf(sub, sizeof(sub), "%s.operands", path);
        if (args == NULL || args->type != PT_NODE_SEQ) {
            pt_cfg_error(d, args != NULL ? args->line : v->line, sub,
                         "'%s' needs a list of operands, got %s", op->scalar, pt_node_kind(args));
            *rc = -EINVAL;
            return NULL;
        }
        /* not takes one operand. and/or take two in LoongCollector; more are accepted here and
         * combine the same way, so every LoongCollector expression means the same. */
        if ((kind == FR_NOT && args->n != 1) || (kind != FR_NOT && args->n < 2)) {
            pt_cfg_error(d, args->line, sub, "'%s' takes %s operand%s, got %zu", op->scalar,
                         kind == FR_NOT ? "exactly 1" : "at least 2", kind == FR_NOT ? "" : "s",
                         args->n);
            *rc = -EINVAL;
            return NULL;
        }
        fr_node_t *n = node_new(kind, (uint32_t)args->n);
        if (n == NULL) {
            *rc = -ENOMEM;
            return NULL;
        }
        for (size_t i = 0; i < args->n; i++) {
            snprintf(sub, sizeof(sub), "%s.operands[%zu]", path, i);
            fr_node_t *kid = parse_exp(args->items[i], sub, d, rc);
            if (kid == NULL) {
                node_free(n);
                return NULL;
            }
            n->kids[n->nkids++] = kid;
        }
        return n;
    }

    const pt_node_t *key = map_get(v, "key");
    const pt_node_t *exp = map_get(v, "exp");
    const pt_node_t *type = map_get(v, "type");
    const char *missing = !is_string(key) ? "key" : !is_string(exp) ? "exp" : NULL;
    if (missing != NULL) {
        const pt_node_t *bad = map_get(v, missing);
        snprintf(sub, sizeof(sub), "%s.%s", path, missing);
        pt_cfg_error(d, bad != NULL ? bad->line : v->line, sub,
                     bad != NULL ? "expected a string, got %s"
                                 : "missing (an expression needs operator and operands, or key, "
                                   "exp and type)%s",
                     bad != NULL ? pt_node_kind(bad) : "");
        *rc = -EINVAL;
        return NULL;
    }
    snprintf(sub, sizeof(sub), "%s.type", path);
    if (!is_string(type)) {
        pt_cfg_error(d, type != NULL ? type->line : v->line, sub,
                     type != NULL ? "expected regex, got %s" : "missing; the only type is regex%s",
                     type != NULL ? pt_node_kind(type) : "");
        *rc = -EINVAL;
        return NULL;
    }
    if (strcasecmp(type->scalar, "regex") != 0) {
        pt_cfg_error(d, type->line, sub, "unknown type '%s'; the only type is regex", type->scalar);
        *rc = -EINVAL;
        return NULL;
    }
    snprintf(sub, sizeof(sub), "%s.exp", path);
    return leaf_new(key->scalar, exp->scalar, d, exp->line, sub, rc);
}

/* ====================================================================== lifecycle ======== */

static int fr_create(pt_plugin_inst_t *inst, const pt_plugin_env_t *env, pt_cfg_diag_t *d)
{
    fr_conf_t *c = inst->config;
    int rc = 0;
    int have_rule = c->filter_key.n > 0 || c->filter_regex.n > 0;
    int have_include = c->include.n > 0;
    int have_exp = c->condition != NULL;

    fr_state_t *s = pt_calloc(1, sizeof(*s));
    if (s == NULL) {
        return -ENOMEM;
    }
    s->discard_non_utf8 = c->discard_non_utf8;
    s->id = inst->id;

    /* LoongCollector takes the first form that is set, in this order, and ignores the rest;
     * a config that sets several most likely expects them all to apply, so say so. */
    if (have_rule) {
        if (c->filter_key.n != c->filter_regex.n) {
            pt_cfg_error(d, inst->line, "FilterRegex",
                         "has %zu entr%s but FilterKey has %zu; they must pair up one to one",
                         c->filter_regex.n, c->filter_regex.n == 1 ? "y" : "ies", c->filter_key.n);
            rc = -EINVAL;
            goto fail;
        }
        rc = build_and(s, c->filter_key.v, c->filter_regex.v, c->filter_key.n, 0, "FilterRegex", d,
                       inst->line);
        if (rc != 0) {
            goto fail;
        }
        if (have_include) {
            pt_cfg_warn(d, inst->line, "Include", "ignored: FilterKey and FilterRegex are set");
        }
        if (have_exp) {
            pt_cfg_warn(d, c->condition->line, "ConditionExp",
                        "ignored: FilterKey and FilterRegex are set");
        }
    } else if (have_include) {
        rc = build_and(s, c->include.keys, c->include.vals, c->include.n, 1, "Include", d,
                       inst->line);
        if (rc != 0) {
            goto fail;
        }
        if (have_exp) {
            pt_cfg_warn(d, c->condition->line, "ConditionExp", "ignored: Include is set");
        }
    } else if (have_exp) {
        s->root = parse_exp(c->condition, "ConditionExp", d, &rc);
        if (s->root == NULL) {
            goto fail;
        }
    }
    inst->state = s;
    return 0;

fail:
    node_free(s->root);
    pt_free(s);
    return rc != 0 ? rc : -EINVAL;
}

static void fr_destroy(pt_plugin_inst_t *inst)
{
    fr_state_t *s = inst->state;
    if (s != NULL) {
        node_free(s->root);
        pt_free(s);
    }
    inst->state = NULL;
}

/* ====================================================================== evaluation ======= */

/* The value of `key` in a RAW or LOG event; a raw line is the field "content". */
static const pt_str_t *value_of(const pt_event_t *ev, pt_str_t key)
{
    if (ev->type == PT_EVENT_RAW) {
        return pt_str_eq_c(key, "content") ? &ev->raw : NULL;
    }
    return pt_event_get(ev, key);
}

typedef struct {
    uint64_t match_errors;
    int nomem;
} fr_ctx_t;

static int eval(const fr_node_t *n, const pt_event_t *ev, fr_ctx_t *cx)
{
    switch (n->op) {
    case FR_LEAF: {
        const pt_str_t *v = value_of(ev, n->key);
        if (v == NULL) {
            return 0;
        }
        int rc = pt_regex_match(n->re, v->ptr, v->len, 0, NULL, 0);
        if (rc < 0) {
            /* As LoongCollector: a match that fails on an error counts as no match. */
            cx->match_errors++;
            cx->nomem |= rc == -ENOMEM;
            return 0;
        }
        return rc;
    }
    case FR_AND:
        for (uint32_t i = 0; i < n->nkids; i++) {
            if (!eval(n->kids[i], ev, cx)) {
                return 0;
            }
        }
        return 1;
    case FR_OR:
        for (uint32_t i = 0; i < n->nkids; i++) {
            if (eval(n->kids[i], ev, cx)) {
                return 1;
            }
        }
        return 0;
    default:
        return !eval(n->kids[0], ev, cx);
    }
}

/* ---- UTF-8 ------------------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at p (1 to 4), or 0 when the byte at p starts none.
 * LoongCollector's rules: overlong forms and code points past U+10FFFF are invalid; encoded
 * surrogates (U+D800-DFFF) are let through, as it does. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    uint32_t cp;
    if (c < 0x80) {
        return 1;
    }
    if ((c & 0xe0) == 0xc0) {
        if (n < 2 || (p[1] & 0xc0) != 0x80) {
            return 0;
        }
        cp = ((c & 0x1fu) << 6) | (p[1] & 0x3fu);
        return cp >= 0x80 ? 2 : 0;
    }
    if ((c & 0xf0) == 0xe0) {
        if (n < 3 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80) {
            return 0;
        }
        cp = ((c & 0x0fu) << 12) | ((p[1] & 0x3fu) << 6) | (p[2] & 0x3fu);
        return cp >= 0x800 ? 3 : 0;
    }
    if ((c & 0xf8) == 0xf0) {
        if (n < 4 || (p[1] & 0xc0) != 0x80 || (p[2] & 0xc0) != 0x80 || (p[3] & 0xc0) != 0x80) {
            return 0;
        }
        cp = ((c & 0x07u) << 18) | ((p[1] & 0x3fu) << 12) | ((p[2] & 0x3fu) << 6) | (p[3] & 0x3fu);
        return cp >= 0x10000 && cp <= 0x10ffff ? 4 : 0;
    }
    return 0;
}

/* Offset of the first byte that starts no valid sequence, or n when the text is valid. Runs of
 * ASCII, most of any log, are skipped 8 bytes at a time. */
static size_t utf8_first_bad(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        while (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, p + i, sizeof(w));
            if (w & 0x8080808080808080ull) {
                break;
            }
            i += 8;
        }
        if (i >= n) {
            break;
        }
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t k = utf8_len(p + i, n - i);
        if (k == 0) {
            return i;
        }
        i += k;
    }
    return n;
}

/* A copy of v in the arena where every byte that starts no valid sequence is a space, the way
 * LoongCollector repairs it (the bytes of a broken sequence become one space each). */
static int utf8_repair(pt_group_t *g, pt_str_t *v, size_t bad)
{
    char *out = pt_arena_alloc(g->arena, v->len);
    if (out == NULL) {
        return -ENOMEM;
    }
    memcpy(out, v->ptr, v->len);
    const unsigned char *p = (const unsigned char *)out;
    size_t i = bad;
    while (i < v->len) {
        size_t k = utf8_len(p + i, v->len - i);
        if (k == 0) {
            out[i++] = ' ';
        } else {
            i += k;
        }
    }
    v->ptr = out;
    return 0;
}

static int repair_event(pt_group_t *g, pt_event_t *ev)
{
    if (ev->type == PT_EVENT_RAW) {
        size_t bad = utf8_first_bad(ev->raw.ptr, ev->raw.len);
        return bad < ev->raw.len ? utf8_repair(g, &ev->raw, bad) : 0;
    }
    uint32_t bad_keys = 0;
    for (uint32_t i = 0; i < ev->nfields; i++) {
        pt_field_t *f = &ev->fields[i];
        size_t bad = utf8_first_bad(f->val.ptr, f->val.len);
        if (bad < f->val.len && utf8_repair(g, &f->val, bad) != 0) {
            return -ENOMEM;
        }
        bad_keys += utf8_first_bad(f->key.ptr, f->key.len) < f->key.len;
    }
    if (bad_keys == 0) {
        return 0;
    }
    /* A repaired key moves to the end (LoongCollector deletes the field and sets it again), and
     * replaces a field that already had the repaired name. */
    pt_field_t moved[16];
    pt_field_t *m = bad_keys <= 16 ? moved : pt_arena_alloc(g->arena, sizeof(*m) * bad_keys);
    if (m == NULL) {
        return -ENOMEM;
    }
    uint32_t nm = 0;
    uint32_t w = 0;
    for (uint32_t i = 0; i < ev->nfields; i++) {
        pt_field_t f = ev->fields[i];
        size_t bad = utf8_first_bad(f.key.ptr, f.key.len);
        if (bad < f.key.len) {
            if (utf8_repair(g, &f.key, bad) != 0) {
                return -ENOMEM;
            }
            m[nm++] = f;
        } else {
            ev->fields[w++] = f;
        }
    }
    ev->nfields = w;
    for (uint32_t i = 0; i < nm; i++) {
        if (pt_event_set(g, ev, m[i].key, m[i].val) != 0) {
            return -ENOMEM;
        }
    }
    return 0;
}

/* ====================================================================== process ========== */

static int fr_process(pt_plugin_inst_t *inst, pt_group_t *g)
{
    const fr_state_t *s = inst->state;
    fr_ctx_t cx = {0, 0};

    for (uint32_t i = 0; i < g->nevents; i++) {
        pt_event_t *ev = &g->events[i];
        if ((ev->flags & PT_EVENT_F_DROPPED) ||
            (ev->type != PT_EVENT_RAW && ev->type != PT_EVENT_LOG)) {
            continue; /* metrics and spans pass, as LoongCollector filters only logs */
        }
        if (s->root != NULL) {
            /* With a rule, an event without any field never passes. */
            int keep = (ev->type == PT_EVENT_RAW || ev->nfields > 0) && eval(s->root, ev, &cx);
            if (cx.nomem) {
                return -ENOMEM;
            }
            if (!keep) {
                ev->flags |= PT_EVENT_F_DROPPED;
                continue;
            }
        }
        if (s->discard_non_utf8 && repair_event(g, ev) != 0) {
            return -ENOMEM;
        }
    }
    if (cx.match_errors > 0) {
        pt_counter_add(inst->m.errors, cx.match_errors);
        PT_LOG(PT_LOG_DEBUG, s->id,
               "%llu regex match(es) gave up on the backtracking limit; counted as no match",
               (unsigned long long)cx.match_errors);
    }
    return 0;
}

const pt_plugin_t pt_plugin_processor_filter_regex_native = {
    .name = "processor_filter_regex_native",
    .kind = PT_PLUGIN_PROCESSOR,
    .description = "Keeps only the events whose fields fully match regular expressions",
    .config_map = fr_map,
    .config_n = sizeof(fr_map) / sizeof(fr_map[0]),
    .config_size = sizeof(fr_conf_t),
    .create = fr_create,
    .destroy = fr_destroy,
    .process = fr_process,
};
