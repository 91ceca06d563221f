/* flusher_kafka's configuration: the translation of the keys of LoongCollector's flusher_kafka,
 * flusher_kafka_v2 and flusher_kafka_native into a librdkafka producer configuration that
 * favours delivery over everything else (idempotence, acks=all). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/mem.h"
#include "flushers/flusher_kafka/flusher_kafka_internal.h"

/* ========================================================================== helpers ====== */

long pt_kafka_parse_ms(const char *s)
{
    if (s == NULL || *s == '\0') {
        return -1;
    }
    char *end;
    double v = strtod(s, &end);
    if (end == s || v < 0 || v > 2147483647.0) {
        return -1;
    }
    double ms;
    if (*end == '\0' || strcmp(end, "ms") == 0) {
        ms = v;
    } else if (strcmp(end, "s") == 0) {
        ms = v * 1000;
    } else if (strcmp(end, "m") == 0) {
        ms = v * 60000;
    } else {
        return -1;
    }
    return ms > 2147483647.0 ? -1 : (long)ms;
}

/* "2.8.0" -> 2008000; "0.10.2.1" -> 10002. -1 unless 2 to 4 dot-separated numbers. */
static long parse_version(const char *s)
{
    long part[4] = {0, 0, 0, 0};
    int n = 0;
    const char *p = s;
    for (;;) {
        if (n == 4 || *p < '0' || *p > '9') {
            return -1;
        }
        char *end;
        long v = strtol(p, &end, 10);
        if (v > 999) {
            return -1;
        }
        part[n++] = v;
        if (*end == '\0') {
            break;
        }
        if (*end != '.') {
            return -1;
        }
        p = end + 1;
    }
    if (n < 2) {
        return -1;
    }
    return part[0] * 1000000 + part[1] * 1000 + part[2];
}

/* librdkafka properties whose values must never be shown. */
static int secret_prop(const char *name)
{
    static const char *const marks[] = {"password",           "secret", "pem", "jaas",
                                        "oauthbearer.config", "token"};
    for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
        if (strstr(name, marks[i]) != NULL) {
            return 1;
        }
    }
    return 0;
}

typedef struct {
    rd_kafka_conf_t *k;
    pt_cfg_diag_t *d;
    int line;
    int rc;
} builder_t;

/* Sets one property; `key` names the config key the value came from, for the error. */
static void set(builder_t *b, const char *key, const char *name, const char *val)
{
    char errstr[512];
    if (rd_kafka_conf_set(b->k, name, val, errstr, sizeof(errstr)) == RD_KAFKA_CONF_OK) {
        return;
    }
    if (secret_prop(name)) {
        pt_cfg_error(b->d, b->line, key, "librdkafka refuses its value for %s", name);
    } else {
        pt_cfg_error(b->d, b->line, key, "librdkafka refuses %s=%s: %s", name, val, errstr);
    }
    b->rc = -EINVAL;
}

static void set_int(builder_t *b, const char *key, const char *name, int64_t v)
{
    char tmp[32];
    snprintf(tmp, sizeof(tmp), "%lld", (long long)v);
    set(b, key, name, tmp);
}

static void need_file(builder_t *b, const char *key, const char *path)
{
    if (path != NULL && access(path, R_OK) != 0) {
        pt_cfg_error(b->d, b->line, key, "cannot read '%s': %s", path, strerror(errno));
        b->rc = -EINVAL;
    }
}

/* ========================================================================== build ======== */

int pt_kafka_conf_build(const pt_kafka_conf_t *c, int line, pt_cfg_diag_t *d, rd_kafka_conf_t **out)
{
    builder_t b = {rd_kafka_conf_new(), d, line, 0};
    if (b.k == NULL) {
        return -ENOMEM;
    }
    *out = NULL;

    /* ---- where ---- */
    pt_buf_t servers;
    pt_buf_init(&servers);
    for (size_t i = 0; i < c->brokers.n; i++) {
        /* "a:1,b:2" in one item is accepted too (librdkafka's own form). */
        const char *s = c->brokers.v[i];
        if (*s == '\0' || s[strlen(s) - 1] == ',' || *s == ',' || strstr(s, ",,") != NULL ||
            strpbrk(s, " \t;") != NULL) {
            pt_cfg_error(d, line, "Brokers", "'%s' is not a host:port (one broker per item)", s);
            b.rc = -EINVAL;
            continue;
        }
        if (servers.len > 0) {
            pt_buf_putc(&servers, ',');
        }
        pt_buf_append_str(&servers, s);
    }
    if (c->brokers.n == 0) {
        pt_cfg_error(d, line, "Brokers", "at least one broker is needed");
        b.rc = -EINVAL;
    }
    pt_buf_putc(&servers, '\0');
    if (servers.data != NULL && b.rc == 0) {
        set(&b, "Brokers", "bootstrap.servers", servers.data);
    }
    pt_buf_free(&servers);
    set(&b, "ClientID", "client.id", c->client_id);

    long ver = parse_version(c->version);
    if (ver < 0) {
        pt_cfg_error(d, line, "Version", "expected a Kafka version such as 2.8.0, got '%s'",
                     c->version);
        b.rc = -EINVAL;
        ver = 1000000;
    }
    if (ver < 10000) {
        /* Brokers before 0.10 do not answer ApiVersionRequest: tell librdkafka what they
         * speak instead. */
        set(&b, "Version", "api.version.request", "false");
    }
    set(&b, "Version", "broker.version.fallback", c->version);

    /* ---- delivery guarantee ---- */
    int idempotent = c->required_acks == -1 && ver >= 11000;
    if (c->required_acks != -1) {
        pt_cfg_warn(d, line, "RequiredAcks",
                    "%lld: messages acknowledged by fewer than all in-sync replicas can be lost "
                    "when a leader fails, and idempotence is off (duplicates on retry)",
                    (long long)c->required_acks);
    } else if (!idempotent) {
        pt_cfg_warn(d, line, "Version",
                    "brokers before 0.11 have no idempotent producer: retries may duplicate "
                    "or reorder messages");
    }
    set(&b, "RequiredAcks", "enable.idempotence", idempotent ? "true" : "false");
    if (c->required_acks == -1) {
        set(&b, "RequiredAcks", "acks", "all");
    } else {
        set_int(&b, "RequiredAcks", "acks", c->required_acks);
    }
    if (idempotent && c->max_open_requests > 5) {
        pt_cfg_error(d, line, "MaxOpenRequests",
                     "%lld: the idempotent producer allows at most 5 requests in flight",
                     (long long)c->max_open_requests);
        b.rc = -EINVAL;
    } else {
        set_int(&b, "MaxOpenRequests", "max.in.flight.requests.per.connection",
                c->max_open_requests);
    }
    set_int(&b, "MessageTimeoutMs", "message.timeout.ms", c->message_timeout_ms);
    set_int(&b, "RetryBackoffMs", "retry.backoff.ms", c->retry_backoff_ms);
    long tmo = pt_kafka_parse_ms(c->timeout);
    if (tmo <= 0) {
        pt_cfg_error(d, line, "Timeout", "expected a duration such as 500ms, 30s or 1m, got '%s'",
                     c->timeout ? c->timeout : "");
        b.rc = -EINVAL;
    } else {
        set_int(&b, "Timeout", "request.timeout.ms", tmo);
    }

    /* ---- batching ---- */
    set(&b, "Compression", "compression.codec", c->compression);
    if (c->compression_level != -1) {
        set_int(&b, "CompressionLevel", "compression.level", c->compression_level);
    }
    set_int(&b, "MaxMessageBytes", "message.max.bytes", c->max_message_bytes);
    if (c->max_message_bytes < 1000000) {
        /* A batch must fit in a request. */
        set_int(&b, "MaxMessageBytes", "batch.size", c->max_message_bytes);
    }
    set_int(&b, "BulkMaxSize", "batch.num.messages", c->bulk_max_size);
    set_int(&b, "BulkFlushFrequency", "linger.ms", c->linger_ms);
    set_int(&b, "QueueBufferingMaxKbytes", "queue.buffering.max.kbytes", c->queue_max_kbytes);
    set_int(&b, "QueueBufferingMaxMessages", "queue.buffering.max.messages", c->queue_max_messages);
    if (strcmp(c->partitioner, "hash") == 0) {
        set(&b, "PartitionerType", "partitioner", "murmur2_random");
    } else if (strcmp(c->partitioner, "random") == 0) {
        set(&b, "PartitionerType", "partitioner", "random");
    } else {
        /* roundrobin: a partitioner callback, installed by the runtime; librdkafka's sticky
         * partitioning of keyless messages would bypass it. */
        set(&b, "PartitionerType", "sticky.partitioning.linger.ms", "0");
    }

    /* ---- security ---- */
    const char *user = NULL;
    const char *pass = NULL;
    const char *mech = NULL;
    const char *ukey = NULL;
    int nsasl = 0;
    if (c->sasl_user != NULL || c->sasl_mechanism != NULL) {
        user = c->sasl_user;
        pass = c->sasl_password;
        mech = c->sasl_mechanism != NULL ? c->sasl_mechanism : "PLAIN";
        ukey = "Authentication.SASL.Username";
        nsasl++;
    }
    if (c->plain_user != NULL) {
        user = c->plain_user;
        pass = c->plain_password;
        mech = "PLAIN";
        ukey = "Authentication.PlainText.Username";
        nsasl++;
    }
    if (c->v1_sasl_user != NULL) {
        user = c->v1_sasl_user;
        pass = c->v1_sasl_password;
        mech = "PLAIN";
        ukey = "SASLUsername";
        nsasl++;
    }
    if (nsasl > 1 || (nsasl > 0 && c->krb_enabled)) {
        pt_cfg_error(d, line, "Authentication",
                     "set only one of Authentication.SASL, Authentication.PlainText, "
                     "Authentication.Kerberos and SASLUsername");
        b.rc = -EINVAL;
    } else if (nsasl == 1) {
        if (user == NULL || *user == '\0') {
            pt_cfg_error(d, line, ukey, "a SASL user is needed with Mechanism %s", mech);
            b.rc = -EINVAL;
        } else if (pass == NULL) {
            pt_cfg_error(d, line, ukey, "the SASL password of this user is missing");
            b.rc = -EINVAL;
        } else {
            set(&b, "Authentication", "sasl.mechanisms", mech);
            set(&b, "Authentication", "sasl.username", user);
            set(&b, "Authentication", "sasl.password", pass);
        }
    }
    if (c->krb_enabled) {
        if (c->krb_principal == NULL) {
            pt_cfg_error(d, line, "Authentication.Kerberos.Principal",
                         "needed when Kerberos is enabled");
            b.rc = -EINVAL;
        } else {
            set(&b, "Authentication.Kerberos", "sasl.mechanisms", c->krb_mechanism);
            set(&b, "Authentication.Kerberos", "sasl.kerberos.service.name", c->krb_service);
            set(&b, "Authentication.Kerberos", "sasl.kerberos.principal", c->krb_principal);
            if (c->krb_keytab != NULL) {
                need_file(&b, "Authentication.Kerberos.Keytab", c->krb_keytab);
                set(&b, "Authentication.Kerberos", "sasl.kerberos.keytab", c->krb_keytab);
            }
            if (c->krb_kinit != NULL) {
                set(&b, "Authentication.Kerberos", "sasl.kerberos.kinit.cmd", c->krb_kinit);
            }
        }
    }
    int sasl = nsasl > 0 || c->krb_enabled;
    int tls = c->tls_enabled;
    if (!tls && (c->tls_ca != NULL || c->tls_cert != NULL || c->tls_key != NULL)) {
        pt_cfg_warn(d, line, "Authentication.TLS",
                    "CAFile/CertFile/KeyFile are set but Enabled is false: TLS is not used");
    }
    if (tls) {
        if ((c->tls_cert == NULL) != (c->tls_key == NULL)) {
            pt_cfg_error(d, line,
                         c->tls_cert == NULL ? "Authentication.TLS.CertFile"
                                             : "Authentication.TLS.KeyFile",
                         "CertFile and KeyFile go together");
            b.rc = -EINVAL;
        }
        need_file(&b, "Authentication.TLS.CAFile", c->tls_ca);
        need_file(&b, "Authentication.TLS.CertFile", c->tls_cert);
        need_file(&b, "Authentication.TLS.KeyFile", c->tls_key);
        if (c->tls_ca != NULL) {
            set(&b, "Authentication.TLS.CAFile", "ssl.ca.location", c->tls_ca);
        }
        if (c->tls_cert != NULL) {
            set(&b, "Authentication.TLS.CertFile", "ssl.certificate.location", c->tls_cert);
        }
        if (c->tls_key != NULL) {
            set(&b, "Authentication.TLS.KeyFile", "ssl.key.location", c->tls_key);
        }
        if (c->tls_key_password != NULL) {
            set(&b, "Authentication.TLS.KeyPassword", "ssl.key.password", c->tls_key_password);
        }
        if (c->tls_insecure) {
            set(&b, "Authentication.TLS.InsecureSkipVerify", "enable.ssl.certificate.verification",
                "false");
            set(&b, "Authentication.TLS.InsecureSkipVerify",
                "ssl.endpoint.identification.algorithm", "none");
        }
        if (c->tls_min_version != NULL || c->tls_max_version != NULL) {
            pt_cfg_warn(d, line, "Authentication.TLS",
                        "MinVersion/MaxVersion are not supported with librdkafka; OpenSSL's "
                        "defaults apply");
        }
    }
    set(&b, "Authentication", "security.protocol",
        tls ? (sasl ? "sasl_ssl" : "ssl") : (sasl ? "sasl_plaintext" : "plaintext"));

    /* ---- quieter logs: idle connections closed by brokers are normal ---- */
    set(&b, "Kafka", "log.connection.close", "false");
    set(&b, "Kafka", "socket.keepalive.enable", "true");

    /* ---- raw properties last, so they win ---- */
    for (size_t i = 0; i < c->kafka.n; i++) {
        char key[300];
        snprintf(key, sizeof(key), "Kafka.%s", c->kafka.keys[i]);
        set(&b, key, c->kafka.keys[i], c->kafka.vals[i]);
    }
    if (b.rc != 0) {
        rd_kafka_conf_destroy(b.k);
        return b.rc;
    }
    *out = b.k;
    return 0;
}
