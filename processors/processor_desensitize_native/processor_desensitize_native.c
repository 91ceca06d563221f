/* processor_desensitize_native: masks sensitive text in one field, as LoongCollector's processor
 * of the same name. Whatever matches ReplacedContentPattern right after a match of
 * ContentPatternBeforeReplacedString is replaced by a constant or by its MD5 (upper-case hex),
 * the first match only or all of them; the prefix is kept. The masked value is written into the
 * group's arena; untouched values stay views into the line. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "core/log.h"
#include "core/mem.h"
#include "core/plugin.h"
#include "core/regex.h"

typedef struct {
    char *source_key;
    char *method;
    char *replacing_string;
    char *before;
    char *replaced;
    int replacing_all;
} ds_conf_t;

static const pt_cfg_field_t ds_map[] = {
    {"SourceKey", PT_CFG_STRING, NULL, 0, 0, NULL, PT_CFG_REQUIRED, offsetof(ds_conf_t, source_key),
     NULL, "Field to mask (content for raw lines)"},
    {"Method", PT_CFG_STRING, NULL, 0, 0, "const|md5", PT_CFG_REQUIRED, offsetof(ds_conf_t, method),
     NULL,
     "const: replace with ReplacingString; md5: replace with the MD5 of the text (upper-case hex)"},
    {"ReplacingString", PT_CFG_STRING, NULL, 0, 0, NULL, 0, offsetof(ds_conf_t, replacing_string),
     NULL,
     "Replacement for Method const (required then); \\\\ is a backslash, \\1-\\9 insert groups"},
    {"ContentPatternBeforeReplacedString", PT_CFG_STRING, NULL, 0, 0, NULL, PT_CFG_REQUIRED,
     offsetof(ds_conf_t, before), NULL, "Regex of the text just before the sensitive part (kept)"},
    {"ReplacedContentPattern", PT_CFG_STRING, NULL, 0, 0, NULL, PT_CFG_REQUIRED,
     offsetof(ds_conf_t, replaced), NULL, "Regex of the sensitive part (replaced)"},
    {"ReplacingAll", PT_CFG_BOOL, "true", 0, 0, NULL, 0, offsetof(ds_conf_t, replacing_all), NULL,
     "Replace every match; false: only the first"},
};

/* The const replacement, parsed once: literal bytes and references to groups of the combined
 * pattern, as RE2's rewrite strings (LoongCollector prepends \1 to keep the prefix). */
typedef struct {
    int group; /* -1: literal text */
    const char *lit;
    size_t len;
} ds_piece_t;

typedef struct {
    pt_regex_t *re; /* "(" before ")" replaced, as LoongCollector builds it */
    int md5;
    int all;
    pt_str_t key;
    ds_piece_t *pieces;
    size_t npieces;
    uint32_t max_group;
    EVP_MD *md;
    const char *id;
} ds_state_t;

/* ====================================================================== lifecycle ======== */

/* Splits "\1" + ReplacingString into pieces. Returns 0, -EINVAL (reported) or -ENOMEM. */
static int parse_rewrite(ds_state_t *s, const char *rs, pt_plugin_inst_t *inst, pt_cfg_diag_t *d)
{
    size_t n = strlen(rs);
    /* At most one piece per byte, plus the leading \1. */
    s->pieces = pt_calloc(n + 1, sizeof(*s->pieces));
    if (s->pieces == NULL) {
        return -ENOMEM;
    }
    s->pieces[s->npieces++] = (ds_piece_t){1, NULL, 0};
    s->max_group = 1;
    size_t i = 0;
    while (i < n) {
        size_t j = i;
        while (j < n && rs[j] != '\\') {
            j++;
        }
        if (j > i) {
            s->pieces[s->npieces++] = (ds_piece_t){-1, rs + i, j - i};
        }
        if (j == n) {
            break;
        }
        /* A backslash: \\ is one backslash, \0-\9 a group; RE2 rejects anything else. */
        if (j + 1 < n && rs[j + 1] == '\\') {
            s->pieces[s->npieces++] = (ds_piece_t){-1, rs + j, 1};
        } else if (j + 1 < n && rs[j + 1] >= '0' && rs[j + 1] <= '9') {
            int grp = rs[j + 1] - '0';
            s->pieces[s->npieces++] = (ds_piece_t){grp, NULL, 0};
            if ((uint32_t)grp > s->max_group) {
                s->max_group = (uint32_t)grp;
            }
        } else {
            pt_cfg_error(d, inst->line, "ReplacingString",
                         "invalid escape at offset %zu: write \\\\ for a backslash, \\0 to \\9 "
                         "for a group",
                         j);
            return -EINVAL;
        }
        i = j + 2;
    }
    return 0;
}

/* Compiles the combined pattern and reports an error against the option it came from. */
static int compile(ds_state_t *s, const ds_conf_t *c, pt_plugin_inst_t *inst, pt_cfg_diag_t *d)
{
    size_t nb = strlen(c->before);
    size_t nr = strlen(c->replaced);
    char msg[256];
    size_t off = 0;
    char *pat = pt_malloc(nb + nr + 3);
    if (pat == NULL) {
        return -ENOMEM;
    }
    pat[0] = '(';
    memcpy(pat + 1, c->before, nb);
    pat[nb + 1] = ')';
    memcpy(pat + nb + 2, c->replaced, nr);
    pat[nb + nr + 2] = '\0';
    /* Bytes, not UTF-8 characters as in RE2 (LoongCollector's engine): in PCRE2's UTF mode an
     * invalid byte can match nothing, so a stray one inside a secret would end the match early
     * and leave the rest in clear. The one visible difference: '.' counts bytes. */
    s->re = pt_regex_compile(pat, nb + nr + 2, 0, msg, sizeof(msg), &off);
    pt_free(pat);
    if (s->re != NULL) {
        return 0;
    }
    if (strcmp(msg, "out of memory") == 0) {
        return -ENOMEM;
    }
    /* Say which option is wrong, and where in it: a part that fails on its own is the culprit
     * (an unclosed group in the prefix would otherwise show up at the end of the whole). */
    const char *key[2] = {"ContentPatternBeforeReplacedString", "ReplacedContentPattern"};
    const char *part[2] = {c->before, c->replaced};
    for (int i = 0; i < 2; i++) {
        char pmsg[256];
        size_t poff = 0;
        pt_regex_t *alone =
            pt_regex_compile(part[i], strlen(part[i]), 0, pmsg, sizeof(pmsg), &poff);
        if (alone == NULL) {
            if (strcmp(pmsg, "out of memory") == 0) {
                return -ENOMEM;
            }
            pt_cfg_error(d, inst->line, key[i], "invalid regex '%s': %s at offset %zu", part[i],
                         pmsg, poff);
            return -EINVAL;
        }
        pt_regex_free(alone);
    }
    /* Both parts are fine alone but not together (a group split across them): offsets 0 and
     * nb+1 are the parentheses added around the prefix; map the rest back to its option. */
    if (off <= nb + 1) {
        pt_cfg_error(d, inst->line, key[0], "invalid regex '%s' (joined with %s): %s at offset %zu",
                     c->before, key[1], msg, off > 0 ? off - 1 : 0);
    } else {
        pt_cfg_error(d, inst->line, key[1], "invalid regex '%s' (joined with %s): %s at offset %zu",
                     c->replaced, key[0], msg, off - nb - 2);
    }
    return -EINVAL;
}

static void ds_free_state(ds_state_t *s)
{
    if (s == NULL) {
        return;
    }
    pt_regex_free(s->re);
    pt_free(s->pieces);
    EVP_MD_free(s->md);
    pt_free(s);
}

static int ds_create(pt_plugin_inst_t *inst, const pt_plugin_env_t *env, pt_cfg_diag_t *d)
{
    ds_conf_t *c = inst->config;
    int rc = -EINVAL;
    ds_state_t *s = pt_calloc(1, sizeof(*s));
    if (s == NULL) {
        return -ENOMEM;
    }
    s->md5 = strcmp(c->method, "md5") == 0;
    s->all = c->replacing_all;
    s->key = pt_str_c(c->source_key);
    s->id = inst->id;
    if (c->source_key[0] == '\0') {
        pt_cfg_error(d, inst->line, "SourceKey", "must not be empty");
        goto fail;
    }
    if (s->md5) {
        /* Fetched once: EVP_MD objects are shareable between threads, and fetching per call
         * would cost more than hashing a short secret. */
        s->md = EVP_MD_fetch(NULL, "MD5", NULL);
        if (s->md == NULL) {
            pt_cfg_error(d, inst->line, "Method",
                         "md5 is not available from this OpenSSL (FIPS mode?)");
            goto fail;
        }
    } else if (c->replacing_string == NULL) {
        pt_cfg_error(d, inst->line, "ReplacingString", "required when Method is const");
        goto fail;
    } else if ((rc = parse_rewrite(s, c->replacing_string, inst, d)) != 0) {
        goto fail;
    }
    rc = compile(s, c, inst, d);
    if (rc != 0) {
        goto fail;
    }
    if (!s->md5 && s->max_group > pt_regex_groups(s->re)) {
        /* RE2 refuses such a rewrite at run time, so every event would stay unmasked. */
        pt_cfg_error(d, inst->line, "ReplacingString",
                     "refers to group \\%u but the patterns have %u group(s), counting the "
                     "prefix as \\1",
                     s->max_group, pt_regex_groups(s->re));
        rc = -EINVAL;
        goto fail;
    }
    inst->state = s;
    return 0;

fail:
    ds_free_state(s);
    return rc;
}

static void ds_destroy(pt_plugin_inst_t *inst)
{
    ds_free_state(inst->state);
    inst->state = NULL;
}

/* ====================================================================== masking ========== */

/* Length of the UTF-8 character at p, or 1 for a byte that starts none (RE2 steps over an
 * empty match by one character). */
static size_t char_len(const unsigned char *p, size_t n)
{
    size_t k = p[0] < 0x80             ? 1
               : (p[0] & 0xe0) == 0xc0 ? 2
               : (p[0] & 0xf0) == 0xe0 ? 3
               : (p[0] & 0xf8) == 0xf0 ? 4
                                       : 1;
    if (k > n) {
        return 1;
    }
    for (size_t i = 1; i < k; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 1;
        }
    }
    return k;
}

#define DS_MAX_GROUPS 10 /* \0 to \9 */

static int append_rewrite(const ds_state_t *s, pt_buf_t *out, const char *v, const size_t *ov)
{
    for (size_t i = 0; i < s->npieces; i++) {
        const ds_piece_t *p = &s->pieces[i];
        if (p->group < 0) {
            if (pt_buf_append(out, p->lit, p->len) != 0) {
                return -ENOMEM;
            }
            continue;
        }
        size_t b = ov[2 * p->group];
        size_t e = ov[2 * p->group + 1];
        if (b != PT_RE_UNSET && pt_buf_append(out, v + b, e - b) != 0) {
            return -ENOMEM;
        }
    }
    return 0;
}

/* Method const, as RE2::Replace / RE2::GlobalReplace: matches are searched in the whole value
 * (so anchors and lookbehind see what came before), an empty match right where the previous
 * one ended is stepped over. Returns 1 when something was replaced, 0 when not, or the negative
 * error of pt_regex_match. */
static int mask_const(const ds_state_t *s, pt_str_t v, pt_buf_t *out)
{
    size_t ov[2 * DS_MAX_GROUPS];
    size_t p = 0;
    size_t lastend = PT_RE_UNSET;
    int count = 0;

    out->len = 0;
    while (p <= v.len) {
        int rc = pt_regex_match(s->re, v.ptr, v.len, p, ov, DS_MAX_GROUPS);
        if (rc < 0) {
            return rc;
        }
        if (rc == 0) {
            break;
        }
        if (p < ov[0] && pt_buf_append(out, v.ptr + p, ov[0] - p) != 0) {
            return -ENOMEM;
        }
        if (ov[0] == lastend && ov[0] == ov[1]) {
            if (p < v.len) {
                size_t k = char_len((const unsigned char *)v.ptr + p, v.len - p);
                if (pt_buf_append(out, v.ptr + p, k) != 0) {
                    return -ENOMEM;
                }
                p += k;
            } else {
                p++;
            }
            continue;
        }
        if (append_rewrite(s, out, v.ptr, ov) != 0) {
            return -ENOMEM;
        }
        p = ov[1];
        lastend = ov[1];
        count++;
        if (!s->all) {
            break;
        }
    }
    if (count == 0) {
        return 0;
    }
    if (p < v.len && pt_buf_append(out, v.ptr + p, v.len - p) != 0) {
        return -ENOMEM;
    }
    return 1;
}

static int append_md5(const ds_state_t *s, pt_buf_t *out, const char *p, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    unsigned char dig[EVP_MAX_MD_SIZE];
    unsigned int dn = 0;
    char txt[2 * EVP_MAX_MD_SIZE];
    if (EVP_Digest(p, n, dig, &dn, s->md, NULL) != 1) {
        return -ENOMEM;
    }
    for (unsigned int i = 0; i < dn; i++) {
        txt[2 * i] = hex[dig[i] >> 4];
        txt[2 * i + 1] = hex[dig[i] & 0xf];
    }
    return pt_buf_append(out, txt, 2 * (size_t)dn);
}

/* Method md5, as LoongCollector: each search starts where the previous match ended, on the rest
 * of the value alone (RE2::FindAndConsume); the text up to the end of the prefix group is kept
 * and the rest of the match is hashed. A match that would not move forward, or one without the
 * prefix group, abandons the value unchanged. Returns 1 if masked, 0 if not, <0 on error. */
static int mask_md5(const ds_state_t *s, pt_str_t v, pt_buf_t *out)
{
    size_t ov[4];
    size_t begin = 0;

    out->len = 0;
    do {
        int rc = pt_regex_match(s->re, v.ptr + begin, v.len - begin, 0, ov, 2);
        if (rc < 0) {
            return rc;
        }
        if (rc == 0) {
            if (begin == 0) {
                return 0;
            }
            break;
        }
        if (ov[3] == PT_RE_UNSET) {
            return 0;
        }
        size_t prefix_end = begin + ov[3];
        size_t end = begin + ov[1];
        if (end <= begin) {
            return 0;
        }
        if (pt_buf_append(out, v.ptr + begin, prefix_end - begin) != 0 ||
            append_md5(s, out, v.ptr + prefix_end, end - prefix_end) != 0) {
            return -ENOMEM;
        }
        begin = end;
        if (end >= v.len) {
            break;
        }
    } while (s->all);
    if (begin < v.len && pt_buf_append(out, v.ptr + begin, v.len - begin) != 0) {
        return -ENOMEM;
    }
    return 1;
}

/* Masks *v in place (the new text goes to the arena). Returns 0, -ENOMEM, or -E2BIG when the
 * regex gave up on a limit or the result would not fit a view: then nothing safe can be said
 * about the value, and the caller drops the event rather than let a secret through. */
static int mask_value(const ds_state_t *s, pt_group_t *g, pt_str_t *v, pt_buf_t *scratch)
{
    if (v->len == 0) {
        return 0; /* LoongCollector leaves empty values alone */
    }
    int rc = s->md5 ? mask_md5(s, *v, scratch) : mask_const(s, *v, scratch);
    if (rc <= 0) {
        return rc == -EINVAL ? -E2BIG : rc;
    }
    if (scratch->len > UINT32_MAX) {
        return -E2BIG;
    }
    if (scratch->len == 0) {
        *v = PT_STR_LIT(""); /* all masked away (an empty replacement) */
        return 0;
    }
    pt_str_t nv = pt_arena_strdup(g->arena, scratch->data, scratch->len);
    if (nv.ptr == NULL) {
        return -ENOMEM;
    }
    *v = nv;
    return 0;
}

static int ds_process(pt_plugin_inst_t *inst, pt_group_t *g)
{
    const ds_state_t *s = inst->state;
    pt_buf_t scratch;
    uint64_t failed = 0;
    int rc = 0;

    pt_buf_init(&scratch);
    for (uint32_t i = 0; i < g->nevents; i++) {
        pt_event_t *ev = &g->events[i];
        if (ev->flags & PT_EVENT_F_DROPPED) {
            continue;
        }
        if (ev->type == PT_EVENT_RAW) {
            /* A raw line is the field "content": masked where it stands, no conversion. */
            if (pt_str_eq_c(s->key, "content")) {
                rc = mask_value(s, g, &ev->raw, &scratch);
            }
        } else if (ev->type == PT_EVENT_LOG) {
            for (uint32_t f = 0; f < ev->nfields && rc == 0; f++) {
                if (pt_str_eq(ev->fields[f].key, s->key)) {
                    rc = mask_value(s, g, &ev->fields[f].val, &scratch);
                }
            }
        } /* metrics and spans: LoongCollector masks log events only */
        if (rc == -E2BIG) {
            ev->flags |= PT_EVENT_F_DROPPED;
            failed++;
            rc = 0;
        } else if (rc != 0) {
            break;
        }
    }
    pt_buf_free(&scratch);
    if (failed > 0) {
        pt_counter_add(inst->m.errors, failed);
        PT_LOG(PT_LOG_WARN, s->id,
               "%llu event(s) dropped: the patterns gave up on the backtracking limit, so the "
               "value could not be masked",
               (unsigned long long)failed);
    }
    return rc;
}

const pt_plugin_t pt_plugin_processor_desensitize_native = {
    .name = "processor_desensitize_native",
    .kind = PT_PLUGIN_PROCESSOR,
    .description = "Masks sensitive text in a field with a constant or its MD5",
    .config_map = ds_map,
    .config_n = sizeof(ds_map) / sizeof(ds_map[0]),
    .config_size = sizeof(ds_conf_t),
    .create = ds_create,
    .destroy = ds_destroy,
    .process = ds_process,
};
