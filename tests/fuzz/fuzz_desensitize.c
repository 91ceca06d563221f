/* libFuzzer target for processor_desensitize_native: fuzz-chosen patterns, replacement, method
 * and ReplacingAll over a fuzz-chosen value, as a log field and as a raw line. Beyond the
 * sanitizers it checks that: bad patterns are reported as config errors; process() succeeds;
 * both events (same value, same config) end the same, dropped together or masked alike; the
 * bytes of the line are never written (masked text is a new copy).
 *
 * Input: byte 0 = flags (bit 0 md5, bit 1 ReplacingAll), then before \0 replaced \0
 * replacing \0 value. Patterns and replacement are made printable ASCII (they are YAML text);
 * the value is any bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/cfgmap.h"
#include "config/node.h"
#include "core/arena.h"
#include "core/event.h"
#include "core/plugin.h"

static const char *const ignore_keys[] = {"Type", NULL};

/* The next \0-terminated part of the input (or the rest). */
static const uint8_t *take(const uint8_t **p, const uint8_t *end, size_t *n)
{
    const uint8_t *s = *p;
    const uint8_t *z = memchr(s, 0, (size_t)(end - s));
    *n = (size_t)((z != NULL ? z : end) - s);
    *p = z != NULL ? z + 1 : end;
    return s;
}

/* Appends s as the body of a YAML single-quoted scalar: printable ASCII, quotes doubled. */
static size_t yaml_quote(char *out, const uint8_t *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = (s[i] >= 0x20 && s[i] < 0x7f) ? (char)s[i] : '.';
        out[o++] = c;
        if (c == '\'') {
            out[o++] = '\'';
        }
    }
    return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > 4096) {
        return 0;
    }
    const uint8_t *p = data + 1;
    const uint8_t *end = data + size;
    size_t nb, nr, ns, nv;
    const uint8_t *before = take(&p, end, &nb);
    const uint8_t *replaced = take(&p, end, &nr);
    const uint8_t *replacing = take(&p, end, &ns);
    const uint8_t *value = take(&p, end, &nv);
    int md5 = data[0] & 1;
    int all = (data[0] >> 1) & 1;

    static char yaml[3 * 4096 + 512];
    size_t y = (size_t)snprintf(yaml, 512,
                                "Type: processor_desensitize_native\nSourceKey: content\n"
                                "Method: %s\nReplacingAll: %s\n",
                                md5 ? "md5" : "const", all ? "true" : "false");
    y += (size_t)snprintf(yaml + y, 64, "ContentPatternBeforeReplacedString: '");
    y += yaml_quote(yaml + y, before, nb);
    y += (size_t)snprintf(yaml + y, 64, "'\nReplacedContentPattern: '");
    y += yaml_quote(yaml + y, replaced, nr);
    y += (size_t)snprintf(yaml + y, 64, "'\nReplacingString: '");
    y += yaml_quote(yaml + y, replacing, ns);
    y += (size_t)snprintf(yaml + y, 8, "'\n");

    const pt_plugin_t *pl = pt_plugin_find("processor_desensitize_native");
    if (pl == NULL) {
        abort();
    }
    char err[256];
    pt_node_t *tree = pt_node_parse_string(yaml, y, "fuzz.yaml", err, sizeof(err));
    if (tree == NULL) {
        abort(); /* the YAML above is always well formed */
    }
    pt_cfg_diag_t d;
    pt_cfg_diag_init(&d, "fuzz.yaml", "fuzz");
    pt_counter_t c[6];
    memset(c, 0, sizeof(c));
    pt_plugin_inst_t inst;
    memset(&inst, 0, sizeof(inst));
    inst.plugin = pl;
    inst.id = "fuzz/processor_desensitize_native";
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
        /* Bad patterns are config errors, each reported. */
        if (d.nerrors == 0 && inst.config != NULL) {
            abort();
        }
        goto out;
    }

    pt_arena_t *a = pt_arena_create(PT_ARENA_SMALL);
    pt_group_t *g = a != NULL ? pt_group_create(a, 2) : NULL;
    if (a != NULL) {
        pt_arena_unref(a);
    }
    if (g == NULL) {
        goto out;
    }
    pt_str_t v = pt_arena_strdup(g->arena, (const char *)value, nv);
    pt_event_t *raw = pt_group_add_event(g, PT_EVENT_RAW);
    if (raw != NULL) {
        raw->raw = v;
    }
    pt_event_t *log = pt_group_add_event(g, PT_EVENT_LOG);
    if (raw == NULL || log == NULL || pt_event_append(g, log, PT_STR_LIT("content"), v) != 0) {
        pt_group_release(g);
        goto out;
    }
    if (pl->process(&inst, g) != 0) {
        abort();
    }
    raw = &g->events[0];
    log = &g->events[1];
    int dropped = raw->flags & PT_EVENT_F_DROPPED;
    if (dropped != (log->flags & PT_EVENT_F_DROPPED) || log->nfields != 1 ||
        raw->type != PT_EVENT_RAW) {
        abort();
    }
    if (!dropped) {
        pt_str_t r = raw->raw;
        pt_str_t l = log->fields[0].val;
        if (r.len != l.len || (r.len > 0 && memcmp(r.ptr, l.ptr, r.len) != 0)) {
            abort(); /* same value, same config: same result */
        }
        if (nv > 0 && memcmp(v.ptr, value, nv) != 0) {
            abort(); /* the line itself is never written */
        }
    }
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
