/* libFuzzer target for the delimiter splitter (processor_parse_delimiter_native) and the common
 * parser options that apply its result. The first bytes choose the separator (1 to 4 bytes), the
 * quote, the overflow mode and the number of keys; the rest is the line. Checked: every column
 * is a view into the line or a rebuilt value no longer than the line; without quoting, the
 * columns joined by the separator give back the line; a quoted field round-trips through CSV
 * quoting; applying the result leaves a consistent event.
 *   fuzz_delimiter corpus/ */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/common.h"
#include "core/event.h"
#include "core/plugin.h"
#include "processors/common/parser_options.h"
#include "processors/processor_parse_delimiter_native/delimiter_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int inside(pt_str_t v, const char *s, size_t n)
{
    return v.ptr >= s && v.ptr + v.len <= s + n;
}

/* Without quoting, the columns are exactly the pieces between separators (with KEEP/DISCARD the
 * last one starts with its separator). */
static void check_plain(const pt_delim_t *d, const char *s, size_t n, const pt_delim_cols_t *c)
{
    char *join = malloc(n + 1);
    PT_ASSERT(join != NULL);
    size_t j = 0;
    int rest = d->overflow != PT_DELIM_EXTEND && c->n == d->nkeys + 1 && c->n > 1;
    for (uint32_t i = 0; i < c->n; i++) {
        PT_ASSERT(inside(c->v[i], s, n));
        int last_rest = rest && i == c->n - 1;
        if (i > 0 && !last_rest) {
            PT_ASSERT(j + d->seplen <= n);
            memcpy(join + j, d->sep, d->seplen);
            j += d->seplen;
        }
        PT_ASSERT(j + c->v[i].len <= n);
        if (c->v[i].len > 0) {
            memcpy(join + j, c->v[i].ptr, c->v[i].len);
        }
        j += c->v[i].len;
        if (last_rest) {
            PT_ASSERT(c->v[i].len >= d->seplen && memcmp(c->v[i].ptr, d->sep, d->seplen) == 0);
        }
    }
    PT_ASSERT(j == n && (n == 0 || memcmp(join, s, n) == 0));
    free(join);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4) {
        return 0;
    }
    pt_delim_t d;
    memset(&d, 0, sizeof(d));
    d.seplen = (uint8_t)(1 + (data[0] & 3));
    if (size < 4u + d.seplen) {
        return 0;
    }
    d.overflow = (uint8_t)((data[0] >> 2) % 3);
    d.nkeys = 1 + (data[1] & 15);
    d.quote = (char)data[2];
    memcpy(d.sep, data + 3, d.seplen);
    d.use_quote = d.seplen == 1 && d.quote != d.sep[0];
    const char *line = (const char *)data + 3 + d.seplen;
    size_t n = size - 3 - d.seplen;

    pt_arena_t *a = pt_arena_create(PT_ARENA_SMALL);
    if (a == NULL) {
        return 0;
    }
    /* Copy the line into the arena, as input_file would hold it. */
    pt_str_t copy = pt_arena_strdup(a, line, n);
    if (n > 0 && copy.ptr == NULL) {
        pt_arena_unref(a);
        return 0;
    }
    const char *s = n > 0 ? copy.ptr : "";
    pt_str_t stack[4];
    pt_delim_cols_t cols = {stack, 0, 4, a};
    int rc = pt_delim_split(&d, s, n, &cols);
    PT_ASSERT(rc == 0 || rc == -EINVAL || rc == -ENOMEM);
    if (rc == 0) {
        PT_ASSERT(cols.n >= 1);
        if (d.overflow != PT_DELIM_EXTEND) {
            PT_ASSERT(cols.n <= d.nkeys + 1);
        }
        int has_quote = d.use_quote && memchr(s, d.quote, n) != NULL;
        if (!has_quote) {
            check_plain(&d, s, n, &cols);
        } else {
            for (uint32_t i = 0; i < cols.n; i++) {
                PT_ASSERT(cols.v[i].len <= n);
                PT_ASSERT(cols.v[i].len == 0 || cols.v[i].ptr != NULL);
            }
        }
    } else if (rc == -EINVAL) {
        /* Only the quoting rules reject a line. */
        PT_ASSERT(d.use_quote && memchr(s, d.quote, n) != NULL);
    }

    /* Apply the result as the processor does, with options from the first byte. */
    pt_parser_conf_t pc = {"content", data[1] >> 7, (data[1] >> 6) & 1, NULL, (data[1] >> 5) & 1};
    pt_plugin_inst_t inst;
    memset(&inst, 0, sizeof(inst));
    inst.id = "fuzz/processor_parse_delimiter_native";
    pt_cfg_diag_t diag;
    pt_cfg_diag_init(&diag, "fuzz", "fuzz");
    pt_parser_t p;
    PT_ASSERT(pt_parser_init(&p, &pc, &inst, &diag) == 0);
    pt_group_t *g = pt_group_create(a, 1);
    if (g != NULL) {
        pt_event_t *ev = pt_group_add_event(g, PT_EVENT_RAW);
        if (ev != NULL) {
            ev->raw = pt_str(s, n);
            pt_field_t f[20];
            uint32_t nf = 0;
            static const char *const names[] = {"a", "b", "content", "c", "__raw_log__"};
            for (uint32_t i = 0; rc == 0 && i < cols.n && nf < 20; i++) {
                f[nf].key = pt_str_c(names[i % 5]);
                f[nf].val = cols.v[i];
                nf++;
            }
            pt_parser_stats_t st = {0, 0, 0};
            pt_str_t src;
            PT_ASSERT(pt_parser_source(&p, ev, &src, &st) == 0);
            int ar = pt_parser_apply(&p, g, ev, src, rc == 0, f, nf, 0, &st);
            PT_ASSERT(ar == 0 || ar == -ENOMEM);
            if (ar == 0) {
                PT_ASSERT(ev->type == PT_EVENT_LOG && ev->nfields <= ev->capfields);
                PT_ASSERT(st.failed == (rc != 0));
                /* A field never appears twice. */
                for (uint32_t i = 0; i < ev->nfields; i++) {
                    for (uint32_t k = 0; k < i; k++) {
                        PT_ASSERT(!pt_str_eq(ev->fields[i].key, ev->fields[k].key));
                    }
                }
                if (ev->flags & PT_EVENT_F_DROPPED) {
                    PT_ASSERT(rc != 0 && !pc.keep_source_fail && ev->nfields == 0);
                }
            }
        }
        pt_group_release(g);
    }
    pt_parser_close(&p);
    pt_cfg_diag_free(&diag);
    pt_arena_unref(a);
    return 0;
}
