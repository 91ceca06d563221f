/* OTLP codecs (core/proto): the real OpenTelemetry JS SDK requests in tests/fixtures/otlp decode
 * through protobuf and through JSON into the same events, with every field of the data model;
 * malformed bodies are refused with a reason that names where; responses and Status bodies have
 * the exact bytes the spec gives; decompression stops at its cap. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "core/arena.h"
#include "core/event.h"
#include "core/mem.h"
#include "core/plugin.h"
#include "core/proto/otlp.h"
#include "core/proto/otlp_pb.h"

/* ========================================================================= helpers ======= */

static char *slurp(const char *rel, size_t *len)
{
    const char *src = getenv("PT_SOURCE_DIR");
    char path[1024];
    snprintf(path, sizeof(path), "%s/tests/fixtures/otlp/%s", src != NULL ? src : "..", rel);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

typedef struct {
    pt_arena_t *a;
    pt_otlp_groups_t g;
    pt_buf_t out; /* every event as a JSON line */
} decoded_t;

static int decode_file(const char *rel, int signal, int json, decoded_t *d, char *err,
                       size_t errlen)
{
    size_t len;
    char *raw = slurp(rel, &len);
    pt_buf_t plain;
    ProtobufCMessage *msg = NULL;
    int rc;

    pt_buf_init(&plain);
    memset(d, 0, sizeof(*d));
    d->a = pt_arena_create(PT_ARENA_LARGE);
    assert_non_null(d->a);
    pt_buf_init(&d->out);
    size_t n = strlen(rel);
    if (n > 3 && strcmp(rel + n - 3, ".gz") == 0) {
        assert_int_equal(pt_otlp_decompress(PT_ENC_GZIP, raw, len, 1 << 20, &plain), 0);
    } else {
        assert_int_equal(pt_buf_append(&plain, raw, len), 0);
    }
    free(raw);
    rc = json ? pt_otlp_decode_json(signal, d->a, plain.data, plain.len, &msg, err, errlen)
              : pt_otlp_decode_pb(signal, d->a, plain.data, plain.len, &msg, err, errlen);
    if (rc == 0) {
        rc = pt_otlp_to_groups(signal, msg, d->a, 42, &d->g);
    }
    /* The events must not point into the body: poison it before serializing. */
    memset(plain.data, 0xA5, plain.len);
    pt_buf_free(&plain);
    for (uint32_t i = 0; rc == 0 && i < d->g.ngroups; i++) {
        pt_group_t *g = d->g.groups[i];
        for (uint32_t e = 0; e < g->nevents; e++) {
            assert_int_equal(pt_event_write_json(&d->out, g, &g->events[e]), 0);
        }
    }
    if (d->out.len > 0) {
        pt_buf_putc(&d->out, '\0');
        d->out.len--;
    }
    return rc;
}

static void decoded_free(decoded_t *d)
{
    for (uint32_t i = 0; i < d->g.ngroups; i++) {
        pt_group_release(d->g.groups[i]);
    }
    pt_arena_unref(d->a);
    pt_buf_free(&d->out);
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s != '\0'; s++) {
        n += *s == '\n';
    }
    return n;
}

static size_t count_str(const char *s, const char *needle)
{
    size_t n = 0;
    for (const char *p = s; (p = strstr(p, needle)) != NULL; p += strlen(needle)) {
        n++;
    }
    return n;
}

static const char *line_with(const char *s, const char *needle, char *buf, size_t cap)
{
    const char *p = strstr(s, needle);
    assert_non_null(p);
    while (p > s && p[-1] != '\n') {
        p--;
    }
    const char *e = strchr(p, '\n');
    size_t n = (size_t)(e - p);
    assert_true(n < cap);
    memcpy(buf, p, n);
    buf[n] = '\0';
    return buf;
}

/* ========================================================================= traces ======== */

static void test_traces_pb_and_json_agree(void **state)
{
    decoded_t pb, js;
    char err[256];
    char line[8192];

    assert_int_equal(decode_file("traces.pb", PT_SIGNAL_TRACES, 0, &pb, err, sizeof(err)), 0);
    assert_int_equal(decode_file("traces.json", PT_SIGNAL_TRACES, 1, &js, err, sizeof(err)), 0);
    assert_int_equal(pb.g.ngroups, 1);
    assert_int_equal(pb.g.records, 14);
    assert_int_equal(pb.g.rejected, 0);
    assert_int_equal(count_lines(pb.out.data), 14);
    assert_string_equal(pb.out.data, js.out.data);

    /* Resource and scope attributes are group tags; the origin keeps the typed originals. */
    const pt_group_t *g = pb.g.groups[0];
    const pt_str_t *t = pt_group_get_tag(g, PT_STR_LIT("service.name"));
    assert_non_null(t);
    assert_true(pt_str_eq_c(*t, "openclaw-gateway"));
    t = pt_group_get_tag(g, PT_STR_LIT("otlp.scope.name"));
    assert_non_null(t);
    assert_true(pt_str_eq_c(*t, "openclaw.agent"));
    const pt_otlp_origin_t *o = g->ext;
    assert_int_equal(o->signal, PT_SIGNAL_TRACES);
    assert_int_equal(o->nresource_attrs, 13);
    assert_true(pt_str_eq_c(o->scope_version, "2026.1.29"));

    /* The first llm.call span, every detail. */
    line_with(pb.out.data, "\"spanId\":\"ffa0453fd05d0552\"", line, sizeof(line));
    assert_non_null(strstr(line, "\"traceId\":\"a6efdf32646ae38ee6c0724886cd0c08\","
                                 "\"spanId\":\"ffa0453fd05d0552\","
                                 "\"parentSpanId\":\"3a01e7d705843af0\",\"flags\":257,"
                                 "\"name\":\"llm.call\",\"kind\":3,"
                                 "\"startTimeNs\":1795314393873000000,"
                                 "\"endTimeNs\":1795314398224000000,\"attributes\":{"));
    assert_non_null(strstr(line, "\"gen_ai.request.max_tokens\":8192,"));
    assert_non_null(strstr(line, "\"gen_ai.request.temperature\":0.7,"));
    assert_non_null(strstr(line, "\"gen_ai.usage.input_tokens\":12898,"));
    assert_non_null(strstr(line, "\"gen_ai.response.finish_reasons\":[\"tool_use\"],"));
    assert_non_null(strstr(line, "\"llm.streaming\":true}"));
    assert_non_null(strstr(line, "\"events\":[{\"timeNs\":1795314394962000000,"
                                 "\"name\":\"gen_ai.first_token\",\"attributes\":{"
                                 "\"gen_ai.server.time_to_first_token_ms\":1089}}],"
                                 "\"status\":0,"));
    assert_non_null(strstr(line, "\"__time__\":1795314393,"));
    assert_non_null(strstr(line, "\"__tag__:service.name\":\"openclaw-gateway\""));
    assert_non_null(strstr(line, "\"__tag__:otlp.scope.name\":\"openclaw.agent\""));

    /* The failed tool call: status, message and its exception event. */
    line_with(pb.out.data, "\"spanId\":\"8382e5585e09661b\"", line, sizeof(line));
    assert_non_null(strstr(line, "\"status\":2,\"statusMessage\":\"command exited with code "
                                 "127: rg: not found\""));
    assert_non_null(strstr(line, "\"name\":\"exception\",\"attributes\":{\"exception.type\":"
                                 "\"ToolExecutionError\""));
    assert_int_equal(count_str(pb.out.data, "\"name\":\"exception\""), 1);
    assert_int_equal(count_str(pb.out.data, "\"links\":[{"), 2);
    assert_int_equal(count_str(pb.out.data, "\"openclaw.link.reason\""), 2);
    assert_int_equal(count_str(pb.out.data, "\"name\":\"llm.call\""), 7);
    assert_int_equal(count_str(pb.out.data, "\"name\":\"agent.turn\""), 3);
    decoded_free(&pb);
    decoded_free(&js);
}

static void test_traces_gzip(void **state)
{
    decoded_t pb, js;
    char err[256];
    assert_int_equal(decode_file("traces.pb.gz", PT_SIGNAL_TRACES, 0, &pb, err, sizeof(err)), 0);
    assert_int_equal(decode_file("traces.json.gz", PT_SIGNAL_TRACES, 1, &js, err, sizeof(err)), 0);
    assert_int_equal(pb.g.records, 14);
    assert_string_equal(pb.out.data, js.out.data);
    decoded_free(&pb);
    decoded_free(&js);
}

/* ========================================================================= logs ========== */

static void test_logs(void **state)
{
    decoded_t pb, js;
    char err[256];
    char line[8192];

    assert_int_equal(decode_file("logs.pb", PT_SIGNAL_LOGS, 0, &pb, err, sizeof(err)), 0);
    assert_int_equal(decode_file("logs.json", PT_SIGNAL_LOGS, 1, &js, err, sizeof(err)), 0);
    assert_int_equal(pb.g.records, 23);
    assert_int_equal(count_lines(pb.out.data), 23);
    assert_string_equal(pb.out.data, js.out.data);
    assert_int_equal(count_str(pb.out.data, "\"__severity_text__\":\"INFO\""), 10);
    assert_int_equal(count_str(pb.out.data, "\"__severity_text__\":\"DEBUG\""), 8);
    assert_int_equal(count_str(pb.out.data, "\"__trace_id__\":"), 20);
    assert_int_equal(count_str(pb.out.data, "\"__event_name__\":\"openclaw.tool.result\""), 3);
    assert_int_equal(count_str(pb.out.data, "\"__event_name__\":\"openclaw.session.compaction\""),
                     1);
    /* kvlist bodies stay structured; bytes attributes are base64. */
    assert_int_equal(count_str(pb.out.data, "\"content\":{\"event\":"), 4);
    line_with(pb.out.data, "compaction.digest", line, sizeof(line));
    assert_non_null(strstr(line, "\"compaction.digest\":\"3q2+7wABAgM=\""));
    decoded_free(&pb);
    decoded_free(&js);

    assert_int_equal(decode_file("logs.pb.gz", PT_SIGNAL_LOGS, 0, &pb, err, sizeof(err)), 0);
    assert_int_equal(decode_file("logs.json.gz", PT_SIGNAL_LOGS, 1, &js, err, sizeof(err)), 0);
    assert_int_equal(pb.g.records, 23);
    assert_string_equal(pb.out.data, js.out.data);
    decoded_free(&pb);
    decoded_free(&js);
}

/* ======================================================================== metrics ======== */

static void test_metrics(void **state)
{
    decoded_t pb, js;
    char err[256];
    char line[8192];

    assert_int_equal(decode_file("metrics.pb", PT_SIGNAL_METRICS, 0, &pb, err, sizeof(err)), 0);
    assert_int_equal(decode_file("metrics.json", PT_SIGNAL_METRICS, 1, &js, err, sizeof(err)), 0);
    assert_int_equal(pb.g.records, 19);
    assert_int_equal(js.g.records, 19);
    assert_int_equal(count_lines(pb.out.data), 19);
    assert_int_equal(count_lines(js.out.data), 19);
    static const char *const expect[][2] = {
        {"\"__name__\":\"llm.latency_ms\"", "3"},
        {"\"__name__\":\"tool.duration_ms\"", "3"},
        {"\"__name__\":\"tokens.used\"", "6"},
        {"\"__name__\":\"active_sessions\"", "2"},
        {"\"__name__\":\"llm.context_window.utilization\"", "3"},
        {"\"__name__\":\"gateway.queue.depth\"", "2"},
        {"\"__type__\":\"histogram\"", "3"},
        {"\"__type__\":\"exponential_histogram\"", "3"},
        {"\"__type__\":\"sum\"", "8"},
        {"\"__type__\":\"gauge\"", "5"},
        {"\"__explicit_bounds__\":[50.0,100.0,250.0,500.0,1000.0,2500.0,5000.0,10000.0,30000.0]",
         "3"},
        {"\"__scale__\":20", "2"},
        {"\"__scale__\":7", "1"},
        {"\"__unit__\":\"{token}\"", "6"},
        {"\"__monotonic__\":true", "6"},
        {"\"__temporality__\":\"cumulative\"", "14"},
    };
    for (size_t i = 0; i < PT_ARRAY_SIZE(expect); i++) {
        if (count_str(pb.out.data, expect[i][0]) != (size_t)atoi(expect[i][1]) ||
            count_str(js.out.data, expect[i][0]) != (size_t)atoi(expect[i][1])) {
            fail_msg("%s: expected %s, protobuf %zu, JSON %zu", expect[i][0], expect[i][1],
                     count_str(pb.out.data, expect[i][0]), count_str(js.out.data, expect[i][0]));
        }
    }
    /* asInt sums keep exact integers. */
    line_with(pb.out.data, "\"__name__\":\"tokens.used\"", line, sizeof(line));
    assert_non_null(strstr(line, "\"__value__\":"));
    assert_null(strstr(line, "\"__value__\":\""));
    decoded_free(&pb);
    decoded_free(&js);
}

/* ===================================================================== malformed ========= */

static void test_malformed(void **state)
{
    pt_arena_t *a = pt_arena_create(PT_ARENA_SMALL);
    ProtobufCMessage *m;
    char err[256];
    size_t len;
    char *raw = slurp("traces.pb", &len);

    /* Truncated protobuf. */
    assert_int_equal(pt_otlp_decode_pb(PT_SIGNAL_TRACES, a, raw, len - 7, &m, err, sizeof(err)),
                     -EINVAL);
    assert_non_null(strstr(err, "invalid protobuf at byte"));
    free(raw);

    /* Invalid JSON, with its offset. */
    assert_int_equal(
        pt_otlp_decode_json(PT_SIGNAL_TRACES, a, "{\"resourceSpans\":[}", 19, &m, err, sizeof(err)),
        -EINVAL);
    assert_string_equal(err, "invalid JSON at byte 18");

    /* Valid JSON, wrong shape: the error names the path. */
    static const char bad_id[] =
        "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[{\"traceId\":\"xyz!\"}]}]}]}";
    assert_int_equal(
        pt_otlp_decode_json(PT_SIGNAL_TRACES, a, bad_id, sizeof(bad_id) - 1, &m, err, sizeof(err)),
        -EINVAL);
    assert_string_equal(err, "resourceSpans[0].scopeSpans[0].spans[0].traceId: invalid id 'xyz!' "
                             "(expected hex)");
    static const char bad_kind[] = "{\"resource_spans\":[{\"scope_spans\":[{\"spans\":[{\"kind\":"
                                   "\"SPAN_KIND_NOPE\"}]}]}]}";
    assert_int_equal(pt_otlp_decode_json(PT_SIGNAL_TRACES, a, bad_kind, sizeof(bad_kind) - 1, &m,
                                         err, sizeof(err)),
                     -EINVAL);
    assert_string_equal(err, "resourceSpans[0].scopeSpans[0].spans[0].kind: unknown SpanKind "
                             "value 'SPAN_KIND_NOPE'");
    static const char bad_type[] = "{\"resourceLogs\":5}";
    assert_int_equal(pt_otlp_decode_json(PT_SIGNAL_LOGS, a, bad_type, sizeof(bad_type) - 1, &m, err,
                                         sizeof(err)),
                     -EINVAL);
    assert_string_equal(err, "resourceLogs: expected an array, got a number");
    pt_arena_unref(a);
}

/* Snake case keys, enum names, ids in hex, 64-bit values as strings or numbers, and records that
 * are refused one by one (partial success). */
static void test_json_variants_and_rejects(void **state)
{
    static const char doc[] =
        "{\"resource_spans\":[{\"resource\":{\"attributes\":[{\"key\":\"service.name\","
        "\"value\":{\"string_value\":\"svc\"}},{\"key\":\"pid\",\"value\":{\"int_value\":\"42\"}}]}"
        ","
        "\"scope_spans\":[{\"scope\":{\"name\":\"s\",\"attributes\":[{\"key\":\"a\",\"value\":"
        "{\"boolValue\":false}}]},\"spans\":["
        "{\"trace_id\":\"0102030405060708090a0b0c0d0e0f10\",\"span_id\":\"0102030405060708\","
        "\"name\":\"ok\",\"kind\":\"SPAN_KIND_CLIENT\",\"start_time_unix_nano\":"
        "1000000000000000001,"
        "\"end_time_unix_nano\":\"1000000000000000002\",\"status\":{\"code\":\"STATUS_CODE_OK\"},"
        "\"attributes\":[{\"key\":\"d\",\"value\":{\"doubleValue\":\"NaN\"}},{\"key\":\"e\","
        "\"value\":{}},{\"key\":\"kv\",\"value\":{\"kvlistValue\":{\"values\":[{\"key\":\"x\","
        "\"value\":{\"doubleValue\":2}}]}}}]},"
        "{\"traceId\":\"00000000000000000000000000000000\",\"spanId\":\"0102030405060708\"},"
        "{\"traceId\":\"0102030405060708090a0b0c0d0e0f10\",\"spanId\":\"01020304\"}"
        "]}]}]}";
    pt_arena_t *a = pt_arena_create(PT_ARENA_SMALL);
    ProtobufCMessage *m;
    pt_otlp_groups_t g;
    pt_buf_t out;
    char err[256];

    assert_int_equal(
        pt_otlp_decode_json(PT_SIGNAL_TRACES, a, doc, sizeof(doc) - 1, &m, err, sizeof(err)), 0);
    assert_int_equal(pt_otlp_to_groups(PT_SIGNAL_TRACES, m, a, 7, &g), 0);
    assert_int_equal(g.ngroups, 1);
    assert_int_equal(g.records, 1);
    assert_int_equal(g.rejected, 2);
    assert_string_equal(g.reason, "trace_id must be 16 bytes, not all zero");
    pt_buf_init(&out);
    assert_int_equal(pt_event_write_json(&out, g.groups[0], &g.groups[0]->events[0]), 0);
    pt_buf_putc(&out, '\0');
    assert_string_equal(
        out.data,
        "{\"__time__\":1000000000,\"traceId\":\"0102030405060708090a0b0c0d0e0f10\","
        "\"spanId\":\"0102030405060708\",\"name\":\"ok\",\"kind\":3,"
        "\"startTimeNs\":1000000000000000001,\"endTimeNs\":1000000000000000002,"
        "\"attributes\":{\"d\":\"NaN\",\"e\":null,\"kv\":{\"x\":2.0}},\"status\":1,"
        "\"__tag__:service.name\":\"svc\",\"__tag__:pid\":\"42\",\"__tag__:otlp.scope.a\":"
        "\"false\",\"__tag__:otlp.scope.name\":\"s\"}\n");
    pt_buf_free(&out);
    pt_group_release(g.groups[0]);
    pt_arena_unref(a);
}

/* ====================================================================== responses ======== */

static void test_responses(void **state)
{
    pt_buf_t b;
    pt_buf_init(&b);
    assert_int_equal(pt_otlp_encode_response(PT_SIGNAL_TRACES, 0, 0, NULL, &b), 0);
    assert_int_equal(b.len, 0);
    assert_int_equal(pt_otlp_encode_response(PT_SIGNAL_TRACES, 1, 0, NULL, &b), 0);
    assert_int_equal(b.len, 2);
    assert_memory_equal(b.data, "{}", 2);
    b.len = 0;
    assert_int_equal(pt_otlp_encode_response(PT_SIGNAL_LOGS, 1, 3, "bad ids", &b), 0);
    pt_buf_putc(&b, '\0');
    assert_string_equal(b.data, "{\"partialSuccess\":{\"rejectedLogRecords\":\"3\","
                                "\"errorMessage\":\"bad ids\"}}");
    b.len = 0;
    /* partial_success (1) { rejected_spans (1) = 2, error_message (2) = "x" } */
    assert_int_equal(pt_otlp_encode_response(PT_SIGNAL_TRACES, 0, 2, "x", &b), 0);
    assert_int_equal(b.len, 7);
    assert_memory_equal(b.data, "\x0a\x05\x08\x02\x12\x01x", 7);
    b.len = 0;
    /* Status { code (1) = 3, message (2) = "no" } */
    assert_int_equal(pt_otlp_encode_status(0, 3, "no", 0, &b), 0);
    assert_int_equal(b.len, 6);
    assert_memory_equal(b.data, "\x08\x03\x12\x02no", 6);
    b.len = 0;
    assert_int_equal(pt_otlp_encode_status(1, 14, "full", 2500, &b), 0);
    pt_buf_putc(&b, '\0');
    assert_string_equal(b.data, "{\"code\":14,\"message\":\"full\",\"details\":[{\"@type\":"
                                "\"type.googleapis.com/google.rpc.RetryInfo\","
                                "\"retryDelay\":\"2.500s\"}]}");
    b.len = 0;
    /* With RetryInfo: decodes back to the delay. */
    assert_int_equal(pt_otlp_encode_status(0, 14, "full", 2500, &b), 0);
    Google__Rpc__Status *st = google__rpc__status__unpack(NULL, b.len, (uint8_t *)b.data);
    assert_non_null(st);
    assert_int_equal(st->code, 14);
    assert_int_equal(st->n_details, 1);
    assert_string_equal(st->details[0]->type_url, "type.googleapis.com/google.rpc.RetryInfo");
    Google__Rpc__RetryInfo *ri = google__rpc__retry_info__unpack(NULL, st->details[0]->value.len,
                                                                 st->details[0]->value.data);
    assert_non_null(ri);
    assert_int_equal(ri->retry_delay->seconds, 2);
    assert_int_equal(ri->retry_delay->nanos, 500000000);
    google__rpc__retry_info__free_unpacked(ri, NULL);
    google__rpc__status__free_unpacked(st, NULL);
    pt_buf_free(&b);
}

/* ==================================================================== compression ======== */

static void gzip_of(const void *in, size_t len, pt_buf_t *out)
{
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY), Z_OK);
    assert_int_equal(pt_buf_reserve(out, deflateBound(&zs, len)), 0);
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)len;
    zs.next_out = (Bytef *)out->data;
    zs.avail_out = (uInt)out->cap;
    assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
    out->len = zs.total_out;
    deflateEnd(&zs);
}

static void test_decompress_cap(void **state)
{
    size_t n = 8u << 20;
    char *zeros = calloc(1, n);
    pt_buf_t gz, out;
    pt_buf_init(&gz);
    pt_buf_init(&out);
    gzip_of(zeros, n, &gz);
    assert_true(gz.len < 64 * 1024);
    /* Exactly at the cap is fine; one byte less is a bomb. */
    assert_int_equal(pt_otlp_decompress(PT_ENC_GZIP, gz.data, gz.len, n, &out), 0);
    assert_int_equal(out.len, n);
    pt_buf_free(&out);
    pt_buf_init(&out);
    assert_int_equal(pt_otlp_decompress(PT_ENC_GZIP, gz.data, gz.len, n - 1, &out), -EMSGSIZE);
    assert_int_equal(out.len, 0);
    assert_true(out.cap <= n - 1);
    /* Truncated stream and trailing junk. */
    assert_int_equal(pt_otlp_decompress(PT_ENC_GZIP, gz.data, gz.len - 4, n, &out), -EINVAL);
    assert_int_equal(pt_buf_append(&gz, "junk", 4), 0);
    assert_int_equal(pt_otlp_decompress(PT_ENC_GZIP, gz.data, gz.len, n, &out), -EINVAL);
    /* zstd: the same rules. */
    pt_buf_t zs;
    pt_buf_init(&zs);
    assert_int_equal(pt_buf_reserve(&zs, ZSTD_compressBound(n)), 0);
    zs.len = ZSTD_compress(zs.data, zs.cap, zeros, n, 3);
    assert_false(ZSTD_isError(zs.len));
    out.len = 0;
    assert_int_equal(pt_otlp_decompress(PT_ENC_ZSTD, zs.data, zs.len, n, &out), 0);
    assert_int_equal(out.len, n);
    out.len = 0;
    assert_int_equal(pt_otlp_decompress(PT_ENC_ZSTD, zs.data, zs.len, n - 1, &out), -EMSGSIZE);
    assert_int_equal(pt_otlp_decompress(PT_ENC_ZSTD, zs.data, zs.len - 3, n, &out), -EINVAL);
    pt_buf_free(&zs);
    assert_int_equal(pt_otlp_encoding_parse(PT_STR_LIT("GZIP")), PT_ENC_GZIP);
    assert_int_equal(pt_otlp_encoding_parse(PT_STR_LIT("br")), -ENOTSUP);
    pt_buf_free(&gz);
    pt_buf_free(&out);
    free(zeros);
}

/* Wraps buf[0..*len) as the value of a length-delimited field with key byte tag. */
static uint8_t *wrap(uint8_t *buf, size_t *len, uint8_t tag)
{
    uint8_t *nb = malloc(*len + 16);
    size_t k = 0;
    size_t v = *len;
    assert_non_null(nb);
    nb[k++] = tag;
    do {
        uint8_t byte = v & 0x7f;
        v >>= 7;
        nb[k++] = byte | (v ? 0x80 : 0);
    } while (v);
    memcpy(nb + k, buf, *len);
    free(buf);
    *len += k;
    return nb;
}

/* Nesting deeper than protobuf-c can safely recurse is refused before it sees the bytes:
 * a log body that is an array in an array in an array ... 100 levels down. */
static void test_pb_depth(void **state)
{
    uint8_t *cur = malloc(1);
    size_t clen = 0;
    pt_arena_t *a = pt_arena_create(PT_ARENA_SMALL);
    ProtobufCMessage *m;
    char err[256];

    for (int i = 0; i < 100; i++) {
        cur = wrap(cur, &clen, 0x0a); /* ArrayValue.values (AnyValue) */
        cur = wrap(cur, &clen, 0x2a); /* AnyValue.array_value (ArrayValue) */
    }
    cur = wrap(cur, &clen, 0x2a); /* LogRecord.body */
    cur = wrap(cur, &clen, 0x12); /* ScopeLogs.log_records */
    cur = wrap(cur, &clen, 0x12); /* ResourceLogs.scope_logs */
    cur = wrap(cur, &clen, 0x0a); /* ExportLogsServiceRequest.resource_logs */
    assert_int_equal(pt_otlp_decode_pb(PT_SIGNAL_LOGS, a, cur, clen, &m, err, sizeof(err)),
                     -EINVAL);
    assert_non_null(strstr(err, "nested too deep"));
    free(cur);
    pt_arena_unref(a);
}

/* Events -> OTLP -> events gives the same events, JSON line for JSON line: every field of
 * spans, data points and log records survives, with the attribute types (ints stay ints, arrays
 * stay arrays, bytes stay bytes). */
static void roundtrip(const char *file, int signal, int json)
{
    decoded_t a;
    char err[256];
    pt_buf_t pb;
    pt_buf_t *outs[4] = {NULL, NULL, NULL, NULL};
    uint32_t counts[4];

    assert_int_equal(decode_file(file, signal, json, &a, err, sizeof(err)), 0);
    pt_buf_init(&pb);
    outs[signal] = &pb;
    assert_int_equal(pt_otlp_encode_groups(a.g.groups, a.g.ngroups, outs, counts), 0);
    assert_int_equal(counts[signal], a.g.records);

    pt_arena_t *arena = pt_arena_create(PT_ARENA_LARGE);
    ProtobufCMessage *m;
    pt_otlp_groups_t g2;
    pt_buf_t out2;
    assert_int_equal(pt_otlp_decode_pb(signal, arena, pb.data, pb.len, &m, err, sizeof(err)), 0);
    assert_int_equal(pt_otlp_to_groups(signal, m, arena, 42, &g2), 0);
    assert_int_equal(g2.records, a.g.records);
    assert_int_equal(g2.ngroups, a.g.ngroups);
    pt_buf_init(&out2);
    for (uint32_t i = 0; i < g2.ngroups; i++) {
        for (uint32_t e = 0; e < g2.groups[i]->nevents; e++) {
            assert_int_equal(pt_event_write_json(&out2, g2.groups[i], &g2.groups[i]->events[e]), 0);
        }
        pt_group_release(g2.groups[i]);
    }
    pt_buf_putc(&out2, '\0');
    assert_string_equal(out2.data, a.out.data);
    pt_buf_free(&out2);
    pt_buf_free(&pb);
    pt_arena_unref(arena);
    decoded_free(&a);
}

static void test_roundtrip(void **state)
{
    roundtrip("traces.pb", PT_SIGNAL_TRACES, 0);
    roundtrip("traces.json.gz", PT_SIGNAL_TRACES, 1);
    roundtrip("metrics.pb", PT_SIGNAL_METRICS, 0);
    roundtrip("metrics.json", PT_SIGNAL_METRICS, 1);
    roundtrip("logs.pb", PT_SIGNAL_LOGS, 0);
    roundtrip("logs.json.gz", PT_SIGNAL_LOGS, 1);
}

/* serialize(decode(doc)) == serialize(decode(encode(decode(doc)))) for a JSON request. */
static void rt_json(const char *doc, int signal, const char *expect)
{
    pt_arena_t *a = pt_arena_create(PT_ARENA_SMALL);
    pt_arena_t *a2 = pt_arena_create(PT_ARENA_SMALL);
    ProtobufCMessage *m;
    pt_otlp_groups_t g1, g2;
    pt_buf_t one, two, pb;
    pt_buf_t *outs[4] = {NULL, NULL, NULL, NULL};
    uint32_t counts[4];
    char err[256];

    pt_buf_init(&one);
    pt_buf_init(&two);
    pt_buf_init(&pb);
    assert_int_equal(pt_otlp_decode_json(signal, a, doc, strlen(doc), &m, err, sizeof(err)), 0);
    assert_int_equal(pt_otlp_to_groups(signal, m, a, 1, &g1), 0);
    outs[signal] = &pb;
    assert_int_equal(pt_otlp_encode_groups(g1.groups, g1.ngroups, outs, counts), 0);
    assert_int_equal(pt_otlp_decode_pb(signal, a2, pb.data, pb.len, &m, err, sizeof(err)), 0);
    assert_int_equal(pt_otlp_to_groups(signal, m, a2, 1, &g2), 0);
    pt_otlp_groups_t *gs[2] = {&g1, &g2};
    pt_buf_t *bs[2] = {&one, &two};
    for (int k = 0; k < 2; k++) {
        for (uint32_t i = 0; i < gs[k]->ngroups; i++) {
            for (uint32_t e = 0; e < gs[k]->groups[i]->nevents; e++) {
                pt_event_write_json(bs[k], gs[k]->groups[i], &gs[k]->groups[i]->events[e]);
            }
            pt_group_release(gs[k]->groups[i]);
        }
        pt_buf_putc(bs[k], '\0');
    }
    assert_string_equal(two.data, one.data);
    assert_string_equal(one.data, expect);
    pt_buf_free(&one);
    pt_buf_free(&two);
    pt_buf_free(&pb);
    pt_arena_unref(a);
    pt_arena_unref(a2);
}

/* Cases the fuzzer found: an empty string value stays a string (protobuf-c drops a oneof
 * string that is its default pointer), and resource attributes named like the scope's tags, even
 * repeated, stay resource attributes. */
static void test_roundtrip_edges(void **state)
{
    rt_json("{\"resourceLogs\":[{\"scopeLogs\":[{\"logRecords\":[{\"timeUnixNano\":\"1000000000\","
            "\"body\":{\"stringValue\":\"\"},\"attributes\":[{\"key\":\"e\",\"value\":"
            "{\"stringValue\":\"\"}},{\"key\":\"n\",\"value\":{}}]}]}]}]}",
            PT_SIGNAL_LOGS,
            "{\"__time__\":1,\"content\":\"\",\"e\":\"\",\"n\":null,"
            "\"__time_unix_nano__\":1000000000}\n");
    rt_json("{\"resourceLogs\":[{\"resource\":{\"attributes\":["
            "{\"key\":\"otlp.scope.version\",\"value\":{\"stringValue\":\"a\"}},"
            "{\"key\":\"otlp.scope.version\",\"value\":{\"stringValue\":\"b\"}},"
            "{\"key\":\"otlp.scope.name\",\"value\":{\"intValue\":7}}]},"
            "\"scopeLogs\":[{\"scope\":{\"name\":\"s\",\"version\":\"v\",\"attributes\":["
            "{\"key\":\"name\",\"value\":{\"stringValue\":\"x\"}},"
            "{\"key\":\"k\",\"value\":{\"boolValue\":true}}]},"
            "\"logRecords\":[{\"timeUnixNano\":\"2000000000\"}]}]}]}",
            PT_SIGNAL_LOGS,
            "{\"__time__\":2,\"__time_unix_nano__\":2000000000,"
            "\"__tag__:otlp.scope.version\":\"b\",\"__tag__:otlp.scope.name\":\"7\","
            "\"__tag__:otlp.scope.k\":\"true\"}\n");
}

/* Events that did not come from OTLP export as logs: a raw line is the body, a file log's
 * "content" field too, its other fields string attributes, tags resource attributes. */
static void test_export_plain_events(void **state)
{
    pt_arena_t *a = pt_arena_create(PT_ARENA_SMALL);
    pt_group_t *g = pt_group_create(a, 4);
    pt_buf_t pb;
    pt_buf_t *outs[4] = {NULL, NULL, NULL, NULL};
    uint32_t counts[4];

    pt_group_set_tag(g, PT_STR_LIT("__path__"), PT_STR_LIT("/var/log/a.log"));
    pt_event_t *ev = pt_group_add_event(g, PT_EVENT_RAW);
    ev->raw = PT_STR_LIT("a raw line");
    ev->time_ns = 5000000000LL;
    ev = pt_group_add_event(g, PT_EVENT_LOG);
    pt_event_append(g, ev, PT_STR_LIT("level"), PT_STR_LIT("warn"));
    pt_event_append(g, ev, PT_STR_LIT("content"), PT_STR_LIT("parsed"));
    ev->time_ns = 6000000000LL;
    pt_buf_init(&pb);
    outs[PT_SIGNAL_LOGS] = &pb;
    outs[PT_SIGNAL_TRACES] = &pb; /* nothing of these: nothing appended */
    assert_int_equal(pt_otlp_encode_groups(&g, 1, outs, counts), 0);
    assert_int_equal(counts[PT_SIGNAL_LOGS], 2);
    assert_int_equal(counts[PT_SIGNAL_TRACES], 0);
    pb_logs_req_t *r =
        opentelemetry__proto__collector__logs__v1__export_logs_service_request__unpack(
            NULL, pb.len, (uint8_t *)pb.data);
    assert_non_null(r);
    assert_int_equal(r->n_resource_logs, 1);
    pb_resource_logs_t *rl = r->resource_logs[0];
    assert_string_equal(rl->resource->attributes[0]->key, "__path__");
    assert_string_equal(rl->resource->attributes[0]->value->string_value, "/var/log/a.log");
    pb_log_record_t **lr = rl->scope_logs[0]->log_records;
    assert_int_equal(rl->scope_logs[0]->n_log_records, 2);
    assert_string_equal(lr[0]->body->string_value, "a raw line");
    assert_int_equal(lr[0]->time_unix_nano, 5000000000ULL);
    assert_string_equal(lr[1]->body->string_value, "parsed");
    assert_int_equal(lr[1]->n_attributes, 1);
    assert_string_equal(lr[1]->attributes[0]->key, "level");
    opentelemetry__proto__collector__logs__v1__export_logs_service_request__free_unpacked(r, NULL);
    pt_buf_free(&pb);
    pt_group_release(g);
    pt_arena_unref(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_traces_pb_and_json_agree),
        cmocka_unit_test(test_traces_gzip),
        cmocka_unit_test(test_logs),
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_json_variants_and_rejects),
        cmocka_unit_test(test_responses),
        cmocka_unit_test(test_decompress_cap),
        cmocka_unit_test(test_pb_depth),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_roundtrip_edges),
        cmocka_unit_test(test_export_plain_events),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
