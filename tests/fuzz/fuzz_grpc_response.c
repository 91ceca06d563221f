/* libFuzzer target for flusher_otlp's gRPC client (flushers/flusher_otlp/grpc_client.c): what a
 * server sends back. The input is a little program that builds the server's byte stream (its
 * SETTINGS first, then HPACK-encoded response HEADERS and trailers with fuzzed :status,
 * content-type, grpc-status, grpc-message, grpc-status-details-bin (base64 of fuzzed bytes, so
 * that the google.rpc.Status / RetryInfo decoding is reached) and grpc-encoding, DATA with a
 * fuzzed message prefix, RST_STREAM, GOAWAY, SETTINGS, WINDOW_UPDATE and raw bytes), which is
 * replayed into one call of a client without a socket. The call must end exactly once with a
 * known status. The answer helpers (response unframing with gzip/deflate, percent-decoding,
 * RetryInfo) are fed the raw input too.
 * Run: fuzz_grpc_response corpus/ (a scratch dir; seeds are made by the first runs). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <nghttp2/nghttp2.h>

#include "core/common.h"
#include "core/proto/otlp.h"
#include "core/str.h"
#include "flushers/flusher_otlp/grpc_client_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    const uint8_t *p;
    size_t n;
} rd_t;

static uint8_t take(rd_t *r)
{
    if (r->n == 0) {
        return 0;
    }
    r->n--;
    return *r->p++;
}

static size_t take_bytes(rd_t *r, size_t want, const uint8_t **out)
{
    size_t n = PT_MIN(want, r->n);
    *out = r->p;
    r->p += n;
    r->n -= n;
    return n;
}

static void frame_hdr(pt_buf_t *b, size_t len, uint8_t type, uint8_t flags, uint32_t id)
{
    uint8_t h[9] = {
        (uint8_t)(len >> 16), (uint8_t)(len >> 8), (uint8_t)len,       type,       flags,
        (uint8_t)(id >> 24),  (uint8_t)(id >> 16), (uint8_t)(id >> 8), (uint8_t)id};
    pt_buf_append(b, h, sizeof(h));
}

static void u32be(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* A HEADERS frame on stream 1 with fields picked by the input. */
static void headers(rd_t *r, nghttp2_hd_deflater *hd, pt_buf_t *out, int trailers)
{
    static const char *const statuses[] = {"200", "503", "404", "429", "200x", "abc"};
    static const char *const ctypes[] = {"application/grpc", "application/grpc+proto", "text/html",
                                         "application/grpcx", "application/grpc;a=b"};
    static const char *const encs[] = {"gzip", "deflate", "identity", "zstd", ""};
    nghttp2_nv nv[8];
    size_t n = 0;
    char st[16];
    char msg[64];
    char details[700];
    uint8_t want = take(r);
    const uint8_t *raw;

/* v is evaluated once: it may consume input. */
#define ADD(k, v)                                                                                  \
    do {                                                                                           \
        const char *v_ = (v);                                                                      \
        nv[n++] = (nghttp2_nv){(uint8_t *)(k), (uint8_t *)v_, strlen(k), strlen(v_), 0};           \
    } while (0)
    if (!trailers || (want & 1)) {
        ADD(":status", statuses[take(r) % PT_ARRAY_SIZE(statuses)]);
        ADD("content-type", ctypes[take(r) % PT_ARRAY_SIZE(ctypes)]);
    }
    if (want & 2) {
        uint8_t v = take(r);
        snprintf(st, sizeof(st), v < 200 ? "%u" : "x%u", v % 20);
        ADD("grpc-status", st);
    }
    if (want & 4) {
        size_t len = take_bytes(r, take(r) % 48, &raw);
        for (size_t i = 0; i < len; i++) {
            msg[i] = raw[i] >= 0x20 && raw[i] < 0x7f ? (char)raw[i] : '%';
        }
        msg[len] = '\0';
        ADD("grpc-message", msg);
    }
    if (want & 8) {
        size_t len = take_bytes(r, take(r) * 2u, &raw);
        details[pt_otlp_b64_encode(raw, len, details, want & 0x40)] = '\0';
        ADD("grpc-status-details-bin", details);
    }
    if (want & 16) {
        ADD("grpc-encoding", encs[take(r) % PT_ARRAY_SIZE(encs)]);
    }
    if (want & 32) {
        ADD("retry-after", "3");
    }
#undef ADD
    uint8_t block[2048];
    ssize_t len = nghttp2_hd_deflate_hd(hd, block, sizeof(block), nv, n);
    if (len < 0) {
        return;
    }
    frame_hdr(out, (size_t)len, NGHTTP2_HEADERS,
              NGHTTP2_FLAG_END_HEADERS | (trailers || (want & 0x80) ? NGHTTP2_FLAG_END_STREAM : 0),
              1);
    pt_buf_append(out, block, (size_t)len);
}

static void build(rd_t *r, pt_buf_t *out)
{
    nghttp2_hd_deflater *hd;
    uint8_t p[16];
    const uint8_t *raw;
    if (nghttp2_hd_deflate_new(&hd, 4096) != 0) {
        return;
    }
    frame_hdr(out, 0, NGHTTP2_SETTINGS, 0, 0); /* the server's preface */
    for (int ops = 0; r->n > 0 && ops < 64; ops++) {
        uint8_t op = take(r);
        switch (op % 9) {
        case 0: { /* raw bytes */
            size_t len = take_bytes(r, take(r), &raw);
            pt_buf_append(out, raw, len);
            break;
        }
        case 1:
            headers(r, hd, out, 0);
            break;
        case 2: { /* DATA: a message prefix whose flag and length are fuzzed, then bytes */
            uint8_t pre[5] = {(uint8_t)(take(r) % 3), 0, 0, take(r), take(r)};
            size_t len = take_bytes(r, take(r), &raw);
            frame_hdr(out, 5 + len, NGHTTP2_DATA, op & 0x80 ? NGHTTP2_FLAG_END_STREAM : 0, 1);
            pt_buf_append(out, pre, sizeof(pre));
            pt_buf_append(out, raw, len);
            break;
        }
        case 3:
            headers(r, hd, out, 1);
            break;
        case 4: /* RST_STREAM */
            u32be(p, take(r) % 14);
            frame_hdr(out, 4, NGHTTP2_RST_STREAM, 0, 1);
            pt_buf_append(out, p, 4);
            break;
        case 5: /* GOAWAY, last stream 0 or 1 */
            u32be(p, take(r) & 1);
            u32be(p + 4, take(r) % 14);
            frame_hdr(out, 8, NGHTTP2_GOAWAY, 0, 0);
            pt_buf_append(out, p, 8);
            break;
        case 6: /* SETTINGS: MAX_CONCURRENT_STREAMS, or an ACK */
            if (op & 0x80) {
                frame_hdr(out, 0, NGHTTP2_SETTINGS, NGHTTP2_FLAG_ACK, 0);
            } else {
                p[0] = 0;
                p[1] = NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS;
                u32be(p + 2, take(r) % 4);
                frame_hdr(out, 6, NGHTTP2_SETTINGS, 0, 0);
                pt_buf_append(out, p, 6);
            }
            break;
        case 7: /* WINDOW_UPDATE on the connection or the stream */
            u32be(p, (uint32_t)take(r) << 8 | 1);
            frame_hdr(out, 4, NGHTTP2_WINDOW_UPDATE, 0, op & 0x80 ? 1 : 0);
            pt_buf_append(out, p, 4);
            break;
        default: /* PING */
            memset(p, op, 8);
            frame_hdr(out, 8, NGHTTP2_PING, op & 0x80 ? NGHTTP2_FLAG_ACK : 0, 0);
            pt_buf_append(out, p, 8);
            break;
        }
    }
    nghttp2_hd_deflate_del(hd);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    rd_t r = {data, size};
    pt_buf_t stream;
    pt_buf_t scratch;
    const uint8_t *msg;
    size_t mlen;
    char text[256];

    /* The whole exchange through the client. */
    pt_buf_init(&stream);
    build(&r, &stream);
    int st = otlp_grpc_fuzz_replay((const uint8_t *)stream.data, stream.len);
    PT_ASSERT(st == 0 || st == PT_RETRY || st == -EBADMSG);
    pt_buf_free(&stream);

    /* The same bytes as raw server input (no preface: the client must refuse it cleanly). */
    st = otlp_grpc_fuzz_replay(data, size);
    PT_ASSERT(st == 0 || st == PT_RETRY || st == -EBADMSG);

    /* The helpers on their own. */
    static const char *const encs[] = {"gzip", "deflate", "identity", NULL};
    for (size_t i = 0; i < PT_ARRAY_SIZE(encs); i++) {
        pt_buf_init(&scratch);
        if (otlp_grpc_unframe(data, size, encs[i], &scratch, &msg, &mlen) == 0) {
            PT_ASSERT(mlen == 0 || (msg >= data && msg + mlen <= data + size) ||
                      (msg >= (const uint8_t *)scratch.data &&
                       msg + mlen <= (const uint8_t *)scratch.data + scratch.len));
        }
        pt_buf_free(&scratch);
    }
    otlp_grpc_percent_decode((const char *)data, size, text, sizeof(text));
    PT_ASSERT(strlen(text) < sizeof(text));
    char *s = malloc(size + 1);
    if (s != NULL) {
        memcpy(s, data, size);
        s[size] = '\0';
        (void)otlp_grpc_retry_info_ms(s);
        free(s);
    }
    return 0;
}
