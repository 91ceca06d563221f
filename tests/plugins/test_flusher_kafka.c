/* Tests for flusher_kafka (flushers/flusher_kafka/): config errors with their exact text and
 * no secret in it, the librdkafka settings a config turns into, Topic templates, partition keys
 * and message formats, the payload framing (round trip and corrupt input), and the producer on a
 * real libuv loop against librdkafka's mock cluster (3 brokers): delivery reports complete the
 * batch, permanent errors dead-letter, timeouts and a full queue retry, a fatal producer error
 * recovers, stop() completes what is in flight. Messages are read back with a consumer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/cfgmap.h"
#include "config/node.h"
#include "core/arena.h"
#include "core/event.h"
#include "core/log.h"
#include "core/plugin.h"
#include "flushers/flusher_kafka/flusher_kafka_internal.h"

#include <librdkafka/rdkafka_mock.h> /* after rdkafka.h (from the header above) */

/* ========================================================================= harness ======= */

typedef struct {
    const pt_plugin_t *pl;
    pt_plugin_inst_t inst;
    pt_node_t *tree;
    pt_cfg_diag_t d;
    pt_counter_t c[6];
    int made;
} kinst_t;

static const char *const ignore_keys[] = {"Type", NULL};
static kinst_t K; /* the instance of the current test, freed by the teardown */

static int kmake(kinst_t *k, const char *type, const char *yaml)
{
    memset(k, 0, sizeof(*k));
    k->pl = pt_plugin_find(type);
    assert_non_null(k->pl);
    char err[256];
    k->tree = pt_node_parse_string(yaml, strlen(yaml), "test.yaml", err, sizeof(err));
    if (k->tree == NULL) {
        fail_msg("yaml: %s", err);
    }
    pt_cfg_diag_init(&k->d, "test.yaml", "pipe");
    k->d.plugin = k->pl->name;
    k->inst.plugin = k->pl;
    k->inst.id = "pipe/flusher_kafka_v2";
    k->inst.line = 1;
    k->inst.config = calloc(1, k->pl->config_size);
    k->inst.m.events_in = &k->c[0];
    k->inst.m.events_out = &k->c[1];
    k->inst.m.events_dropped = &k->c[2];
    k->inst.m.bytes_in = &k->c[3];
    k->inst.m.bytes_out = &k->c[4];
    k->inst.m.errors = &k->c[5];
    k->made = 1;
    int rc = pt_cfg_load(k->pl->config_map, k->pl->config_n, k->tree, k->inst.config, ignore_keys,
                         &k->d);
    if (rc != 0) {
        return rc;
    }
    pt_plugin_env_t env = {"/nonexistent", 0};
    return k->pl->create(&k->inst, &env, &k->d);
}

static void kfree(kinst_t *k)
{
    if (!k->made) {
        return;
    }
    if (k->inst.state != NULL) {
        k->pl->destroy(&k->inst);
    }
    pt_cfg_free(k->pl->config_map, k->pl->config_n, k->inst.config);
    free(k->inst.config);
    pt_node_free(k->tree);
    pt_cfg_diag_free(&k->d);
    memset(k, 0, sizeof(*k));
}

static void kok(const char *type, const char *yaml)
{
    int rc = kmake(&K, type, yaml);
    if (rc != 0) {
        fail_msg("create failed (%d): %s", rc, pt_cfg_diag_text(&K.d));
    }
}

/* Diagnostics of a config that must fail. */
static const char *kbad(const char *yaml)
{
    if (kmake(&K, "flusher_kafka_v2", yaml) == 0) {
        fail_msg("expected a config error for:\n%s", yaml);
    }
    return pt_cfg_diag_text(&K.d);
}

#define assert_has(hay, needle)                                                                    \
    do {                                                                                           \
        if (strstr((hay), (needle)) == NULL) {                                                     \
            fail_msg("expected to find '%s' in:\n%s", (needle), (hay));                            \
        }                                                                                          \
    } while (0)

static int teardown(void **state)
{
    (void)state;
    kfree(&K);
    return 0;
}

/* Groups built by hand. */
static pt_group_t *G[8];
static int nG;

static pt_group_t *group_new(void)
{
    pt_arena_t *a = pt_arena_create(PT_ARENA_SMALL);
    pt_group_t *g = pt_group_create(a, 4);
    pt_arena_unref(a);
    assert_true(nG < 8);
    G[nG++] = g;
    return g;
}

static void groups_free(void)
{
    for (int i = 0; i < nG; i++) {
        pt_group_release(G[i]);
    }
    nG = 0;
}

static pt_str_t sdup(pt_group_t *g, const char *s)
{
    return pt_arena_strdup(g->arena, s, strlen(s));
}

static pt_event_t *add_log(pt_group_t *g, ...)
{
    pt_event_t *ev = pt_group_add_event(g, PT_EVENT_LOG);
    uint32_t idx = g->nevents - 1;
    ev->time_ns = 1700000000123456789LL;
    va_list ap;
    va_start(ap, g);
    for (;;) {
        const char *k = va_arg(ap, const char *);
        if (k == NULL) {
            break;
        }
        const char *v = va_arg(ap, const char *);
        assert_int_equal(pt_event_append(g, &g->events[idx], sdup(g, k), sdup(g, v)), 0);
    }
    va_end(ap);
    return &g->events[idx];
}

static void add_raw(pt_group_t *g, const char *line)
{
    pt_event_t *ev = pt_group_add_event(g, PT_EVENT_RAW);
    ev->raw = sdup(g, line);
    ev->time_ns = 1700000000000000000LL;
}

static void set_tag(pt_group_t *g, const char *k, const char *v)
{
    assert_int_equal(pt_group_set_tag(g, sdup(g, k), sdup(g, v)), 0);
}

/* Serializes the groups with the instance's serialize() into p->data. */
static int serialize_groups(pt_payload_t *p)
{
    pt_batch_t b = {G, (uint32_t)nG, 0, 0, 0};
    for (int i = 0; i < nG; i++) {
        b.nevents += pt_group_live_events(G[i]);
    }
    memset(p, 0, sizeof(*p));
    pt_buf_init(&p->data);
    return K.pl->serialize(&K.inst, &b, p);
}

/* The frames of a payload as text lines "flags|topic|key|value" (key "-" when none). */
static char *frames_text(const pt_buf_t *data)
{
    pt_buf_t out;
    pt_buf_init(&out);
    assert_int_equal(pt_kafka_payload_check(data->data, data->len), 0);
    size_t pos = PT_KAFKA_MAGIC_LEN;
    pt_kafka_frame_t f;
    pt_kafka_frame_t prev;
    const pt_kafka_frame_t *pp = NULL;
    int r;
    while ((r = pt_kafka_frame_next(data->data, data->len, &pos, pp, &f)) == 1) {
        pt_buf_appendf(&out, "%x|%.*s|", f.flags, (int)f.topic.len, f.topic.ptr);
        if (f.key.ptr == NULL) {
            pt_buf_append_str(&out, "-");
        } else {
            pt_buf_append(&out, f.key.ptr, f.key.len);
        }
        pt_buf_appendf(&out, "|%.*s\n", (int)f.value.len, f.value.ptr);
        prev = f;
        pp = &prev;
    }
    assert_int_equal(r, 0);
    pt_buf_putc(&out, '\0');
    return out.data;
}

/* ===================================================================== config errors ===== */

static void test_config_errors(void **state)
{
    (void)state;
    static const struct {
        const char *yaml;
        const char *want;
    } cases[] = {
        {"Topic: t\n", "Brokers"},
        {"Brokers: [b:9092]\n", "Topic"},
        {"Brokers: [b:9092]\nTopic: 'a b'\n",
         "pipe/flusher_kafka_v2.Topic: ' ' is not allowed in a Kafka topic name"},
        {"Brokers: [b:9092]\nTopic: 'x-%{content.app'\n", "Topic: unclosed '%{' at offset 2"},
        {"Brokers: [b:9092]\nTopic: 'x-%{app}'\n",
         "Topic: unknown reference %{app}: use %{content.<field>} or %{tag.<key>}"},
        {"Brokers: [b:9092]\nTopic: 'logs-${PT_KAFKA_TEST_UNSET}'\n",
         "Topic: environment variable 'PT_KAFKA_TEST_UNSET' is not set"},
        {"Brokers: [b:9092]\nTopic: '..'\n", "Topic: '..' is not a valid Kafka topic name"},
        {"Brokers: [b:9092]\nTopic: t\nDefaultTopic: 'no way'\n",
         "DefaultTopic: 'no way' is not a valid Kafka topic name"},
        {"Brokers: [b:9092]\nTopic: t\nPartitionerType: hash\n",
         "HashKeys: needed when PartitionerType is hash"},
        {"Brokers: [b:9092]\nTopic: t\nPartitionerType: hash\nHashKeys: [app]\n",
         "HashKeys: 'app': expected content.<field> or tag.<key>"},
        {"Brokers: [b:9092]\nTopic: t\nPartitionerType: sticky\n", "PartitionerType"},
        {"Brokers: [b:9092]\nTopic: t\nVersion: latest\n",
         "Version: expected a Kafka version such as 2.8.0, got 'latest'"},
        {"Brokers: [b:9092]\nTopic: t\nMaxOpenRequests: 10\n",
         "MaxOpenRequests: 10: the idempotent producer allows at most 5 requests in flight"},
        {"Brokers: [b:9092]\nTopic: t\nTimeout: soon\n",
         "Timeout: expected a duration such as 500ms, 30s or 1m, got 'soon'"},
        {"Brokers: [b:9092]\nTopic: t\nCompression: brotli\n", "Compression"},
        {"Brokers: ['a:1 b:2']\nTopic: t\n",
         "Brokers: 'a:1 b:2' is not a host:port (one broker per item)"},
        {"Brokers: [b:9092]\nTopic: t\nHeaders: oops\n",
         "Headers: expected a list of {key, value} or a map, got a string"},
        {"Brokers: [b:9092]\nTopic: t\nHeaders:\n  - key: a\n",
         "Headers: the value of header 'a' must be a string, got nothing"},
        {"Brokers: [b:9092]\nTopic: t\nHeaders:\n  - [1]\n",
         "Headers: each item is {key: ..., value: ...}, got a list"},
        {"Brokers: [b:9092]\nTopic: t\nConvert:\n  ProtocolFieldsRename: {body: b}\n",
         "Convert.ProtocolFieldsRename: 'body': only contents, tags and time can be renamed"},
        {"Brokers: [b:9092]\nTopic: t\nKafka:\n  linger.ms: soon\n",
         "Kafka.linger.ms: librdkafka refuses linger.ms=soon"},
        {"Brokers: [b:9092]\nTopic: t\nKafka:\n  no.such.thing: 1\n",
         "Kafka.no.such.thing: librdkafka refuses no.such.thing=1: No such configuration "
         "property"},
        {"Brokers: [b:9092]\nTopic: t\nAuthentication:\n  TLS:\n    Enabled: true\n"
         "    CertFile: /etc/hostname\n",
         "Authentication.TLS.KeyFile: CertFile and KeyFile go together"},
        {"Brokers: [b:9092]\nTopic: t\nAuthentication:\n  TLS:\n    Enabled: true\n"
         "    CAFile: /nonexistent/ca.pem\n",
         "Authentication.TLS.CAFile: cannot read '/nonexistent/ca.pem'"},
        {"Brokers: [b:9092]\nTopic: t\nAuthentication:\n  SASL:\n    Username: bob\n",
         "Authentication.SASL.Username: the SASL password of this user is missing"},
        {"Brokers: [b:9092]\nTopic: t\nAuthentication:\n  SASL:\n    Mechanism: SCRAM-SHA-256\n",
         "a SASL user is needed with Mechanism SCRAM-SHA-256"},
        {"Brokers: [b:9092]\nTopic: t\nAuthentication:\n  Kerberos:\n    Enabled: true\n",
         "Authentication.Kerberos.Principal: needed when Kerberos is enabled"},
        /* Only librdkafka's client creation sees these combinations. */
        {"Brokers: [b:9092]\nTopic: t\nKafka: {acks: 1}\n",
         "pipe/flusher_kafka_v2: librdkafka refuses this configuration: `acks` must be set to "
         "`all` when `enable.idempotence` is true"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *text = kbad(cases[i].yaml);
        assert_has(text, cases[i].want);
        assert_has(text, "[test.yaml:");
        kfree(&K);
    }
}

static void test_config_secrets_never_shown(void **state)
{
    (void)state;
    const char *text = kbad("Brokers: [b:9092]\nTopic: t\n"
                            "Authentication:\n"
                            "  SASL: {Username: bob, Password: hunter2-sasl}\n"
                            "  PlainText: {Username: eve, Password: hunter2-plain}\n"
                            "  TLS: {Enabled: true, KeyPassword: hunter2-key}\n"
                            "SASLPassword: hunter2-v1\n"
                            "Kafka:\n"
                            "  sasl.password: hunter2-raw\n"
                            "  ssl.key.password: 7\n"
                            "  sasl.oauthbearer.config: 'principal=hunter2-oauth bad'\n"
                            "  sasl.mechanisms: NOPE\n");
    assert_has(text, "Authentication: set only one of Authentication.SASL, "
                     "Authentication.PlainText, Authentication.Kerberos and SASLUsername");
    assert_null(strstr(text, "hunter2"));
    kfree(&K);
    /* A refused secret property names the property and nothing of its value. */
    text = kbad("Brokers: [b:9092]\nTopic: t\nKafka:\n  ssl.keystore.password: [x]\n");
    assert_null(strstr(text, "[x]"));
}

static void test_config_warnings(void **state)
{
    (void)state;
    kok("flusher_kafka_v2",
        "Brokers: [b:9092]\nTopic: t\nRequiredAcks: 1\nHashKeys: [content.a]\n");
    const char *text = pt_cfg_diag_text(&K.d);
    assert_has(text, "RequiredAcks: warning: 1: messages acknowledged by fewer than all in-sync "
                     "replicas can be lost");
    assert_has(text, "HashKeys: warning: used only with PartitionerType hash (it is random)");
    assert_int_equal(K.d.nerrors, 0);
}

/* ===================================================================== librdkafka conf ==== */

static rd_kafka_conf_t *build_conf(const char *yaml, pt_cfg_diag_t *d, pt_node_t **tree,
                                   pt_kafka_conf_t *c)
{
    char err[256];
    *tree = pt_node_parse_string(yaml, strlen(yaml), "test.yaml", err, sizeof(err));
    assert_non_null(*tree);
    pt_cfg_diag_init(d, "test.yaml", "pipe");
    memset(c, 0, sizeof(*c));
    const pt_plugin_t *pl = pt_plugin_find("flusher_kafka_v2");
    assert_int_equal(pt_cfg_load(pl->config_map, pl->config_n, *tree, c, ignore_keys, d), 0);
    rd_kafka_conf_t *k = NULL;
    int rc = pt_kafka_conf_build(c, 1, d, &k);
    if (rc != 0) {
        fail_msg("conf build: %s", pt_cfg_diag_text(d));
    }
    return k;
}

static void conf_free(rd_kafka_conf_t *k, pt_cfg_diag_t *d, pt_node_t *tree, pt_kafka_conf_t *c)
{
    rd_kafka_conf_destroy(k);
    const pt_plugin_t *pl = pt_plugin_find("flusher_kafka_v2");
    pt_cfg_free(pl->config_map, pl->config_n, c);
    pt_node_free(tree);
    pt_cfg_diag_free(d);
}

static void assert_prop(rd_kafka_conf_t *k, const char *name, const char *want)
{
    char v[512];
    size_t n = sizeof(v);
    if (rd_kafka_conf_get(k, name, v, &n) != RD_KAFKA_CONF_OK) {
        fail_msg("no property %s", name);
    }
    if (strcmp(v, want) != 0) {
        fail_msg("%s: expected '%s', got '%s'", name, want, v);
    }
}

static void test_conf_defaults(void **state)
{
    (void)state;
    pt_cfg_diag_t d;
    pt_node_t *tree;
    pt_kafka_conf_t c;
    rd_kafka_conf_t *k = build_conf("Brokers: [a:9092, 'b:9093']\nTopic: t\n", &d, &tree, &c);
    assert_prop(k, "bootstrap.servers", "a:9092,b:9093");
    assert_prop(k, "enable.idempotence", "true");
    assert_prop(k, "acks", "-1");
    assert_prop(k, "compression.codec", "zstd");
    assert_prop(k, "linger.ms", "50");
    assert_prop(k, "message.timeout.ms", "300000");
    assert_prop(k, "max.in.flight.requests.per.connection", "5");
    assert_prop(k, "client.id", "LogtailPlugin");
    assert_prop(k, "security.protocol", "plaintext");
    assert_prop(k, "partitioner", "random");
    assert_prop(k, "queue.buffering.max.kbytes", "65536");
    assert_int_equal(d.nwarnings, 0);
    conf_free(k, &d, tree, &c);
}

static void test_conf_mapping(void **state)
{
    (void)state;
    pt_cfg_diag_t d;
    pt_node_t *tree;
    pt_kafka_conf_t c;
    rd_kafka_conf_t *k =
        build_conf("Brokers: 'a:1,b:2'\nTopic: t\nVersion: 2.8.0\nClientID: me\n"
                   "Compression: lz4\nCompressionLevel: 5\nMaxMessageBytes: 500000\n"
                   "BulkMaxSize: 100\nBulkFlushFrequency: 80\nTimeout: 2s\n"
                   "MessageTimeoutMs: 60000\nPartitionerType: hash\nHashKeys: [content.u]\n"
                   "Authentication:\n"
                   "  TLS: {Enabled: true, CAFile: /etc/hostname, InsecureSkipVerify: true}\n"
                   "  SASL: {SaslMechanism: SCRAM-SHA-512, Username: bob, Password: pw}\n"
                   "Kafka: {linger.ms: 75, statistics.interval.ms: 0}\n",
                   &d, &tree, &c);
    assert_prop(k, "bootstrap.servers", "a:1,b:2");
    assert_prop(k, "client.id", "me");
    assert_prop(k, "compression.codec", "lz4");
    assert_prop(k, "compression.level", "5");
    assert_prop(k, "message.max.bytes", "500000");
    assert_prop(k, "batch.size", "500000");
    assert_prop(k, "batch.num.messages", "100");
    assert_prop(k, "linger.ms", "75"); /* the raw map wins */
    assert_prop(k, "request.timeout.ms", "2000");
    assert_prop(k, "message.timeout.ms", "60000");
    assert_prop(k, "partitioner", "murmur2_random");
    assert_prop(k, "security.protocol", "sasl_ssl");
    assert_prop(k, "sasl.mechanisms", "SCRAM-SHA-512");
    assert_prop(k, "sasl.username", "bob");
    assert_prop(k, "ssl.ca.location", "/etc/hostname");
    assert_prop(k, "enable.ssl.certificate.verification", "false");
    assert_prop(k, "broker.version.fallback", "2.8.0");
    conf_free(k, &d, tree, &c);

    /* flusher_kafka's keys: SASL/PLAIN without TLS. Old brokers: no idempotence, a warning. */
    k = build_conf("Brokers: [a:1]\nTopic: t\nSASLUsername: u\nSASLPassword: p\n"
                   "Version: 0.10.2.1\n",
                   &d, &tree, &c);
    assert_prop(k, "security.protocol", "sasl_plaintext");
    assert_prop(k, "sasl.mechanisms", "PLAIN");
    assert_prop(k, "enable.idempotence", "false");
    assert_has(pt_cfg_diag_text(&d), "Version: warning: brokers before 0.11 have no idempotent");
    conf_free(k, &d, tree, &c);
    k = build_conf("Brokers: [a:1]\nTopic: t\nVersion: 0.9.0.1\n", &d, &tree, &c);
    assert_prop(k, "api.version.request", "false");
    conf_free(k, &d, tree, &c);
}

/* ========================================================================= frames ======== */

static void test_frames_round_trip(void **state)
{
    (void)state;
    pt_buf_t b;
    pt_buf_init(&b);
    pt_buf_append(&b, PT_KAFKA_MAGIC, PT_KAFKA_MAGIC_LEN);
    assert_int_equal(
        pt_kafka_frame_append(&b, 0, PT_STR_LIT("t1"), PT_STR_NULL, PT_STR_LIT("v\n1")), 0);
    assert_int_equal(pt_kafka_frame_append(&b, PT_KAFKA_F_SAME_TOPIC, PT_STR_NULL, PT_STR_LIT("k"),
                                           PT_STR_LIT("")),
                     0);
    assert_int_equal(pt_kafka_frame_append(&b, 0, PT_STR_LIT("t2"), pt_str("", 0), PT_STR_LIT("x")),
                     0);
    char *t = frames_text(&b);
    assert_string_equal(t, "0|t1|-|v\n1\n1|t1|k|\n0|t2||x\n");
    free(t);
    /* The payload stays readable as text. */
    pt_buf_putc(&b, '\0');
    assert_string_equal(b.data, "PKF1\n0 2 - 3\nt1v\n1\n1 0 1 0\nk\n0 2 0 1\nt2x\n");
    b.len--;
    /* Marking a frame delivered changes one byte. */
    size_t len = b.len;
    pt_kafka_frame_mark(b.data, PT_KAFKA_MAGIC_LEN, PT_KAFKA_F_DELIVERED);
    assert_int_equal(b.len, len);
    t = frames_text(&b);
    assert_string_equal(t, "4|t1|-|v\n1\n1|t1|k|\n0|t2||x\n");
    free(t);
    pt_buf_free(&b);
}

static int parse_all(const char *s, size_t len)
{
    if (pt_kafka_payload_check(s, len) != 0) {
        return -EBADMSG;
    }
    size_t pos = PT_KAFKA_MAGIC_LEN;
    pt_kafka_frame_t f;
    pt_kafka_frame_t prev;
    const pt_kafka_frame_t *pp = NULL;
    int r;
    while ((r = pt_kafka_frame_next(s, len, &pos, pp, &f)) == 1) {
        prev = f;
        pp = &prev;
    }
    return r;
}

static void test_frames_corrupt(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "PKF2\n",
        "PKF1\n0 2 - 3\nt1v1",             /* truncated */
        "PKF1\n0 2 - 3\nt1v12",            /* no terminator */
        "PKF1\n0 2 - 4\nt1v1\n",           /* a length past the end */
        "PKF1\n1 0 - 1\nx\n",              /* same-topic without a previous frame */
        "PKF1\n0 0 - 1\nx\n",              /* an empty topic */
        "PKF1\ng 1 - 1\ntx\n",             /* not a hex flag */
        "PKF1\n0 1 - 99999999999\ntx\n",   /* a length past 32 bits */
        "PKF1\n0 1 - 4294967295\ntx\n",    /* huge but in range: past the end */
        "PKF1\n0 +1 - 1\ntx\n",            /* a sign */
        "PKF1\n0 1 -  1\ntx\n",            /* two spaces */
        "PKF1\n2 1 - 1\nrx\n1 0 - 1\nx\n", /* unroutable reason then a same-topic message */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse_all(bad[i], strlen(bad[i])) != -EBADMSG) {
            fail_msg("accepted corrupt payload #%zu", i);
        }
    }
    const char *good = "PKF1\n0 1 - 1\ntx\n";
    assert_int_equal(parse_all(good, strlen(good)), 0);
    assert_int_equal(parse_all("PKF1\n", 5), 0);
}

/* ====================================================================== serializing ====== */

static void test_topic_templates(void **state)
{
    (void)state;
    setenv("PT_KAFKA_TEST_ENV", "prod", 1);
    kok("flusher_kafka_v2",
        "Brokers: [b:1]\nTopic: '${PT_KAFKA_TEST_ENV}.%{tag.team}-%{content.app}'\n"
        "Convert: {Protocol: raw}\n");
    pt_group_t *g = group_new();
    set_tag(g, "team", "core");
    add_log(g, "app", "api", "content", "one", NULL);
    add_log(g, "app", "api", "content", "two", NULL);
    add_log(g, "app", "web", "content", "three", NULL);
    add_log(g, "content", "no app", NULL);
    add_log(g, "app", "bad/name", "content", "four", NULL);
    pt_event_t *dropped = add_log(g, "app", "x", "content", "dropped", NULL);
    dropped->flags |= PT_EVENT_F_DROPPED;
    pt_payload_t p;
    assert_int_equal(serialize_groups(&p), 0);
    assert_int_equal(p.nevents, 5);
    char *t = frames_text(&p.data);
    assert_string_equal(t, "0|prod.core-api|-|one\n"
                           "1|prod.core-api|-|two\n"
                           "0|prod.core-web|-|three\n"
                           "2|no value for %{content.app} in the Topic template|-|no app\n"
                           "2|the Topic template made 'prod.core-bad/name', not a valid Kafka "
                           "topic name|-|four\n");
    free(t);
    pt_buf_free(&p.data);
    groups_free();
    kfree(&K);

    /* DefaultTopic catches what the template cannot route. A raw event's field is content. */
    kok("flusher_kafka_v2", "Brokers: [b:1]\nTopic: 'r-%{content.content}'\nDefaultTopic: other\n"
                            "Convert: {Protocol: raw}\n");
    g = group_new();
    add_raw(g, "line1");
    add_raw(g, "line 2");
    add_log(g, "x", "y", NULL);
    assert_int_equal(serialize_groups(&p), 0);
    t = frames_text(&p.data);
    /* The third event has no content, so raw has nothing to send for it. */
    assert_string_equal(t, "0|r-line1|-|line1\n0|other|-|line 2\n");
    free(t);
    pt_buf_free(&p.data);
    groups_free();
}

static void test_partition_keys(void **state)
{
    (void)state;
    kok("flusher_kafka_v2", "Brokers: [b:1]\nTopic: t\nPartitionerType: hash\n"
                            "HashKeys: [content.user, tag.host]\nConvert: {Protocol: raw}\n");
    pt_group_t *g = group_new();
    set_tag(g, "host", "h1");
    add_log(g, "user", "u1", "content", "a", NULL);
    add_log(g, "content", "b", NULL);
    add_log(g, "user", "u2", "content", "c", NULL);
    pt_group_t *g2 = group_new();
    add_log(g2, "content", "d", NULL);
    pt_payload_t p;
    assert_int_equal(serialize_groups(&p), 0);
    char *t = frames_text(&p.data);
    assert_string_equal(t, "0|t|u1###h1|a\n1|t|h1|b\n1|t|u2###h1|c\n1|t|-|d\n");
    free(t);
    pt_buf_free(&p.data);
    groups_free();
    kfree(&K);

    /* HashOnce: a group's first event keys all of it. */
    kok("flusher_kafka_v2", "Brokers: [b:1]\nTopic: t\nPartitionerType: hash\n"
                            "HashKeys: content.user\nHashOnce: true\nConvert: {Protocol: raw}\n");
    g = group_new();
    add_log(g, "user", "u1", "content", "a", NULL);
    add_log(g, "user", "u2", "content", "b", NULL);
    g2 = group_new();
    add_log(g2, "user", "u3", "content", "c", NULL);
    assert_int_equal(serialize_groups(&p), 0);
    t = frames_text(&p.data);
    assert_string_equal(t, "0|t|u1|a\n1|t|u1|b\n1|t|u3|c\n");
    free(t);
    pt_buf_free(&p.data);
    groups_free();
    kfree(&K);

    /* random and roundrobin send no key. */
    kok("flusher_kafka_v2", "Brokers: [b:1]\nTopic: t\nPartitionerType: roundrobin\n"
                            "Convert: {Protocol: raw}\n");
    g = group_new();
    add_log(g, "user", "u1", "content", "a", NULL);
    assert_int_equal(serialize_groups(&p), 0);
    t = frames_text(&p.data);
    assert_string_equal(t, "0|t|-|a\n");
    free(t);
    pt_buf_free(&p.data);
    groups_free();
}

static void test_formats(void **state)
{
    (void)state;
    static const struct {
        const char *type;
        const char *yaml;
        const char *want;
    } cases[] = {
        {"flusher_kafka_v2", "",
         "{\"contents\":{\"msg\":\"hi \\\"x\\\"\",\"n\":\"1\"},\"tags\":{\"__path__\":\"/l/a.log\","
         "\"host.name\":\"h\"},\"time\":1700000000}"},
        {"flusher_kafka", "",
         "{\"contents\":{\"msg\":\"hi \\\"x\\\"\",\"n\":\"1\"},\"tags\":{\"__path__\":\"/l/a.log\","
         "\"host.name\":\"h\"},\"time\":1700000000}"},
        {"flusher_kafka_v2",
         "Convert:\n  TagFieldsRename: {host.name: hostname}\n"
         "  ProtocolFieldsRename: {contents: c, tags: t, time: '@timestamp'}\n",
         "{\"c\":{\"msg\":\"hi \\\"x\\\"\",\"n\":\"1\"},\"t\":{\"__path__\":\"/l/a.log\","
         "\"hostname\":\"h\"},\"@timestamp\":1700000000}"},
        {"flusher_kafka_v2", "Convert: {Protocol: custom_single_flatten}\n",
         "{\"msg\":\"hi \\\"x\\\"\",\"n\":\"1\",\"__path__\":\"/l/a.log\",\"host.name\":\"h\","
         "\"time\":1700000000}"},
        {"flusher_kafka_native", "",
         "{\"__time__\":1700000000,\"msg\":\"hi \\\"x\\\"\",\"n\":\"1\","
         "\"__tag__:__path__\":\"/l/a.log\",\"__tag__:host.name\":\"h\"}"},
        {"flusher_kafka_v2", "Convert: {Protocol: raw}\n", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char yaml[512];
        snprintf(yaml, sizeof(yaml), "Brokers: [b:1]\nTopic: t\n%s", cases[i].yaml);
        kok(cases[i].type, yaml);
        pt_group_t *g = group_new();
        set_tag(g, "__path__", "/l/a.log");
        set_tag(g, "host.name", "h");
        add_log(g, "msg", "hi \"x\"", "n", "1", NULL);
        pt_payload_t p;
        int rc = serialize_groups(&p);
        if (cases[i].want == NULL) {
            /* raw: no content field, nothing to send */
            assert_int_equal(rc, PT_DECLINED);
        } else {
            assert_int_equal(rc, 0);
            char *t = frames_text(&p.data);
            char want[600];
            snprintf(want, sizeof(want), "0|t|-|%s\n", cases[i].want);
            assert_string_equal(t, want);
            free(t);
        }
        pt_buf_free(&p.data);
        groups_free();
        kfree(&K);
    }
}

/* ================================================================ producer on a loop ===== */

typedef struct {
    rd_kafka_t *rk;
    rd_kafka_mock_cluster_t *mc;
    char bootstraps[256];
} mock_t;

static mock_t M;

static void mock_start(void)
{
    char errstr[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "log_level", "2", errstr, sizeof(errstr));
    M.rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
    assert_non_null(M.rk);
    M.mc = rd_kafka_mock_cluster_new(M.rk, 3);
    assert_non_null(M.mc);
    snprintf(M.bootstraps, sizeof(M.bootstraps), "%s", rd_kafka_mock_cluster_bootstraps(M.mc));
    assert_int_equal(rd_kafka_mock_topic_create(M.mc, "t", 4, 3), 0);
    assert_int_equal(rd_kafka_mock_topic_create(M.mc, "t2", 4, 3), 0);
}

static void mock_stop(void)
{
    rd_kafka_mock_cluster_destroy(M.mc);
    rd_kafka_destroy(M.rk);
    memset(&M, 0, sizeof(M));
}

static void brokers_set(int up)
{
    for (int id = 1; id <= 3; id++) {
        if (up) {
            rd_kafka_mock_broker_set_up(M.mc, id);
        } else {
            rd_kafka_mock_broker_set_down(M.mc, id);
        }
    }
}

/* Completions, recorded. */
static struct {
    int n;
    int status;
    uint8_t throttled;
    uint32_t nevents;
    char reason[120];
    pt_payload_t *p;
} D;

static void on_done(pt_payload_t *p, int status)
{
    D.n++;
    D.status = status;
    D.throttled = p->throttled;
    D.nevents = p->nevents;
    D.p = p;
    snprintf(D.reason, sizeof(D.reason), "%s", p->reason);
}

static uv_loop_t loop;

static void on_deadline(uv_timer_t *t)
{
    *(int *)t->data = 1;
}

/* Runs the loop until `want` completions arrived or ms passed. */
static int run_until(int want, int ms)
{
    uv_timer_t t;
    int expired = 0;
    uv_timer_init(&loop, &t);
    t.data = &expired;
    uv_timer_start(&t, on_deadline, (uint64_t)ms, 0);
    while (D.n < want && !expired) {
        uv_run(&loop, UV_RUN_ONCE);
    }
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(&loop, UV_RUN_NOWAIT);
    return D.n >= want;
}

static void kstart(const char *extra)
{
    char yaml[2048];
    /* Quick reconnects, so a broker that comes back is used within the test's time. */
    snprintf(yaml, sizeof(yaml),
             "Brokers: ['%s']\n%sConvert: {Protocol: raw}\nBulkFlushFrequency: 5\n"
             "Kafka: {reconnect.backoff.ms: 50, reconnect.backoff.max.ms: 200}\n%s",
             M.bootstraps, strstr(extra, "Topic:") ? "" : "Topic: t\n", extra);
    kok("flusher_kafka_v2", yaml);
    pt_kafka_set_done_cb(&K.inst, on_done);
    assert_int_equal(K.pl->start(&K.inst, &loop), 0);
    memset(&D, 0, sizeof(D));
}

static void kstop(void)
{
    K.pl->stop(&K.inst);
    uv_run(&loop, UV_RUN_NOWAIT);
    uv_run(&loop, UV_RUN_NOWAIT);
}

/* A payload of n raw events "<prefix>-<i>" (values repeated to `size` bytes when given). */
static pt_payload_t *payload_of(int n, const char *prefix, size_t size)
{
    pt_group_t *g = group_new();
    for (int i = 0; i < n; i++) {
        char line[4096];
        int l = snprintf(line, sizeof(line), "%s-%d", prefix, i);
        while ((size_t)l < size && (size_t)l < sizeof(line) - 1) {
            line[l++] = 'x';
        }
        line[l] = '\0';
        add_raw(g, line);
    }
    pt_payload_t *p = calloc(1, sizeof(*p));
    pt_batch_t b = {G, (uint32_t)nG, (uint32_t)n, 0, 0};
    pt_buf_init(&p->data);
    assert_int_equal(K.pl->serialize(&K.inst, &b, p), 0);
    groups_free();
    return p;
}

static void payload_free(pt_payload_t *p)
{
    pt_buf_free(&p->data);
    free(p);
}

/* Reads every message of topic "t" (4 partitions) from the beginning. */
typedef struct {
    int n;
    int32_t part[512];
    char key[512][32];
    char val[512][64];
    char hdr[512][32];
} consumed_t;

static consumed_t C;

static void consume(const char *topic, int want, int ms)
{
    char errstr[256];
    memset(&C, 0, sizeof(C));
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", M.bootstraps, errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "group.id", "test", errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, sizeof(errstr));
    rd_kafka_conf_set(conf, "log_level", "2", errstr, sizeof(errstr));
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
    assert_non_null(rk);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(4);
    for (int p = 0; p < 4; p++) {
        rd_kafka_topic_partition_list_add(l, topic, p)->offset = RD_KAFKA_OFFSET_BEGINNING;
    }
    rd_kafka_assign(rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    uint64_t deadline = pt_now_mono_ns() + (uint64_t)ms * 1000000ull;
    while (C.n < want && C.n < 512 && pt_now_mono_ns() < deadline) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (m == NULL) {
            continue;
        }
        if (m->err == 0) {
            C.part[C.n] = m->partition;
            snprintf(C.key[C.n], 32, "%.*s", m->key ? (int)m->key_len : 1,
                     m->key ? (const char *)m->key : "-");
            snprintf(C.val[C.n], 64, "%.*s", (int)m->len, (const char *)m->payload);
            rd_kafka_headers_t *h = NULL;
            if (rd_kafka_message_headers(m, &h) == 0) {
                const char *name;
                const void *v;
                size_t vs;
                if (rd_kafka_header_get_all(h, 0, &name, &v, &vs) == 0) {
                    snprintf(C.hdr[C.n], 32, "%s=%.*s", name, (int)vs, (const char *)v);
                }
            }
            C.n++;
        }
        rd_kafka_message_destroy(m);
    }
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
}

static int find_val(const char *v)
{
    for (int i = 0; i < C.n; i++) {
        if (strcmp(C.val[i], v) == 0) {
            return i;
        }
    }
    return -1;
}

static int setup_mock(void **state)
{
    (void)state;
    uv_loop_init(&loop);
    mock_start();
    return 0;
}

static int teardown_mock(void **state)
{
    (void)state;
    if (K.made && K.inst.state != NULL) {
        kstop();
    }
    kfree(&K);
    groups_free();
    mock_stop();
    uv_run(&loop, UV_RUN_NOWAIT);
    uv_loop_close(&loop);
    return 0;
}

static void test_deliver_on_report(void **state)
{
    (void)state;
    kstart("Headers:\n  - {key: origin, value: petrel}\n");
    pt_payload_t *p = payload_of(50, "m", 0);
    assert_int_equal(K.pl->send(&K.inst, p), PT_DONE);
    assert_int_equal(D.n, 0); /* not complete on enqueue */
    assert_true(run_until(1, 10000));
    assert_int_equal(D.status, 0);
    consume("t", 50, 10000);
    assert_int_equal(C.n, 50);
    for (int i = 0; i < 50; i++) {
        char v[32];
        snprintf(v, sizeof(v), "m-%d", i);
        int at = find_val(v);
        assert_true(at >= 0);
        assert_string_equal(C.hdr[at], "origin=petrel");
        assert_string_equal(C.key[at], "-");
    }
    /* Every message is marked delivered in the payload: sending it again sends nothing. */
    char *t = frames_text(&p->data);
    assert_non_null(strstr(t, "4|t|-|m-0\n5|t|-|m-1\n"));
    free(t);
    assert_int_equal(K.pl->send(&K.inst, p), PT_DONE);
    assert_true(run_until(2, 5000));
    assert_int_equal(D.status, 0);
    consume("t", 51, 1500);
    assert_int_equal(C.n, 50);
    payload_free(p);
}

static void test_hash_partitions(void **state)
{
    (void)state;
    kstart("PartitionerType: hash\nHashKeys: [content.content]\n");
    /* Raw events: the key is the line; the same line always lands in the same partition. */
    pt_group_t *g = group_new();
    for (int i = 0; i < 40; i++) {
        char line[16];
        snprintf(line, sizeof(line), "k%d", i % 4);
        add_raw(g, line);
    }
    pt_payload_t *p = calloc(1, sizeof(*p));
    pt_batch_t b = {G, 1, 40, 0, 0};
    assert_int_equal(K.pl->serialize(&K.inst, &b, p), 0);
    groups_free();
    assert_int_equal(K.pl->send(&K.inst, p), PT_DONE);
    assert_true(run_until(1, 10000));
    assert_int_equal(D.status, 0);
    consume("t", 40, 10000);
    assert_int_equal(C.n, 40);
    int32_t part_of[4] = {-1, -1, -1, -1};
    for (int i = 0; i < C.n; i++) {
        int k = C.key[i][1] - '0';
        assert_string_equal(C.key[i], C.val[i]);
        if (part_of[k] < 0) {
            part_of[k] = C.part[i];
        }
        assert_int_equal(part_of[k], C.part[i]);
    }
    payload_free(p);
}

static void test_roundrobin_spreads(void **state)
{
    (void)state;
    kstart("PartitionerType: roundrobin\n");
    /* A first batch connects to every leader (partitions without a reachable leader are
     * skipped, as Java's RoundRobinPartitioner does); the second one is spread evenly. */
    pt_payload_t *w = payload_of(4, "warm", 0);
    assert_int_equal(K.pl->send(&K.inst, w), PT_DONE);
    assert_true(run_until(1, 10000));
    assert_int_equal(D.status, 0);
    pt_payload_t *p = payload_of(40, "rr", 0);
    assert_int_equal(K.pl->send(&K.inst, p), PT_DONE);
    assert_true(run_until(2, 10000));
    assert_int_equal(D.status, 0);
    consume("t", 44, 10000);
    assert_int_equal(C.n, 44);
    int per[4] = {0, 0, 0, 0};
    for (int i = 0; i < C.n; i++) {
        if (strncmp(C.val[i], "rr-", 3) == 0) {
            per[C.part[i]]++;
        }
    }
    for (int i = 0; i < 4; i++) {
        assert_int_equal(per[i], 10);
    }
    payload_free(w);
    payload_free(p);
}

static void test_permanent_errors_dead_letter(void **state)
{
    (void)state;
    /* One message over MaxMessageBytes: the other two are delivered, the batch is refused for
     * good with that one only. */
    kstart("MaxMessageBytes: 2000\nTopic: t2\n");
    pt_group_t *g = group_new();
    add_raw(g, "ok1");
    char big[3000];
    memset(big, 'b', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    add_raw(g, big);
    add_raw(g, "ok2");
    pt_payload_t *p = calloc(1, sizeof(*p));
    pt_batch_t b = {G, 1, 3, 0, 0};
    assert_int_equal(K.pl->serialize(&K.inst, &b, p), 0);
    groups_free();
    assert_int_equal(K.pl->send(&K.inst, p), PT_DONE);
    assert_true(run_until(1, 10000));
    assert_int_equal(D.status, -EBADMSG);
    assert_int_equal(D.nevents, 1);
    assert_has(D.reason, "(1 of 3 messages)");
    assert_has(D.reason, "too large");
    consume("t2", 2, 10000);
    assert_int_equal(C.n, 2);
    payload_free(p);
    kstop();
    kfree(&K);

    /* Unroutable without a DefaultTopic: dead letter with the template's reason. */
    memset(&D, 0, sizeof(D));
    kstart("Topic: 'x-%{content.app}'\n");
    p = payload_of(2, "u", 0);
    assert_int_equal(K.pl->send(&K.inst, p), PT_DONE);
    assert_int_equal(D.n, 0); /* never completed from inside send() */
    assert_true(run_until(1, 5000));
    assert_int_equal(D.status, -EBADMSG);
    assert_string_equal(D.reason,
                        "no value for %{content.app} in the Topic template (2 of 2 messages)");
    payload_free(p);
}

static void test_topic_authorization_is_permanent(void **state)
{
    (void)state;
    kstart("");
    rd_kafka_resp_err_t errs[1] = {RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED};
    rd_kafka_mock_push_request_errors_array(M.mc, 0 /* Produce */, 1, errs);
    pt_payload_t *p = payload_of(1, "auth", 0);
    assert_int_equal(K.pl->send(&K.inst, p), PT_DONE);
    assert_true(run_until(1, 10000));
    assert_int_equal(D.status, -EBADMSG);
    assert_has(D.reason, "Topic authorization failed");
    payload_free(p);
}

static void test_retriable_errors_are_transparent(void **state)
{
    (void)state;
    /* Leader changes and timeouts on Produce are retried inside librdkafka (idempotent: no
     * duplicates): the batch completes as delivered. */
    kstart("");
    rd_kafka_resp_err_t errs[4] = {
        RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
        RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE};
    rd_kafka_mock_push_request_errors_array(M.mc, 0, 4, errs);
    pt_payload_t *p = payload_of(20, "re", 0);
    assert_int_equal(K.pl->send(&K.inst, p), PT_DONE);
    assert_true(run_until(1, 15000));
    assert_int_equal(D.status, 0);
    consume("t", 20, 10000);
    assert_int_equal(C.n, 20);
    payload_free(p);
}

static void test_timeout_retries(void **state)
{
    (void)state;
    kstart("MessageTimeoutMs: 600\n");
    brokers_set(0);
    pt_payload_t *p = payload_of(5, "to", 0);
    assert_int_equal(K.pl->send(&K.inst, p), PT_DONE);
    assert_true(run_until(1, 10000));
    assert_int_equal(D.status, PT_RETRY);
    assert_has(D.reason, "timed out (5 of 5 messages)");
    assert_int_equal(D.throttled, 0);
    /* The brokers are back: the same payload (as the spool would replay it) goes through. */
    brokers_set(1);
    assert_int_equal(K.pl->send(&K.inst, p), PT_DONE);
    assert_true(run_until(2, 15000));
    assert_int_equal(D.status, 0);
    consume("t", 5, 10000);
    assert_int_equal(C.n, 5);
    payload_free(p);
}

static void test_queue_full_is_backpressure(void **state)
{
    (void)state;
    kstart("QueueBufferingMaxMessages: 5\nMessageTimeoutMs: 800\n");
    brokers_set(0);
    /* Nothing fits: an immediate retry, throttled, nothing sent. */
    pt_payload_t *a = payload_of(5, "qa", 0);
    assert_int_equal(K.pl->send(&K.inst, a), PT_DONE);
    pt_payload_t *b = payload_of(3, "qb", 0);
    assert_int_equal(K.pl->send(&K.inst, b), PT_RETRY);
    assert_int_equal(b->throttled, 1);
    assert_has(b->reason, "queue is full");
    /* Part fits: the batch waits for the reports of what went out, then retries, throttled. */
    assert_true(run_until(1, 10000)); /* a: timed out */
    assert_int_equal(D.status, PT_RETRY);
    pt_payload_t *c = payload_of(8, "qc", 0);
    memset(&D, 0, sizeof(D));
    assert_int_equal(K.pl->send(&K.inst, c), PT_DONE);
    assert_true(run_until(1, 10000));
    assert_int_equal(D.status, PT_RETRY);
    assert_int_equal(D.throttled, 1);
    assert_has(D.reason, "(8 of 8 messages)");
    brokers_set(1);
    payload_free(a);
    payload_free(b);
    payload_free(c);
}

static void test_fatal_error_recovers(void **state)
{
    (void)state;
    kstart("MessageTimeoutMs: 60000\n");
    brokers_set(0);
    pt_payload_t *p = payload_of(3, "fa", 0);
    assert_int_equal(K.pl->send(&K.inst, p), PT_DONE);
    rd_kafka_test_fatal_error(pt_kafka_handle(&K.inst),
                              RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER,
                              "injected by the test");
    /* Reported at once (purged), not when the messages would time out. */
    assert_true(run_until(1, 3000));
    assert_int_equal(D.status, PT_RETRY);
    brokers_set(1);
    /* The next send runs on a new producer. */
    assert_int_equal(K.pl->send(&K.inst, p), PT_DONE);
    assert_true(run_until(2, 15000));
    assert_int_equal(D.status, 0);
    consume("t", 3, 10000);
    assert_int_equal(C.n, 3);
    payload_free(p);
}

static void test_stop_completes_in_flight(void **state)
{
    (void)state;
    kstart("FlushTimeoutMs: 300\n");
    brokers_set(0);
    pt_payload_t *p = payload_of(10, "st", 0);
    assert_int_equal(K.pl->send(&K.inst, p), PT_DONE);
    uv_run(&loop, UV_RUN_NOWAIT);
    assert_int_equal(D.n, 0);
    uint64_t t0 = pt_now_mono_ns();
    kstop();
    uint64_t ms = (pt_now_mono_ns() - t0) / 1000000;
    assert_int_equal(D.n, 1);
    assert_int_equal(D.status, PT_RETRY);
    assert_has(D.reason, "(10 of 10 messages)");
    if (ms > 1500) {
        fail_msg("stop took %llu ms", (unsigned long long)ms);
    }
    brokers_set(1);
    payload_free(p);
}

static void test_corrupt_payload_refused(void **state)
{
    (void)state;
    kstart("");
    pt_payload_t *p = calloc(1, sizeof(*p));
    pt_buf_append_str(&p->data, "PKF1\n0 1 - 5\ntab\n");
    assert_int_equal(K.pl->send(&K.inst, p), -EBADMSG);
    assert_has(p->reason, "not a Kafka batch");
    payload_free(p);
}

int main(void)
{
    pt_log_set_level(PT_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_config_errors, teardown),
        cmocka_unit_test_teardown(test_config_secrets_never_shown, teardown),
        cmocka_unit_test_teardown(test_config_warnings, teardown),
        cmocka_unit_test(test_conf_defaults),
        cmocka_unit_test(test_conf_mapping),
        cmocka_unit_test(test_frames_round_trip),
        cmocka_unit_test(test_frames_corrupt),
        cmocka_unit_test_teardown(test_topic_templates, teardown),
        cmocka_unit_test_teardown(test_partition_keys, teardown),
        cmocka_unit_test_teardown(test_formats, teardown),
        cmocka_unit_test_setup_teardown(test_deliver_on_report, setup_mock, teardown_mock),
        cmocka_unit_test_setup_teardown(test_hash_partitions, setup_mock, teardown_mock),
        cmocka_unit_test_setup_teardown(test_roundrobin_spreads, setup_mock, teardown_mock),
        cmocka_unit_test_setup_teardown(test_permanent_errors_dead_letter, setup_mock,
                                        teardown_mock),
        cmocka_unit_test_setup_teardown(test_topic_authorization_is_permanent, setup_mock,
                                        teardown_mock),
        cmocka_unit_test_setup_teardown(test_retriable_errors_are_transparent, setup_mock,
                                        teardown_mock),
        cmocka_unit_test_setup_teardown(test_timeout_retries, setup_mock, teardown_mock),
        cmocka_unit_test_setup_teardown(test_queue_full_is_backpressure, setup_mock, teardown_mock),
        cmocka_unit_test_setup_teardown(test_fatal_error_recovers, setup_mock, teardown_mock),
        cmocka_unit_test_setup_teardown(test_stop_completes_in_flight, setup_mock, teardown_mock),
        cmocka_unit_test_setup_teardown(test_corrupt_payload_refused, setup_mock, teardown_mock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
