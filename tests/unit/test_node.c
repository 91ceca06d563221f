/* Tests for config/node.c: positions a user would be pointed at in real LoongCollector pipeline
 * files, JSON input, every parse error message, and the limits that stop hostile files. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/node.h"
#include "core/mem.h"
#include "core/str.h"

/* The seed pipeline from the design article, unchanged. */
static const char app_log_yaml[] =
    "apiVersion: telemetry.alibabacloud.com/v1alpha1\n"                    /* 1 */
    "kind: ClusterAliyunPipelineConfig\n"                                  /* 2 */
    "metadata:\n"                                                          /* 3 */
    "  name: openclaw-app-log\n"                                           /* 4 */
    "spec:\n"                                                              /* 5 */
    "  config:\n"                                                          /* 6 */
    "    aggregators: []\n"                                                /* 7 */
    "    global: {}\n"                                                     /* 8 */
    "    inputs:\n"                                                        /* 9 */
    "      - Type: input_file\n"                                           /* 10 */
    "        FilePaths:\n"                                                 /* 11 */
    "          - /tmp/openclaw/*.log\n"                                    /* 12 */
    "        MaxDirSearchDepth: 0\n"                                       /* 13 */
    "        FileEncoding: utf8\n"                                         /* 14 */
    "        EnableContainerDiscovery: true\n"                             /* 15 */
    "        # Filter containers based on OpenClaw sandbox information.\n" /* 16 */
    "        ContainerFilters:\n"                                          /* 17 */
    "          K8sPodRegex: ^(openclaw.*)$\n"                              /* 18 */
    "    processors:\n"                                                    /* 19 */
    "      - Type: processor_parse_json_native\n"                          /* 20 */
    "        SourceKey: content\n"                                         /* 21 */
    "    flushers:\n"                                                      /* 22 */
    "      - Type: flusher_sls\n"                                          /* 23 */
    "        Logstore: openclaw-app-log\n"                                 /* 24 */
    "    sample: ''\n"                                                     /* 25 */
    "  # Replace this with the name of the sandbox machine group for your ACK or ACS cluster.\n"
    "  machineGroups:\n"                         /* 27 */
    "    - name: <your-sandbox-machine-group>\n" /* 28 */
    "  # The destination project for data collection.\n"
    "  project:\n"            /* 30 */
    "    name: k8s-log-xxx\n" /* 31 */
    "  # The destination Logstore for data collection.\n"
    "  logstores:\n"                  /* 33 */
    "    - name: openclaw-app-log\n"; /* 34 */

/* OpenClaw's own config (JSON) from the design article. */
static const char openclaw_json[] = "{\n"
                                    "  \"plugins\": {\n"
                                    "    \"allow\": [\"diagnostics-otel\"],\n"
                                    "    \"entries\": {\n"
                                    "      \"diagnostics-otel\": { \"enabled\": true }\n"
                                    "    }\n"
                                    "  },\n"
                                    "  \"diagnostics\": {\n"
                                    "    \"enabled\": true,\n"
                                    "    \"otel\": {\n"
                                    "      \"enabled\": true,\n"
                                    "      \"endpoint\": \"http://127.0.0.1:4318\",\n"
                                    "      \"protocol\": \"http/protobuf\",\n"
                                    "      \"serviceName\": \"openclaw-gateway\",\n"
                                    "      \"traces\": true,\n"
                                    "      \"metrics\": true,\n"
                                    "      \"logs\": true,\n"
                                    "      \"sampleRate\": 1,\n"
                                    "      \"flushIntervalMs\": 60000\n"
                                    "    }\n"
                                    "  }\n"
                                    "}\n";

static char err[512];

static pt_node_t *parse(const char *text, const char *name)
{
    err[0] = 'X';
    err[1] = '\0';
    return pt_node_parse_string(text, strlen(text), name, err, sizeof(err));
}

/* Asserts that `text` fails with exactly `want`. */
static void expect_error(const char *text, const char *want)
{
    pt_node_t *n = parse(text, "bad.yaml");
    assert_null(n);
    assert_string_equal(err, want);
}

static const pt_node_t *key_index(const pt_node_t *map, const char *key, size_t *idx)
{
    assert_non_null(map);
    assert_int_equal(map->type, PT_NODE_MAP);
    for (size_t i = 0; i < map->n; i++) {
        if (strcmp(map->keys[i], key) == 0) {
            *idx = i;
            return map->items[i];
        }
    }
    fail_msg("key '%s' not found", key);
    return NULL;
}

static void assert_scalar(const pt_node_t *n, const char *text, int line, int col)
{
    assert_non_null(n);
    assert_int_equal(n->type, PT_NODE_SCALAR);
    assert_string_equal(n->scalar, text);
    assert_int_equal(n->len, strlen(text));
    assert_int_equal(n->line, line);
    assert_int_equal(n->col, col);
}

/* ---- positions in a real pipeline ------------------------------------------------------------ */

static void test_pipeline_positions(void **state)
{
    (void)state;
    size_t i = 0;
    pt_node_t *root = parse(app_log_yaml, "openclaw-app-log.yaml");
    assert_non_null(root);
    assert_int_equal(root->type, PT_NODE_MAP);
    assert_int_equal(root->n, 4);
    assert_int_equal(root->line, 1);
    assert_string_equal(root->keys[3], "spec");
    assert_int_equal(root->key_lines[3], 5);
    assert_int_equal(root->key_cols[3], 1);

    const pt_node_t *config = pt_node_get_path(root, "spec.config");
    assert_non_null(config);
    assert_int_equal(config->type, PT_NODE_MAP);
    assert_int_equal(config->line, 7);
    assert_int_equal(config->col, 5);

    const pt_node_t *inputs = key_index(config, "inputs", &i);
    assert_int_equal(config->key_lines[i], 9);
    assert_int_equal(config->key_cols[i], 5);
    assert_int_equal(inputs->type, PT_NODE_SEQ);
    assert_int_equal(inputs->n, 1);
    assert_int_equal(inputs->line, 10); /* the "-" */
    assert_int_equal(inputs->col, 7);

    const pt_node_t *in = inputs->items[0];
    assert_int_equal(in->type, PT_NODE_MAP);
    assert_int_equal(in->line, 10);
    assert_int_equal(in->col, 9);
    assert_scalar(key_index(in, "Type", &i), "input_file", 10, 15);

    const pt_node_t *paths = key_index(in, "FilePaths", &i);
    assert_int_equal(in->key_lines[i], 11);
    assert_int_equal(in->key_cols[i], 9);
    assert_int_equal(paths->type, PT_NODE_SEQ);
    assert_int_equal(paths->n, 1);
    assert_scalar(paths->items[0], "/tmp/openclaw/*.log", 12, 13);
    assert_int_equal(paths->items[0]->quoted, 0);

    assert_scalar(key_index(in, "MaxDirSearchDepth", &i), "0", 13, 28);
    assert_scalar(key_index(in, "EnableContainerDiscovery", &i), "true", 15, 35);
    assert_int_equal(in->key_lines[i], 15);
    const pt_node_t *filters = key_index(in, "ContainerFilters", &i);
    assert_int_equal(in->key_lines[i], 17);
    assert_int_equal(filters->line, 18);
    assert_scalar(pt_node_get(filters, "K8sPodRegex"), "^(openclaw.*)$", 18, 24);

    /* sample: '' is an empty quoted string, not null. */
    const pt_node_t *sample = pt_node_get(config, "sample");
    assert_scalar(sample, "", 25, 13);
    assert_int_equal(sample->quoted, 1);
    assert_int_equal(sample->is_null, 0);

    const pt_node_t *aggs = pt_node_get(config, "aggregators");
    assert_int_equal(aggs->type, PT_NODE_SEQ);
    assert_int_equal(aggs->n, 0);
    assert_int_equal(aggs->line, 7);
    const pt_node_t *global = pt_node_get(config, "global");
    assert_int_equal(global->type, PT_NODE_MAP);
    assert_int_equal(global->n, 0);

    assert_scalar(pt_node_get_path(root, "spec.project.name"), "k8s-log-xxx", 31, 11);
    const pt_node_t *flushers = pt_node_get_path(root, "spec.config.flushers");
    assert_scalar(pt_node_get(flushers->items[0], "Logstore"), "openclaw-app-log", 24, 19);
    const pt_node_t *groups = pt_node_get_path(root, "spec.machineGroups");
    assert_int_equal(groups->items[0]->line, 28);

    pt_node_free(root);
}

static void test_lookups(void **state)
{
    (void)state;
    const char *text = "metadata:\n"
                       "  labels:\n"
                       "    alibabacloud.com/acs: 'true'\n"
                       "    app: openclaw\n"
                       "a.b: flat\n"
                       "a:\n"
                       "  b: nested\n";
    pt_node_t *root = parse(text, "sandbox.yaml");
    assert_non_null(root);
    /* A key with dots in it matches as a whole. */
    const pt_node_t *acs = pt_node_get_path(root, "metadata.labels.alibabacloud.com/acs");
    assert_scalar(acs, "true", 3, 27);
    assert_int_equal(acs->quoted, 1);
    assert_scalar(pt_node_get_path(root, "metadata.labels.app"), "openclaw", 4, 10);
    /* The exact key wins over a nested path. */
    assert_string_equal(pt_node_get_path(root, "a.b")->scalar, "flat");
    assert_null(pt_node_get_path(root, "metadata.labels.missing"));
    assert_null(pt_node_get_path(root, "metadata.labels.app.deeper"));
    assert_null(pt_node_get_path(root, ""));
    assert_null(pt_node_get_path(NULL, "a"));
    assert_null(pt_node_get(root, "labels"));
    assert_null(pt_node_get(pt_node_get(root, "a.b"), "x")); /* not a map */
    assert_null(pt_node_get(NULL, "x"));
    pt_node_free(root);
}

static void test_json(void **state)
{
    (void)state;
    pt_node_t *root = parse(openclaw_json, "openclaw.json");
    assert_non_null(root);
    assert_int_equal(root->type, PT_NODE_MAP);
    assert_int_equal(root->n, 2);
    assert_string_equal(root->keys[1], "diagnostics");
    assert_int_equal(root->key_lines[1], 8);
    assert_int_equal(root->key_cols[1], 3);

    const pt_node_t *allow = pt_node_get_path(root, "plugins.allow");
    assert_int_equal(allow->type, PT_NODE_SEQ);
    assert_scalar(allow->items[0], "diagnostics-otel", 3, 15);
    assert_int_equal(allow->items[0]->quoted, 1);

    const pt_node_t *en = pt_node_get_path(root, "plugins.entries.diagnostics-otel.enabled");
    assert_scalar(en, "true", 5, 40);
    assert_int_equal(en->quoted, 0);
    assert_string_equal(pt_node_kind(en), "a boolean");

    const pt_node_t *ep = pt_node_get_path(root, "diagnostics.otel.endpoint");
    assert_scalar(ep, "http://127.0.0.1:4318", 12, 19);
    assert_int_equal(ep->quoted, 1);
    const pt_node_t *ms = pt_node_get_path(root, "diagnostics.otel.flushIntervalMs");
    assert_scalar(ms, "60000", 19, 26);
    assert_int_equal(ms->quoted, 0);
    assert_string_equal(pt_node_kind(ms), "a number");

    /* JSON indented with tabs is still JSON: tabs are fine inside flow collections. */
    pt_node_t *tabs = parse("{\n\t\"a\":1,\n\t\"b\": [null,\t2]\n}\n", "tabs.json");
    assert_non_null(tabs);
    assert_scalar(pt_node_get(tabs, "a"), "1", 2, 6);
    assert_int_equal(pt_node_get(tabs, "b")->items[0]->is_null, 1);
    pt_node_free(tabs);
    pt_node_free(root);
}

/* ---- scalars --------------------------------------------------------------------------------- */

static void test_scalar_flags(void **state)
{
    (void)state;
    const char *text = "a: ~\n"
                       "b: null\n"
                       "c: Null\n"
                       "d: NULL\n"
                       "e:\n"
                       "f: nULL\n"
                       "g: '~'\n"
                       "h: \"null\"\n"
                       "i: |\n"
                       "  line one\n"
                       "  line two\n"
                       "j: >-\n"
                       "  folded\n"
                       "  text\n"
                       "k: !!str 42\n"
                       "l: !!str\n"
                       "m: plain text\n"
                       "n: !!null ''\n";
    pt_node_t *root = parse(text, "s.yaml");
    assert_non_null(root);
    static const struct {
        const char *key;
        const char *text;
        int quoted;
        int is_null;
        const char *kind;
    } want[] = {
        {"a", "~", 0, 1, "null"},
        {"b", "null", 0, 1, "null"},
        {"c", "Null", 0, 1, "null"},
        {"d", "NULL", 0, 1, "null"},
        {"e", "", 0, 1, "null"},
        {"f", "nULL", 0, 0, "a string"},
        {"g", "~", 1, 0, "a string"},
        {"h", "null", 1, 0, "a string"},
        {"i", "line one\nline two\n", 1, 0, "a string"},
        {"j", "folded text", 1, 0, "a string"},
        {"k", "42", 1, 0, "a string"},
        {"l", "", 1, 0, "a string"},
        {"m", "plain text", 0, 0, "a string"},
        {"n", "", 1, 0, "a string"}, /* quoting wins over the tag */
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const pt_node_t *n = pt_node_get(root, want[i].key);
        assert_non_null(n);
        assert_string_equal(n->scalar, want[i].text);
        assert_int_equal(n->quoted, want[i].quoted);
        assert_int_equal(n->is_null, want[i].is_null);
        assert_string_equal(pt_node_kind(n), want[i].kind);
    }
    assert_int_equal(pt_node_get(root, "i")->line, 9);
    assert_int_equal(pt_node_get(root, "j")->line, 12);
    pt_node_free(root);
}

static void test_kind(void **state)
{
    (void)state;
    pt_node_t *root =
        parse("[1, -2.5e3, 0x1F, .inf, 1.2.3, 'x', true, FALSE, yes, {}, [], ~, 1e, +7]", "k.yaml");
    assert_non_null(root);
    static const char *const want[] = {"a number", "a number",  "a number",  "a number", "a string",
                                       "a string", "a boolean", "a boolean", "a string", "a map",
                                       "a list",   "null",      "a string",  "a number"};
    assert_int_equal(root->n, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < root->n; i++) {
        assert_string_equal(pt_node_kind(root->items[i]), want[i]);
    }
    assert_string_equal(pt_node_kind(NULL), "nothing");
    pt_node_free(root);
}

/* A scalar may hold NUL bytes (from a "\0" escape); len tells the truth. */
static void test_nul_in_value(void **state)
{
    (void)state;
    pt_node_t *root = parse("v: \"a\\0b\"\n", "n.yaml");
    assert_non_null(root);
    const pt_node_t *v = pt_node_get(root, "v");
    assert_int_equal(v->len, 3);
    assert_memory_equal(v->scalar, "a\0b", 4);
    pt_node_free(root);
}

/* ---- documents ------------------------------------------------------------------------------- */

static void test_empty_documents(void **state)
{
    (void)state;
    static const char *const empty[] = {"", "\n\n", "# just a comment\n", "---\n", "--- \n...\n"};
    for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
        pt_node_t *n = parse(empty[i], "empty.yaml");
        assert_non_null(n);
        assert_int_equal(n->type, PT_NODE_MAP);
        assert_int_equal(n->n, 0);
        pt_node_free(n);
    }
    pt_node_t *n = pt_node_parse_string(NULL, 0, NULL, err, sizeof(err));
    assert_non_null(n);
    assert_int_equal(n->type, PT_NODE_MAP);
    pt_node_free(n);

    /* An explicit null document is a null, not an empty map; so is a scalar root. */
    n = parse("~\n", "null.yaml");
    assert_non_null(n);
    assert_int_equal(n->type, PT_NODE_SCALAR);
    assert_int_equal(n->is_null, 1);
    pt_node_free(n);
}

static void test_first_document_only(void **state)
{
    (void)state;
    /* The third document is broken, but it is never read. */
    pt_node_t *n = parse("a: 1\n---\nb: 2\n---\n: : [bad\n", "multi.yaml");
    assert_non_null(n);
    assert_int_equal(n->n, 1);
    assert_string_equal(n->keys[0], "a");
    pt_node_free(n);

    n = parse("---\nfirst: yes\n...\n---\nsecond: no\n", "multi.yaml");
    assert_non_null(n);
    assert_int_equal(n->n, 1);
    assert_scalar(pt_node_get(n, "first"), "yes", 2, 8);
    pt_node_free(n);
}

/* ---- anchors and aliases --------------------------------------------------------------------- */

static void test_aliases_copy(void **state)
{
    (void)state;
    const char *text = "defaults: &d\n"    /* 1 */
                       "  Logstore: app\n" /* 2 */
                       "  Tags: [a, b]\n"  /* 3 */
                       "flushers:\n"       /* 4 */
                       "  - *d\n"          /* 5 */
                       "  - *d\n"          /* 6 */
                       "&k name: value\n"  /* 7 */
                       "other: *k\n"       /* 8 */
                       "port: &p 80\n"     /* 9 */
                       "again: *p\n"       /* 10 */
                       "port2: &p 81\n"    /* 11 */
                       "latest: *p\n";     /* 12 */
    pt_node_t *root = parse(text, "alias.yaml");
    assert_non_null(root);
    const pt_node_t *defs = pt_node_get(root, "defaults");
    const pt_node_t *fl = pt_node_get(root, "flushers");
    assert_int_equal(fl->n, 2);
    for (size_t i = 0; i < 2; i++) {
        const pt_node_t *c = fl->items[i];
        /* A deep copy: same content and positions, separate memory. */
        assert_ptr_not_equal(c, defs);
        assert_int_equal(c->type, PT_NODE_MAP);
        assert_int_equal(c->n, 2);
        assert_ptr_not_equal(c->keys[0], defs->keys[0]);
        assert_scalar(pt_node_get(c, "Logstore"), "app", 2, 13);
        assert_int_equal(c->key_lines[1], 3);
        assert_int_equal(pt_node_get(c, "Tags")->n, 2);
    }
    /* An anchor on a map key can be used as a value later. */
    assert_scalar(pt_node_get(root, "name"), "value", 7, 10);
    assert_scalar(pt_node_get(root, "other"), "name", 7, 1);
    assert_string_equal(pt_node_get(root, "again")->scalar, "80");
    /* A redefined anchor: the latest definition wins. */
    assert_string_equal(pt_node_get(root, "latest")->scalar, "81");
    pt_node_free(root);
}

static void test_many_anchors(void **state)
{
    (void)state;
    /* Enough anchors to grow the anchor index several times, with one name redefined midway. */
    pt_buf_t b;
    pt_buf_init(&b);
    for (int i = 0; i < 300; i++) {
        assert_int_equal(pt_buf_appendf(&b, "k%d: &a%d v%d\n", i, i, i), 0);
        if (i == 150) {
            assert_int_equal(pt_buf_append_str(&b, "r5: &a5 redefined\n"), 0);
        }
    }
    assert_int_equal(pt_buf_append_str(&b, "x: [*a0, *a5, *a150, *a299]\n"), 0);
    assert_int_equal(pt_buf_putc(&b, '\0'), 0);
    pt_node_t *n = parse(b.data, "anchors.yaml");
    assert_non_null(n);
    const pt_node_t *x = pt_node_get(n, "x");
    assert_int_equal(x->n, 4);
    assert_string_equal(x->items[0]->scalar, "v0");
    assert_string_equal(x->items[1]->scalar, "redefined");
    assert_int_equal(x->items[1]->line, 152);
    assert_string_equal(x->items[2]->scalar, "v150");
    assert_string_equal(x->items[3]->scalar, "v299");
    pt_node_free(n);
    pt_buf_free(&b);
}

static void test_alias_errors(void **state)
{
    (void)state;
    expect_error("a: *nope\n", "bad.yaml:1:4: undefined alias '*nope'");
    expect_error("a: &x [1, *x]\n", "bad.yaml:1:11: alias '*x' refers to a node that contains it");
    /* Aliases to maps cannot become keys either. */
    expect_error("x: &m {a: 1}\n*m : 2\n", "bad.yaml:2:1: map keys must be scalars, got a map");
    /* An anchored key followed by an error: the kept key node must not leak. */
    expect_error("&k a: 1\n&k2 b: *k\nc: [\n", "bad.yaml:4:1: did not find expected node content "
                                               "(while parsing a flow node)");
}

static void test_alias_bomb(void **state)
{
    (void)state;
    /* The billion laughs: 10^9 nodes if expanded; refused once the tree passes the budget. */
    const char *bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
                       "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
                       "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
                       "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
                       "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
                       "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
                       "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
                       "h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]\n"
                       "i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]\n";
    /* Through d the tree holds 12346 nodes and each *d copies 11111 more: the eighth alias on
     * line 5 is the one that does not fit. */
    expect_error(bomb, "bad.yaml:5:36: document has more than 100000 nodes after expanding "
                       "aliases");

    /* Few nodes but huge text: refused by the byte budget instead. Eight 2 MiB copies fill the
     * 16 MiB exactly; the ninth alias is refused. */
    size_t big = 2u << 20;
    pt_buf_t b;
    pt_buf_init(&b);
    assert_int_equal(pt_buf_append_str(&b, "s: &s \""), 0);
    for (size_t i = 0; i < big; i++) {
        assert_int_equal(pt_buf_putc(&b, 'x'), 0);
    }
    assert_int_equal(pt_buf_append_str(&b, "\"\nl: [*s, *s, *s, *s, *s, *s, *s, *s, *s, *s]\n"), 0);
    assert_int_equal(pt_buf_putc(&b, '\0'), 0);
    expect_error(b.data, "bad.yaml:2:37: aliases expand to more than 16777216 bytes of text");
    pt_buf_free(&b);
}

/* ---- errors ---------------------------------------------------------------------------------- */

static void test_syntax_errors(void **state)
{
    (void)state;
    /* An unclosed flow list in a pipeline: the error is on the line after, naming where the list
     * started. */
    expect_error("inputs:\n"
                 "  - Type: input_file\n"
                 "    FilePaths: [/var/log/a.log, /var/log/b.log\n"
                 "    MaxDirSearchDepth: 0\n",
                 "bad.yaml:4:22: did not find expected ',' or ']' (while parsing a flow sequence "
                 "started at 3:16)");
    expect_error("inputs:\n"
                 "  - Type: input_file\n"
                 "    FilePaths:\n"
                 "      - /a\n"
                 "   Bad: 1\n",
                 "bad.yaml:5:4: did not find expected '-' indicator (while parsing a block "
                 "collection started at 2:3)");
    expect_error("a: b: c\n", "bad.yaml:1:5: mapping values are not allowed in this context");
    expect_error("k: - a\n", "bad.yaml:1:4: block sequence entries are not allowed in this "
                             "context");
    expect_error("a: \"open\n", "bad.yaml:2:1: found unexpected end of stream (while scanning a "
                                "quoted scalar started at 1:4)");
    expect_error("a:\n\tb: 1\n", "bad.yaml:2:1: tab characters must not be used for indentation");
    expect_error("a: 1\nb: \xff\n", "bad.yaml:2:4: invalid leading UTF-8 octet (byte 0xff)");
    expect_error("{\"a\": 1,, \"b\": 2}", "bad.yaml:1:9: did not find expected node content "
                                          "(while parsing a flow node)");
    expect_error("[1, 2]\nx: 3\n", "bad.yaml:2:1: did not find expected <document start>");
    expect_error("[\"a\", \"b\"]\n]\n", "bad.yaml:2:1: did not find expected <document start>");
    /* Junk after the root node in the same document is still reported. */
    expect_error("a: 1\n- b\n", "bad.yaml:2:1: did not find expected key (while parsing a block "
                                "mapping started at 1:1)");
}

static void test_duplicate_keys(void **state)
{
    (void)state;
    expect_error("inputs:\n"
                 "  - Type: input_file\n"
                 "    FilePaths: [/a]\n"
                 "    MaxDirSearchDepth: 0\n"
                 "    FilePaths: [/b]\n",
                 "bad.yaml:5:5: duplicate key 'FilePaths' (first defined at line 3)");
    expect_error("{\"a\": 1,\n \"b\": 2,\n \"a\": 3}",
                 "bad.yaml:3:2: duplicate key 'a' (first defined at line 1)");
    /* Keys are compared as text after unquoting. */
    expect_error("a: 1\n'a': 2\n", "bad.yaml:2:1: duplicate key 'a' (first defined at line 1)");
    /* A control character in the key is escaped, so the message stays one line. */
    expect_error("\"a\\nb\": 1\n\"a\\nb\": 2\n",
                 "bad.yaml:2:1: duplicate key 'a\\x0ab' (first defined at line 1)");

    /* A long key is cut short in the message. */
    expect_error("abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789: 1\n"
                 "abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz0123456789: 2\n",
                 "bad.yaml:2:1: duplicate key "
                 "'abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwx...' (first defined "
                 "at line 1)");

    /* Many keys: duplicates are still found (past the key set's first growth). */
    pt_buf_t b;
    pt_buf_init(&b);
    for (int i = 0; i < 300; i++) {
        assert_int_equal(pt_buf_appendf(&b, "key%d: %d\n", i, i), 0);
    }
    assert_int_equal(pt_buf_append_str(&b, "key17: again\n"), 0);
    assert_int_equal(pt_buf_putc(&b, '\0'), 0);
    expect_error(b.data, "bad.yaml:301:1: duplicate key 'key17' (first defined at line 18)");
    b.len -= 14; /* drop the duplicate line and the NUL */
    assert_int_equal(pt_buf_putc(&b, '\0'), 0);
    pt_node_t *n = parse(b.data, "many.yaml");
    assert_non_null(n);
    assert_int_equal(n->n, 300);
    assert_int_equal(n->key_lines[299], 300);
    pt_node_free(n);
    pt_buf_free(&b);
}

static void test_key_errors(void **state)
{
    (void)state;
    expect_error("? [a, b]\n: 1\n", "bad.yaml:1:3: map keys must be scalars, got a list");
    expect_error("{[a]: 1}\n", "bad.yaml:1:2: map keys must be scalars, got a list");
    expect_error("? {a: 1}\n: 1\n", "bad.yaml:1:3: map keys must be scalars, got a map");
    expect_error("\"a\\0b\": 1\n", "bad.yaml:1:1: map key contains a NUL character");
    /* The same with an anchor on the key (the anchor table holds that key node). */
    expect_error("&k \"a\\0b\": 1\n", "bad.yaml:1:1: map key contains a NUL character");
}

static void test_depth_limit(void **state)
{
    (void)state;
    char text[300];
    /* 64 nested lists are fine. */
    memset(text, '[', 64);
    memset(text + 64, ']', 64);
    text[128] = '\0';
    pt_node_t *n = parse(text, "deep.json");
    assert_non_null(n);
    pt_node_free(n);
    /* 65 are not. */
    memset(text, '[', 65);
    memset(text + 65, ']', 65);
    text[130] = '\0';
    expect_error(text, "bad.yaml:1:65: nesting is deeper than 64 levels");

    /* Block maps count the same way. */
    pt_buf_t b;
    pt_buf_init(&b);
    for (int i = 0; i < 65; i++) {
        assert_int_equal(pt_buf_appendf(&b, "%*sk%d:\n", i, "", i), 0);
    }
    assert_int_equal(pt_buf_appendf(&b, "%*sleaf: 1\n", 65, ""), 0);
    assert_int_equal(pt_buf_putc(&b, '\0'), 0);
    expect_error(b.data, "bad.yaml:65:65: nesting is deeper than 64 levels");
    pt_buf_free(&b);

    /* An alias cannot smuggle a deep tree below the limit's radar. */
    memset(text, 0, sizeof(text));
    strcpy(text, "a: &a ");
    memset(text + 6, '[', 60);
    memset(text + 66, ']', 60);
    strcat(text, "\nb: [[[[[*a]]]]]\n");
    expect_error(text, "bad.yaml:2:9: nesting is deeper than 64 levels");
}

static void test_parse_file(void **state)
{
    (void)state;
    char path[] = "/tmp/pt_test_node_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    fputs(app_log_yaml, f);
    fclose(f);

    pt_node_t *n = pt_node_parse_file(path, err, sizeof(err));
    assert_non_null(n);
    assert_scalar(pt_node_get_path(n, "metadata.name"), "openclaw-app-log", 4, 9);
    pt_node_free(n);

    f = fopen(path, "w");
    assert_non_null(f);
    fputs("a: 1\na: 2\n", f);
    fclose(f);
    n = pt_node_parse_file(path, err, sizeof(err));
    assert_null(n);
    char want[128];
    snprintf(want, sizeof(want), "%s:2:1: duplicate key 'a' (first defined at line 1)", path);
    assert_string_equal(err, want);
    unlink(path);

    n = pt_node_parse_file("/nonexistent/petrel.yaml", err, sizeof(err));
    assert_null(n);
    assert_string_equal(err, "/nonexistent/petrel.yaml: No such file or directory");
    n = pt_node_parse_file("/tmp", err, sizeof(err));
    assert_null(n);
    assert_string_equal(err, "/tmp: Is a directory");
}

static void test_small_error_buffer(void **state)
{
    (void)state;
    char small[12];
    assert_null(pt_node_parse_string("a: [", 4, "file.yaml", small, sizeof(small)));
    assert_string_equal(small, "file.yaml:1");
    /* With no final newline the end of the file is still on line 1. */
    assert_null(pt_node_parse_string("a: [", 4, "file.yaml", err, sizeof(err)));
    assert_string_equal(err, "file.yaml:1:5: did not find expected node content (while parsing a "
                             "flow node)");
    assert_null(pt_node_parse_string("a: [\n", 5, "file.yaml", err, sizeof(err)));
    assert_string_equal(err, "file.yaml:2:1: did not find expected node content (while parsing a "
                             "flow node)");
    assert_null(pt_node_parse_string("a: [", 4, "file.yaml", NULL, 0));
}

static void test_structured_errors(void **state)
{
    (void)state;
    pt_node_err_t e;
    const char *text = "inputs:\n"
                       "  - Type: input_file\n"
                       "    FilePaths: [/var/log/a.log, /var/log/b.log\n"
                       "    MaxDirSearchDepth: 0\n";
    assert_null(pt_node_parse_string_ex(text, strlen(text), &e));
    assert_int_equal(e.line, 4);
    assert_int_equal(e.col, 22);
    assert_string_equal(e.reason, "did not find expected ',' or ']' (while parsing a flow "
                                  "sequence started at 3:16)");
    assert_null(pt_node_parse_string_ex("a: 1\na: 2\n", 10, &e));
    assert_int_equal(e.line, 2);
    assert_int_equal(e.col, 1);
    assert_string_equal(e.reason, "duplicate key 'a' (first defined at line 1)");

    /* No position: line and column are 0. */
    assert_null(pt_node_parse_file_ex("/nonexistent/petrel.yaml", &e));
    assert_int_equal(e.line, 0);
    assert_int_equal(e.col, 0);
    assert_string_equal(e.reason, "No such file or directory");

    /* Success clears it; NULL is allowed. */
    pt_node_t *n = pt_node_parse_string_ex("a: 1\n", 5, &e);
    assert_non_null(n);
    assert_int_equal(e.line, 0);
    assert_string_equal(e.reason, "");
    pt_node_free(n);
    assert_null(pt_node_parse_string_ex("a: [", 4, NULL));
    assert_null(pt_node_parse_file_ex("/nonexistent/petrel.yaml", NULL));
}

/* ---- allocation failure ---------------------------------------------------------------------- */

static long fail_after = -1; /* allocations left before failing; -1: never fail */

static int should_fail(void)
{
    if (fail_after < 0) {
        return 0;
    }
    if (fail_after == 0) {
        return 1;
    }
    fail_after--;
    return 0;
}

static void *failing_malloc(size_t size)
{
    return should_fail() ? NULL : malloc(size);
}

static void *failing_realloc(void *p, size_t size)
{
    return should_fail() ? NULL : realloc(p, size);
}

static void *failing_calloc(size_t count, size_t size)
{
    return should_fail() ? NULL : calloc(count, size);
}

/* Fails the 1st, 2nd, ... allocation in turn: each run must fail cleanly (ASan checks leaks) and
 * say why, until one run needs no failing allocation. */
static void test_out_of_memory(void **state)
{
    (void)state;
    const char *text = "x: &m {a: [1, 2], b: {c: d}}\n"
                       "&k key: *m\n"
                       "y: [*m, *k]\n";
    pt_buf_t big;
    pt_buf_init(&big);
    assert_int_equal(pt_buf_append_str(&big, app_log_yaml), 0);
    assert_int_equal(pt_buf_append_str(&big, text), 0);
    assert_int_equal(pt_buf_putc(&big, '\0'), 0);
    assert_int_equal(pt_replace_allocator(failing_malloc, failing_realloc, failing_calloc, free),
                     0);
    int succeeded = 0;
    for (long i = 0; i < 100000 && !succeeded; i++) {
        fail_after = i;
        pt_node_t *n = parse(big.data, "oom.yaml");
        if (n != NULL) {
            succeeded = 1;
            assert_int_equal(pt_node_get(n, "y")->n, 2);
            pt_node_free(n);
        } else {
            assert_string_equal(err, "oom.yaml: out of memory");
        }
    }
    fail_after = -1;
    assert_true(succeeded);
    assert_int_equal(pt_replace_allocator(malloc, realloc, calloc, free), 0);
    pt_buf_free(&big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pipeline_positions),
        cmocka_unit_test(test_lookups),
        cmocka_unit_test(test_json),
        cmocka_unit_test(test_scalar_flags),
        cmocka_unit_test(test_kind),
        cmocka_unit_test(test_nul_in_value),
        cmocka_unit_test(test_empty_documents),
        cmocka_unit_test(test_first_document_only),
        cmocka_unit_test(test_aliases_copy),
        cmocka_unit_test(test_many_anchors),
        cmocka_unit_test(test_alias_errors),
        cmocka_unit_test(test_alias_bomb),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_key_errors),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_parse_file),
        cmocka_unit_test(test_small_error_buffer),
        cmocka_unit_test(test_structured_errors),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
