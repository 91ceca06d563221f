/* Tests for config/cfgmap.c: what a user reads when a pipeline's plugin config is wrong, checked
 * message by message, plus the values a plugin gets when it is right and the generated docs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/cfgmap.h"
#include "config/node.h"
#include "core/mem.h"
#include "core/str.h"

/* A file input much like LoongCollector's input_file, plus one field of every other kind. */
typedef struct {
    pt_strlist_t file_paths;
    int64_t max_depth;
    char *encoding;
    int discovery;
    const pt_node_t *filters;
    double sample_rate;
    int64_t port;
    char *mode;
    char *access_key_secret;
    int64_t pin;
    pt_strmap_t tags;
    int64_t batch_min;
    int64_t batch_max_bytes;
    pt_strlist_t keys;
    char *endpoint;
} in_cfg_t;

#define OFF(f) offsetof(in_cfg_t, f)

static const pt_cfg_field_t in_map[] = {
    {"FilePaths", PT_CFG_STRLIST, NULL, 0, 0, NULL, PT_CFG_REQUIRED, OFF(file_paths), NULL,
     "Files to collect; globs allowed."},
    {"MaxDirSearchDepth", PT_CFG_INT, "0", 0, 1000, NULL, PT_CFG_BOUNDED, OFF(max_depth), NULL,
     "How deep ** may descend."},
    {"FileEncoding", PT_CFG_STRING, "utf8", 0, 0, "utf8|gbk", 0, OFF(encoding), NULL,
     "Encoding of the files."},
    {"EnableContainerDiscovery", PT_CFG_BOOL, "false", 0, 0, NULL, 0, OFF(discovery), NULL,
     "Collect from containers."},
    {"ContainerFilters", PT_CFG_NODE, NULL, 0, 0, NULL, 0, OFF(filters), NULL,
     "Which containers to collect from."},
    {"SampleRate", PT_CFG_DOUBLE, "1.0", 0, 1, NULL, PT_CFG_BOUNDED, OFF(sample_rate), NULL,
     "Fraction of events kept."},
    {"Port", PT_CFG_INT, "4318", 1, 65535, NULL, PT_CFG_BOUNDED, OFF(port), NULL, "TCP port."},
    {"Mode", PT_CFG_STRING, "a", 0, 0, "a|b|c", 0, OFF(mode), NULL, "Mode."},
    {"AccessKeySecret", PT_CFG_STRING, NULL, 0, 0, "sk-1|sk-2", PT_CFG_SECRET,
     OFF(access_key_secret), NULL, "SLS access key secret."},
    {"Pin", PT_CFG_INT, NULL, 1000, 9999, NULL, PT_CFG_BOUNDED | PT_CFG_SECRET, OFF(pin), NULL,
     "Unlock code."},
    {"Tags", PT_CFG_STRMAP, NULL, 0, 0, NULL, 0, OFF(tags), NULL, "Tags added to every event."},
    {"Batch", PT_CFG_SECTION, NULL, 0, 0, NULL, 0, 0, NULL, "Batching."},
    {"Batch.MinCnt", PT_CFG_INT, "10", 1, 65535, NULL, PT_CFG_BOUNDED, OFF(batch_min), "MinCount",
     "Events per batch."},
    {"Batch.MaxBytes", PT_CFG_INT, "1048576", 0, 0, NULL, 0, OFF(batch_max_bytes), NULL,
     "Bytes per batch."},
    {"Keys", PT_CFG_STRLIST, "content, level", 0, 0, NULL, PT_CFG_COMMA, OFF(keys), NULL,
     "Keys to keep."},
    {"Endpoint", PT_CFG_STRING, NULL, 0, 0, NULL, 0, OFF(endpoint), "Address", "host:port."},
};
#define IN_N (sizeof(in_map) / sizeof(in_map[0]))

static const char *const ignore_type[] = {"Type", NULL};

/* The seed pipeline from the design article, unchanged. */
static const char app_log_yaml[] =
    "apiVersion: telemetry.alibabacloud.com/v1alpha1\n"
    "kind: ClusterAliyunPipelineConfig\n"
    "metadata:\n"
    "  name: openclaw-app-log\n"
    "spec:\n"
    "  config:\n"
    "    aggregators: []\n"
    "    global: {}\n"
    "    inputs:\n"
    "      - Type: input_file\n"               /* 10 */
    "        FilePaths:\n"                     /* 11 */
    "          - /tmp/openclaw/*.log\n"        /* 12 */
    "        MaxDirSearchDepth: 0\n"           /* 13 */
    "        FileEncoding: utf8\n"             /* 14 */
    "        EnableContainerDiscovery: true\n" /* 15 */
    "        # Filter containers based on OpenClaw sandbox information.\n"
    "        ContainerFilters:\n"             /* 17 */
    "          K8sPodRegex: ^(openclaw.*)$\n" /* 18 */
    "    processors:\n"
    "      - Type: processor_parse_json_native\n"
    "        SourceKey: content\n"
    "    flushers:\n"
    "      - Type: flusher_sls\n"
    "        Logstore: openclaw-app-log\n"
    "    sample: ''\n"
    "  machineGroups:\n"
    "    - name: <your-sandbox-machine-group>\n"
    "  project:\n"
    "    name: k8s-log-xxx\n"
    "  logstores:\n"
    "    - name: openclaw-app-log\n";

static pt_node_t *root;
static pt_cfg_diag_t diag;
static in_cfg_t cfg;
static int rc;

static pt_node_t *parse(const char *yaml)
{
    char err[256];
    pt_node_t *n = pt_node_parse_string(yaml, strlen(yaml), "p.yaml", err, sizeof(err));
    if (n == NULL) {
        fail_msg("parse failed: %s", err);
    }
    return n;
}

/* Loads `yaml` (the plugin's own map) as pipeline "pipe", plugin "input_file", file "p.yaml". */
static void load(const char *yaml)
{
    memset(&cfg, 0, sizeof(cfg));
    root = parse(yaml);
    pt_cfg_diag_init(&diag, "p.yaml", "pipe");
    diag.plugin = "input_file";
    rc = pt_cfg_load(in_map, IN_N, root, &cfg, ignore_type, &diag);
}

static void unload(void)
{
    pt_cfg_free(in_map, IN_N, &cfg);
    pt_cfg_diag_free(&diag);
    pt_node_free(root);
    root = NULL;
}

/* Loads and asserts the whole diagnostic text, and that the return code agrees with it. */
static void expect(const char *yaml, const char *want)
{
    load(yaml);
    assert_string_equal(pt_cfg_diag_text(&diag), want);
    assert_int_equal(rc, diag.nerrors > 0 ? -EINVAL : 0);
    unload();
}

/* Every test document starts with the required key on line 1. */
#define FP "FilePaths: /x\n"

/* ---- the seed pipeline ----------------------------------------------------------------------- */

static void test_seed_input_file(void **state)
{
    (void)state;
    memset(&cfg, 0, sizeof(cfg));
    root = parse(app_log_yaml);
    const pt_node_t *in = pt_node_get_path(root, "spec.config.inputs")->items[0];
    pt_cfg_diag_init(&diag, "openclaw-app-log.yaml", "openclaw-app-log");
    diag.plugin = "input_file";
    rc = pt_cfg_load(in_map, IN_N, in, &cfg, ignore_type, &diag);
    assert_int_equal(rc, 0);
    assert_string_equal(pt_cfg_diag_text(&diag), "");
    assert_int_equal(diag.nerrors, 0);
    assert_int_equal(diag.nwarnings, 0);

    assert_int_equal(cfg.file_paths.n, 1);
    assert_string_equal(cfg.file_paths.v[0], "/tmp/openclaw/*.log");
    assert_int_equal(cfg.max_depth, 0);
    assert_string_equal(cfg.encoding, "utf8");
    assert_int_equal(cfg.discovery, 1);
    assert_ptr_equal(cfg.filters, pt_node_get(in, "ContainerFilters"));
    assert_string_equal(pt_node_get(cfg.filters, "K8sPodRegex")->scalar, "^(openclaw.*)$");
    /* Everything not in the file has its default. */
    assert_true(cfg.sample_rate == 1.0);
    assert_int_equal(cfg.port, 4318);
    assert_string_equal(cfg.mode, "a");
    assert_null(cfg.access_key_secret);
    assert_int_equal(cfg.pin, 0);
    assert_int_equal(cfg.tags.n, 0);
    assert_int_equal(cfg.batch_min, 10);
    assert_int_equal(cfg.batch_max_bytes, 1048576);
    assert_int_equal(cfg.keys.n, 2);
    assert_string_equal(cfg.keys.v[0], "content");
    assert_string_equal(cfg.keys.v[1], "level");
    assert_null(cfg.endpoint);

    /* pt_cfg_free releases and resets what it owns. */
    pt_cfg_free(in_map, IN_N, &cfg);
    assert_null(cfg.file_paths.v);
    assert_int_equal(cfg.file_paths.n, 0);
    assert_null(cfg.encoding);
    assert_null(cfg.mode);
    assert_null(cfg.keys.v);
    assert_null(cfg.filters);
    unload();
}

static void test_seed_with_mistakes(void **state)
{
    (void)state;
    /* The seed input with the usual slips: a singular FilePath, a boolean written as "yes", a
     * port out of range and a lowercase key. */
    const char *yaml = "inputs:\n"
                       "  - Type: input_file\n"               /* 2 */
                       "    FilePath:\n"                      /* 3 */
                       "      - /tmp/openclaw/*.log\n"        /* 4 */
                       "    MaxDirSearchDepth: 0\n"           /* 5 */
                       "    FileEncoding: utf8\n"             /* 6 */
                       "    EnableContainerDiscovery: yes\n"  /* 7 */
                       "    port: 0\n"                        /* 8 */
                       "    Port: 0\n"                        /* 9 */
                       "    ContainerFilters:\n"              /* 10 */
                       "      K8sPodRegex: ^(openclaw.*)$\n"; /* 11 */
    memset(&cfg, 0, sizeof(cfg));
    root = parse(yaml);
    pt_cfg_diag_init(&diag, "openclaw-app-log.yaml", "openclaw-app-log");
    diag.plugin = "input_file";
    rc = pt_cfg_load(in_map, IN_N, pt_node_get(root, "inputs")->items[0], &cfg, ignore_type, &diag);
    assert_int_equal(rc, -EINVAL);
    assert_string_equal(
        pt_cfg_diag_text(&diag),
        "[openclaw-app-log.yaml:2] openclaw-app-log/input_file.FilePaths: required key is "
        "missing\n"
        "[openclaw-app-log.yaml:7] openclaw-app-log/input_file.EnableContainerDiscovery: "
        "expected true or false, got 'yes'\n"
        "[openclaw-app-log.yaml:9] openclaw-app-log/input_file.Port: must be between 1 and "
        "65535, got 0\n"
        "[openclaw-app-log.yaml:3] openclaw-app-log/input_file.FilePath: warning: unknown key; "
        "did you mean 'FilePaths'?\n"
        "[openclaw-app-log.yaml:8] openclaw-app-log/input_file.port: warning: unknown key; did "
        "you mean 'Port'?\n");
    assert_int_equal(diag.nerrors, 3);
    assert_int_equal(diag.nwarnings, 2);
    /* Rejected values leave the defaults in place. */
    assert_int_equal(cfg.discovery, 0);
    assert_int_equal(cfg.port, 4318);
    unload();
}

/* ---- types ----------------------------------------------------------------------------------- */

static void test_defaults(void **state)
{
    (void)state;
    load(FP);
    assert_int_equal(rc, 0);
    assert_string_equal(pt_cfg_diag_text(&diag), "");
    assert_int_equal(cfg.max_depth, 0);
    assert_string_equal(cfg.encoding, "utf8");
    assert_int_equal(cfg.discovery, 0);
    assert_null(cfg.filters);
    assert_true(cfg.sample_rate == 1.0);
    assert_int_equal(cfg.port, 4318);
    assert_int_equal(cfg.batch_min, 10);
    assert_int_equal(cfg.batch_max_bytes, 1048576);
    assert_int_equal(cfg.keys.n, 2);
    assert_string_equal(cfg.keys.v[1], "level");
    unload();

    /* Defaults are applied even when the node is not a map at all. */
    load("[1, 2]\n");
    assert_int_equal(rc, -EINVAL);
    assert_string_equal(pt_cfg_diag_text(&diag),
                        "[p.yaml:1] pipe/input_file: expected a map, got a list\n");
    assert_int_equal(cfg.port, 4318);
    unload();
}

static void test_bool(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int want;
    } ok[] = {{"true", 1},  {"false", 0},  {"True", 1},
              {"FALSE", 0}, {"'true'", 1}, {"\"false\"", 0}};
    char yaml[128];
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        snprintf(yaml, sizeof(yaml), FP "EnableContainerDiscovery: %s\n", ok[i].text);
        load(yaml);
        assert_int_equal(rc, 0);
        assert_string_equal(pt_cfg_diag_text(&diag), "");
        assert_int_equal(cfg.discovery, ok[i].want);
        unload();
    }
    expect(FP "EnableContainerDiscovery: yes\n",
           "[p.yaml:2] pipe/input_file.EnableContainerDiscovery: expected true or false, got "
           "'yes'\n");
    expect(FP "EnableContainerDiscovery: 1\n",
           "[p.yaml:2] pipe/input_file.EnableContainerDiscovery: expected true or false, got "
           "'1'\n");
    expect(FP "EnableContainerDiscovery: 'on'\n",
           "[p.yaml:2] pipe/input_file.EnableContainerDiscovery: expected true or false, got "
           "'on'\n");
    expect(FP "EnableContainerDiscovery: [true]\n",
           "[p.yaml:2] pipe/input_file.EnableContainerDiscovery: expected true or false, got a "
           "list\n");
}

static void test_int(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int64_t want;
    } ok[] = {{"7", 7}, {"'42'", 42}, {"\"1000\"", 1000}, {"+3", 3}, {"0x10", 16}, {"0", 0}};
    char yaml[128];
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        snprintf(yaml, sizeof(yaml), FP "MaxDirSearchDepth: %s\n", ok[i].text);
        load(yaml);
        assert_string_equal(pt_cfg_diag_text(&diag), "");
        assert_int_equal(cfg.max_depth, ok[i].want);
        unload();
    }
    /* Unbounded fields take the whole int64 range. */
    load(FP "Batch: {MaxBytes: -9223372036854775808}\n");
    assert_string_equal(pt_cfg_diag_text(&diag), "");
    assert_true(cfg.batch_max_bytes == INT64_MIN);
    unload();

    expect(FP "MaxDirSearchDepth: 1.5\n",
           "[p.yaml:2] pipe/input_file.MaxDirSearchDepth: expected an integer, got '1.5'\n");
    expect(FP "MaxDirSearchDepth: abc\n",
           "[p.yaml:2] pipe/input_file.MaxDirSearchDepth: expected an integer, got 'abc'\n");
    expect(FP "MaxDirSearchDepth: ' 5'\n",
           "[p.yaml:2] pipe/input_file.MaxDirSearchDepth: expected an integer, got ' 5'\n");
    expect(FP "MaxDirSearchDepth: 1e3\n",
           "[p.yaml:2] pipe/input_file.MaxDirSearchDepth: expected an integer, got '1e3'\n");
    expect(FP "MaxDirSearchDepth: ''\n",
           "[p.yaml:2] pipe/input_file.MaxDirSearchDepth: expected an integer, got ''\n");
    expect(FP "MaxDirSearchDepth: 9223372036854775808\n",
           "[p.yaml:2] pipe/input_file.MaxDirSearchDepth: integer out of range, got "
           "'9223372036854775808'\n");
    expect(FP "MaxDirSearchDepth: {a: 1}\n",
           "[p.yaml:2] pipe/input_file.MaxDirSearchDepth: expected an integer, got a map\n");
    expect(FP "MaxDirSearchDepth: 1001\n",
           "[p.yaml:2] pipe/input_file.MaxDirSearchDepth: must be between 0 and 1000, got 1001\n");
    expect(FP "MaxDirSearchDepth: -1\n",
           "[p.yaml:2] pipe/input_file.MaxDirSearchDepth: must be between 0 and 1000, got -1\n");
    expect(FP "Port: 0\n", "[p.yaml:2] pipe/input_file.Port: must be between 1 and 65535, got 0\n");
    expect(FP "Port: 65535\n", "");
    expect(FP "Port: 65536\n",
           "[p.yaml:2] pipe/input_file.Port: must be between 1 and 65535, got 65536\n");
}

static void test_double(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        double want;
    } ok[] = {{"0.5", 0.5}, {"1", 1.0}, {"0", 0.0}, {"'0.25'", 0.25}, {"1e-1", 0.1}, {".5", 0.5}};
    char yaml[128];
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        snprintf(yaml, sizeof(yaml), FP "SampleRate: %s\n", ok[i].text);
        load(yaml);
        assert_string_equal(pt_cfg_diag_text(&diag), "");
        assert_true(cfg.sample_rate == ok[i].want);
        unload();
    }
    expect(FP "SampleRate: abc\n",
           "[p.yaml:2] pipe/input_file.SampleRate: expected a number, got 'abc'\n");
    expect(FP "SampleRate: .nan\n",
           "[p.yaml:2] pipe/input_file.SampleRate: expected a number, got '.nan'\n");
    expect(FP "SampleRate: inf\n",
           "[p.yaml:2] pipe/input_file.SampleRate: expected a number, got 'inf'\n");
    expect(FP "SampleRate: 0x1p3\n",
           "[p.yaml:2] pipe/input_file.SampleRate: expected a number, got '0x1p3'\n");
    expect(FP "SampleRate: 1e999\n",
           "[p.yaml:2] pipe/input_file.SampleRate: number out of range, got '1e999'\n");
    expect(FP "SampleRate: 1.5\n",
           "[p.yaml:2] pipe/input_file.SampleRate: must be between 0 and 1, got 1.5\n");
    expect(FP "SampleRate: '-'\n",
           "[p.yaml:2] pipe/input_file.SampleRate: expected a number, got '-'\n");
    expect(FP "SampleRate: 1.2.3\n",
           "[p.yaml:2] pipe/input_file.SampleRate: expected a number, got '1.2.3'\n");
    expect(FP "SampleRate: [1]\n",
           "[p.yaml:2] pipe/input_file.SampleRate: expected a number, got a list\n");
}

static void test_string(void **state)
{
    (void)state;
    /* Any scalar is a string; numbers and booleans keep their text. */
    load(FP "Endpoint: 4318\n");
    assert_string_equal(pt_cfg_diag_text(&diag), "");
    assert_string_equal(cfg.endpoint, "4318");
    unload();
    load(FP "Endpoint: true\n");
    assert_string_equal(cfg.endpoint, "true");
    unload();
    load(FP "Endpoint: '127.0.0.1:4318'\n");
    assert_string_equal(cfg.endpoint, "127.0.0.1:4318");
    unload();
    load(FP "Endpoint: ''\n");
    assert_string_equal(cfg.endpoint, "");
    unload();

    expect(FP "Endpoint: [a, b]\n",
           "[p.yaml:2] pipe/input_file.Endpoint: expected a string, got a list\n");
    expect(FP "Endpoint:\n  host: a\n",
           "[p.yaml:3] pipe/input_file.Endpoint: expected a string, got a map\n");
    expect(FP "Endpoint: \"a\\0b\"\n",
           "[p.yaml:2] pipe/input_file.Endpoint: must not contain a NUL character\n");

    /* Choices are case-sensitive. */
    expect(FP "FileEncoding: gbk\n", "");
    expect(FP "FileEncoding: UTF8\n",
           "[p.yaml:2] pipe/input_file.FileEncoding: must be one of: utf8, gbk; got 'UTF8'\n");
    expect(FP "Mode: d\n", "[p.yaml:2] pipe/input_file.Mode: must be one of: a, b, c; got 'd'\n");
    expect(FP "Mode: c\n", "");
    /* Text echoed back is cut short and kept on one line. */
    expect(FP "Mode: \"x\\ny\\tz0123456789012345678901234567890123456789012345678901234567890"
              "123456789012345678901234567890\"\n",
           "[p.yaml:2] pipe/input_file.Mode: must be one of: a, b, c; got "
           "'x\\x0ay\\x09z0123456789012345678901234567890123456789012345678901234567890"
           "1234567890123...'\n");
}

static void test_strlist(void **state)
{
    (void)state;
    load("FilePaths:\n  - /var/log/a.log\n  - 42\n  - ''\n");
    assert_string_equal(pt_cfg_diag_text(&diag), "");
    assert_int_equal(cfg.file_paths.n, 3);
    assert_string_equal(cfg.file_paths.v[0], "/var/log/a.log");
    assert_string_equal(cfg.file_paths.v[1], "42");
    assert_string_equal(cfg.file_paths.v[2], "");
    unload();

    /* A single scalar is a list of one; without PT_CFG_COMMA commas are just text. */
    load("FilePaths: /var/log/a,b.log\n");
    assert_int_equal(cfg.file_paths.n, 1);
    assert_string_equal(cfg.file_paths.v[0], "/var/log/a,b.log");
    unload();

    /* With PT_CFG_COMMA a joined string is split and trimmed; empty pieces are dropped. */
    load(FP "Keys: 'a, b ,,c '\n");
    assert_string_equal(pt_cfg_diag_text(&diag), "");
    assert_int_equal(cfg.keys.n, 3);
    assert_string_equal(cfg.keys.v[0], "a");
    assert_string_equal(cfg.keys.v[1], "b");
    assert_string_equal(cfg.keys.v[2], "c");
    unload();
    /* ... but list items are taken as they are. */
    load(FP "Keys: ['a,b', c]\n");
    assert_int_equal(cfg.keys.n, 2);
    assert_string_equal(cfg.keys.v[0], "a,b");
    unload();
    load(FP "Keys: []\n");
    assert_int_equal(cfg.keys.n, 0);
    assert_null(cfg.keys.v);
    unload();

    expect("FilePaths:\n  - /a\n  - {b: 1}\n",
           "[p.yaml:3] pipe/input_file.FilePaths[1]: expected a string, got a map\n");
    expect("FilePaths:\n  - /a\n  -\n  - /c\n",
           "[p.yaml:3] pipe/input_file.FilePaths[1]: expected a string, got null\n");
    expect("FilePaths: [[/a]]\n",
           "[p.yaml:1] pipe/input_file.FilePaths[0]: expected a string, got a list\n");
    expect("FilePaths: [/a, \"/b\\0.log\"]\n",
           "[p.yaml:1] pipe/input_file.FilePaths[1]: must not contain a NUL character\n");
    expect("FilePaths: {a: 1}\n",
           "[p.yaml:1] pipe/input_file.FilePaths: expected a list of strings, got a map\n");
}

static void test_strmap(void **state)
{
    (void)state;
    load(FP "Tags:\n  env: prod\n  replicas: 3\n  empty:\n  quoted: ''\n");
    assert_string_equal(pt_cfg_diag_text(&diag), "");
    assert_int_equal(cfg.tags.n, 4);
    assert_string_equal(cfg.tags.keys[0], "env");
    assert_string_equal(cfg.tags.vals[0], "prod");
    assert_string_equal(cfg.tags.keys[1], "replicas");
    assert_string_equal(cfg.tags.vals[1], "3");
    /* A key without a value is an empty string. */
    assert_string_equal(cfg.tags.keys[2], "empty");
    assert_string_equal(cfg.tags.vals[2], "");
    assert_string_equal(cfg.tags.vals[3], "");
    unload();

    expect(FP "Tags:\n  env: prod\n  zones: [a, b]\n",
           "[p.yaml:4] pipe/input_file.Tags.zones: expected a string, got a list\n");
    expect(FP "Tags:\n  env: \"a\\0\"\n",
           "[p.yaml:3] pipe/input_file.Tags.env: must not contain a NUL character\n");
    expect(FP "Tags: env=prod\n",
           "[p.yaml:2] pipe/input_file.Tags: expected a map of strings, got a string\n");
    expect(FP "Tags: [a]\n",
           "[p.yaml:2] pipe/input_file.Tags: expected a map of strings, got a list\n");
}

static void test_node_field(void **state)
{
    (void)state;
    load(FP "ContainerFilters: [x]\n");
    assert_string_equal(pt_cfg_diag_text(&diag), "");
    assert_ptr_equal(cfg.filters, pt_node_get(root, "ContainerFilters"));
    assert_int_equal(cfg.filters->type, PT_NODE_SEQ);
    unload();
    load(FP "ContainerFilters: text\n");
    assert_string_equal(cfg.filters->scalar, "text");
    unload();
}

static void test_section(void **state)
{
    (void)state;
    load(FP "Batch:\n  MinCnt: 100\n  MaxBytes: 2048\n");
    assert_string_equal(pt_cfg_diag_text(&diag), "");
    assert_int_equal(cfg.batch_min, 100);
    assert_int_equal(cfg.batch_max_bytes, 2048);
    unload();

    /* A sub-key's alias works inside its section. */
    load(FP "Batch: {MinCount: 5}\n");
    assert_string_equal(pt_cfg_diag_text(&diag), "");
    assert_int_equal(cfg.batch_min, 5);
    assert_int_equal(cfg.batch_max_bytes, 1048576);
    unload();

    /* An empty section keeps every default. */
    load(FP "Batch:\n");
    assert_string_equal(pt_cfg_diag_text(&diag), "");
    assert_int_equal(cfg.batch_min, 10);
    unload();

    expect(FP "Batch:\n  MinCnt: 0\n",
           "[p.yaml:3] pipe/input_file.Batch.MinCnt: must be between 1 and 65535, got 0\n");
    expect(FP "Batch:\n  MinCount: x\n",
           "[p.yaml:3] pipe/input_file.Batch.MinCount: expected an integer, got 'x'\n");
    expect(FP "Batch:\n  MinCnts: 5\n  Flush: 1\n",
           "[p.yaml:3] pipe/input_file.Batch.MinCnts: warning: unknown key; did you mean "
           "'MinCnt'?\n"
           "[p.yaml:4] pipe/input_file.Batch.Flush: warning: unknown key\n");
    /* A sub-key's name is not a top-level key; the hint says where it belongs. */
    expect(FP "MinCnt: 5\n",
           "[p.yaml:2] pipe/input_file.MinCnt: warning: unknown key; did you mean "
           "'Batch.MinCnt'?\n");
    expect(FP "Batch:\n  Port: 5\n",
           "[p.yaml:3] pipe/input_file.Batch.Port: warning: unknown key; did you mean 'Port'?\n");
    expect(FP "Batch: 5\n", "[p.yaml:2] pipe/input_file.Batch: expected a map, got a number\n");
    expect(FP "Batch: [1]\n", "[p.yaml:2] pipe/input_file.Batch: expected a map, got a list\n");
}

/* service_otlp from the seed otel pipeline: sections two levels deep, under the historic
 * spelling "Protocals" with the correct one accepted as an alias. */
typedef struct {
    char *endpoint;
    int64_t read_timeout;
    int64_t shutdown_timeout;
    int64_t max_recv_mib;
} otlp_cfg_t;

static const pt_cfg_field_t otlp_map[] = {
    {"Protocals", PT_CFG_SECTION, NULL, 0, 0, NULL, 0, 0, "Protocols", "Receivers."},
    {"Protocals.HTTP", PT_CFG_SECTION, NULL, 0, 0, NULL, 0, 0, NULL, "OTLP over HTTP."},
    {"Protocals.HTTP.Endpoint", PT_CFG_STRING, NULL, 0, 0, NULL, PT_CFG_REQUIRED,
     offsetof(otlp_cfg_t, endpoint), NULL, "host:port to listen on."},
    {"Protocals.HTTP.ReadTimeoutSec", PT_CFG_INT, "10", 1, 3600, NULL, PT_CFG_BOUNDED,
     offsetof(otlp_cfg_t, read_timeout), NULL, "Read timeout."},
    {"Protocals.HTTP.ShutdownTimeoutSec", PT_CFG_INT, "5", 0, 600, NULL, PT_CFG_BOUNDED,
     offsetof(otlp_cfg_t, shutdown_timeout), NULL, "Shutdown timeout."},
    {"Protocals.HTTP.MaxRecvMsgSizeMiB", PT_CFG_INT, "64", 1, 1024, NULL, PT_CFG_BOUNDED,
     offsetof(otlp_cfg_t, max_recv_mib), NULL, "Largest request body."},
};
#define OTLP_N (sizeof(otlp_map) / sizeof(otlp_map[0]))

static const char otel_yaml[] = "spec:\n"
                                "  config:\n"
                                "    inputs:\n"
                                "      - Type: service_otlp\n"             /* 4 */
                                "        Protocals:\n"                     /* 5 */
                                "          HTTP:\n"                        /* 6 */
                                "            Endpoint: '127.0.0.1:4318'\n" /* 7 */
                                "            ReadTimeoutSec: 10\n"         /* 8 */
                                "            ShutdownTimeoutSec: 5\n"      /* 9 */
                                "            MaxRecvMsgSizeMiB: 64\n";     /* 10 */

static const char *load_otlp(const char *yaml, otlp_cfg_t *c, pt_node_t **n)
{
    memset(c, 0, sizeof(*c));
    *n = parse(yaml);
    const pt_node_t *inputs = pt_node_get_path(*n, "spec.config.inputs");
    pt_cfg_diag_init(&diag, "openclaw-otel.yaml", "openclaw-otel");
    diag.plugin = "service_otlp";
    rc = pt_cfg_load(otlp_map, OTLP_N, inputs != NULL ? inputs->items[0] : *n, c, ignore_type,
                     &diag);
    return pt_cfg_diag_text(&diag);
}

static void done_otlp(otlp_cfg_t *c, pt_node_t *n)
{
    pt_cfg_free(otlp_map, OTLP_N, c);
    pt_cfg_diag_free(&diag);
    pt_node_free(n);
}

static void test_nested_sections(void **state)
{
    (void)state;
    otlp_cfg_t c;
    pt_node_t *n;

    assert_string_equal(load_otlp(otel_yaml, &c, &n), "");
    assert_int_equal(rc, 0);
    assert_string_equal(c.endpoint, "127.0.0.1:4318");
    assert_int_equal(c.read_timeout, 10);
    assert_int_equal(c.shutdown_timeout, 5);
    assert_int_equal(c.max_recv_mib, 64);
    done_otlp(&c, n);

    /* The alias of a section works for everything below it. */
    assert_string_equal(load_otlp("Protocols:\n  HTTP:\n    Endpoint: ':4318'\n"
                                  "    MaxRecvMsgSizeMiB: 2048\n",
                                  &c, &n),
                        "[openclaw-otel.yaml:4] openclaw-otel/service_otlp.Protocals.HTTP."
                        "MaxRecvMsgSizeMiB: must be between 1 and 1024, got 2048\n");
    assert_string_equal(c.endpoint, ":4318");
    done_otlp(&c, n);

    /* A missing section: the required key is reported where its nearest parent is. */
    assert_string_equal(load_otlp("Type: service_otlp\nProtocals:\n  GRPC: {}\n", &c, &n),
                        "[openclaw-otel.yaml:3] openclaw-otel/service_otlp.Protocals.HTTP."
                        "Endpoint: required key is missing\n"
                        "[openclaw-otel.yaml:3] openclaw-otel/service_otlp.Protocals.GRPC: "
                        "warning: unknown key\n");
    assert_int_equal(c.read_timeout, 10);
    done_otlp(&c, n);
    assert_string_equal(load_otlp("Type: service_otlp\n", &c, &n),
                        "[openclaw-otel.yaml:1] openclaw-otel/service_otlp.Protocals.HTTP."
                        "Endpoint: required key is missing\n");
    done_otlp(&c, n);

    /* Typos two levels down. Unknown keys are reported section by section, outermost first. */
    assert_string_equal(load_otlp("Protocals:\n  HTTP:\n    Endpoint: x\n    ReadTimeoutSecs: 1\n"
                                  "  Http: {}\n",
                                  &c, &n),
                        "[openclaw-otel.yaml:5] openclaw-otel/service_otlp.Protocals.Http: "
                        "warning: unknown key; did you mean 'HTTP'?\n"
                        "[openclaw-otel.yaml:4] openclaw-otel/service_otlp.Protocals.HTTP."
                        "ReadTimeoutSecs: warning: unknown key; did you mean 'ReadTimeoutSec'?\n");
    done_otlp(&c, n);

    /* A section that is not a map is reported once; the keys under it are not. */
    assert_string_equal(load_otlp("Protocals:\n  HTTP: '127.0.0.1:4318'\n", &c, &n),
                        "[openclaw-otel.yaml:2] openclaw-otel/service_otlp.Protocals.HTTP: "
                        "expected a map, got a string\n");
    assert_int_equal(rc, -EINVAL);
    done_otlp(&c, n);
}

static void test_alias(void **state)
{
    (void)state;
    load(FP "Address: 'h:1'\n");
    assert_string_equal(pt_cfg_diag_text(&diag), "");
    assert_string_equal(cfg.endpoint, "h:1");
    unload();
    /* Messages name the key the user wrote. */
    expect(FP "Address: [h]\n",
           "[p.yaml:2] pipe/input_file.Address: expected a string, got a list\n");
    expect(FP "Endpoint: a\nAddress: b\n",
           "[p.yaml:3] pipe/input_file.Endpoint: both 'Endpoint' and its alias 'Address' are "
           "set\n");
}

static void test_required_and_null(void **state)
{
    (void)state;
    expect("Type: input_file\n", "[p.yaml:1] pipe/input_file.FilePaths: required key is missing\n");
    expect("Type: input_file\nFilePaths:\n",
           "[p.yaml:2] pipe/input_file.FilePaths: required key has no value\n");
    expect("Type: input_file\nFilePaths: ~\n",
           "[p.yaml:2] pipe/input_file.FilePaths: required key has no value\n");
    /* An explicit null elsewhere keeps the default. */
    load(FP "Port:\nFileEncoding: null\n");
    assert_string_equal(pt_cfg_diag_text(&diag), "");
    assert_int_equal(cfg.port, 4318);
    assert_string_equal(cfg.encoding, "utf8");
    unload();

    /* A null plugin node ("global:" with nothing under it) is an empty map... */
    pt_node_t *n = parse("global:\n");
    memset(&cfg, 0, sizeof(cfg));
    pt_cfg_diag_init(&diag, "p.yaml", "pipe");
    assert_int_equal(pt_cfg_load(in_map, IN_N, pt_node_get(n, "global"), &cfg, NULL, &diag),
                     -EINVAL);
    assert_string_equal(pt_cfg_diag_text(&diag), "[p.yaml] pipe.FilePaths: required key is "
                                                 "missing\n");
    assert_int_equal(cfg.port, 4318);
    pt_cfg_free(in_map, IN_N, &cfg);
    pt_cfg_diag_free(&diag);
    pt_node_free(n);

    /* ... and so is a missing one. */
    memset(&cfg, 0, sizeof(cfg));
    pt_cfg_diag_init(&diag, "p.yaml", "pipe");
    assert_int_equal(pt_cfg_load(in_map, IN_N, NULL, &cfg, NULL, &diag), -EINVAL);
    assert_string_equal(pt_cfg_diag_text(&diag), "[p.yaml] pipe.FilePaths: required key is "
                                                 "missing\n");
    pt_cfg_free(in_map, IN_N, &cfg);
    pt_cfg_diag_free(&diag);
}

static void test_unknown_keys(void **state)
{
    (void)state;
    /* Nearest known key, case-insensitively; Type is ignored but still suggested. */
    expect(FP "filepaths: /y\n",
           "[p.yaml:2] pipe/input_file.filepaths: warning: unknown key; did you mean "
           "'FilePaths'?\n");
    expect(FP "MaxDirSearchDeph: 1\n",
           "[p.yaml:2] pipe/input_file.MaxDirSearchDeph: warning: unknown key; did you mean "
           "'MaxDirSearchDepth'?\n");
    expect(FP "Typ: input_file\n",
           "[p.yaml:2] pipe/input_file.Typ: warning: unknown key; did you mean 'Type'?\n");
    expect(FP "Adress: h\n",
           "[p.yaml:2] pipe/input_file.Adress: warning: unknown key; did you mean 'Address'?\n");
    expect(FP "Completely: 1\n", "[p.yaml:2] pipe/input_file.Completely: warning: unknown key\n");
    expect(FP "Keys0123456789Keys0123456789Keys0123456789Keys0123456789Keys0123456789: 1\n",
           "[p.yaml:2] pipe/input_file.Keys0123456789Keys0123456789Keys0123456789Keys0123456789"
           "Keys0123456789: warning: unknown key\n");
    /* A hostile key cannot break the one-line-per-message rule. */
    expect(FP "\"a\\nb\": 1\n", "[p.yaml:2] pipe/input_file.a\\x0ab: warning: unknown key\n");

    /* Warnings alone do not fail the load. */
    load(FP "Zzzzzzzz: 1\n");
    assert_int_equal(rc, 0);
    assert_int_equal(diag.nwarnings, 1);
    assert_int_equal(diag.nerrors, 0);
    unload();
}

static void test_secret(void **state)
{
    (void)state;
    static const char secret[] = "hunter2-very-secret";
    char yaml[256];
    char want[512];

    /* Accepted values are stored, and not echoed anywhere. */
    load(FP "AccessKeySecret: sk-2\nPin: 1234\n");
    assert_string_equal(pt_cfg_diag_text(&diag), "");
    assert_string_equal(cfg.access_key_secret, "sk-2");
    assert_int_equal(cfg.pin, 1234);
    unload();

    snprintf(yaml, sizeof(yaml), FP "AccessKeySecret: %s\n", secret);
    expect(yaml, "[p.yaml:2] pipe/input_file.AccessKeySecret: must be one of: sk-1, sk-2; got a "
                 "hidden value\n");
    snprintf(yaml, sizeof(yaml), FP "Pin: %s\n", secret);
    load(yaml);
    snprintf(want, sizeof(want),
             "[p.yaml:2] pipe/input_file.Pin: expected an integer, got a hidden value\n");
    assert_string_equal(pt_cfg_diag_text(&diag), want);
    assert_null(strstr(pt_cfg_diag_text(&diag), "hunter2"));
    unload();
    expect(FP "Pin: 12\n",
           "[p.yaml:2] pipe/input_file.Pin: must be between 1000 and 9999, got a hidden value\n");
    expect(FP "Pin: 99999999999999999999\n",
           "[p.yaml:2] pipe/input_file.Pin: integer out of range, got a hidden value\n");
    /* The kind of a wrong value is fine to say. */
    expect(FP "AccessKeySecret: [x]\n",
           "[p.yaml:2] pipe/input_file.AccessKeySecret: expected a string, got a list\n");
}

/* ---- messages -------------------------------------------------------------------------------- */

static void test_message_formats(void **state)
{
    (void)state;
    pt_cfg_diag_t d;
    pt_cfg_diag_init(&d, "agent.yaml", "openclaw-otel");
    assert_string_equal(pt_cfg_diag_text(&d), "");
    pt_cfg_error(&d, 12, "Protocals", "unexpected %s", "thing");
    d.plugin = "service_otlp";
    pt_cfg_error(&d, 16, "Protocals.HTTP.Endpoint", "must be host:port, got '%s'", "x");
    pt_cfg_warn(&d, 15, NULL, "plugin is %s", "deprecated");
    pt_cfg_error(&d, 0, "Endpoint", "no line");
    d.pipeline = NULL;
    pt_cfg_warn(&d, 3, "Key", "no pipeline");
    d.plugin = NULL;
    pt_cfg_warn(&d, 4, "Key", "nothing but the key");
    assert_string_equal(pt_cfg_diag_text(&d),
                        "[agent.yaml:12] openclaw-otel.Protocals: unexpected thing\n"
                        "[agent.yaml:16] openclaw-otel/service_otlp.Protocals.HTTP.Endpoint: must "
                        "be host:port, got 'x'\n"
                        "[agent.yaml:15] openclaw-otel/service_otlp: warning: plugin is "
                        "deprecated\n"
                        "[agent.yaml] openclaw-otel/service_otlp.Endpoint: no line\n"
                        "[agent.yaml:3] service_otlp.Key: warning: no pipeline\n"
                        "[agent.yaml:4] Key: warning: nothing but the key\n");
    assert_int_equal(d.nerrors, 3);
    assert_int_equal(d.nwarnings, 3);
    pt_cfg_diag_free(&d);
    assert_int_equal(d.nerrors, 0);
    assert_string_equal(pt_cfg_diag_text(&d), "");
}

static void test_top_level_keys(void **state)
{
    (void)state;
    /* Agent-level config: plugin is NULL. */
    typedef struct {
        char *log_level;
        int64_t workers;
    } agent_t;
    static const pt_cfg_field_t agent_map[] = {
        {"LogLevel", PT_CFG_STRING, "info", 0, 0, "error|warn|info|debug", 0,
         offsetof(agent_t, log_level), NULL, "Log level."},
        {"Workers", PT_CFG_INT, "2", 1, 64, NULL, PT_CFG_BOUNDED, offsetof(agent_t, workers), NULL,
         "Worker threads."},
    };
    agent_t a;
    memset(&a, 0, sizeof(a));
    pt_node_t *n = parse("LogLevel: verbose\nWorkers: 65\nLogLvl: x\n");
    pt_cfg_diag_t d;
    pt_cfg_diag_init(&d, "petrel.yaml", "agent");
    assert_int_equal(pt_cfg_load(agent_map, 2, n, &a, NULL, &d), -EINVAL);
    assert_string_equal(pt_cfg_diag_text(&d),
                        "[petrel.yaml:1] agent.LogLevel: must be one of: error, warn, info, "
                        "debug; got 'verbose'\n"
                        "[petrel.yaml:2] agent.Workers: must be between 1 and 64, got 65\n"
                        "[petrel.yaml:3] agent.LogLvl: warning: unknown key; did you mean "
                        "'LogLevel'?\n");
    pt_cfg_free(agent_map, 2, &a);
    assert_null(a.log_level);
    pt_cfg_diag_free(&d);
    pt_node_free(n);
}

static void test_nearest(void **state)
{
    (void)state;
    assert_string_equal(pt_cfg_nearest(in_map, IN_N, "FilePath"), "FilePaths");
    assert_string_equal(pt_cfg_nearest(in_map, IN_N, "FILEPATHS"), "FilePaths");
    assert_string_equal(pt_cfg_nearest(in_map, IN_N, "Batch.MinCount"), "Batch.MinCnt");
    assert_string_equal(pt_cfg_nearest(in_map, IN_N, "Adress"), "Address");
    /* Threshold: max(2, len/3). "Prt" is 1 away from "Port"; "Xyzw" is 4 away from all. */
    assert_string_equal(pt_cfg_nearest(in_map, IN_N, "Prt"), "Port");
    assert_null(pt_cfg_nearest(in_map, IN_N, "Xyzw"));
    /* 12 letters allow 4 edits: "EnableContainerDiscovery" is too far from "EnableDiscov". */
    assert_null(pt_cfg_nearest(in_map, IN_N, "EnableDiscov"));
    assert_string_equal(pt_cfg_nearest(in_map, IN_N, "EnableContainrDiscovry"),
                        "EnableContainerDiscovery");
}

static void test_bad_default(void **state)
{
    (void)state;
    typedef struct {
        int64_t n;
        int b;
    } bad_t;
    static const pt_cfg_field_t bad_map[] = {
        {"N", PT_CFG_INT, "ten", 0, 0, NULL, 0, offsetof(bad_t, n), NULL, "Broken default."},
        {"B", PT_CFG_BOOL, "yes", 0, 0, NULL, 0, offsetof(bad_t, b), NULL, "Broken default."},
    };
    bad_t b;
    pt_cfg_diag_t d;
    pt_cfg_diag_init(&d, "t.yaml", "pipe");
    pt_node_t *n = parse("{}");
    assert_int_equal(pt_cfg_load(bad_map, 2, n, &b, NULL, &d), -EINVAL);
    assert_string_equal(pt_cfg_diag_text(&d),
                        "[t.yaml] pipe.N: invalid default 'ten' in the key table\n"
                        "[t.yaml] pipe.B: invalid default 'yes' in the key table\n");
    pt_cfg_diag_free(&d);
    pt_node_free(n);
}

/* ---- docs ------------------------------------------------------------------------------------ */

static void test_doc(void **state)
{
    (void)state;
    static const pt_cfg_field_t doc_map[] = {
        {"FilePaths", PT_CFG_STRLIST, NULL, 0, 0, NULL, PT_CFG_REQUIRED | PT_CFG_COMMA, 0, NULL,
         "Files to collect; globs allowed."},
        {"Port", PT_CFG_INT, "4318", 1, 65535, NULL, PT_CFG_BOUNDED, 0, NULL, "TCP port."},
        {"SampleRate", PT_CFG_DOUBLE, "1.0", 0, 0.5, NULL, PT_CFG_BOUNDED, 0, NULL, "Kept share."},
        {"Format", PT_CFG_STRING, "json", 0, 0, "json|protobuf", 0, 0, NULL, "Body format."},
        {"Password", PT_CFG_STRING, "changeme", 0, 0, NULL, PT_CFG_SECRET, 0, NULL,
         "Basic auth password."},
        {"Headers", PT_CFG_STRMAP, NULL, 0, 0, NULL, 0, 0, NULL, "Extra headers (a|b)."},
        {"Raw", PT_CFG_NODE, NULL, 0, 0, NULL, 0, 0, NULL, NULL},
        {"Enabled", PT_CFG_BOOL, "true", 0, 0, NULL, 0, 0, NULL, "On or off."},
        {"Batch", PT_CFG_SECTION, NULL, 0, 0, NULL, 0, 0, NULL, "Batching."},
        {"Batch.MinCnt", PT_CFG_INT, "10", 0, 0, NULL, 0, 0, "MinCount", "Events per batch."},
    };
    pt_buf_t b;
    pt_buf_init(&b);
    assert_int_equal(pt_cfg_doc(doc_map, sizeof(doc_map) / sizeof(doc_map[0]), &b), 0);
    assert_int_equal(pt_buf_putc(&b, '\0'), 0);
    assert_string_equal(
        b.data, "| Key | Type | Default | Description |\n"
                "|-----|------|---------|-------------|\n"
                "| FilePaths | list of strings |  | Files to collect; globs allowed. Required. A "
                "comma-separated string is also accepted. |\n"
                "| Port | int | `4318` | TCP port. Between 1 and 65535. |\n"
                "| SampleRate | double | `1.0` | Kept share. Between 0 and 0.5. |\n"
                "| Format | string | `json` | Body format. One of: `json`, `protobuf`. |\n"
                "| Password | string | (hidden) | Basic auth password. Secret: never logged. |\n"
                "| Headers | map of strings |  | Extra headers (a\\|b). |\n"
                "| Raw | any |  |  |\n"
                "| Enabled | bool | `true` | On or off. |\n"
                "| Batch | map |  | Batching. |\n"
                "| Batch.MinCnt | int | `10` | Events per batch. Also accepted as `MinCount`. |\n");
    assert_null(strstr(b.data, "changeme"));
    pt_buf_free(&b);
}

/* ---- allocation failure ---------------------------------------------------------------------- */

static long fail_after = -1;

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

/* Each allocation fails in turn (and every one after it): every run must end cleanly (ASan
 * checks for leaks), and a run may only succeed if everything was loaded. */
static void test_out_of_memory(void **state)
{
    (void)state;
    pt_node_t *n = parse("FilePaths: [/a, /b]\n"
                         "FileEncoding: gbk\n"
                         "Tags: {a: b, c: d}\n"
                         "Keys: 'x, y'\n"
                         "Batch: {MinCnt: 3, Unknown: 1}\n"
                         "Endpoint: h\n");
    assert_int_equal(pt_replace_allocator(failing_malloc, failing_realloc, failing_calloc, free),
                     0);
    int clean = 0;
    for (long i = 0; i < 10000 && !clean; i++) {
        in_cfg_t c;
        pt_cfg_diag_t d;
        memset(&c, 0, sizeof(c));
        pt_cfg_diag_init(&d, "p.yaml", "pipe");
        fail_after = i;
        int r = pt_cfg_load(in_map, IN_N, n, &c, ignore_type, &d);
        clean = fail_after > 0;
        fail_after = -1;
        if (clean) {
            assert_string_equal(pt_cfg_diag_text(&d), "[p.yaml:5] pipe.Batch.Unknown: warning: "
                                                      "unknown key\n");
        }
        assert_true(r == 0 || r == -EINVAL);
        if (r == 0) {
            assert_int_equal(d.nerrors, 0);
            assert_int_equal(c.file_paths.n, 2);
            assert_string_equal(c.file_paths.v[1], "/b");
            assert_string_equal(c.encoding, "gbk");
            assert_int_equal(c.tags.n, 2);
            assert_string_equal(c.tags.vals[1], "d");
            assert_int_equal(c.keys.n, 2);
            assert_int_equal(c.batch_min, 3);
            assert_string_equal(c.endpoint, "h");
        } else {
            assert_true(d.nerrors > 0);
        }
        pt_cfg_free(in_map, IN_N, &c);
        pt_cfg_diag_free(&d);
    }
    assert_true(clean);
    assert_int_equal(pt_replace_allocator(malloc, realloc, calloc, free), 0);
    pt_node_free(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seed_input_file),
        cmocka_unit_test(test_seed_with_mistakes),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_bool),
        cmocka_unit_test(test_int),
        cmocka_unit_test(test_double),
        cmocka_unit_test(test_string),
        cmocka_unit_test(test_strlist),
        cmocka_unit_test(test_strmap),
        cmocka_unit_test(test_node_field),
        cmocka_unit_test(test_section),
        cmocka_unit_test(test_nested_sections),
        cmocka_unit_test(test_alias),
        cmocka_unit_test(test_required_and_null),
        cmocka_unit_test(test_unknown_keys),
        cmocka_unit_test(test_secret),
        cmocka_unit_test(test_message_formats),
        cmocka_unit_test(test_top_level_keys),
        cmocka_unit_test(test_nearest),
        cmocka_unit_test(test_bad_default),
        cmocka_unit_test(test_doc),
        cmocka_unit_test(test_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
