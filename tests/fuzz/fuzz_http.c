/* libFuzzer target for the HTTP/1.1 server: arbitrary bytes arrive as a client's stream on one
 * connection, cut into reads of varying size, through the same state machine a socket feeds.
 * The first bytes pick limits, how the handler answers and which allocation starts failing, so
 * the fuzzer reaches 413, 431, 408, pipelining, answers held across reads, answers to a
 * connection that is gone, and every out-of-memory exit. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/http_server.h"
#include "core/http_server_internal.h"
#include "core/log.h"
#include "core/mem.h"

/* Allocations left before they all fail; negative: never fail. */
static long alloc_budget = -1;

static int alloc_ok(void)
{
    if (alloc_budget == 0) {
        return 0;
    }
    if (alloc_budget > 0) {
        alloc_budget--;
    }
    return 1;
}

static void *fz_malloc(size_t n)
{
    return alloc_ok() ? malloc(n) : NULL;
}

static void *fz_realloc(void *p, size_t n)
{
    return alloc_ok() ? realloc(p, n) : NULL;
}

static void *fz_calloc(size_t n, size_t m)
{
    return alloc_ok() ? calloc(n, m) : NULL;
}

typedef struct fuzz_ctx_s {
    uint8_t mode;
    pt_http_req_t *held;
    unsigned requests;
} fuzz_ctx_t;

/* Touches every byte of every view, so ASan flags one that points at freed or poisoned memory
 * (the shared read buffer is overwritten after each read). */
static unsigned touch(pt_str_t s)
{
    unsigned sum = 0;
    for (uint32_t i = 0; i < s.len; i++) {
        sum += (unsigned char)s.ptr[i];
    }
    return sum;
}

static void answer(fuzz_ctx_t *ctx, pt_http_req_t *req)
{
    static const pt_str_t ok_hdr[] = {PT_STR_LIT("X-Fuzz"), PT_STR_LIT("1")};
    static const pt_str_t bad_hdr[] = {PT_STR_LIT("X Bad"), PT_STR_LIT("v")};
    static const pt_str_t close_hdr[] = {PT_STR_LIT("Connection"), PT_STR_LIT("close")};
    unsigned sum = touch(req->method) + touch(req->path) + touch(req->query) + touch(req->body);
    size_t n = pt_http_req_header_count(req);
    int status = 200 + (int)(ctx->requests % 5) * 100;

    for (size_t i = 0; i < n; i++) {
        pt_str_t name;
        pt_str_t value;
        if (pt_http_req_header_at(req, i, &name, &value) == 0) {
            sum += touch(name) + touch(value);
        }
    }
    sum += touch(pt_http_req_header(req, "content-type"));
    sum += (unsigned)strlen(pt_http_req_peer(req));
    ctx->requests++;
    switch ((ctx->mode >> 2) & 3) {
    case 0:
        pt_http_respond(req, status, "text/plain", ok_hdr, 1, req->body.ptr, req->body.len);
        break;
    case 1:
        pt_http_respond(req, (sum & 1) ? 204 : 304, NULL, NULL, 0, NULL, 0);
        break;
    case 2:
        pt_http_respond(req, 200, NULL, (sum & 1) ? bad_hdr : close_hdr, 1, "x", 1);
        break;
    default:
        pt_http_respond(req, 99 + (int)(sum % 3) * 500, NULL, NULL, 0, NULL, 0);
        break;
    }
}

static void on_request(pt_http_req_t *req, void *ud)
{
    fuzz_ctx_t *ctx = ud;
    /* Mode bits 0-1: answer now, hold until the next read (a timer's answer), or hold until
     * after the connection is gone. */
    if ((ctx->mode & 3) == 0 || ctx->held != NULL) {
        answer(ctx, req);
    } else {
        ctx->held = req;
    }
}

static void on_tick(void *ud)
{
    fuzz_ctx_t *ctx = ud;
    if (ctx->held != NULL && (ctx->mode & 3) == 1) {
        pt_http_req_t *req = ctx->held;
        ctx->held = NULL;
        answer(ctx, req);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pt_http_server_opts_t o;
    fuzz_ctx_t ctx = {0};
    pt_buf_t out;
    size_t chunk;

    static int installed;
    int rc;

    if (size < 4) {
        return 0;
    }
    if (!installed) {
        pt_replace_allocator(fz_malloc, fz_realloc, fz_calloc, free);
        installed = 1;
    }
    pt_log_set_level(PT_LOG_ERROR);
    pt_http_server_opts_init(&o);
    /* Bits 4-6 of the first byte: 0 never fails, else fail from the (k * 3 - 2)th allocation. */
    alloc_budget = (data[0] >> 4) & 7 ? (long)((data[0] >> 4) & 7) * 3 - 3 : -1;
    ctx.mode = data[0];
    chunk = data[1] & 0x80 ? 0 : (size_t)data[1] + 1;
    o.max_body_size = data[2] & 0x80 ? 0 : (size_t)(data[2] & 0x7f) * 16 + 1;
    o.max_header_size = data[3] & 0x80 ? 0 : (size_t)(data[3] & 0x7f) * 8 + 1;
    o.max_headers = (data[3] & 0x40) ? 3 : 0;
    pt_buf_init(&out);
    rc = pt_http__feed(&o, data + 4, size - 4, chunk, (data[0] & 0x80) != 0, on_request, on_tick,
                       &ctx, &out);
    if (rc != 0 && !(rc == -ENOMEM && alloc_budget >= 0)) {
        abort();
    }
    /* Whatever came in, what goes out is HTTP/1.1 responses. */
    if (out.len > 0 && (out.len < 12 || memcmp(out.data, "HTTP/1.1 ", 9) != 0)) {
        abort();
    }
    if (ctx.held != NULL) {
        /* The connection is gone: the held request must still be answerable, and freed. */
        if (pt_http_respond(ctx.held, 200, NULL, NULL, 0, "late", 4) != -ENOTCONN) {
            abort();
        }
    }
    pt_buf_free(&out);
    alloc_budget = -1;
    return 0;
}
