/* libFuzzer target for the config loader: any bytes go through pt_node_parse_string, and every
 * tree that parses is loaded against a key table with one field of each type, at the root and at
 * every map below it, so that the node builder and the cfgmap loader face hostile input together.
 * Seed corpus: /work/shared/fixtures/seed-configs (run with -dict=tests/fuzz/fuzz_yaml.dict). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config/cfgmap.h"
#include "config/node.h"
#include "core/str.h"

typedef struct {
    int enabled;
    int64_t port;
    int64_t min_cnt;
    double rate;
    char *endpoint;
    char *mode;
    char *secret;
    pt_strlist_t paths;
    pt_strlist_t keys;
    pt_strmap_t tags;
    const pt_node_t *raw;
} fuzz_cfg_t;

#define OFF(f) offsetof(fuzz_cfg_t, f)

static const pt_cfg_field_t fuzz_map[] = {
    {"Enabled", PT_CFG_BOOL, "true", 0, 0, NULL, 0, OFF(enabled), "Enable", "On or off."},
    {"Port", PT_CFG_INT, "4318", 1, 65535, NULL, PT_CFG_BOUNDED, OFF(port), NULL, "Port."},
    {"SampleRate", PT_CFG_DOUBLE, "1", 0, 1, NULL, PT_CFG_BOUNDED, OFF(rate), NULL, "Rate."},
    {"Endpoint", PT_CFG_STRING, NULL, 0, 0, NULL, 0, OFF(endpoint), "Address", "host:port."},
    {"Mode", PT_CFG_STRING, "a", 0, 0, "a|b|c", 0, OFF(mode), NULL, "Mode."},
    {"Password", PT_CFG_STRING, NULL, 0, 0, NULL, PT_CFG_SECRET, OFF(secret), NULL, "Secret."},
    {"FilePaths", PT_CFG_STRLIST, NULL, 0, 0, NULL, PT_CFG_REQUIRED, OFF(paths), NULL, "Paths."},
    {"Keys", PT_CFG_STRLIST, "a,b", 0, 0, NULL, PT_CFG_COMMA, OFF(keys), NULL, "Keys."},
    {"Tags", PT_CFG_STRMAP, NULL, 0, 0, NULL, 0, OFF(tags), NULL, "Tags."},
    {"ContainerFilters", PT_CFG_NODE, NULL, 0, 0, NULL, 0, OFF(raw), NULL, "Anything."},
    {"Batch", PT_CFG_SECTION, NULL, 0, 0, NULL, 0, 0, "Batching", "Batching."},
    {"Batch.MinCnt", PT_CFG_INT, "10", 1, 1000, NULL, PT_CFG_BOUNDED, OFF(min_cnt), "MinCount",
     "Events per batch."},
};
#define FUZZ_N (sizeof(fuzz_map) / sizeof(fuzz_map[0]))

static const char *const fuzz_ignore[] = {"Type", NULL};

/* Each message must be one line that starts with '[' and holds no control characters: the log
 * and the CLI print them as they are. */
static void check_diag(const pt_cfg_diag_t *d)
{
    const char *t = pt_cfg_diag_text(d);
    size_t len = strlen(t);
    if (len != d->text.len || (len > 0 && (t[0] != '[' || t[len - 1] != '\n'))) {
        abort();
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)t[i];
        if (c == '\n' && i + 1 < len && t[i + 1] != '[') {
            abort();
        }
        if ((c < 0x20 && c != '\n') || c == 0x7f) {
            abort();
        }
    }
}

static void load_one(const pt_node_t *node)
{
    fuzz_cfg_t c;
    pt_cfg_diag_t d;
    memset(&c, 0, sizeof(c));
    pt_cfg_diag_init(&d, "fuzz.yaml", "fuzz");
    d.plugin = "plugin";
    int rc = pt_cfg_load(fuzz_map, FUZZ_N, node, &c, fuzz_ignore, &d);
    if ((rc == 0) != (d.nerrors == 0)) {
        abort();
    }
    check_diag(&d);
    /* The stored values must be readable (ASan checks the bytes). */
    if (c.endpoint != NULL && strlen(c.endpoint) > (size_t)1 << 30) {
        abort();
    }
    for (size_t i = 0; i < c.paths.n; i++) {
        if (c.paths.v[i] == NULL) {
            abort();
        }
    }
    for (size_t i = 0; i < c.tags.n; i++) {
        if (c.tags.keys[i] == NULL || c.tags.vals[i] == NULL) {
            abort();
        }
    }
    pt_cfg_free(fuzz_map, FUZZ_N, &c);
    if (c.endpoint != NULL || c.paths.n != 0 || c.tags.n != 0 || c.raw != NULL) {
        abort();
    }
    pt_cfg_diag_free(&d);
}

/* Loads every map in the tree, and touches every scalar through the lookup helpers. The tree's
 * depth is bounded by PT_NODE_MAX_DEPTH, so recursion is too. */
static void walk(const pt_node_t *n, int depth)
{
    if (depth > PT_NODE_MAX_DEPTH + 1) {
        abort();
    }
    (void)pt_node_kind(n);
    if (n->type == PT_NODE_SCALAR) {
        if (n->scalar == NULL || n->scalar[n->len] != '\0' || n->line < 1 || n->col < 1) {
            abort();
        }
        return;
    }
    if (n->type == PT_NODE_MAP) {
        load_one(n);
        for (size_t i = 0; i < n->n; i++) {
            if (pt_node_get(n, n->keys[i]) == NULL || n->key_lines[i] < 1 || n->key_cols[i] < 1) {
                abort();
            }
        }
    }
    for (size_t i = 0; i < n->n; i++) {
        walk(n->items[i], depth + 1);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[256];
    static int documented;

    if (!documented) {
        pt_buf_t b;
        pt_buf_init(&b);
        if (pt_cfg_doc(fuzz_map, FUZZ_N, &b) != 0) {
            abort();
        }
        pt_buf_free(&b);
        documented = 1;
    }

    err[0] = '\0';
    pt_node_t *root = pt_node_parse_string((const char *)data, size, "fuzz.yaml", err, sizeof(err));
    if (root == NULL) {
        /* Every failure says where and why. */
        if (strncmp(err, "fuzz.yaml:", 10) != 0 || strlen(err) < 12) {
            abort();
        }
        return 0;
    }
    walk(root, 1);
    (void)pt_node_get_path(root, "spec.config.inputs");
    (void)pt_node_get_path(root, "a.b.c");
    pt_node_free(root);
    return 0;
}
