/* libFuzzer target for processor_filter_regex_native: the config (FilterKey/FilterRegex,
 * Include, ConditionExp trees, DiscardingNonUTF8) is fuzz-chosen YAML, and the events are
 * fuzz-chosen bytes. Beyond the sanitizers it checks that: a config that fails says why, in
 * "[file:line]" lines; process() succeeds; with DiscardingNonUTF8, every kept log event's keys
 * and values come out valid UTF-8 by LoongCollector's rules and as long as they went in, and
 * the line itself is never written.
 *
 * Input: YAML \0 event bytes. The event bytes are one raw line, and one log event whose fields
 * are the \1-separated key/value parts. Seeds: -dict=tests/fuzz/fuzz_filter_regex.dict. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/cfgmap.h"
#include "config/node.h"
#include "core/arena.h"
#include "core/event.h"
#include "core/plugin.h"

static const char *const ignore_keys[] = {"Type", NULL};

/* An independent check of LoongCollector's UTF-8 rules (shortest form, <= U+10FFFF; encoded
 * surrogates pass), written differently from the processor's: by code point ranges. */
static int valid_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t k;
        uint32_t cp;
        uint32_t min;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xc0 && c < 0xe0) {
            k = 2, cp = c & 0x1f, min = 0x80;
        } else if (c >= 0xe0 && c < 0xf0) {
            k = 3, cp = c & 0x0f, min = 0x800;
        } else if (c >= 0xf0 && c < 0xf8) {
            k = 4, cp = c & 0x07, min = 0x10000;
        } else {
            return 0;
        }
        if (i + k > n) {
            return 0;
        }
        for (size_t j = 1; j < k; j++) {
            if (s[i + j] < 0x80 || s[i + j] > 0xbf) {
                return 0;
            }
            cp = (cp << 6) | (s[i + j] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff) {
            return 0;
        }
        i += k;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 8192) {
        return 0;
    }
    const uint8_t *z = memchr(data, 0, size);
    size_t ny = z != NULL ? (size_t)(z - data) : size;
    const uint8_t *ev = z != NULL ? z + 1 : data + size;
    size_t ne = (size_t)(data + size - ev);

    const pt_plugin_t *pl = pt_plugin_find("processor_filter_regex_native");
    if (pl == NULL) {
        abort();
    }
    char err[256];
    pt_node_t *tree = pt_node_parse_string((const char *)data, ny, "fuzz.yaml", err, sizeof(err));
    if (tree == NULL) {
        return 0;
    }
    pt_cfg_diag_t d;
    pt_cfg_diag_init(&d, "fuzz.yaml", "fuzz");
    pt_counter_t c[6];
    memset(c, 0, sizeof(c));
    pt_plugin_inst_t inst;
    memset(&inst, 0, sizeof(inst));
    inst.plugin = pl;
    inst.id = "fuzz/processor_filter_regex_native";
    inst.line = 1;
    inst.config = calloc(1, pl->config_size);
    inst.m.events_in = &c[0];
    inst.m.events_out = &c[1];
    inst.m.events_dropped = &c[2];
    inst.m.bytes_in = &c[3];
    inst.m.bytes_out = &c[4];
    inst.m.errors = &c[5];
    pt_plugin_env_t env = {"/nonexistent", 0};
    if (inst.config == NULL ||
        pt_cfg_load(pl->config_map, pl->config_n, tree, inst.config, ignore_keys, &d) != 0 ||
        pl->create(&inst, &env, &d) != 0) {
        const char *t = pt_cfg_diag_text(&d);
        if (inst.config != NULL && (d.nerrors == 0 || t[0] != '[')) {
            abort(); /* a refused config always says why, and where */
        }
        goto out;
    }
    int repair = 0;
    for (size_t i = 0; i < pl->config_n; i++) {
        if (strcmp(pl->config_map[i].key, "DiscardingNonUTF8") == 0) {
            repair = *(const int *)((const char *)inst.config + pl->config_map[i].offset);
        }
    }

    pt_arena_t *a = pt_arena_create(PT_ARENA_SMALL);
    pt_group_t *g = a != NULL ? pt_group_create(a, 2) : NULL;
    if (a != NULL) {
        pt_arena_unref(a);
    }
    if (g == NULL) {
        goto out;
    }
    pt_str_t line = pt_arena_strdup(g->arena, (const char *)ev, ne);
    pt_event_t *raw = pt_group_add_event(g, PT_EVENT_RAW);
    if (raw == NULL) {
        goto release;
    }
    raw->raw = line;
    pt_event_t *log = pt_group_add_event(g, PT_EVENT_LOG);
    if (log == NULL) {
        goto release;
    }
    /* Fields: the \1-separated parts, as views into the line, key then value. */
    size_t lens[64];
    uint32_t nf = 0;
    const char *p = line.ptr;
    const char *end = line.ptr + line.len;
    while (p < end && nf < 32) {
        const char *k = p;
        const char *s = memchr(p, 1, (size_t)(end - p));
        const char *ke = s != NULL ? s : end;
        p = s != NULL ? s + 1 : end;
        const char *v = p;
        s = memchr(p, 1, (size_t)(end - p));
        const char *ve = s != NULL ? s : end;
        p = s != NULL ? s + 1 : end;
        if (pt_event_append(g, &g->events[1], pt_str(k, (size_t)(ke - k)),
                            pt_str(v, (size_t)(ve - v))) != 0) {
            goto release;
        }
        lens[2 * nf] = (size_t)(ke - k);
        lens[2 * nf + 1] = (size_t)(ve - v);
        nf++;
    }
    if (pl->process(&inst, g) != 0) {
        abort();
    }
    if (ne > 0 && memcmp(line.ptr, ev, ne) != 0) {
        abort(); /* the line is never written */
    }
    raw = &g->events[0];
    log = &g->events[1];
    if (repair && !(raw->flags & PT_EVENT_F_DROPPED)) {
        if (raw->raw.len != ne || !valid_utf8((const unsigned char *)raw->raw.ptr, raw->raw.len)) {
            abort();
        }
    }
    if (repair && !(log->flags & PT_EVENT_F_DROPPED)) {
        size_t in = 0;
        size_t outn = 0;
        for (uint32_t i = 0; i < nf; i++) {
            in += lens[2 * i] + lens[2 * i + 1];
        }
        for (uint32_t i = 0; i < log->nfields; i++) {
            const pt_field_t *f = &log->fields[i];
            if (!valid_utf8((const unsigned char *)f->key.ptr, f->key.len) ||
                !valid_utf8((const unsigned char *)f->val.ptr, f->val.len)) {
                abort();
            }
            outn += f->key.len + f->val.len;
        }
        /* Repair keeps every length; a repaired key may replace a field of that name, so the
         * total can only shrink, and only when a field went. */
        if (log->nfields > nf || (log->nfields == nf && outn != in) || outn > in) {
            abort();
        }
    }
release:
    pt_group_release(g);
out:
    if (inst.state != NULL) {
        pl->destroy(&inst);
    }
    if (inst.config != NULL) {
        pt_cfg_free(pl->config_map, pl->config_n, inst.config);
        free(inst.config);
    }
    pt_node_free(tree);
    pt_cfg_diag_free(&d);
    return 0;
}
