/* Record assembly: turns lines into records. Without Multiline options every line is a record
 * (the reader's fast path never comes here). Multiline.Mode custom follows LoongCollector:
 * StartPattern, ContinuePattern and EndPattern are pcre2 regexes matched at the start of a line
 * (a trailing ".*" is dropped, as LoongCollector does, since it cannot change a prefix match);
 * lines that fit no record are kept one by one or dropped (UnmatchedContentTreatment). JSON mode
 * joins the lines of one JSON object (balanced braces outside strings). The assembler is
 * stateless between calls: the reader carries the unfinished record forward and feeds it again,
 * which gives the same answer because a carried record always starts at a record start. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <string.h>

#include "core/log.h"
#include "core/mem.h"
#include "input_file_internal.h"

/* ============================================================================= regexes ==== */

pt_pcre2_code_t *pt_if_re_compile(const char *pat, int full, char *err, size_t errlen)
{
    int ec = 0;
    PCRE2_SIZE eo = 0;
    uint32_t opts = PCRE2_ANCHORED | PCRE2_UTF | PCRE2_MATCH_INVALID_UTF;
    if (full) {
        opts |= PCRE2_ENDANCHORED;
    }
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, opts, &ec, &eo, NULL);
    if (re == NULL) {
        PCRE2_UCHAR msg[160];
        pcre2_get_error_message(ec, msg, sizeof(msg));
        snprintf(err, errlen, "'%s' is not a valid regex: %s at offset %zu", pat, (char *)msg,
                 (size_t)eo);
        return NULL;
    }
    /* JIT when the platform has it; the interpreter otherwise (same results). */
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
    return (pt_pcre2_code_t *)re;
}

int pt_if_re_match(const pt_pcre2_code_t *re, pt_pcre2_md_t *md, const char *p, size_t n)
{
    pcre2_match_data *m = (pcre2_match_data *)md;
    if (m == NULL) {
        m = pcre2_match_data_create(1, NULL);
        if (m == NULL) {
            return 0;
        }
    }
    int rc =
        pcre2_match((const pcre2_code *)re, (PCRE2_SPTR)(p != NULL ? p : ""), n, 0, 0, m, NULL);
    if (md == NULL) {
        pcre2_match_data_free(m);
    }
    return rc >= 0;
}

void pt_if_re_free(pt_pcre2_code_t *re)
{
    pcre2_code_free((pcre2_code *)re);
}

/* LoongCollector drops a trailing ".*" (and ".*$"): with a match anchored at the start it
 * changes nothing, and it saves the regex engine a scan to the end of every line. An escaped
 * "\.*" is kept. Returns a heap copy, or NULL on ENOMEM; empty means "not set". */
static char *strip_tail(const char *pat)
{
    char *p = pt_strdup(pat);
    if (p == NULL) {
        return NULL;
    }
    size_t n = strlen(p);
    if (n >= 3 && strcmp(p + n - 3, ".*$") == 0) {
        p[--n] = '\0';
    }
    while (n >= 2 && p[n - 2] == '.' && p[n - 1] == '*') {
        size_t bs = 0;
        while (bs < n - 2 && p[n - 3 - bs] == '\\') {
            bs++;
        }
        if (bs % 2 == 1) {
            break;
        }
        n -= 2;
        p[n] = '\0';
    }
    return p;
}

static int compile_opt(pt_plugin_inst_t *inst, pt_cfg_diag_t *d, const char *key, const char *pat,
                       pt_pcre2_code_t **out)
{
    *out = NULL;
    if (pat == NULL || pat[0] == '\0') {
        return 0;
    }
    char *stripped = strip_tail(pat);
    if (stripped == NULL) {
        return -ENOMEM;
    }
    int rc = 0;
    if (stripped[0] != '\0') {
        char err[512];
        *out = pt_if_re_compile(stripped, 0, err, sizeof(err));
        if (*out == NULL) {
            pt_cfg_error(d, inst->line, key, "%s", err);
            rc = -EINVAL;
        }
    }
    pt_free(stripped);
    return rc;
}

int pt_if_ml_init(pt_if_ml_t *ml, const pt_if_conf_t *c, pt_plugin_inst_t *inst, pt_cfg_diag_t *d)
{
    memset(ml, 0, sizeof(*ml));
    ml->discard_unmatched = c->ml_unmatched != NULL && strcmp(c->ml_unmatched, "discard") == 0;
    if (c->ml_mode != NULL && strcmp(c->ml_mode, "JSON") == 0) {
        ml->mode = PT_IF_ML_JSON;
        return 0;
    }
    int rc = compile_opt(inst, d, "Multiline.StartPattern", c->ml_start, &ml->start);
    int rc2 = compile_opt(inst, d, "Multiline.ContinuePattern", c->ml_continue, &ml->cont);
    int rc3 = compile_opt(inst, d, "Multiline.EndPattern", c->ml_end, &ml->end);
    if (rc != 0 || rc2 != 0 || rc3 != 0) {
        pt_if_ml_free(ml);
        return rc == -ENOMEM || rc2 == -ENOMEM || rc3 == -ENOMEM ? -ENOMEM : -EINVAL;
    }
    if (ml->cont != NULL && ml->start == NULL && ml->end == NULL) {
        pt_cfg_warn(d, inst->line, "Multiline.ContinuePattern",
                    "ignored: it needs StartPattern or EndPattern (lines stay single records)");
        pt_if_re_free(ml->cont);
        ml->cont = NULL;
    } else if (ml->start != NULL && ml->cont != NULL && ml->end != NULL) {
        pt_cfg_warn(d, inst->line, "Multiline.ContinuePattern",
                    "ignored: StartPattern and EndPattern are both set");
        pt_if_re_free(ml->cont);
        ml->cont = NULL;
    }
    if (ml->start == NULL && ml->end == NULL) {
        return 0; /* not multiline */
    }
    ml->md = (pt_pcre2_md_t *)pcre2_match_data_create(1, NULL);
    if (ml->md == NULL) {
        pt_if_ml_free(ml);
        return -ENOMEM;
    }
    ml->mode = PT_IF_ML_CUSTOM;
    return 0;
}

void pt_if_ml_free(pt_if_ml_t *ml)
{
    pt_if_re_free(ml->start);
    pt_if_re_free(ml->cont);
    pt_if_re_free(ml->end);
    pcre2_match_data_free((pcre2_match_data *)ml->md);
    memset(ml, 0, sizeof(*ml));
}

/* ============================================================================ assembly ==== */

typedef struct {
    const pt_if_ml_t *ml;
    const pt_if_line_t *lines;
    pt_if_rec_t *recs;
    uint32_t nr;
    uint64_t *unmatched;
} out_t;

static void rec(out_t *o, uint32_t first, uint32_t last)
{
    o->recs[o->nr].first = first;
    o->recs[o->nr].last = last;
    o->nr++;
}

static void unmatched(out_t *o, uint32_t first, uint32_t last)
{
    for (uint32_t i = first; i <= last; i++) {
        (*o->unmatched)++;
        if (!o->ml->discard_unmatched) {
            rec(o, i, i);
        }
    }
}

static int m(const pt_if_ml_t *ml, const pt_pcre2_code_t *re, const pt_if_line_t *l)
{
    return pt_if_re_match(re, ml->md, l->p, l->len);
}

static uint32_t split_custom(out_t *o, uint32_t n, int final, uint32_t *pending)
{
    const pt_if_ml_t *ml = o->ml;
    const pt_pcre2_code_t *start = ml->start;
    const pt_pcre2_code_t *cont = ml->cont;
    const pt_pcre2_code_t *end = ml->end;
    /* With only an EndPattern every line opens a record (until the end line closes it). */
    int in_rec = start == NULL && cont == NULL && end != NULL;
    uint32_t first = 0;
    for (uint32_t i = 0; i < n; i++) {
        const pt_if_line_t *l = &o->lines[i];
        if (!in_rec) {
            if (m(ml, start != NULL ? start : cont, l)) {
                in_rec = 1;
                first = i;
            } else if (start == NULL && cont != NULL && end != NULL && m(ml, end, l)) {
                rec(o, i, i); /* continue + end: a lone end line is a record */
            } else {
                unmatched(o, i, i);
            }
            continue;
        }
        if (cont != NULL && m(ml, cont, l)) {
            continue;
        }
        if (end != NULL) {
            if (cont != NULL) {
                /* continue + end: the first line that does not continue must end it. */
                if (m(ml, end, l)) {
                    rec(o, first, i);
                } else {
                    unmatched(o, first, i);
                }
                in_rec = 0;
            } else if (m(ml, end, l)) {
                rec(o, first, i);
                if (start != NULL) {
                    in_rec = 0;
                } else {
                    first = i + 1;
                }
            }
        } else if (cont == NULL) {
            /* start only: a new start line ends the previous record */
            if (m(ml, start, l)) {
                rec(o, first, i - 1);
                first = i;
            }
        } else {
            /* start + continue: anything that does not continue ends the record */
            rec(o, first, i - 1);
            if (m(ml, start, l)) {
                first = i;
            } else {
                unmatched(o, i, i);
                in_rec = 0;
            }
        }
    }
    if (in_rec && first < n) {
        if (!final) {
            *pending = first;
        } else if (end == NULL) {
            rec(o, first, n - 1);
        } else {
            unmatched(o, first, n - 1); /* the end line never came */
        }
    }
    return o->nr;
}

/* JSON mode: a record starts at a line whose first non-blank byte is '{' and ends with the line
 * where the braces balance again (braces inside strings do not count). */
static uint32_t split_json(out_t *o, uint32_t n, int final, uint32_t *pending)
{
    int in_rec = 0;
    uint32_t first = 0;
    int depth = 0;
    int in_str = 0;
    int esc = 0;
    for (uint32_t i = 0; i < n; i++) {
        const pt_if_line_t *l = &o->lines[i];
        uint32_t k = 0;
        if (!in_rec) {
            while (k < l->len && (l->p[k] == ' ' || l->p[k] == '\t' || l->p[k] == '\r')) {
                k++;
            }
            if (k == l->len || l->p[k] != '{') {
                unmatched(o, i, i);
                continue;
            }
            in_rec = 1;
            first = i;
            depth = 0;
            in_str = 0;
            esc = 0;
        }
        for (; k < l->len; k++) {
            char ch = l->p[k];
            if (in_str) {
                if (esc) {
                    esc = 0;
                } else if (ch == '\\') {
                    esc = 1;
                } else if (ch == '"') {
                    in_str = 0;
                }
            } else if (ch == '"') {
                in_str = 1;
            } else if (ch == '{' || ch == '[') {
                depth++;
            } else if (ch == '}' || ch == ']') {
                depth--;
                if (depth <= 0) {
                    break;
                }
            }
        }
        if (depth <= 0) {
            rec(o, first, i);
            in_rec = 0;
        }
    }
    if (in_rec) {
        if (final) {
            rec(o, first, n - 1); /* an object cut short is still delivered as it is */
        } else {
            *pending = first;
        }
    }
    return o->nr;
}

uint32_t pt_if_ml_split(pt_if_ml_t *ml, const pt_if_line_t *lines, uint32_t n, int final,
                        pt_if_rec_t *recs, uint32_t *pending, uint64_t *unmatched_n)
{
    out_t o = {ml, lines, recs, 0, unmatched_n};
    *pending = n;
    if (ml->mode == PT_IF_ML_JSON) {
        return split_json(&o, n, final, pending);
    }
    if (ml->mode == PT_IF_ML_CUSTOM) {
        return split_custom(&o, n, final, pending);
    }
    for (uint32_t i = 0; i < n; i++) {
        rec(&o, i, i);
    }
    return o.nr;
}
