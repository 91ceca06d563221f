/* Tests for core/http_server.c over TLS: a real libuv loop and real TCP clients on 127.0.0.1
 * that speak TLS through core/tls.c (the client side), asserting the exact responses, that
 * keep-alive, pipelining, large bodies and late answers work as in plaintext, and that failed or
 * stalled handshakes close the connection and are counted. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>

#include "core/http_server.h"
#include "core/mem.h"
#include "core/metrics.h"
#include "core/tls.h"
#include "http_test_client.h"
#include "tls_test_certs.h"

/* ---- fixture ------------------------------------------------------------------------------ */

typedef struct fx_s {
    uv_loop_t loop;
    pt_http_server_t *srv;
    pt_tls_ctx_t *sctx;
    pt_tls_ctx_t *cctx;
    int port;
    int closed;
    int n_requests;
    int hold; /* answer from a timer instead of at once */
    uv_timer_t timer;
    pt_http_req_t *held;
} fx_t;

/* The answer says what arrived: method, path, body length and a checksum of the body. */
static void respond(pt_http_req_t *req)
{
    char out[256];
    uint32_t sum = 0;
    for (uint32_t i = 0; i < req->body.len; i++) {
        sum = sum * 31 + (uint8_t)req->body.ptr[i];
    }
    int n = snprintf(out, sizeof(out), "%.*s %.*s len=%u sum=%08x", (int)req->method.len,
                     req->method.ptr, (int)req->path.len, req->path.ptr, req->body.len, sum);
    assert_int_equal(pt_http_respond(req, 200, "text/plain", NULL, 0, out, (size_t)n), 0);
}

static void on_timer(uv_timer_t *t)
{
    fx_t *fx = t->data;
    pt_http_req_t *req = fx->held;
    fx->held = NULL;
    respond(req);
}

static void on_request(pt_http_req_t *req, void *ud)
{
    fx_t *fx = ud;
    fx->n_requests++;
    if (fx->hold) {
        assert_null(fx->held);
        fx->held = req;
        uv_timer_start(&fx->timer, on_timer, 50, 0);
        return;
    }
    respond(req);
}

static void fx_start(fx_t *fx, const char *name, uint32_t header_timeout_ms)
{
    pt_http_server_opts_t o;
    pt_tls_opts_t so = {
        .cert_file = path_of("server.pem"), .key_file = path_of("server.key"), .alpn = "http/1.1"};
    pt_tls_opts_t co = {.ca_file = path_of("ca.pem"), .alpn = "http/1.1"};
    pt_tls_error_t err;

    memset(fx, 0, sizeof(*fx));
    assert_int_equal(uv_loop_init(&fx->loop), 0);
    uv_timer_init(&fx->loop, &fx->timer);
    fx->timer.data = fx;
    assert_int_equal(pt_tls_ctx_create_server(&so, &fx->sctx, &err), 0);
    assert_int_equal(pt_tls_ctx_create_client(&co, &fx->cctx, &err), 0);
    pt_http_server_opts_init(&o);
    o.name = name;
    o.tls = fx->sctx;
    o.header_timeout_ms = header_timeout_ms;
    assert_int_equal(pt_http_server_create(&fx->loop, &o, on_request, fx, &fx->srv), 0);
    /* The server holds its own reference. */
    pt_tls_ctx_destroy(fx->sctx);
    fx->port = pt_http_server_port(fx->srv);
    assert_true(fx->port > 0);
}

static void on_server_closed(pt_http_server_t *srv, void *ud)
{
    fx_t *fx = ud;
    (void)srv;
    fx->closed = 1;
}

static void fx_stop(fx_t *fx)
{
    pt_http_server_close(fx->srv, on_server_closed, fx);
    assert_true(tc_spin_until(&fx->loop, &fx->closed, TC_TIMEOUT_MS));
    uv_close((uv_handle_t *)&fx->timer, NULL);
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&fx->loop), 0);
    pt_tls_ctx_destroy(fx->cctx);
}

static long long metric_value(const char *series)
{
    pt_buf_t b;
    long long v = -1;
    pt_buf_init(&b);
    assert_int_equal(pt_metrics_render(&b), 0);
    assert_int_equal(pt_buf_putc(&b, '\0'), 0);
    for (char *line = b.data; line != NULL && *line != '\0';) {
        char *nl = strchr(line, '\n');
        size_t n = strlen(series);
        if (strncmp(line, series, n) == 0 && line[n] == ' ') {
            v = strtoll(line + n + 1, NULL, 10);
        }
        line = nl ? nl + 1 : NULL;
    }
    pt_buf_free(&b);
    return v;
}

/* ---- a TLS client ------------------------------------------------------------------------- */

typedef struct tlsc_s {
    tc_client_t tc;
    pt_tls_t *t;
    pt_buf_t in; /* plaintext received */
    int rc;      /* 0, or how the TLS stream ended (-EPIPE close_notify, -EPROTO) */
    int eof;     /* the socket reached EOF */
} tlsc_t;

/* Sends what TLS has for the server, reads what the socket has, and decrypts it. */
static void tlsc_pump(tlsc_t *c)
{
    static char buf[1 << 16];
    size_t n;

    while ((n = pt_tls_out_read(c->t, buf, sizeof(buf))) > 0) {
        if (tc_send_n(&c->tc, buf, n) != 0) {
            c->eof = 1;
            return;
        }
    }
    for (;;) {
        ssize_t r = recv(c->tc.fd, buf, sizeof(buf), 0);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
            c->eof = 1;
            break;
        }
        if (r < 0) {
            break;
        }
        assert_int_equal(pt_tls_feed(c->t, buf, (size_t)r), 0);
    }
    while (c->rc == 0) {
        int rc = pt_tls_read(c->t, buf, sizeof(buf), &n);
        if (rc == 0) {
            assert_int_equal(pt_buf_append(&c->in, buf, n), 0);
            continue;
        }
        if (rc != PT_AGAIN) {
            c->rc = rc;
        }
        break;
    }
}

static void tlsc_spin(tlsc_t *c, uv_loop_t *loop)
{
    uv_run(loop, UV_RUN_NOWAIT);
    tlsc_pump(c);
    poll(NULL, 0, 1);
}

static int tlsc_connect(tlsc_t *c, fx_t *fx, pt_tls_ctx_t *ctx)
{
    uint64_t end = tc_now_ms() + TC_TIMEOUT_MS;

    memset(c, 0, sizeof(*c));
    pt_buf_init(&c->in);
    assert_int_equal(tc_connect(&c->tc, &fx->loop, fx->port), 0);
    assert_int_equal(pt_tls_create(ctx, "127.0.0.1", &c->t), 0);
    assert_int_equal(pt_tls_handshake(c->t), PT_AGAIN);
    while (!pt_tls_is_ready(c->t) && c->rc == 0 && !c->eof && tc_now_ms() < end) {
        tlsc_spin(c, &fx->loop);
        if (!pt_tls_is_ready(c->t) && c->rc == 0) {
            int rc = pt_tls_handshake(c->t);
            if (rc != 0 && rc != PT_AGAIN) {
                c->rc = rc;
            }
        }
    }
    return pt_tls_is_ready(c->t) ? 0 : -1;
}

static void tlsc_send(tlsc_t *c, const void *data, size_t len)
{
    assert_int_equal(pt_tls_write(c->t, data, len), 0);
    tlsc_pump(c);
}

/* One complete response (Content-Length framing) off the front of c->in, or NULL. */
static char *tlsc_take(tlsc_t *c)
{
    const char *end = c->in.len > 0 ? memmem(c->in.data, c->in.len, "\r\n\r\n", 4) : NULL;
    size_t head, body = 0, n;
    char *r;

    if (end == NULL) {
        return NULL;
    }
    head = (size_t)(end - c->in.data) + 4;
    for (const char *p = c->in.data; p < end; p++) {
        if ((p == c->in.data || p[-1] == '\n') && strncasecmp(p, "content-length:", 15) == 0) {
            body = strtoul(p + 15, NULL, 10);
        }
    }
    if (c->in.len < head + body) {
        return NULL;
    }
    n = head + body;
    r = malloc(n + 1);
    memcpy(r, c->in.data, n);
    r[n] = '\0';
    memmove(c->in.data, c->in.data + n, c->in.len - n);
    c->in.len -= n;
    return r;
}

static char *tlsc_response(tlsc_t *c, uv_loop_t *loop)
{
    uint64_t end = tc_now_ms() + TC_TIMEOUT_MS;
    char *r;

    while ((r = tlsc_take(c)) == NULL && !c->eof && tc_now_ms() < end) {
        tlsc_spin(c, loop);
    }
    return r;
}

/* Runs until the server closes the connection (or the timeout); returns whether it did. */
static int tlsc_wait_eof(tlsc_t *c, uv_loop_t *loop, unsigned ms)
{
    uint64_t end = tc_now_ms() + ms;
    while (!c->eof && tc_now_ms() < end) {
        tlsc_spin(c, loop);
    }
    return c->eof;
}

static void tlsc_close(tlsc_t *c)
{
    pt_tls_destroy(c->t);
    pt_buf_free(&c->in);
    tc_close(&c->tc);
}

static void expect_response(tlsc_t *c, uv_loop_t *loop, const char *body, const char *extra)
{
    char want[512];
    char *r = tlsc_response(c, loop);
    snprintf(want, sizeof(want),
             "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n%s\r\n%s",
             strlen(body), extra, body);
    assert_non_null(r);
    assert_string_equal(r, want);
    free(r);
}

/* ---- tests -------------------------------------------------------------------------------- */

static void test_keepalive_and_pipelining(void **state)
{
    static const char three[] = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
                                "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
                                "GET /c HTTP/1.1\r\nHost: x\r\n\r\n";
    fx_t fx;
    tlsc_t c;

    PT_UNUSED(state);
    fx_start(&fx, "t_tls_keepalive", 0);
    assert_int_equal(tlsc_connect(&c, &fx, fx.cctx), 0);
    assert_string_equal(pt_tls_alpn(c.t), "http/1.1");
    tlsc_send(&c, "GET /one HTTP/1.1\r\nHost: x\r\n\r\n", 30);
    expect_response(&c, &fx.loop, "GET /one len=0 sum=00000000", "");
    /* Three pipelined requests in one TLS record: three answers in order. */
    tlsc_send(&c, three, sizeof(three) - 1);
    expect_response(&c, &fx.loop, "GET /a len=0 sum=00000000", "");
    expect_response(&c, &fx.loop, "POST /b len=3 sum=00017862", "");
    expect_response(&c, &fx.loop, "GET /c len=0 sum=00000000", "");
    assert_int_equal(fx.n_requests, 4);
    assert_int_equal(metric_value("petrel_http_connections_accepted_total{server=\"t_tls_"
                                  "keepalive\"}"),
                     1);
    /* A late answer (from a timer) works as in plaintext. */
    fx.hold = 1;
    tlsc_send(&c, "GET /late HTTP/1.1\r\nHost: x\r\n\r\n", 31);
    expect_response(&c, &fx.loop, "GET /late len=0 sum=00000000", "");
    /* Connection: close: the answer, then close_notify and the FIN. */
    fx.hold = 0;
    tlsc_send(&c, "GET /bye HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 49);
    expect_response(&c, &fx.loop, "GET /bye len=0 sum=00000000", "Connection: close\r\n");
    assert_true(tlsc_wait_eof(&c, &fx.loop, TC_TIMEOUT_MS));
    assert_int_equal(c.rc, -EPIPE);
    assert_int_equal(metric_value("petrel_http_tls_handshake_failures_total{server=\"t_tls_"
                                  "keepalive\"}"),
                     0);
    tlsc_close(&c);
    fx_stop(&fx);
}

static void test_large_body(void **state)
{
    size_t len = 8u << 20;
    char head[128];
    char want[128];
    char *body = malloc(len);
    uint32_t sum = 0;
    fx_t fx;
    tlsc_t c;

    PT_UNUSED(state);
    assert_non_null(body);
    for (size_t i = 0; i < len; i++) {
        body[i] = (char)(i % 251);
        sum = sum * 31 + (uint8_t)body[i];
    }
    fx_start(&fx, "t_tls_large", 0);
    assert_int_equal(tlsc_connect(&c, &fx, fx.cctx), 0);
    /* Twice on one connection: the second one follows the first in the same stream. */
    for (int i = 0; i < 2; i++) {
        int n = snprintf(head, sizeof(head),
                         "POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n", len);
        assert_int_equal(pt_tls_write(c.t, head, (size_t)n), 0);
        assert_int_equal(pt_tls_write(c.t, body, len), 0);
    }
    snprintf(want, sizeof(want), "POST /big len=%zu sum=%08x", len, sum);
    tlsc_pump(&c);
    expect_response(&c, &fx.loop, want, "");
    expect_response(&c, &fx.loop, want, "");
    tlsc_close(&c);
    free(body);
    fx_stop(&fx);
}

static void test_handshake_failures(void **state)
{
    static const char plain[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    pt_tls_opts_t co = {.ca_file = path_of("other-ca.pem")};
    pt_tls_ctx_t *untrusting;
    pt_tls_error_t err;
    tc_client_t p;
    tlsc_t c;
    fx_t fx;
    char *r;

    PT_UNUSED(state);
    fx_start(&fx, "t_tls_fail", 300);
    /* Plaintext HTTP: no answer, the connection closed, one failure. */
    assert_int_equal(tc_connect(&p, &fx.loop, fx.port), 0);
    assert_int_equal(tc_send(&p, plain), 0);
    r = tc_read_response(&p);
    assert_null(r);
    tc_close(&p);
    assert_int_equal(metric_value("petrel_http_tls_handshake_failures_total{server=\"t_tls_"
                                  "fail\"}"),
                     1);
    /* A client that does not trust the certificate: its alert ends the handshake. */
    assert_int_equal(pt_tls_ctx_create_client(&co, &untrusting, &err), 0);
    assert_int_not_equal(tlsc_connect(&c, &fx, untrusting), 0);
    assert_string_equal(pt_tls_error_text(c.t),
                        "certificate verify failed: unable to get local issuer certificate");
    tlsc_pump(&c);
    tlsc_close(&c);
    tc_spin(&fx.loop, 50);
    assert_int_equal(metric_value("petrel_http_tls_handshake_failures_total{server=\"t_tls_"
                                  "fail\"}"),
                     2);
    pt_tls_ctx_destroy(untrusting);
    /* A client that says nothing is closed when the header timeout (300 ms) runs out. */
    assert_int_equal(tc_connect(&p, &fx.loop, fx.port), 0);
    uint64_t t0 = tc_now_ms();
    assert_null(tc_read_response(&p));
    assert_true(tc_now_ms() - t0 >= 250);
    tc_close(&p);
    assert_int_equal(metric_value("petrel_http_tls_handshake_failures_total{server=\"t_tls_"
                                  "fail\"}"),
                     3);
    /* And the server still serves. */
    assert_int_equal(tlsc_connect(&c, &fx, fx.cctx), 0);
    tlsc_send(&c, "GET /ok HTTP/1.1\r\nHost: x\r\n\r\n", 29);
    expect_response(&c, &fx.loop, "GET /ok len=0 sum=00000000", "");
    tlsc_close(&c);
    fx_stop(&fx);
}

/* The server closes while one connection is mid-handshake and another has a request with the
 * handler: the first goes at once, the second after its answer. */
static void test_close_with_tls_connections(void **state)
{
    fx_t fx;
    tlsc_t c;
    tc_client_t p;

    PT_UNUSED(state);
    fx_start(&fx, "t_tls_close", 0);
    assert_int_equal(tc_connect(&p, &fx.loop, fx.port), 0);
    assert_int_equal(tc_send_n(&p, "\x16\x03\x01\x00", 4), 0);
    assert_int_equal(tlsc_connect(&c, &fx, fx.cctx), 0);
    fx.hold = 1;
    tlsc_send(&c, "GET /held HTTP/1.1\r\nHost: x\r\n\r\n", 31);
    while (fx.n_requests == 0) {
        tlsc_spin(&c, &fx.loop);
    }
    pt_http_server_close(fx.srv, on_server_closed, &fx);
    expect_response(&c, &fx.loop, "GET /held len=0 sum=00000000", "Connection: close\r\n");
    assert_true(tc_spin_until(&fx.loop, &fx.closed, TC_TIMEOUT_MS));
    assert_null(tc_read_response(&p));
    tc_close(&p);
    tlsc_close(&c);
    uv_close((uv_handle_t *)&fx.timer, NULL);
    uv_run(&fx.loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&fx.loop), 0);
    pt_tls_ctx_destroy(fx.cctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keepalive_and_pipelining),
        cmocka_unit_test(test_large_body),
        cmocka_unit_test(test_handshake_failures),
        cmocka_unit_test(test_close_with_tls_connections),
    };
    return cmocka_run_group_tests(tests, setup_certs, teardown_certs);
}
