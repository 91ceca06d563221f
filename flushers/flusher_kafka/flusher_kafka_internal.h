/* Private header of flusher_kafka (one implementation behind the Types flusher_kafka,
 * flusher_kafka_v2 and flusher_kafka_native): the config struct and maps, the librdkafka config
 * builder, the payload format (messages framed on workers, produced on the sender loop) and the
 * producer runtime. Only the files of flushers/flusher_kafka/ and its tests include it. */
#ifndef PT_FLUSHER_KAFKA_INTERNAL_H
#define PT_FLUSHER_KAFKA_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "config/cfgmap.h"
#include "config/node.h"
#include "core/plugin.h"

/* ============================================================================ config ===== */

typedef struct pt_kafka_conf_s {
    pt_strlist_t brokers;
    char *topic;
    char *default_topic;
    char *version;
    char *client_id;
    const pt_node_t *headers; /* map, or list of {key, value}; parsed at create() */
    char *protocol;
    char *encoding;
    pt_strmap_t tag_rename;
    pt_strmap_t proto_rename;
    char *partitioner;
    pt_strlist_t hash_keys;
    int hash_once;
    int64_t required_acks;
    char *compression;
    int64_t compression_level;
    int64_t max_message_bytes;
    int64_t max_open_requests;
    int64_t max_retries;
    int64_t bulk_max_size;
    int64_t linger_ms;
    char *timeout;
    int64_t message_timeout_ms;
    int64_t retry_backoff_ms;
    int64_t queue_max_kbytes;
    int64_t queue_max_messages;
    int64_t flush_timeout_ms;
    int tls_enabled;
    char *tls_ca;
    char *tls_cert;
    char *tls_key;
    char *tls_key_password;
    int tls_insecure;
    char *tls_min_version;
    char *tls_max_version;
    char *plain_user;
    char *plain_password;
    char *sasl_mechanism;
    char *sasl_user;
    char *sasl_password;
    char *v1_sasl_user;
    char *v1_sasl_password;
    int krb_enabled;
    char *krb_mechanism;
    char *krb_service;
    char *krb_principal;
    char *krb_keytab;
    char *krb_kinit;
    pt_strmap_t kafka; /* raw librdkafka properties, applied last */
    pt_delivery_conf_t delivery;
} pt_kafka_conf_t;

/* ============================================================ map and descriptors ===== */

/* The keys of all three Types; the default of Convert.Protocol is the only difference
 * (custom_single as LoongCollector's Go flushers, jsonline for flusher_kafka_native). */
#define PT_KAFKA_OFF(m) offsetof(pt_kafka_conf_t, m)

/* clang-format off */
#define PT_KAFKA_FIELDS(proto_default)                                                              \
    {"Brokers", PT_CFG_STRLIST, NULL, 0, 0, NULL, PT_CFG_REQUIRED | PT_CFG_COMMA, PT_KAFKA_OFF(brokers),  \
     NULL, "Bootstrap brokers, host:port each"},                                                 \
    {"Topic", PT_CFG_STRING, NULL, 0, 0, NULL, PT_CFG_REQUIRED, PT_KAFKA_OFF(topic), NULL,                \
     "Topic; may hold %{content.<field>} and %{tag.<key>} (per event) and ${ENV} (at load)"},    \
    {"DefaultTopic", PT_CFG_STRING, NULL, 0, 0, NULL, 0, PT_KAFKA_OFF(default_topic), NULL,               \
     "Topic for events whose Topic template cannot be made (missing value, invalid name); "      \
     "without it they go to the dead-letter dir"},                                               \
    {"Version", PT_CFG_STRING, "1.0.0", 0, 0, NULL, 0, PT_KAFKA_OFF(version), NULL,                       \
     "Kafka protocol version of the brokers (x.y.z[.n]): below 0.10 no ApiVersion request, "     \
     "below 0.11 no idempotence"},                                                               \
    {"ClientID", PT_CFG_STRING, "LogtailPlugin", 0, 0, NULL, 0, PT_KAFKA_OFF(client_id), NULL,            \
     "client.id sent to the brokers"},                                                           \
    {"Headers", PT_CFG_NODE, NULL, 0, 0, NULL, 0, PT_KAFKA_OFF(headers), NULL,                            \
     "Headers of every message: a list of {key, value} (LoongCollector) or a map"},              \
    {"Convert", PT_CFG_SECTION, NULL, 0, 0, NULL, 0, 0, NULL, "Message format"},                 \
    {"Convert.Protocol", PT_CFG_STRING, proto_default, 0, 0,                                     \
     "custom_single|custom_single_flatten|jsonline|raw", 0, PT_KAFKA_OFF(protocol), NULL,                 \
     "custom_single: {\"contents\",\"tags\",\"time\"}; custom_single_flatten: the same one "    \
     "level flat; jsonline: LoongCollector's JSON event (__time__, fields, __tag__:*); raw: the " \
     "content"},                                                                                 \
    {"Convert.Encoding", PT_CFG_STRING, "json", 0, 0, "json", 0, PT_KAFKA_OFF(encoding), NULL,            \
     "Message encoding"},                                                                        \
    {"Convert.TagFieldsRename", PT_CFG_STRMAP, NULL, 0, 0, NULL, 0, PT_KAFKA_OFF(tag_rename), NULL,       \
     "Renames of tag keys (custom_single formats)"},                                             \
    {"Convert.ProtocolFieldsRename", PT_CFG_STRMAP, NULL, 0, 0, NULL, 0, PT_KAFKA_OFF(proto_rename), NULL, \
     "Renames of the protocol keys contents, tags and time"},                                    \
    {"PartitionerType", PT_CFG_STRING, "random", 0, 0, "random|hash|roundrobin", 0,              \
     PT_KAFKA_OFF(partitioner), NULL,                                                                     \
     "random; hash: messages keyed by HashKeys, partitioned by murmur2 as Java clients do; "     \
     "roundrobin"},                                                                              \
    {"HashKeys", PT_CFG_STRLIST, NULL, 0, 0, NULL, PT_CFG_COMMA, PT_KAFKA_OFF(hash_keys), NULL,           \
     "content.<field> or tag.<key> values that make the message key (joined by ###)"},           \
    {"HashOnce", PT_CFG_BOOL, "false", 0, 0, NULL, 0, PT_KAFKA_OFF(hash_once), NULL,                      \
     "Key a whole group by its first event, so it lands in one partition"},                      \
    {"RequiredAcks", PT_CFG_INT, "-1", -1, 1, NULL, PT_CFG_BOUNDED, PT_KAFKA_OFF(required_acks), NULL,    \
     "-1: all in-sync replicas (needed for idempotence); 1 or 0 can lose data on failover"},     \
    {"Compression", PT_CFG_STRING, "zstd", 0, 0, "none|gzip|snappy|lz4|zstd", 0,                 \
     PT_KAFKA_OFF(compression), NULL, "Batch compression"},                                               \
    {"CompressionLevel", PT_CFG_INT, "-1", -1, 22, NULL, PT_CFG_BOUNDED, PT_KAFKA_OFF(compression_level), \
     NULL, "-1: the codec's default"},                                                           \
    {"MaxMessageBytes", PT_CFG_INT, "1000000", 1000, 1000000000, NULL, PT_CFG_BOUNDED,           \
     PT_KAFKA_OFF(max_message_bytes), NULL,                                                               \
     "Largest request (message.max.bytes); a bigger message is dead-lettered"},                  \
    {"MaxOpenRequests", PT_CFG_INT, "5", 1, 1000000, NULL, PT_CFG_BOUNDED,                       \
     PT_KAFKA_OFF(max_open_requests), NULL, "Requests in flight per broker connection (5 at most with "   \
                                   "idempotence)"},                                              \
    {"MaxRetries", PT_CFG_INT, "3", 0, 1000000, NULL, PT_CFG_BOUNDED, PT_KAFKA_OFF(max_retries), NULL,    \
     "Accepted for compatibility: librdkafka retries until MessageTimeoutMs, then the spool "    \
     "does"},                                                                                    \
    {"BulkMaxSize", PT_CFG_INT, "2048", 1, 1000000, NULL, PT_CFG_BOUNDED, PT_KAFKA_OFF(bulk_max_size),    \
     NULL, "Most messages per batch (batch.num.messages)"},                                      \
    {"BulkFlushFrequency", PT_CFG_INT, "50", 0, 900000, NULL, PT_CFG_BOUNDED, PT_KAFKA_OFF(linger_ms),    \
     NULL, "Milliseconds to wait for more messages before sending a batch (linger.ms)"},         \
    {"Timeout", PT_CFG_STRING, "30s", 0, 0, NULL, 0, PT_KAFKA_OFF(timeout), NULL,                         \
     "Broker request timeout: a duration (500ms, 30s, 1m) or milliseconds"},                     \
    {"MessageTimeoutMs", PT_CFG_INT, "300000", 0, 2147483647, NULL, PT_CFG_BOUNDED,              \
     PT_KAFKA_OFF(message_timeout_ms), NULL,                                                              \
     "How long librdkafka keeps retrying a message before the spool takes over (0: forever)"},   \
    {"RetryBackoffMs", PT_CFG_INT, "100", 1, 300000, NULL, PT_CFG_BOUNDED, PT_KAFKA_OFF(retry_backoff_ms), \
     NULL, "librdkafka's backoff between produce retries"},                                      \
    {"QueueBufferingMaxKbytes", PT_CFG_INT, "65536", 1, 2147483647, NULL, PT_CFG_BOUNDED,        \
     PT_KAFKA_OFF(queue_max_kbytes), NULL,                                                                \
     "librdkafka's queue; when full, batches go to the spool and sending slows down"},           \
    {"QueueBufferingMaxMessages", PT_CFG_INT, "100000", 1, 2147483647, NULL, PT_CFG_BOUNDED,     \
     PT_KAFKA_OFF(queue_max_messages), NULL, "Most messages in librdkafka's queue"},                      \
    {"FlushTimeoutMs", PT_CFG_INT, "200", 0, 60000, NULL, PT_CFG_BOUNDED, PT_KAFKA_OFF(flush_timeout_ms), \
     NULL, "At stop, how long to wait for outstanding deliveries (the rest is in the spool)"},   \
    {"Authentication", PT_CFG_SECTION, NULL, 0, 0, NULL, 0, 0, NULL, "TLS and SASL"},            \
    {"Authentication.TLS", PT_CFG_SECTION, NULL, 0, 0, NULL, 0, 0, NULL, "TLS"},                 \
    {"Authentication.TLS.Enabled", PT_CFG_BOOL, "false", 0, 0, NULL, 0, PT_KAFKA_OFF(tls_enabled), NULL,  \
     "Connect with TLS"},                                                                        \
    {"Authentication.TLS.CAFile", PT_CFG_STRING, NULL, 0, 0, NULL, 0, PT_KAFKA_OFF(tls_ca), NULL,         \
     "CA bundle to verify the brokers with (default: the system's)"},                            \
    {"Authentication.TLS.CertFile", PT_CFG_STRING, NULL, 0, 0, NULL, 0, PT_KAFKA_OFF(tls_cert), NULL,     \
     "Client certificate (PEM), with KeyFile"},                                                  \
    {"Authentication.TLS.KeyFile", PT_CFG_STRING, NULL, 0, 0, NULL, 0, PT_KAFKA_OFF(tls_key), NULL,       \
     "Client key (PEM), with CertFile"},                                                         \
    {"Authentication.TLS.KeyPassword", PT_CFG_STRING, NULL, 0, 0, NULL, PT_CFG_SECRET,           \
     PT_KAFKA_OFF(tls_key_password), NULL, "Password of KeyFile"},                                        \
    {"Authentication.TLS.InsecureSkipVerify", PT_CFG_BOOL, "false", 0, 0, NULL, 0,               \
     PT_KAFKA_OFF(tls_insecure), NULL, "Do not verify the brokers' certificates (testing only)"},         \
    {"Authentication.TLS.MinVersion", PT_CFG_STRING, NULL, 0, 0, "1.0|1.1|1.2|1.3", 0,           \
     PT_KAFKA_OFF(tls_min_version), NULL, "Accepted for compatibility: OpenSSL's defaults apply"},        \
    {"Authentication.TLS.MaxVersion", PT_CFG_STRING, NULL, 0, 0, "1.0|1.1|1.2|1.3", 0,           \
     PT_KAFKA_OFF(tls_max_version), NULL, "Accepted for compatibility: OpenSSL's defaults apply"},        \
    {"Authentication.PlainText", PT_CFG_SECTION, NULL, 0, 0, NULL, 0, 0, NULL, "SASL/PLAIN"},    \
    {"Authentication.PlainText.Username", PT_CFG_STRING, NULL, 0, 0, NULL, 0, PT_KAFKA_OFF(plain_user),   \
     NULL, "SASL/PLAIN user"},                                                                   \
    {"Authentication.PlainText.Password", PT_CFG_STRING, NULL, 0, 0, NULL, PT_CFG_SECRET,        \
     PT_KAFKA_OFF(plain_password), NULL, "SASL/PLAIN password"},                                          \
    {"Authentication.SASL", PT_CFG_SECTION, NULL, 0, 0, NULL, 0, 0, NULL, "SASL"},               \
    {"Authentication.SASL.Mechanism", PT_CFG_STRING, NULL, 0, 0,                                 \
     "PLAIN|SCRAM-SHA-256|SCRAM-SHA-512", 0, PT_KAFKA_OFF(sasl_mechanism), "SaslMechanism",               \
     "SASL mechanism (default PLAIN when a Username is set)"},                                   \
    {"Authentication.SASL.Username", PT_CFG_STRING, NULL, 0, 0, NULL, 0, PT_KAFKA_OFF(sasl_user), NULL,   \
     "SASL user"},                                                                               \
    {"Authentication.SASL.Password", PT_CFG_STRING, NULL, 0, 0, NULL, PT_CFG_SECRET,             \
     PT_KAFKA_OFF(sasl_password), NULL, "SASL password"},                                                 \
    {"Authentication.Kerberos", PT_CFG_SECTION, NULL, 0, 0, NULL, 0, 0, NULL, "SASL/GSSAPI"},    \
    {"Authentication.Kerberos.Enabled", PT_CFG_BOOL, "false", 0, 0, NULL, 0, PT_KAFKA_OFF(krb_enabled),   \
     NULL, "Authenticate with Kerberos (exclusive with SASL and PlainText)"},                    \
    {"Authentication.Kerberos.Mechanisms", PT_CFG_STRING, "GSSAPI", 0, 0, NULL, 0,               \
     PT_KAFKA_OFF(krb_mechanism), NULL, "sasl.mechanisms for Kerberos"},                                  \
    {"Authentication.Kerberos.ServiceName", PT_CFG_STRING, "kafka", 0, 0, NULL, 0,               \
     PT_KAFKA_OFF(krb_service), NULL, "Kerberos service name of the brokers"},                            \
    {"Authentication.Kerberos.Principal", PT_CFG_STRING, NULL, 0, 0, NULL, 0, PT_KAFKA_OFF(krb_principal), \
     NULL, "Client principal"},                                                                  \
    {"Authentication.Kerberos.Keytab", PT_CFG_STRING, NULL, 0, 0, NULL, 0, PT_KAFKA_OFF(krb_keytab),      \
     "KeyTabPath", "Keytab file"},                                                               \
    {"Authentication.Kerberos.KinitCmd", PT_CFG_STRING, NULL, 0, 0, NULL, 0, PT_KAFKA_OFF(krb_kinit),     \
     NULL, "Custom kinit command"},                                                              \
    {"SASLUsername", PT_CFG_STRING, NULL, 0, 0, NULL, 0, PT_KAFKA_OFF(v1_sasl_user), NULL,                \
     "SASL/PLAIN user (flusher_kafka's key)"},                                                   \
    {"SASLPassword", PT_CFG_STRING, NULL, 0, 0, NULL, PT_CFG_SECRET, PT_KAFKA_OFF(v1_sasl_password),      \
     NULL, "SASL/PLAIN password (flusher_kafka's key)"},                                         \
    {"Kafka", PT_CFG_STRMAP, NULL, 0, 0, NULL, PT_CFG_SECRET, PT_KAFKA_OFF(kafka), NULL,                  \
     "librdkafka properties, applied last (they override the keys above)"},                      \
    PT_DELIVERY_CONFIG_FIELDS(pt_kafka_conf_t, delivery)
/* clang-format on */

/* The hooks shared by the three descriptors (flusher_kafka.c). */
int pt_kafka_create(pt_plugin_inst_t *inst, const pt_plugin_env_t *env, pt_cfg_diag_t *d);
int pt_kafka_start(pt_plugin_inst_t *inst, uv_loop_t *loop);
void pt_kafka_stop(pt_plugin_inst_t *inst);
void pt_kafka_destroy(pt_plugin_inst_t *inst);
int pt_kafka_serialize_batch(pt_plugin_inst_t *inst, const pt_batch_t *b, pt_payload_t *p);
int pt_kafka_send(pt_plugin_inst_t *inst, pt_payload_t *p);

/* Defines the config map and the descriptor pt_plugin_<nm> of one accepted Type. */
#define PT_KAFKA_DESCRIPTOR(nm, proto_default, desc)                                               \
    static const pt_cfg_field_t nm##_map[] = {PT_KAFKA_FIELDS(proto_default)};                     \
    const pt_plugin_t pt_plugin_##nm = {                                                           \
        .name = #nm,                                                                               \
        .kind = PT_PLUGIN_FLUSHER,                                                                 \
        .description = desc,                                                                       \
        .config_map = nm##_map,                                                                    \
        .config_n = sizeof(nm##_map) / sizeof(nm##_map[0]),                                        \
        .config_size = sizeof(pt_kafka_conf_t),                                                    \
        .create = pt_kafka_create,                                                                 \
        .start = pt_kafka_start,                                                                   \
        .stop = pt_kafka_stop,                                                                     \
        .destroy = pt_kafka_destroy,                                                               \
        .serialize = pt_kafka_serialize_batch,                                                     \
        .send = pt_kafka_send,                                                                     \
        .delivery_offset = offsetof(pt_kafka_conf_t, delivery) + 1,                                \
    }

/* Builds the librdkafka configuration (validated: every problem is reported with pt_cfg_error
 * and -EINVAL returned; settings that weaken the delivery guarantee get a warning). Secrets
 * never reach the diagnostics. The caller owns *out (rd_kafka_conf_destroy). Main thread. */
int pt_kafka_conf_build(const pt_kafka_conf_t *c, int line, pt_cfg_diag_t *d,
                        rd_kafka_conf_t **out);
/* Parses "500ms", "30s", "1m", or a bare number of milliseconds. -1 when invalid. */
long pt_kafka_parse_ms(const char *s);

/* ======================================================================= templates ===== */

enum { PT_KAFKA_REF_LIT = 0, PT_KAFKA_REF_CONTENT, PT_KAFKA_REF_TAG };

typedef struct pt_kafka_ref_s {
    uint8_t kind; /* PT_KAFKA_REF_* */
    char *text;   /* literal text, or the field / tag name (heap) */
    uint32_t len;
} pt_kafka_ref_t;

/* A compiled Topic template: literal text (${ENV} already substituted) and %{content.x} /
 * %{tag.x} references. Static when it has no reference (then parts[0] is the whole topic). */
typedef struct pt_kafka_tmpl_s {
    pt_kafka_ref_t *parts;
    uint32_t nparts;
    int is_static;
} pt_kafka_tmpl_t;

/* Compiles src. On error returns -EINVAL (or -ENOMEM) with the reason in err. Main thread. */
int pt_kafka_tmpl_compile(pt_kafka_tmpl_t *t, const char *src, char *err, size_t errlen);
void pt_kafka_tmpl_free(pt_kafka_tmpl_t *t);
/* Appends the topic of one event to out. Returns 0; 1 when a referenced field or tag is
 * missing (out then holds, from its old length, "no value for %{content.x}"); or -ENOMEM.
 * Reentrant. */
int pt_kafka_tmpl_expand(const pt_kafka_tmpl_t *t, const pt_group_t *g, const pt_event_t *ev,
                         pt_buf_t *out);
/* 1 when s is a legal Kafka topic name: 1..249 bytes of [A-Za-z0-9._-], not "." or "..". */
int pt_kafka_topic_valid(const char *s, size_t len);
/* Parses a "content.<name>" or "tag.<name>" reference (HashKeys); -EINVAL otherwise. */
int pt_kafka_ref_parse(const char *s, pt_kafka_ref_t *out);

/* ==================================================================== payload format ===== */

/* A payload is the line "PKF1\n" then one frame per message:
 *     "<flags> <topic_len> <key_len|-> <value_len>\n" <topic> <key> <value> "\n"
 * flags is one hex digit, the lengths are decimal. It is self-contained, so a spooled payload
 * replays after a restart or a config change, and it stays readable in spool and dead-letter
 * files. Flags can be changed in place (same length), which is how delivered messages are
 * marked so that a retry sends only the others. */
#define PT_KAFKA_MAGIC "PKF1\n"
#define PT_KAFKA_MAGIC_LEN 5
#define PT_KAFKA_F_SAME_TOPIC 0x1u /* topic_len is 0: same topic as the previous frame */
#define PT_KAFKA_F_UNROUTABLE 0x2u /* no topic could be made; `topic` holds the reason */
#define PT_KAFKA_F_DELIVERED 0x4u  /* acknowledged by Kafka already: skip on retry */
#define PT_KAFKA_MAX_FRAME_HDR 40

typedef struct pt_kafka_frame_s {
    uint8_t flags;
    pt_str_t topic; /* resolved: for SAME_TOPIC frames, the previous frame's topic */
    pt_str_t key;   /* ptr NULL: no key */
    pt_str_t value;
    uint32_t off; /* offset of the flags digit in the payload */
} pt_kafka_frame_t;

/* Reads the frame at *pos (start at PT_KAFKA_MAGIC_LEN with prev = NULL; afterwards pass the
 * previous frame). Returns 1 with *f filled and *pos advanced, 0 at the end, -EBADMSG when the
 * bytes are not a valid payload. */
int pt_kafka_frame_next(const char *data, size_t len, size_t *pos, const pt_kafka_frame_t *prev,
                        pt_kafka_frame_t *f);
/* Checks the magic. Returns 0 or -EBADMSG. */
int pt_kafka_payload_check(const char *data, size_t len);
/* Appends one frame (the topic is ignored with SAME_TOPIC). key.ptr NULL: no key. Returns 0 or
 * -ENOMEM (b then holds a partial frame: the caller gives up on the payload). */
int pt_kafka_frame_append(pt_buf_t *b, unsigned flags, pt_str_t topic, pt_str_t key,
                          pt_str_t value);
/* Sets flag bits of the frame whose flags digit is at data[off]. */
void pt_kafka_frame_mark(char *data, uint32_t off, unsigned flags);

/* ====================================================================== serializer ===== */

enum {
    PT_KAFKA_PROTO_CUSTOM_SINGLE = 0,
    PT_KAFKA_PROTO_CUSTOM_SINGLE_FLATTEN,
    PT_KAFKA_PROTO_JSONLINE,
    PT_KAFKA_PROTO_RAW,
};
enum { PT_KAFKA_PART_RANDOM = 0, PT_KAFKA_PART_HASH, PT_KAFKA_PART_ROUNDROBIN };

/* Everything serialize() needs; immutable after create(), shared by every worker. */
typedef struct pt_kafka_fmt_s {
    int proto;
    int partitioner;
    int hash_once;
    pt_kafka_tmpl_t topic;
    const char *default_topic; /* for events whose topic cannot be made; NULL: dead letter */
    pt_kafka_ref_t *hash_keys; /* kind CONTENT or TAG */
    uint32_t nhash_keys;
    const pt_strmap_t *tag_rename;
    const char *k_contents; /* the protocol keys, after ProtocolFieldsRename */
    const char *k_tags;
    const char *k_time;
} pt_kafka_fmt_t;

/* Appends one frame per live event of the batch to out (which must be empty: the magic comes
 * first). Returns 0, PT_DECLINED when there is nothing to send, or -ENOMEM. Reentrant. */
int pt_kafka_serialize(const pt_kafka_fmt_t *f, const pt_batch_t *b, pt_buf_t *out,
                       uint32_t *nmsgs);
/* The message value of one event in format f->proto (appended to out). Returns 0, 1 when the
 * event has nothing to send in this format (raw without content), or -ENOMEM. */
int pt_kafka_render_value(const pt_kafka_fmt_t *f, const pt_group_t *g, const pt_event_t *ev,
                          pt_buf_t *out);

/* ========================================================================== runtime ===== */

/* How a payload is completed: pt_payload_done in petrel, a recorder in tests. */
typedef void (*pt_kafka_done_cb)(pt_payload_t *p, int status);

/* Per-message results beyond librdkafka's error codes. */
#define PT_KAFKA_ERR_UNROUTABLE (-100000) /* no topic could be made (dead letter) */
#define PT_KAFKA_ERR_NOT_SENT (-100001)   /* never handed to librdkafka (queue full) */

/* 1 when a delivery error will not go away by sending the same message again. */
int pt_kafka_err_permanent(int err);

/* Tests: completes payloads through cb instead of pt_payload_done. Before start(). */
void pt_kafka_set_done_cb(pt_plugin_inst_t *inst, pt_kafka_done_cb cb);
/* Tests: the producer handle of a started instance (NULL before start / after stop). */
rd_kafka_t *pt_kafka_handle(pt_plugin_inst_t *inst);

#endif
