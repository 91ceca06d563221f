/* OTLP wire helpers: the arena allocator for protobuf-c, protobuf request decoding behind a
 * nesting check, Export*ServiceResponse and google.rpc.Status bodies, and decompression that
 * never inflates past a cap (a gzip bomb stops at the cap, with memory bounded by it). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "core/common.h"
#include "core/json.h"
#include "core/mem.h"
#include "otlp.h"
#include "otlp_pb.h"

/* ========================================================================= names ========= */

const char *pt_otlp_signal_records(int signal)
{
    switch (signal) {
    case PT_SIGNAL_TRACES:
        return "spans";
    case PT_SIGNAL_METRICS:
        return "data points";
    case PT_SIGNAL_LOGS:
        return "log records";
    default:
        return "records";
    }
}

const char *pt_otlp_signal_name(int signal)
{
    switch (signal) {
    case PT_SIGNAL_TRACES:
        return "traces";
    case PT_SIGNAL_METRICS:
        return "metrics";
    case PT_SIGNAL_LOGS:
        return "logs";
    default:
        return "unknown";
    }
}

const ProtobufCMessageDescriptor *pt_otlp_request_descriptor(int signal)
{
    switch (signal) {
    case PT_SIGNAL_TRACES:
        return &opentelemetry__proto__collector__trace__v1__export_trace_service_request__descriptor;
    case PT_SIGNAL_METRICS:
        return &opentelemetry__proto__collector__metrics__v1__export_metrics_service_request__descriptor;
    case PT_SIGNAL_LOGS:
        return &opentelemetry__proto__collector__logs__v1__export_logs_service_request__descriptor;
    default:
        return NULL;
    }
}

void pt_otlp_hex(const uint8_t *id, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[id[i] >> 4];
        out[2 * i + 1] = digits[id[i] & 15];
    }
}

size_t pt_otlp_b64_encode(const uint8_t *in, size_t len, char *out, int pad)
{
    static const char t[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t k = 0;
    size_t i = 0;
    for (; i + 2 < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[k++] = t[v >> 18];
        out[k++] = t[(v >> 12) & 63];
        out[k++] = t[(v >> 6) & 63];
        out[k++] = t[v & 63];
    }
    if (i < len) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);
        out[k++] = t[v >> 18];
        out[k++] = t[(v >> 12) & 63];
        if (i + 1 < len) {
            out[k++] = t[(v >> 6) & 63];
        } else if (pad) {
            out[k++] = '=';
        }
        if (pad) {
            out[k++] = '=';
        }
    }
    return k;
}

static int b64_digit(char ch)
{
    if (ch >= 'A' && ch <= 'Z') {
        return ch - 'A';
    }
    if (ch >= 'a' && ch <= 'z') {
        return ch - 'a' + 26;
    }
    if (ch >= '0' && ch <= '9') {
        return ch - '0' + 52;
    }
    if (ch == '+' || ch == '-') {
        return 62;
    }
    if (ch == '/' || ch == '_') {
        return 63;
    }
    return -1;
}

long pt_otlp_b64_decode(const char *s, size_t len, uint8_t *out)
{
    uint32_t acc = 0;
    int bits = 0;
    long n = 0;
    while (len > 0 && s[len - 1] == '=') {
        len--;
    }
    for (size_t i = 0; i < len; i++) {
        int v = b64_digit(s[i]);
        if (v < 0) {
            return -1;
        }
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[n++] = (uint8_t)(acc >> bits);
        }
    }
    if (bits >= 6) {
        return -1; /* a lone sixth of a byte: not base64 */
    }
    return n;
}

int pt_otlp_id_zero(const uint8_t *id, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (id[i] != 0) {
            return 0;
        }
    }
    return 1;
}

/* ===================================================================== allocator ========= */

static void *arena_alloc(void *ud, size_t size)
{
    /* protobuf-c asks for 0 bytes for empty repeated fields in some paths; any unique pointer
     * will do, but NULL would read as failure. */
    return pt_arena_alloc(ud, size ? size : 1);
}

static void arena_free(void *ud, void *p)
{
    /* The arena is freed all at once with its last group. */
    PT_UNUSED(ud);
    PT_UNUSED(p);
}

void pt_otlp_allocator(ProtobufCAllocator *out, pt_arena_t *a)
{
    out->alloc = arena_alloc;
    out->free = arena_free;
    out->allocator_data = a;
}

/* ================================================================ protobuf decode ======== */

static int read_varint(const uint8_t **pp, const uint8_t *end, uint64_t *v)
{
    const uint8_t *p = *pp;
    uint64_t r = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        if (p == end) {
            return -1;
        }
        uint8_t b = *p++;
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *pp = p;
            *v = r;
            return 0;
        }
    }
    return -1;
}

typedef struct {
    const uint8_t *base;
    char *err;
    size_t errlen;
} wire_t;

static int wire_fail(wire_t *w, const uint8_t *at, const char *what)
{
    snprintf(w->err, w->errlen, "invalid protobuf at byte %zu: %s", (size_t)(at - w->base), what);
    return -EINVAL;
}

/* Walks the wire format against the descriptors, refusing nesting past PT_OTLP_MAX_DEPTH and
 * framing errors, so that protobuf-c's recursive decoder only sees bounded input. */
static int wire_check(wire_t *w, const ProtobufCMessageDescriptor *d, const uint8_t *p,
                      const uint8_t *end, int depth)
{
    if (depth > PT_OTLP_MAX_DEPTH) {
        return wire_fail(w, p, "messages nested too deep");
    }
    while (p < end) {
        const uint8_t *at = p;
        uint64_t key;
        uint64_t n;
        if (read_varint(&p, end, &key) != 0) {
            return wire_fail(w, at, "truncated field key");
        }
        if ((key >> 3) == 0 || (key >> 3) > 536870911u) {
            return wire_fail(w, at, "invalid field number");
        }
        switch (key & 7) {
        case 0:
            if (read_varint(&p, end, &n) != 0) {
                return wire_fail(w, at, "truncated varint");
            }
            break;
        case 1:
            if (end - p < 8) {
                return wire_fail(w, at, "truncated fixed64");
            }
            p += 8;
            break;
        case 5:
            if (end - p < 4) {
                return wire_fail(w, at, "truncated fixed32");
            }
            p += 4;
            break;
        case 2: {
            if (read_varint(&p, end, &n) != 0 || n > (uint64_t)(end - p)) {
                return wire_fail(w, at, "truncated length-delimited field");
            }
            const ProtobufCFieldDescriptor *f =
                d != NULL ? protobuf_c_message_descriptor_get_field(d, (unsigned)(key >> 3)) : NULL;
            if (f != NULL && f->type == PROTOBUF_C_TYPE_MESSAGE) {
                int rc = wire_check(w, f->descriptor, p, p + n, depth + 1);
                if (rc != 0) {
                    return rc;
                }
            }
            p += n;
            break;
        }
        default:
            return wire_fail(w, at, "unsupported wire type");
        }
    }
    return 0;
}

int pt_otlp_decode_pb(int signal, pt_arena_t *a, const void *data, size_t len,
                      ProtobufCMessage **msg, char *err, size_t errlen)
{
    const ProtobufCMessageDescriptor *d = pt_otlp_request_descriptor(signal);
    ProtobufCAllocator alloc;
    wire_t w = {data, err, errlen};
    int rc;

    if (d == NULL) {
        snprintf(err, errlen, "unknown signal");
        return -EINVAL;
    }
    if (len == 0) {
        data = ""; /* an empty request (no data at all) is valid and empty */
        w.base = data;
    }
    rc = wire_check(&w, d, data, (const uint8_t *)data + len, 1);
    if (rc != 0) {
        return rc;
    }
    pt_otlp_allocator(&alloc, a);
    *msg = protobuf_c_message_unpack(d, &alloc, len, data);
    if (*msg == NULL) {
        /* The framing was checked: what protobuf-c refused is a field of the wrong wire type,
         * a bad packed array, or an out-of-memory arena. */
        snprintf(err, errlen, "invalid protobuf: cannot decode %s", d->short_name);
        return -EINVAL;
    }
    return 0;
}

/* ====================================================================== responses ======== */

static int pack_append(const ProtobufCMessage *m, pt_buf_t *out)
{
    size_t n = protobuf_c_message_get_packed_size(m);
    if (pt_buf_reserve(out, n + 1) != 0) {
        return -ENOMEM;
    }
    out->len += protobuf_c_message_pack(m, (uint8_t *)out->data + out->len);
    return 0;
}

int pt_otlp_encode_response(int signal, int json, int64_t rejected, const char *message,
                            pt_buf_t *out)
{
    if (message == NULL) {
        message = "";
    }
    if (json) {
        static const char *const keys[] = {"", "rejectedLogRecords", "rejectedDataPoints",
                                           "rejectedSpans"};
        pt_jw_t w;
        char num[24];
        pt_jw_init(&w, out);
        pt_jw_obj_open(&w);
        if (rejected > 0 || message[0] != '\0') {
            const char *k = signal >= 1 && signal <= 3 ? keys[signal] : "rejected";
            pt_jw_key(&w, "partialSuccess", 14);
            pt_jw_obj_open(&w);
            /* proto3 JSON writes int64 as a string. */
            snprintf(num, sizeof(num), "%lld", (long long)rejected);
            pt_jw_key(&w, k, strlen(k));
            pt_jw_str(&w, num, strlen(num));
            pt_jw_key(&w, "errorMessage", 12);
            pt_jw_str(&w, message, strlen(message));
            pt_jw_obj_close(&w);
        }
        pt_jw_obj_close(&w);
        return w.err;
    }
    if (rejected <= 0 && message[0] == '\0') {
        return 0; /* an empty message encodes as zero bytes */
    }
    switch (signal) {
    case PT_SIGNAL_TRACES: {
        Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse r =
            OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_RESPONSE__INIT;
        Opentelemetry__Proto__Collector__Trace__V1__ExportTracePartialSuccess ps =
            OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_PARTIAL_SUCCESS__INIT;
        ps.rejected_spans = rejected;
        ps.error_message = (char *)message;
        r.partial_success = &ps;
        return pack_append(&r.base, out);
    }
    case PT_SIGNAL_METRICS: {
        Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsServiceResponse r =
            OPENTELEMETRY__PROTO__COLLECTOR__METRICS__V1__EXPORT_METRICS_SERVICE_RESPONSE__INIT;
        Opentelemetry__Proto__Collector__Metrics__V1__ExportMetricsPartialSuccess ps =
            OPENTELEMETRY__PROTO__COLLECTOR__METRICS__V1__EXPORT_METRICS_PARTIAL_SUCCESS__INIT;
        ps.rejected_data_points = rejected;
        ps.error_message = (char *)message;
        r.partial_success = &ps;
        return pack_append(&r.base, out);
    }
    default: {
        Opentelemetry__Proto__Collector__Logs__V1__ExportLogsServiceResponse r =
            OPENTELEMETRY__PROTO__COLLECTOR__LOGS__V1__EXPORT_LOGS_SERVICE_RESPONSE__INIT;
        Opentelemetry__Proto__Collector__Logs__V1__ExportLogsPartialSuccess ps =
            OPENTELEMETRY__PROTO__COLLECTOR__LOGS__V1__EXPORT_LOGS_PARTIAL_SUCCESS__INIT;
        ps.rejected_log_records = rejected;
        ps.error_message = (char *)message;
        r.partial_success = &ps;
        return pack_append(&r.base, out);
    }
    }
}

int pt_otlp_encode_status(int json, int code, const char *message, uint32_t retry_delay_ms,
                          pt_buf_t *out)
{
    if (message == NULL) {
        message = "";
    }
    if (json) {
        pt_jw_t w;
        pt_jw_init(&w, out);
        pt_jw_obj_open(&w);
        pt_jw_key(&w, "code", 4);
        pt_jw_int(&w, code);
        pt_jw_key(&w, "message", 7);
        pt_jw_str(&w, message, strlen(message));
        if (retry_delay_ms > 0) {
            char d[32];
            int n =
                snprintf(d, sizeof(d), "%u.%03us", retry_delay_ms / 1000, retry_delay_ms % 1000);
            pt_jw_key(&w, "details", 7);
            pt_jw_arr_open(&w);
            pt_jw_obj_open(&w);
            pt_jw_key(&w, "@type", 5);
            pt_jw_str(&w, "type.googleapis.com/google.rpc.RetryInfo", 40);
            pt_jw_key(&w, "retryDelay", 10);
            pt_jw_str(&w, d, (size_t)n);
            pt_jw_obj_close(&w);
            pt_jw_arr_close(&w);
        }
        pt_jw_obj_close(&w);
        return w.err;
    }
    Google__Rpc__Status st = GOOGLE__RPC__STATUS__INIT;
    Google__Rpc__RetryInfo ri = GOOGLE__RPC__RETRY_INFO__INIT;
    Google__Protobuf__Duration dur = GOOGLE__PROTOBUF__DURATION__INIT;
    Google__Protobuf__Any any = GOOGLE__PROTOBUF__ANY__INIT;
    Google__Protobuf__Any *details[1] = {&any};
    uint8_t packed[32];

    st.code = code;
    st.message = (char *)message;
    if (retry_delay_ms > 0) {
        dur.seconds = retry_delay_ms / 1000;
        dur.nanos = (int32_t)(retry_delay_ms % 1000) * 1000000;
        ri.retry_delay = &dur;
        any.type_url = "type.googleapis.com/google.rpc.RetryInfo";
        any.value.len = google__rpc__retry_info__pack(&ri, packed);
        any.value.data = packed;
        st.n_details = 1;
        st.details = details;
    }
    return pack_append(&st.base, out);
}

/* ==================================================================== compression ======== */

int pt_otlp_encoding_parse(pt_str_t t)
{
    static const struct {
        const char *name;
        int enc;
    } names[] = {{"identity", PT_ENC_IDENTITY},
                 {"gzip", PT_ENC_GZIP},
                 {"x-gzip", PT_ENC_GZIP},
                 {"zstd", PT_ENC_ZSTD},
                 {"deflate", PT_ENC_DEFLATE}};
    if (t.len == 0) {
        return PT_ENC_IDENTITY;
    }
    for (size_t i = 0; i < PT_ARRAY_SIZE(names); i++) {
        size_t n = strlen(names[i].name);
        if (t.len == n && strncasecmp(t.ptr, names[i].name, n) == 0) {
            return names[i].enc;
        }
    }
    return -ENOTSUP;
}

/* Makes room for more output: doubles the buffer, never past max. 0, or -EMSGSIZE when the
 * output already fills max, or -ENOMEM. */
static int out_grow(pt_buf_t *out, size_t base, size_t max, size_t hint)
{
    size_t used = out->len - base;
    if (used >= max) {
        return -EMSGSIZE;
    }
    if (out->cap > out->len) {
        return 0;
    }
    size_t want = PT_MAX(used, PT_MAX(hint, (size_t)16384));
    want = PT_MIN(want, max - used);
    /* Exact growth (pt_buf_reserve rounds up to a power of two): the cap bounds memory. */
    char *p = pt_realloc(out->data, out->len + want);
    if (p == NULL) {
        return -ENOMEM;
    }
    out->data = p;
    out->cap = out->len + want;
    return 0;
}

static int inflate_bounded(const void *in, size_t len, size_t max, pt_buf_t *out)
{
    z_stream zs;
    size_t base = out->len;
    int rc = 0;

    memset(&zs, 0, sizeof(zs));
    /* 15 + 32: zlib or gzip wrapper, detected from the header ("deflate" senders use either). */
    if (inflateInit2(&zs, 15 + 32) != Z_OK) {
        return -ENOMEM;
    }
    zs.next_in = (Bytef *)in;
    /* zlib counts in uInt: feed at most 1 GiB at a time. */
    size_t left = len;
    for (;;) {
        if (zs.avail_in == 0 && left > 0) {
            zs.avail_in = (uInt)PT_MIN(left, (size_t)1 << 30);
            left -= zs.avail_in;
        }
        rc = out_grow(out, base, max, len * 4);
        if (rc == -EMSGSIZE) {
            /* Full: the body is acceptable only if the stream ends right here. */
            unsigned char probe;
            zs.next_out = &probe;
            zs.avail_out = 1;
            int zr = inflate(&zs, Z_NO_FLUSH);
            if (zr == Z_STREAM_END && zs.avail_out == 1) {
                rc = 0;
                goto stream_end;
            }
            if (zs.avail_out == 1) {
                rc = -EINVAL; /* no more output, no end either: truncated or corrupt */
            }
            goto done;
        }
        if (rc != 0) {
            goto done;
        }
        size_t room = PT_MIN(out->cap - out->len, max - (out->len - base));
        zs.next_out = (Bytef *)out->data + out->len;
        zs.avail_out = (uInt)PT_MIN(room, (size_t)1 << 30);
        uInt before = zs.avail_out;
        int zr = inflate(&zs, Z_NO_FLUSH);
        out->len += before - zs.avail_out;
        if (zr == Z_STREAM_END) {
            goto stream_end;
        }
        if (zr == Z_BUF_ERROR && zs.avail_in == 0 && left == 0) {
            rc = -EINVAL; /* truncated */
            goto done;
        }
        if (zr != Z_OK && zr != Z_BUF_ERROR) {
            rc = zr == Z_MEM_ERROR ? -ENOMEM : -EINVAL;
            goto done;
        }
        continue;
    stream_end:
        /* gzip allows several members back to back; anything else after the end is junk. */
        if (zs.avail_in == 0 && left == 0) {
            rc = 0;
            goto done;
        }
        if (zs.avail_in >= 2 && zs.next_in[0] == 0x1f && zs.next_in[1] == 0x8b) {
            inflateReset(&zs);
            continue;
        }
        rc = -EINVAL;
        goto done;
    }
done:
    inflateEnd(&zs);
    if (rc != 0) {
        out->len = base;
    }
    return rc;
}

/* Window cap for zstd frames: 8 MiB, the limit RFC 9659 sets for HTTP content coding, so a
 * frame cannot make us allocate a 2 GiB window. */
#define ZSTD_WINDOW_LOG_MAX 23

static int zstd_bounded(const void *in, size_t len, size_t max, pt_buf_t *out)
{
    ZSTD_DCtx *dc = ZSTD_createDCtx();
    ZSTD_inBuffer ib = {in, len, 0};
    size_t base = out->len;
    size_t last = 1; /* ZSTD_decompressStream's "more to do" hint; 0 at a frame end */
    int rc = 0;

    if (dc == NULL) {
        return -ENOMEM;
    }
    if (ZSTD_isError(ZSTD_DCtx_setParameter(dc, ZSTD_d_windowLogMax, ZSTD_WINDOW_LOG_MAX))) {
        rc = -ENOMEM;
        goto done;
    }
    while (ib.pos < ib.size || last != 0) {
        rc = out_grow(out, base, max, len * 4);
        if (rc == -EMSGSIZE) {
            unsigned char probe;
            ZSTD_outBuffer ob = {&probe, 1, 0};
            size_t zr = ZSTD_decompressStream(dc, &ob, &ib);
            if (!ZSTD_isError(zr) && ob.pos == 0 && zr == 0 && ib.pos == ib.size) {
                rc = 0;
            } else if (ob.pos == 0) {
                rc = -EINVAL; /* no more output, no end either: truncated or corrupt */
            }
            goto done;
        }
        if (rc != 0) {
            goto done;
        }
        size_t room = PT_MIN(out->cap - out->len, max - (out->len - base));
        ZSTD_outBuffer ob = {out->data + out->len, room, 0};
        size_t in_before = ib.pos;
        size_t zr = ZSTD_decompressStream(dc, &ob, &ib);
        out->len += ob.pos;
        if (ZSTD_isError(zr)) {
            rc = ZSTD_getErrorCode(zr) == ZSTD_error_memory_allocation ? -ENOMEM : -EINVAL;
            goto done;
        }
        last = zr;
        if (ob.pos == 0 && ib.pos == in_before && ib.pos == ib.size && zr != 0) {
            rc = -EINVAL; /* input ended inside a frame */
            goto done;
        }
    }
    rc = 0;
done:
    ZSTD_freeDCtx(dc);
    if (rc != 0) {
        out->len = base;
    }
    return rc;
}

int pt_otlp_decompress(pt_encoding_t enc, const void *in, size_t len, size_t max, pt_buf_t *out)
{
    switch (enc) {
    case PT_ENC_IDENTITY:
        if (len > max) {
            return -EMSGSIZE;
        }
        return pt_buf_append(out, in, len);
    case PT_ENC_GZIP:
    case PT_ENC_DEFLATE:
        return inflate_bounded(in, len, max, out);
    case PT_ENC_ZSTD:
        return zstd_bounded(in, len, max, out);
    default:
        return -ENOTSUP;
    }
}
