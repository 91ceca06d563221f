/* Tests for core/http_server.c: a real libuv loop and real TCP clients on 127.0.0.1, asserting
 * the exact bytes that come back, plus the socket-free feed hook. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdint.h>

#include "core/http_server.h"
#include "core/http_server_internal.h"
#include "core/mem.h"
#include "core/metrics.h"
#include "http_test_client.h"

/* ---- fixture ------------------------------------------------------------------------------ */

typedef enum { MODE_ECHO, MODE_ASYNC, MODE_HOLD } mode_t_;

typedef struct fx_s {
    uv_loop_t loop;
    pt_http_server_t *srv;
    int port;
    int closed;
    mode_t_ mode;
    int n_requests;
    pt_http_req_t *held;
    char last_peer[64];
    int last_rc;
    int async_done;
} fx_t;

typedef struct async_s {
    uv_timer_t timer;
    pt_http_req_t *req;
    fx_t *fx;
} async_t;

/* The echo answer: everything the handler saw, so one assertion checks the whole request. */
static int respond_echo(pt_http_req_t *req)
{
    static const pt_str_t extra[] = {PT_STR_LIT("X-Echo"), PT_STR_LIT("1")};
    pt_str_t x = pt_http_req_header(req, "x-test");
    char out[8192];
    int n =
        snprintf(out, sizeof(out), "%.*s %.*s q=%.*s x=%.*s b=%.*s", (int)req->method.len,
                 req->method.ptr, (int)req->path.len, req->path.ptr, (int)req->query.len,
                 req->query.ptr, (int)x.len, x.ptr ? x.ptr : "", (int)req->body.len, req->body.ptr);
    return pt_http_respond(req, 200, "text/plain", extra, 1, out, (size_t)n);
}

static void on_async_closed(uv_handle_t *h)
{
    pt_free(h->data);
}

static void on_async_timer(uv_timer_t *t)
{
    async_t *a = t->data;
    a->fx->last_rc = respond_echo(a->req);
    a->fx->async_done++;
    uv_close((uv_handle_t *)&a->timer, on_async_closed);
}

static void on_request(pt_http_req_t *req, void *ud)
{
    fx_t *fx = ud;
    fx->n_requests++;
    snprintf(fx->last_peer, sizeof(fx->last_peer), "%s", pt_http_req_peer(req));
    if (fx->mode == MODE_ECHO) {
        fx->last_rc = respond_echo(req);
    } else if (fx->mode == MODE_HOLD) {
        assert_null(fx->held);
        fx->held = req;
    } else {
        /* Answer from a timer after X-Delay ms: the asynchronous path the OTLP receiver takes. */
        pt_str_t d = pt_http_req_header(req, "x-delay");
        async_t *a = pt_calloc(1, sizeof(*a));
        assert_non_null(a);
        a->req = req;
        a->fx = fx;
        uv_timer_init(&fx->loop, &a->timer);
        a->timer.data = a;
        uv_timer_start(&a->timer, on_async_timer, d.ptr ? strtoul(d.ptr, NULL, 10) : 10, 0);
    }
}

static void fx_start_opts(fx_t *fx, pt_http_server_opts_t *o)
{
    memset(fx, 0, sizeof(*fx));
    assert_int_equal(uv_loop_init(&fx->loop), 0);
    assert_int_equal(pt_http_server_create(&fx->loop, o, on_request, fx, &fx->srv), 0);
    fx->port = pt_http_server_port(fx->srv);
    assert_true(fx->port > 0);
}

static void fx_start(fx_t *fx, const char *name)
{
    pt_http_server_opts_t o;
    pt_http_server_opts_init(&o);
    o.name = name;
    fx_start_opts(fx, &o);
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
    uv_run(&fx->loop, UV_RUN_DEFAULT);
    /* Every handle closed and freed: uv_loop_close fails with EBUSY otherwise. */
    assert_int_equal(uv_loop_close(&fx->loop), 0);
}

/* Renders the registry and returns the value of one exact series, or -1 when absent. */
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

static void expect_response(tc_client_t *c, const char *want)
{
    char *r = tc_read_response(c);
    assert_non_null(r);
    assert_string_equal(r, want);
    free(r);
}

/* ---- basic requests ----------------------------------------------------------------------- */

static void test_get(void **state)
{
    fx_t fx;
    tc_client_t c;
    (void)state;

    fx_start(&fx, "t_get");
    assert_int_equal(tc_connect(&c, &fx.loop, fx.port), 0);
    assert_int_equal(tc_send(&c, "GET /hello?a=1&b=2 HTTP/1.1\r\nHost: x\r\nX-Test: abc\r\n\r\n"),
                     0);
    expect_response(&c, "HTTP/1.1 200 OK\r\n"
                        "Content-Type: text/plain\r\n"
                        "Content-Length: 29\r\n"
                        "X-Echo: 1\r\n"
                        "\r\n"
                        "GET /hello q=a=1&b=2 x=abc b=");
    assert_int_equal(fx.last_rc, 0);
    assert_int_equal(strncmp(fx.last_peer, "127.0.0.1:", 10), 0);
    tc_close(&c);
    fx_stop(&fx);
}

static void test_post_content_length(void **state)
{
    fx_t fx;
    tc_client_t c;
    (void)state;

    fx_start(&fx, "t_post");
    assert_int_equal(tc_connect(&c, &fx.loop, fx.port), 0);
    /* Headers and body split over several sends, with the loop running in between. */
    assert_int_equal(tc_send(&c, "POST /v1/traces HTTP/1.1\r\nHost: x\r\nContent-Le"), 0);
    tc_spin(&fx.loop, 10);
    assert_int_equal(tc_send(&c, "ngth: 11\r\nContent-Type: application/x-protobuf\r\n\r\nhel"), 0);
    tc_spin(&fx.loop, 10);
    assert_int_equal(tc_send(&c, "lo world"), 0);
    expect_response(&c, "HTTP/1.1 200 OK\r\n"
                        "Content-Type: text/plain\r\n"
                        "Content-Length: 35\r\n"
                        "X-Echo: 1\r\n"
                        "\r\n"
                        "POST /v1/traces q= x= b=hello world");
    tc_close(&c);
    fx_stop(&fx);
}

static void test_chunked(void **state)
{
    fx_t fx;
    tc_client_t c;
    (void)state;

    fx_start(&fx, "t_chunked");
    assert_int_equal(tc_connect(&c, &fx.loop, fx.port), 0);
    assert_int_equal(tc_send(&c, "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                                 "\r\n5\r\nhel"),
                     0);
    tc_spin(&fx.loop, 10);
    assert_int_equal(tc_send(&c, "lo\r\n6;ext=1\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n"), 0);
    expect_response(&c, "HTTP/1.1 200 OK\r\n"
                        "Content-Type: text/plain\r\n"
                        "Content-Length: 27\r\n"
                        "X-Echo: 1\r\n"
                        "\r\n"
                        "POST /c q= x= b=hello world");
    tc_close(&c);
    fx_stop(&fx);
}

static void test_keepalive(void **state)
{
    fx_t fx;
    tc_client_t c;
    (void)state;

    fx_start(&fx, "t_keepalive");
    assert_int_equal(tc_connect(&c, &fx.loop, fx.port), 0);
    assert_int_equal(tc_send(&c, "GET /one HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
    expect_response(&c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 17\r\n"
                        "X-Echo: 1\r\n\r\nGET /one q= x= b=");
    assert_int_equal(tc_send(&c, "POST /two HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi"),
                     0);
    expect_response(&c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 20\r\n"
                        "X-Echo: 1\r\n\r\nPOST /two q= x= b=hi");
    /* Connection: close is honoured: the answer says so and the server closes. */
    assert_int_equal(tc_send(&c, "GET /three HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"), 0);
    expect_response(&c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 19\r\n"
                        "X-Echo: 1\r\nConnection: close\r\n\r\nGET /three q= x= b=");
    assert_true(tc_wait_closed(&c, 1000));
    assert_int_equal(c.len, 0);
    tc_close(&c);
    assert_int_equal(fx.n_requests, 3);
    assert_int_equal(metric_value("petrel_http_requests_total{server=\"t_keepalive\"}"), 3);
    assert_int_equal(metric_value("petrel_http_connections_accepted_total{server=\"t_keepalive\"}"),
                     1);
    fx_stop(&fx);
    /* The server's series leave the registry with it. */
    assert_int_equal(metric_value("petrel_http_requests_total{server=\"t_keepalive\"}"), -1);
}

static void test_http10(void **state)
{
    fx_t fx;
    tc_client_t c;
    (void)state;

    fx_start(&fx, "t_http10");
    /* HTTP/1.0 closes by default... */
    assert_int_equal(tc_connect(&c, &fx.loop, fx.port), 0);
    assert_int_equal(tc_send(&c, "GET /a HTTP/1.0\r\n\r\n"), 0);
    expect_response(&c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 15\r\n"
                        "X-Echo: 1\r\nConnection: close\r\n\r\nGET /a q= x= b=");
    assert_true(tc_wait_closed(&c, 1000));
    tc_close(&c);
    /* ...unless it asks for keep-alive, which the answer then confirms. */
    assert_int_equal(tc_connect(&c, &fx.loop, fx.port), 0);
    assert_int_equal(tc_send(&c, "GET /b HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"), 0);
    expect_response(&c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 15\r\n"
                        "X-Echo: 1\r\nConnection: keep-alive\r\n\r\nGET /b q= x= b=");
    assert_int_equal(tc_send(&c, "GET /c HTTP/1.0\r\n\r\n"), 0);
    expect_response(&c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 15\r\n"
                        "X-Echo: 1\r\nConnection: close\r\n\r\nGET /c q= x= b=");
    assert_true(tc_wait_closed(&c, 1000));
    tc_close(&c);
    fx_stop(&fx);
}

static void test_head(void **state)
{
    fx_t fx;
    tc_client_t c;
    char *r;
    (void)state;

    fx_start(&fx, "t_head");
    assert_int_equal(tc_connect(&c, &fx.loop, fx.port), 0);
    /* The HEAD answer carries the GET's length and no body: the next answer follows directly. */
    assert_int_equal(tc_send(&c, "HEAD /h HTTP/1.1\r\nHost: x\r\n\r\n"
                                 "GET /g HTTP/1.1\r\nHost: x\r\n\r\n"),
                     0);
    r = tc_read_response_ex(&c, 1);
    assert_non_null(r);
    assert_string_equal(r, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 16\r\n"
                           "X-Echo: 1\r\n\r\n");
    free(r);
    expect_response(&c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 15\r\n"
                        "X-Echo: 1\r\n\r\nGET /g q= x= b=");
    tc_close(&c);
    fx_stop(&fx);
}

/* ---- pipelining and asynchronous answers -------------------------------------------------- */

static void test_pipelined(void **state)
{
    fx_t fx;
    tc_client_t c;
    (void)state;

    fx_start(&fx, "t_pipelined");
    fx.mode = MODE_ASYNC;
    assert_int_equal(tc_connect(&c, &fx.loop, fx.port), 0);
    /* The first request is answered slowest; answers must still come in request order. */
    assert_int_equal(tc_send(&c, "GET /1 HTTP/1.1\r\nHost: x\r\nX-Delay: 80\r\n\r\n"
                                 "POST /2 HTTP/1.1\r\nHost: x\r\nX-Delay: 1\r\n"
                                 "Content-Length: 3\r\n\r\nabc"
                                 "GET /3 HTTP/1.1\r\nHost: x\r\nX-Delay: 0\r\n\r\n"),
                     0);
    expect_response(&c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 15\r\n"
                        "X-Echo: 1\r\n\r\nGET /1 q= x= b=");
    expect_response(&c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 19\r\n"
                        "X-Echo: 1\r\n\r\nPOST /2 q= x= b=abc");
    expect_response(&c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 15\r\n"
                        "X-Echo: 1\r\n\r\nGET /3 q= x= b=");
    assert_int_equal(fx.n_requests, 3);
    tc_close(&c);
    fx_stop(&fx);
}

static void test_async_response(void **state)
{
    fx_t fx;
    tc_client_t c;
    (void)state;

    fx_start(&fx, "t_async");
    fx.mode = MODE_ASYNC;
    assert_int_equal(tc_connect(&c, &fx.loop, fx.port), 0);
    assert_int_equal(tc_send(&c, "POST /v1/logs HTTP/1.1\r\nHost: x\r\nX-Delay: 30\r\n"
                                 "Content-Length: 4\r\n\r\nbody"),
                     0);
    tc_spin(&fx.loop, 10);
    assert_int_equal(fx.n_requests, 1);
    assert_int_equal(fx.async_done, 0);
    expect_response(&c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 26\r\n"
                        "X-Echo: 1\r\n\r\nPOST /v1/logs q= x= b=body");
    assert_int_equal(fx.async_done, 1);
    assert_int_equal(fx.last_rc, 0);
    tc_close(&c);
    fx_stop(&fx);
}

static void test_disconnect_before_respond(void **state)
{
    fx_t fx;
    tc_client_t c;
    pt_str_t body;
    (void)state;

    fx_start(&fx, "t_disconnect");
    fx.mode = MODE_HOLD;

    /* A reset while the handler holds the request: the connection goes, the request stays. */
    assert_int_equal(tc_connect(&c, &fx.loop, fx.port), 0);
    assert_int_equal(tc_send(&c, "POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"),
                     0);
    tc_spin(&fx.loop, 20);
    assert_non_null(fx.held);
    tc_reset(&c);
    tc_spin(&fx.loop, 50);
    assert_int_equal(metric_value("petrel_http_connections_active{server=\"t_disconnect\"}"), 0);
    body = fx.held->body; /* the views are still readable */
    assert_int_equal(body.len, 5);
    assert_memory_equal(body.ptr, "hello", 5);
    assert_int_equal(pt_http_respond(fx.held, 200, NULL, NULL, 0, "late", 4), -ENOTCONN);
    fx.held = NULL;

    /* A plain close (FIN) while the handler holds it: answered into the void, then closed. */
    fx.mode = MODE_ASYNC;
    assert_int_equal(tc_connect(&c, &fx.loop, fx.port), 0);
    assert_int_equal(tc_send(&c, "GET /y HTTP/1.1\r\nHost: x\r\nX-Delay: 40\r\n\r\n"), 0);
    tc_spin(&fx.loop, 10);
    tc_close(&c);
    tc_spin(&fx.loop, 100);
    assert_int_equal(fx.async_done, 1);
    assert_int_equal(metric_value("petrel_http_connections_active{server=\"t_disconnect\"}"), 0);
    fx_stop(&fx);
}

static void test_half_close_client(void **state)
{
    fx_t fx;
    tc_client_t c;
    (void)state;

    fx_start(&fx, "t_halfclose");
    fx.mode = MODE_ASYNC;
    assert_int_equal(tc_connect(&c, &fx.loop, fx.port), 0);
    /* Two pipelined requests, then FIN: both are still answered before the server closes. */
    assert_int_equal(tc_send(&c, "GET /a HTTP/1.1\r\nHost: x\r\nX-Delay: 20\r\n\r\n"
                                 "GET /b HTTP/1.1\r\nHost: x\r\n\r\n"),
                     0);
    shutdown(c.fd, SHUT_WR);
    expect_response(&c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 15\r\n"
                        "X-Echo: 1\r\n\r\nGET /a q= x= b=");
    expect_response(&c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 15\r\n"
                        "X-Echo: 1\r\n\r\nGET /b q= x= b=");
    assert_true(tc_wait_closed(&c, 1000));
    tc_close(&c);
    fx_stop(&fx);
}

/* ---- limits and errors -------------------------------------------------------------------- */

#define R413                                                                                       \
    "HTTP/1.1 413 Content Too Large\r\nContent-Type: text/plain\r\nContent-Length: 18\r\n"         \
    "Connection: close\r\n\r\nContent Too Large\n"

static void test_413(void **state)
{
    pt_http_server_opts_t o;
    fx_t fx;
    tc_client_t c;
    (void)state;

    pt_http_server_opts_init(&o);
    o.name = "t_413";
    o.max_body_size = 16;
    fx_start_opts(&fx, &o);

    /* Content-Length over the limit: answered before any body byte is read. */
    assert_int_equal(tc_connect(&c, &fx.loop, fx.port), 0);
    assert_int_equal(tc_send(&c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 17\r\n\r\n"), 0);
    expect_response(&c, R413);
    assert_true(tc_wait_closed(&c, 1000));
    tc_close(&c);

    /* Exactly at the limit is fine. */
    assert_int_equal(tc_connect(&c, &fx.loop, fx.port), 0);
    assert_int_equal(tc_send(&c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 16\r\n\r\n"
                                 "0123456789abcdef"),
                     0);
    expect_response(&c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 31\r\n"
                        "X-Echo: 1\r\n\r\nPOST / q= x= b=0123456789abcdef");
    tc_close(&c);

    /* Chunked: the second chunk crosses the limit. */
    assert_int_equal(tc_connect(&c, &fx.loop, fx.port), 0);
    assert_int_equal(tc_send(&c, "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                                 "a\r\n0123456789\r\n"),
                     0);
    tc_spin(&fx.loop, 10);
    assert_int_equal(tc_send(&c, "a\r\n0123456789\r\n"), 0);
    expect_response(&c, R413);
    assert_true(tc_wait_closed(&c, 1000));
    tc_close(&c);

    /* With Expect: 100-continue, the 413 comes instead of the 100. */
    assert_int_equal(tc_connect(&c, &fx.loop, fx.port), 0);
    assert_int_equal(tc_send(&c, "PUT / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n"
                                 "Expect: 100-continue\r\n\r\n"),
                     0);
    expect_response(&c, R413);
    assert_true(tc_wait_closed(&c, 1000));
    tc_close(&c);

    assert_int_equal(fx.n_requests, 1);
    assert_int_equal(metric_value("petrel_http_responses_total{server=\"t_413\",class=\"4xx\"}"),
                     3);
    assert_int_equal(metric_value("petrel_http_responses_total{server=\"t_413\",class=\"2xx\"}"),
                     1);
    fx_stop(&fx);
}

static void test_431(void **state)
{
    pt_http_server_opts_t o;
    fx_t fx;
    tc_client_t c;
    char req[512];
    char big[301];
    (void)state;

    pt_http_server_opts_init(&o);
    o.name = "t_431";
    o.max_header_size = 256;
    o.max_headers = 4;
    fx_start_opts(&fx, &o);

    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: x\r\nX-Big: %s\r\n\r\n", big);
    assert_int_equal(tc_connect(&c, &fx.loop, fx.port), 0);
    assert_int_equal(tc_send(&c, req), 0);
    expect_response(&c, "HTTP/1.1 431 Request Header Fields Too Large\r\n"
                        "Content-Type: text/plain\r\nContent-Length: 32\r\n"
                        "Connection: close\r\n\r\nRequest Header Fields Too Large\n");
    assert_true(tc_wait_closed(&c, 1000));
    tc_close(&c);

    /* Too many header fields is the same answer. */
    assert_int_equal(tc_connect(&c, &fx.loop, fx.port), 0);
    assert_int_equal(tc_send(&c, "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\nE: 5\r\n\r\n"),
                     0);
    expect_response(&c, "HTTP/1.1 431 Request Header Fields Too Large\r\n"
                        "Content-Type: text/plain\r\nContent-Length: 32\r\n"
                        "Connection: close\r\n\r\nRequest Header Fields Too Large\n");
    tc_close(&c);
    assert_int_equal(fx.n_requests, 0);
    fx_stop(&fx);
}

#define R400                                                                                       \
    "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n"               \
    "Connection: close\r\n\r\nBad Request\n"

static void test_400(void **state)
{
    static const char *const bad[] = {
        "GARBAGE\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
        "GET / HTTP/1.1\r\nBad Header\r\n\r\n",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "\x01\x02\x03\x04",
    };
    fx_t fx;
    tc_client_t c;
    (void)state;

    fx_start(&fx, "t_400");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(tc_connect(&c, &fx.loop, fx.port), 0);
        assert_int_equal(tc_send(&c, bad[i]), 0);
        expect_response(&c, R400);
        assert_true(tc_wait_closed(&c, 1000));
        tc_close(&c);
    }
    /* A good request, then garbage, on one connection: the first is answered normally. */
    assert_int_equal(tc_connect(&c, &fx.loop, fx.port), 0);
    assert_int_equal(tc_send(&c, "GET /ok HTTP/1.1\r\nHost: x\r\n\r\nBLAH BLAH\r\n\r\n"), 0);
    expect_response(&c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 16\r\n"
                        "X-Echo: 1\r\n\r\nGET /ok q= x= b=");
    expect_response(&c, R400);
    assert_true(tc_wait_closed(&c, 1000));
    tc_close(&c);
    assert_int_equal(fx.n_requests, 1);
    fx_stop(&fx);
}

static void test_expect(void **state)
{
    fx_t fx;
    tc_client_t c;
    (void)state;

    fx_start(&fx, "t_expect");
    assert_int_equal(tc_connect(&c, &fx.loop, fx.port), 0);
    assert_int_equal(tc_send(&c, "POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                                 "Expect: 100-continue\r\n\r\n"),
                     0);
    expect_response(&c, "HTTP/1.1 100 Continue\r\n\r\n");
    assert_int_equal(fx.n_requests, 0);
    assert_int_equal(tc_send(&c, "hello"), 0);
    expect_response(&c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 21\r\n"
                        "X-Echo: 1\r\n\r\nPOST /e q= x= b=hello");
    /* Any other expectation fails. */
    assert_int_equal(tc_send(&c, "POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                                 "Expect: something-else\r\n\r\n"),
                     0);
    expect_response(&c, "HTTP/1.1 417 Expectation Failed\r\nContent-Type: text/plain\r\n"
                        "Content-Length: 19\r\nConnection: close\r\n\r\nExpectation Failed\n");
    assert_true(tc_wait_closed(&c, 1000));
    tc_close(&c);
    fx_stop(&fx);
}

#define R408                                                                                       \
    "HTTP/1.1 408 Request Timeout\r\nContent-Type: text/plain\r\nContent-Length: 16\r\n"           \
    "Connection: close\r\n\r\nRequest Timeout\n"

static void test_timeouts(void **state)
{
    pt_http_server_opts_t o;
    fx_t fx;
    tc_client_t c;
    uint64_t t0;
    (void)state;

    pt_http_server_opts_init(&o);
    o.name = "t_timeouts";
    o.header_timeout_ms = 100;
    o.body_timeout_ms = 100;
    o.idle_timeout_ms = 150;
    fx_start_opts(&fx, &o);

    /* Headers that never end: 408 after the header timeout. */
    assert_int_equal(tc_connect(&c, &fx.loop, fx.port), 0);
    t0 = tc_now_ms();
    assert_int_equal(tc_send(&c, "GET / HTTP/1.1\r\nHost: x\r\n"), 0);
    expect_response(&c, R408);
    assert_true(tc_now_ms() - t0 >= 90);
    assert_true(tc_wait_closed(&c, 1000));
    tc_close(&c);

    /* Trickling headers does not extend the deadline (slowloris). */
    assert_int_equal(tc_connect(&c, &fx.loop, fx.port), 0);
    t0 = tc_now_ms();
    assert_int_equal(tc_send(&c, "GET / HTTP/1.1\r\n"), 0);
    for (int i = 0; i < 10 && c.len == 0; i++) {
        tc_spin(&fx.loop, 30);
        tc_send(&c, "X-A: b\r\n");
        tc_fill(&c);
    }
    expect_response(&c, R408);
    assert_true(tc_now_ms() - t0 < 200);
    tc_close(&c);

    /* A body that stalls: 408 after the body timeout. */
    assert_int_equal(tc_connect(&c, &fx.loop, fx.port), 0);
    assert_int_equal(tc_send(&c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc"), 0);
    expect_response(&c, R408);
    assert_true(tc_wait_closed(&c, 1000));
    tc_close(&c);

    /* A connection that never sends anything is closed without an answer. */
    assert_int_equal(tc_connect(&c, &fx.loop, fx.port), 0);
    assert_true(tc_wait_closed(&c, 1000));
    assert_int_equal(c.len, 0);
    tc_close(&c);

    /* An idle keep-alive connection is closed silently after the idle timeout. */
    assert_int_equal(tc_connect(&c, &fx.loop, fx.port), 0);
    assert_int_equal(tc_send(&c, "GET /i HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
    expect_response(&c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 15\r\n"
                        "X-Echo: 1\r\n\r\nGET /i q= x= b=");
    t0 = tc_now_ms();
    assert_true(tc_wait_closed(&c, 1000));
    assert_true(tc_now_ms() - t0 >= 140);
    assert_int_equal(c.len, 0);
    tc_close(&c);
    assert_int_equal(
        metric_value("petrel_http_responses_total{server=\"t_timeouts\",class=\"4xx\"}"), 3);
    fx_stop(&fx);
}

static void test_max_connections(void **state)
{
    pt_http_server_opts_t o;
    fx_t fx;
    tc_client_t c[3];
    (void)state;

    pt_http_server_opts_init(&o);
    o.name = "t_maxconn";
    o.max_connections = 2;
    fx_start_opts(&fx, &o);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(tc_connect(&c[i], &fx.loop, fx.port), 0);
        tc_spin(&fx.loop, 20);
    }
    /* The third was accepted and closed at once, and counted. */
    assert_true(tc_wait_closed(&c[2], 1000));
    assert_int_equal(metric_value("petrel_http_connections_rejected_total{server=\"t_maxconn\"}"),
                     1);
    assert_int_equal(metric_value("petrel_http_connections_active{server=\"t_maxconn\"}"), 2);
    /* The first two still work. */
    for (int i = 0; i < 2; i++) {
        assert_int_equal(tc_send(&c[i], "GET /m HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
        expect_response(&c[i], "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                               "Content-Length: 15\r\nX-Echo: 1\r\n\r\nGET /m q= x= b=");
    }
    /* Once one goes, a new connection is taken again. */
    tc_close(&c[0]);
    tc_close(&c[2]);
    tc_spin(&fx.loop, 20);
    assert_int_equal(tc_connect(&c[0], &fx.loop, fx.port), 0);
    assert_int_equal(tc_send(&c[0], "GET /n HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
    expect_response(&c[0], "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                           "Content-Length: 15\r\nX-Echo: 1\r\n\r\nGET /n q= x= b=");
    tc_close(&c[0]);
    tc_close(&c[1]);
    fx_stop(&fx);
}

/* ---- responses, addresses, shutdown ------------------------------------------------------- */

static void test_respond_validation(void **state)
{
    static const pt_str_t bad_hdr[] = {PT_STR_LIT("X-Bad"), PT_STR_LIT("a\r\nInjected: 1")};
    static const pt_str_t cl_hdr[] = {PT_STR_LIT("content-length"), PT_STR_LIT("5")};
    static const pt_str_t close_hdr[] = {PT_STR_LIT("Connection"), PT_STR_LIT("close")};
    fx_t fx;
    tc_client_t c;
    (void)state;

    fx_start(&fx, "t_validation");
    fx.mode = MODE_HOLD;
    assert_int_equal(tc_connect(&c, &fx.loop, fx.port), 0);

    assert_int_equal(tc_send(&c, "GET /1 HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
    tc_spin(&fx.loop, 10);
    assert_non_null(fx.held);
    assert_int_equal(pt_http_respond(fx.held, 200, "text/plain", bad_hdr, 1, "x", 1), -EINVAL);
    fx.held = NULL;
    expect_response(&c, "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\n"
                        "Content-Length: 22\r\n\r\nInternal Server Error\n");

    assert_int_equal(tc_send(&c, "GET /2 HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
    tc_spin(&fx.loop, 10);
    assert_int_equal(pt_http_respond(fx.held, 200, NULL, cl_hdr, 1, "x", 1), -EINVAL);
    fx.held = NULL;
    expect_response(&c, "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\n"
                        "Content-Length: 22\r\n\r\nInternal Server Error\n");

    /* 204 has neither body nor Content-Length. */
    assert_int_equal(tc_send(&c, "DELETE /3 HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
    tc_spin(&fx.loop, 10);
    assert_int_equal(pt_http_respond(fx.held, 204, NULL, NULL, 0, NULL, 0), 0);
    fx.held = NULL;
    expect_response(&c, "HTTP/1.1 204 No Content\r\n\r\n");

    /* Status out of range and an unknown reason phrase. */
    assert_int_equal(tc_send(&c, "GET /4 HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
    tc_spin(&fx.loop, 10);
    assert_int_equal(pt_http_respond(fx.held, 299, NULL, NULL, 0, "ok", 2), 0);
    fx.held = NULL;
    expect_response(&c, "HTTP/1.1 299 \r\nContent-Length: 2\r\n\r\nok");

    /* A handler may close the connection with its answer. */
    assert_int_equal(tc_send(&c, "GET /5 HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
    tc_spin(&fx.loop, 10);
    assert_int_equal(pt_http_respond(fx.held, 503, "text/plain", close_hdr, 1, "busy", 4), 0);
    fx.held = NULL;
    expect_response(&c, "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\n"
                        "Content-Length: 4\r\nConnection: close\r\n\r\nbusy");
    assert_true(tc_wait_closed(&c, 1000));
    tc_close(&c);
    fx_stop(&fx);
}

static void test_headers_api(void **state)
{
    fx_t fx;
    tc_client_t c;
    pt_str_t name;
    pt_str_t value;
    pt_http_req_t *req;
    (void)state;

    fx_start(&fx, "t_headers");
    fx.mode = MODE_HOLD;
    assert_int_equal(tc_connect(&c, &fx.loop, fx.port), 0);
    assert_int_equal(tc_send(&c, "GET /p?q HTTP/1.1\r\nHost: h\r\nX-Empty:\r\n"
                                 "x-multi: 1\r\nX-Multi:  2 \r\n\r\n"),
                     0);
    tc_spin(&fx.loop, 20);
    req = fx.held;
    assert_non_null(req);
    assert_true(pt_str_eq_c(req->method, "GET"));
    assert_true(pt_str_eq_c(req->path, "/p"));
    assert_true(pt_str_eq_c(req->query, "q"));
    assert_int_equal(req->body.len, 0);
    assert_int_equal(req->http_minor, 1);
    assert_int_equal(pt_http_req_header_count(req), 4);
    value = pt_http_req_header(req, "X-EMPTY");
    assert_non_null(value.ptr);
    assert_int_equal(value.len, 0);
    assert_null(pt_http_req_header(req, "absent").ptr);
    assert_true(pt_str_eq_c(pt_http_req_header(req, "X-MULTI"), "1"));
    assert_int_equal(pt_http_req_header_at(req, 3, &name, &value), 0);
    assert_true(pt_str_eq_c(name, "X-Multi"));
    assert_true(pt_str_eq_c(value, "2"));
    assert_int_equal(pt_http_req_header_at(req, 4, &name, &value), -ERANGE);
    assert_int_equal(pt_http_req_peer_addr(req)->sa_family, AF_INET);
    assert_int_equal(pt_http_respond(req, 200, NULL, NULL, 0, NULL, 0), 0);
    fx.held = NULL;
    expect_response(&c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    tc_close(&c);
    fx_stop(&fx);
}

static void test_ipv6(void **state)
{
    pt_http_server_opts_t o;
    fx_t fx;
    tc_client_t c;
    int rc;
    (void)state;

    pt_http_server_opts_init(&o);
    o.name = "t_ipv6";
    o.host = "[::1]";
    memset(&fx, 0, sizeof(fx));
    assert_int_equal(uv_loop_init(&fx.loop), 0);
    rc = pt_http_server_create(&fx.loop, &o, on_request, &fx, &fx.srv);
    if (rc == -EADDRNOTAVAIL || rc == -EAFNOSUPPORT) {
        uv_run(&fx.loop, UV_RUN_DEFAULT);
        assert_int_equal(uv_loop_close(&fx.loop), 0);
        skip();
    }
    assert_int_equal(rc, 0);
    fx.port = pt_http_server_port(fx.srv);
    assert_int_equal(tc_connect_addr(&c, &fx.loop, AF_INET6, "::1", fx.port), 0);
    assert_int_equal(tc_send(&c, "GET /6 HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
    expect_response(&c, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 15\r\n"
                        "X-Echo: 1\r\n\r\nGET /6 q= x= b=");
    assert_int_equal(strncmp(fx.last_peer, "[::1]:", 6), 0);
    tc_close(&c);
    fx_stop(&fx);
}

static void test_bad_options(void **state)
{
    pt_http_server_opts_t o;
    pt_http_server_t *srv = NULL;
    uv_loop_t loop;
    fx_t fx;
    (void)state;

    assert_int_equal(uv_loop_init(&loop), 0);
    pt_http_server_opts_init(&o);
    o.host = "localhost"; /* literals only */
    assert_int_equal(pt_http_server_create(&loop, &o, on_request, NULL, &srv), -EINVAL);
    o.host = "127.0.0.1";
    o.port = 70000;
    assert_int_equal(pt_http_server_create(&loop, &o, on_request, NULL, &srv), -EINVAL);
    assert_null(srv);

    /* A port in use fails with the bind error and leaves nothing behind. */
    fx_start(&fx, "t_inuse");
    o.port = fx.port;
    o.name = "t_inuse2";
    assert_int_equal(pt_http_server_create(&loop, &o, on_request, NULL, &srv), -EADDRINUSE);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_int_equal(metric_value("petrel_http_requests_total{server=\"t_inuse2\"}"), -1);
    fx_stop(&fx);
}

static void test_close_with_pending(void **state)
{
    fx_t fx;
    tc_client_t busy;
    tc_client_t idle;
    tc_client_t late;
    (void)state;

    fx_start(&fx, "t_close");
    fx.mode = MODE_HOLD;
    assert_int_equal(tc_connect(&busy, &fx.loop, fx.port), 0);
    assert_int_equal(tc_connect(&idle, &fx.loop, fx.port), 0);
    assert_int_equal(tc_send(&busy, "GET /b HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
    tc_spin(&fx.loop, 20);
    assert_non_null(fx.held);

    pt_http_server_close(fx.srv, on_server_closed, &fx);
    /* The idle connection goes at once; new ones are refused; the busy one waits. */
    assert_true(tc_wait_closed(&idle, 1000));
    assert_int_not_equal(tc_connect(&late, &fx.loop, fx.port), 0);
    tc_spin(&fx.loop, 20);
    assert_int_equal(fx.closed, 0);
    assert_int_equal(pt_http_respond(fx.held, 200, NULL, NULL, 0, "bye", 3), 0);
    fx.held = NULL;
    expect_response(&busy, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nbye");
    assert_true(tc_wait_closed(&busy, 1000));
    assert_true(tc_spin_until(&fx.loop, &fx.closed, 1000));
    tc_close(&busy);
    tc_close(&idle);
    uv_run(&fx.loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&fx.loop), 0);
}

static void test_large_body(void **state)
{
    fx_t fx;
    tc_client_t c;
    size_t n = 3u * 1024 * 1024 + 7;
    char head[128];
    char *body = malloc(n);
    pt_http_req_t *req;
    (void)state;

    for (size_t i = 0; i < n; i++) {
        body[i] = (char)('a' + i % 26);
    }
    fx_start(&fx, "t_large");
    fx.mode = MODE_HOLD;
    assert_int_equal(tc_connect(&c, &fx.loop, fx.port), 0);
    snprintf(head, sizeof(head), "POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n\r\n", n);
    assert_int_equal(tc_send(&c, head), 0);
    assert_int_equal(tc_send_n(&c, body, n), 0);
    for (int i = 0; i < 2000 && fx.held == NULL; i++) {
        tc_spin(&fx.loop, 1);
    }
    req = fx.held;
    assert_non_null(req);
    assert_int_equal(req->body.len, n);
    assert_memory_equal(req->body.ptr, body, n);
    assert_int_equal(pt_http_respond(req, 202, NULL, NULL, 0, NULL, 0), 0);
    fx.held = NULL;
    expect_response(&c, "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n");
    free(body);
    tc_close(&c);
    fx_stop(&fx);
}

static void test_pipeline_backpressure(void **state)
{
    fx_t fx;
    tc_client_t c;
    size_t total = 32u * 1024 * 1024;
    size_t sent = 0;
    char junk[65536];
    uint64_t end;
    (void)state;

    fx_start(&fx, "t_backpressure");
    fx.mode = MODE_HOLD;
    assert_int_equal(tc_connect(&c, &fx.loop, fx.port), 0);
    assert_int_equal(tc_send(&c, "GET /held HTTP/1.1\r\nHost: x\r\n\r\n"), 0);
    tc_spin(&fx.loop, 20);
    assert_non_null(fx.held);

    /* While the request is held, the server keeps at most 64 KiB of what follows and then
     * stops reading, so a flood stalls in the socket buffers instead of in our memory. */
    memset(junk, 'j', sizeof(junk));
    end = tc_now_ms() + 1000;
    while (sent < total && tc_now_ms() < end) {
        ssize_t n = send(c.fd, junk, sizeof(junk), MSG_NOSIGNAL);
        if (n > 0) {
            sent += (size_t)n;
        } else {
            uv_run(&fx.loop, UV_RUN_NOWAIT);
            poll(NULL, 0, 1);
        }
    }
    assert_true(sent < total);

    /* Answering resumes parsing: the flood is garbage, so 400 and close after the answer. */
    assert_int_equal(pt_http_respond(fx.held, 200, NULL, NULL, 0, "ok", 2), 0);
    fx.held = NULL;
    expect_response(&c, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    expect_response(&c, R400);
    tc_close(&c);
    fx_stop(&fx);
}

/* ---- the feed hook ------------------------------------------------------------------------ */

static void on_feed_request(pt_http_req_t *req, void *ud)
{
    (void)ud;
    respond_echo(req);
}

static void test_feed_hook(void **state)
{
    static const char in[] = "GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
                             "POST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                             "3\r\nxyz\r\n0\r\n\r\n"
                             "GET /c HTTP/1.1\r\nConnection: close\r\n\r\n"
                             "GET /ignored HTTP/1.1\r\n\r\n";
    static const char want[] =
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 15\r\n"
        "X-Echo: 1\r\n\r\nGET /a q= x= b="
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 19\r\n"
        "X-Echo: 1\r\n\r\nPOST /b q= x= b=xyz"
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 15\r\n"
        "X-Echo: 1\r\nConnection: close\r\n\r\nGET /c q= x= b=";
    (void)state;

    /* Every piece size gives the same bytes out, from one byte at a time to all at once. */
    for (size_t chunk = 0; chunk <= sizeof(in); chunk++) {
        pt_buf_t out;
        pt_buf_init(&out);
        assert_int_equal(
            pt_http__feed(NULL, in, sizeof(in) - 1, chunk, 0, on_feed_request, NULL, NULL, &out),
            0);
        assert_int_equal(out.len, sizeof(want) - 1);
        assert_memory_equal(out.data, want, out.len);
        pt_buf_free(&out);
    }
}

static void on_path_request(pt_http_req_t *req, void *ud)
{
    (void)ud;
    pt_http_respond(req, 200, NULL, NULL, 0, req->path.ptr, req->path.len);
}

static void expect_feed(const char *in, const char *want)
{
    pt_buf_t out;
    pt_buf_init(&out);
    assert_int_equal(pt_http__feed(NULL, in, strlen(in), 0, 0, on_path_request, NULL, NULL, &out),
                     0);
    assert_int_equal(pt_buf_putc(&out, '\0'), 0);
    assert_string_equal(out.data, want);
    pt_buf_free(&out);
}

static void test_feed_edge_cases(void **state)
{
    (void)state;
    /* Upgrade is ignored (no h2c): the request is answered and HTTP parsing goes on. */
    expect_feed("GET /u HTTP/1.1\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\nGET /after HTTP/1.1\r\n\r\n",
                "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n/u"
                "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\n/after");
    expect_feed("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n",
                "HTTP/1.1 501 Not Implemented\r\nContent-Type: text/plain\r\n"
                "Content-Length: 16\r\nConnection: close\r\n\r\nNot Implemented\n");
    expect_feed("GET / HTTP/2.0\r\n\r\n",
                "HTTP/1.1 505 HTTP Version Not Supported\r\nContent-Type: text/plain\r\n"
                "Content-Length: 27\r\nConnection: close\r\n\r\nHTTP Version Not Supported\n");
    expect_feed("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", R400);
    /* Only chunked may frame a request body. */
    expect_feed("POST /te HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", R400);
    /* Absolute-form targets reduce to their path. */
    expect_feed("GET http://abs.example:80/v1/traces?q HTTP/1.1\r\n\r\n"
                "GET HTTPS://abs.example HTTP/1.1\r\n\r\n",
                "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n/v1/traces"
                "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n/");
    /* Stray CRLFs between requests are tolerated (RFC 9112 §2.2). */
    expect_feed("\r\n\r\nGET /crlf HTTP/1.1\r\n\r\n",
                "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n/crlf");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_get),
        cmocka_unit_test(test_post_content_length),
        cmocka_unit_test(test_chunked),
        cmocka_unit_test(test_keepalive),
        cmocka_unit_test(test_http10),
        cmocka_unit_test(test_head),
        cmocka_unit_test(test_pipelined),
        cmocka_unit_test(test_async_response),
        cmocka_unit_test(test_disconnect_before_respond),
        cmocka_unit_test(test_half_close_client),
        cmocka_unit_test(test_413),
        cmocka_unit_test(test_431),
        cmocka_unit_test(test_400),
        cmocka_unit_test(test_expect),
        cmocka_unit_test(test_timeouts),
        cmocka_unit_test(test_max_connections),
        cmocka_unit_test(test_respond_validation),
        cmocka_unit_test(test_headers_api),
        cmocka_unit_test(test_ipv6),
        cmocka_unit_test(test_bad_options),
        cmocka_unit_test(test_close_with_pending),
        cmocka_unit_test(test_large_body),
        cmocka_unit_test(test_pipeline_backpressure),
        cmocka_unit_test(test_feed_hook),
        cmocka_unit_test(test_feed_edge_cases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
