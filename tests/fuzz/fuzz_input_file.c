/* libFuzzer target for input_file's decoders: line splitting in UTF-8, GBK and UTF-16 (either
 * byte order, at either file-offset parity), conversion to UTF-8, multiline record assembly in
 * every mode, and the checkpoint document parser. The first input byte picks the options; the
 * rest is file content. Invariants: line ends are real terminators, converted text stays within
 * its bound, records are in order, disjoint and cover only lines, a pending record starts after
 * every emitted record, and a checkpoint document either parses or is refused. Run:
 * fuzz_input_file -max_total_time=60 corpus/ */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "core/log.h"
#include "core/mem.h"
#include "inputs/input_file/input_file_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_LINES 512

typedef struct {
    const char *mode, *start, *cont, *end, *unmatched;
} ml_opts_t;

static const ml_opts_t variants[8] = {
    {NULL, NULL, NULL, NULL, NULL},
    {"custom", "\\d+ ", NULL, NULL, NULL},
    {"custom", "\\d+ ", "\\s", NULL, "discard"},
    {"custom", "B", NULL, "E", NULL},
    {"custom", NULL, "\\s", "E.*", NULL},
    {"custom", NULL, NULL, ".*;$", "discard"},
    {"JSON", NULL, NULL, NULL, NULL},
    {"JSON", NULL, NULL, NULL, "discard"},
};

static pt_if_ml_t mls[8];
static int ready;

static void setup(void)
{
    pt_log_set_level(PT_LOG_ERROR);
    for (int i = 0; i < 8; i++) {
        pt_if_conf_t c;
        memset(&c, 0, sizeof(c));
        c.ml_mode = (char *)variants[i].mode;
        c.ml_start = (char *)variants[i].start;
        c.ml_continue = (char *)variants[i].cont;
        c.ml_end = (char *)variants[i].end;
        c.ml_unmatched = (char *)variants[i].unmatched;
        pt_plugin_inst_t inst;
        memset(&inst, 0, sizeof(inst));
        pt_cfg_diag_t d;
        pt_cfg_diag_init(&d, "fuzz", "fuzz");
        PT_ASSERT(pt_if_ml_init(&mls[i], &c, &inst, &d) == 0);
        pt_cfg_diag_free(&d);
    }
    ready = 1;
}

static void check_records(pt_if_ml_t *ml, const pt_if_line_t *lines, uint32_t n, int final)
{
    pt_if_rec_t recs[MAX_LINES];
    uint32_t pending = 0;
    uint64_t unmatched = 0;
    uint32_t nr = pt_if_ml_split(ml, lines, n, final, recs, &pending, &unmatched);
    PT_ASSERT(nr <= n);
    PT_ASSERT(pending <= n);
    PT_ASSERT(!final || pending == n);
    PT_ASSERT(unmatched <= n);
    uint32_t next = 0;
    for (uint32_t i = 0; i < nr; i++) {
        PT_ASSERT(recs[i].first <= recs[i].last);
        PT_ASSERT(recs[i].first >= next);
        PT_ASSERT(recs[i].last < n);
        next = recs[i].last + 1;
    }
    PT_ASSERT(pending == n || pending >= next);
    if (ml->mode == PT_IF_ML_NONE) {
        PT_ASSERT(nr == n && pending == n);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ready) {
        setup();
    }
    if (size < 1) {
        return 0;
    }
    uint8_t sel = data[0];
    const char *buf = (const char *)data + 1;
    size_t len = size - 1;

    /* The checkpoint parser on the same bytes. */
    pt_ckpt_t ck;
    memset(&ck, 0, sizeof(ck));
    int rc = pt_ckpt_parse(&ck, buf, len);
    PT_ASSERT(rc == 0 || rc == -EINVAL || rc == -ENOMEM);
    for (size_t i = 0; i < ck.n; i++) {
        PT_ASSERT(ck.v[i].path != NULL);
    }
    pt_ckpt_free(&ck);

    pt_if_enc_t enc = (pt_if_enc_t)((sel >> 3) % 3);
    int be = (sel >> 5) & 1;
    uint64_t base = (sel >> 6) & 1;
    pt_if_conv_t cv = {enc, NULL, 0};
    size_t nll = pt_if_nl_len(enc);
    size_t cap = pt_if_conv_bound(len) + 16;
    char *out = malloc(cap);
    pt_if_line_t *lines = malloc(sizeof(*lines) * MAX_LINES);
    if (out == NULL || lines == NULL) {
        free(out);
        free(lines);
        return 0;
    }
    size_t at = 0;
    size_t outlen = 0;
    uint32_t n = 0;
    while (at < len && n < MAX_LINES) {
        ssize_t k = pt_if_find_nl(enc, be, buf + at, len - at, base + at);
        size_t raw;
        size_t next;
        if (k >= 0) {
            PT_ASSERT((size_t)k >= nll && at + (size_t)k <= len);
            const char *t = buf + at + (size_t)k - nll;
            if (enc == PT_IF_ENC_UTF16) {
                PT_ASSERT(((base + at + (size_t)k) & 1u) == 0);
                PT_ASSERT(be ? (t[0] == 0 && t[1] == '\n') : (t[0] == '\n' && t[1] == 0));
            } else {
                PT_ASSERT(t[0] == '\n');
            }
            raw = (size_t)k - nll;
            next = at + (size_t)k;
        } else {
            raw = len - at;
            next = len;
        }
        pt_if_line_t *l = &lines[n++];
        l->off = at;
        l->cut = 0;
        if (enc == PT_IF_ENC_UTF8) {
            l->p = buf + at;
            l->len = (uint32_t)raw;
        } else {
            size_t room = cap - outlen - 1;
            PT_ASSERT(room >= pt_if_conv_bound(raw));
            size_t w = pt_if_conv(&cv, be, buf + at, raw, out + outlen, room);
            PT_ASSERT(w <= pt_if_conv_bound(raw));
            l->p = out + outlen;
            l->len = (uint32_t)w;
            outlen += w;
            out[outlen++] = '\n';
        }
        at = next;
    }
    pt_if_ml_t *ml = &mls[sel & 7];
    check_records(ml, lines, n, 0);
    check_records(ml, lines, n, 1);
    pt_if_conv_free(&cv);
    free(out);
    free(lines);
    return 0;
}
