/* Tests for core/registry.c: the registry is exactly core/plugins.list, every plugin sits in the
 * folder its kind implies, every config map is well formed and renders as docs, and names that
 * LoongCollector knows but petrel does not build are told apart from unknown ones. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config/cfgmap.h"
#include "config/node.h"
#include "core/plugin.h"

#define MAX_PLUGINS 256

static char names[MAX_PLUGINS][128];
static size_t nnames;
static char src_dir[4096];

static int load_list(void **state)
{
    (void)state;
    const char *env = getenv("PT_SOURCE_DIR");
    snprintf(src_dir, sizeof(src_dir), "%s", env != NULL ? env : "..");
    char path[4200];
    snprintf(path, sizeof(path), "%s/core/plugins.list", src_dir);
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "cannot open %s\n", path);
        return -1;
    }
    char line[512];
    nnames = 0;
    while (fgets(line, sizeof(line), f) != NULL) {
        char name[128];
        if (strncmp(line, "PT_PLUGIN(", 10) == 0 &&
            sscanf(line + 10, "%127[a-z0-9_])", name) == 1 && nnames < MAX_PLUGINS) {
            snprintf(names[nnames++], sizeof(names[0]), "%s", name);
        }
    }
    fclose(f);
    return nnames > 0 ? 0 : -1;
}

static const char *const kind_prefix[] = {"input_", "processor_", "aggregator_", "flusher_"};
static const char *const kind_dir[] = {"inputs", "processors", "aggregators", "flushers"};

static int kind_of_name(const char *name)
{
    for (int k = 0; k < 4; k++) {
        if (strncmp(name, kind_prefix[k], strlen(kind_prefix[k])) == 0) {
            return k;
        }
    }
    /* LoongCollector's service_* inputs are inputs too. */
    return strncmp(name, "service_", 8) == 0 ? PT_PLUGIN_INPUT : -1;
}

static void test_list_resolves(void **state)
{
    (void)state;
    assert_true(nnames >= 6);
    for (size_t i = 0; i < nnames; i++) {
        const pt_plugin_t *p = pt_plugin_find(names[i]);
        if (p == NULL) {
            fail_msg("%s is in plugins.list but not found", names[i]);
        }
        assert_string_equal(p->name, names[i]);
        int k = kind_of_name(names[i]);
        assert_true(k >= 0);
        assert_int_equal(p->kind, k);
        /* The descriptor lives in <kind>s/<name>/. */
        char dir[sizeof(src_dir) + 256];
        struct stat st;
        int dl = snprintf(dir, sizeof(dir), "%.4095s/%s/%.127s", src_dir, kind_dir[k], names[i]);
        assert_true(dl > 0 && (size_t)dl < sizeof(dir));
        if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
            fail_msg("%s: folder %s is missing", names[i], dir);
        }
        assert_false(pt_plugin_is_known_unavailable(names[i]));
    }
}

static void test_at_enumerates_exactly(void **state)
{
    (void)state;
    size_t i = 0;
    for (const pt_plugin_t *p; (p = pt_plugin_at(i)) != NULL; i++) {
        assert_true(i < nnames);
        assert_string_equal(p->name, names[i]);
        assert_ptr_equal(p, pt_plugin_find(names[i]));
    }
    assert_int_equal(i, nnames);
    assert_null(pt_plugin_at(nnames));
    assert_null(pt_plugin_at((size_t)-1));
    /* Names are unique. */
    for (size_t a = 0; a < nnames; a++) {
        for (size_t b = a + 1; b < nnames; b++) {
            assert_string_not_equal(names[a], names[b]);
        }
    }
}

static void test_unavailable_and_unknown(void **state)
{
    (void)state;
    /* LoongCollector plugin names: each is either built in or reported as not available in this
     * build, never unknown. (Which is which changes as plugins land.) */
    const char *loong[] = {
        "flusher_sls",  "service_otlp", "flusher_kafka_v2",      "processor_spl",
        "flusher_otlp", "flusher_http", "input_container_stdio", "processor_parse_regex_native",
        "flusher_loki", "input_journal"};
    for (size_t i = 0; i < sizeof(loong) / sizeof(loong[0]); i++) {
        int built = pt_plugin_find(loong[i]) != NULL;
        assert_int_equal(pt_plugin_is_known_unavailable(loong[i]), !built);
    }
    assert_null(pt_plugin_find("flusher_loki"));
    assert_int_equal(pt_plugin_is_known_unavailable("flusher_loki"), 1);
    const char *unknown[] = {
        "",           "flusher_nope", "input_File",          "INPUT_FILE", "input_file ",
        "flusher_sl", "flusher_slsx", "processor_parse_json"};
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++) {
        assert_null(pt_plugin_find(unknown[i]));
        assert_int_equal(pt_plugin_is_known_unavailable(unknown[i]), 0);
    }
}

static size_t storage_size(pt_cfg_type_t t)
{
    switch (t) {
    case PT_CFG_BOOL:
        return sizeof(int);
    case PT_CFG_INT:
        return sizeof(int64_t);
    case PT_CFG_DOUBLE:
        return sizeof(double);
    case PT_CFG_STRING:
        return sizeof(char *);
    case PT_CFG_STRLIST:
        return sizeof(pt_strlist_t);
    case PT_CFG_STRMAP:
        return sizeof(pt_strmap_t);
    case PT_CFG_NODE:
        return sizeof(const pt_node_t *);
    default:
        return 0;
    }
}

static void test_config_maps(void **state)
{
    (void)state;
    for (size_t i = 0; i < nnames; i++) {
        const pt_plugin_t *p = pt_plugin_find(names[i]);
        assert_non_null(p->description);
        assert_true(p->description[0] != '\0');
        assert_true(p->config_n == 0 || p->config_map != NULL);
        /* Hooks every plugin of its kind needs. */
        switch (p->kind) {
        case PT_PLUGIN_INPUT:
            assert_non_null(p->start);
            break;
        case PT_PLUGIN_PROCESSOR:
            assert_non_null(p->process);
            break;
        case PT_PLUGIN_AGGREGATOR:
            assert_true(p->config_size >= sizeof(pt_batch_conf_t));
            break;
        case PT_PLUGIN_FLUSHER:
            assert_non_null(p->serialize);
            assert_non_null(p->send);
            break;
        }
        size_t required = 0;
        for (size_t f = 0; f < p->config_n; f++) {
            const pt_cfg_field_t *fd = &p->config_map[f];
            if (fd->key == NULL || fd->key[0] == '\0') {
                fail_msg("%s: field %zu has no key", p->name, f);
            }
            if (fd->desc == NULL || fd->desc[0] == '\0') {
                fail_msg("%s.%s: no description", p->name, fd->key);
            }
            if (fd->type < PT_CFG_BOOL || fd->type > PT_CFG_SECTION) {
                fail_msg("%s.%s: invalid type %d", p->name, fd->key, (int)fd->type);
            }
            if (fd->type != PT_CFG_SECTION &&
                fd->offset + storage_size(fd->type) > p->config_size) {
                fail_msg("%s.%s: offset %zu is outside the %zu-byte config struct", p->name,
                         fd->key, fd->offset, p->config_size);
            }
            if ((fd->flags & PT_CFG_BOUNDED) && fd->min > fd->max) {
                fail_msg("%s.%s: bounds %g > %g", p->name, fd->key, fd->min, fd->max);
            }
            if (fd->choices != NULL && fd->type != PT_CFG_STRING) {
                fail_msg("%s.%s: choices on a non-string key", p->name, fd->key);
            }
            /* A dotted key needs its section declared. */
            const char *dot = strrchr(fd->key, '.');
            if (dot != NULL) {
                int found = 0;
                for (size_t s = 0; s < p->config_n; s++) {
                    const pt_cfg_field_t *sd = &p->config_map[s];
                    found |= sd->type == PT_CFG_SECTION &&
                             strlen(sd->key) == (size_t)(dot - fd->key) &&
                             strncmp(sd->key, fd->key, (size_t)(dot - fd->key)) == 0;
                }
                if (!found) {
                    fail_msg("%s.%s: its section is not declared", p->name, fd->key);
                }
            }
            for (size_t g = f + 1; g < p->config_n; g++) {
                if (strcmp(p->config_map[g].key, fd->key) == 0) {
                    fail_msg("%s.%s: declared twice", p->name, fd->key);
                }
            }
            required += (fd->flags & PT_CFG_REQUIRED) != 0;
        }
        /* Defaults load: an empty config yields exactly one error per required key, so every
         * default parses and lies inside its bounds and choices. */
        if (p->config_map != NULL) {
            void *cfg = calloc(1, p->config_size ? p->config_size : 1);
            assert_non_null(cfg);
            pt_cfg_diag_t d;
            pt_cfg_diag_init(&d, "test.yaml", "pipe");
            d.plugin = p->name;
            pt_node_t empty = {.type = PT_NODE_MAP};
            int rc = pt_cfg_load(p->config_map, p->config_n, &empty, cfg, NULL, &d);
            if (d.nerrors != (int)required) {
                fail_msg("%s: %d errors for an empty config, want %zu:\n%s", p->name, d.nerrors,
                         required, pt_cfg_diag_text(&d));
            }
            assert_int_equal(rc == 0, required == 0);
            pt_cfg_free(p->config_map, p->config_n, cfg);
            pt_cfg_diag_free(&d);
            free(cfg);
        }
    }
}

static void test_docs_render(void **state)
{
    (void)state;
    for (size_t i = 0; i < nnames; i++) {
        const pt_plugin_t *p = pt_plugin_find(names[i]);
        pt_buf_t b;
        pt_buf_init(&b);
        assert_int_equal(pt_cfg_doc(p->config_map, p->config_n, &b), 0);
        assert_int_equal(pt_buf_putc(&b, '\0'), 0);
        const char *doc = b.data;
        const char *head = "| Key | Type | Default | Description |\n"
                           "|-----|------|---------|-------------|\n";
        assert_int_equal(strncmp(doc, head, strlen(head)), 0);
        /* One row per key, in the map's order. */
        size_t lines = 0;
        for (const char *c = doc; *c != '\0'; c++) {
            lines += *c == '\n';
        }
        assert_int_equal(lines, p->config_n + 2);
        const char *at = doc + strlen(head);
        for (size_t f = 0; f < p->config_n; f++) {
            char cell[256];
            snprintf(cell, sizeof(cell), "| %s | ", p->config_map[f].key);
            assert_int_equal(strncmp(at, cell, strlen(cell)), 0);
            const char *nl = strchr(at, '\n');
            assert_non_null(nl);
            /* The description is in the row. */
            char row[2048];
            snprintf(row, sizeof(row), "%.*s", (int)(nl - at), at);
            assert_non_null(strstr(row, p->config_map[f].desc));
            at = nl + 1;
        }
        assert_int_equal(*at, '\0');
        pt_buf_free(&b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_list_resolves),
        cmocka_unit_test(test_at_enumerates_exactly),
        cmocka_unit_test(test_unavailable_and_unknown),
        cmocka_unit_test(test_config_maps),
        cmocka_unit_test(test_docs_render),
    };
    return cmocka_run_group_tests(tests, load_list, NULL);
}
